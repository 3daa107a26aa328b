//! Summary statistics of a slice of numbers, shared by every layer of the crate (it
//! depends on nothing).

/// Mean and population standard deviation (the squared deviations divided by `n`) of
/// `xs`: the spread of the values themselves, as in a layer's activations or a data
/// column. NaN for an empty slice.
///
/// ```
/// use tapegrad::stats::mean_std;
/// assert_eq!(mean_std(&[1.0, 3.0]), (2.0, 1.0));
/// ```
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Mean and sample standard deviation (the squared deviations divided by `n - 1`) of
/// `xs`: the estimate of a spread from a few independent draws, such as the results of
/// several seeds. The deviation is 0 for a single value; both are NaN for an empty slice.
///
/// ```
/// use tapegrad::stats::mean_sample_std;
/// assert_eq!(mean_sample_std(&[1.0, 3.0]), (2.0, 2f64.sqrt()));
/// assert_eq!(mean_sample_std(&[5.0]), (5.0, 0.0));
/// ```
pub fn mean_sample_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 { xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}
