//! `Tensor`: a row-major 2-D array of `f64`, and the numeric kernels that work on it.
//!
//! The tensor knows nothing of tapes or gradients. Matrix products are in [`product`];
//! the elementwise and reduction kernels are plain loops over slices. What users reach
//! for beside them: arithmetic operators in [`arith`], samplers, `eye` and `one_hot` in
//! [`make`], and means, deviations and `argmax` along an axis in [`summary`].

mod arith;
mod make;
mod product;
mod simd;
mod summary;

use std::fmt;

use smallvec::SmallVec;

pub(crate) use arith::broadcast_shape;
pub(crate) use product::{Write, gemm_into, matmul_dims};
pub(crate) use simd::vectorized;

/// A row-major 2-D array of `f64`. Samples are rows: `x` has shape `(n, features)`.
///
/// `+ - * /` work elementwise between tensors of the same shape or broadcasting `(1,c)`,
/// `(r,1)` and `(1,1)` operands (as the tape's ops do), and between a tensor and an `f64`
/// on either side; `+= -= *= /=` update in place, as does [`Tensor::add_scaled`].
///
/// ```
/// use tapegrad::Tensor;
/// let x = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]);
/// let centered = &x - &x.mean_axis(0); // (2,2) - (1,2)
/// assert_eq!(centered, Tensor::from_rows(&[[-1.0, -1.0], [1.0, 1.0]]));
/// let mut y = 2.0 * &x + 1.0;
/// y -= &x;
/// assert_eq!(y, &x + 1.0);
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Tensor {
    rows: usize,
    cols: usize,
    /// A single value is held inline: the nodes and gradients of scalar code then need
    /// no heap buffer each, and a long chain of them does not chase a pointer per node.
    data: SmallVec<[f64; 1]>,
}

