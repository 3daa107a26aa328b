//! The `index.html` that `compare`, `depth` and `train` write into their output folder: one
//! self-contained page with the command line, the results, the cost log and every
//! figure of the run inlined.

use std::path::{Path, PathBuf};

use tapegrad::experiment::Run;
use tapegrad::init::Init;
use tapegrad::study::diagnostics::Record;
use tapegrad::study::report::{Report, command_line};

use super::Failure;
use super::compare::{results_table, training_time};
use super::diagnose;

/// What the `compare` page shows.
pub(crate) struct ComparePage<'a> {
    pub(crate) inits: &'a [Init],
    /// Every seed of the runs, the first one's cost log and figures shown.
    pub(crate) seeds: &'a [u64],
    /// One line with the loss, epochs, learning rate and output initializer.
    pub(crate) settings: String,
    pub(crate) log_every: usize,
    pub(crate) runs: &'a [Run],
    pub(crate) diagnostics: &'a [(&'a Run, &'a [Record])],
    /// Rows of figures (see [`finish`]).
    pub(crate) figures: &'a [Vec<PathBuf>],
    pub(crate) wall: f64,
}

/// Starts a page with the command line and seeds that reproduce it.
pub(crate) fn start(title: &str, seeds: &str) -> Report {
    let mut report = Report::new(title);
    report.heading("Command").code(command_line()).paragraph(seeds.to_string());
    report
}

/// Inlines `figures`, each group side by side in a grid that wraps (such as one figure
/// per initializer), writes `index.html` into `out` and returns its path.
pub(crate) fn finish(out: &Path, mut report: Report, figures: &[Vec<PathBuf>]) -> Result<PathBuf, Failure> {
    report.heading("Figures");
    if figures.iter().all(Vec::is_empty) {
        report.paragraph("No figures in this run.");
    }
    for group in figures.iter().filter(|g| !g.is_empty()) {
        let mut svgs = Vec::with_capacity(group.len());
        for path in group {
            let svg = std::fs::read_to_string(path)
                .map_err(|e| Failure::Runtime(format!("reading figure {}: {e}", path.display())))?;
            let name = path.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
            svgs.push((name, svg));
        }
        report.figures(svgs.iter().map(|(name, svg)| (name.as_str(), svg.as_str())));
    }
    let path = out.join("index.html");
    std::fs::write(&path, report.to_html())
        .map_err(|e| Failure::Runtime(format!("writing {}: {e}", path.display())))?;
    Ok(path)
}

/// Writes the `compare` run's `index.html`.
pub(crate) fn write_compare(out: &Path, p: &ComparePage<'_>) -> Result<PathBuf, Failure> {
    let seed = p.seeds[0];
    let seeds = match p.seeds {
        [one] => format!("Seed {one}."),
        _ => format!("Seeds {seed} to {} (mean ± std over {} seeds).", p.seeds[p.seeds.len() - 1], p.seeds.len()),
    };
    let mut report = start("tapegrad compare: the initialization experiment", &seeds);
    report.heading("Results").paragraph(p.settings.clone());
    let (header, rows) = results_table(p.inits, p.runs, p.seeds.len());
    report.table(&header, &rows);
    report.paragraph(format!("Training time: {}.", training_time(p.runs, p.wall)));

    report.heading(format!("Cost log (seed {seed})"));
    let firsts: Vec<&Run> = p.runs.iter().filter(|r| r.seed == seed).collect();
    let epochs = firsts.iter().map(|r| r.history.costs.len()).max().unwrap_or(0);
    let mut header = vec!["epoch".to_string()];
    header.extend(firsts.iter().map(|r| r.init.to_string()));
    let log: Vec<Vec<String>> = (0..epochs)
        .filter(|e| e % p.log_every == 0 || e + 1 == epochs)
        .map(|e| {
            let mut row = vec![e.to_string()];
            row.extend(firsts.iter().map(|r| r.history.costs.get(e).map_or("-".into(), |c| format!("{c:.6}"))));
            row
        })
        .collect();
    report.table(&header, &log);

    if !p.diagnostics.is_empty() {
        report.heading("Diagnostics at the first and last epoch");
        for (run, records) in p.diagnostics {
            let (first, last) = (records.first().map(|r| r.epoch), records.last().map(|r| r.epoch));
            report.paragraph(format!("Hidden init {}, seed {}.", run.init, run.seed));
            report.table(
                &diagnose::HEADER,
                &diagnose::rows(records, |r| Some(r.epoch) == first || Some(r.epoch) == last),
            );
        }
    }
    finish(out, report, p.figures)
}
