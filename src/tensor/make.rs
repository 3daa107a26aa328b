//! Tensors made from a rule rather than from data: random samples from a caller's
//! generator, the identity and one-hot rows of class labels.

use rand::distr::Uniform;
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use super::Tensor;

impl Tensor {
    /// A `rows x cols` tensor of independent standard normal draws from `rng`, in
    /// row-major order: the same numbers as the `normal:1` initializer draws from the
    /// same generator.
    ///
    /// ```
    /// use tapegrad::{Tensor, init::seeded_rng};
    /// let a = Tensor::randn(2, 3, &mut seeded_rng(7, 0));
    /// let b = Tensor::randn(2, 3, &mut seeded_rng(7, 0));
    /// assert_eq!(a, b); // the same seed gives the same numbers
    /// ```
    pub fn randn(rows: usize, cols: usize, rng: &mut impl Rng) -> Tensor {
        Tensor::from_vec(rows, cols, (0..rows * cols).map(|_| rng.sample(StandardNormal)).collect())
    }

    /// A `rows x cols` tensor of independent draws from the uniform distribution on
    /// `[lo, hi)` (`rand`'s `Uniform`), in row-major order.
    ///
    /// # Panics
    /// Unless `lo < hi` and `hi - lo` is finite.
    ///
    /// ```
    /// use tapegrad::{Tensor, init::seeded_rng};
    /// let u = Tensor::uniform(100, 2, -1.0, 3.0, &mut seeded_rng(0, 0));
    /// assert!(u.data().iter().all(|&x| (-1.0..3.0).contains(&x)));
    /// ```
    pub fn uniform(rows: usize, cols: usize, lo: f64, hi: f64, rng: &mut impl Rng) -> Tensor {
        assert!(lo < hi && (hi - lo).is_finite(), "Tensor::uniform: needs finite lo < hi, got lo = {lo}, hi = {hi}");
        let dist = Uniform::new(lo, hi).expect("bounds checked above");
        Tensor::from_vec(rows, cols, (0..rows * cols).map(|_| rng.sample(dist)).collect())
    }

    /// The `n x n` identity matrix.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_vec(2, 2, vec![1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(Tensor::eye(2).matmul(&a), a);
    /// ```
    pub fn eye(n: usize) -> Tensor {
        let mut out = Tensor::zeros(n, n);
        out.data.iter_mut().step_by(n + 1).for_each(|x| *x = 1.0);
        out
    }

    /// One row per label, `labels.len() x k`, with a 1 in the label's column and 0
    /// elsewhere: the target rows of a `k`-class classifier.
    ///
    /// # Panics
    /// If a label is not below `k`, naming its row, the label and `k`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::one_hot(&[2, 0], 3);
    /// assert_eq!(t, Tensor::from_rows(&[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]));
    /// ```
    pub fn one_hot(labels: &[usize], k: usize) -> Tensor {
        let mut out = Tensor::zeros(labels.len(), k);
        for (i, &label) in labels.iter().enumerate() {
            assert!(label < k, "Tensor::one_hot: row {i} has label {label}, but there are only {k} classes");
            out.data[i * k + label] = 1.0;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{Init, Initializer, ParamShape, seeded_rng};

    #[test]
    fn randn_draws_what_the_normal_initializer_draws() {
        let shape = ParamShape::weight(7, 5);
        let want = Init::Normal(1.0).init(shape, &mut seeded_rng(3, 1));
        let got = Tensor::randn(7, 5, &mut seeded_rng(3, 1));
        assert_eq!(
            got.data().iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            want.data().iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_ne!(got, Tensor::randn(7, 5, &mut seeded_rng(4, 1)), "another seed, other numbers");
    }

    #[test]
    fn randn_is_standard_normal() {
        let x = Tensor::randn(200, 100, &mut seeded_rng(0, 0));
        // Over 20 000 draws the standard errors are 0.007 (mean) and 0.005 (std).
        assert!(x.mean().abs() < 0.03, "mean {}", x.mean());
        assert!((x.std() - 1.0).abs() < 0.02, "std {}", x.std());
    }

    #[test]
    fn uniform_stays_in_its_interval_and_spreads_over_it() {
        let (lo, hi) = (-2.0, 6.0);
        let u = Tensor::uniform(200, 100, lo, hi, &mut seeded_rng(0, 0));
        assert!(u.data().iter().all(|&x| (lo..hi).contains(&x)));
        // Mean (lo + hi)/2 = 2, std (hi - lo)/√12 = 2.309; standard errors 0.016 and 0.01.
        assert!((u.mean() - 2.0).abs() < 0.06, "mean {}", u.mean());
        assert!((u.std() - 8.0 / 12f64.sqrt()).abs() < 0.04, "std {}", u.std());
        assert_eq!(u, Tensor::uniform(200, 100, lo, hi, &mut seeded_rng(0, 0)));
    }

    #[test]
    #[should_panic(expected = "Tensor::uniform: needs finite lo < hi, got lo = 1, hi = 1")]
    fn uniform_rejects_an_empty_interval() {
        Tensor::uniform(1, 1, 1.0, 1.0, &mut seeded_rng(0, 0));
    }

    #[test]
    #[should_panic(expected = "Tensor::uniform: needs finite lo < hi, got lo = -inf, hi = 0")]
    fn uniform_rejects_an_infinite_interval() {
        Tensor::uniform(1, 1, f64::NEG_INFINITY, 0.0, &mut seeded_rng(0, 0));
    }

    #[test]
    fn eye_has_ones_on_the_diagonal_only() {
        assert_eq!(Tensor::eye(3), Tensor::from_rows(&[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]));
        assert_eq!(Tensor::eye(1), Tensor::scalar(1.0));
        assert_eq!(Tensor::eye(0).shape(), (0, 0));
    }

    #[test]
    fn one_hot_marks_each_label() {
        let t = Tensor::one_hot(&[1, 1, 0, 3], 4);
        assert_eq!(t.shape(), (4, 4));
        assert_eq!(t.data(), &[0., 1., 0., 0., 0., 1., 0., 0., 1., 0., 0., 0., 0., 0., 0., 1.]);
        assert_eq!(Tensor::one_hot(&[], 3).shape(), (0, 3));
    }

    #[test]
    #[should_panic(expected = "Tensor::one_hot: row 2 has label 3, but there are only 3 classes")]
    fn one_hot_names_the_row_the_label_and_k() {
        Tensor::one_hot(&[0, 2, 3], 3);
    }
}
