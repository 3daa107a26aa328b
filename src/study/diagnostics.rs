//! Training diagnostics: at each log point of a run, per layer, the statistics that show
//! whether an initialization lets the network learn — activation mean and spread, dead
//! ReLUs, how many units are still copies of each other, gradient norm and the
//! update-to-data ratio.
//!
//! ```
//! use tapegrad::experiment::{Setup, moons, network};
//! use tapegrad::init::Init;
//! use tapegrad::prelude::*;
//! use tapegrad::study::diagnostics::Recorder;
//!
//! let setup = Setup { n_train: 40, ..Setup::default() };
//! let (train, _) = moons(&setup, 0);
//! let mut model = network(&Init::Zeros, &setup, 0);
//! let mut recorder = Recorder::new(train.x.clone(), 5, 10);
//! let opts = FitOptions::epochs(10);
//! fit_with(&mut model, &train.x, &train.y, opts, &mut GradientDescent { lr: 0.01 }, |s| recorder.observe(s)).unwrap();
//! let epochs: Vec<usize> = recorder.records().iter().map(|r| r.epoch).collect();
//! assert_eq!(epochs, [0, 5, 9]);
//! // Zero initialization: all 12 units of the first layer are one unit, repeated.
//! assert_eq!(recorder.records()[2].layers[0].distinct_units, Some(1));
//! ```

use crate::nn::{Layer, Sequential};
use crate::stats::mean_std;
use crate::study::trace;
use crate::tape::Tape;
use crate::tensor::Tensor;
use crate::train::Step;

/// Two units whose incoming weights and bias differ by at most this are the same unit.
pub const SYMMETRY_TOLERANCE: f64 = 1e-12;

/// One layer's statistics at one log point.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerDiagnostics {
    /// Layer number, from 0, in the order of [`Sequential::forward_trace`].
    pub layer: usize,
    /// The layer's name (`dense0`, `batchnorm1`, `residual3.dense0`, ...).
    pub name: String,
    /// Mean of the layer's outputs (after its activation) over samples and units.
    pub activation_mean: f64,
    /// Standard deviation of the layer's outputs over samples and units.
    pub activation_std: f64,
    /// For ReLU outputs, the fraction of units that output 0 on every sample.
    pub dead_fraction: Option<f64>,
    /// For dense layers, the number of units left once units with identical incoming
    /// weights and bias (up to [`SYMMETRY_TOLERANCE`]) are counted as one.
    pub distinct_units: Option<usize>,
    /// Number of units (the width of the output).
    pub units: usize,
    /// L2 norm of the gradient of the layer's weights ([`crate::nn::Traced::weights`],
    /// taken together); `None` for a layer without weights.
    pub grad_norm: Option<f64>,
    /// `‖lr·g‖ / ‖W‖` for the same weights: how far one step moves them, relative to
    /// their size (0 when both are 0, infinite when only the weights are 0).
    pub update_ratio: Option<f64>,
}

/// The statistics of every layer at one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The epoch, from 0.
    pub epoch: usize,
    /// The cost at that epoch, before its update (of its first batch, with mini-batches).
    pub cost: f64,
    /// One entry per layer, in order.
    pub layers: Vec<LayerDiagnostics>,
}

/// L2 norm of several tensors' entries taken together.
fn norm<'a>(tensors: impl Iterator<Item = &'a Tensor>) -> f64 {
    tensors.flat_map(Tensor::data).map(|x| x * x).sum::<f64>().sqrt()
}

