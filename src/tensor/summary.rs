//! Summaries of a tensor's values, whole or along an axis: the population standard
//! deviation, the mean and deviation along an axis, and the index of the largest value.
//!
//! `axis` follows NumPy, as the tape's axis ops do: `0` summarizes each column over the
//! rows (giving `(1, cols)`), `1` each row over the columns (giving `(rows, 1)`).

use std::borrow::Cow;

use crate::stats::mean_std;

use super::Tensor;

impl Tensor {
    /// Population standard deviation of all elements (the squared deviations from the
    /// mean divided by `n`, as NumPy's `std`); NaN for an empty tensor.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_vec(2, 2, vec![1.0, 3.0, 1.0, 3.0]);
    /// assert_eq!((t.mean(), t.std()), (2.0, 1.0));
    /// ```
    pub fn std(&self) -> f64 {
        mean_std(&self.data).1
    }

    /// Mean along `axis`: of each column (`0`, giving `(1, cols)`) or of each row (`1`,
    /// giving `(rows, 1)`). NaN where there is nothing to average.
    ///
    /// # Panics
    /// If `axis` is not 0 or 1.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_rows(&[[1.0, 2.0], [3.0, 6.0]]);
    /// assert_eq!(t.mean_axis(0), Tensor::from_rows(&[[2.0, 4.0]]));
    /// assert_eq!(t.mean_axis(1), Tensor::from_rows(&[[1.5], [4.5]]));
    /// ```
    pub fn mean_axis(&self, axis: usize) -> Tensor {
        self.along("Tensor::mean_axis", axis, |lane| mean_std(lane).0)
    }

    /// Population standard deviation (divides by `n`) along `axis`, shaped as
    /// [`Tensor::mean_axis`]. NaN where there is nothing to average.
    ///
    /// # Panics
    /// If `axis` is not 0 or 1.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_rows(&[[1.0, 2.0], [3.0, 6.0]]);
    /// assert_eq!(t.std_axis(0), Tensor::from_rows(&[[1.0, 2.0]]));
    /// assert_eq!(t.std_axis(1), Tensor::from_rows(&[[0.5], [1.5]]));
    /// ```
    pub fn std_axis(&self, axis: usize) -> Tensor {
        self.along("Tensor::std_axis", axis, |lane| mean_std(lane).1)
    }

    /// The index of the largest value along `axis`: for each column, its row (`0`, `cols`
    /// indices), or for each row, its column (`1`, `rows` indices; a classifier's
    /// predicted classes from its `(n, k)` scores). On ties the first maximal element
    /// wins, and a NaN counts as larger than any number, as in NumPy's `argmax`.
    ///
    /// # Panics
    /// If `axis` is not 0 or 1, or if there are lanes to search but they are empty
    /// (`argmax(1)` of an `n x 0` tensor with `n > 0`).
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let scores = Tensor::from_rows(&[[0.1, 0.7, 0.2], [0.5, 0.1, 0.5]]);
    /// assert_eq!(scores.argmax(1), vec![1, 0]); // row 1 ties: the first wins
    /// assert_eq!(scores.argmax(0), vec![1, 0, 1]);
    /// ```
    pub fn argmax(&self, axis: usize) -> Vec<usize> {
        let lanes = self.lanes("Tensor::argmax", axis);
        assert!(
            lanes.cols > 0 || lanes.rows == 0,
            "Tensor::argmax: axis {axis} of a {}x{} tensor has no elements to compare",
            self.rows,
            self.cols
        );
        (0..lanes.rows).map(|i| first_max(lanes.row(i))).collect()
    }

    /// The lanes a summary along `axis` runs over, as the rows of a tensor: the columns
    /// (a transposed copy) for axis 0, the rows themselves for axis 1.
    fn lanes(&self, op: &str, axis: usize) -> Cow<'_, Tensor> {
        match axis {
            0 => Cow::Owned(self.transpose()),
            1 => Cow::Borrowed(self),
            _ => panic!("{op}: axis must be 0 (over the rows) or 1 (over the columns), got {axis}"),
        }
    }

    /// `f` of every lane along `axis`, shaped `(1, cols)` or `(rows, 1)`.
    fn along(&self, op: &str, axis: usize, f: impl Fn(&[f64]) -> f64) -> Tensor {
        let lanes = self.lanes(op, axis);
        let values = (0..lanes.rows).map(|i| f(lanes.row(i))).collect();
        if axis == 0 { Tensor::from_vec(1, lanes.rows, values) } else { Tensor::from_vec(lanes.rows, 1, values) }
    }
}

