//! Gradients at initialization: one forward and one backward pass of any model
//! ([`pass`]), every parameter's gradient kept with its value and every layer's output;
//! on the reference network, a one-line reading of what the numbers show (for zero
//! initialization: why they are all 0).

use serde_json::{Value, json};

use crate::data::Dataset;
use crate::experiment::{self, Setup};
use crate::init::Init;
use crate::nn::{BinaryLoss, Sequential, Task};
use crate::study::trace;
use crate::tape::{Anomaly, Tape};
use crate::tensor::Tensor;

/// One parameter at initialization with its gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamGradient {
    /// The parameter's name in the store (`dense0.weight`, ...).
    pub name: String,
    /// Its value.
    pub value: Tensor,
    /// The gradient of the loss with respect to it.
    pub grad: Tensor,
}

impl ParamGradient {
    /// L2 (Frobenius) norm of the gradient.
    pub fn norm(&self) -> f64 {
        self.grad.norm()
    }

    /// Largest absolute entry of the gradient.
    pub fn max_abs(&self) -> f64 {
        self.grad.max_abs()
    }

    /// Number of gradient entries that are exactly 0.
    pub fn zeros(&self) -> usize {
        self.grad.data().iter().filter(|&&g| g == 0.0).count()
    }

    /// Whether this is a weight (as opposed to a bias).
    pub fn is_weight(&self) -> bool {
        self.name.ends_with(".weight")
    }
}

/// One forward and one backward pass of a model.
#[derive(Clone, Debug)]
pub struct Pass {
    /// The loss.
    pub loss: f64,
    /// Every parameter with its gradient, in store order.
    pub params: Vec<ParamGradient>,
    /// Every layer's output (after its activation; after the add for a residual block),
    /// `n x width`, named as [`Sequential::forward_trace`] names the layers.
    pub layers: Vec<(String, Tensor)>,
    /// The first non-finite value of the pass, if any.
    pub anomaly: Option<Anomaly>,
}

/// Runs `model` on `x` as training does ([`trace`]) and back-propagates its loss
/// against `y`: the gradients of the first step of [`crate::train::fit`] (full batch,
/// default shuffle seed).
pub fn pass(model: &Sequential, x: &Tensor, y: &Tensor) -> Pass {
    let tape = Tape::new();
    tape.detect_anomaly(true);
    let (vars, trace) = trace(model, &tape, x);
    let layers = trace.layers.iter().map(|l| (l.name.clone(), l.output.value())).collect();
    let loss_var = model.loss(trace.output, y);
    let grads = loss_var.backward();
    let params = model
        .params
        .iter()
        .zip(&vars)
        .map(|((name, value), &v)| ParamGradient {
            name: name.to_string(),
            value: value.clone(),
            grad: grads.wrt(v).clone(),
        })
        .collect();
    let loss = loss_var.item();
    drop(grads);
    Pass { loss, params, layers, anomaly: tape.anomaly() }
}

/// Everything one forward/backward pass of the reference network at initialization shows.
#[derive(Clone, Debug)]
pub struct InitGradients {
    /// Initializer of the hidden layers.
    pub init: Init,
    /// The setup (output initializer, loss, data sizes).
    pub setup: Setup,
    /// Seed of the data and the weights.
    pub seed: u64,
    /// The training set the loss is computed on.
    pub data: Dataset,
    /// The network at initialization.
    pub model: Sequential,
    /// The loss.
    pub loss: f64,
    /// Every parameter with its gradient, in store order.
    pub params: Vec<ParamGradient>,
    /// Each layer's output (after its activation; logits for the last), `n x width`,
    /// with its name.
    pub activations: Vec<(String, Tensor)>,
    /// The first non-finite value of the pass, if any.
    pub anomaly: Option<Anomaly>,
}

/// Builds the reference network with `init` in the hidden layers (see
/// [`experiment::network`]) on the training set of `seed`, and runs one forward and one
/// backward [`pass`].
pub fn gradients_at_init(init: Init, setup: &Setup, seed: u64) -> InitGradients {
    let (data, _) = experiment::moons(setup, seed);
    let model = experiment::network(&init, setup, seed);
    let Pass { loss, params, layers, anomaly } = pass(&model, &data.x, &data.y);
    InitGradients { init, setup: *setup, seed, data, model, loss, params, activations: layers, anomaly }
}

