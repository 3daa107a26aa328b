//! Ops that move values without computing new ones: slices, concatenation, gathering
//! rows, reshape and detach. Each backward rule routes the gradient back to where the
//! value came from.

use std::ops::Range;

use crate::tape::Var;
use crate::tensor::Tensor;

use super::{Accumulate, Axis, Op};

/// An op that moves values. Sizes are `u32`, so that an [`Op`] stays three words.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Structure {
    /// Rows (axis 0) or columns (axis 1) `start..end`.
    Slice {
        axis: Axis,
        start: u32,
        end: u32,
    },
    /// Two inputs joined along an axis: stacked rows (axis 0) or side-by-side columns (1).
    Concat(Axis),
    /// The rows of input 0 listed by input 1, a constant column of row indices.
    GatherRows,
    Reshape {
        rows: u32,
        cols: u32,
    },
    /// The input's value; no gradient flows back through it.
    Detach,
}

/// For each row of `x`: the range of `x`'s elements and of `out`'s that a slice or
/// concatenation copies from one to the other. `rows` row-ranges of `width` elements,
/// offset by `from` in `x` (row length `x_cols`) and `to` in `out` (row length `out_cols`).
struct Blocks {
    rows: usize,
    width: usize,
    from: usize,
    x_cols: usize,
    to: usize,
    out_cols: usize,
}

impl Blocks {
    fn each(&self, mut f: impl FnMut(Range<usize>, Range<usize>)) {
        for r in 0..self.rows {
            let a = r * self.x_cols + self.from;
            let b = r * self.out_cols + self.to;
            f(a..a + self.width, b..b + self.width);
        }
    }
}

impl Structure {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Structure::Slice { axis: Axis::Rows, .. } => "slice_rows",
            Structure::Slice { axis: Axis::Cols, .. } => "slice_cols",
            Structure::Concat(_) => "concat",
            Structure::GatherRows => "gather_rows",
            Structure::Reshape { .. } => "reshape",
            Structure::Detach => "detach",
        }
    }

    /// Where input `k`'s elements sit in the output, for slices (the output is part of
    /// the input) and concatenations (each input is part of the output).
    fn blocks(self, k: usize, x: &[&Tensor]) -> Blocks {
        let (rows, cols) = x[k].shape();
        match self {
            Structure::Slice { axis: Axis::Rows, start, end } => {
                let (start, end) = (start as usize, end as usize);
                Blocks { rows: 1, width: (end - start) * cols, from: start * cols, x_cols: 0, to: 0, out_cols: 0 }
            }
            Structure::Slice { axis: Axis::Cols, start, end } => {
                let (start, end) = (start as usize, end as usize);
                Blocks { rows, width: end - start, from: start, x_cols: cols, to: 0, out_cols: end - start }
            }
            Structure::Concat(Axis::Rows) => {
                let to = if k == 0 { 0 } else { x[0].len() };
                Blocks { rows: 1, width: rows * cols, from: 0, x_cols: 0, to, out_cols: 0 }
            }
            Structure::Concat(Axis::Cols) => {
                let out_cols = x[0].cols() + x[1].cols();
                let to = if k == 0 { 0 } else { x[0].cols() };
                Blocks { rows, width: cols, from: 0, x_cols: cols, to, out_cols }
            }
            _ => unreachable!("{}: not a slice or concatenation", self.name()),
        }
    }

    pub(crate) fn forward(self, x: &[&Tensor], out: &mut Tensor) {
        match self {
            // y = x[range]
            Structure::Slice { axis, start, end } => {
                let (rows, cols) = x[0].shape();
                let n = (end - start) as usize;
                let (r, c) = if axis == Axis::Rows { (n, cols) } else { (rows, n) };
                out.reshape_for_write(r, c);
                let y = out.data_mut();
                self.blocks(0, x).each(|from, to| y[to].copy_from_slice(&x[0].data()[from]));
            }
            // y = [a; b] or [a, b]
            Structure::Concat(axis) => {
                let ((ar, ac), (br, bc)) = (x[0].shape(), x[1].shape());
                let shape = match axis {
                    Axis::Rows if ac == bc => (ar + br, ac),
                    Axis::Cols if ar == br => (ar, ac + bc),
                    _ => panic!(
                        "concat: {ar}x{ac} and {br}x{bc} cannot be joined along axis {} ({} must match)",
                        if axis == Axis::Rows { 0 } else { 1 },
                        if axis == Axis::Rows { "columns" } else { "rows" }
                    ),
                };
                out.reshape_for_write(shape.0, shape.1);
                let y = out.data_mut();
                for k in 0..2 {
                    self.blocks(k, x).each(|from, to| y[to].copy_from_slice(&x[k].data()[from]));
                }
            }
            // y = x[indices]
            Structure::GatherRows => {
                let (src, idx) = (x[0], x[1].data());
                out.reshape_for_write(idx.len(), src.cols());
                for (row, &i) in out.data_mut().chunks_exact_mut(src.cols().max(1)).zip(idx) {
                    row.copy_from_slice(src.row(i as usize));
                }
            }
            // the same elements, another shape
            Structure::Reshape { rows, cols } => {
                out.reshape_for_write(rows as usize, cols as usize);
                out.data_mut().copy_from_slice(x[0].data());
            }
            Structure::Detach => out.copy_from(x[0]),
        }
    }

    pub(crate) fn backward(self, k: usize, x: &[&Tensor], g: &Tensor, dst: &mut Tensor, acc: Accumulate) {
        match self {
            // ∂/∂x = g inside the slice, 0 elsewhere
            Structure::Slice { .. } => {
                acc.zero_first(dst);
                let d = dst.data_mut();
                self.blocks(0, x).each(|from, to| {
                    d[from].iter_mut().zip(&g.data()[to]).for_each(|(d, &g)| *d += g);
                });
            }
            // ∂/∂input k = its block of g
            Structure::Concat(_) => {
                let d = dst.data_mut();
                self.blocks(k, x).each(|from, to| {
                    d[from].iter_mut().zip(&g.data()[to]).for_each(|(d, &g)| acc.put(d, g));
                });
            }
            // ∂/∂x row i = Σ of g's rows gathered from row i (0 for rows never gathered)
            Structure::GatherRows => {
                acc.zero_first(dst);
                let cols = dst.cols();
                for (r, &i) in x[1].data().iter().enumerate() {
                    let i = i as usize;
                    let d = &mut dst.data_mut()[i * cols..(i + 1) * cols];
                    d.iter_mut().zip(&g.data()[r * cols..(r + 1) * cols]).for_each(|(d, &g)| *d += g);
                }
            }
            // ∂/∂x = g, in x's shape
            Structure::Reshape { .. } => {
                dst.data_mut().iter_mut().zip(g.data()).for_each(|(d, &g)| acc.put(d, g));
            }
            Structure::Detach => unreachable!("detach passes no gradient"),
        }
    }
}

