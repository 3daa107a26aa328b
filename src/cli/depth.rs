//! `tapegrad depth`: random inputs through a deep plain network at initialization,
//! per-layer activation RMS and back-propagated gradient norms for several initializers
//! and seeds, and optionally whether the network still learns `make_moons`.

use std::path::{Path, PathBuf};

use clap::Args;
use rayon::prelude::*;
use serde_json::{Value, json};
use tapegrad::experiment::Setup;
use tapegrad::init::Init;
use tapegrad::nn::Activation;
use tapegrad::plots::{self, Scale, Series};
use tapegrad::study::depth::{self, DepthConfig, DepthRun, TrainOutcome};
use tapegrad::study::lsuv::{LsuvReport, WeightInit};
use tapegrad::study::median;
use tapegrad::train::FitOptions;

use super::{
    CliResult, Failure, MAX_ELEMENTS, MAX_RUNS, check_size, figure_error, page, progress, sci, seed_range, writable_dir,
};
use super::{parse_activation, parse_count, parse_init, parse_non_negative, parse_positive, parse_weight_init};

#[derive(Args)]
pub(crate) struct DepthArgs {
    /// Number of layers.
    #[arg(long, default_value = "50", value_parser = parse_count)]
    layers: usize,
    /// Units per layer (and input features).
    #[arg(long, default_value = "100", value_parser = parse_count)]
    width: usize,
    /// Activation of every layer: relu, tanh, leaky_relu[:A], sigmoid or identity.
    #[arg(long, default_value = "relu", value_parser = parse_activation)]
    activation: Activation,
    /// Initializers to compare, as spec strings, or `lsuv`, fitted on a second random batch (with `--train`, on the training inputs).
    #[arg(long, value_delimiter = ',', default_value = "he,xavier_normal,normal:0.01,normal:1", value_parser = parse_weight_init)]
    init: Vec<WeightInit>,
    /// Weights N(0, SW2/fan_in) instead of --init (the mean-field σ_w²; `variance_scaling:SW2`).
    #[arg(long, conflicts_with = "init", value_parser = parse_positive)]
    sw2: Option<f64>,
    /// Initializer of every layer's bias, as a spec string.
    #[arg(long, default_value = "zeros", value_parser = parse_init)]
    bias_init: Init,
    /// Biases N(0, SB2) instead of --bias-init (the mean-field σ_b²; `normal:√SB2`).
    #[arg(long, conflicts_with = "bias_init", value_parser = parse_non_negative)]
    sb2: Option<f64>,
    /// First seed of the inputs and weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of seeds (seed, seed+1, ...); the summary gives medians over seeds.
    #[arg(long, default_value = "1", value_parser = parse_count)]
    seeds: usize,
    /// Number of random input rows.
    #[arg(long, default_value = "256", value_parser = parse_count)]
    batch: usize,
    /// Print every per-layer number for every initializer and seed as JSON.
    #[arg(long)]
    json: bool,
    /// Folder for the figures and index.html.
    #[arg(long, default_value = "out/depth")]
    out: PathBuf,
    /// Also train the deep network (2 inputs, one logit) on make_moons for this many epochs.
    #[arg(long, value_name = "EPOCHS", value_parser = parse_count)]
    train: Option<usize>,
    /// Learning rate of gradient descent in training mode.
    #[arg(long, default_value = "0.01", value_parser = parse_positive)]
    lr: f64,
    /// In training mode, stop a run at its first NaN or infinity and name the op and epoch.
    #[arg(long)]
    detect_anomaly: bool,
}

