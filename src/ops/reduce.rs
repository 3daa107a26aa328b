//! Reductions: of a whole tensor to 1x1, and along an axis to a row or a column that
//! broadcasts back against the input.

use crate::tape::Var;
use crate::tensor::Tensor;

use super::{Accumulate, Axis, Op};

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

/// A reduction along an axis: each lane (a column along axis 0, a row along axis 1)
/// becomes one element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Reduce {
    Sum,
    Mean,
    Max,
    /// The biased variance (divided by the lane's length).
    Var,
}

impl Reduce {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Reduce::Sum => "sum_axis",
            Reduce::Mean => "mean_axis",
            Reduce::Max => "max_axis",
            Reduce::Var => "var_axis",
        }
    }

    /// The variance keeps each lane's mean for its backward pass.
    pub(crate) fn saves(self) -> bool {
        self == Reduce::Var
    }

    pub(crate) fn forward(self, axis: Axis, x: &Tensor, out: &mut Tensor, saved: Option<&mut Tensor>) {
        let (count, len, start, stride) = axis.lanes(x.shape());
        let (r, c) = axis.reduced(x.shape());
        out.reshape_for_write(r, c);
        assert!(len > 0, "{}: cannot reduce an empty axis of a {}x{} tensor", self.name(), x.rows(), x.cols());
        let x = x.data();
        let lane = |k: usize| (0..len).map(move |i| x[k * start + i * stride]);
        let out = out.data_mut();
        match self {
            // s = Σ x
            Reduce::Sum => (0..count).for_each(|k| out[k] = lane(k).sum()),
            // m = Σ x / n
            Reduce::Mean => (0..count).for_each(|k| out[k] = lane(k).sum::<f64>() / len as f64),
            // the first maximal element
            Reduce::Max => (0..count).for_each(|k| out[k] = lane(k).fold(f64::NEG_INFINITY, f64::max)),
            // v = Σ (x - m)² / n, with the mean m kept
            Reduce::Var => {
                let means = saved.expect("var_axis: the tape keeps each lane's mean");
                means.reshape_for_write(r, c);
                for (k, (v, mean)) in out.iter_mut().zip(means.data_mut()).enumerate() {
                    let m = lane(k).sum::<f64>() / len as f64;
                    *mean = m;
                    *v = lane(k).map(|x| (x - m) * (x - m)).sum::<f64>() / len as f64;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn backward(
        self,
        axis: Axis,
        x: &Tensor,
        y: &Tensor,
        saved: Option<&Tensor>,
        g: &Tensor,
        dst: &mut Tensor,
        acc: Accumulate,
    ) {
        let (count, len, start, stride) = axis.lanes(x.shape());
        let n = len as f64;
        let (x, y, g, d) = (x.data(), y.data(), g.data(), dst.data_mut());
        for k in 0..count {
            let at = |i: usize| k * start + i * stride;
            match self {
                // ∂s/∂x = 1
                Reduce::Sum => (0..len).for_each(|i| acc.put(&mut d[at(i)], g[k])),
                // ∂m/∂x = 1/n
                Reduce::Mean => (0..len).for_each(|i| acc.put(&mut d[at(i)], g[k] / n)),
                // ∂max/∂x = 1 at the first maximal element, 0 elsewhere
                Reduce::Max => {
                    let first = (0..len).position(|i| x[at(i)] == y[k]);
                    (0..len).for_each(|i| acc.put(&mut d[at(i)], if Some(i) == first { g[k] } else { 0.0 }));
                }
                // ∂v/∂x = 2(x - m)/n
                Reduce::Var => {
                    let m = saved.expect("var_axis: the forward pass kept the means").data()[k];
                    (0..len).for_each(|i| acc.put(&mut d[at(i)], g[k] * 2.0 * (x[at(i)] - m) / n));
                }
            }
        }
    }
}

impl<'t> Var<'t> {
    fn reduce(self, r: Reduce, axis: usize) -> Var<'t> {
        self.apply(Op::Reduce(r, Axis::of(r.name(), axis)), &[])
    }

    /// The sum along `axis`: axis 0 sums each column to `(1, cols)`, axis 1 each row to
    /// `(rows, 1)`, so the result broadcasts back against `self`.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]));
    /// assert_eq!(x.sum_axis(0).value().data(), &[4.0, 6.0]);
    /// assert_eq!(x.sum_axis(1).value().data(), &[3.0, 7.0]);
    /// ```
    ///
    /// # Panics
    /// If `axis` is not 0 or 1.
    pub fn sum_axis(self, axis: usize) -> Var<'t> {
        self.reduce(Reduce::Sum, axis)
    }

    /// The mean along `axis` (see [`Var::sum_axis`] for the shapes).
    ///
    /// # Panics
    /// If `axis` is not 0 or 1, or the axis is empty.
    pub fn mean_axis(self, axis: usize) -> Var<'t> {
        self.reduce(Reduce::Mean, axis)
    }

    /// The maximum along `axis` (see [`Var::sum_axis`] for the shapes). The gradient goes
    /// to the first maximal element of each column (axis 0) or row (axis 1) only, as in
    /// NumPy's `argmax`; tied elements after it get 0.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::from_rows(&[[5.0, 1.0, 5.0]]));
    /// let grads = x.max_axis(1).backward();
    /// assert_eq!(grads.wrt(x).data(), &[1.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If `axis` is not 0 or 1, or the axis is empty.
    pub fn max_axis(self, axis: usize) -> Var<'t> {
        self.reduce(Reduce::Max, axis)
    }

    /// The biased variance along `axis`, `Σ (x - mean)² / n` (NumPy's default `ddof=0`;
    /// see [`Var::sum_axis`] for the shapes).
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::from_rows(&[[1.0, 3.0], [2.0, 6.0]]));
    /// assert_eq!(x.var_axis(1).value().data(), &[1.0, 4.0]);
    /// ```
    ///
    /// # Panics
    /// If `axis` is not 0 or 1, or the axis is empty.
    pub fn var_axis(self, axis: usize) -> Var<'t> {
        self.reduce(Reduce::Var, axis)
    }

    /// The sum of all elements, 1x1.
    pub fn sum(self) -> Var<'t> {
        self.apply(Op::Sum, &[])
    }

    /// The mean of all elements, 1x1.
    pub fn mean(self) -> Var<'t> {
        self.apply(Op::Mean, &[])
    }
}
