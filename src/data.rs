//! Data sets: samples as rows with their labels, the toy sets `make_moons` and
//! `make_circles` (with scikit-learn's algorithms), scikit-learn's handwritten
//! [`digits`], a seeded train/test split (stratified or not) and feature standardisation
//! (CSV loading is in [`crate::csv`], MNIST-format files in [`crate::idx`]).
//!
//! The points before shuffling and noise are scikit-learn's to the last bits; the
//! shuffle and the Gaussian noise come from tapegrad's seeded generator, so they are
//! reproducible on every machine but are not NumPy's streams.

use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::io::{self, Read, Write};

use rand::RngExt;
use rand::seq::SliceRandom;
use rand_distr::StandardNormal;

use crate::init::SeededRng;
use crate::stats::mean_std;
use crate::tensor::Tensor;

/// Most values (`f64`s) one tensor, or the tensors one command keeps together, may
/// hold: 10⁸, 800 MB. Readers of files ([`crate::idx`]) refuse larger data, and the
/// command line larger networks and cost histories: more is a typo rather than a study,
/// and allocating it would abort the process without a message.
pub const MAX_ELEMENTS: usize = 100_000_000;

/// Samples as rows of `x` with one label per row in `y` (`n x 1`): 0 or 1 for the
/// binary sets (`make_moons`, `make_circles`, CSV files), the class index `0..K` for the
/// multi-class ones ([`digits`], [`crate::idx`] files).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Features, `n x d`.
    pub x: Tensor,
    /// Labels, `n x 1`: 0/1, or a class index.
    pub y: Tensor,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.rows()
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.x.rows() == 0
    }

    /// Writes the set as CSV with a header `x1,...,xd,label`; values are printed so that
    /// they parse back to the same `f64`.
    pub fn write_csv(&self, mut out: impl Write) -> io::Result<()> {
        let d = self.x.cols();
        let header: Vec<String> = (1..=d).map(|i| format!("x{i}")).collect();
        writeln!(out, "{},label", header.join(","))?;
        for i in 0..self.len() {
            for v in self.x.row(i) {
                write!(out, "{v:?},")?;
            }
            writeln!(out, "{}", self.y.data()[i])?;
        }
        Ok(())
    }
}

impl Dataset {
    /// The samples at `rows`, in that order.
    ///
    /// # Panics
    /// If a row is out of range.
    pub fn select(&self, rows: &[usize]) -> Dataset {
        Dataset { x: self.x.select_rows(rows), y: self.y.select_rows(rows) }
    }

    /// Splits the samples at random into `(train, test)`, with
    /// `round(len · test_fraction)` samples in the test set; the same `rng` state gives
    /// the same split.
    ///
    /// # Panics
    /// If `test_fraction` is not in `[0, 1]`.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let data = make_moons(100, Noise { std: 0.1, shuffle: true }, &mut seeded_rng(0, 0));
    /// let (train, test) = data.split(0.2, &mut seeded_rng(0, 3));
    /// assert_eq!((train.len(), test.len()), (80, 20));
    /// ```
    pub fn split(&self, test_fraction: f64, rng: &mut SeededRng) -> (Dataset, Dataset) {
        let order = self.shuffled_order("split", test_fraction, rng);
        let n_test = (self.len() as f64 * test_fraction).round() as usize;
        let (test, train) = order.split_at(n_test.min(self.len()));
        (self.select(train), self.select(test))
    }

