//! Training and evaluation of a [`Sequential`] binary classifier.

use std::fmt;

use rand::seq::SliceRandom;

use crate::init::{SeededRng, seeded_rng, streams};
use crate::nn::{Sequential, Task};
use crate::optim::Optimizer;
use crate::params::ParamVars;
use crate::tape::{Anomaly, Gradients, Tape};
use crate::tensor::Tensor;

/// How [`fit`] trains.
///
/// ```
/// use tapegrad::train::FitOptions;
/// let full = FitOptions::epochs(100);
/// let mini = FitOptions { batch_size: Some(32), shuffle_seed: 7, ..FitOptions::epochs(100) };
/// assert_eq!(full.batch_size, None);
/// assert_eq!(mini.epochs, 100);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions {
    /// Number of passes over the data.
    pub epochs: usize,
    /// Stop at the first non-finite value in a forward value or a gradient, and report
    /// the op that made it.
    pub detect_anomaly: bool,
    /// Samples per gradient step. `None` (or a size of at least the number of samples)
    /// is full-batch training: one step per epoch on the data in its given order.
    /// `Some(b)` shuffles the samples every epoch and takes one step per batch of `b`
    /// (the last batch holds the rest).
    pub batch_size: Option<usize>,
    /// Seed of the per-epoch shuffle (drawn from its own stream, [`streams::SHUFFLE`]).
    pub shuffle_seed: u64,
}

impl FitOptions {
    /// Full-batch training for `epochs`, without anomaly checks.
    pub fn epochs(epochs: usize) -> FitOptions {
        FitOptions { epochs, detect_anomaly: false, batch_size: None, shuffle_seed: 0 }
    }
}

/// The cost before each epoch's update, in order (`costs[0]` is the cost at
/// initialization). With mini-batches, an epoch's cost is the mean of its batches'
/// costs (each taken before that batch's update), weighted by batch size.
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

/// What an observer of [`fit_with`] sees at each step, before the update: once per
/// epoch in full-batch training, once per batch with mini-batches.
pub struct Step<'a, 't> {
    /// Epoch number, from 0.
    pub epoch: usize,
    /// Batch number within the epoch, from 0 (always 0 in full-batch training).
    pub batch: usize,
    /// The cost before this step's update (of this batch, with mini-batches).
    pub cost: f64,
    /// The model, with its parameters before the update.
    pub model: &'a Sequential,
    /// The parameters as leaves on this step's tape, in store order.
    pub params: &'a ParamVars<'t>,
    /// This step's gradients; `grads.wrt(params[i])` is the gradient of parameter `i`.
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
    /// The targets do not fit the model's task (the message says why); nothing was
    /// trained.
    Targets(String),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::NonFinite { epoch, anomaly, .. } => write!(f, "epoch {epoch}: {anomaly}"),
            TrainError::Targets(why) => write!(f, "the targets do not fit the task: {why}"),
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

/// Trains `model` on `(x, y)`: each step records the forward pass on one reused tape,
/// back-propagates the loss and lets `optimizer` update every parameter. `observe` sees
/// each step's cost and gradients before the update. Once warm, an epoch allocates
/// nothing (mini-batches are gathered into reused buffers).
///
/// # Panics
/// If `x` has no rows (every cost would be NaN), `x` and `y` have different numbers of
/// rows, or `opts.batch_size` is `Some(0)`.
pub fn fit_with(
    model: &mut Sequential,
    x: &Tensor,
    y: &Tensor,
    opts: FitOptions,
    optimizer: &mut dyn Optimizer,
    mut observe: impl FnMut(&Step<'_, '_>),
) -> Result<History, TrainError> {
    let n = x.rows();
    assert!(n > 0, "fit: no samples to train on (x has 0 rows)");
    assert!(n == y.rows(), "fit: x is {}x{} but y is {}x{} (one label per row)", n, x.cols(), y.rows(), y.cols());
    assert!(opts.batch_size != Some(0), "fit: batch_size must be at least 1");
    if let Err(why) = model.task.check_targets(y, model.outputs()) {
        return Err(TrainError::Targets(why));
    }
    let mut history = History { costs: Vec::with_capacity(opts.epochs) };
    let mut tape = Tape::new();
    let mut dropout = seeded_rng(opts.shuffle_seed, streams::DROPOUT);
    let batch_size = match opts.batch_size {
        Some(b) if b < n => b,
        _ => {
            for epoch in 0..opts.epochs {
                match step(model, x, y, (&mut tape, &mut dropout), opts, optimizer, &mut observe, (epoch, 0)) {
                    Ok(cost) => history.costs.push(cost),
                    Err(anomaly) => return Err(TrainError::NonFinite { epoch, anomaly: Box::new(anomaly), history }),
                }
            }
            return Ok(history);
        }
    };
    let mut rng = seeded_rng(opts.shuffle_seed, streams::SHUFFLE);
    let mut order: Vec<usize> = (0..n).collect();
    let (mut xb, mut yb) = (Tensor::zeros(batch_size, x.cols()), Tensor::zeros(batch_size, y.cols()));
    for epoch in 0..opts.epochs {
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for (batch, rows) in order.chunks(batch_size).enumerate() {
            x.select_rows_into(rows, &mut xb);
            y.select_rows_into(rows, &mut yb);
            match step(model, &xb, &yb, (&mut tape, &mut dropout), opts, optimizer, &mut observe, (epoch, batch)) {
                Ok(cost) => total += cost * rows.len() as f64,
                Err(anomaly) => return Err(TrainError::NonFinite { epoch, anomaly: Box::new(anomaly), history }),
            }
        }
        history.costs.push(total / n as f64);
    }
    Ok(history)
}

/// One gradient step on `(x, y)`; returns the cost before the update, or where the
/// first non-finite value appeared (then nothing is updated).
#[allow(clippy::too_many_arguments)]
fn step(
    model: &mut Sequential,
    x: &Tensor,
    y: &Tensor,
    (tape, rng): (&mut Tape, &mut SeededRng),
    opts: FitOptions,
    optimizer: &mut dyn Optimizer,
    observe: &mut impl FnMut(&Step<'_, '_>),
    (epoch, batch): (usize, usize),
) -> Result<f64, Anomaly> {
    tape.reset();
    tape.detect_anomaly(opts.detect_anomaly);
    let params = model.params.leaves(tape);
    let logits = model.forward_train(&params, tape.constant_from(x), rng);
    let loss = model.loss(logits, y);
    let cost = loss.item();
    let grads = loss.backward();
    if let Some(anomaly) = tape.anomaly() {
        return Err(anomaly);
    }
    let lr = optimizer.learning_rate();
    observe(&Step { epoch, batch, cost, model, params: &params, grads: &grads, lr });
    optimizer.step(&mut model.params, &params, &grads);
    Ok(cost)
}

/// How well a model does on a data set, by what its task measures.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Classification: the fraction of samples predicted right (binary: the probability
    /// thresholded at 0.5, `p > 0.5` meaning 1; multi-class: the most probable class,
    /// the first on ties). NaN for regression.
    pub accuracy: f64,
    /// Binary: `1 - mean|y - p|` on the unthresholded probabilities, the "accuracy" that
    /// some write-ups of the classic experiment reported. Multi-class: the mean
    /// probability given to the true class. NaN for regression.
    pub soft_accuracy: f64,
    /// The model's loss.
    pub cost: f64,
    /// Multi-class: `confusion[true][predicted]` counts samples.
    pub confusion: Option<Vec<Vec<usize>>>,
    /// Regression: the root of the mean squared error over all outputs.
    pub rmse: Option<f64>,
    /// Regression: the coefficient of determination, `1 - SS_res / SS_tot` over all
    /// outputs (each column's variance about its own mean).
    pub r2: Option<f64>,
}

