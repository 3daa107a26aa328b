//! Layers built from tape ops. Nothing here knows a derivative: `Dense` is `act(x·W + b)`
//! written with [`Var`] operations, and the tape differentiates it.

use std::fmt;
use std::str::FromStr;

use crate::init::{Init, Initializer, ParamShape, SeededRng};
use crate::params::{ParamStore, ParamVars};
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// A layer's activation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// No activation: the layer outputs `x·W + b` (logits, for the output layer).
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, `a·x` otherwise.
    LeakyRelu(f64),
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
}

impl Activation {
    /// Applies the activation on the tape.
    pub fn apply(self, x: Var<'_>) -> Var<'_> {
        match self {
            Activation::Identity => x,
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(a) => x.leaky_relu(a),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Identity => write!(f, "identity"),
            Activation::Relu => write!(f, "relu"),
            Activation::LeakyRelu(a) => write!(f, "leaky_relu:{a}"),
            Activation::Sigmoid => write!(f, "sigmoid"),
            Activation::Tanh => write!(f, "tanh"),
        }
    }
}

impl FromStr for Activation {
    type Err = String;

    /// `identity`, `relu`, `leaky_relu[:A]` (A defaults to 0.01), `sigmoid` or `tanh`.
    fn from_str(s: &str) -> Result<Activation, String> {
        let s = s.trim().to_ascii_lowercase();
        let (name, arg) = s.split_once(':').map_or((s.as_str(), None), |(n, a)| (n, Some(a)));
        match (name, arg) {
            ("identity" | "linear", None) => Ok(Activation::Identity),
            ("relu", None) => Ok(Activation::Relu),
            ("leaky_relu", None) => Ok(Activation::LeakyRelu(0.01)),
            ("leaky_relu", Some(a)) => match a.parse::<f64>() {
                Ok(a) if a.is_finite() => Ok(Activation::LeakyRelu(a)),
                _ => Err(format!("activation `{s}`: `{a}` is not a finite number")),
            },
            ("sigmoid", None) => Ok(Activation::Sigmoid),
            ("tanh", None) => Ok(Activation::Tanh),
            _ => Err(format!("unknown activation `{s}`; valid: identity, relu, leaky_relu[:A], sigmoid, tanh")),
        }
    }
}

/// A fully connected layer, `act(x·W + b)` with `W: (inputs, outputs)` and
/// `b: (1, outputs)`. Its parameters live in the model's [`ParamStore`].
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// Number of inputs (`fan_in`).
    pub inputs: usize,
    /// Number of outputs (`fan_out`).
    pub outputs: usize,
    /// The activation applied to `x·W + b`.
    pub activation: Activation,
    weight: usize,
    bias: usize,
}

impl Dense {
    /// Position of the weight in the model's [`ParamStore`].
    pub fn weight_index(&self) -> usize {
        self.weight
    }

    /// Position of the bias in the model's [`ParamStore`].
    pub fn bias_index(&self) -> usize {
        self.bias
    }

    /// The pre-activation `x·W + b`, with the parameters taken from `params`.
    pub fn pre_activation<'t>(&self, params: &ParamVars<'t>, x: Var<'t>) -> Var<'t> {
        x.affine(params[self.weight], params[self.bias])
    }

    /// `act(x·W + b)`.
    pub fn forward<'t>(&self, params: &ParamVars<'t>, x: Var<'t>) -> Var<'t> {
        self.activation.apply(self.pre_activation(params, x))
    }
}

/// The loss of a binary classifier whose last layer outputs logits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BinaryLoss {
    /// `bce_with_logits`: exact and stable for any logit.
    Stable,
    /// `sigmoid`, then `binary_cross_entropy` clipped by `eps`, as naive code computes
    /// it; `eps = 1e-5` reproduces the classic experiment's printed costs.
    Clipped {
        /// The clipping constant added inside both logarithms.
        eps: f64,
    },
}

impl BinaryLoss {
    /// The classic experiment's clipped loss, `eps = 1e-5`.
    pub const REFERENCE_CLIPPED: BinaryLoss = BinaryLoss::Clipped { eps: 1e-5 };

    /// The mean loss of `logits` against 0/1 `targets`.
    pub fn apply<'t>(self, logits: Var<'t>, targets: &Tensor) -> Var<'t> {
        match self {
            BinaryLoss::Stable => logits.bce_with_logits(targets),
            BinaryLoss::Clipped { eps } => logits.sigmoid().binary_cross_entropy(targets, eps),
        }
    }
}

impl fmt::Display for BinaryLoss {
    /// `stable` or `clipped:EPS`, the form [`BinaryLoss::from_str`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BinaryLoss::Stable => write!(f, "stable"),
            BinaryLoss::Clipped { eps } => write!(f, "clipped:{eps}"),
        }
    }
}

impl FromStr for BinaryLoss {
    type Err = String;