    /// Splits the samples at random into `(train, test)` so that each class (each
    /// distinct label) is split in the same proportion: as [`split`](Self::split), the
    /// test set holds `round(len · test_fraction)` samples, and a class of `n_c` samples
    /// gives it `n_c · test_fraction` of them rounded down or up: the classes with the
    /// largest fractional parts round up until the total is reached, on ties the lower
    /// label first (for labels ≥ 0). Both sets keep the shuffled order; the same `rng`
    /// state gives the same split.
    ///
    /// # Panics
    /// If `test_fraction` is not in `[0, 1]`.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// use tapegrad::data::digits;
    /// let data = digits();
    /// let (train, test) = data.split_stratified(0.2, &mut seeded_rng(0, 3));
    /// assert_eq!((train.len(), test.len()), (1438, 359));
    /// let zeros = |d: &Dataset| d.y.data().iter().filter(|&&c| c == 0.0).count();
    /// assert_eq!((zeros(&train), zeros(&test)), (142, 36)); // 178 zeros, 178 · 0.2 = 35.6
    /// ```
    pub fn split_stratified(&self, test_fraction: f64, rng: &mut SeededRng) -> (Dataset, Dataset) {
        let order = self.shuffled_order("split_stratified", test_fraction, rng);
        let keys: Vec<Vec<u64>> =
            (0..self.len()).map(|i| self.y.row(i).iter().map(|v| v.to_bits()).collect()).collect();
        let mut ids: BTreeMap<&[u64], usize> = keys.iter().map(|k| (k.as_slice(), 0)).collect();
        ids.values_mut().enumerate().for_each(|(c, id)| *id = c);
        let class: Vec<usize> = keys.iter().map(|k| ids[k.as_slice()]).collect();
        let mut count = vec![0usize; ids.len()];
        class.iter().for_each(|&c| count[c] += 1);

        // Largest remainder: every class its share rounded down, then one more to the
        // classes with the largest fractional parts until the test set is full.
        let share: Vec<f64> = count.iter().map(|&n| n as f64 * test_fraction).collect();
        let mut quota: Vec<usize> = share.iter().map(|s| s.floor() as usize).collect();
        let mut by_remainder: Vec<usize> = (0..count.len()).collect();
        by_remainder.sort_by(|&a, &b| (share[b] - share[b].floor()).total_cmp(&(share[a] - share[a].floor())));
        let n_test = (self.len() as f64 * test_fraction).round() as usize;
        let mut extra = n_test.saturating_sub(quota.iter().sum());
        for c in by_remainder {
            if extra > 0 && quota[c] < count[c] {
                quota[c] += 1;
                extra -= 1;
            }
        }

        let (mut train, mut test) = (Vec::new(), Vec::new());
        for i in order {
            let c = class[i];
            if quota[c] > 0 {
                quota[c] -= 1;
                test.push(i);
            } else {
                train.push(i);
            }
        }
        (self.select(&train), self.select(&test))
    }

    /// The row indices shuffled by `rng`, after checking `test_fraction` for `op`.
    fn shuffled_order(&self, op: &str, test_fraction: f64, rng: &mut SeededRng) -> Vec<usize> {
        assert!(
            (0.0..=1.0).contains(&test_fraction),
            "Dataset::{op}: test_fraction {test_fraction} is not between 0 and 1"
        );
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(rng);
        order
    }
}

/// Feature standardisation: subtracts each column's mean and divides by its standard
/// deviation, both measured on the training set and then applied unchanged to any other
/// set (as scikit-learn's `StandardScaler`, with the population standard deviation; a
/// constant column is only centred).
///
/// ```
/// use tapegrad::{Tensor, data::Standardizer};
/// let train = Tensor::from_vec(2, 2, vec![1.0, 10.0, 3.0, 10.0]);
/// let s = Standardizer::fit(&train);
/// assert_eq!(s.apply(&train).data(), [-1.0, 0.0, 1.0, 0.0]);
/// assert_eq!(s.apply(&Tensor::from_vec(1, 2, vec![5.0, 11.0])).data(), [3.0, 1.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    /// Mean of each column.
    pub mean: Vec<f64>,
    /// Standard deviation of each column (1 where the column is constant).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Measures the mean and standard deviation of each column of `x` (0 and 1 when `x`
    /// has no rows).
    pub fn fit(x: &Tensor) -> Standardizer {
        let (mut mean, mut std) = (Vec::with_capacity(x.cols()), Vec::with_capacity(x.cols()));
        for j in 0..x.cols() {
            let column: Vec<f64> = (0..x.rows()).map(|r| x.get(r, j)).collect();
            let (m, s) = if column.is_empty() { (0.0, 1.0) } else { mean_std(&column) };
            mean.push(m);
            std.push(if s > 0.0 && s.is_finite() { s } else { 1.0 });
        }
        Standardizer { mean, std }
    }

    /// `x` with every column standardised.
    ///
    /// # Panics
    /// If `x` has another number of columns than the data it was fitted on.
    pub fn apply(&self, x: &Tensor) -> Tensor {
        assert!(
            x.cols() == self.mean.len(),
            "Standardizer::apply: fitted on {} columns, got a {}x{} tensor",
            self.mean.len(),
            x.rows(),
            x.cols()
        );
        let mut out = x.clone();
        let d = self.mean.len().max(1);
        for row in out.data_mut().chunks_exact_mut(d) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
        out
    }
}

