//! Elementwise ops of two inputs, with broadcasting: each dimension of the two shapes
//! must be equal or 1, so `(r,c)` combines with `(1,c)`, `(r,1)` and `(1,1)` on either
//! side. Each op is one line: `f(a, b)` and its two partial derivatives `(a, b, y)`.
//! The backward pass sums a broadcast operand's gradient back to its shape.

use std::ops::{Add, Div, Mul, Sub};

use crate::tape::Var;
use crate::tensor::{Tensor, broadcast_shape};

use super::{Accumulate, Op};

/// An elementwise op of two inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
}

/// One operand's row as the loops read it: a full row, or one value repeated.
#[derive(Clone, Copy)]
enum Lane<'a> {
    Row(&'a [f64]),
    Splat(f64),
}

/// A tensor's elements as the loops index them: `rows x cols`, row-major.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f64],
    rows: usize,
    cols: usize,
}

impl<'a> View<'a> {
    /// `t` as it is, or as one long row when `flat`.
    fn of(t: &'a Tensor, flat: bool) -> View<'a> {
        let (rows, cols) = if flat { (1, t.len()) } else { t.shape() };
        View { data: t.data(), rows, cols }
    }

    /// Row `i` as seen from an output with `cols` columns.
    #[inline(always)]
    fn lane(self, i: usize, cols: usize) -> Lane<'a> {
        let r = if self.rows == 1 { 0 } else { i };
        if self.cols == 1 { Lane::Splat(self.data[r]) } else { Lane::Row(&self.data[r * self.cols..][..cols]) }
    }
}

/// Whether the loops may see every tensor as one long row: yes unless an operand is
/// repeated along one axis only (`(1,c)` or `(r,1)` against `(r,c)`). Same-shape and
/// scalar operands, the common case, then run as one loop instead of one per row.
fn flat(a: &Tensor, b: &Tensor, y: (usize, usize)) -> bool {
    let whole = |s: (usize, usize)| s == y || s == (1, 1);
    whole(a.shape()) && whole(b.shape())
}

/// Element `j` of an operand row, for a full row or a repeated value alike.
trait At: Copy {
    fn at(self, j: usize) -> f64;
}

impl At for &[f64] {
    #[inline(always)]
    fn at(self, j: usize) -> f64 {
        self[j]
    }
}

impl At for f64 {
    #[inline(always)]
    fn at(self, _: usize) -> f64 {
        self
    }
}

/// Evaluates `$body` with `$x` and `$z` bound to row `$i` of `$a` and `$b` (each a slice
/// or a repeated `f64`). The four combinations compile to four loops, so the inner loop
/// has no per-element branch on the operands' shapes and vectorizes.
macro_rules! with_lanes {
    ($a:expr, $b:expr, $i:expr, $cols:expr, |$x:ident, $z:ident| $body:expr) => {
        match ($a.lane($i, $cols), $b.lane($i, $cols)) {
            (Lane::Row($x), Lane::Row($z)) => $body,
            (Lane::Row($x), Lane::Splat($z)) => $body,
            (Lane::Splat($x), Lane::Row($z)) => $body,
            (Lane::Splat($x), Lane::Splat($z)) => $body,
        }
    };
}

/// One direction of an elementwise op of two inputs.
enum Pass<'a> {
    /// `y = f(a, b)` for 1x1 operands (micrograd-style scalar code): no shapes, no loops.
    ScalarForward {
        a: f64,
        b: f64,
        y: &'a mut f64,
    },
    /// `dst += g · ∂f/∂input k` (as `acc` says) for 1x1 operands.
    ScalarBackward {
        k: usize,
        a: f64,
        b: f64,
        y: f64,
        g: f64,
        dst: &'a mut f64,
        acc: Accumulate,
    },
    Forward {
        a: &'a Tensor,
        b: &'a Tensor,
        y: &'a mut Tensor,
    },
    /// Adds the gradient of input `k` (0 = `a`, 1 = `b`) into `dst`.
    Backward {
        k: usize,
        a: &'a Tensor,
        b: &'a Tensor,
        y: &'a Tensor,
        g: &'a Tensor,
        dst: &'a mut Tensor,
    },
}

