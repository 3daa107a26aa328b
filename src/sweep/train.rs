//! The `train` cell: a classifier trained on the moons or the digits, as `tapegrad
//! train` would (standardised inputs, a seeded split, stratified for the digits), with
//! the final cost and the train and test accuracy as results, and with a `target_cost`
//! how many epochs the cost took to fall to it. `sw2 > 0` draws the hidden
//! weights `N(0, sw2 / fan_in)` instead of `init`, and `sb2` the hidden biases
//! `N(0, sb2)`: the mean-field parameters, as `tapegrad depth --sw2 --sb2` takes them.

use super::Cell;
use crate::data::{Dataset, Noise, Standardizer, digits, make_moons};
use crate::init::{Init, seeded_rng, streams};
use crate::nn::{Activation, BinaryLoss, Sequential, TaskKind};
use crate::optim::{Adam, GradientDescent, Momentum, Optimizer};
use crate::train::{FitOptions, evaluate, fit};

/// What one training cell produced.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainResult {
    /// The training cost before the last update (NaN if training stopped).
    pub cost: f64,
    /// Accuracy on the training split.
    pub train_accuracy: f64,
    /// Accuracy on the test split (NaN when it is empty).
    pub test_accuracy: f64,
    /// The number of epochs after which the training cost was first at most
    /// `target_cost` (0 if it started there): `None` without a target (a `target_cost`
    /// of 0), `Some(None)` if the cost never reached it.
    pub epochs_to_target: Option<Option<usize>>,
    /// Why training stopped early, if it did (a non-finite cost).
    pub error: Option<String>,
}

impl TrainResult {
    /// The results as JSON (non-finite numbers as `null`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "cost": self.cost, "train_accuracy": self.train_accuracy, "test_accuracy": self.test_accuracy,
        });
        if let Some(epochs) = self.epochs_to_target {
            v["epochs_to_target"] = epochs.into();
        }
        if let Some(e) = &self.error {
            v["error"] = e.clone().into();
        }
        v
    }
}

/// Parses hidden widths such as `12,6` (an empty string is no hidden layer).
pub(super) fn parse_widths(s: &str) -> Result<Vec<usize>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| match w.parse::<usize>() {
            Ok(n @ 1..=100_000) => Ok(n),
            _ => Err(format!("`{w}` is not a width from 1 to 100000")),
        })
        .collect()
}

/// Runs a `train` cell.
///
/// # Panics
/// If the cell's settings were not checked by [`super::Sweep::parse`].
pub fn train(cell: &Cell) -> TrainResult {
    let seed = cell.int("seed");
    let data = match cell.str("dataset") {
        "digits" => digits(),
        _ => {
            let noise = Noise { std: cell.float("noise"), shuffle: true };
            make_moons(cell.int("samples") as usize, noise, &mut seeded_rng(seed, streams::DATA))
        }
    };
    let kind = TaskKind::infer(&data.y);
    let split = &mut seeded_rng(seed, streams::SPLIT);
    let (train, test) = match kind {
        TaskKind::MultiClass => data.split_stratified(cell.float("test_fraction"), split),
        _ => data.split(cell.float("test_fraction"), split),
    };
    let task = kind.task_for(&train.y, BinaryLoss::Stable).expect("train cell: built-in data fits its task");
    let standardizer = Standardizer::fit(&train.x);
    let (train_x, test_x) = (standardizer.apply(&train.x), standardizer.apply(&test.x));

    let parse_init = |k: &str| cell.str(k).parse::<Init>().expect("train cell: init checked when parsed");
    let act: Activation = cell.str("activation").parse().expect("train cell: activation checked when parsed");
    let mut rng = seeded_rng(seed, streams::WEIGHTS);
    let mut model = Sequential::new(data.x.cols());
    let init = match cell.float("sw2") {
        sw2 if sw2 > 0.0 => Init::VarianceScaling(sw2),
        _ => parse_init("init"),
    };
    let bias = match cell.float("sb2") {
        sb2 if sb2 > 0.0 => Init::Normal(sb2.sqrt()),
        _ => Init::Zeros,
    };
    let (width, depth) = (cell.int("width") as usize, cell.int("depth") as usize);
    if !cell.str("layers").is_empty() {
        model.push_spec(cell.str("layers"), &init, &mut rng).expect("train cell: layers checked when parsed");
    } else {
        let widths = if width > 0 { vec![width; depth] } else { parse_widths(cell.str("hidden")).unwrap_or_default() };
        widths.iter().for_each(|&w| _ = model.dense_with_bias(w, act, &init, &bias, &mut rng));
    }
    let outputs = match task {
        crate::nn::Task::MultiClass { classes } => classes,
        _ => 1,
    };
    model.dense(outputs, Activation::Identity, &parse_init("output_init"), &mut rng);
    model.task = task;

    let lr = cell.float("lr");
    let mut optimizer: Box<dyn Optimizer> = match cell.str("optimizer") {
        "momentum" => Box::new(Momentum::new(lr, 0.9, false)),
        "adam" => Box::new(Adam::new(lr)),
        _ => Box::new(GradientDescent { lr }),
    };
    let batch = cell.int("batch_size") as usize;
    let opts = FitOptions {
        batch_size: (batch > 0).then_some(batch),
        shuffle_seed: seed,
        ..FitOptions::epochs(cell.int("epochs") as usize)
    };
    let target = cell.float("target_cost");
    let (cost, error, reached) = match fit(&mut model, &train_x, &train.y, opts, optimizer.as_mut()) {
        // `costs[k]` is the cost after k updates.
        Ok(h) => (h.last().unwrap_or(f64::NAN), None, h.costs.iter().position(|&c| c <= target)),
        Err(e) => (f64::NAN, Some(e.to_string()), None),
    };
    let epochs_to_target = (target > 0.0).then_some(reached);
    let accuracy = |x, d: &Dataset| if d.is_empty() { f64::NAN } else { evaluate(&model, x, &d.y).accuracy };
    let (train_accuracy, test_accuracy) = (accuracy(&train_x, &train), accuracy(&test_x, &test));
    TrainResult { cost, train_accuracy, test_accuracy, epochs_to_target, error }
}
