//! Layer-sequential unit-variance initialization (LSUV; Mishkin & Matas, "All you need
//! is a good init", 2015): after an orthonormal initialization, each dense layer in turn
//! has its weight divided by the standard deviation of its output (`x·W + b`, before the
//! activation) on a batch of data, until that output's variance is within
//! [`TOLERANCE`] of 1 or [`MAX_ITERATIONS`] rescalings were made.
//!
//! ```
//! use tapegrad::prelude::*;
//! use tapegrad::study::lsuv::lsuv;
//! let mut rng = seeded_rng(0, 1);
//! let mut model = Sequential::new(8);
//! model.dense(32, Activation::Relu, &Init::Orthogonal(1.0), &mut rng);
//! model.dense(32, Activation::Relu, &Init::Orthogonal(1.0), &mut rng);
//! let batch = Tensor::randn(256, 8, &mut seeded_rng(0, 0)).map(|x| 5.0 * x);
//! let report = lsuv(&mut model, &batch).unwrap();
//! assert!(report.layers.iter().all(|l| l.converged && (l.variance - 1.0).abs() <= 0.1));
//! ```

use crate::nn::{Forward, Layer, Sequential};
use crate::tape::Tape;
use crate::tensor::Tensor;

/// How far from 1 a layer's output variance may stay.
pub const TOLERANCE: f64 = 0.1;

/// The most rescalings of one layer.
pub const MAX_ITERATIONS: usize = 10;

/// What LSUV did to one dense layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LsuvLayer {
    /// The layer's weight, as the parameter store names it (`dense0.weight`).
    pub weight: String,
    /// The output variance before the first rescaling.
    pub initial_variance: f64,
    /// The output variance after the last.
    pub variance: f64,
    /// The rescalings made (0 when the variance was already within the tolerance).
    pub iterations: usize,
    /// Whether the final variance is within [`TOLERANCE`] of 1; `false` when the
    /// iteration limit was hit or the output is constant.
    pub converged: bool,
}

/// The per-layer outcome of [`lsuv`].
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LsuvReport {
    /// One entry per dense layer, in order.
    pub layers: Vec<LsuvLayer>,
}