/// Measures every layer of `model` (run by [`trace`]) on inputs `x`, given the
/// gradient of every parameter (in store order) and the learning rate. The activations
/// are computed on a tape of their own.
///
/// # Panics
/// If `grads` does not hold one gradient per parameter.
pub fn measure(model: &Sequential, x: &Tensor, grads: &[&Tensor], lr: f64) -> Vec<LayerDiagnostics> {
    assert_eq!(grads.len(), model.params.len(), "measure: one gradient per parameter");
    let tape = Tape::new();
    let (_, trace) = trace(model, &tape, x);
    let value = |i: usize| model.params.get_index(i).expect("the layer's parameter is in the store").1;
    trace
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let a = l.output.value();
            let (mean, std) = mean_std(a.data());
            let dead_fraction = l.is_relu().then(|| {
                let dead = (0..a.cols()).filter(|&j| (0..a.rows()).all(|r| a.get(r, j) == 0.0)).count();
                dead as f64 / a.cols() as f64
            });
            let distinct_units = match l.layer {
                Layer::Dense(d) => {
                    Some(distinct_units(value(d.weight_index()), value(d.bias_index()), SYMMETRY_TOLERANCE))
                }
                _ => None,
            };
            let (grad_norm, update_ratio) = match l.weights.is_empty() {
                true => (None, None),
                false => {
                    let g = norm(l.weights.iter().map(|&w| grads[w]));
                    let (w_norm, step) = (norm(l.weights.iter().map(|&w| value(w))), lr * g);
                    let ratio = if w_norm > 0.0 {
                        step / w_norm
                    } else if step == 0.0 {
                        0.0
                    } else {
                        f64::INFINITY
                    };
                    (Some(g), Some(ratio))
                }
            };
            LayerDiagnostics {
                layer: i,
                name: l.name.clone(),
                activation_mean: mean,
                activation_std: std,
                dead_fraction,
                distinct_units,
                units: a.cols(),
                grad_norm,
                update_ratio,
            }
        })
        .collect()
}

/// Number of distinct units of a dense layer: units `j` and `k` are the same when every
/// entry of weight columns `j` and `k` and of biases `j` and `k` differ by at most `tol`.
pub fn distinct_units(weight: &Tensor, bias: &Tensor, tol: f64) -> usize {
    let unit = |j: usize| (0..weight.rows()).map(move |r| weight.get(r, j)).chain(std::iter::once(bias.get(0, j)));
    let mut representatives: Vec<usize> = Vec::new();
    for j in 0..weight.cols() {
        if !representatives.iter().any(|&k| unit(j).zip(unit(k)).all(|(a, b)| (a - b).abs() <= tol)) {
            representatives.push(j);
        }
    }
    representatives.len()
}

/// Records [`Record`]s during [`crate::train::fit_with`]: pass `|s| recorder.observe(s)`
/// as the observer. Log points are every `every` epochs and the last epoch; with
/// mini-batches, a log point is measured at the epoch's first batch only, so there is
/// one record per log point.
#[derive(Clone, Debug)]
pub struct Recorder {
    x: Tensor,
    every: usize,
    last_epoch: usize,
    records: Vec<Record>,
}

impl Recorder {
    /// A recorder measuring activations on `x` every `every` epochs (at least 1) of a run
    /// of `epochs` epochs.
    pub fn new(x: Tensor, every: usize, epochs: usize) -> Recorder {
        Recorder { x, every: every.max(1), last_epoch: epochs.saturating_sub(1), records: Vec::new() }
    }

    /// Whether `epoch` is a log point.
    pub fn is_log_point(&self, epoch: usize) -> bool {
        epoch.is_multiple_of(self.every) || epoch == self.last_epoch
    }

    /// Takes the measurements of a training step, if it is the first step (batch 0) of a
    /// log-point epoch. With mini-batches, the record's cost and gradients are then those
    /// of that first batch, taken before its update.
    pub fn observe(&mut self, step: &Step<'_, '_>) {
        if step.batch != 0 || !self.is_log_point(step.epoch) {
            return;
        }
        let grads: Vec<&Tensor> = step.params.iter().map(|&p| step.grads.wrt(p)).collect();
        let layers = measure(step.model, &self.x, &grads, step.lr);
        self.records.push(Record { epoch: step.epoch, cost: step.cost, layers });
    }