impl Pass<'_> {
    /// Runs `y = f(a, b)` forward, or `dst += sum-to-shape(g · ∂f)` backward.
    #[inline(always)]
    fn zip(self, f: impl Fn(f64, f64) -> f64, da: impl Fn(f64, f64, f64) -> f64, db: impl Fn(f64, f64, f64) -> f64) {
        match self {
            Pass::ScalarForward { a, b, y } => *y = f(a, b),
            Pass::ScalarBackward { k, a, b, y, g, dst, acc } => {
                acc.put(dst, g * if k == 0 { da(a, b, y) } else { db(a, b, y) })
            }
            Pass::Forward { a, b, y } => {
                let flat = flat(a, b, y.shape());
                let (a, b) = (View::of(a, flat), View::of(b, flat));
                let cols = if flat { y.len() } else { y.cols() };
                for (i, out) in y.data_mut().chunks_exact_mut(cols.max(1)).enumerate() {
                    let out = &mut out[..cols];
                    with_lanes!(a, b, i, cols, |x, z| (0..cols).for_each(|j| out[j] = f(x.at(j), z.at(j))));
                }
            }
            Pass::Backward { k: 0, a, b, y, g, dst } => accumulate(da, a, b, y, g, dst),
            Pass::Backward { a, b, y, g, dst, .. } => accumulate(db, a, b, y, g, dst),
        }
    }
}

/// `dst += sum-to-shape(g · d(a, b, y))`: a broadcast operand's gradient is summed over
/// the rows or columns it was repeated along.
#[inline(always)]
fn accumulate(d: impl Fn(f64, f64, f64) -> f64, a: &Tensor, b: &Tensor, y: &Tensor, g: &Tensor, dst: &mut Tensor) {
    let flat = flat(a, b, y.shape());
    let (y, g, dc) = (View::of(y, flat), View::of(g, flat), View::of(dst, flat).cols);
    let (a, b) = (View::of(a, flat), View::of(b, flat));
    let (rows, cols) = (y.rows, y.cols);
    let dr = if flat { 1 } else { dst.rows() };
    for i in 0..rows {
        let (yr, gr) = (&y.data[i * cols..][..cols], &g.data[i * cols..][..cols]);
        let di = if dr == 1 { 0 } else { i };
        let drow = &mut dst.data_mut()[di * dc..(di + 1) * dc];
        with_lanes!(a, b, i, cols, |x, z| {
            let term = |j: usize| gr[j] * d(x.at(j), z.at(j), yr[j]);
            if dc == cols {
                let drow = &mut drow[..cols];
                (0..cols).for_each(|j| drow[j] += term(j));
            } else {
                drow[0] += (0..cols).map(term).sum::<f64>();
            }
        })
    }
}

impl Binary {
    // Inlined into each entry point below, so each keeps only the passes it can make.
    #[inline(always)]
    fn run(self, pass: Pass<'_>) {
        match self {
            // a + b              ∂/∂a = 1           ∂/∂b = 1
            Binary::Add => pass.zip(|a, b| a + b, |_, _, _| 1.0, |_, _, _| 1.0),
            // a - b              ∂/∂a = 1           ∂/∂b = -1
            Binary::Sub => pass.zip(|a, b| a - b, |_, _, _| 1.0, |_, _, _| -1.0),
            // a · b              ∂/∂a = b           ∂/∂b = a
            Binary::Mul => pass.zip(|a, b| a * b, |_, b, _| b, |a, _, _| a),
            // a / b              ∂/∂a = 1/b         ∂/∂b = -a/b²
            Binary::Div => pass.zip(|a, b| a / b, |_, b, _| 1.0 / b, |a, b, _| -a / (b * b)),
            // max(a, b)          ∂/∂a = 1 if a > b, ½ if a = b, else 0 (∂/∂b mirrors it)
            Binary::Max => pass.zip(f64::max, |a, b, _| select(a, b), |a, b, _| select(b, a)),
            // min(a, b)          ∂/∂a = 1 if a < b, ½ if a = b, else 0 (∂/∂b mirrors it)
            Binary::Min => pass.zip(f64::min, |a, b, _| select(b, a), |a, b, _| select(a, b)),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
            Binary::Max => "maximum",
            Binary::Min => "minimum",
        }
    }

    // The 1x1 case (two 1x1 operands need no broadcasting) is inlined into the caller;
    // tensors take the loops out of line.
    #[inline]
    pub(crate) fn forward(self, a: &Tensor, b: &Tensor, y: &mut Tensor) {
        if let (&[a], &[b]) = (a.data(), b.data()) {
            y.reshape_for_write(1, 1);
            return self.run(Pass::ScalarForward { a, b, y: &mut y.data_mut()[0] });
        }
        self.forward_tensors(a, b, y);
    }

