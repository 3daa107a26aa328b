//! Matrix products (plain, and with a bias row added: the dense layer's `x·W + b`) and
//! transpose.

use crate::tape::Var;
use crate::tensor::{Tensor, Write, add_column_sums, gemm_into, matmul_dims, transpose_into};

use super::{Accumulate, Op};

// C = A·B                     ∂/∂A = G·Bᵀ                ∂/∂B = Aᵀ·G
pub(crate) fn matmul_forward(a: &Tensor, b: &Tensor, out: &mut Tensor) {
    let (m, k, n) = matmul_dims("matmul", a.shape(), b.shape());
    out.reshape_for_write(m, n);
    gemm_into(out.data_mut(), m, k, n, a.data(), false, b.data(), false, Write::Set);
}

pub(crate) fn matmul_backward(input: usize, a: &Tensor, b: &Tensor, g: &Tensor, dst: &mut Tensor, acc: Accumulate) {
    let ((m, k), n) = (a.shape(), b.cols());
    // A product's sums start from +0, so writing one is adding it into zeros.
    let write = match acc {
        Accumulate::First => Write::Set,
        Accumulate::Add => Write::Add,
    };
    if input == 0 {
        gemm_into(dst.data_mut(), m, n, k, g.data(), false, b.data(), true, write);
    } else {
        gemm_into(dst.data_mut(), k, m, n, a.data(), true, g.data(), false, write);
    }
}

// Y = X·W + b, b a 1 x n row   ∂/∂X = G·Wᵀ    ∂/∂W = Xᵀ·G    ∂/∂b = Σ over rows of G
// One op instead of matmul then a broadcast add: no broadcast machinery and one node
// instead of two. The bias is added after the product, so the values are exactly those
// of `matmul` followed by `+`.
pub(crate) fn affine_forward(x: &Tensor, w: &Tensor, b: &Tensor, out: &mut Tensor) {
    let (m, k, n) = matmul_dims("affine", x.shape(), w.shape());
    assert!(
        b.shape() == (1, n),
        "affine: the bias is {}x{} but the product is {m}x{n} (the bias must be 1x{n})",
        b.rows(),
        b.cols()
    );
    out.reshape_for_write(m, n);
    gemm_into(out.data_mut(), m, k, n, x.data(), false, w.data(), false, Write::SetPlusRow(b.data()));
}

pub(crate) fn affine_backward(input: usize, x: &Tensor, w: &Tensor, g: &Tensor, dst: &mut Tensor, acc: Accumulate) {
    match input {
        0 | 1 => matmul_backward(input, x, w, g, dst, acc),
        _ => {
            acc.zero_first(dst);
            add_column_sums(dst.data_mut(), g.data());
        }
    }
}

// Y = Xᵀ                      ∂/∂X = Gᵀ
pub(crate) fn transpose_forward(x: &Tensor, out: &mut Tensor) {
    out.reshape_for_write(x.cols(), x.rows());
    transpose_into(out.data_mut(), x.rows(), x.cols(), x.data());
}

pub(crate) fn transpose_backward(g: &Tensor, dst: &mut Tensor, acc: Accumulate) {
    let (rows, cols) = g.shape();
    for r in 0..rows {
        for c in 0..cols {
            acc.put(&mut dst.data_mut()[c * rows + r], g.data()[r * cols + c]);
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

    /// `self · w + b` with `b` a `1 x n` row added to every row of the product: a dense
    /// layer's pre-activation, computed in one pass (the same values as
    /// `self.matmul(w) + b`).
    ///
    /// # Panics
    /// If the product's shapes mismatch or `b` is not `1 x w.cols()`.
    pub fn affine(self, w: Var<'t>, b: Var<'t>) -> Var<'t> {
        self.apply(Op::Affine, &[w, b])
    }

    /// The transpose.
    pub fn t(self) -> Var<'t> {
        self.apply(Op::Transpose, &[])
    }
}
