//! `tapegrad compare`: the initialization experiment, for any list of initializers.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use rayon::prelude::*;
use serde_json::json;
use tapegrad::experiment::{self, Run, Setup};
use tapegrad::init::Init;
use tapegrad::nn::BinaryLoss;
use tapegrad::plots;
use tapegrad::stats::mean_sample_std;
use tapegrad::study::diagnostics::{Record, Recorder};
use tapegrad::train::Step;

use super::page::{self, ComparePage};
use super::{CliResult, Failure, diagnose, file_stem, parse_count, parse_init, parse_loss, parse_positive, progress};
use super::{MAX_ELEMENTS, MAX_RUNS, check_size, figure_error, seed_range, writable_dir};

#[derive(Args)]
pub(crate) struct CompareArgs {
    /// Initializers of the hidden layers, as spec strings (e.g. `zeros,normal:10,he,xavier_uniform`).
    #[arg(long, value_delimiter = ',', default_value = "zeros,normal:10,he", value_parser = parse_init)]
    init: Vec<Init>,
    /// Initializer of the output layer.
    #[arg(long, default_value = "normal:1", value_parser = parse_init)]
    output_init: Init,
    /// Seed of the data and the weights (the first seed with --seeds).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of seeds: report mean ± std over seeds seed, seed+1, ...
    #[arg(long, default_value = "1", value_parser = parse_count)]
    seeds: usize,
    /// Training epochs.
    #[arg(long, default_value = "15000", value_parser = parse_count)]
    epochs: usize,
    /// Learning rate of gradient descent.
    #[arg(long, default_value = "0.01", value_parser = parse_positive)]
    lr: f64,
    /// Loss form: `stable` (bce_with_logits) or `clipped[:EPS]` (the classic experiment's, eps 1e-5).
    #[arg(long, default_value = "stable", value_parser = parse_loss)]
    loss: BinaryLoss,
    /// Print the cost every this many epochs (and at the last one).
    #[arg(long, default_value = "1000", value_parser = parse_count)]
    log_every: usize,
    /// Folder for the figures.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Print the results as JSON on standard output instead of the report.
    #[arg(long)]
    json: bool,
    /// Record per-layer diagnostics (activations, dead ReLUs, distinct units, gradient
    /// norms, update ratios), print them and plot them.
    #[arg(long)]
    diagnostics: bool,
    /// Stop at the first NaN or infinity and name the op and epoch that made it.
    #[arg(long)]
    detect_anomaly: bool,
}

