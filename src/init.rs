//! Initializers: parameter factories that make a tensor of a given shape from the
//! layer's `fan_in`, `fan_out` and a seeded RNG.
//!
//! [`Init`] is the catalogue; any closure `Fn(ParamShape, &mut SeededRng) -> Tensor` is
//! an initializer too; and spec strings such as `"he"` or `"normal:10"` parse into an
//! [`Init`].
//!
//! ```
//! use tapegrad::init::{Init, Initializer, ParamShape, seeded_rng};
//! let mut rng = seeded_rng(0, 0);
//! let shape = ParamShape::weight(2, 12);
//! let he: Init = "he".parse().unwrap();
//! assert_eq!(he.init(shape, &mut rng).shape(), (2, 12));
//! // A custom initializer is one closure.
//! let halves = |p: ParamShape, _: &mut _| tapegrad::Tensor::full(p.rows, p.cols, 0.5);
//! assert_eq!(halves.init(shape, &mut rng).get(1, 11), 0.5);
//! ```

use std::fmt;
use std::str::FromStr;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::tensor::Tensor;

/// The random generator used everywhere: ChaCha8, value-stable across platforms, so the
/// same seed gives the same numbers on every machine.
pub type SeededRng = ChaCha8Rng;

/// A generator for `seed` on an independent `stream` (data, weights and shuffling use
/// different [`streams`], so changing one never shifts the others).
pub fn seeded_rng(seed: u64, stream: u64) -> SeededRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The streams of a seed that the crate draws from, one per use: more data, another
/// network or another batch size never shifts the numbers of the other uses.
pub mod streams {
    /// Data: the experiment's `make_moons` sets, `tapegrad dataset` and the depth
    /// sweep's random inputs.
    pub const DATA: u64 = 0;
    /// Initial weights of every network.
    pub const WEIGHTS: u64 = 1;
    /// The per-epoch mini-batch shuffle of [`crate::train::fit`].
    pub const SHUFFLE: u64 = 2;
    /// The train/test split of `tapegrad train`.
    pub const SPLIT: u64 = 3;
    /// The dropout masks drawn while [`crate::train::fit`] trains.
    pub const DROPOUT: u64 = 4;
    /// The depth sweep's batch for LSUV, apart from the batch it measures.
    pub const LSUV: u64 = 5;
}

/// The shape of a parameter and the fans of the layer it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamShape {
    /// Rows of the tensor to make.
    pub rows: usize,
    /// Columns of the tensor to make.
    pub cols: usize,
    /// Number of inputs of the layer.
    pub fan_in: usize,
    /// Number of outputs of the layer.
    pub fan_out: usize,
}

impl ParamShape {
    /// The weight of a dense layer, `(fan_in, fan_out)`.
    pub fn weight(fan_in: usize, fan_out: usize) -> ParamShape {
        ParamShape { rows: fan_in, cols: fan_out, fan_in, fan_out }
    }

    /// The bias of a dense layer, `(1, fan_out)`.
    pub fn bias(fan_in: usize, fan_out: usize) -> ParamShape {
        ParamShape { rows: 1, cols: fan_out, fan_in, fan_out }
    }
}

/// A parameter factory.
pub trait Initializer {
    /// Makes a `shape.rows x shape.cols` tensor, drawing from `rng` in row-major order.
    fn init(&self, shape: ParamShape, rng: &mut SeededRng) -> Tensor;
}

impl<F: Fn(ParamShape, &mut SeededRng) -> Tensor> Initializer for F {
    fn init(&self, shape: ParamShape, rng: &mut SeededRng) -> Tensor {
        self(shape, rng)
    }
}

