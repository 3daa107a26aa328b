//! Jacobian spectra: the input-output Jacobian `J` of a random deep network at a random
//! input, its singular values (nalgebra's SVD), and the mean and variance of the
//! eigenvalues of `JJᵀ` beside the free-probability predictions of Pennington,
//! Schoenholz & Ganguli ("Resurrecting the sigmoid in deep learning through dynamical
//! isometry", 2017; "The emergence of spectral universality in deep networks", 2018).
//!
//! With `h_l = W_l x_{l-1}`, `x_l = φ(h_l)` and `J = D_L W_L ⋯ D_1 W_1` (`D_l` the
//! diagonal of `φ'(h_l)`), the papers' moments of the eigenvalue density of `JJᵀ` are,
//! for `σ_w²` the weight variance times `fan_in` and `μ_k = E[φ'(h)^{2k}]`,
//!
//! - mean `m₁ = (σ_w² μ₁)^L`;
//! - variance `m₂ − m₁² = m₁² · L · (μ₂/μ₁² − 1 − s₁)`, with `s₁ = −1` for Gaussian
//!   (and any i.i.d.) weights and `s₁ = 0` for orthogonal ones.
//!
//! For linear networks `μ₁ = μ₂ = 1`; for ReLU `φ'² ∈ {0, 1}` with probability ½ each at
//! any input scale, so `μ₁ = μ₂ = ½`. For tanh and sigmoid `μ_k` depends on the
//! pre-activations' length `q`, which the mean-field length map carries from layer to
//! layer toward its fixed point `q*` ([`MeanField`]); [`predict`] takes each layer at its
//! own `q_l`, which at `q*` is the papers' formula (mean `χ_1^L`).
//!
//! ```
//! use tapegrad::init::Init;
//! use tapegrad::nn::Activation;
//! use tapegrad::study::spectrum::{SpectrumConfig, spectrum};
//! let config = SpectrumConfig { layers: 5, width: 16, activation: Activation::Identity };
//! let s = spectrum(Init::Orthogonal(1.0), &config, 0);
//! assert!(s.singular_values.iter().all(|v| (v - 1.0).abs() < 1e-10));
//! ```

use nalgebra::DMatrix;

use crate::init::{Init, seeded_rng, streams};
use crate::nn::{Activation, Sequential};
use crate::study::theory::MeanField;
use crate::tensor::Tensor;

/// The shape of the random network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpectrumConfig {
    /// Number of layers, each `width → width` followed by the activation.
    pub layers: usize,
    /// Units per layer (and input features).
    pub width: usize,
    /// Activation of every layer.
    pub activation: Activation,
}

/// One network's Jacobian spectrum.
#[derive(Clone, Debug, PartialEq)]
pub struct Spectrum {
    /// The seed of the weights and the input.
    pub seed: u64,
    /// The singular values of `J`, largest first.
    pub singular_values: Vec<f64>,
    /// The mean of the eigenvalues of `JJᵀ` (the squared singular values).
    pub eig_mean: f64,
    /// Their population variance.
    pub eig_var: f64,
}

/// The free-probability prediction of the eigenvalues of `JJᵀ`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    /// `m₁ = Π_l σ_w² μ₁(q_l)` (`(σ_w² μ₁)^L` where `μ₁` is the same at every layer).
    pub eig_mean: f64,
    /// `m₁² Σ_l (μ₂(q_l)/μ₁(q_l)² − 1 − s₁)` (`m₁² · L · (μ₂/μ₁² − 1 − s₁)`).
    pub eig_var: f64,
}

/// The network of `config` with weights from `init` (seed `seed`, stream
/// [`streams::WEIGHTS`]) and biases 0.
pub fn network(init: Init, config: &SpectrumConfig, seed: u64) -> Sequential {
    let mut rng = seeded_rng(seed, streams::WEIGHTS);
    let mut model = Sequential::new(config.width);
    for _ in 0..config.layers {
        model.dense(config.width, config.activation, &init, &mut rng);
    }
    model
}

/// The Jacobian of [`network`] at a standard-normal input (seed `seed`, stream
/// [`streams::DATA`]), through [`crate::jacobian`]: a `(width, width)` tensor.
pub fn network_jacobian(init: Init, config: &SpectrumConfig, seed: u64) -> Tensor {
    let model = network(init, config, seed);
    let x = Tensor::randn(1, config.width, &mut seeded_rng(seed, streams::DATA));
    crate::jacobian(|v| model.forward(v.tape(), v), &x)
}

/// The singular values of `m`, largest first (nalgebra's SVD).
pub fn singular_values(m: &Tensor) -> Vec<f64> {
    let matrix = DMatrix::from_row_slice(m.rows(), m.cols(), m.data());
    let mut s: Vec<f64> = matrix.singular_values().iter().copied().collect();
    s.sort_by(|a, b| b.total_cmp(a));
    s
}