/// scikit-learn's 8 × 8 handwritten digits (`sklearn.datasets.load_digits()`): 1797
/// images, `x` their 64 pixel counts (0 to 16, the image read row by row) and `y` the
/// digit 0..9 as a class index, in scikit-learn's order. The data ship inside the crate,
/// compressed as scikit-learn ships them; they are BSD-3-licensed (see `data/README.md`).
///
/// ```
/// use tapegrad::data::digits;
/// let data = digits();
/// assert_eq!((data.x.shape(), data.y.shape()), ((1797, 64), (1797, 1)));
/// assert_eq!(data.y.data()[..4], [0.0, 1.0, 2.0, 3.0]);
/// // The class indices a multi-class loss takes:
/// let labels: Vec<usize> = data.y.data().iter().map(|&c| c as usize).collect();
/// assert_eq!(labels.iter().max(), Some(&9));
/// ```
pub fn digits() -> Dataset {
    const GZ: &[u8] = include_bytes!("../data/digits.csv.gz");
    const PIXELS: usize = 64;
    let mut text = String::new();
    flate2::read::GzDecoder::new(GZ).read_to_string(&mut text).expect("digits: the shipped digits.csv.gz decompresses");
    let (mut x, mut y) = (Vec::with_capacity(1797 * PIXELS), Vec::with_capacity(1797));
    for line in text.lines() {
        let row: Vec<f64> = line.split(',').map(|f| f.parse().expect("digits: a field is not a number")).collect();
        assert_eq!(row.len(), PIXELS + 1, "digits: a line holds {} fields", row.len());
        x.extend_from_slice(&row[..PIXELS]);
        y.push(row[PIXELS]);
    }
    Dataset { x: Tensor::from_vec(y.len(), PIXELS, x), y: Tensor::from_vec(y.len(), 1, y) }
}

/// Options shared by the generators.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Noise {
    /// Standard deviation of the Gaussian noise added to every coordinate.
    pub std: f64,
    /// Whether to shuffle the samples (before adding noise, as scikit-learn does).
    pub shuffle: bool,
}

/// `count` evenly spaced points over `[0, stop]`, as `numpy.linspace` computes them.
fn linspace(stop: f64, count: usize, endpoint: bool) -> impl Iterator<Item = f64> {
    let div = if endpoint { count.saturating_sub(1) } else { count };
    let step = stop / div.max(1) as f64;
    (0..count).map(move |i| if endpoint && count > 1 && i == count - 1 { stop } else { i as f64 * step })
}

/// Two interleaving half circles: `n / 2` points on the outer moon `(cos t, sin t)`,
/// label 0, and the rest on the inner moon `(1 - cos t, 1 - sin t - 0.5)`, label 1,
/// for `t` evenly spaced over `[0, π]`.
pub fn make_moons(n: usize, noise: Noise, rng: &mut SeededRng) -> Dataset {
    let (n_out, n_in) = (n / 2, n - n / 2);
    let outer = linspace(PI, n_out, true).map(|t| [t.cos(), t.sin()]);
    let inner = linspace(PI, n_in, true).map(|t| [1.0 - t.cos(), 1.0 - t.sin() - 0.5]);
    finish(outer.chain(inner).collect(), n_out, noise, rng)
}

/// Two concentric circles: `n / 2` points on the unit circle, label 0, and the rest on
/// a circle of radius `factor`, label 1, for `t` evenly spaced over `[0, 2π)`.
pub fn make_circles(n: usize, factor: f64, noise: Noise, rng: &mut SeededRng) -> Dataset {
    let (n_out, n_in) = (n / 2, n - n / 2);
    let outer = linspace(2.0 * PI, n_out, false).map(|t| [t.cos(), t.sin()]);
    let inner = linspace(2.0 * PI, n_in, false).map(|t| [factor * t.cos(), factor * t.sin()]);
    finish(outer.chain(inner).collect(), n_out, noise, rng)
}