pub(crate) fn run(mut a: DepthArgs) -> CliResult {
    if let Some(sw2) = a.sw2 {
        a.init = vec![Init::VarianceScaling(sw2).into()];
    }
    if let Some(sb2) = a.sb2 {
        a.bias_init = if sb2 > 0.0 { Init::Normal(sb2.sqrt()) } else { Init::Zeros };
    }
    check_size("--init × --seeds (the runs)", &[a.init.len(), a.seeds], MAX_RUNS)?;
    check_size("--layers × --width × --width (the weights)", &[a.layers, a.width, a.width], MAX_ELEMENTS)?;
    check_size("--layers × --batch × --width (the activations)", &[a.layers, a.batch, a.width], MAX_ELEMENTS)?;
    if let Some(epochs) = a.train {
        let samples = Setup::default().n_train;
        let what = format!("--layers × {samples} samples × --width (the training activations)");
        check_size(&what, &[a.layers, samples, a.width], MAX_ELEMENTS)?;
        check_size("--init × --seeds × --train (the costs kept)", &[a.init.len(), a.seeds, epochs], MAX_ELEMENTS)?;
    }
    let seeds = seed_range(a.seed, a.seeds)?;
    let out = writable_dir(&a.out)?;
    let config =
        DepthConfig { layers: a.layers, width: a.width, activation: a.activation, batch: a.batch, bias: a.bias_init };

    let bar = progress::bar((a.init.len() * seeds.len()) as u64, "depth sweep", a.json);
    let runs = depth::sweep(&a.init, &seeds, &config, &|| bar.inc(1));
    bar.finish_and_clear();
    let trained = a.train.map(|epochs| train(&a, &config, &seeds, epochs));

    let rows = summary_rows(&a, &runs);
    if a.json {
        println!("{}", to_json(&a, &runs, trained.as_deref()));
    } else {
        print_summary(&a, &seeds, &rows);
        for r in runs.iter().filter_map(|r| Some((r.seed, r.lsuv.as_ref()?))) {
            println!("lsuv, seed {}, fitted on a second batch of {}: {}", r.0, a.batch, r.1.summary());
        }
        if let Some(t) = &trained {
            print_training(&a, t);
        }
    }
    let figures = write_figures(&out, &a, &runs, trained.as_deref()).map_err(figure_error(&out))?;
    let index = write_page(&out, &a, &seeds, &rows, trained.as_deref(), &figures)?;
    if !a.json {
        println!("\nfigures and {} written to {}", index.display(), out.display());
    }
    Ok(())
}

fn train(a: &DepthArgs, config: &DepthConfig, seeds: &[u64], epochs: usize) -> Vec<TrainOutcome> {
    let jobs: Vec<(WeightInit, u64)> = a.init.iter().flat_map(|&i| seeds.iter().map(move |&s| (i, s))).collect();
    let bar = progress::bar((jobs.len() * epochs) as u64, "training", a.json);
    let opts = FitOptions { detect_anomaly: a.detect_anomaly, ..FitOptions::epochs(epochs) };
    let outcomes =
        jobs.par_iter().map(|&(init, seed)| depth::train(init, config, seed, opts, a.lr, &|| bar.inc(1))).collect();
    bar.finish_and_clear();
    outcomes
}

/// Layers shown in the summary: the first, every fifth of the depth, and the last.
fn checkpoints(layers: usize) -> Vec<usize> {
    let mut at: Vec<usize> = (0..=5).map(|k| (k * layers / 5).max(1)).collect();
    at.dedup();
    at
}

fn runs_of(runs: &[DepthRun], init: WeightInit) -> Vec<&DepthRun> {
    runs.iter().filter(|r| r.init == init).collect()
}

/// The median over seeds of `f` at every layer.
fn per_layer_median(runs: &[&DepthRun], f: impl Fn(&depth::LayerSignal) -> f64) -> Vec<f64> {
    let layers = runs.first().map_or(0, |r| r.layers.len());
    (0..layers).map(|l| median(&runs.iter().map(|r| f(&r.layers[l])).collect::<Vec<_>>())).collect()
}

fn verdict(ratio: f64) -> &'static str {
    match ratio {
        r if r.is_nan() => "undefined (a layer is all 0)",
        r if r < 1e-3 => "vanishes",
        r if r < 1.0 / 3.0 => "shrinks",
        r if r <= 3.0 => "steady",
        r if r <= 1e3 => "grows",
        _ => "explodes",
    }
}

