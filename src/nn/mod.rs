//! Layers built from tape ops. Nothing here knows a derivative: `Dense` is `act(x·W + b)`
//! written with [`Var`] operations, a batch norm is a mean, a variance and a square root,
//! and the tape differentiates them.

mod layer;
mod spec;
mod task;
mod trace;

pub use layer::{Dense, Dropout, Forward, Layer, Module, Norm, Residual};
pub use task::{MAX_CLASSES, Task, TaskKind};
pub use trace::{Trace, Traced};

use std::fmt;
use std::ops::Range;
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

/// Layers applied in order, with their parameters and buffers and the task that says
/// what the output means and which loss trains it.
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
    /// Every layer's parameters (`dense0.weight`, `batchnorm1.gamma`, ...) and buffers
    /// (`batchnorm1.running_mean`, ...).
    pub params: ParamStore,
    /// What the output means, and the loss [`Sequential::loss`] computes.
    pub task: Task,
    inputs: usize,
    layers: Vec<Layer>,
    /// Layers being collected into a residual block, innermost last, with the block's
    /// name prefix.
    open: Vec<(String, Vec<Layer>)>,
    /// The parameters of each layer of one's own, in the order they were appended: those
    /// added to the store since the layer before it was appended.
    module_params: Vec<Range<usize>>,
    /// The number of parameters when the last layer was appended.
    appended: usize,
}

impl Sequential {
    /// An empty model taking `inputs` features: a binary classifier with the stable loss
    /// until [`Sequential::task`] says otherwise.
    pub fn new(inputs: usize) -> Sequential {
        Sequential {
            params: ParamStore::new(),
            task: Task::Binary(BinaryLoss::Stable),
            inputs,
            layers: Vec::new(),
            open: Vec::new(),
            module_params: Vec::new(),
            appended: 0,
        }
    }

    /// The name of the next layer of `kind`: its position, inside any open blocks
    /// (`dense0`, `residual2.batchnorm1`, ...).
    fn next_name(&self, kind: &str) -> String {
        let (prefix, i) = match self.open.last() {
            Some((prefix, block)) => (format!("{prefix}."), block.len()),
            None => (String::new(), self.layers.len()),
        };
        format!("{prefix}{kind}{i}")
    }

    /// Appends `layer` (to the innermost open residual block, if any).
    fn push(&mut self, layer: Layer) -> &mut Sequential {
        let added = self.appended..self.params.len();
        self.appended = self.params.len();
        if let Layer::Module(_) = layer {
            self.module_params.push(added);
        }
        match self.open.last_mut() {
            Some((_, block)) => block.push(layer),
            None => self.layers.push(layer),
        }
        self
    }

    /// Adds a parameter to the store for a layer of one's own ([`Layer::Module`]) and
    /// returns its position, which [`Forward::params`] is indexed by. Add a layer's
    /// parameters before appending it: the parameters added since the previous layer are
    /// the ones [`Sequential::forward_trace`] reports as the layer's own.
    pub fn add_param(&mut self, name: impl Into<String>, value: Tensor) -> usize {
        self.params.insert(name, value)
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
        let name = self.next_name("dense");
        let dense = self.new_dense(&name, self.outputs(), outputs, activation, weight_init, bias_init, rng);
        self.push(Layer::Dense(dense))
    }

    #[allow(clippy::too_many_arguments)]
    fn new_dense(
        &mut self,
        name: &str,
        inputs: usize,
        outputs: usize,
        activation: Activation,
        weight_init: &dyn Initializer,
        bias_init: &dyn Initializer,
        rng: &mut SeededRng,
    ) -> Dense {
        let w = weight_init.init(ParamShape::weight(inputs, outputs), rng);
        let b = bias_init.init(ParamShape::bias(inputs, outputs), rng);
        let weight = self.params.insert(format!("{name}.weight"), w);
        let bias = self.params.insert(format!("{name}.bias"), b);
        Dense { inputs, outputs, activation, weight, bias }
    }

    /// Appends an activation as a layer of its own.
    pub fn activation(&mut self, activation: Activation) -> &mut Sequential {
        self.push(Layer::Activation(activation))
    }