/// Labels the first `n_out` points 0 and the rest 1, then shuffles and adds noise.
fn finish(points: Vec<[f64; 2]>, n_out: usize, noise: Noise, rng: &mut SeededRng) -> Dataset {
    let mut samples: Vec<([f64; 2], f64)> =
        points.into_iter().enumerate().map(|(i, p)| (p, if i < n_out { 0.0 } else { 1.0 })).collect();
    if noise.shuffle {
        samples.shuffle(rng);
    }
    let n = samples.len();
    let mut x = Vec::with_capacity(2 * n);
    for (p, _) in &samples {
        x.extend_from_slice(p);
    }
    if noise.std != 0.0 {
        x.iter_mut().for_each(|v| *v += noise.std * rng.sample::<f64, _>(StandardNormal));
    }
    Dataset { x: Tensor::from_vec(n, 2, x), y: Tensor::from_vec(n, 1, samples.iter().map(|s| s.1).collect()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::seeded_rng;

    const EXACT: Noise = Noise { std: 0.0, shuffle: false };

    #[test]
    fn moons_follow_the_formula_and_split() {
        let d = make_moons(7, EXACT, &mut seeded_rng(0, 0));
        assert_eq!(d.len(), 7);
        assert_eq!(d.y.data(), [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        // Outer moon: t = 0, π/2, π; inner moon: t = 0, π/3, 2π/3, π.
        assert_eq!(d.x.row(0), [1.0, 0.0]);
        assert_eq!(d.x.row(2), [PI.cos(), PI.sin()]);
        assert_eq!(d.x.row(3), [0.0, 0.5]);
        assert_eq!(d.x.row(6), [1.0 - PI.cos(), 1.0 - PI.sin() - 0.5]);
    }

    #[test]
    fn circles_leave_out_the_endpoint() {
        let d = make_circles(8, 0.5, EXACT, &mut seeded_rng(0, 0));
        assert_eq!(d.x.row(0), [1.0, 0.0]);
        assert_eq!(d.x.row(2), [PI.cos(), PI.sin()]);
        assert_eq!(d.x.row(4), [0.5, 0.0]);
        assert_eq!(d.y.data(), [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn noise_and_shuffle_are_seeded() {
        let noisy = Noise { std: 0.2, shuffle: true };
        let a = make_moons(50, noisy, &mut seeded_rng(3, 0));
        let b = make_moons(50, noisy, &mut seeded_rng(3, 0));
        let c = make_moons(50, noisy, &mut seeded_rng(4, 0));
        assert_eq!(a, b);
        assert_ne!(a.x, c.x);
        assert_eq!(a.y.sum(), 25.0, "shuffling keeps the labels");
        let clean = make_moons(50, EXACT, &mut seeded_rng(3, 0));
        assert_ne!(a.y, clean.y, "shuffled");
    }

    #[test]
    fn csv_round_trips_the_values() {
        let d = make_moons(4, Noise { std: 0.3, shuffle: true }, &mut seeded_rng(1, 0));
        let mut buf = Vec::new();
        d.write_csv(&mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("x1,x2,label"));
        for (i, line) in lines.enumerate() {
            let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
            assert_eq!(v, [d.x.get(i, 0), d.x.get(i, 1), d.y.data()[i]]);
        }
    }

    #[test]
    fn split_is_seeded_and_partitions_the_samples() {
        let d = make_moons(50, Noise { std: 0.1, shuffle: true }, &mut seeded_rng(2, 0));
        let (train, test) = d.split(0.3, &mut seeded_rng(5, 3));
        assert_eq!((train.len(), test.len()), (35, 15));
        assert_eq!(d.split(0.3, &mut seeded_rng(5, 3)), (train.clone(), test.clone()));
        let mut all: Vec<Vec<u64>> =
            (0..train.len()).map(|i| train.x.row(i).iter().map(|v| v.to_bits()).collect()).collect();
        all.extend((0..test.len()).map(|i| test.x.row(i).iter().map(|v| v.to_bits()).collect()));
        let mut orig: Vec<Vec<u64>> = (0..d.len()).map(|i| d.x.row(i).iter().map(|v| v.to_bits()).collect()).collect();
        all.sort();
        orig.sort();
        assert_eq!(all, orig);
        assert_eq!(train.y.sum() + test.y.sum(), 25.0);
    }

    /// Test-set size of each class of a split, by label.
    fn class_counts(d: &Dataset) -> BTreeMap<u64, usize> {
        let mut counts = BTreeMap::new();
        d.y.data().iter().for_each(|v| *counts.entry(v.to_bits()).or_insert(0) += 1);
        counts
    }

    #[test]
    fn stratified_split_keeps_each_class_in_proportion() {
        let d = digits();
        let all = class_counts(&d);
        for (seed, fraction) in [(0, 0.2), (1, 0.2), (2, 0.5), (3, 0.05)] {
            let (train, test) = d.split_stratified(fraction, &mut seeded_rng(seed, 3));
            let plain = d.split(fraction, &mut seeded_rng(seed, 3)).1;
            assert_eq!(test.len(), plain.len(), "the same test size as split");
            assert_eq!(train.len() + test.len(), d.len());
            let (in_train, in_test) = (class_counts(&train), class_counts(&test));
            for (label, &n) in &all {
                let t = in_test[label];
                assert!((t as f64 - n as f64 * fraction).abs() < 1.0, "class {label}: {t} of {n} at {fraction}");
                assert_eq!(in_train[label] + t, n);
            }
        }
        // An imbalanced binary set: 30 ones in 100, a fifth held out.
        let y: Vec<f64> = (0..100).map(|i| f64::from(u8::from(i % 10 < 3))).collect();
        let d =
            Dataset { x: Tensor::from_vec(100, 1, (0..100).map(f64::from).collect()), y: Tensor::from_vec(100, 1, y) };
        let (train, test) = d.split_stratified(0.2, &mut seeded_rng(9, 3));
        assert_eq!((test.len(), test.y.sum(), train.y.sum()), (20, 6.0, 24.0));
        let mut rows: Vec<f64> = train.x.data().iter().chain(test.x.data()).copied().collect();
        rows.sort_by(f64::total_cmp);
        assert_eq!(rows, (0..100).map(f64::from).collect::<Vec<_>>(), "a partition of the rows");
    }

    #[test]
    fn stratified_split_is_seeded_and_handles_the_ends() {
        let d = digits();
        let a = d.split_stratified(0.3, &mut seeded_rng(4, 3));
        assert_eq!(a, d.split_stratified(0.3, &mut seeded_rng(4, 3)));
        assert_ne!(a.1, d.split_stratified(0.3, &mut seeded_rng(5, 3)).1);
        let (train, test) = d.split_stratified(0.0, &mut seeded_rng(4, 3));
        assert_eq!((train.len(), test.len()), (1797, 0));
        let (train, test) = d.split_stratified(1.0, &mut seeded_rng(4, 3));
        assert_eq!((train.len(), test.len()), (0, 1797));
        // Ties between fractional parts go to the lowest label: 9 zeros and 1 one, half
        // held out, share 4.5 and 0.5; the fifth test sample is a zero.
        let y: Vec<f64> = (0..10).map(|i| f64::from(u8::from(i == 7))).collect();
        let d = Dataset { x: Tensor::zeros(10, 1), y: Tensor::from_vec(10, 1, y) };
        let (train, test) = d.split_stratified(0.5, &mut seeded_rng(0, 3));
        assert_eq!((test.len(), test.y.sum(), train.y.sum()), (5, 0.0, 1.0));
    }

    #[test]
    #[should_panic(expected = "Dataset::split_stratified: test_fraction 1.5 is not between 0 and 1")]
    fn stratified_split_rejects_a_fraction_over_one() {
        let _ = digits().split_stratified(1.5, &mut seeded_rng(0, 3));
    }

    #[test]
    fn digits_are_pixel_counts_and_class_indices() {
        let d = digits();
        assert_eq!((d.x.shape(), d.y.shape()), ((1797, 64), (1797, 1)));
        assert!(d.x.data().iter().all(|&v| v.fract() == 0.0 && (0.0..=16.0).contains(&v)));
        let counts: Vec<usize> = class_counts(&d).into_values().collect();
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180], "classes 0..9");
    }

    #[test]
    fn standardizer_fits_on_one_set_and_applies_to_another() {
        let train = Tensor::from_vec(4, 2, vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 4.0, 5.0]);
        let s = Standardizer::fit(&train);
        assert_eq!(s.mean, [2.5, 5.0]);
        assert_eq!(s.std, [1.25f64.sqrt(), 1.0], "population std; a constant column keeps 1");
        let z = s.apply(&train);
        assert!(z.data().iter().step_by(2).sum::<f64>().abs() < 1e-15);
        assert_eq!(s.apply(&Tensor::from_vec(1, 2, vec![2.5, 6.0])).data(), [0.0, 1.0]);
    }
}