/// The catalogue of initializers. `Display` writes the spec string that parses back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// Every element `c`.
    Constant(f64),
    /// Normal, mean 0, standard deviation `std`.
    Normal(f64),
    /// Uniform on `[-limit, limit)`.
    Uniform(f64),
    /// Normal with standard deviation `std`, redrawn until within ±2 std.
    TruncatedNormal(f64),
    /// He/Kaiming normal: std `√(2 / fan_in)`.
    HeNormal,
    /// He/Kaiming uniform: limit `√(6 / fan_in)`.
    HeUniform,
    /// Keras' He truncated normal: std `√(2 / fan_in) / 0.87962566103423978`, cut at ±2 std.
    HeTruncated,
    /// Xavier/Glorot normal: std `√(2 / (fan_in + fan_out))`.
    XavierNormal,
    /// Xavier/Glorot uniform: limit `√(6 / (fan_in + fan_out))`.
    XavierUniform,
    /// LeCun normal: std `√(1 / fan_in)`.
    LecunNormal,
    /// Variance scaling, the mean-field parametrization: normal with variance
    /// `scale / fan_in`, so that `scale` plays σ_w² (LeCun is `scale` 1, He is 2).
    VarianceScaling(f64),
    /// A (semi-)orthogonal matrix times `gain`: orthonormal columns when rows ≥ cols,
    /// orthonormal rows otherwise (Saxe et al.; the QR of a Gaussian matrix).
    Orthogonal(f64),
}

/// Standard deviation of a normal truncated at ±2 std divided by its std before cutting.
const TRUNCATED_STD_RATIO: f64 = 0.879_625_661_034_239_8;

impl Initializer for Init {
    fn init(&self, p: ParamShape, rng: &mut SeededRng) -> Tensor {
        let (fan_in, fan_avg) = (p.fan_in as f64, (p.fan_in + p.fan_out) as f64);
        match *self {
            Init::Zeros => Tensor::zeros(p.rows, p.cols),
            Init::Constant(c) => Tensor::full(p.rows, p.cols, c),
            Init::Normal(std) => fill(p, rng, |r| std * normal(r)),
            Init::Uniform(limit) => fill(p, rng, |r| uniform(r, limit)),
            Init::TruncatedNormal(std) => fill(p, rng, |r| std * truncated_normal(r)),
            Init::HeNormal => fill(p, rng, |r| (2.0 / fan_in).sqrt() * normal(r)),
            Init::HeUniform => fill(p, rng, |r| uniform(r, (6.0 / fan_in).sqrt())),
            Init::HeTruncated => {
                let std = (2.0 / fan_in).sqrt() / TRUNCATED_STD_RATIO;
                fill(p, rng, |r| std * truncated_normal(r))
            }
            Init::XavierNormal => fill(p, rng, |r| (2.0 / fan_avg).sqrt() * normal(r)),
            Init::XavierUniform => fill(p, rng, |r| uniform(r, (6.0 / fan_avg).sqrt())),
            Init::LecunNormal => fill(p, rng, |r| (1.0 / fan_in).sqrt() * normal(r)),
            Init::VarianceScaling(s) => fill(p, rng, |r| (s / fan_in).sqrt() * normal(r)),
            Init::Orthogonal(gain) => orthogonal(p.rows, p.cols, gain, rng),
        }
    }
}

fn fill(p: ParamShape, rng: &mut SeededRng, mut draw: impl FnMut(&mut SeededRng) -> f64) -> Tensor {
    Tensor::from_vec(p.rows, p.cols, (0..p.rows * p.cols).map(|_| draw(rng)).collect())
}

fn normal(rng: &mut SeededRng) -> f64 {
    rng.sample(StandardNormal)
}

fn uniform(rng: &mut SeededRng, limit: f64) -> f64 {
    limit * (2.0 * rng.random::<f64>() - 1.0)
}

fn truncated_normal(rng: &mut SeededRng) -> f64 {
    loop {
        let z = normal(rng);
        if z.abs() <= 2.0 {
            return z;
        }
    }
}