    /// Appends batch normalization over the current width: batch statistics while
    /// training, running statistics (momentum 0.1, as PyTorch's default) in evaluation,
    /// `eps = 1e-5`; `γ` starts at 1 and `β` at 0.
    pub fn batch_norm(&mut self) -> &mut Sequential {
        let width = self.outputs();
        self.push_batch_norm(Tensor::full(1, width, 1.0), Tensor::zeros(1, width))
    }

    /// [`Sequential::batch_norm`] with `γ` and `β` from initializers (a `(1, width)` row
    /// each, `fan_in = fan_out = width`): `γ` at zero makes the layer start as a
    /// constant, as some residual schemes want.
    pub fn batch_norm_with(
        &mut self,
        gamma: &dyn Initializer,
        beta: &dyn Initializer,
        rng: &mut SeededRng,
    ) -> &mut Sequential {
        let (gamma, beta) = self.norm_rows(gamma, beta, rng);
        self.push_batch_norm(gamma, beta)
    }

    fn push_batch_norm(&mut self, gamma: Tensor, beta: Tensor) -> &mut Sequential {
        let name = self.next_name("batchnorm");
        let mut norm = self.new_norm(&name, gamma, beta);
        let width = self.outputs();
        let mean = self.params.insert_buffer(format!("{name}.running_mean"), Tensor::zeros(1, width));
        let var = self.params.insert_buffer(format!("{name}.running_var"), Tensor::full(1, width, 1.0));
        norm.running = Some((mean, var));
        self.push(Layer::BatchNorm(norm))
    }

    /// Appends layer normalization over each row's features (`eps = 1e-5`, `γ` from 1,
    /// `β` from 0).
    pub fn layer_norm(&mut self) -> &mut Sequential {
        let width = self.outputs();
        self.push_layer_norm(Tensor::full(1, width, 1.0), Tensor::zeros(1, width))
    }

    /// [`Sequential::layer_norm`] with `γ` and `β` from initializers.
    pub fn layer_norm_with(
        &mut self,
        gamma: &dyn Initializer,
        beta: &dyn Initializer,
        rng: &mut SeededRng,
    ) -> &mut Sequential {
        let (gamma, beta) = self.norm_rows(gamma, beta, rng);
        self.push_layer_norm(gamma, beta)
    }

    fn push_layer_norm(&mut self, gamma: Tensor, beta: Tensor) -> &mut Sequential {
        let name = self.next_name("layernorm");
        let norm = self.new_norm(&name, gamma, beta);
        self.push(Layer::LayerNorm(norm))
    }

    /// A norm's `γ` and `β` rows over the current width, from their initializers.
    fn norm_rows(&self, gamma: &dyn Initializer, beta: &dyn Initializer, rng: &mut SeededRng) -> (Tensor, Tensor) {
        let width = self.outputs();
        let shape = ParamShape::bias(width, width);
        (gamma.init(shape, rng), beta.init(shape, rng))
    }

    fn new_norm(&mut self, name: &str, gamma: Tensor, beta: Tensor) -> Norm {
        let gamma = self.params.insert(format!("{name}.gamma"), gamma);
        let beta = self.params.insert(format!("{name}.beta"), beta);
        Norm { eps: 1e-5, momentum: 0.1, gamma, beta, running: None }
    }

    /// Appends inverted dropout with drop probability `p`, active only while training.
    ///
    /// # Panics
    /// If `p` is not in `[0, 1)`.
    pub fn dropout(&mut self, p: f64) -> &mut Sequential {
        assert!((0.0..1.0).contains(&p), "dropout: p = {p} is not in [0, 1)");
        self.push(Layer::Dropout(Dropout { p }))
    }

    /// Appends a layer of one's own.
    pub fn module(&mut self, module: Box<dyn Module>) -> &mut Sequential {
        self.push(Layer::Module(module))
    }