pub(crate) fn run(a: CompareArgs) -> CliResult {
    check_size("--init × --seeds (the runs)", &[a.init.len(), a.seeds], MAX_RUNS)?;
    check_size("--init × --seeds × --epochs (the costs kept)", &[a.init.len(), a.seeds, a.epochs], MAX_ELEMENTS)?;
    let seeds = seed_range(a.seed, a.seeds)?;
    let out = writable_dir(&a.out)?;
    let setup = Setup {
        epochs: a.epochs,
        lr: a.lr,
        output_init: a.output_init,
        loss: a.loss,
        detect_anomaly: a.detect_anomaly,
        ..Setup::default()
    };
    let jobs: Vec<(Init, u64)> = a.init.iter().flat_map(|&init| seeds.iter().map(move |&s| (init, s))).collect();
    let start = Instant::now();
    let bar = progress::bar((jobs.len() * a.epochs) as u64, "training", a.json);
    let every = (a.log_every / 10).max(1);
    let results: Vec<(Run, Vec<Record>)> = jobs
        .par_iter()
        .map(|&(init, seed)| {
            let mut recorder = (a.diagnostics && seed == a.seed)
                .then(|| Recorder::new(experiment::moons(&setup, seed).0.x, every, a.epochs));
            let observe = |s: &Step<'_, '_>| {
                bar.inc(1);
                if let Some(r) = recorder.as_mut() {
                    r.observe(s);
                }
            };
            let run = experiment::run_with(init, seed, &setup, observe)
                .map_err(|e| Failure::Runtime(format!("hidden init {init}, seed {seed}: {e}")))?;
            Ok((run, recorder.map(Recorder::into_records).unwrap_or_default()))
        })
        .collect::<Result<_, Failure>>()?;
    bar.finish_and_clear();
    let wall = start.elapsed().as_secs_f64();
    let (runs, records): (Vec<Run>, Vec<Vec<Record>>) = results.into_iter().unzip();
    let diagnostics: Vec<(&Run, &[Record])> =
        runs.iter().zip(&records).filter(|(_, r)| !r.is_empty()).map(|(run, r)| (run, &r[..])).collect();

    if a.json {
        println!("{}", to_json(&a, &runs));
    } else {
        print_report(&a, &runs, wall);
    }
    // Rows of figures: the cost curves, then one row per kind with a figure per initializer.
    let mut figures = write_figures(&out, &a, &runs).map_err(figure_error(&out))?;
    if !diagnostics.is_empty() {
        if !a.json {
            println!();
            diagnose::print(&diagnostics, a.log_every);
        }
        figures.extend(diagnose::plot(&out, &diagnostics).map_err(figure_error(&out))?);
    }
    let settings = format!("loss {}, {} epochs, lr {}, output layer {}", a.loss, a.epochs, a.lr, a.output_init);
    let page = ComparePage {
        inits: &a.init,
        seeds: &seeds,
        settings,
        log_every: a.log_every,
        runs: &runs,
        diagnostics: &diagnostics,
        figures: &figures,
        wall,
    };
    let index = page::write_compare(&out, &page)?;
    if !a.json {
        println!("\nfigures and {} written to {}", index.display(), out.display());
    }
    Ok(())
}

fn print_report(a: &CompareArgs, runs: &[Run], wall: f64) {
    for r in runs {
        if a.seeds > 1 {
            continue;
        }
        println!("== hidden init {}, seed {} ==", r.init, r.seed);
        let last = r.history.costs.len() - 1;
        for (epoch, cost) in r.history.costs.iter().enumerate() {
            if epoch % a.log_every == 0 || epoch == last {
                println!("cost after epoch {epoch}: {cost:.16}");
            }
        }
        println!();
    }
    let seeds = if a.seeds > 1 { format!("mean ± std over {} seeds", a.seeds) } else { format!("seed {}", a.seed) };
    println!("loss {}, {} epochs, lr {}, output layer {} ({seeds})", a.loss, a.epochs, a.lr, a.output_init);
    let (header, rows) = results_table(&a.init, runs, a.seeds);
    let line = |cells: &[String]| {
        let numbers: Vec<String> = cells[1..cells.len() - 1].iter().map(|c| format!("{c:>15}")).collect();
        format!("{:<16} {}  {}", cells[0], numbers.join(" "), cells[cells.len() - 1])
    };
    println!("{}", line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>()));
    for row in &rows {
        println!("{}", line(row));
    }
    println!("\ntraining time: {}", training_time(runs, wall));
}

/// The training time of a command: the wall clock it spent on its runs, then the runs'
/// own training times summed (more than the wall clock when runs train side by side).
pub(super) fn training_time(runs: &[Run], wall: f64) -> String {
    let summed: f64 = runs.iter().map(|r| r.train_seconds).sum();
    match runs.len() {
        1 => format!("{wall:.3} s"),
        n => {
            let at_a_time = rayon::current_num_threads().min(n);
            format!(
                "{wall:.3} s of wall clock for {n} runs, {at_a_time} at a time ({summed:.3} s summed over the runs)"
            )
        }
    }
}

