//! `tapegrad train`: train a model on your own data (CSV or IDX files) or on the digits,
//! for the task the targets say or `--task` states, report it like `compare` (terminal,
//! `--json`, figures and `index.html`), and save or load its parameters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde_json::json;
use tapegrad::csv::load_csv;
use tapegrad::data::{Dataset, Standardizer};
use tapegrad::init::{Init, seeded_rng, streams};
use tapegrad::io::{self, SavedParams};
use tapegrad::nn::{Activation, BinaryLoss, Dense, Layer, Sequential, Task, TaskKind};
use tapegrad::optim::{Adam, GradientDescent, Momentum, Optimizer};
use tapegrad::plots;
use tapegrad::study::lsuv::{LsuvReport, WeightInit};
use tapegrad::train::{Evaluation, FitOptions, evaluate, fit};

use super::{
    CliResult, Failure, MAX_ELEMENTS, check_size, parse_activation, parse_count, parse_init, parse_weight_init,
};
use super::{figure_error, page, parse_non_negative, parse_positive, parse_unit, writable_dir};

/// Metadata keys of a saved standardisation (JSON arrays of the column means and
/// deviations), so a loaded model sees its inputs as it was trained on them.
const MEAN_KEY: &str = "tapegrad.standardize.mean";
const STD_KEY: &str = "tapegrad.standardize.std";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OptimizerKind {
    /// Plain gradient descent.
    Gd,
    /// Gradient descent with momentum (see --momentum, --nesterov).
    Momentum,
    /// Adam, or AdamW with --weight-decay (see --beta1, --beta2).
    Adam,
}

/// A data set shipped with the crate.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Builtin {
    /// scikit-learn's 1797 handwritten 8 × 8 digits, 10 classes.
    Digits,
}

#[derive(Args)]
pub(crate) struct TrainArgs {
    /// CSV file (features in the first columns, the target last, optional header), or
    /// an IDX image file (MNIST format, gzipped or not) with --labels.
    #[arg(long, required_unless_present = "dataset", conflicts_with = "dataset")]
    data: Option<PathBuf>,
    /// The IDX label file that goes with an IDX image file given as --data.
    #[arg(long, requires = "data")]
    labels: Option<PathBuf>,
    /// A data set shipped with the crate instead of --data.
    #[arg(long, value_enum)]
    dataset: Option<Builtin>,
    /// The task; by default inferred from the targets: 0/1 is binary, class indices
    /// 0..K-1 (K > 2) multi-class, anything else regression.
    #[arg(long, value_parser = parse_task)]
    task: Option<TaskKind>,
    /// Widths of the hidden layers (dense, with --activation), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "12,6", value_parser = parse_count)]
    hidden: Vec<usize>,
    /// The hidden layers as a spec instead of --hidden, such as
    /// `dense:128,batchnorm,relu,dropout:0.1` or `dense:64,relu,residual(dense:64,relu,dense:64)`
    /// (items: dense:N, an activation, batchnorm, layernorm, dropout:P, residual(ITEMS)).
    #[arg(long, conflicts_with = "hidden")]
    layers: Option<String>,
    /// Split each class in the same proportion (always done for multi-class data).
    #[arg(long)]
    stratify: bool,
    /// Initializer of the hidden layers' weights, as a spec string; `lsuv` initializes
    /// them orthonormally, then rescales each layer on the training data.
    #[arg(long, default_value = "he", value_parser = parse_weight_init)]
    init: WeightInit,
    /// Initializer of the output layer's weights.
    #[arg(long, default_value = "normal:1", value_parser = parse_init)]
    output_init: Init,
    /// Activation of the hidden layers: relu, leaky_relu[:A], tanh, sigmoid, identity.
    #[arg(long, default_value = "relu", value_parser = parse_activation)]
    activation: Activation,
    /// Training epochs (0 only with --load: evaluate the loaded parameters).
    #[arg(long, default_value_t = 1000)]
    epochs: usize,
    /// Learning rate.
    #[arg(long, default_value = "0.01", value_parser = parse_positive)]
    lr: f64,
    /// Optimizer.
    #[arg(long, value_enum, default_value_t = OptimizerKind::Gd)]
    optimizer: OptimizerKind,
    /// Momentum coefficient (momentum only), in [0, 1).
    #[arg(long, default_value = "0.9", value_parser = parse_unit)]
    momentum: f64,
    /// Use Nesterov momentum (momentum only).
    #[arg(long)]
    nesterov: bool,
    /// Adam's first-moment decay, in [0, 1).
    #[arg(long, default_value = "0.9", value_parser = parse_unit)]
    beta1: f64,
    /// Adam's second-moment decay, in [0, 1).
    #[arg(long, default_value = "0.999", value_parser = parse_unit)]
    beta2: f64,
    /// AdamW's decoupled weight decay (adam only), ≥ 0.
    #[arg(long, default_value = "0", value_parser = parse_non_negative)]
    weight_decay: f64,
    /// Samples per gradient step, reshuffled every epoch (default: the whole training set).
    #[arg(long, value_parser = parse_count)]
    batch_size: Option<usize>,
    /// Fraction of the samples held out as the test set (seeded), in [0, 1).
    #[arg(long, default_value = "0.2", value_parser = parse_unit)]
    test_fraction: f64,
    /// Seed of the split, the weights and the mini-batch shuffle.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train on the features as they are instead of standardising them (by default each
    /// column is centred and scaled with the training set's mean and deviation).
    #[arg(long)]
    no_standardize: bool,
    /// Print the cost every this many epochs (and at the last one).
    #[arg(long, default_value = "100", value_parser = parse_count)]
    log_every: usize,
    /// Folder for the figures and index.html.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Print the results as JSON on standard output instead of the report.
    #[arg(long)]
    json: bool,
    /// Draw the cost history of an earlier run (the output of `train --json`) beside this
    /// run's in cost_curve.svg; repeat for several.
    #[arg(long, value_name = "FILE.json")]
    compare_with: Vec<PathBuf>,
    /// Save the trained parameters to this safetensors file (written atomically).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Start from the parameters in this safetensors file (names and shapes must match the
    /// network; a standardisation saved with them is reused). Training, if any, continues
    /// from them with a fresh optimizer state.
    #[arg(long)]
    load: Option<PathBuf>,
}

