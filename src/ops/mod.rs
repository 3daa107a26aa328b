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
mod custom;
mod linalg;
mod loss;
mod math;
mod reduce;
mod softmax;
mod structure;
#[cfg(test)]
mod table;
mod unary;

pub(crate) use binary::Binary;
pub(crate) use custom::Custom;
pub use custom::CustomOp;
pub(crate) use loss::Loss;
pub(crate) use reduce::Reduce;
pub(crate) use softmax::SoftmaxFamily;
pub(crate) use structure::Structure;
pub(crate) use unary::Unary;

use crate::tensor::{self, Tensor};

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

/// The axis an op works along, numbered as NumPy does: axis 0 indexes the rows, so a
/// reduction along it gives `(1, cols)`; axis 1 indexes the columns and gives `(rows, 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Axis {
    /// Axis 0.
    Rows,
    /// Axis 1.
    Cols,
}

impl Axis {
    /// The axis numbered `axis`, or a panic naming `op`.
    pub(crate) fn of(op: &str, axis: usize) -> Axis {
        match axis {
            0 => Axis::Rows,
            1 => Axis::Cols,
            _ => panic!("{op}: axis {axis} does not exist (tensors are 2-D: axis 0 or 1)"),
        }
    }

    /// The lanes of a `rows x cols` tensor along this axis: `(count, len, start, stride)`,
    /// element `i` of lane `k` sitting at `k * start + i * stride`. Along axis 0 the lanes
    /// are the columns, along axis 1 the rows; lane `k` reduces to element `k` of the
    /// result.
    #[inline]
    pub(crate) fn lanes(self, (rows, cols): (usize, usize)) -> (usize, usize, usize, usize) {
        match self {
            Axis::Rows => (cols, rows, 1, cols),
            Axis::Cols => (rows, cols, cols, 1),
        }
    }

    /// The shape of a reduction of a `rows x cols` tensor along this axis.
    pub(crate) fn reduced(self, (rows, cols): (usize, usize)) -> (usize, usize) {
        match self {
            Axis::Rows => (1, cols),
            Axis::Cols => (rows, 1),
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
    /// A reduction along an axis.
    Reduce(Reduce, Axis),
    /// The softmax family along an axis.
    Softmax(SoftmaxFamily, Axis),
    /// `x` clamped to `[lo, hi]`.
    Clamp(f64, f64),
    /// Slices, concatenation, gathering rows, reshape, detach.
    Structure(Structure),
    Loss(Loss),
    /// A user-defined op.
    Custom(Custom),
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
            Op::Reduce(r, _) => r.name(),
            Op::Softmax(s, _) => s.name(),
            Op::Clamp(..) => "clamp",
            Op::Structure(s) => s.name(),
            Op::Loss(l) => l.name(),
            Op::Custom(c) => c.name(),
        }
    }

    /// Whether gradients flow through the op to its inputs (all but `detach` do).
    #[inline]
    pub(crate) fn passes_gradient(self) -> bool {
        !matches!(self, Op::Structure(Structure::Detach))
    }

    /// Whether the op keeps a tensor from its forward pass for its backward pass: the
    /// tape then hands [`Op::forward`] a buffer to write and [`Op::backward`] the same
    /// buffer to read.
    #[inline]
    pub(crate) fn saves(self) -> bool {
        match self {
            Op::Loss(l) => l.saves(),
            Op::Reduce(r, _) => r.saves(),
            _ => false,
        }
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
            Op::Reduce(r, axis) => r.forward(axis, x[0], out, saved),
            Op::Softmax(s, axis) => s.forward(axis, x[0], out),
            Op::Clamp(lo, hi) => unary::clamp_forward(lo, hi, x[0], out),
            Op::Structure(s) => s.forward(x, out),
            Op::Loss(l) => l.forward(x[0], x[1], out, saved),
            Op::Custom(c) => c.forward(x, out),
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
            Op::Reduce(r, axis) => r.backward(axis, x[0], y, saved, g, dst, acc),
            Op::Softmax(s, axis) => s.backward(axis, x[0], y, g, dst, acc),
            Op::Clamp(lo, hi) => unary::clamp_backward(lo, hi, x[0], g, dst, acc),
            Op::Structure(s) => s.backward(k, x, g, dst, acc),
            Op::Loss(l) => l.backward(k, x[0], x[1], saved, g, dst, acc),
            Op::Custom(c) => c.backward(k, x, y, g, dst, acc),
        }
    }

    /// [`Op::backward`] for many seeds at once: row `s` of `g` is the gradient flowing
    /// into the op for seed `s` (flattened row-major), and row `s` of `dst` receives the
    /// gradient flowing to input `k` for it. A product's left operand takes all the seeds
    /// in one matrix product (the rows of a seed's gradient stacked under the rows of the
    /// next), an elementwise op applies its rule to each seed's rows in place, and every
    /// other op applies its rule seed by seed through `scratch`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn backward_many(
        self,
        k: usize,
        x: &[&Tensor],
        y: &Tensor,
        saved: Option<&Tensor>,
        g: &Tensor,
        dst: &mut Tensor,
        acc: Accumulate,
        scratch: &mut [Tensor; 2],
    ) {
        let seeds = g.rows();
        if matches!(self, Op::MatMul | Op::Affine) && k == 0 {
            let ((r, inner), n) = (x[0].shape(), x[1].cols());
            let write = if acc == Accumulate::First { tensor::Write::Set } else { tensor::Write::Add };
            let out = dst.data_mut();
            return tensor::gemm_into(out, seeds * r, n, inner, g.data(), false, x[1].data(), true, write);
        }
        if let Op::Unary(u) = self {
            // Elementwise: seed `s`'s rows are rule inputs as they stand, no copies.
            for (g, d) in g.data().chunks_exact(y.len()).zip(dst.data_mut().chunks_exact_mut(y.len())) {
                u.backward_slices(x[0].data(), y.data(), g, d, acc);
            }
            return;
        }
        let [gs, ds] = scratch;
        for s in 0..seeds {
            gs.reshape_for_write(y.rows(), y.cols());
            gs.data_mut().copy_from_slice(g.row(s));
            ds.reshape_for_write(x[k].rows(), x[k].cols());
            self.backward(k, x, y, saved, gs, ds, Accumulate::First);
            let row = &mut dst.data_mut()[s * ds.len()..(s + 1) * ds.len()];
            row.iter_mut().zip(ds.data()).for_each(|(d, &v)| acc.put(d, v));
        }
    }
}
