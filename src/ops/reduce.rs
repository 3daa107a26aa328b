//! Reductions of a whole tensor to 1x1.

use crate::tape::Var;
use crate::tensor::Tensor;

use super::{Accumulate, Op};

// s = Σ x                     ∂s/∂x = 1
pub(crate) fn sum_forward(x: &Tensor, out: &mut Tensor) {
    out.reshape_for_write(1, 1);
    out.data_mut()[0] = x.sum();
}

pub(crate) fn sum_backward(g: &Tensor, dst: &mut Tensor, acc: Accumulate) {
    let g = g.item();
    dst.data_mut().iter_mut().for_each(|d| acc.put(d, g));
}

// m = Σ x / n                 ∂m/∂x = 1/n
pub(crate) fn mean_forward(x: &Tensor, out: &mut Tensor) {
    out.reshape_for_write(1, 1);
    out.data_mut()[0] = x.mean();
}

pub(crate) fn mean_backward(g: &Tensor, dst: &mut Tensor, acc: Accumulate) {
    let g = g.item() / dst.len() as f64;
    dst.data_mut().iter_mut().for_each(|d| acc.put(d, g));
}

impl<'t> Var<'t> {
    /// The sum of all elements, 1x1.
    pub fn sum(self) -> Var<'t> {
        self.apply(Op::Sum, &[])
    }

    /// The mean of all elements, 1x1.
    pub fn mean(self) -> Var<'t> {
        self.apply(Op::Mean, &[])
    }
}
