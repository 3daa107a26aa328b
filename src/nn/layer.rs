//! The layers a [`Sequential`](super::Sequential) holds, each written with tape ops: no
//! layer knows a derivative. A layer reads its parameters from the model's
//! [`ParamStore`] (by position) and, through [`Forward`], knows whether the model is
//! training, so that batch norm and dropout can behave as each mode asks.

use std::fmt;

use rand::RngExt as _;

use crate::init::SeededRng;
use crate::params::{ParamStore, ParamVars};
use crate::tape::Var;

use super::Activation;

/// What a layer's forward pass sees besides its input: the parameters on the tape, the
/// buffers (read, or updated while training unless frozen) and, while training, a random
/// generator.
pub struct Forward<'t, 'a> {
    /// The model's parameters on the tape, in store order.
    pub params: &'a ParamVars<'t>,
    store: Store<'a>,
    rng: Option<&'a mut SeededRng>,
}

enum Store<'a> {
    Read(&'a ParamStore),
    Update(&'a mut ParamStore),
}

impl<'t, 'a> Forward<'t, 'a> {
    /// Evaluation mode: running statistics are used and left alone, dropout is off.
    pub fn eval(params: &'a ParamVars<'t>, store: &'a ParamStore) -> Forward<'t, 'a> {
        Forward { params, store: Store::Read(store), rng: None }
    }

    /// Training mode: batch statistics are used and update the running ones, dropout
    /// draws its masks from `rng`.
    pub fn train(params: &'a ParamVars<'t>, store: &'a mut ParamStore, rng: &'a mut SeededRng) -> Forward<'t, 'a> {
        Forward { params, store: Store::Update(store), rng: Some(rng) }
    }

    /// Training mode with the running statistics left alone: batch statistics are used
    /// and update nothing, dropout draws its masks from `rng`. What the study tools
    /// measure.
    pub fn train_frozen(params: &'a ParamVars<'t>, store: &'a ParamStore, rng: &'a mut SeededRng) -> Forward<'t, 'a> {
        Forward { params, store: Store::Read(store), rng: Some(rng) }
    }

    /// Whether the model is training.
    pub fn training(&self) -> bool {
        self.rng.is_some()
    }

    /// The buffer at position `index` of the store.
    pub fn buffer(&self, index: usize) -> &crate::Tensor {
        match &self.store {
            Store::Read(s) => s.buffer(index),
            Store::Update(s) => s.buffer(index),
        }
    }

    /// The buffer at position `index`, to update: `None` in evaluation mode and in
    /// [`Forward::train_frozen`].
    pub fn buffer_mut(&mut self, index: usize) -> Option<&mut crate::Tensor> {
        match &mut self.store {
            Store::Read(_) => None,
            Store::Update(s) => Some(s.buffer_mut(index)),
        }
    }

    /// The random generator: `None` in evaluation mode.
    pub fn rng(&mut self) -> Option<&mut SeededRng> {
        self.rng.as_deref_mut()
    }
}

/// A layer of one's own, for what the built-in [`Layer`]s do not cover: GELU written
/// from ops, a custom op, a norm of another kind. Its parameters go in the model's store
/// ([`Sequential::add_param`](super::Sequential::add_param)), so training, the study
/// tools and saving see them like any other.
pub trait Module: fmt::Debug + Send + Sync {
    /// The layer's output for input `x`.
    fn forward<'t>(&self, x: Var<'t>, f: &mut Forward<'t, '_>) -> Var<'t>;

    /// The width of the output for `inputs` input features (the same, by default).
    fn outputs(&self, inputs: usize) -> usize {
        inputs
    }

    /// A boxed copy, so that a model holding the layer can be cloned.
    fn clone_box(&self) -> Box<dyn Module>;
}

/// One layer of a [`Sequential`](super::Sequential).
#[derive(Debug)]
pub enum Layer {
    /// `act(x·W + b)`.
    Dense(Dense),
    /// An activation on its own.
    Activation(Activation),
    /// Batch normalization over each feature.
    BatchNorm(Norm),
    /// Layer normalization over each row.
    LayerNorm(Norm),
    /// `x + f(x)` around a block of layers.
    Residual(Residual),
    /// Inverted dropout.
    Dropout(Dropout),
    /// A layer of one's own.
    Module(Box<dyn Module>),
}