/// Rescales every dense weight of `model`, first layer first, so that its output on
/// `batch` has variance within [`TOLERANCE`] of 1 (at most [`MAX_ITERATIONS`]
/// rescalings each). Initialize the weights orthonormally first (`Init::Orthogonal(1.0)`)
/// for LSUV as published. Biases are left alone.
///
/// Returns an error for a model with residual blocks or layers of one's own, whose
/// dense layers do not run one after another, and for a batch whose width is not the
/// model's input width.
pub fn lsuv(model: &mut Sequential, batch: &Tensor) -> Result<LsuvReport, String> {
    if batch.cols() != model.inputs() || batch.rows() == 0 {
        return Err(format!(
            "LSUV: the batch is {}×{}, the model takes {} features (and at least one row is needed)",
            batch.rows(),
            batch.cols(),
            model.inputs()
        ));
    }
    let layers = model.layers().to_vec();
    let mut report = LsuvReport::default();
    let mut h = batch.clone();
    for layer in &layers {
        match layer {
            Layer::Dense(d) => {
                let name = model.params.get_index(d.weight_index()).map(|(n, _)| n.to_string()).unwrap_or_default();
                let pre_activation = |model: &Sequential| {
                    let tape = Tape::new();
                    let params = model.params.leaves(&tape);
                    d.pre_activation(&params, tape.constant_from(&h)).value()
                };
                let mut z = pre_activation(model);
                let initial_variance = z.std().powi(2);
                let (mut variance, mut iterations) = (initial_variance, 0);
                while (variance - 1.0).abs() > TOLERANCE
                    && iterations < MAX_ITERATIONS
                    && variance.is_finite()
                    && variance > 0.0
                {
                    let scale = variance.sqrt().recip();
                    let w = model.params.get_mut(&name).expect("the dense layer's weight is in the store");
                    w.data_mut().iter_mut().for_each(|x| *x *= scale);
                    z = pre_activation(model);
                    variance = z.std().powi(2);
                    iterations += 1;
                }
                let converged = (variance - 1.0).abs() <= TOLERANCE;
                report.layers.push(LsuvLayer { weight: name, initial_variance, variance, iterations, converged });
                let tape = Tape::new();
                h = d.activation.apply(tape.constant(z)).value();
            }
            Layer::Residual(_) | Layer::Module(_) => {
                return Err(format!(
                    "LSUV rescales the dense layers of a plain stack; this model has a {} layer",
                    layer.kind()
                ));
            }
            other => {
                let tape = Tape::new();
                let params = model.params.leaves(&tape);
                h = other.forward(tape.constant_from(&h), &mut Forward::eval(&params, &model.params)).value();
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{Init, seeded_rng};
    use crate::nn::Activation;

    fn model(activation: Activation, widths: &[usize], init: Init) -> Sequential {
        let mut rng = seeded_rng(3, 1);
        let mut m = Sequential::new(6);
        widths.iter().for_each(|&w| _ = m.dense(w, activation, &init, &mut rng));
        m
    }

    /// Every dense layer's pre-activation variance on `batch`, measured afresh.
    fn variances(m: &Sequential, batch: &Tensor) -> Vec<f64> {
        let mut h = batch.clone();
        m.dense_layers()
            .iter()
            .map(|d| {
                let tape = Tape::new();
                let params = m.params.leaves(&tape);
                let z = d.pre_activation(&params, tape.constant_from(&h));
                h = d.activation.apply(z).value();
                z.value().std().powi(2)
            })
            .collect()
    }

    #[test]
    fn every_layer_ends_within_the_tolerance() {
        let batch = Tensor::randn(200, 6, &mut seeded_rng(0, 0)).map(|x| 3.0 * x + 1.0);
        for activation in [Activation::Relu, Activation::Tanh, Activation::Identity] {
            let mut m = model(activation, &[40, 30, 20, 10], Init::Orthogonal(1.0));
            let before = variances(&m, &batch);
            let report = lsuv(&mut m, &batch).unwrap();
            let after = variances(&m, &batch);
            assert_eq!(report.layers.len(), 4);
            for (l, (r, v)) in report.layers.iter().zip(&after).enumerate() {
                assert!(r.converged && (v - 1.0).abs() <= TOLERANCE, "{activation} layer {l}: {r:?}, measured {v}");
                assert!((r.variance - v).abs() < 1e-12, "the report's variance is the layer's");
                assert!(r.iterations <= MAX_ITERATIONS);
            }
            assert!((before[0] - 1.0).abs() > TOLERANCE && report.layers[0].iterations >= 1, "{before:?}");
            assert_eq!(report.layers[0].initial_variance, before[0]);
        }
    }

    #[test]
    fn a_dead_layer_reports_the_limit_instead_of_converging() {
        // Zero weights give a constant output: nothing to rescale.
        let batch = Tensor::randn(50, 6, &mut seeded_rng(0, 0));
        let mut m = model(Activation::Relu, &[8, 8], Init::Zeros);
        let report = lsuv(&mut m, &batch).unwrap();
        assert!(report.layers.iter().all(|l| !l.converged && l.variance == 0.0 && l.iterations == 0));
    }

    #[test]
    fn refuses_a_residual_model_and_a_batch_of_the_wrong_width() {
        let batch = Tensor::randn(10, 6, &mut seeded_rng(0, 0));
        let mut m = Sequential::new(6);
        m.residual(None, &mut seeded_rng(0, 1), |b, rng| _ = b.dense(6, Activation::Relu, &Init::HeNormal, rng));
        assert!(lsuv(&mut m, &batch).unwrap_err().contains("residual"));
        let mut plain = model(Activation::Relu, &[4], Init::Orthogonal(1.0));
        assert!(lsuv(&mut plain, &Tensor::zeros(10, 5)).unwrap_err().contains("takes 6 features"));
    }
}