/// What one training run produced.
struct Outcome {
    data: Dataset,
    train: Dataset,
    test: Dataset,
    model: Sequential,
    standardizer: Option<Standardizer>,
    costs: Vec<f64>,
    train_eval: Evaluation,
    test_eval: Option<Evaluation>,
    train_seconds: f64,
    lsuv: Option<LsuvReport>,
}

fn parse_task(s: &str) -> Result<TaskKind, String> {
    s.parse()
}

impl TrainArgs {
    /// The data's name, as reports show it.
    fn data_name(&self) -> String {
        match (&self.data, self.dataset) {
            (Some(path), _) => path.display().to_string(),
            (None, _) => "digits".into(),
        }
    }
}

pub(crate) fn run(a: TrainArgs) -> CliResult {
    if a.epochs == 0 && a.load.is_none() {
        return Err(Failure::Usage(
            "--epochs 0 trains nothing; use it with --load to evaluate saved parameters".into(),
        ));
    }
    check_size("--epochs (the costs kept)", &[a.epochs], MAX_ELEMENTS)?;
    let out = writable_dir(&a.out)?;
    if let Some(save) = &a.save {
        check_save_path(save)?;
    }
    let usage = |e: &dyn std::fmt::Display| Failure::Usage(e.to_string());
    let data = match (&a.data, &a.labels) {
        (Some(images), Some(labels)) => tapegrad::idx::load_idx(images, labels).map_err(|e| usage(&e))?,
        (Some(csv), None) => load_csv(csv).map_err(|e| usage(&e))?,
        (None, _) => tapegrad::data::digits(),
    };
    check_network(&a, &data)?;
    let earlier = a.compare_with.iter().map(|p| earlier_costs(p)).collect::<Result<Vec<_>, _>>()?;
    let loaded = a.load.as_ref().map(io::load_params).transpose().map_err(|e| usage(&e))?;
    let o = train(&a, data, loaded.as_ref())?;

    if let Some(path) = &a.save {
        io::save_params(path, &o.model.params, &metadata(&a, &o))
            .map_err(|e| Failure::Runtime(format!("saving parameters: {e}")))?;
    }
    if a.json {
        println!("{}", to_json(&a, &o));
    } else {
        print_report(&a, &o);
    }
    let figures = write_figures(&out, &a, &o, &earlier).map_err(figure_error(&out))?;
    let index = write_page(&out, &a, &o, std::slice::from_ref(&figures))?;
    if !a.json {
        println!("figures and {} written to {}", index.display(), out.display());
        if let Some(path) = &a.save {
            println!("parameters saved to {}", path.display());
        }
    }
    Ok(())
}

