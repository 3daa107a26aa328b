//! Elementwise ops of one input. Each is one line: the function `f(x)` and its
//! derivative `df(x, y)` (which may reuse the output `y = f(x)`, as sigmoid's does).

use crate::tape::Var;
use crate::tensor::{Tensor, vectorized};

use super::math::exp_nonpositive;
use super::{Accumulate, Op};

/// An elementwise op of one input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Unary {
    Neg,
    Relu,
    LeakyRelu(f64),
    Sigmoid,
    Tanh,
    Exp,
    Ln,
    Powf(f64),
    Abs,
    Sqrt,
    Square,
}

/// One direction of an elementwise op.
enum Pass<'a> {
    /// `y = f(x)` for a 1x1 input (micrograd-style scalar code): no loop.
    ScalarForward {
        x: f64,
        y: &'a mut f64,
    },
    /// `dx += g · df(x, y)` (as `acc` says) for a 1x1 input.
    ScalarBackward {
        x: f64,
        y: f64,
        g: f64,
        dx: &'a mut f64,
        acc: Accumulate,
    },
    Forward {
        x: &'a [f64],
        y: &'a mut [f64],
    },
    Backward {
        x: &'a [f64],
        y: &'a [f64],
        g: &'a [f64],
        dx: &'a mut [f64],
        acc: Accumulate,
    },
}

impl Pass<'_> {
    /// Runs `y = f(x)` forward, or `dx += g · df(x, y)` (as `acc` says) backward.
    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64, df: impl Fn(f64, f64) -> f64) {
        match self {
            Pass::ScalarForward { x, y } => *y = f(x),
            Pass::ScalarBackward { x, y, g, dx, acc } => acc.put(dx, g * df(x, y)),
            Pass::Forward { x, y } => y.iter_mut().zip(x).for_each(|(y, &x)| *y = f(x)),
            Pass::Backward { x, y, g, dx, acc } => {
                for (((dx, &x), &y), &g) in dx.iter_mut().zip(x).zip(y).zip(g) {
                    acc.put(dx, g * df(x, y));
                }
            }
        }
    }
}

impl Unary {
    // Inlined into each entry point below, so each keeps only the passes it can make.
    #[inline(always)]
    fn run(self, pass: Pass<'_>) {
        match self {
            // -x                                   d/dx = -1
            Unary::Neg => pass.map(|x| -x, |_, _| -1.0),
            // max(x, 0)                            d/dx = 1 if x > 0, else 0 (0 at the kink)
            Unary::Relu => pass.map(|x| if x > 0.0 { x } else { 0.0 }, |x, _| if x > 0.0 { 1.0 } else { 0.0 }),
            // x if x > 0, else a·x                 d/dx = 1 if x > 0, else a
            Unary::LeakyRelu(a) => pass.map(|x| if x > 0.0 { x } else { a * x }, |x, _| if x > 0.0 { 1.0 } else { a }),
            // σ(x) = 1 / (1 + e^-x)                d/dx = σ(x)(1 - σ(x))
            Unary::Sigmoid => pass.map(sigmoid, |_, y| y * (1.0 - y)),
            // tanh(x)                              d/dx = 1 - tanh²(x)
            Unary::Tanh => pass.map(f64::tanh, |_, y| 1.0 - y * y),
            // e^x                                  d/dx = e^x
            Unary::Exp => pass.map(f64::exp, |_, y| y),
            // ln(x)                                d/dx = 1/x
            Unary::Ln => pass.map(f64::ln, |x, _| 1.0 / x),
            // x^p                                  d/dx = p·x^(p-1)
            Unary::Powf(p) => pass.map(|x| x.powf(p), |x, _| p * x.powf(p - 1.0)),
            // |x|                                  d/dx = sign(x), 0 at 0
            Unary::Abs => pass.map(f64::abs, |x, _| {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }),
            // √x                                   d/dx = 1 / (2√x)
            Unary::Sqrt => pass.map(f64::sqrt, |_, y| 0.5 / y),
            // x²                                   d/dx = 2x
            Unary::Square => pass.map(|x| x * x, |x, _| 2.0 * x),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Unary::Neg => "neg",
            Unary::Relu => "relu",
            Unary::LeakyRelu(_) => "leaky_relu",
            Unary::Sigmoid => "sigmoid",
            Unary::Tanh => "tanh",
            Unary::Exp => "exp",
            Unary::Ln => "ln",
            Unary::Powf(_) => "powf",
            Unary::Abs => "abs",
            Unary::Sqrt => "sqrt",
            Unary::Square => "square",
        }
    }

    // The 1x1 case is inlined into the caller; tensors take the loops out of line.
    #[inline]
    pub(crate) fn forward(self, x: &Tensor, out: &mut Tensor) {
        if let &[x] = x.data() {
            out.reshape_for_write(1, 1);
            return self.run(Pass::ScalarForward { x, y: &mut out.data_mut()[0] });
        }
        self.forward_tensors(x, out);
    }

    #[inline(never)]
    fn forward_tensors(self, x: &Tensor, out: &mut Tensor) {
        out.reshape_for_write(x.rows(), x.cols());
        vectorized(
            #[inline(always)]
            || self.run(Pass::Forward { x: x.data(), y: out.data_mut() }),
        );
    }