/// One row per initializer: median RMS at the checkpoints, the RMS ratio last/first, the
/// gradient ratio first/last and a verdict.
fn summary_rows(a: &DepthArgs, runs: &[DepthRun]) -> Vec<Vec<String>> {
    a.init
        .iter()
        .map(|&init| {
            let mine = runs_of(runs, init);
            let rms = per_layer_median(&mine, |l| l.rms);
            let ratio = median(&mine.iter().map(|r| r.rms_ratio()).collect::<Vec<_>>());
            let grad = median(&mine.iter().map(|r| r.grad_ratio()).collect::<Vec<_>>());
            let mut row = vec![init.to_string()];
            row.extend(checkpoints(a.layers).iter().map(|&l| sci(rms[l - 1])));
            let signal = match mine.iter().find_map(|r| r.anomaly) {
                Some(an) => format!("overflows: {an}"),
                None => verdict(ratio).to_string(),
            };
            row.extend([sci(ratio), sci(grad), signal]);
            row
        })
        .collect()
}

fn summary_header(a: &DepthArgs) -> Vec<String> {
    let mut h = vec!["init".to_string()];
    h.extend(checkpoints(a.layers).iter().map(|l| format!("RMS layer {l}")));
    h.extend([format!("RMS {}/1", a.layers), format!("‖∇h‖ 1/{}", a.layers), "signal".to_string()]);
    h
}

fn describe(a: &DepthArgs, seeds: &[u64]) -> String {
    let seeds = match seeds {
        [one] => format!("seed {one}"),
        _ => format!("seeds {}..={} (medians over {} seeds)", seeds[0], seeds[seeds.len() - 1], seeds.len()),
    };
    let biases = match a.bias_init {
        Init::Zeros => "biases 0".to_string(),
        init => format!("biases {init}"),
    };
    format!(
        "{} layers of {} {} units, batch {} of standard-normal inputs, {biases}, gradient of the mean of the last \
         layer's outputs; {seeds}",
        a.layers, a.width, a.activation, a.batch
    )
}

fn print_summary(a: &DepthArgs, seeds: &[u64], rows: &[Vec<String>]) {
    println!("depth sweep: {}", describe(a, seeds));
    let header = summary_header(a);
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0))
        .collect();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, &w)| format!("{c:>w$}")).collect();
        println!("{}", cells.join("  "));
    }
}

/// A cost to 4 decimals, or in scientific notation when huge.
fn cost(x: f64) -> String {
    if x.abs() < 1e4 { format!("{x:.4}") } else { format!("{x:.3e}") }
}

const TRAIN_HEADER: [&str; 7] = ["init", "seed", "cost at start", "final cost", "train acc %", "test acc %", "learns?"];

fn training_rows(outcomes: &[TrainOutcome]) -> Vec<Vec<String>> {
    outcomes
        .iter()
        .map(|t| {
            let learns = match &t.error {
                Some(e) => format!("stopped: {e}"),
                None if !t.final_cost.is_finite() => "diverged (non-finite cost)".to_string(),
                None if t.train_accuracy >= 0.85 => "yes".to_string(),
                None => "no".to_string(),
            };
            vec![
                t.init.to_string(),
                t.seed.to_string(),
                cost(t.first_cost),
                cost(t.final_cost),
                format!("{:.1}", 100.0 * t.train_accuracy),
                format!("{:.1}", 100.0 * t.test_accuracy),
                learns,
            ]
        })
        .collect()
}

fn print_training(a: &DepthArgs, outcomes: &[TrainOutcome]) {
    let epochs = a.train.unwrap_or(0);
    println!(
        "\ntraining on make_moons (400 points): 2 → {} × {} {} → 1, {epochs} epochs, lr {}",
        a.layers, a.width, a.activation, a.lr
    );
    println!(
        "{:<16} {:>5} {:>14} {:>11} {:>12} {:>11}  learns?",
        "init", "seed", "cost at start", "final cost", "train acc %", "test acc %"
    );
    for r in training_rows(outcomes) {
        println!("{:<16} {:>5} {:>14} {:>11} {:>12} {:>11}  {}", r[0], r[1], r[2], r[3], r[4], r[5], r[6]);
    }
    for t in outcomes.iter().filter_map(|t| Some((t.seed, t.lsuv.as_ref()?))) {
        println!("lsuv, seed {}, fitted on the training inputs: {}", t.0, t.1.summary());
    }
}