/// Every layer's weight and activations must fit in [`MAX_ELEMENTS`].
fn check_network(a: &TrainArgs, data: &Dataset) -> CliResult {
    let mut fan_in = data.x.cols();
    let widths = match &a.layers {
        Some(spec) => {
            let mut probe = Sequential::new(fan_in);
            probe.push_spec(spec, &Init::Zeros, &mut seeded_rng(0, 0)).map_err(Failure::Usage)?;
            probe.dense_layers().iter().map(|d| d.outputs).collect()
        }
        None => a.hidden.clone(),
    };
    for &width in &widths {
        check_size(&format!("--hidden {width}: the {fan_in} × {width} weight"), &[fan_in, width], MAX_ELEMENTS)?;
        let what = format!("--hidden {width}: the activations of {} samples", data.len());
        check_size(&what, &[data.len(), width], MAX_ELEMENTS)?;
        fan_in = width;
    }
    Ok(())
}

/// The folder of `path` must exist, so that a long run does not end unable to save.
fn check_save_path(path: &Path) -> CliResult {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(Failure::Usage(format!(
            "cannot save to {}: folder {} does not exist",
            path.display(),
            folder.display()
        )));
    }
    if path.is_dir() {
        return Err(Failure::Usage(format!("cannot save to {}: it is a folder", path.display())));
    }
    tempfile::tempfile_in(folder)
        .map(drop)
        .map_err(|e| Failure::Usage(format!("cannot save to {}: {e}", path.display())))
}

fn train(a: &TrainArgs, data: Dataset, loaded: Option<&SavedParams>) -> Result<Outcome, Failure> {
    // The task: as stated, else as a loaded model was saved with, else from the targets.
    let saved_task = loaded.and_then(|l| l.metadata.get("tapegrad.task")).and_then(|t| t.parse().ok());
    let kind = a.task.or(saved_task).unwrap_or_else(|| TaskKind::infer(&data.y));
    let split_rng = &mut seeded_rng(a.seed, streams::SPLIT);
    let (train, test) = match a.stratify || kind == TaskKind::MultiClass {
        true => data.split_stratified(a.test_fraction, split_rng),
        false => data.split(a.test_fraction, split_rng),
    };
    let name = a.data_name();
    if train.is_empty() {
        return Err(Failure::Usage(format!("{name}: no sample left for training")));
    }
    // Every target must fit the task (rows numbered as in the data), and the training
    // split must hold every class.
    let fit_task = |y| kind.task_for(y, BinaryLoss::Stable).map_err(|e| Failure::Usage(format!("{name}: {e}")));
    fit_task(&data.y)?;
    let task = fit_task(&train.y)?;
    if let Task::MultiClass { classes } = task {
        // A test label the training data never showed is a class the model lacks.
        if let Some(&l) = test.y.data().iter().find(|&&l| l >= classes as f64) {
            return Err(Failure::Usage(format!(
                "{name}: the test split holds class {l}, which no training sample has (classes 0..{classes})"
            )));
        }
    }
    let standardizer = match (a.no_standardize, loaded.map(|l| saved_standardizer(l, data.x.cols()))) {
        (true, _) => None,
        (false, Some(Some(saved))) => Some(saved?),
        (false, _) => Some(Standardizer::fit(&train.x)),
    };
    let inputs = |d: &Dataset| standardizer.as_ref().map_or_else(|| d.x.clone(), |s| s.apply(&d.x));
    let (train_x, test_x) = (inputs(&train), inputs(&test));

    let mut rng = seeded_rng(a.seed, streams::WEIGHTS);
    let mut model = Sequential::new(data.x.cols());
    match &a.layers {
        Some(spec) => model.push_spec(spec, &a.init.weights(), &mut rng).map_err(Failure::Usage)?,
        None => a.hidden.iter().for_each(|&width| _ = model.dense(width, a.activation, &a.init.weights(), &mut rng)),
    }
    // The hidden layers only: the output layer keeps --output-init.
    let lsuv = match loaded {
        None => a.init.apply(&mut model, &train_x).map_err(Failure::Usage)?,
        Some(_) => None,
    };
    let outputs = match task {
        Task::Binary(_) => 1,
        Task::MultiClass { classes } => classes,
        Task::Regression => train.y.cols(),
    };
    model.dense(outputs, Activation::Identity, &a.output_init, &mut rng);
    model.task = task;
    if let Some(saved) = loaded {
        saved
            .restore_into(&mut model.params)
            .map_err(|e| Failure::Usage(format!("{}: {e}", a.load.as_deref().unwrap_or(Path::new("")).display())))?;
    }

    let mut optimizer: Box<dyn Optimizer> = match a.optimizer {
        OptimizerKind::Gd => Box::new(GradientDescent { lr: a.lr }),
        OptimizerKind::Momentum => Box::new(Momentum::new(a.lr, a.momentum, a.nesterov)),
        OptimizerKind::Adam => Box::new(Adam::with(a.lr, a.beta1, a.beta2, 1e-8, a.weight_decay)),
    };
    let opts = FitOptions { batch_size: a.batch_size, shuffle_seed: a.seed, ..FitOptions::epochs(a.epochs) };
    let start = Instant::now();
    let history = fit(&mut model, &train_x, &train.y, opts, optimizer.as_mut())
        .map_err(|e| Failure::Runtime(format!("training stopped: {e}")))?;
    let train_seconds = start.elapsed().as_secs_f64();
    let train_eval = evaluate(&model, &train_x, &train.y);
    let test_eval = (!test.is_empty()).then(|| evaluate(&model, &test_x, &test.y));
    Ok(Outcome {
        data,
        train,
        test,
        model,
        standardizer,
        costs: history.costs,
        train_eval,
        test_eval,
        train_seconds,
        lsuv,
    })
}

