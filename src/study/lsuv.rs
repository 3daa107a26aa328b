//! Layer-sequential unit-variance initialization (LSUV; Mishkin & Matas, "All you need
//! is a good init", 2015): after an orthonormal initialization, each dense layer in turn
//! has its weight divided by the standard deviation of its output (`x·W + b`, before the
//! activation) on a batch of data, until that output's variance is within
//! [`TOLERANCE`] of 1 or [`MAX_ITERATIONS`] rescalings were made.
//!
//! Every dense layer of any model is rescaled, in the order [`Sequential::forward_trace`]
//! runs them, those inside residual blocks included (a projection on a block's skip path
//! is not a layer of its own, and is left alone). Each measurement runs the whole model on the batch, as training
//! runs it ([`crate::study::trace`]: batch norms normalize by the batch's statistics,
//! dropout draws fixed masks), and reads the layer's own pre-activation where it sits:
//! after a norm, inside a block, after a layer of one's own. Only dense weights are
//! rescaled; a norm's `γ` and a layer of one's own are left as they are. A dense layer
//! followed by a batch norm is still rescaled, although the norm undoes its scale.
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

use std::fmt;
use std::str::FromStr;

use crate::init::Init;
use crate::nn::{Layer, Sequential};
use crate::study::trace;
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
    /// One entry per dense layer, in the order the model runs them.
    pub layers: Vec<LsuvLayer>,
}

impl LsuvReport {
    /// Every layer as JSON: `weight`, `initial_variance`, `variance`, `iterations`,
    /// `converged`.
    pub fn to_json(&self) -> serde_json::Value {
        let layer = |l: &LsuvLayer| {
            serde_json::json!({
                "weight": l.weight, "initial_variance": l.initial_variance, "variance": l.variance,
                "iterations": l.iterations, "converged": l.converged,
            })
        };
        self.layers.iter().map(layer).collect()
    }

    /// One line: how many layers, their variances before, how many converged, and the
    /// most rescalings a layer took.
    pub fn summary(&self) -> String {
        let before = self.layers.iter().map(|l| l.initial_variance);
        let (lo, hi) = before.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let converged = self.layers.iter().filter(|l| l.converged).count();
        let most = self.layers.iter().map(|l| l.iterations).max().unwrap_or(0);
        format!(
            "{} layers, variances {lo:.3e} to {hi:.3e} before; {converged} within {TOLERANCE} of 1 after at most {most} rescalings",
            self.layers.len()
        )
    }
}

/// How a network's weights are initialized: drawn from an initializer, or by LSUV
/// (orthonormal weights, then [`lsuv`] on a batch of data). As a spec string: `lsuv`, or
/// any initializer spec (`he`, `normal:0.01`, ...).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WeightInit {
    /// Weights drawn from an initializer.
    Spec(Init),
    /// Orthonormal weights rescaled by [`lsuv`] on a batch of data.
    Lsuv,
}

impl WeightInit {
    /// The initializer the weights are drawn from (LSUV rescales them afterwards).
    pub fn weights(self) -> Init {
        match self {
            WeightInit::Spec(init) => init,
            WeightInit::Lsuv => Init::Orthogonal(1.0),
        }
    }

    /// Runs [`lsuv`] on `model` with `batch` when this is [`WeightInit::Lsuv`].
    pub fn apply(self, model: &mut Sequential, batch: &Tensor) -> Result<Option<LsuvReport>, String> {
        match self {
            WeightInit::Spec(_) => Ok(None),
            WeightInit::Lsuv => lsuv(model, batch).map(Some),
        }
    }
}

impl From<Init> for WeightInit {
    fn from(init: Init) -> WeightInit {
        WeightInit::Spec(init)
    }
}

impl PartialEq<Init> for WeightInit {
    fn eq(&self, other: &Init) -> bool {
        *self == WeightInit::Spec(*other)
    }
}

impl fmt::Display for WeightInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightInit::Spec(init) => init.fmt(f),
            WeightInit::Lsuv => f.write_str("lsuv"),
        }
    }
}