impl Clone for Layer {
    fn clone(&self) -> Layer {
        match self {
            Layer::Dense(d) => Layer::Dense(d.clone()),
            Layer::Activation(a) => Layer::Activation(*a),
            Layer::BatchNorm(n) => Layer::BatchNorm(n.clone()),
            Layer::LayerNorm(n) => Layer::LayerNorm(n.clone()),
            Layer::Residual(r) => Layer::Residual(r.clone()),
            Layer::Dropout(d) => Layer::Dropout(*d),
            Layer::Module(m) => Layer::Module(m.clone_box()),
        }
    }
}

impl PartialEq for Layer {
    /// Layers of one's own compare by their debug text.
    fn eq(&self, other: &Layer) -> bool {
        match (self, other) {
            (Layer::Dense(a), Layer::Dense(b)) => a == b,
            (Layer::Activation(a), Layer::Activation(b)) => a == b,
            (Layer::BatchNorm(a), Layer::BatchNorm(b)) | (Layer::LayerNorm(a), Layer::LayerNorm(b)) => a == b,
            (Layer::Residual(a), Layer::Residual(b)) => a == b,
            (Layer::Dropout(a), Layer::Dropout(b)) => a == b,
            (Layer::Module(a), Layer::Module(b)) => format!("{a:?}") == format!("{b:?}"),
            _ => false,
        }
    }
}

impl Layer {
    /// The layer's kind, as its parameters' names and the layer specs spell it.
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Dense(_) => "dense",
            Layer::Activation(_) => "activation",
            Layer::BatchNorm(_) => "batchnorm",
            Layer::LayerNorm(_) => "layernorm",
            Layer::Residual(_) => "residual",
            Layer::Dropout(_) => "dropout",
            Layer::Module(_) => "module",
        }
    }

    /// The width of the output for `inputs` features.
    pub fn outputs(&self, inputs: usize) -> usize {
        match self {
            Layer::Dense(d) => d.outputs,
            Layer::Residual(r) => r.projection.as_ref().map_or(inputs, |p| p.outputs),
            Layer::Module(m) => m.outputs(inputs),
            _ => inputs,
        }
    }

    /// The layer's output for `x`.
    pub fn forward<'t>(&self, x: Var<'t>, f: &mut Forward<'t, '_>) -> Var<'t> {
        self.forward_watched(x, f, &mut ()).1
    }

    /// The layer's output for `x` and, for a dense layer, its pre-activation `x·W + b`;
    /// `watch` sees the layers inside a residual block as they run.
    fn forward_watched<'t, 'm>(
        &'m self,
        x: Var<'t>,
        f: &mut Forward<'t, '_>,
        watch: &mut dyn Watch<'t, 'm>,
    ) -> (Option<Var<'t>>, Var<'t>) {
        match self {
            Layer::Dense(d) => {
                let z = d.pre_activation(f.params, x);
                (Some(z), d.activation.apply(z))
            }
            Layer::Activation(a) => (None, a.apply(x)),
            Layer::BatchNorm(n) => (None, n.batch_norm(x, f)),
            Layer::LayerNorm(n) => (None, n.layer_norm(x, f)),
            Layer::Residual(r) => (None, r.forward(x, f, watch)),
            Layer::Dropout(d) => (None, d.forward(x, f)),
            Layer::Module(m) => (None, m.forward(x, f)),
        }
    }

    /// The dense layers in this layer, in order (itself, or those inside a block).
    pub(crate) fn dense_layers<'a>(&'a self, out: &mut Vec<&'a Dense>) {
        match self {
            Layer::Dense(d) => out.push(d),
            Layer::Residual(r) => {
                r.block.iter().for_each(|l| l.dense_layers(out));
                out.extend(&r.projection);
            }
            _ => {}
        }
    }
}

