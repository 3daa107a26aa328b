//! Training and evaluation of a [`Sequential`] binary classifier.

use std::fmt;

use crate::nn::Sequential;
use crate::optim::Optimizer;
use crate::params::ParamVars;
use crate::tape::{Anomaly, Gradients, Tape};
use crate::tensor::Tensor;

/// How [`fit`] trains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions {
    /// Number of passes over the data (each one full-batch gradient step).
    pub epochs: usize,
    /// Stop at the first non-finite value in a forward value or a gradient, and report
    /// the op that made it.
    pub detect_anomaly: bool,
}

impl FitOptions {
    /// Full-batch training for `epochs`, without anomaly checks.
    pub fn epochs(epochs: usize) -> FitOptions {
        FitOptions { epochs, detect_anomaly: false }
    }
}

/// The cost before each epoch's update, in order (`costs[0]` is the cost at
/// initialization).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One cost per epoch.
    pub costs: Vec<f64>,
}

impl History {
    /// The cost of the last epoch.
    pub fn last(&self) -> Option<f64> {
        self.costs.last().copied()
    }
}

/// What an observer of [`fit_with`] sees at each epoch, before the update.
pub struct Step<'a, 't> {
    /// Epoch number, from 0.
    pub epoch: usize,
    /// The cost before this epoch's update.
    pub cost: f64,
    /// The model, with its parameters before the update.
    pub model: &'a Sequential,
    /// The parameters as leaves on this epoch's tape, in store order.
    pub params: &'a ParamVars<'t>,
    /// This epoch's gradients; `grads.wrt(params[i])` is the gradient of parameter `i`.
    pub grads: &'a Gradients<'t>,
    /// The optimizer's learning rate.
    pub lr: f64,
}

/// Why training stopped early.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainError {
    /// A non-finite value appeared (with [`FitOptions::detect_anomaly`] on).
    NonFinite {
        /// The epoch it appeared in.
        epoch: usize,
        /// Where it appeared.
        anomaly: Box<Anomaly>,
        /// The costs of the epochs before.
        history: History,
    },
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::NonFinite { epoch, anomaly, .. } => write!(f, "epoch {epoch}: {anomaly}"),
        }
    }
}

impl std::error::Error for TrainError {}

/// Trains `model` on `(x, y)` with `optimizer`; see [`fit_with`].
pub fn fit(
    model: &mut Sequential,
    x: &Tensor,
    y: &Tensor,
    opts: FitOptions,
    optimizer: &mut dyn Optimizer,
) -> Result<History, TrainError> {
    fit_with(model, x, y, opts, optimizer, |_| {})
}

/// Trains `model` on `(x, y)`: each epoch records the forward pass on one reused tape,
/// back-propagates the loss and lets `optimizer` update every parameter. `observe` sees
/// each epoch's cost and gradients before the update. Once warm, an epoch allocates
/// nothing.
pub fn fit_with(
    model: &mut Sequential,
    x: &Tensor,
    y: &Tensor,
    opts: FitOptions,
    optimizer: &mut dyn Optimizer,
    mut observe: impl FnMut(&Step<'_, '_>),
) -> Result<History, TrainError> {
    let mut history = History { costs: Vec::with_capacity(opts.epochs) };
    let mut tape = Tape::new();
    for epoch in 0..opts.epochs {
        tape.reset();
        tape.detect_anomaly(opts.detect_anomaly);
        let params = model.params.leaves(&tape);
        let logits = model.forward_with(&params, tape.constant_from(x));
        let loss = model.loss(logits, y);
        let cost = loss.item();
        let grads = loss.backward();
        if let Some(anomaly) = tape.anomaly() {
            return Err(TrainError::NonFinite { epoch, anomaly: Box::new(anomaly), history });
        }
        history.costs.push(cost);
        let lr = optimizer.learning_rate();
        observe(&Step { epoch, cost, model, params: &params, grads: &grads, lr });
        optimizer.begin_step();
        for (i, (name, value)) in model.params.iter_mut().enumerate() {
            optimizer.update(name, value, grads.wrt(params[i]));
        }
    }
    Ok(history)
}

/// How well a binary classifier does on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Fraction of samples whose probability, thresholded at 0.5 (`p > 0.5` means 1),
    /// gives the right label.
    pub accuracy: f64,
    /// `1 - mean|y - p|` on the unthresholded probabilities: the "accuracy" that some
    /// write-ups of the classic experiment reported.
    pub soft_accuracy: f64,
    /// The model's loss.
    pub cost: f64,
}

/// Evaluates `model` on `(x, y)`.
pub fn evaluate(model: &Sequential, x: &Tensor, y: &Tensor) -> Evaluation {
    let tape = Tape::new();
    let logits = model.forward(&tape, tape.constant_from(x));
    let cost = model.loss(logits, y).item();
    let p = logits.sigmoid().value();
    let n = y.len() as f64;
    let pairs = || p.data().iter().zip(y.data());
    let correct = pairs().filter(|&(&p, &y)| (p > 0.5) == (y > 0.5)).count();
    let soft = 1.0 - pairs().map(|(p, y)| (y - p).abs()).sum::<f64>() / n;
    Evaluation { accuracy: correct as f64 / n, soft_accuracy: soft, cost }
}
