//! The ops a tape records. Each family lives in its own file with, for every op, the
//! forward computation and the backward rule side by side; this file only dispatches.
//!
//! A backward rule is called once per input `k` and *adds* that input's share of the
//! gradient into `dst` (already shaped like the input), so a node used twice simply
//! receives two contributions.

mod binary;
mod linalg;
mod loss;
mod math;
mod reduce;
mod unary;

pub(crate) use binary::Binary;
pub(crate) use loss::Loss;
pub(crate) use unary::Unary;

use crate::tensor::Tensor;

/// Every operation a tape can record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Op {
    /// An input with a gradient.
    Leaf,
    /// An input without a gradient (data, targets, scalar operands).
    Constant,
    Unary(Unary),
    Binary(Binary),
    MatMul,
    Affine,
    Transpose,
    Sum,
    Mean,
    Loss(Loss),
}

impl Op {
    /// The op's user-facing name, as used in panics, anomaly reports and graph exports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Leaf => "leaf",
            Op::Constant => "constant",
            Op::Unary(u) => u.name(),
            Op::Binary(b) => b.name(),
            Op::MatMul => "matmul",
            Op::Affine => "affine",
            Op::Transpose => "t",
            Op::Sum => "sum",
            Op::Mean => "mean",
            Op::Loss(l) => l.name(),
        }
    }

    /// Computes the op's value from its inputs into `out` (whose buffer is reused).
    #[inline]
    pub(crate) fn forward(self, x: &[&Tensor], out: &mut Tensor) {
        match self {
            Op::Leaf | Op::Constant => unreachable!("leaves are not computed"),
            Op::Unary(u) => u.forward(x[0], out),
            Op::Binary(b) => b.forward(x[0], x[1], out),
            Op::MatMul => linalg::matmul_forward(x[0], x[1], out),
            Op::Affine => linalg::affine_forward(x[0], x[1], x[2], out),
            Op::Transpose => linalg::transpose_forward(x[0], out),
            Op::Sum => reduce::sum_forward(x[0], out),
            Op::Mean => reduce::mean_forward(x[0], out),
            Op::Loss(l) => l.forward(x[0], x[1], out),
        }
    }

    /// Adds to `dst` the gradient flowing to input `k`, given the inputs `x`, the op's
    /// value `y` and the gradient `g` flowing into it.
    #[inline]
    pub(crate) fn backward(self, k: usize, x: &[&Tensor], y: &Tensor, g: &Tensor, dst: &mut Tensor) {
        match self {
            Op::Leaf | Op::Constant => {}
            Op::Unary(u) => u.backward(x[0], y, g, dst),
            Op::Binary(b) => b.backward(k, x[0], x[1], y, g, dst),
            Op::MatMul => linalg::matmul_backward(k, x[0], x[1], g, dst),
            Op::Affine => linalg::affine_backward(k, x[0], x[1], g, dst),
            Op::Transpose => linalg::transpose_backward(g, dst),
            Op::Sum => reduce::sum_backward(g, dst),
            Op::Mean => reduce::mean_backward(g, dst),
            Op::Loss(l) => l.backward(k, x[0], x[1], g, dst),
        }
    }
}
