//! The classic initialization experiment: a 2 → 12 ReLU → 6 ReLU → 1 sigmoid network
//! trained on `make_moons` (400 training and 100 test points, noise 0.2) by full-batch
//! gradient descent (lr 0.01, 15 000 epochs), with the hidden layers initialized by the
//! initializer under study and the output layer by a standard normal.

use std::time::Instant;

use crate::data::{Dataset, Noise, make_moons};
use crate::init::{Init, Initializer, seeded_rng, streams};
use crate::nn::{Activation, BinaryLoss, Sequential, Task};
use crate::optim::GradientDescent;
use crate::train::{Evaluation, FitOptions, History, Step, TrainError, evaluate, fit_with};

/// Widths of the reference network, input first.
pub const LAYERS: [usize; 4] = [2, 12, 6, 1];

/// Everything that defines one run except the initializer and the seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setup {
    /// Training epochs.
    pub epochs: usize,
    /// Learning rate of gradient descent.
    pub lr: f64,
    /// Initializer of the output layer.
    pub output_init: Init,
    /// Loss form.
    pub loss: BinaryLoss,
    /// Training set size.
    pub n_train: usize,
    /// Test set size.
    pub n_test: usize,
    /// Noise of `make_moons`.
    pub noise: f64,
    /// Stop at the first non-finite value.
    pub detect_anomaly: bool,
}

impl Default for Setup {
    /// The reference experiment.
    fn default() -> Setup {
        Setup {
            epochs: 15_000,
            lr: 0.01,
            output_init: Init::Normal(1.0),
            loss: BinaryLoss::Stable,
            n_train: 400,
            n_test: 100,
            noise: 0.2,
            detect_anomaly: false,
        }
    }
}

/// The training and test sets of a seed: `make_moons` drawn twice from one stream.
pub fn moons(setup: &Setup, seed: u64) -> (Dataset, Dataset) {
    let mut rng = seeded_rng(seed, streams::DATA);
    let noise = Noise { std: setup.noise, shuffle: true };
    let train = make_moons(setup.n_train, noise, &mut rng);
    let test = make_moons(setup.n_test, noise, &mut rng);
    (train, test)
}

/// The reference network with `hidden` initializing both hidden layers, seeded.
pub fn network(hidden: &dyn Initializer, setup: &Setup, seed: u64) -> Sequential {
    let mut rng = seeded_rng(seed, streams::WEIGHTS);
    let mut model = Sequential::new(LAYERS[0]);
    model.dense(LAYERS[1], Activation::Relu, hidden, &mut rng);
    model.dense(LAYERS[2], Activation::Relu, hidden, &mut rng);
    model.dense(LAYERS[3], Activation::Identity, &setup.output_init, &mut rng);
    model.task = Task::Binary(setup.loss);
    model
}

/// The outcome of one training run.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The initializer of the hidden layers.
    pub init: Init,
    /// The seed of the data and the weights.
    pub seed: u64,
    /// The cost at every epoch.
    pub history: History,
    /// Metrics on the training set after training.
    pub train: Evaluation,
    /// Metrics on the test set after training.
    pub test: Evaluation,
    /// Wall-clock seconds spent in training (not data or evaluation).
    pub train_seconds: f64,
    /// The trained model.
    pub model: Sequential,
}

/// Trains the reference network once.
pub fn run(init: Init, seed: u64, setup: &Setup) -> Result<Run, TrainError> {
    run_with(init, seed, setup, |_| {})
}

/// Trains the reference network once, letting `observe` see every epoch (see
/// [`fit_with`]), such as a recorder of training diagnostics.
pub fn run_with(init: Init, seed: u64, setup: &Setup, observe: impl FnMut(&Step<'_, '_>)) -> Result<Run, TrainError> {
    let (train_set, test_set) = moons(setup, seed);
    let mut model = network(&init, setup, seed);
    let opts = FitOptions { detect_anomaly: setup.detect_anomaly, ..FitOptions::epochs(setup.epochs) };
    let start = Instant::now();
    let mut optimizer = GradientDescent { lr: setup.lr };
    let history = fit_with(&mut model, &train_set.x, &train_set.y, opts, &mut optimizer, observe)?;
    let train_seconds = start.elapsed().as_secs_f64();
    let train = evaluate(&model, &train_set.x, &train_set.y);
    let test = evaluate(&model, &test_set.x, &test_set.y);
    Ok(Run { init, seed, history, train, test, train_seconds, model })
}