/// What sees each layer of a run as it runs: [`super::Sequential::forward_trace`]'s
/// recorder, or `()`, which sees nothing (training's own runs).
pub(crate) trait Watch<'t, 'm> {
    /// Layer `index` of its block (or of the model) starts.
    fn enter(&mut self, index: usize, layer: &'m Layer);
    /// The layer entered last is done: its pre-activation (dense layers) and output.
    fn leave(&mut self, pre_activation: Option<Var<'t>>, output: Var<'t>);
}

impl<'t, 'm> Watch<'t, 'm> for () {
    fn enter(&mut self, _: usize, _: &'m Layer) {}
    fn leave(&mut self, _: Option<Var<'t>>, _: Var<'t>) {}
}

/// Runs `layers` in order on `x`, showing each to `watch`.
pub(crate) fn run<'t, 'm>(
    layers: &'m [Layer],
    x: Var<'t>,
    f: &mut Forward<'t, '_>,
    watch: &mut dyn Watch<'t, 'm>,
) -> Var<'t> {
    layers.iter().enumerate().fold(x, |h, (i, layer)| {
        watch.enter(i, layer);
        let (pre_activation, output) = layer.forward_watched(h, f, watch);
        watch.leave(pre_activation, output);
        output
    })
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
    pub(crate) weight: usize,
    pub(crate) bias: usize,
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

/// A normalization: each feature of a batch (batch norm) or each row (layer norm)
/// brought to mean 0 and variance 1, then scaled by `γ` and shifted by `β`, learnable
/// `(1, features)` rows that start at 1 and 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Norm {
    /// Added to the variance before its square root.
    pub eps: f64,
    /// How far one batch moves the running statistics (batch norm only).
    pub momentum: f64,
    pub(crate) gamma: usize,
    pub(crate) beta: usize,
    /// Positions of the running mean and variance among the store's buffers (batch norm).
    pub(crate) running: Option<(usize, usize)>,
}

impl Norm {
    /// `γ·(x - mean)/√(var + eps) + β` over `axis`, with given statistics.
    fn normalize<'t>(&self, x: Var<'t>, mean: Var<'t>, var: Var<'t>, f: &Forward<'t, '_>) -> Var<'t> {
        let (gamma, beta) = (f.params[self.gamma], f.params[self.beta]);
        (x - mean) / (var + self.eps).sqrt() * gamma + beta
    }

    /// Batch norm: while training, the batch's mean and biased variance per feature, with
    /// the running statistics moved towards them (the variance unbiased, as PyTorch
    /// does); in evaluation, the running statistics.
    fn batch_norm<'t>(&self, x: Var<'t>, f: &mut Forward<'t, '_>) -> Var<'t> {
        let (rm, rv) = self.running.expect("batch norm keeps running statistics");
        if !f.training() {
            let tape = x.tape();
            let (mean, var) = (tape.constant_from(f.buffer(rm)), tape.constant_from(f.buffer(rv)));
            return self.normalize(x, mean, var, f);
        }
        let (mean, var) = (x.mean_axis(0), x.var_axis(0));
        let (n, m) = (x.shape().0 as f64, self.momentum);
        let unbiased = if n > 1.0 { n / (n - 1.0) } else { 1.0 };
        for (index, stat, scale) in [(rm, mean, 1.0), (rv, var, unbiased)] {
            if let Some(running) = f.buffer_mut(index) {
                stat.with_value(|v| {
                    running.data_mut().iter_mut().zip(v.data()).for_each(|(r, &v)| *r = (1.0 - m) * *r + m * scale * v);
                });
            }
        }
        self.normalize(x, mean, var, f)
    }

    /// Layer norm: each row's own mean and biased variance, in both modes.
    fn layer_norm<'t>(&self, x: Var<'t>, f: &mut Forward<'t, '_>) -> Var<'t> {
        self.normalize(x, x.mean_axis(1), x.var_axis(1), f)
    }
}

/// `x + f(x)`, `f` a block of layers; with a projection, `x·P + f(x)` for a block that
/// changes the width.
#[derive(Clone, Debug, PartialEq)]
pub struct Residual {
    /// The layers of `f`.
    pub block: Vec<Layer>,
    /// A dense layer (no activation) applied to the skip path, if any.
    pub projection: Option<Dense>,
}

impl Residual {
    fn forward<'t, 'm>(&'m self, x: Var<'t>, f: &mut Forward<'t, '_>, watch: &mut dyn Watch<'t, 'm>) -> Var<'t> {
        let branch = run(&self.block, x, f, watch);
        let skip = match &self.projection {
            Some(p) => p.forward(f.params, x),
            None => x,
        };
        skip + branch
    }
}

/// Inverted dropout: while training, each element is zeroed with probability `p` and
/// the others are divided by `1 - p`, so the expected value is unchanged; in evaluation
/// the identity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    /// The probability of dropping an element, in `[0, 1)`.
    pub p: f64,
}

impl Dropout {
    fn forward<'t>(&self, x: Var<'t>, f: &mut Forward<'t, '_>) -> Var<'t> {
        let Some(rng) = f.rng().filter(|_| self.p > 0.0) else { return x };
        let (r, c) = x.shape();
        let keep = 1.0 / (1.0 - self.p);
        let p = self.p;
        let mask = x.tape().constant_with(r, c, |d| {
            d.iter_mut().for_each(|m| *m = if rng.random::<f64>() < p { 0.0 } else { keep });
        });
        x * mask
    }
}
