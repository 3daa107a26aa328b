//! `tapegrad sweep`: run a sweep file's grid (resumable, one shard of it), merge shards,
//! draw heatmaps, and write Slurm job-array scripts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};
use indicatif::ProgressStyle;
use rayon::prelude::*;
use tapegrad::sweep::{Results, Sweep, merge, record_line};

use super::{CliResult, Failure, figure_error, page, parse_count, progress, writable_dir};

/// The file a sweep's records go to, in its output folder.
const RESULTS: &str = "results.jsonl";
/// The copy of the sweep file kept beside its results (for resume, merge and report).
const SWEEP: &str = "sweep.toml";

#[derive(Subcommand)]
pub(crate) enum SweepCommand {
    /// Run every cell of a sweep file (or one shard of them) on all cores; finished cells
    /// are skipped, so running it again resumes.
    Run(RunArgs),
    /// Combine the results of several output folders (shards), sorted by cell id.
    Merge(MergeArgs),
    /// Draw a heatmap of one result over two axes into DIR/index.html.
    Report(ReportArgs),
    /// Write Slurm scripts: a job array with one task per shard, and a dependent merge.
    Slurm(SlurmArgs),
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// The sweep file (TOML).
    file: PathBuf,
    /// Output folder: results.jsonl and a copy of the sweep file.
    #[arg(long)]
    out: PathBuf,
    /// Run only shard K of N (0-based): the cells whose grid position is K modulo N.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Print a JSON summary instead of text, and no progress bar.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct MergeArgs {
    /// Output folders of `sweep run` (shards of one sweep).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// The merged results file (the sweep file is copied beside it).
    #[arg(long)]
    out: PathBuf,
    /// Succeed even when cells are missing.
    #[arg(long)]
    allow_missing: bool,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// Output folder of `sweep run` or `sweep merge`.
    dir: PathBuf,
    /// The axis across (default: the first axis by name).
    #[arg(long)]
    x: Option<String>,
    /// The axis up (default: the second axis by name).
    #[arg(long)]
    y: Option<String>,
    /// The result shown (default: `c_last` for signal, `test_accuracy` for train).
    #[arg(long)]
    value: Option<String>,
}

#[derive(Args)]
pub(crate) struct SlurmArgs {
    /// The sweep file (TOML).
    file: PathBuf,
    /// Number of shards: one array task each.
    #[arg(long, value_parser = parse_count)]
    shards: usize,
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// Time limit of each task, as Slurm reads it (`1:00:00`).
    #[arg(long, default_value = "1:00:00")]
    time: String,
    /// CPUs per task.
    #[arg(long, default_value = "1", value_parser = parse_count)]
    cpus: usize,
    /// Folder for the scripts, the shards' outputs and the merged results.
    #[arg(long)]
    out: PathBuf,
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not a shard K/N with 0 ≤ K < N");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    match (k.trim().parse::<usize>(), n.trim().parse::<usize>()) {
        (Ok(k), Ok(n)) if k < n => Ok((k, n)),
        _ => Err(bad()),
    }
}

pub(crate) fn run(cmd: SweepCommand) -> CliResult {
    match cmd {
        SweepCommand::Run(a) => run_cells(a),
        SweepCommand::Merge(a) => merge_dirs(a),
        SweepCommand::Report(a) => report(a),
        SweepCommand::Slurm(a) => slurm(a),
    }
}

/// Reads and parses a sweep file.
fn load(path: &Path) -> Result<(String, Sweep), Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read sweep file {}: {e}", path.display())))?;
    let sweep = Sweep::parse(&text, &path.display().to_string()).map_err(|e| Failure::Usage(e.to_string()))?;
    Ok((text, sweep))
}