/// The standardisation saved with loaded parameters, if any.
fn saved_standardizer(saved: &SavedParams, features: usize) -> Option<Result<Standardizer, Failure>> {
    let (mean, std) = (saved.metadata.get(MEAN_KEY)?, saved.metadata.get(STD_KEY)?);
    let parse = |s: &str| serde_json::from_str::<Vec<f64>>(s).ok().filter(|v| v.len() == features);
    Some(match (parse(mean), parse(std)) {
        (Some(mean), Some(std)) if std.iter().all(|s| s.is_finite() && *s > 0.0) => Ok(Standardizer { mean, std }),
        _ => Err(Failure::Usage(format!(
            "the saved standardisation does not fit the data ({features} feature columns); use --no-standardize to ignore it"
        ))),
    })
}

fn metadata(a: &TrainArgs, o: &Outcome) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("tapegrad.inputs".into(), o.data.x.cols().to_string());
    m.insert("tapegrad.hidden".into(), hidden_text(a));
    m.insert("tapegrad.task".into(), o.model.task.to_string());
    m.insert("tapegrad.outputs".into(), o.model.outputs().to_string());
    m.insert("tapegrad.activation".into(), a.activation.to_string());
    if let Some(s) = &o.standardizer {
        m.insert(MEAN_KEY.into(), json!(s.mean).to_string());
        m.insert(STD_KEY.into(), json!(s.std).to_string());
    }
    m
}

fn optimizer_name(a: &TrainArgs) -> String {
    match a.optimizer {
        OptimizerKind::Gd => "gd".into(),
        OptimizerKind::Momentum => format!("momentum:{}{}", a.momentum, if a.nesterov { " nesterov" } else { "" }),
        OptimizerKind::Adam if a.weight_decay > 0.0 => {
            format!("adamw:{},{} weight_decay {}", a.beta1, a.beta2, a.weight_decay)
        }
        OptimizerKind::Adam => format!("adam:{},{}", a.beta1, a.beta2),
    }
}

/// The hidden layers as given: the --layers spec, or the --hidden widths.
fn hidden_text(a: &TrainArgs) -> String {
    match &a.layers {
        Some(spec) => spec.clone(),
        None => a.hidden.iter().map(usize::to_string).collect::<Vec<_>>().join(","),
    }
}