impl Evaluation {
    /// Multi-class: each class's accuracy (the fraction of its samples predicted right;
    /// NaN for a class with none).
    pub fn per_class_accuracy(&self) -> Option<Vec<f64>> {
        let confusion = self.confusion.as_ref()?;
        let row = |i: usize, r: &Vec<usize>| r[i] as f64 / r.iter().sum::<usize>() as f64;
        Some(confusion.iter().enumerate().map(|(i, r)| row(i, r)).collect())
    }
}

/// Evaluates `model` on `(x, y)`, in evaluation mode.
///
/// # Panics
/// If `y` is empty (the accuracy of no samples is undefined) or does not fit the task.
pub fn evaluate(model: &Sequential, x: &Tensor, y: &Tensor) -> Evaluation {
    assert!(!y.is_empty(), "evaluate: no samples to evaluate on (y is {}x{})", y.rows(), y.cols());
    if let Err(why) = model.task.check_targets(y, model.outputs()) {
        panic!("evaluate: the targets do not fit the task: {why}");
    }
    let tape = Tape::new();
    let logits = model.forward(&tape, tape.constant_from(x));
    let cost = model.loss(logits, y).item();
    let p = model.task.predict(logits).value();
    let n = y.len() as f64;
    let none = Evaluation { accuracy: f64::NAN, soft_accuracy: f64::NAN, cost, confusion: None, rmse: None, r2: None };
    match model.task {
        Task::Binary(_) => {
            let pairs = || p.data().iter().zip(y.data());
            let correct = pairs().filter(|&(&p, &y)| (p > 0.5) == (y > 0.5)).count();
            let soft = 1.0 - pairs().map(|(p, y)| (y - p).abs()).sum::<f64>() / n;
            Evaluation { accuracy: correct as f64 / n, soft_accuracy: soft, ..none }
        }
        Task::MultiClass { classes } => {
            let mut confusion = vec![vec![0; classes]; classes];
            let mut soft = 0.0;
            for (i, &label) in y.data().iter().enumerate() {
                let row = p.row(i);
                let best = (0..classes).fold(0, |b, j| if row[j] > row[b] { j } else { b });
                confusion[label as usize][best] += 1;
                soft += row[label as usize];
            }
            let correct: usize = (0..classes).map(|c| confusion[c][c]).sum();
            Evaluation { accuracy: correct as f64 / n, soft_accuracy: soft / n, confusion: Some(confusion), ..none }
        }
        Task::Regression => {
            let (rows, cols) = y.shape();
            let residual: f64 = p.data().iter().zip(y.data()).map(|(p, y)| (p - y) * (p - y)).sum();
            let total: f64 = (0..cols)
                .map(|c| {
                    let mean = (0..rows).map(|r| y.get(r, c)).sum::<f64>() / rows as f64;
                    (0..rows).map(|r| (y.get(r, c) - mean).powi(2)).sum::<f64>()
                })
                .sum();
            Evaluation { rmse: Some((residual / n).sqrt()), r2: Some(1.0 - residual / total), ..none }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Noise, make_moons};
    use crate::init::Init;
    use crate::nn::Activation;
    use crate::optim::GradientDescent;

    fn setup() -> (Sequential, Tensor, Tensor) {
        let data = make_moons(30, Noise { std: 0.2, shuffle: true }, &mut seeded_rng(0, 0));
        let mut rng = seeded_rng(0, 1);
        let mut model = Sequential::new(2);
        model.dense(5, Activation::Relu, &Init::HeNormal, &mut rng);
        model.dense(1, Activation::Identity, &Init::Normal(1.0), &mut rng);
        (model, data.x, data.y)
    }

    #[test]
    fn full_batch_is_the_plain_loop_bit_for_bit() {
        let (mut a, x, y) = setup();
        let mut b = a.clone();
        let history = fit(&mut a, &x, &y, FitOptions::epochs(20), &mut GradientDescent { lr: 0.1 }).unwrap();
        // The plain full-batch loop, written out.
        let mut costs = Vec::new();
        let mut tape = Tape::new();
        for _ in 0..20 {
            tape.reset();
            let params = b.params.leaves(&tape);
            let loss = b.loss(b.forward_with(&params, tape.constant_from(&x)), &y);
            costs.push(loss.item());
            let grads = loss.backward();
            for (i, (_, value)) in b.params.iter_mut().enumerate() {
                value.data_mut().iter_mut().zip(grads.wrt(params[i]).data()).for_each(|(p, g)| *p -= 0.1 * g);
            }
        }
        assert_eq!(history.costs, costs);
        assert_eq!(a, b);
        // A batch at least as large as the data is full-batch training too.
        let (mut c, ..) = setup();
        let opts = FitOptions { batch_size: Some(30), shuffle_seed: 9, ..FitOptions::epochs(20) };
        assert_eq!(fit(&mut c, &x, &y, opts, &mut GradientDescent { lr: 0.1 }).unwrap(), history);
        assert_eq!(c, a);
    }

    #[test]
    fn mini_batches_take_one_step_per_batch_and_weight_the_epoch_cost() {
        let (mut model, x, y) = setup();
        let opts = FitOptions { batch_size: Some(8), shuffle_seed: 1, ..FitOptions::epochs(3) };
        let mut seen = Vec::new();
        let history = fit_with(&mut model, &x, &y, opts, &mut GradientDescent { lr: 0.1 }, |s| {
            seen.push((s.epoch, s.batch, s.cost))
        })
        .unwrap();
        // 30 samples in batches of 8: 8, 8, 8 and 6.
        assert_eq!(seen.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>()[..5], [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]);
        assert_eq!(seen.len(), 12);
        for epoch in 0..3 {
            let c: Vec<f64> = seen.iter().filter(|s| s.0 == epoch).map(|s| s.2).collect();
            let want = (8.0 * (c[0] + c[1] + c[2]) + 6.0 * c[3]) / 30.0;
            assert!((history.costs[epoch] - want).abs() < 1e-15);
        }
    }

    #[test]
    fn the_shuffle_is_seeded() {
        let run = |seed| {
            let (mut model, x, y) = setup();
            let opts = FitOptions { batch_size: Some(4), shuffle_seed: seed, ..FitOptions::epochs(5) };
            fit(&mut model, &x, &y, opts, &mut GradientDescent { lr: 0.1 }).unwrap();
            model
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    #[should_panic(expected = "fit: no samples to train on")]
    fn training_on_no_samples_is_a_clear_panic() {
        let (mut model, ..) = setup();
        let _ = fit(
            &mut model,
            &Tensor::zeros(0, 2),
            &Tensor::zeros(0, 1),
            FitOptions::epochs(1),
            &mut GradientDescent { lr: 0.1 },
        );
    }

    #[test]
    #[should_panic(expected = "evaluate: no samples to evaluate on")]
    fn evaluating_on_no_samples_is_a_clear_panic() {
        let (model, ..) = setup();
        evaluate(&model, &Tensor::zeros(0, 2), &Tensor::zeros(0, 1));
    }

    #[test]
    #[should_panic(expected = "fit: batch_size must be at least 1")]
    fn a_zero_batch_size_is_a_clear_panic() {
        let (mut model, x, y) = setup();
        let opts = FitOptions { batch_size: Some(0), ..FitOptions::epochs(1) };
        let _ = fit(&mut model, &x, &y, opts, &mut GradientDescent { lr: 0.1 });
    }
}