/// The index of the first maximal element of a non-empty slice, or of its first NaN.
fn first_max(xs: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate().skip(1) {
        if xs[best].is_nan() {
            break;
        }
        if x > xs[best] || x.is_nan() {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_divides_by_n() {
        let t = Tensor::from_vec(1, 4, vec![2.0, 4.0, 4.0, 6.0]);
        // Deviations -2, 0, 0, 2: squares sum to 8, over 4 elements = 2.
        assert_eq!(t.std(), 2f64.sqrt());
        assert_eq!(Tensor::scalar(5.0).std(), 0.0);
        assert!(Tensor::zeros(0, 3).std().is_nan());
    }

    #[test]
    fn axis_summaries_follow_numpy() {
        let t = Tensor::from_rows(&[[1.0, 10.0, -3.0], [3.0, 10.0, 5.0], [8.0, 10.0, 1.0]]);
        assert_eq!(t.mean_axis(0), Tensor::from_rows(&[[4.0, 10.0, 1.0]]));
        assert_eq!(t.mean_axis(1), Tensor::from_rows(&[[8.0 / 3.0], [6.0], [19.0 / 3.0]]));
        let std0 = t.std_axis(0);
        assert_eq!(std0.shape(), (1, 3));
        // Column 0: deviations -3, -1, 4 → (9 + 1 + 16)/3; column 2: -4, 4, 0 → 32/3.
        assert!((std0.get(0, 0) - (26.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(std0.get(0, 1), 0.0);
        assert!((std0.get(0, 2) - (32.0f64 / 3.0).sqrt()).abs() < 1e-15);
        let std1 = t.std_axis(1);
        assert_eq!(std1.shape(), (3, 1));
        for (r, row) in [[1.0, 10.0, -3.0], [3.0, 10.0, 5.0], [8.0, 10.0, 1.0]].iter().enumerate() {
            let m = row.iter().sum::<f64>() / 3.0;
            let want = (row.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 3.0).sqrt();
            assert!((std1.get(r, 0) - want).abs() < 1e-14, "row {r}: {} vs {want}", std1.get(r, 0));
        }
    }

    #[test]
    fn summaries_of_nothing_are_nan_or_empty() {
        assert!(Tensor::zeros(0, 2).mean_axis(0).data().iter().all(|x| x.is_nan()));
        assert_eq!(Tensor::zeros(0, 2).mean_axis(1).shape(), (0, 1));
        assert_eq!(Tensor::zeros(0, 2).argmax(1), Vec::<usize>::new());
    }

    #[test]
    fn argmax_takes_the_first_maximum_and_the_first_nan() {
        let t = Tensor::from_rows(&[[1.0, 5.0, 5.0], [7.0, -1.0, 7.0], [-2.0, f64::NAN, 9.0]]);
        assert_eq!(t.argmax(1), vec![1, 0, 1]);
        assert_eq!(t.argmax(0), vec![1, 2, 2]);
        assert_eq!(Tensor::from_rows(&[[f64::NAN, f64::NAN, 1.0]]).argmax(1), vec![0]);
        assert_eq!(Tensor::from_rows(&[[-1.0, -0.5, -3.0]]).argmax(1), vec![1]);
    }

    #[test]
    #[should_panic(expected = "Tensor::argmax: axis 1 of a 2x0 tensor has no elements to compare")]
    fn argmax_rejects_empty_lanes() {
        Tensor::zeros(2, 0).argmax(1);
    }

    #[test]
    #[should_panic(expected = "Tensor::std_axis: axis must be 0 (over the rows) or 1 (over the columns), got 2")]
    fn axes_are_zero_or_one() {
        Tensor::zeros(2, 2).std_axis(2);
    }
}