    /// `stable` or `clipped[:EPS]` (EPS defaults to the classic experiment's 1e-5 and must
    /// be a finite number greater than 0); what [`BinaryLoss`]'s `Display` prints parses
    /// back to the same loss.
    fn from_str(s: &str) -> Result<BinaryLoss, String> {
        let s = s.trim().to_ascii_lowercase();
        let (name, arg) = s.split_once(':').map_or((s.as_str(), None), |(n, a)| (n, Some(a)));
        match (name, arg) {
            ("stable", None) => Ok(BinaryLoss::Stable),
            ("clipped", None) => Ok(BinaryLoss::REFERENCE_CLIPPED),
            ("clipped", Some(eps)) => match eps.parse::<f64>() {
                Ok(eps) if eps.is_finite() && eps > 0.0 => Ok(BinaryLoss::Clipped { eps }),
                _ => Err(format!("loss `{s}`: `{eps}` is not a finite number greater than 0")),
            },
            _ => Err(format!("unknown loss `{s}`; valid: stable, clipped[:EPS]")),
        }
    }
}

/// Dense layers applied in order, with their parameters and a binary loss: a classifier
/// whose last layer outputs one logit per sample.
///
/// ```
/// use tapegrad::prelude::*;
/// let mut rng = seeded_rng(0, 1);
/// let mut model = Sequential::new(2);
/// model.dense(12, Activation::Relu, &Init::HeNormal, &mut rng);
/// model.dense(1, Activation::Identity, &Init::Normal(1.0), &mut rng);
/// let x = Tensor::from_vec(3, 2, vec![0.0, 1.0, 1.0, 0.0, 0.5, 0.5]);
/// assert_eq!(model.predict(&x).shape(), (3, 1));
/// assert_eq!(model.params.get_index(1).unwrap().0, "dense0.bias");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sequential {
    /// Every layer's parameters, `dense{i}.weight` and `dense{i}.bias`.
    pub params: ParamStore,
    /// The loss [`Sequential::loss`] computes.
    pub loss: BinaryLoss,
    inputs: usize,
    layers: Vec<Dense>,
}

impl Sequential {
    /// An empty model taking `inputs` features, with the stable loss.
    pub fn new(inputs: usize) -> Sequential {
        Sequential { params: ParamStore::new(), loss: BinaryLoss::Stable, inputs, layers: Vec::new() }
    }

    /// Appends a dense layer with `outputs` units, its weight from `weight_init` and its
    /// bias at zero.
    pub fn dense(
        &mut self,
        outputs: usize,
        activation: Activation,
        weight_init: &dyn Initializer,
        rng: &mut SeededRng,
    ) -> &mut Sequential {
        self.dense_with_bias(outputs, activation, weight_init, &Init::Zeros, rng)
    }

    /// Appends a dense layer with both initializers given.
    pub fn dense_with_bias(
        &mut self,
        outputs: usize,
        activation: Activation,
        weight_init: &dyn Initializer,
        bias_init: &dyn Initializer,
        rng: &mut SeededRng,
    ) -> &mut Sequential {
        let (inputs, i) = (self.outputs(), self.layers.len());
        let w = weight_init.init(ParamShape::weight(inputs, outputs), rng);
        let b = bias_init.init(ParamShape::bias(inputs, outputs), rng);
        let weight = self.params.insert(format!("dense{i}.weight"), w);
        let bias = self.params.insert(format!("dense{i}.bias"), b);
        self.layers.push(Dense { inputs, outputs, activation, weight, bias });
        self
    }

    /// Number of input features.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Width of the last layer (the inputs, for an empty model).
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(self.inputs, |l| l.outputs)
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Dense] {
        &self.layers
    }

    /// The model's output (logits) for `x`, with the parameters put on `tape` as leaves.
    pub fn forward<'t>(&self, tape: &'t Tape, x: Var<'t>) -> Var<'t> {
        self.forward_with(&self.params.leaves(tape), x)
    }

    /// The model's output for `x`, with parameters already on the tape (from
    /// `self.params.leaves(tape)`), so their gradients can be read afterwards.
    pub fn forward_with<'t>(&self, params: &ParamVars<'t>, x: Var<'t>) -> Var<'t> {
        self.layers.iter().fold(x, |h, layer| layer.forward(params, h))
    }

    /// The model's loss on logits against 0/1 targets.
    pub fn loss<'t>(&self, logits: Var<'t>, targets: &Tensor) -> Var<'t> {
        self.loss.apply(logits, targets)
    }

    /// The predicted probability of class 1 for each row of `x`.
    pub fn predict(&self, x: &Tensor) -> Tensor {
        let tape = Tape::new();
        self.forward(&tape, tape.constant_from(x)).sigmoid().value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_loss_parses_back_to_itself() {
        let losses = [BinaryLoss::Stable, BinaryLoss::REFERENCE_CLIPPED, BinaryLoss::Clipped { eps: 0.1 + 0.2 }];
        for loss in losses {
            assert_eq!(loss.to_string().parse::<BinaryLoss>(), Ok(loss), "{loss}");
        }
        assert_eq!(BinaryLoss::REFERENCE_CLIPPED.to_string(), "clipped:0.00001");
        assert_eq!("clipped".parse::<BinaryLoss>(), Ok(BinaryLoss::REFERENCE_CLIPPED));
        assert_eq!("clipped:1e-3".parse::<BinaryLoss>(), Ok(BinaryLoss::Clipped { eps: 1e-3 }));
        for bad in ["clipped:0", "clipped:-1", "clipped:inf", "clipped:x", "stable:1", "exact"] {
            assert!(bad.parse::<BinaryLoss>().is_err(), "{bad}");
        }
    }
}
