//! `tapegrad sweep`: run a sweep file's grid (resumable, one shard of it), merge shards,
//! draw heatmaps, and write Slurm job-array scripts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};
use indicatif::ProgressStyle;
use tapegrad::nn::Activation;
use tapegrad::plots::{Axis, Heatmap, Scale};
use tapegrad::study::theory::MeanField;
use tapegrad::sweep::{Kind, Results, Sweep, Value, merge, run_into};

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
    /// The result shown (default: `c_last` for signal, `eig_mean` for jacobian, `test_accuracy` for train).
    #[arg(long)]
    value: Option<String>,
    /// Color by log10 of the value (for values spanning decades).
    #[arg(long)]
    log: bool,
    /// Draw K·ξ_c over the heatmap: mean-field theory's correlation depth times K at
    /// each σ_w² of the x axis (which must be `sw2`), at the sweep's one σ_b² and
    /// activation. Schoenholz et al. (2017) find networks trainable to depth about 6 ξ_c.
    #[arg(long, value_name = "K", value_parser = super::parse_positive)]
    xi_curve: Option<f64>,
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
    let todo: Vec<_> = cells.iter().copied().filter(|c| !results.done.contains(&c.id)).collect();
    let skipped = cells.len() - todo.len();

    let bar = progress::bar(todo.len() as u64, "cells", a.json);
    if let Ok(style) = ProgressStyle::with_template("cells {pos}/{len} [{bar:40}] {per_sec} eta {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    let start = Instant::now();
    let written = run_into(&todo, &results, || bar.inc(1));
    bar.finish_and_clear();
    written.map_err(|e| Failure::Runtime(format!("appending to {}: {e}", path.display())))?;
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

/// A setting's value as a heatmap tick.
fn tick(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An axis's values as numbers if they are evenly spaced numbers (a range, or a list
/// like one); otherwise `None`, and the axis is drawn as categories in order.
fn evenly_spaced(values: &[Value]) -> Option<Vec<f64>> {
    let xs: Vec<f64> = values
        .iter()
        .map(|v| match v {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(_) => None,
        })
        .collect::<Option<_>>()?;
    let step = if xs.len() > 1 { xs[1] - xs[0] } else { return Some(xs) };
    let even = step > 0.0 && xs.windows(2).all(|w| (w[1] - w[0] - step).abs() <= 1e-9 * step);
    even.then_some(xs)
}

/// An axis of the heatmap: numbers if evenly spaced, else categories.
fn heatmap_axis<'a>(label: &'a str, values: &'a Option<Vec<f64>>, names: &'a [String]) -> Axis<'a> {
    match values {
        Some(v) => Axis::numbers(label, v),
        None => Axis::categories(label, names),
    }
}

/// The one value of setting `key` across the cells, or an error naming it.
fn single_setting(sweep: &Sweep, key: &str) -> Result<Value, Failure> {
    let first = sweep.cells[0].settings.get(key).cloned();
    match first {
        Some(v) if sweep.cells.iter().all(|c| c.settings.get(key) == Some(&v)) => Ok(v),
        Some(_) => Err(Failure::Usage(format!("--xi-curve needs one `{key}` for the whole sweep; it is an axis"))),
        None => Err(Failure::Usage(format!("--xi-curve needs the setting `{key}`, which {} cells lack", sweep.kind))),
    }
}

/// `k · ξ_c(σ_w²)` at 400 points across `[lo, hi]`, at the sweep's σ_b² and activation.
fn xi_curve(sweep: &Sweep, k: f64, (lo, hi): (f64, f64)) -> Result<(Vec<(f64, f64)>, String), Failure> {
    let sb2 = match single_setting(sweep, "sb2")? {
        Value::Float(v) => v,
        other => return Err(Failure::Usage(format!("--xi-curve: sb2 is {other}, not a number"))),
    };
    let activation: Activation = match single_setting(sweep, "activation")? {
        Value::Str(s) => s.parse().map_err(Failure::Usage)?,
        other => return Err(Failure::Usage(format!("--xi-curve: activation is {other}"))),
    };
    let base = MeanField::new(activation, lo.max(1e-9), sb2);
    let points: Vec<(f64, f64)> = (0..400)
        .map(|i| lo + (hi - lo) * i as f64 / 399.0)
        .filter(|&sw2| sw2 > 0.0)
        .map(|sw2| (sw2, k * base.at(sw2, sb2).fixed_point().xi_c))
        .collect();
    Ok((points, format!("{} ξ_c ({activation}, σ_b² = {sb2})", tapegrad::plots::tick_label(k))))
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
        Kind::Signal => "c_last".into(),
        Kind::Jacobian => "eig_mean".into(),
        Kind::Train => "test_accuracy".into(),
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
    let grid: Vec<f64> = (0..ys.len())
        .flat_map(|j| (0..xs.len()).map(move |i| (i, j)))
        .map(|ij| sums.get(&ij).map_or(f64::NAN, |(s, n)| s / *n as f64))
        .collect();
    let (x_values, y_values) = (evenly_spaced(&sweep.axes[&x]), evenly_spaced(&sweep.axes[&y]));
    let curve = match a.xi_curve {
        None => None,
        Some(k) => {
            let (Some(v), "sw2") = (&x_values, x.as_str()) else {
                return Err(Failure::Usage("--xi-curve needs the x axis `sw2`, as evenly spaced numbers".into()));
            };
            if y_values.is_none() {
                return Err(Failure::Usage(format!(
                    "--xi-curve needs a y axis of evenly spaced numbers; `{y}` is not"
                )));
            }
            Some(xi_curve(&sweep, k, (v[0], v[v.len() - 1]))?)
        }
    };
    let svg = a.dir.join(format!("{}_{x}_{y}.svg", super::file_stem(&value)));
    let title = format!("{value}, mean over the other axes");
    let heatmap = Heatmap {
        title: &title,
        x: heatmap_axis(&x, &x_values, &xs),
        y: heatmap_axis(&y, &y_values, &ys),
        value_label: &value,
        values: &grid,
        scale: if a.log { Scale::Log } else { Scale::Linear },
        line: curve.as_ref().map(|(points, label)| (label.as_str(), points.as_slice())),
    };
    tapegrad::plots::heatmap(&svg, &heatmap).map_err(figure_error(&a.dir))?;
    let mut r = page::start("Sweep", &format!("{} records of {} cells.", m.records.len(), sweep.cells.len()));
    r.heading("Sweep file").code(std::fs::read_to_string(a.dir.join(SWEEP)).unwrap_or_default());
    if let Some((_, label)) = &curve {
        r.paragraph(format!("The red line is {label}, from mean-field theory (as `tapegrad theory` computes it)."));
    }
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