/// The Jacobian spectrum of one random network.
pub fn spectrum(init: Init, config: &SpectrumConfig, seed: u64) -> Spectrum {
    let singular_values = singular_values(&network_jacobian(init, config, seed));
    let eig: Vec<f64> = singular_values.iter().map(|s| s * s).collect();
    let n = eig.len() as f64;
    let eig_mean = eig.iter().sum::<f64>() / n;
    let eig_var = eig.iter().map(|e| (e - eig_mean).powi(2)).sum::<f64>() / n;
    Spectrum { seed, singular_values, eig_mean, eig_var }
}

/// `σ_w²` (the weight variance times `fan_in`) of `init` on a square `width × width`
/// layer, and whether its weights are orthogonal; `None` for initializers that are not
/// random (zeros, constants).
pub fn weight_scale(init: Init, width: usize) -> Option<(f64, bool)> {
    let n = width as f64;
    let truncated = 0.879_625_661_034_239_8_f64.powi(2);
    let sw2 = match init {
        Init::Zeros | Init::Constant(_) => return None,
        Init::Orthogonal(gain) => return Some((gain * gain, true)),
        Init::Normal(std) => std * std * n,
        Init::Uniform(limit) => limit * limit / 3.0 * n,
        Init::TruncatedNormal(std) => std * std * truncated * n,
        Init::HeNormal | Init::HeUniform | Init::HeTruncated => 2.0,
        Init::XavierNormal | Init::XavierUniform | Init::LecunNormal => 1.0,
        Init::VarianceScaling(s) => s,
    };
    Some((sw2, false))
}

