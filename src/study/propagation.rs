//! Mean-field theory measured: two inputs of a chosen length and correlation pushed
//! through random networks of finite width (the networks of [`crate::study::depth`],
//! weights `variance_scaling:σ_w²`, biases `normal:σ_b`), with the length `q` and the
//! correlation `c` of their pre-activations at every layer, averaged over seeds, beside
//! what [`MeanField::trajectory`] predicts; and the correlation depth ξ_c fitted from
//! the measured decay of `|c^l − c*|`.
//!
//! ```
//! use tapegrad::nn::Activation;
//! use tapegrad::study::propagation::{Probe, measure};
//! use tapegrad::study::theory::MeanField;
//! let field = MeanField::new(Activation::Tanh, 1.5, 0.05);
//! let probe = Probe { layers: 5, width: 200, q0: 1.0, c0: 0.5 };
//! let m = measure(&field, &probe, &[0, 1], &|| {});
//! assert_eq!(m.layers.len(), 5);
//! assert!((m.layers[4].q_measured / m.layers[4].q_theory - 1.0).abs() < 0.2);
//! ```

use rayon::prelude::*;

use crate::init::{Init, Initializer, ParamShape, seeded_rng, streams};
use crate::stats::mean_sample_std;
use crate::study::depth::{DepthConfig, deep_network};
use crate::study::theory::{MeanField, depth_scale};
use crate::study::trace;
use crate::tape::Tape;
use crate::tensor::Tensor;

/// The random networks and the two inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Probe {
    /// Number of layers.
    pub layers: usize,
    /// Units per layer (and input features).
    pub width: usize,
    /// Mean square of each input's entries.
    pub q0: f64,
    /// Correlation of the two inputs, in [−1, 1].
    pub c0: f64,
}

/// Predicted and measured `q` and `c` of one layer's pre-activations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerComparison {
    /// Mean-field length.
    pub q_theory: f64,
    /// Measured length: the mean square of both inputs' pre-activations, mean over seeds.
    pub q_measured: f64,
    /// Sample standard deviation of the measured length over seeds.
    pub q_spread: f64,
    /// Mean-field correlation.
    pub c_theory: f64,
    /// Measured correlation of the two pre-activation vectors, mean over seeds.
    pub c_measured: f64,
    /// Sample standard deviation of the measured correlation over seeds.
    pub c_spread: f64,
}

/// Every layer's comparison and the fitted correlation depth.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// One entry per layer, first layer first.
    pub layers: Vec<LayerComparison>,
    /// ξ_c fitted from the measured `|c^l − c*|` over the layers of [`fit_window`];
    /// `None` when fewer than three layers are usable.
    pub xi_c_measured: Option<f64>,
    /// ξ_c fitted in the same way from the theory's own trajectory over the same layers:
    /// what a fit over this finite depth gives for an exact mean-field network.
    pub xi_c_theory_fit: Option<f64>,
}

/// The two inputs of `seed`: rows of mean square `q0` whose correlation is exactly `c0`
/// (a standard-normal draw, the second one orthogonalized against the first).
pub fn input_pair(width: usize, q0: f64, c0: f64, seed: u64) -> Tensor {
    let draw = Init::Normal(1.0).init(ParamShape::weight(2, width), &mut seeded_rng(seed, streams::DATA));
    let (u, v) = (draw.row(0), draw.row(1));
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let scale = (q0 * width as f64).sqrt();
    let u_hat: Vec<f64> = u.iter().map(|x| x / dot(u, u).sqrt()).collect();
    let along = dot(v, &u_hat);
    let w: Vec<f64> = v.iter().zip(&u_hat).map(|(v, u)| v - along * u).collect();
    let w_norm = dot(&w, &w).sqrt();
    let s = (1.0 - c0 * c0).max(0.0).sqrt();
    let mut data: Vec<f64> = u_hat.iter().map(|u| scale * u).collect();
    data.extend(u_hat.iter().zip(&w).map(|(u, w)| scale * (c0 * u + s * w / w_norm)));
    Tensor::from_vec(2, width, data)
}

/// Per layer, `(q, c)` of the pre-activations of one random network (seed `seed`)
/// applied to the [`input_pair`] of that seed; `q` is the mean square over both inputs.
pub fn measure_one(field: &MeanField, probe: &Probe, seed: u64) -> Vec<(f64, f64)> {
    let bias = if field.sb2 > 0.0 { Init::Normal(field.sb2.sqrt()) } else { Init::Zeros };
    let config = DepthConfig { layers: probe.layers, width: probe.width, activation: field.activation, batch: 2, bias };
    let model = deep_network(Init::VarianceScaling(field.sw2), probe.width, &config, false, seed);
    let tape = Tape::new();
    let (_, trace) = trace(&model, &tape, &input_pair(probe.width, probe.q0, probe.c0, seed));
    let q_c = |z: &Tensor| {
        let (a, b) = (z.row(0), z.row(1));
        let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(x, y)| x * y).sum::<f64>();
        let (aa, bb, ab) = (dot(a, a), dot(b, b), dot(a, b));
        ((aa + bb) / (2.0 * a.len() as f64), ab / (aa * bb).sqrt())
    };
    trace.layers.iter().filter_map(|l| l.pre_activation).map(|z| z.with_value(q_c)).collect()
}