    #[inline]
    pub(crate) fn backward(self, x: &Tensor, y: &Tensor, g: &Tensor, dx: &mut Tensor, acc: Accumulate) {
        if let (&[x], &[y], &[g], [dx]) = (x.data(), y.data(), g.data(), dx.data_mut()) {
            return self.run(Pass::ScalarBackward { x, y, g, dx, acc });
        }
        self.backward_slices(x.data(), y.data(), g.data(), dx.data_mut(), acc);
    }

    /// The backward rule on slices of equal length: a tensor's values, or one seed's
    /// rows of a Jacobian's gradient block.
    #[inline(never)]
    pub(crate) fn backward_slices(self, x: &[f64], y: &[f64], g: &[f64], dx: &mut [f64], acc: Accumulate) {
        vectorized(
            #[inline(always)]
            || {
                acc.specialize(
                    #[inline(always)]
                    |acc| self.run(Pass::Backward { x, y, g, dx, acc }),
                )
            },
        );
    }
}

// clamp(x, lo, hi)                         d/dx = 1 if lo ≤ x ≤ hi, else 0
// (Its own op rather than a `Unary`, whose values stay one word: two bounds would make
// every node larger.)
pub(crate) fn clamp_forward(lo: f64, hi: f64, x: &Tensor, out: &mut Tensor) {
    out.reshape_for_write(x.rows(), x.cols());
    out.data_mut().iter_mut().zip(x.data()).for_each(|(y, &x)| *y = x.clamp(lo, hi));
}

pub(crate) fn clamp_backward(lo: f64, hi: f64, x: &Tensor, g: &Tensor, dx: &mut Tensor, acc: Accumulate) {
    let inside = |x: f64| (lo..=hi).contains(&x);
    for ((d, &x), &g) in dx.data_mut().iter_mut().zip(x.data()).zip(g.data()) {
        acc.put(d, if inside(x) { g } else { 0.0 });
    }
}

/// The logistic function, evaluated without overflow for inputs of either sign.
///
/// With `e = e^-|x|` (never above 1): `1 / (1 + e)` for `x ≥ 0`, `e / (1 + e)` below.
/// Only the numerator depends on the sign, so the choice is a select, not a branch that
/// mispredicts on logits of mixed signs.
#[inline(always)]
pub(crate) fn sigmoid(x: f64) -> f64 {
    sigmoid_given(x, exp_nonpositive(-x.abs()))
}

/// [`sigmoid`] of `x` given `e = e^-|x|`, computed already.
#[inline(always)]
pub(crate) fn sigmoid_given(x: f64, e: f64) -> f64 {
    let numerator = if x >= 0.0 { 1.0 } else { e };
    numerator / (1.0 + e)
}

impl<'t> Var<'t> {
    fn unary(self, op: Unary) -> Var<'t> {
        self.apply(Op::Unary(op), &[])
    }

    /// `max(x, 0)` elementwise. Its derivative at exactly 0 is taken as 0, as in PyTorch.
    pub fn relu(self) -> Var<'t> {
        self.unary(Unary::Relu)
    }

    /// `x` where `x > 0`, `a·x` elsewhere; the derivative at 0 is `a`.
    pub fn leaky_relu(self, a: f64) -> Var<'t> {
        self.unary(Unary::LeakyRelu(a))
    }

    /// The logistic function `1 / (1 + e^-x)` elementwise, computed without overflow.
    pub fn sigmoid(self) -> Var<'t> {
        self.unary(Unary::Sigmoid)
    }

    /// Hyperbolic tangent elementwise.
    pub fn tanh(self) -> Var<'t> {
        self.unary(Unary::Tanh)
    }

    /// `e^x` elementwise.
    pub fn exp(self) -> Var<'t> {
        self.unary(Unary::Exp)
    }

    /// Natural logarithm elementwise (NaN below 0 and -∞ at 0, as `f64::ln`).
    pub fn ln(self) -> Var<'t> {
        self.unary(Unary::Ln)
    }

    /// `x^p` elementwise, as `f64::powf`.
    pub fn powf(self, p: f64) -> Var<'t> {
        self.unary(Unary::Powf(p))
    }
}

impl<'t> Var<'t> {
    /// `|x|` elementwise; its derivative at 0 is taken as 0.
    pub fn abs(self) -> Var<'t> {
        self.unary(Unary::Abs)
    }

    /// `√x` elementwise (NaN below 0, as `f64::sqrt`; the derivative is infinite at 0).
    pub fn sqrt(self) -> Var<'t> {
        self.unary(Unary::Sqrt)
    }

    /// `x²` elementwise.
    pub fn square(self) -> Var<'t> {
        self.unary(Unary::Square)
    }

    /// `x` limited to `[lo, hi]` elementwise. The gradient is 1 inside the interval,
    /// bounds included (as PyTorch's `clamp`), and 0 outside it.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::from_rows(&[[-2.0, -1.0, 0.5, 3.0]]));
    /// let y = x.clamp(-1.0, 1.0);
    /// assert_eq!(y.value().data(), &[-1.0, -1.0, 0.5, 1.0]);
    /// assert_eq!(y.sum().backward().wrt(x).data(), &[0.0, 1.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If `lo > hi` or either is NaN.
    pub fn clamp(self, lo: f64, hi: f64) -> Var<'t> {
        assert!(lo <= hi, "clamp: the lower bound {lo} is not at most the upper bound {hi}");
        self.apply(Op::Clamp(lo, hi), &[])
    }
}

impl<'t> std::ops::Neg for Var<'t> {
    type Output = Var<'t>;
    /// `-x` elementwise.
    fn neg(self) -> Var<'t> {
        self.unary(Unary::Neg)
    }
}