/// `gain` times a matrix with orthonormal columns (rows ≥ cols) or rows (rows < cols):
/// Gram–Schmidt on a Gaussian matrix. Gram–Schmidt gives the Q of the QR decomposition
/// whose R has a positive diagonal, and that Q of a Gaussian matrix is uniformly (Haar)
/// distributed, so no sign correction is needed.
fn orthogonal(rows: usize, cols: usize, gain: f64, rng: &mut SeededRng) -> Tensor {
    let (n, k) = if rows >= cols { (rows, cols) } else { (cols, rows) };
    // k vectors of length n, drawn as columns of an n x k Gaussian matrix.
    let mut q: Vec<Vec<f64>> = (0..k).map(|_| (0..n).map(|_| normal(rng)).collect()).collect();
    orthonormalize(&mut q, rng);
    let mut t = Tensor::zeros(rows, cols);
    for (j, v) in q.iter().enumerate() {
        for (i, &x) in v.iter().enumerate() {
            let (r, c) = if rows >= cols { (i, j) } else { (j, i) };
            t.data_mut()[r * cols + c] = gain * x;
        }
    }
    t
}

/// Makes the vectors `q` (at most as many as their length) orthonormal in order, by
/// Gram–Schmidt with each projection done twice for accuracy. A vector (numerically) in
/// the span of those before it, which a Gaussian draw is with probability 0, is replaced
/// by a fresh Gaussian draw from `rng` until it is not.
fn orthonormalize(q: &mut [Vec<f64>], rng: &mut SeededRng) {
    for j in 0..q.len() {
        let (done, rest) = q.split_at_mut(j);
        let v = &mut rest[0];
        loop {
            let original_norm = dot(v, v).sqrt();
            for _ in 0..2 {
                for u in done.iter() {
                    let proj = dot(u, v);
                    v.iter_mut().zip(u).for_each(|(x, &y)| *x -= proj * y);
                }
            }
            let norm = dot(v, v).sqrt();
            if norm > 1e-10 * original_norm {
                v.iter_mut().for_each(|x| *x /= norm);
                break;
            }
            v.iter_mut().for_each(|x| *x = normal(rng));
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Why a spec string did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

/// The spec strings [`Init`] parses, as shown in error messages.
pub const SPEC_NAMES: &str = "zeros, constant:C, normal[:STD], uniform[:LIMIT], truncated_normal[:STD], \
he (he_normal), he_uniform, he_truncated, xavier (xavier_normal, glorot_normal), xavier_uniform (glorot_uniform), \
lecun (lecun_normal), variance_scaling:S (normal, variance S / fan_in), orthogonal[:GAIN]";

impl FromStr for Init {
    type Err = SpecError;

    /// Parses `name` or `name:number`, e.g. `"he"`, `"normal:10"`, `"orthogonal:1.4"`.
    fn from_str(spec: &str) -> Result<Init, SpecError> {
        let spec = spec.trim();
        let (name, arg) = match spec.split_once(':') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (spec, None),
        };
        let name = name.to_ascii_lowercase();
        let number = |default: Option<f64>| -> Result<f64, SpecError> {
            let value = match (arg, default) {
                (None, Some(d)) => return Ok(d),
                (None, None) => {
                    return Err(SpecError(format!("initializer `{name}` needs a value, as in `{name}:0.5`")));
                }
                (Some(a), _) => {
                    a.parse::<f64>().map_err(|_| SpecError(format!("initializer `{spec}`: `{a}` is not a number")))?
                }
            };
            if value.is_finite() {
                Ok(value)
            } else {
                Err(SpecError(format!("initializer `{spec}`: the value must be finite")))
            }
        };
        let scale = |default: f64| -> Result<f64, SpecError> {
            let v = number(Some(default))?;
            if v >= 0.0 {
                Ok(v)
            } else {
                Err(SpecError(format!("initializer `{spec}`: the value must not be negative")))
            }
        };
        let positive = || -> Result<f64, SpecError> {
            let v = number(None)?;
            if v > 0.0 {
                Ok(v)
            } else {
                Err(SpecError(format!("initializer `{spec}`: the value must be greater than 0")))
            }
        };
        let no_arg = |init: Init| match arg {
            None => Ok(init),
            Some(_) => Err(SpecError(format!("initializer `{name}` takes no value, got `{spec}`"))),
        };
        match name.as_str() {
            "zeros" | "zero" => no_arg(Init::Zeros),
            "constant" | "const" => Ok(Init::Constant(number(None)?)),
            "normal" => Ok(Init::Normal(scale(1.0)?)),
            "uniform" => Ok(Init::Uniform(scale(1.0)?)),
            "truncated_normal" => Ok(Init::TruncatedNormal(scale(1.0)?)),
            "he" | "he_normal" | "kaiming" | "kaiming_normal" => no_arg(Init::HeNormal),
            "he_uniform" | "kaiming_uniform" => no_arg(Init::HeUniform),
            "he_truncated" | "he_truncated_normal" => no_arg(Init::HeTruncated),
            "xavier" | "xavier_normal" | "glorot" | "glorot_normal" => no_arg(Init::XavierNormal),
            "xavier_uniform" | "glorot_uniform" => no_arg(Init::XavierUniform),
            "lecun" | "lecun_normal" => no_arg(Init::LecunNormal),
            "variance_scaling" => Ok(Init::VarianceScaling(positive()?)),
            "orthogonal" => Ok(Init::Orthogonal(scale(1.0)?)),
            "" => Err(SpecError(format!("empty initializer spec; valid names: {SPEC_NAMES}"))),
            _ => Err(SpecError(format!("unknown initializer `{spec}`; valid names: {SPEC_NAMES}"))),
        }
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Zeros => write!(f, "zeros"),
            Init::Constant(c) => write!(f, "constant:{c}"),
            Init::Normal(s) => write!(f, "normal:{s}"),
            Init::Uniform(l) => write!(f, "uniform:{l}"),
            Init::TruncatedNormal(s) => write!(f, "truncated_normal:{s}"),
            Init::HeNormal => write!(f, "he"),
            Init::HeUniform => write!(f, "he_uniform"),
            Init::HeTruncated => write!(f, "he_truncated"),
            Init::XavierNormal => write!(f, "xavier_normal"),
            Init::XavierUniform => write!(f, "xavier_uniform"),
            Init::LecunNormal => write!(f, "lecun_normal"),
            Init::VarianceScaling(s) => write!(f, "variance_scaling:{s}"),
            Init::Orthogonal(g) => write!(f, "orthogonal:{g}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mean and standard deviation of a large draw.
    fn moments(init: Init, p: ParamShape) -> (f64, f64) {
        crate::stats::mean_std(init.init(p, &mut seeded_rng(7, 0)).data())
    }

    #[test]
    fn each_distribution_has_the_mean_and_std_of_its_formula() {
        // 200 x 300 = 60 000 draws: the sample std is within ~0.6 % of the true one.
        let p = ParamShape::weight(200, 300);
        let trunc = TRUNCATED_STD_RATIO;
        let cases = [
            (Init::Normal(10.0), 10.0),
            (Init::Uniform(0.3), 0.3 / 3f64.sqrt()),
            (Init::TruncatedNormal(2.0), 2.0 * trunc),
            (Init::HeNormal, (2.0 / 200.0f64).sqrt()),
            (Init::HeUniform, (6.0 / 200.0f64).sqrt() / 3f64.sqrt()),
            (Init::HeTruncated, (2.0 / 200.0f64).sqrt()),
            (Init::XavierNormal, (2.0 / 500.0f64).sqrt()),
            (Init::XavierUniform, (6.0 / 500.0f64).sqrt() / 3f64.sqrt()),
            (Init::LecunNormal, (1.0 / 200.0f64).sqrt()),
            (Init::VarianceScaling(1.5), (1.5 / 200.0f64).sqrt()),
            (Init::Orthogonal(1.0), (1.0 / 300.0f64).sqrt()),
        ];
        for (init, std) in cases {
            let (m, s) = moments(init, p);
            assert!(m.abs() < 0.02 * std, "{init}: mean {m} (std {std})");
            assert!((s / std - 1.0).abs() < 0.02, "{init}: std {s}, formula {std}");
        }
        assert_eq!(moments(Init::Zeros, p), (0.0, 0.0));
        assert_eq!(moments(Init::Constant(0.25), p), (0.25, 0.0));
    }

    #[test]
    fn truncated_draws_stay_within_two_std() {
        let t = Init::TruncatedNormal(3.0).init(ParamShape::weight(100, 100), &mut seeded_rng(1, 0));
        assert!(t.max_abs() <= 6.0);
        assert!(t.max_abs() > 5.5, "the tails are reached");
    }

    #[test]
    fn orthogonal_is_orthonormal_times_gain() {
        for (rows, cols) in [(12, 6), (6, 12), (8, 8)] {
            let q = Init::Orthogonal(1.5).init(ParamShape::weight(rows, cols), &mut seeded_rng(3, 0));
            // QᵀQ = gain² I for tall matrices, QQᵀ = gain² I for wide ones.
            let g = if rows >= cols { q.transpose().matmul(&q) } else { q.matmul(&q.transpose()) };
            for i in 0..g.rows() {
                for j in 0..g.cols() {
                    let want = if i == j { 2.25 } else { 0.0 };
                    assert!((g.get(i, j) - want).abs() < 1e-12, "{rows}x{cols}: ({i},{j}) = {}", g.get(i, j));
                }
            }
        }
    }

    #[test]
    fn a_dependent_vector_is_redrawn() {
        // The second vector is a multiple of the first, the fourth is zero.
        let mut q = vec![vec![1.0, 2.0, 0.0, 0.0], vec![-2.0, -4.0, 0.0, 0.0], vec![0.0, 0.0, 3.0, 0.0], vec![0.0; 4]];
        orthonormalize(&mut q, &mut seeded_rng(0, 0));
        for i in 0..4 {
            for j in 0..4 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot(&q[i], &q[j]) - want).abs() < 1e-12, "({i},{j}) = {}", dot(&q[i], &q[j]));
            }
        }
    }

    #[test]
    fn variance_scaling_is_he_at_2_and_lecun_at_1() {
        // The same draws, scaled by √(S / fan_in): the mean-field σ_w² of He and LeCun.
        let p = ParamShape::weight(30, 20);
        let draw = |init: Init| init.init(p, &mut seeded_rng(5, 1));
        assert_eq!(draw(Init::VarianceScaling(2.0)), draw(Init::HeNormal));
        assert_eq!(draw(Init::VarianceScaling(1.0)), draw(Init::LecunNormal));
    }

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let p = ParamShape::weight(3, 4);
        let a = Init::HeNormal.init(p, &mut seeded_rng(42, 1));
        let b = Init::HeNormal.init(p, &mut seeded_rng(42, 1));
        let c = Init::HeNormal.init(p, &mut seeded_rng(42, 2));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn specs_parse_and_print_back() {
        let specs =
            ["zeros", "constant:0.5", "normal:10", "uniform:0.1", "truncated_normal:2", "he", "variance_scaling:1.76"];
        for spec in specs {
            let init: Init = spec.parse().unwrap();
            assert_eq!(init.to_string().parse::<Init>().unwrap(), init, "{spec}");
        }
        assert_eq!("normal".parse::<Init>().unwrap(), Init::Normal(1.0));
        assert_eq!(" Xavier_Uniform ".parse::<Init>().unwrap(), Init::XavierUniform);
        assert_eq!("glorot".parse::<Init>().unwrap(), Init::XavierNormal);
        assert_eq!("orthogonal:1.4".parse::<Init>().unwrap(), Init::Orthogonal(1.4));
    }

    #[test]
    fn bad_specs_are_clear_errors() {
        let err = |s: &str| s.parse::<Init>().unwrap_err().to_string();
        assert!(err("hee").contains("unknown initializer `hee`; valid names: zeros"));
        assert!(err("normal:abc").contains("`abc` is not a number"));
        assert!(err("normal:-1").contains("must not be negative"));
        assert!(err("normal:inf").contains("must be finite"));
        assert!(err("constant").contains("needs a value"));
        assert!(err("he:2").contains("takes no value"));
        assert!(err("variance_scaling").contains("needs a value"));
        assert!(err("variance_scaling:0").contains("must be greater than 0"));
        assert!(err("").contains("empty initializer spec"));
    }
}