fn run_cells(a: RunArgs) -> CliResult {
    let (text, sweep) = load(&a.file)?;
    let out = writable_dir(&a.out)?;
    let kept = out.join(SWEEP);
    match std::fs::read_to_string(&kept) {
        Ok(old) if old != text => {
            return Err(Failure::Usage(format!(
                "{} holds the results of a different sweep ({} differs from {}); use another --out",
                out.display(),
                kept.display(),
                a.file.display()
            )));
        }
        Ok(_) => {}
        Err(_) => {
            std::fs::write(&kept, &text).map_err(|e| Failure::Runtime(format!("writing {}: {e}", kept.display())))?
        }
    }
    let path = out.join(RESULTS);
    let results = Results::open(&path).map_err(|e| Failure::Runtime(format!("opening {}: {e}", path.display())))?;
    let (k, n) = a.shard.unwrap_or((0, 1));
    let cells = sweep.shard(k, n);
    let todo: Vec<_> = cells.iter().filter(|c| !results.done.contains(&c.id)).collect();
    let skipped = cells.len() - todo.len();

    let bar = progress::bar(todo.len() as u64, "cells", a.json);
    if let Ok(style) = ProgressStyle::with_template("cells {pos}/{len} [{bar:40}] {per_sec} eta {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    let start = Instant::now();
    let written: Result<(), String> = todo.par_iter().try_for_each(|cell| {
        let t = Instant::now();
        let r = cell.run();
        let line = record_line(cell, r, t.elapsed().as_secs_f64());
        results.append(&line).map_err(|e| format!("appending to {}: {e}", path.display()))?;
        bar.inc(1);
        Ok(())
    });
    bar.finish_and_clear();
    written.map_err(Failure::Runtime)?;
    let wall = start.elapsed().as_secs_f64();
    let shard = format!("shard {k}/{n}");
    if a.json {
        let summary = serde_json::json!({
            "shard": shard, "cells": cells.len(), "ran": todo.len(), "skipped": skipped,
            "seconds": wall, "results": path.display().to_string(),
        });
        println!("{summary}");
    } else {
        let rate = todo.len() as f64 / wall.max(1e-9);
        println!(
            "{shard}: {} cells, {} run in {wall:.2} s ({rate:.1} cells/s), {skipped} already done; results in {}",
            cells.len(),
            todo.len(),
            path.display()
        );
    }
    Ok(())
}

fn merge_dirs(a: MergeArgs) -> CliResult {
    let mut text: Option<String> = None;
    for dir in &a.dirs {
        let kept = dir.join(SWEEP);
        let t = std::fs::read_to_string(&kept).map_err(|e| {
            Failure::Usage(format!("{} is not a sweep output folder ({}: {e})", dir.display(), kept.display()))
        })?;
        if text.as_ref().is_some_and(|first| *first != t) {
            return Err(Failure::Usage(format!(
                "{} holds a different sweep than {}",
                dir.display(),
                a.dirs[0].display()
            )));
        }
        text = Some(t);
    }
    let text = text.unwrap_or_default();
    let sweep =
        Sweep::parse(&text, &a.dirs[0].join(SWEEP).display().to_string()).map_err(|e| Failure::Usage(e.to_string()))?;
    let files: Vec<PathBuf> = a.dirs.iter().map(|d| d.join(RESULTS)).filter(|p| p.exists()).collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let m = merge(&refs).map_err(|e| Failure::Runtime(format!("reading results: {e}")))?;
    let missing: Vec<&str> =
        sweep.cells.iter().map(|c| c.id.as_str()).filter(|id| !m.records.contains_key(*id)).collect();

    let mut lines = String::new();
    for r in m.records.values() {
        lines.push_str(&r.line);
        lines.push('\n');
    }
    let folder = a.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    writable_dir(folder)?;
    let write = |path: &Path, s: &str| {
        std::fs::write(path, s).map_err(|e| Failure::Runtime(format!("writing {}: {e}", path.display())))
    };
    write(&a.out, &lines)?;
    write(&folder.join(SWEEP), &text)?;
    println!(
        "merged {} records of {} cells from {} folders into {}: {} missing, {} duplicates, {} conflicting, {} unreadable lines",
        m.records.len(),
        sweep.cells.len(),
        a.dirs.len(),
        a.out.display(),
        missing.len(),
        m.duplicates.len(),
        m.conflicts.len(),
        m.skipped
    );
    for id in missing.iter().take(10) {
        println!("missing: {id}");
    }
    for id in m.conflicts.iter().take(10) {
        println!("conflicting records for {id}");
    }
    if !m.conflicts.is_empty() || (!missing.is_empty() && !a.allow_missing) {
        return Err(Failure::Runtime("the merged results are incomplete or inconsistent".into()));
    }
    Ok(())
}

/// A setting's value as a heatmap tick, and as a number to sort by.
fn tick(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn report(a: ReportArgs) -> CliResult {
    let (_, sweep) = load(&a.dir.join(SWEEP))?;
    let axes: Vec<&String> = sweep.axes.keys().collect();
    let x = a.x.clone().or_else(|| axes.first().map(|s| s.to_string()));
    let y = a.y.clone().or_else(|| axes.iter().find(|s| Some(s.as_str()) != x.as_deref()).map(|s| s.to_string()));
    let (Some(x), Some(y)) = (x, y) else {
        return Err(Failure::Usage("a heatmap needs two axes; the sweep has fewer".into()));
    };
    for axis in [&x, &y] {
        if !sweep.axes.contains_key(axis) {
            let names: Vec<_> = axes.iter().map(|s| s.as_str()).collect();
            return Err(Failure::Usage(format!("`{axis}` is not an axis of the sweep; axes: {}", names.join(", "))));
        }
    }
    let value = a.value.clone().unwrap_or_else(|| match sweep.kind {
        tapegrad::sweep::Kind::Signal => "c_last".into(),
        tapegrad::sweep::Kind::Train => "test_accuracy".into(),
    });
    let path = a.dir.join(RESULTS);
    let m = merge(&[&path]).map_err(|e| Failure::Usage(format!("reading {}: {e}", path.display())))?;
    let ticks = |axis: &str| -> Vec<String> { sweep.axes[axis].iter().map(|v| tick(&v.to_json())).collect() };
    let (xs, ys) = (ticks(&x), ticks(&y));
    let mut sums: BTreeMap<(usize, usize), (f64, usize)> = BTreeMap::new();
    for r in m.records.values() {
        let at = |axis: &str, ticks: &[String]| {
            r.json["settings"].get(axis).and_then(|v| ticks.iter().position(|t| *t == tick(v)))
        };
        let (Some(i), Some(j)) = (at(&x, &xs), at(&y, &ys)) else { continue };
        let Some(v) = r.json["results"].get(&value) else {
            return Err(Failure::Usage(format!("result `{value}` is not in the records")));
        };
        let e = sums.entry((i, j)).or_default();
        e.0 += v.as_f64().unwrap_or(f64::NAN);
        e.1 += 1;
    }
    let grid: Vec<Vec<f64>> = (0..ys.len())
        .map(|j| (0..xs.len()).map(|i| sums.get(&(i, j)).map_or(f64::NAN, |(s, n)| s / *n as f64)).collect())
        .collect();
    let svg = a.dir.join(format!("{}_{x}_{y}.svg", super::file_stem(&value)));
    let title = format!("{value}, mean over the other axes");
    tapegrad::plots::category_heatmap(&svg, &title, (&x, &xs), (&y, &ys), &grid).map_err(figure_error(&a.dir))?;
    let mut r = page::start("Sweep", &format!("{} records of {} cells.", m.records.len(), sweep.cells.len()));
    r.heading("Sweep file").code(std::fs::read_to_string(a.dir.join(SWEEP)).unwrap_or_default());
    let index = page::finish(&a.dir, r, &[vec![svg]])?;
    println!("heatmap of {value} over {x} × {y} written to {}", index.display());
    Ok(())
}

fn slurm(a: SlurmArgs) -> CliResult {
    load(&a.file)?;
    let out = writable_dir(&a.out)?;
    let abs =
        |p: &Path| std::fs::canonicalize(p).map_err(|e| Failure::Usage(format!("cannot resolve {}: {e}", p.display())));
    let (file, out) = (abs(&a.file)?, abs(&out)?);
    let exe = std::env::current_exe().map_err(|e| Failure::Runtime(format!("finding tapegrad's path: {e}")))?;
    let n = a.shards;
    let partition = a.partition.as_ref().map_or(String::new(), |p| format!("#SBATCH --partition={p}\n"));
    let head = |name: &str, extra: &str| {
        format!(
            "#!/bin/bash\n#SBATCH --job-name={name}\n#SBATCH --time={}\n#SBATCH --cpus-per-task={}\n{partition}{extra}",
            a.time, a.cpus
        )
    };
    let (exe, file, o) = (exe.display(), file.display(), out.display());
    let array = format!(
        "{}export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-{}}}\"\nexec {exe} sweep run {file} --out {o}/shard-$SLURM_ARRAY_TASK_ID --shard $SLURM_ARRAY_TASK_ID/{n} --json\n",
        head("tapegrad-sweep", &format!("#SBATCH --array=0-{}\n#SBATCH --output={o}/logs/shard-%a.out\n", n - 1)),
        a.cpus
    );
    let dirs: Vec<String> = (0..n).map(|k| format!("{o}/shard-{k}")).collect();
    let merge = format!(
        "{}exec {exe} sweep merge {} --out {o}/merged/{RESULTS}\n",
        head("tapegrad-merge", &format!("#SBATCH --output={o}/logs/merge.out\n")),
        dirs.join(" ")
    );
    let submit = format!(
        "#!/bin/bash\n# Submits the shards as a job array, then the merge as a job that runs once they all succeed.\nset -euo pipefail\njob=$(sbatch --parsable {o}/sweep.sbatch)\njob=${{job%%;*}}\nmerge=$(sbatch --parsable --dependency=afterok:$job {o}/merge.sbatch)\necho \"$job ${{merge%%;*}}\"\n"
    );
    let write = |name: &str, s: &str| {
        let path = out.join(name);
        std::fs::write(&path, s).map_err(|e| Failure::Runtime(format!("writing {}: {e}", path.display())))?;
        set_executable(&path);
        Ok::<_, Failure>(())
    };
    std::fs::create_dir_all(out.join("logs")).map_err(|e| Failure::Runtime(format!("creating logs folder: {e}")))?;
    write("sweep.sbatch", &array)?;
    write("merge.sbatch", &merge)?;
    write("submit.sh", &submit)?;
    println!("wrote {o}/sweep.sbatch ({n} array tasks), {o}/merge.sbatch and {o}/submit.sh");
    println!("submit with:  bash {o}/submit.sh   (prints the array's and the merge's job ids)");
    println!("merged results will be in {o}/merged/{RESULTS}; then: tapegrad sweep report {o}/merged");
    Ok(())
}

#[cfg(unix)]
fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
}

#[cfg(not(unix))]
fn set_executable(_: &Path) {}