impl FromStr for WeightInit {
    type Err = <Init as FromStr>::Err;

    fn from_str(s: &str) -> Result<WeightInit, Self::Err> {
        match s.trim().eq_ignore_ascii_case("lsuv") {
            true => Ok(WeightInit::Lsuv),
            false => s.parse().map(WeightInit::Spec),
        }
    }
}

/// Rescales every dense weight of `model`, in the order the model runs them, so that
/// its pre-activation on `batch` has variance within [`TOLERANCE`] of 1 (at most
/// [`MAX_ITERATIONS`] rescalings each). Initialize the weights orthonormally first
/// (`Init::Orthogonal(1.0)`) for LSUV as published. Biases are left alone.
///
/// Returns an error for a batch whose width is not the model's input width.
pub fn lsuv(model: &mut Sequential, batch: &Tensor) -> Result<LsuvReport, String> {
    if batch.cols() != model.inputs() || batch.rows() == 0 {
        return Err(format!(
            "LSUV: the batch is {}×{}, the model takes {} features (and at least one row is needed)",
            batch.rows(),
            batch.cols(),
            model.inputs()
        ));
    }
    // The dense layers: their place in the trace and their weight's name.
    let dense: Vec<(usize, String)> = {
        let tape = Tape::new();
        let (_, t) = trace(model, &tape, batch);
        t.layers
            .iter()
            .enumerate()
            .filter_map(|(k, l)| match l.layer {
                Layer::Dense(d) => Some((k, model.params.get_index(d.weight_index())?.0.to_string())),
                _ => None,
            })
            .collect()
    };
    let mut report = LsuvReport::default();
    for (k, name) in dense {
        let variance = |model: &Sequential| {
            let tape = Tape::new();
            let (_, t) = trace(model, &tape, batch);
            t.layers[k].pre_activation.expect("a dense layer has a pre-activation").value().std().powi(2)
        };
        let initial_variance = variance(model);
        let (mut variance_now, mut iterations) = (initial_variance, 0);
        while (variance_now - 1.0).abs() > TOLERANCE
            && iterations < MAX_ITERATIONS
            && variance_now.is_finite()
            && variance_now > 0.0
        {
            let scale = variance_now.sqrt().recip();
            let w = model.params.get_mut(&name).expect("the dense layer's weight is in the store");
            w.data_mut().iter_mut().for_each(|x| *x *= scale);
            variance_now = variance(model);
            iterations += 1;
        }
        let converged = (variance_now - 1.0).abs() <= TOLERANCE;
        report.layers.push(LsuvLayer { weight: name, initial_variance, variance: variance_now, iterations, converged });
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
    fn a_residual_block_is_rescaled_where_it_sits_and_a_wrong_width_refused() {
        let batch = Tensor::randn(100, 6, &mut seeded_rng(0, 0)).map(|x| 2.0 * x);
        let mut m = Sequential::new(6);
        let rng = &mut seeded_rng(0, 1);
        m.dense(8, Activation::Relu, &Init::Orthogonal(1.0), rng);
        m.residual(None, rng, |b, rng| _ = b.dense(8, Activation::Tanh, &Init::Orthogonal(1.0), rng));
        let report = lsuv(&mut m, &batch).unwrap();
        let names: Vec<&str> = report.layers.iter().map(|l| l.weight.as_str()).collect();
        assert_eq!(names, ["dense0.weight", "residual1.dense0.weight"]);
        // By hand: the block's dense layer reads the first layer's ReLU output.
        let (w0, w1) = (&m.params["dense0.weight"], &m.params["residual1.dense0.weight"]);
        let h = batch.matmul(w0).map(|x| x.max(0.0));
        let z = h.matmul(w1);
        assert!((z.std().powi(2) - report.layers[1].variance).abs() < 1e-12, "{report:?}");
        assert!(report.layers.iter().all(|l| l.converged), "{report:?}");
        let mut plain = model(Activation::Relu, &[4], Init::Orthogonal(1.0));
        assert!(lsuv(&mut plain, &Tensor::zeros(10, 5)).unwrap_err().contains("takes 6 features"));
    }
}
