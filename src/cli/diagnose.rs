//! `compare --diagnostics`: the per-layer training diagnostics of each run, as a printed
//! table, table rows for the report page and SVG plots over epochs.

use std::path::{Path, PathBuf};

use tapegrad::experiment::Run;
use tapegrad::plots::{self, Scale, Series};
use tapegrad::snapshot::format_value;
use tapegrad::study::diagnostics::Record;

use super::{file_stem, sci};

/// Column names of a diagnostics table.
pub(crate) const HEADER: [&str; 8] =
    ["epoch", "layer", "act mean", "act std", "dead %", "distinct", "‖∇W‖", "‖lr·∇W‖/‖W‖"];

/// One row per layer of every record that `keep` selects.
pub(crate) fn rows(records: &[Record], keep: impl Fn(&Record) -> bool) -> Vec<Vec<String>> {
    records
        .iter()
        .filter(|r| keep(r))
        .flat_map(|r| {
            r.layers.iter().map(move |l| {
                vec![
                    r.epoch.to_string(),
                    l.layer.to_string(),
                    sci(l.activation_mean),
                    sci(l.activation_std),
                    l.dead_fraction.map_or("-".to_string(), |d| format!("{:.1}", 100.0 * d)),
                    l.distinct_units.map_or(format!("-/{}", l.units), |d| format!("{d}/{}", l.units)),
                    l.grad_norm.map_or("-".to_string(), format_value),
                    l.update_ratio.map_or("-".to_string(), sci),
                ]
            })
        })
        .collect()
}

/// Prints the diagnostics of each run at every `log_every` epochs and the last.
pub(crate) fn print(runs: &[(&Run, &[Record])], log_every: usize) {
    for (run, records) in runs {
        println!("== diagnostics: hidden init {}, seed {} ==", run.init, run.seed);
        let last = records.last().map_or(0, |r| r.epoch);
        let table = rows(records, |r| r.epoch % log_every == 0 || r.epoch == last);
        let widths = [6, 5, 11, 11, 7, 8, 13, 13];
        let line = |cells: &[String]| {
            let cols: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:>w$}")).collect();
            println!("{}", cols.join(" "));
        };
        line(&HEADER.map(String::from));
        table.iter().for_each(|row| line(row));
        println!();
    }
}

/// Writes, per run, the weight gradient norm and the activation std of each layer over
/// epochs; returns the files written, the gradient norms of every run in one row and
/// the activation stds in another.
pub(crate) fn plot(out: &Path, runs: &[(&Run, &[Record])]) -> Result<Vec<Vec<PathBuf>>, Box<dyn std::error::Error>> {
    let (mut grad_files, mut std_files) = (Vec::new(), Vec::new());
    for (run, records) in runs {
        let stem = file_stem(&run.init.to_string());
        let layers = records.first().map_or(0, |r| r.layers.len());
        let series = |f: &dyn Fn(&Record, usize) -> Option<f64>| -> Vec<Series> {
            (0..layers)
                .filter(|&l| records.iter().all(|r| f(r, l).is_some()))
                .map(|l| {
                    Series::new(
                        format!("layer {l}"),
                        records.iter().filter_map(|r| Some((r.epoch as f64, f(r, l)?))).collect(),
                        l,
                    )
                })
                .collect()
        };
        let grads = series(&|r, l| r.layers[l].grad_norm);
        let all_zero = grads.iter().all(|s| s.points.iter().all(|&(_, y)| y == 0.0));
        let note = if all_zero { " (every value is exactly 0)" } else { "" };
        let path = out.join(format!("diagnostics_grad_norm_{stem}.svg"));
        let title = format!("‖∇W‖ per layer, hidden init {}{note}", run.init);
        plots::line_chart(&path, &title, "epoch", "weight gradient norm", Scale::Log, &grads)?;
        grad_files.push(path);
        let path = out.join(format!("diagnostics_act_std_{stem}.svg"));
        let title = format!("activation std per layer, hidden init {}", run.init);
        let stds = series(&|r, l| Some(r.layers[l].activation_std));
        plots::line_chart(&path, &title, "epoch", "activation std", Scale::Linear, &stds)?;
        std_files.push(path);
    }
    Ok(vec![grad_files, std_files])
}
