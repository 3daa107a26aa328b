//! The softmax family along an axis: `softmax`, `log_softmax` and `logsumexp`, each
//! shifted by its lane's maximum so that no exponential overflows for finite logits.
//! Every backward rule reads the op's own output, so nothing else is kept.

use crate::tape::Var;
use crate::tensor::Tensor;

use super::{Accumulate, Axis, Op};

/// An op of the softmax family.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum SoftmaxFamily {
    Softmax,
    LogSoftmax,
    /// `ln Σ e^x` per lane; the axis stays, of length 1.
    LogSumExp,
}

/// `ln Σ e^x` over a lane given by `at`, shifted by its maximum (the losses on logits
/// use it too).
#[inline(always)]
pub(crate) fn logsumexp(len: usize, at: impl Fn(usize) -> f64) -> f64 {
    let m = (0..len).map(&at).fold(f64::NEG_INFINITY, f64::max);
    if m.is_infinite() {
        return m;
    }
    m + (0..len).map(|i| (at(i) - m).exp()).sum::<f64>().ln()
}

impl SoftmaxFamily {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SoftmaxFamily::Softmax => "softmax",
            SoftmaxFamily::LogSoftmax => "log_softmax",
            SoftmaxFamily::LogSumExp => "logsumexp",
        }
    }

    pub(crate) fn forward(self, axis: Axis, x: &Tensor, out: &mut Tensor) {
        let (count, len, start, stride) = axis.lanes(x.shape());
        let (r, c) = if self == SoftmaxFamily::LogSumExp { axis.reduced(x.shape()) } else { x.shape() };
        out.reshape_for_write(r, c);
        let (x, y) = (x.data(), out.data_mut());
        for k in 0..count {
            let at = |i: usize| k * start + i * stride;
            // Relative to the lane's maximum m, so that at large |x| no rounding of a
            // number near |x| (as `x - lse` would carry) enters the result.
            let m = (0..len).map(|i| x[at(i)]).fold(f64::NEG_INFINITY, f64::max);
            match self {
                // e^(x - m) / Σ e^(x - m)
                SoftmaxFamily::Softmax => {
                    let mut total = 0.0;
                    for i in 0..len {
                        y[at(i)] = (x[at(i)] - m).exp();
                        total += y[at(i)];
                    }
                    (0..len).for_each(|i| y[at(i)] /= total);
                }
                // (x - m) - ln Σ e^(x - m)
                SoftmaxFamily::LogSoftmax => {
                    let ln_total = (0..len).map(|i| (x[at(i)] - m).exp()).sum::<f64>().ln();
                    (0..len).for_each(|i| y[at(i)] = (x[at(i)] - m) - ln_total);
                }
                // lse
                SoftmaxFamily::LogSumExp => y[k] = logsumexp(len, |i| x[at(i)]),
            }
        }
    }

    pub(crate) fn backward(self, axis: Axis, x: &Tensor, y: &Tensor, g: &Tensor, dst: &mut Tensor, acc: Accumulate) {
        let (count, len, start, stride) = axis.lanes(x.shape());
        let (x, y, g, d) = (x.data(), y.data(), g.data(), dst.data_mut());
        for k in 0..count {
            let at = |i: usize| k * start + i * stride;
            match self {
                // ∂/∂x_i = y_i (g_i - Σ_j g_j y_j)
                SoftmaxFamily::Softmax => {
                    let dot: f64 = (0..len).map(|j| g[at(j)] * y[at(j)]).sum();
                    (0..len).for_each(|i| acc.put(&mut d[at(i)], y[at(i)] * (g[at(i)] - dot)));
                }
                // ∂/∂x_i = g_i - e^(y_i) Σ_j g_j
                SoftmaxFamily::LogSoftmax => {
                    let total: f64 = (0..len).map(|j| g[at(j)]).sum();
                    (0..len).for_each(|i| acc.put(&mut d[at(i)], g[at(i)] - y[at(i)].exp() * total));
                }
                // ∂/∂x_i = g · e^(x_i - lse)
                SoftmaxFamily::LogSumExp => {
                    (0..len).for_each(|i| acc.put(&mut d[at(i)], g[k] * (x[at(i)] - y[k]).exp()))
                }
            }
        }
    }
}

impl<'t> Var<'t> {
    fn softmax_family(self, s: SoftmaxFamily, axis: usize) -> Var<'t> {
        self.apply(Op::Softmax(s, Axis::of(s.name(), axis)), &[])
    }

    /// `e^x / Σ e^x` along `axis` (1: each row sums to 1; 0: each column), computed with
    /// the lane's maximum subtracted, so finite logits of any size give finite values.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let p = tape.leaf(Tensor::from_rows(&[[1000.0, 1000.0]])).softmax(1);
    /// assert_eq!(p.value().data(), &[0.5, 0.5]);
    /// ```
    ///
    /// # Panics
    /// If `axis` is not 0 or 1.
    pub fn softmax(self, axis: usize) -> Var<'t> {
        self.softmax_family(SoftmaxFamily::Softmax, axis)
    }

    /// `x - logsumexp(x)` along `axis`: the logarithm of [`Var::softmax`], without the
    /// cancellation of taking `ln` of a tiny probability.
    ///
    /// # Panics
    /// If `axis` is not 0 or 1.
    pub fn log_softmax(self, axis: usize) -> Var<'t> {
        self.softmax_family(SoftmaxFamily::LogSoftmax, axis)
    }

    /// `ln Σ e^x` along `axis`, keeping the axis as length 1: `(1, cols)` for axis 0,
    /// `(rows, 1)` for axis 1. Its gradient is the softmax.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::from_rows(&[[-1000.0, -1000.0]]));
    /// assert_eq!(x.logsumexp(1).item(), -1000.0 + 2f64.ln());
    /// ```
    ///
    /// # Panics
    /// If `axis` is not 0 or 1.
    pub fn logsumexp(self, axis: usize) -> Var<'t> {
        self.softmax_family(SoftmaxFamily::LogSumExp, axis)
    }
}