/// The run's settings, one line for the data and one for the network and its training.
fn settings(a: &TrainArgs, o: &Outcome) -> [String; 2] {
    let data = format!(
        "{}: {} samples, {} features, {} task; {} for training, {} for testing (test fraction {}){}",
        a.data_name(),
        o.data.len(),
        o.data.x.cols(),
        o.model.task,
        o.train.len(),
        o.test.len(),
        a.test_fraction,
        if o.standardizer.is_some() { ", standardised" } else { ", not standardised" }
    );
    let batch = a.batch_size.map_or("full batch".to_string(), |b| format!("batch size {b}"));
    let hidden = match &a.layers {
        Some(spec) => format!("[{spec}]"),
        None => a.hidden.iter().map(usize::to_string).collect::<Vec<_>>().join("→"),
    };
    let network = format!(
        "network {}→{hidden}→{}, {} hidden init {}, output init {}; {} epochs, {}, lr {}, {batch}",
        o.data.x.cols(),
        o.model.outputs(),
        a.activation,
        a.init,
        a.output_init,
        a.epochs,
        optimizer_name(a),
        a.lr
    );
    [data, network]
}

/// The epochs whose cost is logged: every `--log-every`-th and the last.
fn logged_costs<'a>(a: &TrainArgs, o: &'a Outcome) -> impl Iterator<Item = (usize, f64)> + 'a {
    let (every, last) = (a.log_every, o.costs.len().saturating_sub(1));
    o.costs.iter().copied().enumerate().filter(move |&(epoch, _)| epoch % every == 0 || epoch == last)
}

/// The results table: its header and its one row (percentages, or RMSE and R² for
/// regression, and the training set's cost).
fn results_table(o: &Outcome) -> (Vec<&'static str>, Vec<String>) {
    let (train, test) = (Some(&o.train_eval), o.test_eval.as_ref());
    let cell = |e: Option<&Evaluation>, f: &dyn Fn(&Evaluation) -> String| e.map_or("-".into(), f);
    let pct = |e: Option<&Evaluation>, f: fn(&Evaluation) -> f64| cell(e, &|e| format!("{:.2}", 100.0 * f(e)));
    let cost = format!("{:.4}", o.train_eval.cost);
    match o.model.task {
        Task::Regression => {
            let (rmse, r2) = (
                |e: &Evaluation| format!("{:.4}", e.rmse.unwrap_or(f64::NAN)),
                |e: &Evaluation| format!("{:.4}", e.r2.unwrap_or(f64::NAN)),
            );
            let header = vec!["train RMSE", "test RMSE", "train R²", "test R²", "train cost"];
            (header, vec![cell(train, &rmse), cell(test, &rmse), cell(train, &r2), cell(test, &r2), cost])
        }
        _ => {
            let header = vec!["train acc %", "test acc %", "soft train %", "train cost"];
            (header, vec![pct(train, |e| e.accuracy), pct(test, |e| e.accuracy), pct(train, |e| e.soft_accuracy), cost])
        }
    }
}

/// The confusion matrix of the test set (or the training set without one), as table
/// rows: the true class, its count per predicted class, and its accuracy.
fn confusion_rows(o: &Outcome) -> Option<(String, Vec<String>, Vec<Vec<String>>)> {
    let (which, e) = match &o.test_eval {
        Some(e) => ("test", e),
        None => ("training", &o.train_eval),
    };
    let (confusion, per_class) = (e.confusion.as_ref()?, e.per_class_accuracy()?);
    let mut header = vec!["true \\ predicted".to_string()];
    header.extend((0..confusion.len()).map(|c| c.to_string()));
    header.push("accuracy %".into());
    let rows = confusion
        .iter()
        .zip(per_class)
        .enumerate()
        .map(|(c, (row, acc))| {
            let mut cells = vec![c.to_string()];
            cells.extend(row.iter().map(usize::to_string));
            cells.push(format!("{:.1}", 100.0 * acc));
            cells
        })
        .collect();
    Some((format!("Confusion matrix ({which} set)"), header, rows))
}

