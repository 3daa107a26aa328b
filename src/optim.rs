//! Optimizers: how a parameter moves given its gradient. State is keyed by parameter
//! name, so it survives from one tape to the next; it is allocated on the first step and
//! reused after, so a warm training loop allocates nothing here.

use std::collections::HashMap;

use crate::params::ParamStore;
use crate::tape::{Gradients, Var};
use crate::tensor::Tensor;

/// Updates parameters from their gradients.
pub trait Optimizer {
    /// One step: moves every parameter in `params` by its gradient in `grads`, where
    /// `vars` are the parameters' leaves on the tape (from [`ParamStore::leaves`], in store
    /// order). Buffers are not parameters and stay as they are.
    ///
    /// ```
    /// use tapegrad::optim::Adam;
    /// use tapegrad::prelude::*;
    /// let mut params = ParamStore::new();
    /// params.insert("w", Tensor::scalar(1.0));
    /// let mut adam = Adam::new(0.1);
    /// let tape = Tape::new();
    /// let vars = params.leaves(&tape);
    /// let grads = (vars[0] * vars[0]).backward();
    /// adam.step(&mut params, &vars, &grads);
    /// assert!((params["w"].item() - 0.9).abs() < 1e-8); // Adam's first step is lr
    /// ```
    ///
    /// # Panics
    /// If `vars` does not hold one leaf per parameter.
    fn step(&mut self, params: &mut ParamStore, vars: &[Var<'_>], grads: &Gradients<'_>) {
        assert!(
            vars.len() == params.len(),
            "Optimizer::step: {} leaves for {} parameters (pass the vars from params.leaves(&tape))",
            vars.len(),
            params.len()
        );
        self.begin_step();
        for ((name, value), &var) in params.iter_mut().zip(vars) {
            self.update(name, value, grads.wrt(var));
        }
    }

    /// Called once per step, before the parameters are updated; [`Optimizer::step`]
    /// calls it.
    fn begin_step(&mut self) {}

    /// Moves `param` (called `name`) given its gradient.
    fn update(&mut self, name: &str, param: &mut Tensor, grad: &Tensor);

    /// The learning rate, for diagnostics such as the update-to-data ratio.
    fn learning_rate(&self) -> f64;
}

/// Plain gradient descent, `θ ← θ - lr·g`: the classic experiment's optimizer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientDescent {
    /// Learning rate.
    pub lr: f64,
}

impl Optimizer for GradientDescent {
    fn update(&mut self, _name: &str, param: &mut Tensor, grad: &Tensor) {
        // `p + (-lr)·g` is bit for bit `p - lr·g`: negation is exact.
        param.add_scaled(-self.lr, grad);
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }
}

/// One state tensor per parameter name, made (zeros, shaped like the parameter) the first
/// time a name is seen.
#[derive(Clone, Debug, Default, PartialEq)]
struct PerParam<const K: usize> {
    state: HashMap<String, [Tensor; K]>,
}

impl<const K: usize> PerParam<K> {
    /// The state of `name`, checked against the shape of `param` and `grad`.
    fn get(&mut self, op: &str, name: &str, param: &Tensor, grad: &Tensor) -> &mut [Tensor; K] {
        let (p, g) = (param.shape(), grad.shape());
        assert!(p == g, "{op}: parameter `{name}` is {}x{} but its gradient is {}x{}", p.0, p.1, g.0, g.1);
        if !self.state.contains_key(name) {
            self.state.insert(name.to_string(), std::array::from_fn(|_| Tensor::zeros(p.0, p.1)));
        }
        let state = self.state.get_mut(name).expect("just inserted");
        let s = state[0].shape();
        assert!(s == p, "{op}: parameter `{name}` was {}x{} at the last step, now {}x{}", s.0, s.1, p.0, p.1);
        state
    }
}

/// Gradient descent with (heavy-ball or Nesterov) momentum, as PyTorch's `SGD` computes
/// it without dampening:
///
/// `v ← μ·v + g`, then `θ ← θ - lr·v`, or with Nesterov `θ ← θ - lr·(g + μ·v)`.
///
/// ```
/// use tapegrad::optim::{Momentum, Optimizer};
/// use tapegrad::Tensor;
/// let mut opt = Momentum::new(0.1, 0.9, false);
/// let mut w = Tensor::scalar(1.0);
/// opt.begin_step();
/// opt.update("w", &mut w, &Tensor::scalar(2.0)); // v = 2, w = 1 - 0.1·2
/// assert!((w.item() - 0.8).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Momentum {
    /// Learning rate.
    pub lr: f64,
    /// Momentum coefficient `μ`, usually 0.9.
    pub momentum: f64,
    /// Whether to use Nesterov's look-ahead form.
    pub nesterov: bool,
    velocity: PerParam<1>,
}

