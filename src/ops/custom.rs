//! Ops defined outside the crate: a [`CustomOp`] gives its forward computation and its
//! backward rule, and the tape records it like a built-in op.

use std::fmt;

use crate::tape::Var;
use crate::tensor::Tensor;

use super::{Accumulate, Op};

/// A user-defined op of one to three inputs: what the built-in ops cannot express, or a
/// fused version of what they can. Recorded with [`Var::custom`], shown by its
/// [`name`](CustomOp::name) in graph exports and anomaly reports, and differentiated
/// like any other op (so [`gradcheck`](crate::gradcheck::gradcheck) checks it).
///
/// The tape keeps a `&'static` reference to the op: declare it as a `static` (as below),
/// or leak a boxed value built at run time with [`Box::leak`]. Unlike the built-in ops,
/// a custom op's forward and backward passes return new tensors, so a training loop that
/// uses one allocates for it.
///
/// ```
/// use tapegrad::prelude::*;
/// use tapegrad::CustomOp;
///
/// /// ln(1 + e^x), whose derivative is the logistic function.
/// struct Softplus;
///
/// impl CustomOp for Softplus {
///     fn name(&self) -> &'static str {
///         "softplus"
///     }
///     fn forward(&self, inputs: &[&Tensor]) -> Tensor {
///         inputs[0].map(|x| x.max(0.0) + (-x.abs()).exp().ln_1p())
///     }
///     fn backward(&self, _input: usize, inputs: &[&Tensor], _output: &Tensor, grad: &Tensor) -> Tensor {
///         let sigmoid = inputs[0].map(|x| 1.0 / (1.0 + (-x).exp()));
///         Tensor::from_vec(grad.rows(), grad.cols(), grad.data().iter().zip(sigmoid.data()).map(|(g, s)| g * s).collect())
///     }
/// }
///
/// static SOFTPLUS: Softplus = Softplus;
///
/// let tape = Tape::new();
/// let x = tape.scalar(0.0);
/// let y = Var::custom(&SOFTPLUS, &[x]);
/// assert_eq!(y.item(), 2f64.ln());
/// assert_eq!(y.backward().wrt(x).item(), 0.5);
/// ```
pub trait CustomOp: Sync {
    /// The op's name, as graph exports and anomaly reports show it.
    fn name(&self) -> &'static str;

    /// The op's value from its inputs' values.
    fn forward(&self, inputs: &[&Tensor]) -> Tensor;

    /// The gradient flowing to input `input` (shaped like it), given the inputs, the
    /// op's output and the gradient `grad` flowing into the output (shaped like it): the
    /// vector-Jacobian product `grad · ∂output/∂input`.
    fn backward(&self, input: usize, inputs: &[&Tensor], output: &Tensor, grad: &Tensor) -> Tensor;
}

/// A custom op as the tape keeps it: a reference compared by address.
#[derive(Clone, Copy)]
pub(crate) struct Custom(pub(crate) &'static dyn CustomOp);

impl PartialEq for Custom {
    fn eq(&self, other: &Custom) -> bool {
        std::ptr::addr_eq(self.0, other.0)
    }
}

impl fmt::Debug for Custom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Custom({})", self.0.name())
    }
}

impl Custom {
    pub(crate) fn name(self) -> &'static str {
        self.0.name()
    }

    pub(crate) fn forward(self, x: &[&Tensor], out: &mut Tensor) {
        *out = self.0.forward(x);
    }

    pub(crate) fn backward(self, k: usize, x: &[&Tensor], y: &Tensor, g: &Tensor, dst: &mut Tensor, acc: Accumulate) {
        let grad = self.0.backward(k, x, y, g);
        assert!(
            grad.shape() == x[k].shape(),
            "{}: the backward rule returned a {}x{} gradient for input {k}, which is {}x{}",
            self.name(),
            grad.rows(),
            grad.cols(),
            x[k].rows(),
            x[k].cols()
        );
        dst.data_mut().iter_mut().zip(grad.data()).for_each(|(d, &v)| acc.put(d, v));
    }
}

impl<'t> Var<'t> {
    /// Records the custom op `op` applied to `inputs` (one to three of them, from one
    /// tape). See [`CustomOp`] for an example.
    ///
    /// # Panics
    /// If `inputs` is empty or longer than three, or the inputs are on different tapes.
    pub fn custom(op: &'static dyn CustomOp, inputs: &[Var<'t>]) -> Var<'t> {
        let (&first, rest) =
            inputs.split_first().unwrap_or_else(|| panic!("{}: a custom op needs an input", op.name()));
        first.apply(Op::Custom(Custom(op)), rest)
    }
}