    /// Appends a residual block `x + f(x)`: the layers that `block` appends become `f`.
    /// When `f` changes the width, `projection` gives the skip path a dense layer of its
    /// own (initialized by `projection_init`, bias zero); otherwise the widths must match.
    /// Parameters inside are named after the block: `residual2.dense0.weight`.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let mut rng = seeded_rng(0, 1);
    /// let mut model = Sequential::new(4);
    /// model.residual(None, &mut rng, |b, rng| {
    ///     b.dense(4, Activation::Relu, &Init::HeNormal, rng);
    ///     b.dense(4, Activation::Identity, &Init::Zeros, rng); // Fixup: the branch starts at 0
    /// });
    /// let x = Tensor::from_vec(1, 4, vec![1.0, -2.0, 3.0, 0.5]);
    /// let tape = Tape::new();
    /// assert_eq!(model.forward(&tape, tape.constant_from(&x)).value(), x);
    /// ```
    ///
    /// # Panics
    /// If the block's output width differs from its input's and there is no projection.
    pub fn residual(
        &mut self,
        projection: Option<&dyn Initializer>,
        rng: &mut SeededRng,
        block: impl FnOnce(&mut Sequential, &mut SeededRng),
    ) -> &mut Sequential {
        let name = self.next_name("residual");
        let inputs = self.outputs();
        self.open.push((name.clone(), Vec::new()));
        block(self, rng);
        let (_, layers) = self.open.pop().expect("the block opened above");
        let outputs = layers.iter().fold(inputs, |w, l| l.outputs(w));
        let projection = match projection {
            Some(init) => {
                let name = format!("{name}.projection");
                Some(self.new_dense(&name, inputs, outputs, Activation::Identity, init, &Init::Zeros, rng))
            }
            None => {
                assert!(
                    outputs == inputs,
                    "{name}: the block maps {inputs} features to {outputs}; give it a projection"
                );
                None
            }
        };
        self.push(Layer::Residual(Residual { block: layers, projection }))
    }

    /// Number of input features.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Width of the last layer (the inputs, for an empty model).
    pub fn outputs(&self) -> usize {
        let top = self.layers.iter().fold(self.inputs, |w, l| l.outputs(w));
        self.open.iter().fold(top, |w, (_, block)| block.iter().fold(w, |w, l| l.outputs(w)))
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The dense layers, in order, those inside residual blocks included (the study tools
    /// measure every layer: see [`Sequential::forward_trace`]).
    pub fn dense_layers(&self) -> Vec<&Dense> {
        let mut out = Vec::new();
        self.layers.iter().for_each(|l| l.dense_layers(&mut out));
        out
    }

    /// The model's output (logits) for `x` in evaluation mode, with the parameters put
    /// on `tape` as leaves.
    pub fn forward<'t>(&self, tape: &'t Tape, x: Var<'t>) -> Var<'t> {
        self.forward_with(&self.params.leaves(tape), x)
    }

    /// The model's output for `x` in evaluation mode, with parameters already on the tape
    /// (from `self.params.leaves(tape)`), so their gradients can be read afterwards.
    pub fn forward_with<'t>(&self, params: &ParamVars<'t>, x: Var<'t>) -> Var<'t> {
        layer::run(&self.layers, x, &mut Forward::eval(params, &self.params), &mut ())
    }

    /// The model's output for `x` in training mode: batch norm uses and records batch
    /// statistics, dropout draws its masks from `rng`.
    pub fn forward_train<'t>(&mut self, params: &ParamVars<'t>, x: Var<'t>, rng: &mut SeededRng) -> Var<'t> {
        layer::run(&self.layers, x, &mut Forward::train(params, &mut self.params, rng), &mut ())
    }

    /// The model's loss on its output against targets, as the task defines it.
    pub fn loss<'t>(&self, logits: Var<'t>, targets: &Tensor) -> Var<'t> {
        self.task.loss(logits, targets)
    }

    /// The model's logits for each row of `x`, in evaluation mode.
    pub fn logits(&self, x: &Tensor) -> Tensor {
        let tape = Tape::new();
        self.forward(&tape, tape.constant_from(x)).value()
    }

    /// The model's prediction for each row of `x`, in evaluation mode: the probability
    /// of class 1 (binary), each class's probability (multi-class), or the value
    /// (regression).
    pub fn predict(&self, x: &Tensor) -> Tensor {
        let tape = Tape::new();
        self.task.predict(self.forward(&tape, tape.constant_from(x))).value()
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
