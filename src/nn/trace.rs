//! [`Sequential::forward_trace`]: the model run on the tape as usual, with every layer's
//! output kept under a readable name; what the study tools measure.

use std::ops::Range;
use std::slice;

use crate::tape::Var;

use super::layer::{self, Watch};
use super::{Activation, Dense, Forward, Layer, Sequential};

/// One layer of a traced run.
#[derive(Clone)]
pub struct Traced<'t, 'm> {
    /// The layer's name, which prefixes its parameters in the store: `dense0`,
    /// `batchnorm1`, `residual3`, `residual3.dense0`, `module4`.
    pub name: String,
    /// The layer.
    pub layer: &'m Layer,
    /// 0 for the model's own layers, 1 inside a residual block, 2 inside a block within a
    /// block, ...
    pub depth: usize,
    /// A dense layer's `x·W + b`, before its activation; `None` for other layers.
    pub pre_activation: Option<Var<'t>>,
    /// The layer's output: after a dense layer's activation, after a residual block's add.
    pub output: Var<'t>,
    /// Store positions of the layer's own parameters: a dense layer's weight and bias, a
    /// norm's `γ` and `β`, a residual block's projection (its inner layers report their
    /// own), whatever a layer of one's own added to the store before it was appended;
    /// none for activations and dropout.
    pub params: Vec<usize>,
    /// Of those, the weights, whose gradient the study tools report: a dense layer's (or a
    /// projection's) weight, a norm's `γ`, every parameter of a layer of one's own.
    pub weights: Vec<usize>,
}

impl Traced<'_, '_> {
    /// Whether the output is a ReLU's (a dense layer with ReLU, or a ReLU layer).
    pub fn is_relu(&self) -> bool {
        matches!(
            self.layer,
            Layer::Dense(Dense { activation: Activation::Relu, .. }) | Layer::Activation(Activation::Relu)
        )
    }
}

/// Every layer of a traced run and the model's output.
#[derive(Clone)]
pub struct Trace<'t, 'm> {
    /// Every layer, in the order they finished: the layers inside a residual block come
    /// before the block itself.
    pub layers: Vec<Traced<'t, 'm>>,
    /// The model's output (logits): what [`Sequential::forward_with`] gives.
    pub output: Var<'t>,
}

impl Sequential {
    /// Runs the model on `x` in the mode of `f` ([`Forward::eval`], or [`Forward::train`]
    /// or [`Forward::train_frozen`] to leave the running statistics alone) and keeps every
    /// layer's output: the layers of a residual block, then the block, whose output is
    /// taken after the add. The output is the one [`Sequential::forward_with`] or
    /// [`Sequential::forward_train`] gives, made by the same ops.
    ///
    /// ```
    /// use tapegrad::nn::Forward;
    /// use tapegrad::prelude::*;
    /// let mut rng = seeded_rng(0, 1);
    /// let mut model = Sequential::new(3);
    /// model.push_spec("dense:4,batchnorm,relu,residual(dense:4,tanh)", &Init::HeNormal, &mut rng).unwrap();
    /// let tape = Tape::new();
    /// let params = model.params.leaves(&tape);
    /// let x = tape.constant(Tensor::randn(5, 3, &mut rng));
    /// let trace = model.forward_trace(x, &mut Forward::eval(&params, &model.params));
    /// let names: Vec<&str> = trace.layers.iter().map(|l| l.name.as_str()).collect();
    /// assert_eq!(names, ["dense0", "batchnorm1", "activation2", "residual3.dense0", "residual3.activation1", "residual3"]);
    /// let gamma = trace.layers[1].weights[0];
    /// assert_eq!(model.params.get_index(gamma).unwrap().0, "batchnorm1.gamma");
    /// ```
    pub fn forward_trace<'t, 'm>(&'m self, x: Var<'t>, f: &mut Forward<'t, '_>) -> Trace<'t, 'm> {
        let mut recorder = Recorder { open: Vec::new(), modules: self.module_params.iter(), layers: Vec::new() };
        let output = layer::run(&self.layers, x, f, &mut recorder);
        Trace { layers: recorder.layers, output }
    }
}

/// Names each layer as it starts and records it as it finishes.
struct Recorder<'t, 'm> {
    /// The layers started and not finished, outermost first, with their names.
    open: Vec<(String, &'m Layer)>,
    /// The parameters of each layer of one's own, in order.
    modules: slice::Iter<'m, Range<usize>>,
    layers: Vec<Traced<'t, 'm>>,
}

impl<'t, 'm> Watch<'t, 'm> for Recorder<'t, 'm> {
    fn enter(&mut self, index: usize, layer: &'m Layer) {
        let prefix = self.open.last().map_or(String::new(), |(name, _)| format!("{name}."));
        self.open.push((format!("{prefix}{}{index}", layer.kind()), layer));
    }

    fn leave(&mut self, pre_activation: Option<Var<'t>>, output: Var<'t>) {
        let (name, layer) = self.open.pop().expect("the layer that finishes is the one started last");
        let (params, weights) = match layer {
            Layer::Dense(d) => (vec![d.weight, d.bias], vec![d.weight]),
            Layer::BatchNorm(n) | Layer::LayerNorm(n) => (vec![n.gamma, n.beta], vec![n.gamma]),
            Layer::Residual(r) => {
                r.projection.as_ref().map_or((vec![], vec![]), |p| (vec![p.weight, p.bias], vec![p.weight]))
            }
            Layer::Module(_) => {
                let own: Vec<usize> =
                    self.modules.next().expect("each layer of one's own has its parameters").clone().collect();
                (own.clone(), own)
            }
            Layer::Activation(_) | Layer::Dropout(_) => (vec![], vec![]),
        };
        let depth = self.open.len();
        self.layers.push(Traced { name, layer, depth, pre_activation, output, params, weights });
    }
}