/// [`measure_one`] for every seed (in parallel; `done` is called after each), averaged,
/// beside the theory, with ξ_c fitted from the decay of the correlation.
pub fn measure(field: &MeanField, probe: &Probe, seeds: &[u64], done: &(dyn Fn() + Sync)) -> Measurement {
    let runs: Vec<Vec<(f64, f64)>> = seeds
        .par_iter()
        .map(|&seed| {
            let run = measure_one(field, probe, seed);
            done();
            run
        })
        .collect();
    let theory = field.trajectory(probe.q0, probe.c0, probe.layers);
    let layers: Vec<LayerComparison> = theory
        .iter()
        .enumerate()
        .map(|(l, t)| {
            let (q_measured, q_spread) = mean_sample_std(&runs.iter().map(|r| r[l].0).collect::<Vec<_>>());
            let (c_measured, c_spread) = mean_sample_std(&runs.iter().map(|r| r[l].1).collect::<Vec<_>>());
            LayerComparison { q_theory: t.q, q_measured, q_spread, c_theory: t.c, c_measured, c_spread }
        })
        .collect();
    let c_star = field.fixed_point().c_star;
    let measured: Vec<(f64, f64)> = layers.iter().map(|l| (l.c_measured, l.c_spread)).collect();
    let window = fit_window(&measured, c_star, seeds.len());
    let xi_c_measured = window.clone().and_then(|w| fit_xi_c(&measured, c_star, w));
    let exact: Vec<(f64, f64)> = layers.iter().map(|l| (l.c_theory, 0.0)).collect();
    let xi_c_theory_fit = window.and_then(|w| fit_xi_c(&exact, c_star, w));
    Measurement { layers, xi_c_measured, xi_c_theory_fit }
}

/// The layers (0-based) over which ξ_c is fitted from a per-layer correlation `c^l` with
/// its spread over `seeds` seeds: from layer 2 on, skipping layers farther than 0.2 from
/// `c*` (where the map is not yet close to linear around `c*`), while the distance
/// `|c^l − c*|` stays above three standard errors of the mean (`3 · spread / √seeds`).
/// `None` when fewer than three layers qualify, `c*` is not finite or there is one seed.
pub fn fit_window(c: &[(f64, f64)], c_star: f64, seeds: usize) -> Option<std::ops::Range<usize>> {
    if !c_star.is_finite() || seeds < 2 {
        return None;
    }
    let usable = |&(c, spread): &(f64, f64)| {
        let d = (c - c_star).abs();
        d > 3.0 * spread / (seeds as f64).sqrt() && d > 0.0
    };
    let start = (1..c.len()).find(|&l| (c[l].0 - c_star).abs() <= 0.2)?;
    let end = (start..c.len()).find(|&l| !usable(&c[l])).unwrap_or(c.len());
    (end >= start + 3).then_some(start..end)
}

/// ξ_c from the least-squares slope of `ln |c^l − c*|` against `l` over `window`, which
/// is `−1/ξ_c`; `None` when the slope is not negative.
pub fn fit_xi_c(c: &[(f64, f64)], c_star: f64, window: std::ops::Range<usize>) -> Option<f64> {
    let points: Vec<(f64, f64)> = window.map(|l| (l as f64, (c[l].0 - c_star).abs().ln())).collect();
    let n = points.len() as f64;
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let slope = sxy / sxx;
    (slope < 0.0 && slope.is_finite()).then(|| depth_scale(slope.exp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_pair_has_exactly_the_asked_length_and_correlation() {
        let x = input_pair(300, 2.5, -0.3, 7);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let (a, b) = (x.row(0), x.row(1));
        assert!((dot(a, a) / 300.0 - 2.5).abs() < 1e-12 && (dot(b, b) / 300.0 - 2.5).abs() < 1e-12);
        assert!((dot(a, b) / dot(a, a) + 0.3).abs() < 1e-12);
    }

    #[test]
    fn a_decay_of_known_rate_is_fitted_back() {
        // c^l = c* − 0.15·0.8^l with a small spread: ξ_c = −1/ln 0.8.
        let c: Vec<(f64, f64)> = (0..20).map(|l| (0.3 - 0.15 * 0.8f64.powi(l), 1e-6)).collect();
        let window = fit_window(&c, 0.3, 4).unwrap();
        let xi = fit_xi_c(&c, 0.3, window).unwrap();
        assert!((xi - (-1.0 / 0.8f64.ln())).abs() < 1e-9, "{xi}");
        assert_eq!(fit_window(&c, 0.3, 1), None, "one seed has no spread to judge the noise by");
    }
}