fn to_json(a: &DepthArgs, runs: &[DepthRun], trained: Option<&[TrainOutcome]>) -> Value {
    let runs: Vec<Value> = runs
        .iter()
        .map(|r| {
            let layers: Vec<Value> = r
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    json!({
                        "layer": i + 1, "mean": l.mean, "std": l.std, "rms": l.rms,
                        "grad_norm": l.grad_norm, "weight_grad_norm": l.weight_grad_norm,
                    })
                })
                .collect();
            json!({
                "init": r.init.to_string(), "seed": r.seed, "rms_ratio": r.rms_ratio(),
                "grad_ratio": r.grad_ratio(), "layers": layers, "lsuv": r.lsuv.as_ref().map(LsuvReport::to_json),
            })
        })
        .collect();
    let training = trained.map(|t| {
        t.iter()
            .map(|t| {
                json!({
                    "init": t.init.to_string(), "seed": t.seed, "first_cost": t.first_cost,
                    "final_cost": t.final_cost, "train_accuracy": t.train_accuracy,
                    "test_accuracy": t.test_accuracy, "error": t.error.as_ref().map(|e| e.to_string()),
                    "lsuv": t.lsuv.as_ref().map(LsuvReport::to_json),
                })
            })
            .collect::<Vec<_>>()
    });
    json!({
        "layers": a.layers, "width": a.width, "activation": a.activation.to_string(), "batch": a.batch,
        "runs": runs, "training": training,
    })
}

/// Writes the signal figures (a row, side by side) and the training costs (a row of its
/// own); returns the files written.
fn write_figures(
    out: &Path,
    a: &DepthArgs,
    runs: &[DepthRun],
    trained: Option<&[TrainOutcome]>,
) -> Result<Vec<Vec<PathBuf>>, Box<dyn std::error::Error>> {
    let over_layers = |f: &dyn Fn(&depth::LayerSignal) -> f64| -> Vec<Series> {
        a.init
            .iter()
            .enumerate()
            .map(|(c, &init)| {
                let m = per_layer_median(&runs_of(runs, init), f);
                Series::new(init.to_string(), m.iter().enumerate().map(|(l, &y)| ((l + 1) as f64, y)).collect(), c)
            })
            .collect()
    };
    let what = format!("{} layers × {} {}", a.layers, a.width, a.activation);
    let rms = out.join("depth_rms.svg");
    plots::line_chart(
        &rms,
        &format!("Activation RMS per layer ({what})"),
        "layer",
        "RMS",
        Scale::Log,
        &over_layers(&|l| l.rms),
    )?;
    let grad = out.join("depth_grad.svg");
    let title = format!("Back-propagated gradient norm per layer ({what})");
    plots::line_chart(&grad, &title, "layer", "‖∂L/∂h‖", Scale::Log, &over_layers(&|l| l.grad_norm))?;
    let mut files = vec![vec![rms, grad]];
    if let Some(t) = trained {
        let curves: Vec<(String, &[f64])> =
            t.iter().filter(|t| t.seed == a.seed).map(|t| (t.init.to_string(), &t.costs[..])).collect();
        let path = out.join("depth_train_costs.svg");
        plots::cost_curves(&path, &format!("Training on make_moons ({what})"), &curves)?;
        files.push(vec![path]);
    }
    Ok(files)
}

fn write_page(
    out: &Path,
    a: &DepthArgs,
    seeds: &[u64],
    rows: &[Vec<String>],
    trained: Option<&[TrainOutcome]>,
    figures: &[Vec<PathBuf>],
) -> Result<PathBuf, Failure> {
    let seeds_line = format!("Seeds: {}.", seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "));
    let mut report = page::start("tapegrad depth: the signal through a deep plain network", &seeds_line);
    report.heading("Results").paragraph(describe(a, seeds)).table(&summary_header(a), rows);
    report.heading("Cost log");
    match trained {
        None => report.paragraph("No training in this run (add --train EPOCHS)."),
        Some(t) => {
            report.paragraph(format!("{} epochs of gradient descent, lr {}.", a.train.unwrap_or(0), a.lr));
            report.table(&TRAIN_HEADER, &training_rows(t))
        }
    };
    page::finish(out, report, figures)
}
