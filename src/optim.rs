//! Optimizers: how a parameter moves given its gradient. State is keyed by parameter
//! name, so it survives from one tape to the next.

use crate::tensor::Tensor;

/// Updates parameters from their gradients.
pub trait Optimizer {
    /// Called once per step, before the parameters are updated.
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
        let lr = self.lr;
        param.data_mut().iter_mut().zip(grad.data()).for_each(|(p, g)| *p -= lr * g);
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }
}