fn print_report(a: &TrainArgs, o: &Outcome) {
    for line in settings(a, o) {
        println!("{line}");
    }
    if let Some(path) = &a.load {
        println!("parameters loaded from {}", path.display());
    }
    if let Some(report) = &o.lsuv {
        println!("LSUV on the {} training rows:", o.train.len());
        for l in &report.layers {
            let status = if l.converged { "" } else { "  (not within 0.1 of 1)" };
            println!(
                "  {:<24} variance {:>10} -> {:.4} in {} iterations{status}",
                l.weight,
                super::sci(l.initial_variance),
                l.variance,
                l.iterations
            );
        }
    }
    for (epoch, cost) in logged_costs(a, o) {
        println!("cost after epoch {epoch}: {cost:.16}");
    }
    let (header, row) = results_table(o);
    let line = |cells: &[String]| cells.iter().map(|c| format!("{c:>15}")).collect::<Vec<_>>().join(" ");
    println!("\n{}", line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>()));
    println!("{}", line(&row));
    if let Some((title, header, rows)) = confusion_rows(o) {
        let line = |cells: &[String]| cells.iter().map(|c| format!("{c:>6}")).collect::<Vec<_>>().join(" ");
        println!("\n{title}:\n{}", line(&header));
        rows.iter().for_each(|r| println!("{}", line(r)));
    }
    println!("\ntraining time: {:.3} s", o.train_seconds);
}

/// Writes the run's `index.html`: what the terminal report shows, and the figures.
/// The cost curve and the decision boundary sit side by side.
fn write_page(out: &Path, a: &TrainArgs, o: &Outcome, figures: &[Vec<PathBuf>]) -> Result<PathBuf, Failure> {
    let mut report = page::start("tapegrad train: a classifier on your own data", &format!("Seed {}.", a.seed));
    report.heading("Settings");
    for line in settings(a, o) {
        report.paragraph(line);
    }
    if let Some(path) = &a.load {
        report.paragraph(format!("Parameters loaded from {}.", path.display()));
    }
    if let Some(path) = &a.save {
        report.paragraph(format!("Parameters saved to {}.", path.display()));
    }
    let (header, row) = results_table(o);
    report.heading("Results").table(&header, &[row]);
    if let Some((title, header, rows)) = confusion_rows(o) {
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        report.heading(&title).table(&header, &rows);
    }
    report.paragraph(format!("Training time: {:.3} s.", o.train_seconds));

    report.heading("Cost log");
    match (o.costs.first(), o.costs.last()) {
        (Some(first), Some(last)) => {
            report.paragraph(format!("{} epochs: cost {first:.6} → {last:.6}.", o.costs.len()));
            let rows: Vec<Vec<String>> =
                logged_costs(a, o).map(|(epoch, cost)| vec![epoch.to_string(), format!("{cost:.16}")]).collect();
            report.table(&["epoch", "cost"], &rows)
        }
        _ => report.paragraph("No training in this run (--epochs 0: the loaded parameters evaluated)."),
    };
    page::finish(out, report, figures)
}

fn to_json(a: &TrainArgs, o: &Outcome) -> serde_json::Value {
    let per_class = |e: &Evaluation| e.per_class_accuracy();
    json!({
        "data": a.data_name(),
        "task": o.model.task.to_string(),
        "outputs": o.model.outputs(),
        "samples": o.data.len(),
        "features": o.data.x.cols(),
        "n_train": o.train.len(),
        "n_test": o.test.len(),
        "standardized": o.standardizer.is_some(),
        "hidden": a.layers.is_none().then_some(&a.hidden),
        "layers": a.layers,
        "activation": a.activation.to_string(),
        "init": a.init.to_string(),
        "output_init": a.output_init.to_string(),
        "lsuv": o.lsuv.as_ref().map(LsuvReport::to_json),
        "optimizer": optimizer_name(a),
        "epochs": a.epochs,
        "lr": a.lr,
        "batch_size": a.batch_size,
        "seed": a.seed,
        "costs": o.costs,
        "final_cost": o.costs.last(),
        "train_cost": o.train_eval.cost,
        "train_accuracy": o.train_eval.accuracy,
        "test_accuracy": o.test_eval.as_ref().map(|e| e.accuracy),
        "train_soft_accuracy": o.train_eval.soft_accuracy,
        "test_soft_accuracy": o.test_eval.as_ref().map(|e| e.soft_accuracy),
        "test_cost": o.test_eval.as_ref().map(|e| e.cost),
        "train_per_class_accuracy": per_class(&o.train_eval),
        "test_per_class_accuracy": o.test_eval.as_ref().and_then(per_class),
        "train_confusion": o.train_eval.confusion,
        "test_confusion": o.test_eval.as_ref().and_then(|e| e.confusion.clone()),
        "train_rmse": o.train_eval.rmse,
        "test_rmse": o.test_eval.as_ref().and_then(|e| e.rmse),
        "train_r2": o.train_eval.r2,
        "test_r2": o.test_eval.as_ref().and_then(|e| e.r2),
        "train_seconds": o.train_seconds,
        "loaded": a.load.as_ref().map(|p| p.display().to_string()),
        "saved": a.save.as_ref().map(|p| p.display().to_string()),
    })
}