/// The results table: its header and one row per initializer, each cell the mean (± std
/// over seeds, with several) of the runs of that initializer.
pub(super) fn results_table(inits: &[Init], runs: &[Run], seeds: usize) -> ([&'static str; 7], Vec<Vec<String>>) {
    let header = ["hidden init", "train acc %", "test acc %", "soft train %", "soft test %", "final cost", "note"];
    let rows = inits
        .iter()
        .map(|init| {
            let mine: Vec<&Run> = runs.iter().filter(|r| r.init == *init).collect();
            let col = |f: &dyn Fn(&Run) -> f64, digits: usize| {
                let (m, s) = mean_sample_std(&mine.iter().map(|r| f(r)).collect::<Vec<_>>());
                if seeds > 1 { format!("{m:.digits$} ± {s:.digits$}") } else { format!("{m:.digits$}") }
            };
            vec![
                init.to_string(),
                col(&|r| 100.0 * r.train.accuracy, 2),
                col(&|r| 100.0 * r.test.accuracy, 2),
                col(&|r| 100.0 * r.train.soft_accuracy, 2),
                col(&|r| 100.0 * r.test.soft_accuracy, 2),
                col(&|r| r.history.last().unwrap_or(f64::NAN), 4),
                note(mine[0]),
            ]
        })
        .collect();
    (header, rows)
}

/// One line on what a run shows, from its costs alone.
fn note(r: &Run) -> String {
    let costs = &r.history.costs;
    let (first, last) = (costs[0], r.history.last().unwrap_or(f64::NAN));
    // Unchanged up to the rounding of the loss's sums (zero init drifts in the last bits).
    if costs.len() > 1 && costs.iter().all(|&c| (c - first).abs() <= 1e-12 * first.abs().max(1.0)) {
        return format!("cost unchanged at {first:.6} (to 12 digits) over {} epochs", costs.len());
    }
    if first > 5.0 {
        return format!("huge initial weights: cost starts at {first:.1}, saturated units learn slowly");
    }
    if costs.len() == 1 {
        return format!("one epoch: cost {first:.3} at initialization");
    }
    format!("trains: cost {first:.3} → {last:.3}")
}

fn to_json(a: &CompareArgs, runs: &[Run]) -> serde_json::Value {
    let runs: Vec<_> = runs
        .iter()
        .map(|r| {
            json!({
                "init": r.init.to_string(),
                "seed": r.seed,
                "costs": r.history.costs,
                "train_accuracy": r.train.accuracy,
                "test_accuracy": r.test.accuracy,
                "train_soft_accuracy": r.train.soft_accuracy,
                "test_soft_accuracy": r.test.soft_accuracy,
                "final_cost": r.history.last(),
                "train_seconds": r.train_seconds,
            })
        })
        .collect();
    json!({
        "epochs": a.epochs,
        "lr": a.lr,
        "loss": a.loss.to_string(),
        "output_init": a.output_init.to_string(),
        "runs": runs,
    })
}

/// Writes the cost curves and decision boundaries; returns the files written, the cost
/// curves in a row of their own and the decision boundaries in another.
fn write_figures(
    out: &std::path::Path,
    a: &CompareArgs,
    runs: &[Run],
) -> Result<Vec<Vec<PathBuf>>, Box<dyn std::error::Error>> {
    let firsts: Vec<&Run> = runs.iter().filter(|r| r.seed == a.seed).collect();
    let curves: Vec<(String, &[f64])> = firsts.iter().map(|r| (r.init.to_string(), &r.history.costs[..])).collect();
    let costs = out.join("cost_curves.svg");
    plots::cost_curves(&costs, "Cost during training", &curves)?;
    let mut boundaries = Vec::new();
    let setup = Setup::default();
    for r in firsts {
        let (train, _) = experiment::moons(&Setup { n_test: 0, ..setup }, r.seed);
        let title = format!("hidden init {} — train {:.1} %", r.init, 100.0 * r.train.accuracy);
        let path = out.join(format!("boundary_{}.svg", file_stem(&r.init.to_string())));
        plots::decision_boundary(&path, &title, &r.model, &train)?;
        boundaries.push(path);
    }
    Ok(vec![vec![costs], boundaries])
}
