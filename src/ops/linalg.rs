//! Matrix product and transpose.

use crate::tape::Var;
use crate::tensor::{Tensor, gemm_into, matmul_dims, transpose_into};

use super::Op;

// C = A·B                     ∂/∂A = G·Bᵀ                ∂/∂B = Aᵀ·G
pub(crate) fn matmul_forward(a: &Tensor, b: &Tensor, out: &mut Tensor) {
    let (m, k, n) = matmul_dims("matmul", a.shape(), b.shape());
    out.reshape_for_write(m, n);
    gemm_into(out.data_mut(), m, k, n, a.data(), false, b.data(), false, false);
}

pub(crate) fn matmul_backward(input: usize, a: &Tensor, b: &Tensor, g: &Tensor, dst: &mut Tensor) {
    let ((m, k), n) = (a.shape(), b.cols());
    if input == 0 {
        gemm_into(dst.data_mut(), m, n, k, g.data(), false, b.data(), true, true);
    } else {
        gemm_into(dst.data_mut(), k, m, n, a.data(), true, g.data(), false, true);
    }
}

// Y = Xᵀ                      ∂/∂X = Gᵀ
pub(crate) fn transpose_forward(x: &Tensor, out: &mut Tensor) {
    out.reshape_for_write(x.cols(), x.rows());
    transpose_into(out.data_mut(), x.rows(), x.cols(), x.data());
}

pub(crate) fn transpose_backward(g: &Tensor, dst: &mut Tensor) {
    let (rows, cols) = g.shape();
    for r in 0..rows {
        for c in 0..cols {
            dst.data_mut()[c * rows + r] += g.data()[r * cols + c];
        }
    }
}

impl<'t> Var<'t> {
    /// The matrix product `self · other`.
    ///
    /// # Panics
    /// If `self`'s columns differ from `other`'s rows; the message names both shapes.
    pub fn matmul(self, other: Var<'t>) -> Var<'t> {
        self.apply(Op::MatMul, &[other])
    }

    /// The transpose.
    pub fn t(self) -> Var<'t> {
        self.apply(Op::Transpose, &[])
    }
}