    #[inline(never)]
    fn forward_tensors(self, a: &Tensor, b: &Tensor, y: &mut Tensor) {
        let (r, c) = broadcast_shape(self.name(), a.shape(), b.shape());
        y.reshape_for_write(r, c);
        self.run(Pass::Forward { a, b, y });
    }

    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn backward(
        self,
        k: usize,
        a: &Tensor,
        b: &Tensor,
        y: &Tensor,
        g: &Tensor,
        dst: &mut Tensor,
        acc: Accumulate,
    ) {
        if let (&[a], &[b], &[y], &[g], [dst]) = (a.data(), b.data(), y.data(), g.data(), dst.data_mut()) {
            return self.run(Pass::ScalarBackward { k, a, b, y, g, dst, acc });
        }
        // A broadcast operand's gradient sums many terms into each element: start at 0.
        acc.zero_first(dst);
        self.backward_tensors(k, a, b, y, g, dst);
    }

    #[inline(never)]
    fn backward_tensors(self, k: usize, a: &Tensor, b: &Tensor, y: &Tensor, g: &Tensor, dst: &mut Tensor) {
        self.run(Pass::Backward { k, a, b, y, g, dst });
    }
}

/// The share of the gradient of `max(a, b)` that goes to `a`: all of it where `a` is
/// larger, half at a tie (the mean of the one-sided derivatives, as PyTorch and JAX
/// split it, and what a central difference measures), none where `b` is larger.
#[inline(always)]
fn select(a: f64, b: f64) -> f64 {
    if a > b {
        1.0
    } else if a == b {
        0.5
    } else {
        0.0
    }
}

impl<'t> Var<'t> {
    /// The elementwise maximum of `self` and `other`, broadcast like `+`. At a tie each
    /// operand receives half of the gradient (as in PyTorch and JAX).
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let (a, b) = (tape.leaf(Tensor::from_rows(&[[1.0, 2.0, 3.0]])), tape.scalar(2.0));
    /// let grads = a.maximum(b).sum().backward();
    /// assert_eq!(grads.wrt(a).data(), &[0.0, 0.5, 1.0]);
    /// assert_eq!(grads.wrt(b).item(), 1.5);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn maximum(self, other: Var<'t>) -> Var<'t> {
        self.apply(Op::Binary(Binary::Max), &[other])
    }

    /// The elementwise minimum of `self` and `other`, broadcast like `+`; ties split the
    /// gradient in half, as in [`Var::maximum`].
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn minimum(self, other: Var<'t>) -> Var<'t> {
        self.apply(Op::Binary(Binary::Min), &[other])
    }
}

/// `Var ∘ Var`, `Var ∘ f64` and `f64 ∘ Var` for one operator; an `f64` operand becomes
/// a 1x1 constant on the tape.
macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl<'t> $trait<Var<'t>> for Var<'t> {
            type Output = Var<'t>;
            fn $method(self, rhs: Var<'t>) -> Var<'t> {
                self.apply(Op::Binary($op), &[rhs])
            }
        }
        impl<'t> $trait<f64> for Var<'t> {
            type Output = Var<'t>;
            fn $method(self, rhs: f64) -> Var<'t> {
                self.apply(Op::Binary($op), &[self.tape().constant_scalar(rhs)])
            }
        }
        impl<'t> $trait<Var<'t>> for f64 {
            type Output = Var<'t>;
            fn $method(self, rhs: Var<'t>) -> Var<'t> {
                rhs.tape().constant_scalar(self).apply(Op::Binary($op), &[rhs])
            }
        }
    };
}

binary_operator!(Add, add, Binary::Add);
binary_operator!(Sub, sub, Binary::Sub);
binary_operator!(Mul, mul, Binary::Mul);
binary_operator!(Div, div, Binary::Div);

/// `Σ` of `Var`s with `+` (so shapes broadcast as `+` does): `vars.iter().map(f).sum()`.
///
/// ```
/// use tapegrad::prelude::*;
/// let tape = Tape::new();
/// let params = [tape.scalar(1.0), tape.scalar(2.0)];
/// let penalty: Var = params.iter().map(|p| p.square()).sum();
/// assert_eq!(penalty.item(), 5.0);
/// ```
///
/// # Panics
/// On an empty iterator: there is no tape to record a zero on (start from
/// `tape.scalar(0.0)` instead).
impl<'t> std::iter::Sum for Var<'t> {
    fn sum<I: Iterator<Item = Var<'t>>>(mut vars: I) -> Var<'t> {
        let first = vars.next().expect("Var::sum: no Var to add (an empty iterator has no tape to record 0 on)");
        vars.fold(first, |total, v| total + v)
    }
}

/// `Σ` of borrowed `Var`s, as [`Var`]'s `Sum` of owned ones.
impl<'a, 't> std::iter::Sum<&'a Var<'t>> for Var<'t> {
    fn sum<I: Iterator<Item = &'a Var<'t>>>(vars: I) -> Var<'t> {
        vars.copied().sum()
    }
}