impl InitGradients {
    /// One line on what the gradients show: for zero initialization, why every weight
    /// gradient is exactly 0; otherwise which layers receive a gradient.
    pub fn explain(&self) -> String {
        let weights: Vec<&ParamGradient> = self.params.iter().filter(|p| p.is_weight()).collect();
        let dead: Vec<&str> = weights.iter().filter(|p| p.zeros() == p.grad.len()).map(|p| p.name.as_str()).collect();
        let hidden = &self.activations[..self.activations.len().saturating_sub(1)];
        let hidden_silent = !hidden.is_empty() && hidden.iter().all(|(_, a)| a.data().iter().all(|&x| x == 0.0));
        let out_bias = self.params.last().map_or(f64::NAN, |p| p.grad.sum());
        if dead.len() == weights.len() && hidden_silent {
            let logits_zero = self.activations.last().is_some_and(|(_, z)| z.data().iter().all(|&x| x == 0.0));
            let bias_note = if logits_zero && self.data.y.mean() == 0.5 {
                format!(
                    "the output bias gradient mean(p - y) = {out_bias:.1e} is 0 up to rounding, only because every \
                     p = sigmoid(0) = 0.5 and the classes are balanced (mean y = 0.5)"
                )
            } else {
                format!("only the output bias gets a gradient, mean(p - y) = {out_bias:.3e}")
            };
            return format!(
                "every weight gradient is exactly 0: the hidden layers output 0 on every sample, so the output \
                 weight's dW = aᵀ·dz is 0, and relu'(0) = 0 zeroes dz in both hidden layers, so nothing reaches \
                 their weights or biases; {bias_note}"
            );
        }
        let zeros: usize = weights.iter().map(|p| p.zeros()).sum();
        let total: usize = weights.iter().map(|p| p.grad.len()).sum();
        let (smallest, largest) = weights.iter().fold((None::<&ParamGradient>, None::<&ParamGradient>), |(s, l), p| {
            let s = if s.is_none_or(|s| p.norm() < s.norm()) { Some(*p) } else { s };
            let l = if l.is_none_or(|l| p.norm() > l.norm()) { Some(*p) } else { l };
            (s, l)
        });
        let span = match (smallest, largest) {
            (Some(s), Some(l)) => format!("‖g‖ from {:.3e} ({}) to {:.3e} ({})", s.norm(), s.name, l.norm(), l.name),
            _ => String::new(),
        };
        if dead.is_empty() {
            let units = if zeros > 0 {
                format!(
                    "; {zeros} of {total} weight entries are exactly 0: on no sample are both the unit feeding \
                     them and the ReLU they feed active"
                )
            } else {
                String::new()
            };
            format!("every layer receives a non-zero weight gradient, {span}{units}")
        } else {
            format!(
                "the weight gradients of {} are exactly 0 (their inputs or ReLUs are off on every sample), {span}",
                dead.join(", ")
            )
        }
    }

    /// Everything needed to recompute the loss and gradients elsewhere; the format is
    /// documented in `docs/study.md`. Non-finite numbers become `null`.
    pub fn to_json(&self) -> Value {
        let tensors = |f: fn(&ParamGradient) -> &Tensor| -> Vec<Value> {
            self.params
                .iter()
                .map(|p| {
                    let t = f(p);
                    json!({ "name": p.name, "shape": [t.rows(), t.cols()], "values": t.data() })
                })
                .collect()
        };
        let mut sizes = vec![self.model.inputs()];
        sizes.extend(self.model.dense_layers().iter().map(|l| l.outputs));
        let activations: Vec<String> = self.model.dense_layers().iter().map(|l| l.activation.to_string()).collect();
        let loss = match self.model.task {
            Task::Binary(BinaryLoss::Stable) => json!({ "name": "bce_with_logits" }),
            Task::Binary(BinaryLoss::Clipped { eps }) => json!({ "name": "binary_cross_entropy", "eps": eps }),
            Task::MultiClass { .. } => json!({ "name": "cross_entropy" }),
            Task::Regression => json!({ "name": "mse" }),
        };
        let rows = |d: &Dataset| -> Vec<Vec<f64>> { (0..d.len()).map(|i| d.x.row(i).to_vec()).collect() };
        let (_, test) = experiment::moons(&self.setup, self.seed);
        json!({
            "format": "tapegrad-grads/1",
            "init": self.init.to_string(),
            "output_init": self.setup.output_init.to_string(),
            "seed": self.seed,
            "x": rows(&self.data),
            "y": self.data.y.data(),
            "test": { "x": rows(&test), "y": test.y.data() },
            "model": { "layers": sizes, "activations": activations, "loss": loss },
            "parameters": tensors(|p| &p.value),
            "gradients": tensors(|p| &p.grad),
            "loss": self.loss,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_give_exactly_zero_weight_gradients_and_he_does_not() {
        let setup = Setup { n_train: 40, ..Setup::default() };
        let zeros = gradients_at_init(Init::Zeros, &setup, 0);
        let (last, rest) = zeros.params.split_last().unwrap();
        assert!(rest.iter().all(|p| p.zeros() == p.grad.len()), "every gradient entry but the output bias's is 0");
        assert!(last.grad.item().abs() < 1e-15, "balanced classes: mean(p - y) = 0 up to rounding");
        assert!((zeros.loss - std::f64::consts::LN_2).abs() < 1e-14, "every p is 0.5");
        assert!(zeros.explain().starts_with("every weight gradient is exactly 0"), "{}", zeros.explain());
        let he = gradients_at_init(Init::HeNormal, &setup, 0);
        assert!(he.params.iter().filter(|p| p.is_weight()).all(|p| p.norm() > 0.0));
        assert!(he.explain().starts_with("every layer receives a non-zero weight gradient"), "{}", he.explain());
    }

    #[test]
    fn unbalanced_classes_give_the_output_bias_a_gradient() {
        // 41 points: 20 of class 0, 21 of class 1, so mean(p - y) = 0.5 - 21/41.
        let setup = Setup { n_train: 41, ..Setup::default() };
        let g = gradients_at_init(Init::Zeros, &setup, 0);
        let bias = g.params.last().unwrap();
        assert!((bias.grad.item() - (0.5 - 21.0 / 41.0)).abs() < 1e-15);
        assert!(g.explain().contains("only the output bias gets a gradient"), "{}", g.explain());
    }
}
