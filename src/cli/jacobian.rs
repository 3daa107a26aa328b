//! `tapegrad jacobian`: the singular values of a deep random network's input-output
//! Jacobian, and the mean and variance of the eigenvalues of `JJᵀ` beside the
//! free-probability predictions.

use std::path::{Path, PathBuf};

use clap::Args;
use rayon::prelude::*;
use serde_json::{Value, json};
use tapegrad::init::Init;
use tapegrad::nn::Activation;
use tapegrad::plots;
use tapegrad::study::spectrum::{self, Prediction, Spectrum, SpectrumConfig};

use super::{
    CliResult, MAX_ELEMENTS, MAX_RUNS, check_size, figure_error, page, progress, sci, seed_range, writable_dir,
};
use super::{parse_activation, parse_count, parse_init};

/// The widest Jacobian: its SVD is `O(N³)`.
const MAX_WIDTH: usize = 4096;

#[derive(Args)]
pub(crate) struct JacobianArgs {
    /// Activation of every layer: relu, tanh, leaky_relu[:A], sigmoid or identity.
    #[arg(long, default_value = "tanh", value_parser = parse_activation)]
    activation: Activation,
    /// Weight initializer, as a spec string (biases are 0).
    #[arg(long, default_value = "orthogonal", value_parser = parse_init)]
    init: Init,
    /// Number of layers, each width → width and the activation.
    #[arg(long, default_value = "10", value_parser = parse_count)]
    layers: usize,
    /// Units per layer (and input features).
    #[arg(long, default_value = "128", value_parser = parse_count)]
    width: usize,
    /// First seed of the weights and the input.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of networks (seed, seed+1, ...).
    #[arg(long, default_value = "4", value_parser = parse_count)]
    seeds: usize,
    /// Print every number, singular values included, as JSON.
    #[arg(long)]
    json: bool,
    /// Folder for the histogram and index.html.
    #[arg(long, default_value = "out/jacobian")]
    out: PathBuf,
}

pub(crate) fn run(a: JacobianArgs) -> CliResult {
    check_size("--seeds", &[a.seeds], MAX_RUNS)?;
    check_size("--width", &[a.width], MAX_WIDTH)?;
    check_size("--layers × --width × --width (the weights)", &[a.layers, a.width, a.width], MAX_ELEMENTS)?;
    let seeds = seed_range(a.seed, a.seeds)?;
    let out = writable_dir(&a.out)?;
    let config = SpectrumConfig { layers: a.layers, width: a.width, activation: a.activation };

    let bar = progress::bar(seeds.len() as u64, "jacobian spectra", a.json);
    let runs: Vec<Spectrum> = seeds
        .par_iter()
        .map(|&s| {
            let r = spectrum::spectrum(a.init, &config, s);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let predicted = spectrum::predict(a.init, &config);

    let (header, rows) = table(&runs, predicted);
    if a.json {
        println!("{}", to_json(&a, &runs, predicted));
    } else {
        println!("jacobian spectra: {}", describe(&a));
        print_table(&header, &rows);
    }
    let figure = out.join("jacobian_singular_values.svg");
    let values: Vec<f64> = runs.iter().flat_map(|r| r.singular_values.iter().copied()).collect();
    let title = format!("Singular values of J ({} layers × {} {}, {})", a.layers, a.width, a.activation, a.init);
    plots::histogram(&figure, &title, "singular value", &values, 40).map_err(figure_error(&out))?;
    let index = write_page(&out, &a, &seeds, &header, &rows, &[figure])?;
    if !a.json {
        println!("\nfigure and {} written to {}", index.display(), out.display());
    }
    Ok(())
}

fn describe(a: &JacobianArgs) -> String {
    format!(
        "{} layers of {} {} units, weights {}, biases 0, at a standard-normal input; eigenvalues of JJᵀ \
         (squared singular values)",
        a.layers, a.width, a.activation, a.init
    )
}

fn table(runs: &[Spectrum], predicted: Option<Prediction>) -> (Vec<String>, Vec<Vec<String>>) {
    let header = ["seed", "eig_mean", "eig_var", "σ_min", "σ_max"].map(String::from).to_vec();
    let mut rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let (min, max) = (r.singular_values.last().copied(), r.singular_values.first().copied());
            vec![
                r.seed.to_string(),
                sci(r.eig_mean),
                sci(r.eig_var),
                sci(min.unwrap_or(f64::NAN)),
                sci(max.unwrap_or(f64::NAN)),
            ]
        })
        .collect();
    let n = runs.len() as f64;
    let mean = |f: fn(&Spectrum) -> f64| runs.iter().map(f).sum::<f64>() / n;
    rows.push(vec!["mean".into(), sci(mean(|r| r.eig_mean)), sci(mean(|r| r.eig_var)), String::new(), String::new()]);
    rows.push(match predicted {
        Some(p) => vec!["predicted".into(), sci(p.eig_mean), sci(p.eig_var), String::new(), String::new()],
        None => {
            vec!["predicted".into(), "none for this initializer".into(), String::new(), String::new(), String::new()]
        }
    });
    (header, rows)
}

fn print_table(header: &[String], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0))
        .collect();
    for row in std::iter::once(header).chain(rows.iter().map(|r| &r[..])) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, &w)| format!("{c:>w$}")).collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

fn to_json(a: &JacobianArgs, runs: &[Spectrum], predicted: Option<Prediction>) -> Value {
    let runs: Vec<Value> = runs
        .iter()
        .map(|r| {
            json!({
                "seed": r.seed, "eig_mean": r.eig_mean, "eig_var": r.eig_var,
                "singular_values": r.singular_values,
            })
        })
        .collect();
    json!({
        "layers": a.layers, "width": a.width, "activation": a.activation.to_string(), "init": a.init.to_string(),
        "predicted_eig_mean": predicted.map(|p| p.eig_mean), "predicted_eig_var": predicted.map(|p| p.eig_var),
        "runs": runs,
    })
}

fn write_page(
    out: &Path,
    a: &JacobianArgs,
    seeds: &[u64],
    header: &[String],
    rows: &[Vec<String>],
    figures: &[PathBuf],
) -> Result<PathBuf, super::Failure> {
    let seeds_line = format!("Seeds: {}.", seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "));
    let mut report = page::start("tapegrad jacobian: the spectrum of a deep network's Jacobian", &seeds_line);
    report.heading("Results").paragraph(describe(a)).table(header, rows);
    page::finish(out, report, &[figures.to_vec()])
}
