//! The ops a tape records. Each family lives in its own file with, for every op, the
//! forward computation and the backward rule side by side; this file only dispatches.
//!
//! A backward rule is called once per input `k` and *adds* that input's share of the
//! gradient into `dst` (already shaped like the input), so a node used twice simply
//! receives two contributions. The first contribution is written rather than added
//! ([`Accumulate::First`]), so gradient buffers need no zeroing beforehand.
//!
//! An op whose backward rule would recompute something costly from its inputs may keep
//! it instead ([`Op::saves`]): its forward pass then writes into a buffer the tape keeps
//! for the node, and its backward rule reads it.

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

/// Whether a backward rule's contribution is the first its input's gradient receives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Accumulate {
    /// The first: the buffer is shaped like the input but holds stale values.
    First,
    /// A later one: the buffer holds the contributions so far.
    Add,
}

impl Accumulate {
    /// `*d` receives `v`: `0 + v` for the first contribution (the same value as adding
    /// into zeros, a -0 included, which becomes +0), `*d + v` for later ones.
    #[inline(always)]
    pub(crate) fn put(self, d: &mut f64, v: f64) {
        let so_far = match self {
            Accumulate::First => 0.0,
            Accumulate::Add => *d,
        };
        *d = so_far + v;
    }

    /// `f(self)`, called with `self` as a constant in each case, so that a loop `f`
    /// inlines is compiled once per case and a first contribution's loop never reads the
    /// buffer (the compiler does not split such a loop on its own).
    #[inline(always)]
    pub(crate) fn specialize<R>(self, f: impl FnOnce(Accumulate) -> R) -> R {
        match self {
            Accumulate::First => f(Accumulate::First),
            Accumulate::Add => f(Accumulate::Add),
        }
    }

    /// For a rule that only adds: zeros the buffer of a first contribution.
    pub(crate) fn zero_first(self, dst: &mut Tensor) {
        if self == Accumulate::First {
            dst.data_mut().fill(0.0);
        }
    }
}

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

    /// Whether the op keeps a tensor from its forward pass for its backward pass: the
    /// tape then hands [`Op::forward`] a buffer to write and [`Op::backward`] the same
    /// buffer to read.
    #[inline]
    pub(crate) fn saves(self) -> bool {
        matches!(self, Op::Loss(l) if l.saves())
    }

    /// Computes the op's value from its inputs into `out` (whose buffer is reused), and
    /// what it keeps for its backward pass into `saved` (given when [`Op::saves`]).
    #[inline]
    pub(crate) fn forward(self, x: &[&Tensor], out: &mut Tensor, saved: Option<&mut Tensor>) {
        match self {
            Op::Leaf | Op::Constant => unreachable!("leaves are not computed"),
            Op::Unary(u) => u.forward(x[0], out),
            Op::Binary(b) => b.forward(x[0], x[1], out),
            Op::MatMul => linalg::matmul_forward(x[0], x[1], out),
            Op::Affine => linalg::affine_forward(x[0], x[1], x[2], out),
            Op::Transpose => linalg::transpose_forward(x[0], out),
            Op::Sum => reduce::sum_forward(x[0], out),
            Op::Mean => reduce::mean_forward(x[0], out),
            Op::Loss(l) => l.forward(x[0], x[1], out, saved),
        }
    }

    /// Adds to `dst` (as `acc` says) the gradient flowing to input `k`, given the inputs
    /// `x`, the op's value `y`, what its forward pass saved, and the gradient `g` flowing
    /// into it.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn backward(
        self,
        k: usize,
        x: &[&Tensor],
        y: &Tensor,
        saved: Option<&Tensor>,
        g: &Tensor,
        dst: &mut Tensor,
        acc: Accumulate,
    ) {
        match self {
            Op::Leaf | Op::Constant => {}
            Op::Unary(u) => u.backward(x[0], y, g, dst, acc),
            Op::Binary(b) => b.backward(k, x[0], x[1], y, g, dst, acc),
            Op::MatMul => linalg::matmul_backward(k, x[0], x[1], g, dst, acc),
            Op::Affine => linalg::affine_backward(k, x[0], x[1], g, dst, acc),
            Op::Transpose => linalg::transpose_backward(g, dst, acc),
            Op::Sum => reduce::sum_backward(g, dst, acc),
            Op::Mean => reduce::mean_backward(g, dst, acc),
            Op::Loss(l) => l.backward(k, x[0], x[1], saved, g, dst, acc),
        }
    }
}