    /// The records so far, in epoch order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The records, by value.
    pub fn into_records(self) -> Vec<Record> {
        self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Noise, make_moons};
    use crate::init::{Init, seeded_rng};
    use crate::nn::Activation;
    use crate::optim::GradientDescent;
    use crate::train::{FitOptions, fit_with};

    #[test]
    fn mini_batches_give_one_record_per_log_point() {
        let data = make_moons(30, Noise { std: 0.2, shuffle: true }, &mut seeded_rng(0, 0));
        let mut model = Sequential::new(2);
        let mut rng = seeded_rng(0, 1);
        model.dense(4, Activation::Relu, &Init::HeNormal, &mut rng);
        model.dense(1, Activation::Identity, &Init::Normal(1.0), &mut rng);
        let mut recorder = Recorder::new(data.x.clone(), 5, 10);
        let mut first_batch_costs = Vec::new();
        // 30 samples in batches of 8: four steps per epoch.
        let opts = FitOptions { batch_size: Some(8), ..FitOptions::epochs(10) };
        fit_with(&mut model, &data.x, &data.y, opts, &mut GradientDescent { lr: 0.1 }, |s| {
            if s.batch == 0 {
                first_batch_costs.push(s.cost);
            }
            recorder.observe(s);
        })
        .unwrap();
        let epochs: Vec<usize> = recorder.records().iter().map(|r| r.epoch).collect();
        assert_eq!(epochs, [0, 5, 9]);
        let costs: Vec<f64> = recorder.records().iter().map(|r| r.cost).collect();
        assert_eq!(costs, [first_batch_costs[0], first_batch_costs[5], first_batch_costs[9]]);
    }

    #[test]
    fn identical_columns_count_once_and_the_bias_separates_units() {
        let w = Tensor::from_vec(2, 4, vec![1.0, 1.0, 2.0, 1.0, 3.0, 3.0 + 1e-13, 3.0, 3.0]);
        assert_eq!(distinct_units(&w, &Tensor::zeros(1, 4), 1e-12), 2, "columns 0, 1 and 3 are one unit");
        let b = Tensor::from_vec(1, 4, vec![0.0, 0.0, 0.0, 0.5]);
        assert_eq!(distinct_units(&w, &b, 1e-12), 3, "a different bias makes column 3 its own unit");
    }

    #[test]
    fn measure_reports_dead_units_and_update_ratios() {
        let mut model = Sequential::new(2);
        let mut rng = seeded_rng(0, 0);
        // Weights of 1 and a bias of -10 switch the first layer off on small inputs.
        model.dense_with_bias(3, Activation::Relu, &Init::Constant(1.0), &Init::Constant(-10.0), &mut rng);
        model.dense(1, Activation::Identity, &Init::Zeros, &mut rng);
        let x = Tensor::from_vec(2, 2, vec![1.0, 2.0, -1.0, 0.5]);
        let (g0, b0) = (Tensor::full(2, 3, 0.5), Tensor::full(1, 3, 7.0));
        let (g1, b1) = (Tensor::full(3, 1, 2.0), Tensor::full(1, 1, 7.0));
        let d = measure(&model, &x, &[&g0, &b0, &g1, &b1], 0.1);
        assert_eq!(d[0].dead_fraction, Some(1.0));
        assert_eq!(d[0].distinct_units, Some(1));
        assert_eq!((d[0].activation_mean, d[0].activation_std), (0.0, 0.0));
        // ‖0.1·g0‖ = 0.1·√(6·0.25), ‖W‖ = √6: the bias gradient is not the weight's.
        assert!((d[0].update_ratio.unwrap() - 0.1 * 1.5f64.sqrt() / 6f64.sqrt()).abs() < 1e-15);
        assert_eq!(d[0].grad_norm, Some(1.5f64.sqrt()));
        assert_eq!(d[1].dead_fraction, None, "only ReLU layers have dead units");
        assert_eq!(d[1].update_ratio, Some(f64::INFINITY), "a zero weight with a non-zero step");
    }
}