impl Momentum {
    /// Momentum with no velocity yet.
    pub fn new(lr: f64, momentum: f64, nesterov: bool) -> Momentum {
        Momentum { lr, momentum, nesterov, velocity: PerParam::default() }
    }
}

impl Optimizer for Momentum {
    fn update(&mut self, name: &str, param: &mut Tensor, grad: &Tensor) {
        let (lr, mu, nesterov) = (self.lr, self.momentum, self.nesterov);
        let [v] = self.velocity.get("Momentum::update", name, param, grad);
        let it = param.data_mut().iter_mut().zip(grad.data()).zip(v.data_mut());
        for ((p, &g), v) in it {
            *v = mu * *v + g;
            *p -= lr * if nesterov { g + mu * *v } else { *v };
        }
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }
}

/// Adam (Kingma & Ba, 2015, Algorithm 1) with bias correction, and AdamW's decoupled
/// weight decay (Loshchilov & Hutter, 2019) when `weight_decay > 0`, as PyTorch's
/// `AdamW` applies it:
///
/// `θ ← θ·(1 - lr·λ)`, `m ← β₁m + (1-β₁)g`, `v ← β₂v + (1-β₂)g²`,
/// `θ ← θ - lr·m̂ / (√v̂ + ε)` with `m̂ = m / (1-β₁ᵗ)`, `v̂ = v / (1-β₂ᵗ)`.
///
/// The step count `t` advances in [`Optimizer::begin_step`], once per step for all
/// parameters.
///
/// ```
/// use tapegrad::optim::{Adam, Optimizer};
/// use tapegrad::Tensor;
/// let mut opt = Adam::new(0.1);
/// let mut w = Tensor::scalar(1.0);
/// opt.begin_step();
/// opt.update("w", &mut w, &Tensor::scalar(2.0)); // the first step moves by about lr
/// assert!((w.item() - 0.9).abs() < 1e-8);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    /// Learning rate (step size `α`).
    pub lr: f64,
    /// Decay of the first-moment estimate, usually 0.9.
    pub beta1: f64,
    /// Decay of the second-moment estimate, usually 0.999.
    pub beta2: f64,
    /// Added to `√v̂` to avoid dividing by zero, usually 1e-8.
    pub eps: f64,
    /// Decoupled weight decay `λ` (AdamW); 0 gives plain Adam.
    pub weight_decay: f64,
    step: u64,
    moments: PerParam<2>,
}

impl Adam {
    /// Adam with the paper's defaults (`β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8`) and no
    /// weight decay; set the public fields to change them before the first step.
    pub fn new(lr: f64) -> Adam {
        Adam::with(lr, 0.9, 0.999, 1e-8, 0.0)
    }

    /// Adam with every hyper-parameter given.
    pub fn with(lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Adam {
        Adam { lr, beta1, beta2, eps, weight_decay, step: 0, moments: PerParam::default() }
    }

    /// Number of steps begun so far.
    pub fn steps(&self) -> u64 {
        self.step
    }
}

impl Optimizer for Adam {
    fn begin_step(&mut self) {
        self.step += 1;
    }