/// The label and cost history of an earlier run, read from its `train --json` output
/// (a cost that was not finite is `null` there, and NaN here).
fn earlier_costs(path: &Path) -> Result<(String, Vec<f64>), Failure> {
    let bad = |why: String| Failure::Usage(format!("--compare-with {}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let run: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let costs = run["costs"].as_array().filter(|c| !c.is_empty()).ok_or_else(|| {
        bad("no `costs` list: not the output of `tapegrad train --json`, or a run of 0 epochs".into())
    })?;
    let text_of = |key: &str| run[key].as_str().unwrap_or("?").to_string();
    let label = format!("{} init {}", text_of("optimizer"), text_of("init"));
    Ok((label, costs.iter().map(|c| c.as_f64().unwrap_or(f64::NAN)).collect()))
}

/// Writes the cost curve (beside the `earlier` runs' curves) and, for two features, the
/// decision boundary; returns the files written.
fn write_figures(
    out: &Path,
    a: &TrainArgs,
    o: &Outcome,
    earlier: &[(String, Vec<f64>)],
) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    let mut files = Vec::new();
    if !o.costs.is_empty() {
        let mut runs: Vec<(String, &[f64])> = earlier.iter().map(|(label, c)| (label.clone(), &c[..])).collect();
        runs.push((format!("{} init {}", optimizer_name(a), a.init), &o.costs[..]));
        let path = out.join("cost_curve.svg");
        plots::cost_curves(&path, "Cost during training", &runs)?;
        files.push(path);
    }
    if o.data.x.cols() == 2 && matches!(o.model.task, Task::Binary(_)) && first_dense(&o.model).is_some() {
        // The figure is drawn in the data's own coordinates: the standardisation is folded
        // into the first layer (dense, whatever follows it), so the model reads raw points.
        let model = o.standardizer.as_ref().map_or_else(|| o.model.clone(), |s| raw_input_model(&o.model, s));
        let test = o.test_eval.as_ref().map_or(String::new(), |e| format!(", test {:.1} %", 100.0 * e.accuracy));
        let title = format!("train {:.1} %{test}", 100.0 * o.train_eval.accuracy);
        let path = out.join("decision_boundary.svg");
        plots::decision_boundary(&path, &title, &model, &o.train)?;
        files.push(path);
    }
    Ok(files)
}

/// The model's first layer, if it is dense.
fn first_dense(model: &Sequential) -> Option<&Dense> {
    match model.layers().first() {
        Some(Layer::Dense(d)) => Some(d),
        _ => None,
    }
}

/// The model that gives on raw inputs `x` what `model` gives on `s.apply(x)`:
/// `((x - μ)/σ)·W + b = x·W' + b'` with `W'ᵢⱼ = Wᵢⱼ/σᵢ` and `b'ⱼ = bⱼ - Σᵢ μᵢ·W'ᵢⱼ`.
fn raw_input_model(model: &Sequential, s: &Standardizer) -> Sequential {
    let mut raw = model.clone();
    let first = first_dense(model).expect("the first layer is dense");
    let name = |i: usize| model.params.get_index(i).expect("layer parameter").0.to_string();
    let (w_name, b_name) = (name(first.weight_index()), name(first.bias_index()));
    let w = raw.params.get_mut(&w_name).expect("weight");
    let cols = w.cols();
    for (i, row) in w.data_mut().chunks_exact_mut(cols).enumerate() {
        row.iter_mut().for_each(|v| *v /= s.std[i]);
    }
    let w = w.clone();
    let b = raw.params.get_mut(&b_name).expect("bias");
    for (j, bj) in b.data_mut().iter_mut().enumerate() {
        *bj -= (0..w.rows()).map(|i| s.mean[i] * w.get(i, j)).sum::<f64>();
    }
    raw
}