impl Tensor {
    /// A `rows x cols` tensor from row-major `data`.
    ///
    /// # Panics
    /// If `data.len() != rows * cols`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_vec(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// assert_eq!(t.shape(), (2, 3));
    /// assert_eq!(t.get(1, 0), 4.0);
    /// ```
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f64>) -> Tensor {
        assert!(
            data.len() == rows * cols,
            "Tensor::from_vec: shape {rows}x{cols} needs {} values, got {}",
            rows * cols,
            data.len()
        );
        Tensor { rows, cols, data: SmallVec::from_vec(data) }
    }

    /// A `rows x cols` tensor of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Tensor {
        Tensor::full(rows, cols, 0.0)
    }

    /// A `rows x cols` tensor with every element equal to `value`.
    pub fn full(rows: usize, cols: usize, value: f64) -> Tensor {
        Tensor { rows, cols, data: SmallVec::from_elem(value, rows * cols) }
    }

    /// A 1x1 tensor holding `value`.
    pub fn scalar(value: f64) -> Tensor {
        Tensor::from_vec(1, 1, vec![value])
    }

    /// A tensor from a slice of rows of equal length.
    ///
    /// # Panics
    /// If the rows differ in length.
    pub fn from_rows<R: AsRef<[f64]>>(rows: &[R]) -> Tensor {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut data = SmallVec::with_capacity(rows.len() * cols);
        for (i, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            assert!(r.len() == cols, "Tensor::from_rows: row {i} has {} values, row 0 has {cols}", r.len());
            data.extend_from_slice(r);
        }
        Tensor { rows: rows.len(), cols, data }
    }

    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of elements, `rows * cols`.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// The elements in row-major order, mutably.
    pub fn data_mut(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// The elements in row-major order, by value.
    pub fn into_vec(self) -> Vec<f64> {
        self.data.into_vec()
    }

    /// Row `r` as a slice.
    pub fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// The element at row `r`, column `c`.
    ///
    /// # Panics
    /// If `(r, c)` is out of bounds.
    pub fn get(&self, r: usize, c: usize) -> f64 {
        assert!(r < self.rows && c < self.cols, "Tensor::get: ({r}, {c}) is outside {}x{}", self.rows, self.cols);
        self.data[r * self.cols + c]
    }

    /// The single value of a 1x1 tensor.
    ///
    /// # Panics
    /// If the tensor is not 1x1.
    pub fn item(&self) -> f64 {
        assert!(self.shape() == (1, 1), "Tensor::item: expected a 1x1 tensor, got {}x{}", self.rows, self.cols);
        self.data[0]
    }

    /// A new tensor with `f` applied to every element.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Tensor {
        Tensor { rows: self.rows, cols: self.cols, data: self.data.iter().map(|&x| f(x)).collect() }
    }

    /// The transpose, `cols x rows`.
    pub fn transpose(&self) -> Tensor {
        let mut out = Tensor::zeros(self.cols, self.rows);
        transpose_into(&mut out.data, self.rows, self.cols, &self.data);
        out
    }

    /// The matrix product `self · other`.
    ///
    /// # Panics
    /// If `self.cols() != other.rows()`.
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        let mut out = Tensor::zeros(self.rows, other.cols);
        let (m, k, n) = matmul_dims("matmul", self.shape(), other.shape());
        gemm_into(&mut out.data, m, k, n, &self.data, false, &other.data, false, Write::Set);
        out
    }

    /// Sum of all elements.
    pub fn sum(&self) -> f64 {
        self.data.iter().sum()
    }

    /// Mean of all elements (NaN for an empty tensor).
    pub fn mean(&self) -> f64 {
        self.sum() / self.data.len() as f64
    }

    /// Euclidean (Frobenius) norm.
    pub fn norm(&self) -> f64 {
        self.data.iter().map(|x| x * x).sum::<f64>().sqrt()
    }

    /// Largest absolute value (0 for an empty tensor).
    pub fn max_abs(&self) -> f64 {
        self.data.iter().fold(0.0, |m, x| m.max(x.abs()))
    }

    /// Whether every element is finite.
    pub fn is_finite(&self) -> bool {
        self.data.iter().all(|x| x.is_finite())
    }

    /// The rows `rows` of this tensor, in that order (a row may repeat).
    ///
    /// # Panics
    /// If a row is out of bounds.
    pub fn select_rows(&self, rows: &[usize]) -> Tensor {
        let mut out = Tensor::default();
        self.select_rows_into(rows, &mut out);
        out
    }

    /// [`Tensor::select_rows`] into `out`, reusing its buffer.
    pub(crate) fn select_rows_into(&self, rows: &[usize], out: &mut Tensor) {
        out.reshape_for_write(rows.len(), self.cols);
        for (dst, &r) in out.data.chunks_exact_mut(self.cols.max(1)).zip(rows) {
            assert!(r < self.rows, "Tensor::select_rows: row {r} is outside {}x{}", self.rows, self.cols);
            dst.copy_from_slice(self.row(r));
        }
    }

    /// Makes this tensor `rows x cols`, reusing its buffer; the contents are unspecified
    /// until written.
    pub(crate) fn reshape_for_write(&mut self, rows: usize, cols: usize) {
        self.rows = rows;
        self.cols = cols;
        self.data.resize(rows * cols, 0.0);
    }

    /// Copies `src` into this tensor, reusing its buffer.
    pub(crate) fn copy_from(&mut self, src: &Tensor) {
        self.rows = src.rows;
        self.cols = src.cols;
        self.data.clear();
        self.data.extend_from_slice(&src.data);
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor({}x{}, [", self.rows, self.cols)?;
        for r in 0..self.rows {
            if r > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{:?}", self.row(r))?;
        }
        write!(f, "])")
    }
}

/// `dst[j] += Σ_r src[r, j]`: the column sums of row-major `src`, whose rows are as
/// long as `dst` (a dense layer's bias gradient). Rows up to 16 wide are summed in
/// registers, a compiled loop per width; every column is summed in row order.
pub(crate) fn add_column_sums(dst: &mut [f64], src: &[f64]) {
    fn narrow<const N: usize>(dst: &mut [f64], src: &[f64]) {
        let mut acc = [0.0; N];
        for row in src.as_chunks::<N>().0 {
            for j in 0..N {
                acc[j] += row[j];
            }
        }
        dst.iter_mut().zip(acc).for_each(|(d, s)| *d += s);
    }
    macro_rules! widths {
        ($($n:literal)*) => {
            match dst.len() {
                0 => {}
                $($n => narrow::<$n>(dst, src),)*
                n => {
                    for row in src.chunks_exact(n) {
                        dst.iter_mut().zip(row).for_each(|(d, s)| *d += s);
                    }
                }
            }
        };
    }
    widths!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
}

/// `out (cols x rows) = transpose of src (rows x cols)`.
pub(crate) fn transpose_into(out: &mut [f64], rows: usize, cols: usize, src: &[f64]) {
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = src[r * cols + c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_matches_the_definition() {
        let a = Tensor::from_vec(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = Tensor::from_vec(3, 2, vec![7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
        assert_eq!(a.matmul(&b), Tensor::from_vec(2, 2, vec![58.0, 64.0, 139.0, 154.0]));
    }

    #[test]
    #[should_panic(expected = "Tensor::from_vec: shape 2x3 needs 6 values, got 5")]
    fn from_vec_rejects_a_wrong_length() {
        Tensor::from_vec(2, 3, vec![0.0; 5]);
    }

    #[test]
    #[should_panic(expected = "Tensor::item: expected a 1x1 tensor, got 2x2")]
    fn item_rejects_a_matrix() {
        Tensor::zeros(2, 2).item();
    }

    #[test]
    #[should_panic(expected = "matmul: shape mismatch: left is 2x3, right is 2x3")]
    fn matmul_names_both_shapes() {
        Tensor::zeros(2, 3).matmul(&Tensor::zeros(2, 3));
    }

    #[test]
    fn select_rows_picks_and_repeats_rows() {
        let t = Tensor::from_vec(3, 2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(t.select_rows(&[2, 0, 2]), Tensor::from_vec(3, 2, vec![5.0, 6.0, 1.0, 2.0, 5.0, 6.0]));
        let mut reused = Tensor::zeros(5, 5);
        t.select_rows_into(&[1], &mut reused);
        assert_eq!(reused, Tensor::from_vec(1, 2, vec![3.0, 4.0]));
    }

    #[test]
    #[should_panic(expected = "Tensor::select_rows: row 3 is outside 3x2")]
    fn select_rows_rejects_a_missing_row() {
        Tensor::zeros(3, 2).select_rows(&[3]);
    }

    #[test]
    fn column_sums_add_each_column_in_row_order() {
        for cols in [1, 2, 6, 12, 16, 17, 40] {
            let src: Vec<f64> = (0..7 * cols).map(|i| (i as f64 * 0.3).sin()).collect();
            let want: Vec<f64> = (0..cols).map(|j| (0..7).fold(0.0, |s, r| s + src[r * cols + j])).collect();
            let mut dst = vec![0.0; cols];
            add_column_sums(&mut dst, &src);
            assert_eq!(dst, want, "{cols} columns");
            add_column_sums(&mut dst, &src);
            for (d, w) in dst.iter().zip(&want) {
                assert!((d - 2.0 * w).abs() < 1e-12, "{cols} columns, added twice: {d} vs {}", 2.0 * w);
            }
        }
    }

    #[test]
    fn reductions() {
        let t = Tensor::from_vec(1, 4, vec![3.0, -4.0, 0.0, 1.0]);
        assert_eq!(t.sum(), 0.0);
        assert_eq!(t.max_abs(), 4.0);
        assert_eq!(t.norm(), 26f64.sqrt());
        assert_eq!(t.transpose().shape(), (4, 1));
    }
}