impl<'t> Var<'t> {
    fn structure(self, s: Structure, others: &[Var<'t>]) -> Var<'t> {
        self.apply(Op::Structure(s), others)
    }

    fn slice(self, axis: Axis, range: Range<usize>, len: usize) -> Var<'t> {
        let name = Structure::Slice { axis, start: 0, end: 0 }.name();
        let (r, c) = self.shape();
        assert!(
            range.start <= range.end && range.end <= len,
            "{name}: range {range:?} is outside the {} of a {r}x{c} tensor",
            if axis == Axis::Rows { "rows" } else { "columns" }
        );
        self.structure(Structure::Slice { axis, start: range.start as u32, end: range.end as u32 }, &[])
    }

    /// The rows `range` of `self`, as a new node; the gradient flows back into those rows.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]));
    /// assert_eq!(x.slice_rows(1..3).value().data(), &[3.0, 4.0, 5.0, 6.0]);
    /// ```
    ///
    /// # Panics
    /// If `range` is not within the rows.
    pub fn slice_rows(self, range: Range<usize>) -> Var<'t> {
        let rows = self.shape().0;
        self.slice(Axis::Rows, range, rows)
    }

    /// The columns `range` of `self`, as a new node.
    ///
    /// # Panics
    /// If `range` is not within the columns.
    pub fn slice_cols(self, range: Range<usize>) -> Var<'t> {
        let cols = self.shape().1;
        self.slice(Axis::Cols, range, cols)
    }

    /// `parts` joined along `axis`: stacked as rows (axis 0; the column counts must
    /// match) or side by side as columns (axis 1; the row counts must match), as NumPy's
    /// `concatenate`. A node may appear more than once; its gradient is the sum of its
    /// blocks'. Recorded as one join per part after the first.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let a = tape.leaf(Tensor::from_rows(&[[1.0], [2.0]]));
    /// let ab = Var::concat(&[a, a * 10.0], 1);
    /// assert_eq!(ab.value().data(), &[1.0, 10.0, 2.0, 20.0]);
    /// ```
    ///
    /// # Panics
    /// If `parts` is empty, `axis` is not 0 or 1, or the shapes do not fit together.
    pub fn concat(parts: &[Var<'t>], axis: usize) -> Var<'t> {
        let axis = Axis::of("concat", axis);
        let (&first, rest) = parts.split_first().expect("concat: no parts to join");
        rest.iter().fold(first, |joined, &p| joined.structure(Structure::Concat(axis), &[p]))
    }

    /// The rows of `self` listed in `indices`, in that order (an embedding lookup). A row
    /// may be gathered many times: its gradient is the sum over its copies, and rows never
    /// gathered get 0.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let table = tape.leaf(Tensor::from_rows(&[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]));
    /// let grads = table.gather_rows(&[2, 0, 2]).sum().backward();
    /// assert_eq!(grads.wrt(table).data(), &[1.0, 1.0, 0.0, 0.0, 2.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// If an index is not a row of `self`.
    pub fn gather_rows(self, indices: &[usize]) -> Var<'t> {
        let (r, c) = self.shape();
        if let Some((at, &i)) = indices.iter().enumerate().find(|&(_, &i)| i >= r) {
            panic!("gather_rows: index {i} (position {at}) is outside the {r} rows of a {r}x{c} tensor");
        }
        let idx = self.tape().constant_with(indices.len(), 1, |d| {
            d.iter_mut().zip(indices).for_each(|(d, &i)| *d = i as f64);
        });
        self.structure(Structure::GatherRows, &[idx])
    }

    /// The same elements in row-major order, as `rows x cols`.
    ///
    /// # Panics
    /// If `rows * cols` differs from the number of elements.
    pub fn reshape(self, rows: usize, cols: usize) -> Var<'t> {
        let (r, c) = self.shape();
        assert!(
            rows.checked_mul(cols) == Some(r * c),
            "reshape: a {r}x{c} tensor ({} elements) cannot be viewed as {rows}x{cols}",
            r * c
        );
        self.structure(Structure::Reshape { rows: rows as u32, cols: cols as u32 }, &[])
    }

    /// The value of `self`, with no gradient flowing back through it: a node computed
    /// from it treats it as a constant (`stop_gradient`). The node itself has no
    /// gradient, like a constant.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let x = tape.scalar(3.0);
    /// let y = x * x.detach(); // d/dx = 3, not 6
    /// assert_eq!(y.backward().wrt(x).item(), 3.0);
    /// ```
    pub fn detach(self) -> Var<'t> {
        self.structure(Structure::Detach, &[])
    }
}