    fn update(&mut self, name: &str, param: &mut Tensor, grad: &Tensor) {
        assert!(self.step > 0, "Adam::update: call begin_step before updating parameter `{name}`");
        let (lr, b1, b2, eps) = (self.lr, self.beta1, self.beta2, self.eps);
        let t = i32::try_from(self.step).unwrap_or(i32::MAX);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        let decay = 1.0 - lr * self.weight_decay;
        let [m, v] = self.moments.get("Adam::update", name, param, grad);
        let it = param.data_mut().iter_mut().zip(grad.data()).zip(m.data_mut().iter_mut().zip(v.data_mut()));
        for ((p, &g), (m, v)) in it {
            *p *= decay;
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
        }
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `steps` steps of `opt` on `f(θ) = Σ (θ - c)²` (gradient `2(θ - c)`) and
    /// returns θ after each.
    fn descend(opt: &mut dyn Optimizer, theta: &[f64], c: &[f64], steps: usize) -> Vec<Vec<f64>> {
        let mut p = Tensor::from_vec(1, theta.len(), theta.to_vec());
        (0..steps)
            .map(|_| {
                let g = Tensor::from_vec(1, c.len(), p.data().iter().zip(c).map(|(p, c)| 2.0 * (p - c)).collect());
                opt.begin_step();
                opt.update("p", &mut p, &g);
                p.data().to_vec()
            })
            .collect()
    }

    fn assert_close(got: &[Vec<f64>], want: &[&[f64]], tol: f64) {
        for (step, (g, w)) in got.iter().zip(want).enumerate() {
            for (a, b) in g.iter().zip(w.iter()) {
                assert!((a - b).abs() <= tol, "step {}: got {g:?}, want {w:?}", step + 1);
            }
        }
    }

    #[test]
    fn momentum_matches_hand_computed_steps() {
        // f = θ², g = 2θ, θ₀ = 1, lr 0.1, μ 0.9:
        // step 1: g = 2,   v = 2,               θ = 1 - 0.2    = 0.8
        // step 2: g = 1.6, v = 0.9·2 + 1.6 = 3.4, θ = 0.8 - 0.34 = 0.46
        let got = descend(&mut Momentum::new(0.1, 0.9, false), &[1.0], &[0.0], 2);
        assert_close(&got, &[&[0.8], &[0.46]], 1e-15);
    }

    #[test]
    fn nesterov_matches_hand_computed_steps() {
        // step 1: g = 2,    v = 2,                  θ = 1 - 0.1·(2 + 0.9·2)         = 0.62
        // step 2: g = 1.24, v = 0.9·2 + 1.24 = 3.04, θ = 0.62 - 0.1·(1.24 + 0.9·3.04) = 0.2224
        let got = descend(&mut Momentum::new(0.1, 0.9, true), &[1.0], &[0.0], 2);
        assert_close(&got, &[&[0.62], &[0.2224]], 1e-15);
    }

    #[test]
    fn momentum_zero_is_gradient_descent() {
        let a = descend(&mut Momentum::new(0.05, 0.0, false), &[1.0, -3.0], &[0.5, 0.5], 5);
        let b = descend(&mut GradientDescent { lr: 0.05 }, &[1.0, -3.0], &[0.5, 0.5], 5);
        assert_eq!(a, b);
    }

    // The expected values below were computed independently in Python (plain floats, no
    // framework) from the update rule of Kingma & Ba (2015), Algorithm 1, for
    // f(θ) = Σ (θᵢ - cᵢ)², θ₀ = (1, -2), c = (0.5, 0.5), α = 0.1, β₁ = 0.9, β₂ = 0.999,
    // ε = 1e-8; the AdamW ones first multiply θ by (1 - α·λ), λ = 0.1, as in Loshchilov &
    // Hutter (2019), Algorithm 2, with the schedule multiplier η = α (PyTorch's AdamW).

    #[test]
    fn adam_first_three_steps_follow_the_paper() {
        let got = descend(&mut Adam::new(0.1), &[1.0, -2.0], &[0.5, 0.5], 3);
        let want: [&[f64]; 3] = [
            &[0.900000001, -1.9000000002],
            &[0.8011874216591668, -1.800127188380826],
            &[0.7048712525602996, -1.700473933862959],
        ];
        assert_close(&got, &want, 1e-14);
    }

    #[test]
    fn adamw_first_three_steps_decay_the_weights_decoupled() {
        let got = descend(&mut Adam::with(0.1, 0.9, 0.999, 1e-8, 0.1), &[1.0, -2.0], &[0.5, 0.5], 3);
        let want: [&[f64]; 3] = [
            &[0.890000001, -1.8800000002],
            &[0.7824947390555377, -1.7613583758696036],
            &[0.6790401710086296, -1.644176218495963],
        ];
        assert_close(&got, &want, 1e-14);
    }

    #[test]
    fn state_is_per_name_and_survives_across_steps() {
        let mut opt = Adam::new(0.1);
        let (mut a, mut b) = (Tensor::scalar(1.0), Tensor::from_vec(1, 2, vec![1.0, 1.0]));
        for _ in 0..3 {
            opt.begin_step();
            opt.update("a", &mut a, &Tensor::scalar(1.0));
            opt.update("b", &mut b, &Tensor::from_vec(1, 2, vec![-1.0, 0.0]));
        }
        assert_eq!(opt.steps(), 3);
        assert_eq!(opt.moments.state.len(), 2);
        // A constant gradient makes m̂ = g and v̂ = g², so every step moves by lr (to ε).
        assert!((a.item() - 0.7).abs() < 1e-7, "{a:?}");
        assert!((b.data()[0] - 1.3).abs() < 1e-7 && b.data()[1] == 1.0, "{b:?}");
    }

    #[test]
    #[should_panic(expected = "Adam::update: parameter `w` was 1x2 at the last step, now 2x1")]
    fn a_parameter_that_changes_shape_is_a_clear_panic() {
        let mut opt = Adam::new(0.1);
        opt.begin_step();
        opt.update("w", &mut Tensor::zeros(1, 2), &Tensor::zeros(1, 2));
        opt.update("w", &mut Tensor::zeros(2, 1), &Tensor::zeros(2, 1));
    }

    #[test]
    #[should_panic(expected = "Momentum::update: parameter `w` is 1x2 but its gradient is 2x1")]
    fn a_gradient_of_another_shape_is_a_clear_panic() {
        Momentum::new(0.1, 0.9, false).update("w", &mut Tensor::zeros(1, 2), &Tensor::zeros(2, 1));
    }
}