/// The prediction for `init` and `config`; `None` for initializers that are not random.
///
/// Free multiplicative convolution multiplies the S-transforms of `JJᵀ`'s factors, so
/// the means multiply and the normalized variances `m₂/m₁² − 1` add, layer by layer:
/// `m₁ = Π_l σ_w² μ₁(q_l)` and `(m₂ − m₁²)/m₁² = Σ_l (μ₂(q_l)/μ₁(q_l)² − 1 − s₁)`, where
/// `q_l` is layer `l`'s pre-activation length from the mean-field length map
/// ([`MeanField`], biases 0) started from the standard-normal input (`q_1 = σ_w²`). At
/// the fixed point `q*` every layer is alike and this is the papers' `χ_1^L` and
/// `m₁² L (μ₂/μ₁² − 1 − s₁)`; for linear and ReLU networks `μ_k` does not depend on `q`.
pub fn predict(init: Init, config: &SpectrumConfig) -> Option<Prediction> {
    let (sw2, orthogonal) = weight_scale(init, config.width)?;
    let s1 = if orthogonal { 0.0 } else { -1.0 };
    let field = MeanField::new(config.activation, sw2, 0.0);
    let (mut q, mut eig_mean, mut spread) = (sw2, 1.0, 0.0);
    for _ in 0..config.layers {
        let (mu1, mu2) = field.derivative_moments(q);
        eig_mean *= sw2 * mu1;
        spread += mu2 / (mu1 * mu1) - 1.0 - s1;
        q = field.length_map(q);
    }
    Some(Prediction { eig_mean, eig_var: eig_mean * eig_mean * spread })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear(layers: usize, width: usize) -> SpectrumConfig {
        SpectrumConfig { layers, width, activation: Activation::Identity }
    }

    #[test]
    fn linear_orthogonal_networks_are_isometries() {
        for seed in 0..3 {
            let s = spectrum(Init::Orthogonal(1.0), &linear(20, 32), seed);
            assert_eq!(s.singular_values.len(), 32);
            let worst = s.singular_values.iter().map(|v| (v - 1.0).abs()).fold(0.0, f64::max);
            assert!(worst < 1e-10, "seed {seed}: a singular value is {worst} from 1");
            assert!(s.eig_var < 1e-18);
        }
        assert_eq!(predict(Init::Orthogonal(1.0), &linear(20, 32)), Some(Prediction { eig_mean: 1.0, eig_var: 0.0 }));
    }

    #[test]
    fn the_jacobian_of_a_linear_network_is_its_weight_product() {
        let config = linear(3, 5);
        let model = network(Init::XavierNormal, &config, 7);
        let w = |i: usize| model.params.get(&format!("dense{i}.weight")).unwrap().clone();
        // Rows are samples: y = x·W0·W1·W2, so ∂y_i/∂x_j = (W0·W1·W2)_ji.
        let product = w(0).matmul(&w(1)).matmul(&w(2));
        let j = network_jacobian(Init::XavierNormal, &config, 7);
        for r in 0..5 {
            for c in 0..5 {
                assert!((j.get(r, c) - product.get(c, r)).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn singular_values_of_a_known_matrix() {
        // [[3, 0], [4, 5]] has singular values √45 and √5.
        let s = singular_values(&Tensor::from_rows(&[[3.0, 0.0], [4.0, 5.0]]));
        assert!((s[0] - 45f64.sqrt()).abs() < 1e-12 && (s[1] - 5f64.sqrt()).abs() < 1e-12, "{s:?}");
    }

    /// Linear Gaussian networks at σ_w² = 1: eig_mean → 1 and eig_var → L as the width
    /// grows. The tolerance on the mean over S seeds is 4 standard errors (the seeds'
    /// spread / √S) plus L(L+1)/N for the finite width (the exact correction at L = 1 is
    /// 1/N: for real Gaussian X with variance 1/N, E tr((XXᵀ)²)/N = 2 + 1/N).
    #[test]
    fn linear_gaussian_variance_grows_like_depth() {
        let (width, seeds) = (64usize, 24u64);
        for layers in [1usize, 4] {
            let config = linear(layers, width);
            let runs: Vec<Spectrum> = (0..seeds).map(|s| spectrum(Init::LecunNormal, &config, s)).collect();
            let stat = |f: fn(&Spectrum) -> f64| {
                let xs: Vec<f64> = runs.iter().map(f).collect();
                let m = xs.iter().sum::<f64>() / xs.len() as f64;
                let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt();
                (m, sd / (seeds as f64).sqrt())
            };
            let p = predict(Init::LecunNormal, &config).unwrap();
            assert_eq!((p.eig_mean, p.eig_var), (1.0, layers as f64));
            let bias = (layers * (layers + 1)) as f64 / width as f64;
            let (mean, se) = stat(|s| s.eig_mean);
            assert!((mean - p.eig_mean).abs() < 4.0 * se + bias, "L={layers}: eig_mean {mean} ± {se}");
            let (var, se) = stat(|s| s.eig_var);
            assert!(
                (var - p.eig_var).abs() < 4.0 * se + bias,
                "L={layers}: eig_var {var} ± {se}, predicted {}",
                p.eig_var
            );
        }
    }

    /// tanh, whose `μ_k` move with each layer's length: the prediction against the mean
    /// over seeds, with the linear test's tolerance scaled to the spectrum's size — 4
    /// standard errors plus `L/N · m₁` on the mean and `L(L+1)/N · m₁²` on the variance
    /// (the finite-width bias). At σ_w² = 1 the length decays toward `q* = 0`, where the
    /// fixed-point formula `χ_1^L = 1` would be far outside that tolerance; at σ_w² = 2
    /// it settles at `q* > 0` in the chaotic phase.
    #[test]
    fn tanh_spectra_follow_the_layerwise_prediction() {
        let (layers, width, seeds) = (6usize, 128usize, 16u64);
        let config = SpectrumConfig { layers, width, activation: Activation::Tanh };
        let (l, n) = (layers as f64, width as f64);
        for init in
            [Init::XavierNormal, Init::Orthogonal(1.0), Init::VarianceScaling(2.0), Init::Orthogonal(2f64.sqrt())]
        {
            let runs: Vec<Spectrum> = (0..seeds).map(|s| spectrum(init, &config, s)).collect();
            let stat = |f: fn(&Spectrum) -> f64| {
                let xs: Vec<f64> = runs.iter().map(f).collect();
                let m = xs.iter().sum::<f64>() / xs.len() as f64;
                let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt();
                (m, sd / (seeds as f64).sqrt())
            };
            let p = predict(init, &config).unwrap();
            let (mean, se) = stat(|s| s.eig_mean);
            let tolerance = 4.0 * se + l / n * p.eig_mean;
            assert!(
                (mean - p.eig_mean).abs() < tolerance,
                "{init:?}: eig_mean {mean} ± {se}, predicted {}",
                p.eig_mean
            );
            if init == Init::XavierNormal {
                assert!(1.0 - p.eig_mean > 10.0 * tolerance, "the fixed point alone would predict 1: {p:?}");
            }
            let (var, se) = stat(|s| s.eig_var);
            let tolerance = 4.0 * se + l * (l + 1.0) / n * p.eig_mean * p.eig_mean;
            assert!((var - p.eig_var).abs() < tolerance, "{init:?}: eig_var {var} ± {se}, predicted {}", p.eig_var);
        }
    }

    #[test]
    fn relu_predictions() {
        let config = SpectrumConfig { layers: 10, width: 100, activation: Activation::Relu };
        assert_eq!(predict(Init::HeNormal, &config), Some(Prediction { eig_mean: 1.0, eig_var: 20.0 }));
        let ortho = predict(Init::Orthogonal(2f64.sqrt()), &config).unwrap();
        assert!((ortho.eig_mean - 1.0).abs() < 1e-12 && (ortho.eig_var - 10.0).abs() < 1e-9);
        assert_eq!(predict(Init::Zeros, &config), None);
    }
}
