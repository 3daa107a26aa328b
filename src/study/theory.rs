//! Mean-field theory of signal propagation in deep random networks (Poole et al. 2016;
//! Schoenholz et al. 2017): with weights `W ~ N(0, σ_w²/fan_in)` and biases
//! `b ~ N(0, σ_b²)`, the pre-activations of a wide layer are Gaussian, and two numbers per
//! layer describe how two inputs travel: their length `q` (the mean square of a
//! pre-activation) and their correlation `c`.
//!
//! - length map: `q^{l+1} = σ_w² E[φ(√q^l z)²] + σ_b²`, with its fixed point `q*` and
//!   slope `χ_q = χ_1 + σ_w² E[φ''φ]` there, so `|q^l − q*| ~ e^{−l/ξ_q}`, `ξ_q = −1/ln χ_q`;
//! - correlation map: `c^{l+1} = (σ_w² E[φ(u)φ(v)] + σ_b²) / q^{l+1}` for `u, v` of
//!   variance `q^l` and correlation `c^l`; at `q*` its stable fixed point `c*` and slope
//!   `χ_c = σ_w² E[φ'(u)φ'(v)]`, so `|c^l − c*| ~ e^{−l/ξ_c}`, `ξ_c = −1/ln χ_c`;
//! - `χ_1 = σ_w² E[φ'(√q* z)²]`, the slope at `c = 1`: below 1 the network is ordered
//!   (`c* = 1`, every pair of inputs converges, gradients vanish), above 1 chaotic
//!   (`c* < 1`, gradients explode), and at 1 critical (`ξ_c = ∞`).
//!
//! The expectations of the piecewise-linear activations (identity, ReLU, leaky ReLU) are
//! closed forms — the arc-cosine kernel of Cho & Saul (2009) — so no quadrature meets
//! ReLU's kink, where Gauss–Hermite would converge only algebraically. Those of tanh and
//! sigmoid are Gauss–Hermite sums ([`GaussHermite`]): one dimension for the length map,
//! a tensor product of the same rule for the correlation map.
//!
//! ```
//! use tapegrad::nn::Activation;
//! use tapegrad::study::theory::MeanField;
//! let relu = MeanField::new(Activation::Relu, 1.0, 0.5).fixed_point();
//! // ReLU's length map is q ↦ q σ_w²/2 + σ_b², a line: q* = σ_b² / (1 − σ_w²/2).
//! assert!((relu.q_star - 1.0).abs() < 1e-12);
//! assert_eq!((relu.chi_1, relu.c_star), (0.5, 1.0));
//! ```

use std::f64::consts::PI;

use crate::nn::Activation;
use crate::study::quadrature::{GaussHermite, MAX_NODES};
use crate::tensor::vectorized;

/// Gauss–Hermite nodes used unless told otherwise: the length map of tanh at `q ≤ 4` is
/// then within 1e-12 of a 400-node rule, and the correlation map within 1e-10.
pub const DEFAULT_NODES: usize = 64;

/// A random network's parametrization and the quadrature rule its expectations use.
#[derive(Clone, Debug, PartialEq)]
pub struct MeanField {
    /// The activation of every layer.
    pub activation: Activation,
    /// σ_w², the weight variance times `fan_in`.
    pub sw2: f64,
    /// σ_b², the bias variance.
    pub sb2: f64,
    gh: GaussHermite,
}

/// The fixed points of the two maps and the depth scales around them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixedPoint {
    /// The fixed point of the length map; infinite when `q` grows without bound (a
    /// piecewise-linear activation with `χ_1 ≥ 1` and `σ_b² > 0`, or `χ_1 > 1`).
    pub q_star: f64,
    /// The stable fixed point of the correlation map at `q*` (1 in the ordered phase;
    /// NaN when `q*` is infinite).
    pub c_star: f64,
    /// `σ_w² E[φ'(√q* z)²]`: the order (< 1) to chaos (> 1) parameter.
    pub chi_1: f64,
    /// The slope of the correlation map at `c*`.
    pub chi_c: f64,
    /// The correlation depth `−1/ln χ_c` (infinite at `χ_c = 1`).
    pub xi_c: f64,
    /// The slope of the length map at `q*`.
    pub chi_q: f64,
    /// The length depth `−1/ln χ_q`.
    pub xi_q: f64,
}

/// `q` and `c` of the pre-activations of one layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerState {
    /// Length: the mean square of a pre-activation.
    pub q: f64,
    /// Correlation of the two inputs' pre-activations.
    pub c: f64,
}

/// A depth scale `−1/ln χ`: infinite when `χ` is within 1e-12 of 1 (the precision of
/// the critical σ_w² and the quadrature; beyond 10¹² layers a depth means nothing), and
/// negative for `χ > 1` (growth rather than decay).
pub fn depth_scale(chi: f64) -> f64 {
    if (chi - 1.0).abs() <= 1e-12 { f64::INFINITY } else { -1.0 / chi.ln() }
}

impl MeanField {
    /// σ_w², σ_b² and the activation, with [`DEFAULT_NODES`] quadrature nodes.
    pub fn new(activation: Activation, sw2: f64, sb2: f64) -> MeanField {
        MeanField::with_nodes(activation, sw2, sb2, DEFAULT_NODES)
    }

    /// As [`MeanField::new`], with `nodes` Gauss–Hermite nodes.
    pub fn with_nodes(activation: Activation, sw2: f64, sb2: f64, nodes: usize) -> MeanField {
        MeanField { activation, sw2, sb2, gh: GaussHermite::new(nodes) }
    }

    /// The same network at another σ_w² and σ_b², keeping the quadrature rule.
    pub fn at(&self, sw2: f64, sb2: f64) -> MeanField {
        MeanField { sw2, sb2, ..self.clone() }
    }

    /// The length map `q ↦ σ_w² E[φ(√q z)²] + σ_b²`.
    pub fn length_map(&self, q: f64) -> f64 {
        self.sw2 * self.single(q).phi2 + self.sb2
    }

    /// `χ_1` at length `q`: `σ_w² E[φ'(√q z)²]`.
    pub fn chi_1(&self, q: f64) -> f64 {
        self.sw2 * self.single(q).dphi2
    }

    /// `E[φ'(√q z)²]` and `E[φ'(√q z)⁴]`: the first two moments of the squared
    /// derivative at length `q`, which set a Jacobian's spectrum
    /// ([`crate::study::spectrum::predict`]).
    pub fn derivative_moments(&self, q: f64) -> (f64, f64) {
        if let Some(a) = leaky_slope(self.activation) {
            // φ'² is 1 or a², each with probability ½ (identity: a = 1).
            return ((1.0 + a * a) / 2.0, (1.0 + a.powi(4)) / 2.0);
        }
        let r = q.sqrt();
        let d2 = |z: f64| smooth(self.activation, r * z).1.powi(2);
        (self.gh.expect(d2), self.gh.expect(|z| d2(z).powi(2)))
    }

    /// One layer: the next layer's length and correlation from this one's.
    pub fn step(&self, s: LayerState) -> LayerState {
        let q = self.length_map(s.q);
        let (phiphi, _) = self.pair(s.q, s.c);
        LayerState { q, c: ((self.sw2 * phiphi + self.sb2) / q).min(1.0) }
    }

    /// The predicted length and correlation of layers 1 to `layers` for two inputs of
    /// mean square `q0` and correlation `c0` (layer 1's pre-activations are the inputs'
    /// images under `W x + b`, with no activation before them).
    pub fn trajectory(&self, q0: f64, c0: f64, layers: usize) -> Vec<LayerState> {
        let q = self.sw2 * q0 + self.sb2;
        let mut s = LayerState { q, c: (self.sw2 * q0 * c0 + self.sb2) / q };
        let mut out = Vec::with_capacity(layers);
        for l in 0..layers {
            if l > 0 {
                s = self.step(s);
            }
            out.push(s);
        }
        out
    }

    /// `q*`, `c*`, `χ_1`, `χ_c`, `ξ_c`, `χ_q` and `ξ_q`.
    pub fn fixed_point(&self) -> FixedPoint {
        self.fixed_point_near(None)
    }

    /// [`MeanField::fixed_point`], with Newton's iterations started from the fixed point of
    /// a nearby σ_w², σ_b² (the neighbour in a grid): fewer iterations, the same answer.
    pub fn fixed_point_near(&self, near: Option<&FixedPoint>) -> FixedPoint {
        let q_star = self.q_star(near.map(|p| p.q_star));
        if !q_star.is_finite() {
            let chi_1 = self.chi_1(1.0); // piecewise linear: the same at every q
            let nan = f64::NAN;
            return FixedPoint { q_star, c_star: nan, chi_1, chi_c: nan, xi_c: nan, chi_q: chi_1, xi_q: nan };
        }
        let s = self.single(q_star);
        let chi_1 = self.sw2 * s.dphi2;
        let chi_q = chi_1 + self.sw2 * s.phi_ddphi;
        let (c_star, chi_c) = self.c_star(q_star, chi_1, near.map(|p| p.c_star));
        FixedPoint { q_star, c_star, chi_1, chi_c, xi_c: depth_scale(chi_c), chi_q, xi_q: depth_scale(chi_q) }
    }

    /// The σ_w² at which `χ_1 = 1` for this σ_b² (the order-to-chaos line): `2/(1 + a²)`
    /// for a piecewise-linear activation of negative slope `a`, otherwise the root of
    /// `χ_1(σ_w²) − 1` (χ_1 at the σ_w²'s own `q*`) by bisection steered by the secant,
    /// to 1e-13 relative. `None` when χ_1 stays below 1 up to σ_w² = 1e6.
    pub fn critical_sw2(&self) -> Option<f64> {
        if let Some(a) = leaky_slope(self.activation) {
            return Some(2.0 / (1.0 + a * a));
        }
        let excess = |sw2: f64| {
            let f = self.at(sw2, self.sb2);
            f.chi_1(f.q_star(None)) - 1.0
        };
        // χ_1 ≤ σ_w² max φ'², and max φ'² is 1 (tanh) or 1/16 (sigmoid).
        let (mut lo, mut hi) = (0.5, 1.0);
        let (mut g_lo, mut g_hi) = (excess(lo), excess(hi));
        while g_lo >= 0.0 {
            if lo < 1e-12 {
                return None;
            }
            (hi, g_hi, lo) = (lo, g_lo, lo / 2.0);
            g_lo = excess(lo);
        }
        while g_hi < 0.0 {
            (lo, g_lo, hi) = (hi, g_hi, hi * 2.0);
            if hi > 1e6 {
                return None;
            }
            g_hi = excess(hi);
        }
        // Regula falsi with the Illinois modification: superlinear, and never leaves the bracket.
        let (mut side, mut x) = (0, hi);
        for _ in 0..200 {
            x = (lo * g_hi - hi * g_lo) / (g_hi - g_lo);
            let g = excess(x);
            if g == 0.0 || (hi - lo) <= 1e-13 * hi {
                break;
            }
            if g < 0.0 {
                (lo, g_lo) = (x, g);
                if side == -1 {
                    g_hi /= 2.0;
                }
                side = -1;
            } else {
                (hi, g_hi) = (x, g);
                if side == 1 {
                    g_lo /= 2.0;
                }
                side = 1;
            }
        }
        Some(x)
    }

    /// The attracting fixed point of the length map (the largest one); Newton starts at
    /// `start` when it is inside the bracket.
    fn q_star(&self, start: Option<f64>) -> f64 {
        if let Some(a) = leaky_slope(self.activation) {
            // q ↦ σ_w² q (1 + a²)/2 + σ_b²: a line.
            let slope = self.sw2 * (1.0 + a * a) / 2.0;
            // Slope ≥ 1: q grows without bound, or (slope 1, σ_b² = 0) every q is a
            // fixed point and none attracts.
            return if slope < 1.0 { self.sb2 / (1.0 - slope) } else { f64::INFINITY };
        }
        // Bounded φ (|φ| ≤ 1): g(q) = map(q) − q is ≤ 0 at q = σ_w² + σ_b².
        let g = |q: f64| self.length_map(q) - q;
        let mut hi = self.sw2 + self.sb2;
        let mut lo = 0.0;
        let (phi_0, dphi_0, _) = smooth(self.activation, 0.0);
        if self.sw2 * phi_0 * phi_0 + self.sb2 <= 0.0 {
            // σ_b² = 0 and φ(0) = 0: q* > 0 only when the map rises faster than q at 0.
            if self.sw2 * dphi_0 * dphi_0 <= 1.0 {
                return 0.0;
            }
            lo = hi;
            while g(lo) <= 0.0 {
                lo /= 2.0;
                if lo < 1e-300 {
                    return 0.0;
                }
            }
        }
        // Newton on g, kept inside the bracket [lo, hi] (g(lo) > 0 ≥ g(hi)).
        let mut q = start.filter(|&q| q > lo && q < hi).unwrap_or(hi);
        for _ in 0..200 {
            let s = self.single(q);
            let value = self.sw2 * s.phi2 + self.sb2 - q;
            if value > 0.0 {
                lo = q
            } else {
                hi = q
            }
            let slope = self.sw2 * (s.dphi2 + s.phi_ddphi) - 1.0;
            let newton = q - value / slope;
            let next = if newton > lo && newton < hi { newton } else { 0.5 * (lo + hi) };
            // A Newton step of 1e-10 relative leaves an error of about its square; the
            // bisection bound catches q* = 0 approached from above.
            if (next - q).abs() <= 1e-10 * q || hi - lo <= 1e-15 * hi {
                return next;
            }
            q = next;
        }
        q
    }

    /// The stable fixed point of the correlation map at `q*` and the map's slope there.
    /// The map is absolutely monotone on [0, 1] (its power series in `c` has
    /// non-negative coefficients, the squared Hermite coefficients of φ), so
    /// `g(c) = map(c) − c` is convex with `g(0) ≥ 0` and `g(1) = 0`: when `χ_1 ≤ 1` the
    /// only stable fixed point is 1, and otherwise Newton from 0 climbs monotonically to
    /// the one root below 1. A `start` a little below a neighbour's `c*` saves steps; when
    /// it turns out to lie past the root, Newton restarts from 0.
    fn c_star(&self, q_star: f64, chi_1: f64, start: Option<f64>) -> (f64, f64) {
        if chi_1 <= 1.0 || q_star == 0.0 {
            return (1.0, chi_1);
        }
        let mut c = start.filter(|c| c.is_finite()).map_or(0.0, |c| (c - 0.02).clamp(0.0, 1.0));
        let mut slope = chi_1;
        let pairs = self.pairs_at(q_star);
        for _ in 0..100 {
            let (phiphi, dd) = pairs.eval(c);
            slope = self.sw2 * dd;
            let g = (self.sw2 * phiphi + self.sb2) / q_star - c;
            if g <= 0.0 || slope >= 1.0 {
                if c > 0.0 && g < -1e-12 {
                    c = 0.0; // started past the root
                    continue;
                }
                break; // at the root to rounding
            }
            // The step bounds the error before it; the error after it is of its square.
            let step = g / (1.0 - slope);
            c += step;
            if step <= 1e-9 {
                break;
            }
        }
        (c, slope)
    }

    /// `E[φ(√q z)²]`, `E[φ'(√q z)²]` and `E[φ(√q z) φ''(√q z)]`.
    fn single(&self, q: f64) -> Single {
        if let Some(a) = leaky_slope(self.activation) {
            let half = (1.0 + a * a) / 2.0;
            return Single { phi2: q * half, dphi2: half, phi_ddphi: 0.0 };
        }
        let r = q.sqrt();
        let (nodes, weights) = (self.gh.nodes(), self.gh.weights());
        let n = nodes.len();
        // φ − α − β/2 is odd (φ = α + β/(1 + e^{κx})): at the mirrored node −z,
        // φ = 2α + β − φ(z), φ' = φ'(z) and φ'' = −φ''(z), so half the nodes suffice.
        let (alpha, beta, _) = logistic_form(self.activation);
        let (mut phi2, mut dphi2, mut phi_ddphi) = (0.0, 0.0, 0.0);
        for (i, (&z, &w)) in nodes.iter().zip(weights).enumerate().skip(n / 2) {
            let (f, d, dd) = smooth(self.activation, r * z);
            if n - 1 - i == i {
                phi2 += w * f * f;
                dphi2 += w * d * d;
                phi_ddphi += w * f * dd;
            } else {
                let fm = 2.0 * alpha + beta - f;
                phi2 += w * (f * f + fm * fm);
                dphi2 += w * 2.0 * d * d;
                phi_ddphi += w * dd * (f - fm);
            }
        }
        Single { phi2, dphi2, phi_ddphi }
    }

    /// `E[φ(u)φ(v)]` and `E[φ'(u)φ'(v)]` for `u, v` of variance `q` and correlation `c`:
    /// `u = √q z₁`, `v = √q (c z₁ + √(1−c²) z₂)`.
    fn pair(&self, q: f64, c: f64) -> (f64, f64) {
        self.pairs_at(q).eval(c)
    }

    /// [`MeanField::pair`] at length `q` for many correlations: what depends on `u`
    /// alone is computed once (Newton's iterations for `c*` all run at `q*`).
    fn pairs_at(&self, q: f64) -> Pairs<'_> {
        let mut p = Pairs { f: self, q, fu: [0.0; MAX_NODES], du: [0.0; MAX_NODES] };
        if leaky_slope(self.activation).is_none() {
            let r = q.sqrt();
            for ((fu, du), &z1) in p.fu.iter_mut().zip(&mut p.du).zip(self.gh.nodes()) {
                (*fu, *du) = smooth_fd(self.activation, r * z1);
            }
        }
        p
    }
}

/// The correlation-map expectations of one length `q`, with `φ(√q z₁)` and `φ'(√q z₁)`
/// at every node kept.
struct Pairs<'a> {
    f: &'a MeanField,
    q: f64,
    fu: [f64; MAX_NODES],
    du: [f64; MAX_NODES],
}

impl Pairs<'_> {
    /// `E[φ(u)φ(v)]` and `E[φ'(u)φ'(v)]` at correlation `c`.
    fn eval(&self, c: f64) -> (f64, f64) {
        let (f, q) = (self.f, self.q);
        let c = c.clamp(-1.0, 1.0);
        if let Some(a) = leaky_slope(f.activation) {
            // Cho & Saul's arc-cosine kernels for φ = relu(x) − a·relu(−x), θ = acos c:
            // E[relu(u)relu(v)] = q k(c), k(c) = (sin θ + (π − θ) c) / 2π, and
            // E[1(u>0)1(v>0)] = (π − θ)/2π.
            let k = |c: f64| {
                let t = c.acos();
                (t.sin() + (PI - t) * c) / (2.0 * PI)
            };
            let t = c.acos();
            let phiphi = q * ((1.0 + a * a) * k(c) - 2.0 * a * k(-c));
            let dd = ((1.0 + a * a) * (PI - t) + 2.0 * a * t) / (2.0 * PI);
            return (phiphi, dd);
        }
        let (r, s) = (q.sqrt(), (1.0 - c * c).max(0.0).sqrt());
        let (nodes, weights) = (f.gh.nodes(), f.gh.weights());
        let n = nodes.len();
        let (fu, du) = (&self.fu[..n], &self.du[..n]);
        let (alpha, beta, kappa) = logistic_form(f.activation);
        if kappa.abs() * r * (c.abs() + s) * nodes[n - 1] >= 600.0 {
            return self.direct(c);
        }
        // φ(x) = α + β/(1 + e^{κx}) and e^{κ(a+b)} = e^{κa} e^{κb}: 2n exponentials
        // instead of n² activations (the exponents stay below e^600, far from overflow).
        // The inner factors of the lower half of the nodes, and of the upper half
        // mirrored (`hi[j]` belongs to node `n − 1 − j`, whose weight is `w[j]`).
        let h = n / 2;
        let (mut lo, mut hi) = ([0.0; MAX_NODES / 2], [0.0; MAX_NODES / 2]);
        for j in 0..h {
            lo[j] = (kappa * r * s * nodes[j]).exp();
            hi[j] = (kappa * r * s * nodes[n - 1 - j]).exp();
        }
        let (lo, hi, w) = (&lo[..h], &hi[..h], &weights[..h]);
        let mid = (n % 2 == 1).then(|| ((kappa * r * s * nodes[h]).exp(), weights[h]));
        // φ' = a₀ + a₁φ + a₂φ²: 1 − φ² for tanh, φ − φ² for sigmoid.
        let (a0, a1, a2) = if alpha == 1.0 { (1.0, 0.0, -1.0) } else { (0.0, 1.0, -1.0) };
        let total: f64 = weights.iter().sum();
        let (mut phiphi, mut dd) = (0.0, 0.0);
        let mut add = |i: usize, s1: f64, s2: f64| {
            let mean_f = alpha + beta * s1;
            let mean_ff = alpha * alpha + 2.0 * alpha * beta * s1 + beta * beta * s2;
            phiphi += weights[i] * fu[i] * mean_f;
            dd += weights[i] * du[i] * (a0 + a1 * mean_f + a2 * mean_ff);
        };
        // The nodes and weights are symmetric (z_{n−1−i} = −z_i), and
        // ρ(−z₁, −z₂) = 1 − ρ(z₁, z₂): the sums of a negative z₁ follow from its mirror's,
        // Σ w (1 − ρ) = W − s₁ and Σ w (1 − ρ)² = W − 2s₁ + s₂ (W = Σ w), so only the
        // non-negative half of the nodes needs the inner sums.
        // With AVX2 where the CPU has it: four divisions per instruction instead of two.
        vectorized(
            #[inline(always)]
            || {
                for (i, &z1) in nodes.iter().enumerate().skip(n / 2) {
                    // Σ w ρ and Σ w ρ² for ρ = 1/(1 + e^{κu}e^{κv}), so that φ(v) = α + βρ.
                    let (s1, s2) = reciprocal_moments((kappa * r * c * z1).exp(), lo, hi, w, mid);
                    add(i, s1, s2);
                    if n - 1 - i != i {
                        add(n - 1 - i, total - s1, total - 2.0 * s1 + s2);
                    }
                }
            },
        );
        (phiphi, dd)
    }

    /// The same sums with φ and φ' evaluated at every pair of nodes.
    fn direct(&self, c: f64) -> (f64, f64) {
        let f = self.f;
        let (r, s) = (self.q.sqrt(), (1.0 - c * c).max(0.0).sqrt());
        let (nodes, weights) = (f.gh.nodes(), f.gh.weights());
        let (mut phiphi, mut dd) = (0.0, 0.0);
        for (i, (&z1, &w1)) in nodes.iter().zip(weights).enumerate() {
            let (mut inner_f, mut inner_d) = (0.0, 0.0);
            for (&z2, &w2) in nodes.iter().zip(weights) {
                let (fv, dv) = smooth_fd(f.activation, r * (c * z1 + s * z2));
                inner_f += w2 * fv;
                inner_d += w2 * dv;
            }
            phiphi += w1 * self.fu[i] * inner_f;
            dd += w1 * self.du[i] * inner_d;
        }
        (phiphi, dd)
    }
}

/// The [`FixedPoint`] at every (σ_w², σ_b²) of a grid, row-major with σ_b² along the
/// rows (`sb2s.len()` rows of `sw2s.len()`), rows computed in parallel.
pub fn phase_grid(base: &MeanField, sw2s: &[f64], sb2s: &[f64]) -> Vec<FixedPoint> {
    use rayon::prelude::*;
    let row = |&sb2: &f64| {
        let mut near = None;
        sw2s.iter()
            .map(|&sw2| {
                let p = base.at(sw2, sb2).fixed_point_near(near.as_ref());
                near = Some(p);
                p
            })
            .collect::<Vec<_>>()
    };
    sb2s.par_iter().flat_map_iter(row).collect()
}

/// [`MeanField::critical_sw2`] at every σ_b² of `sb2s` (the order-to-chaos line of a
/// phase diagram), computed in parallel.
pub fn critical_line(base: &MeanField, sb2s: &[f64]) -> Vec<Option<f64>> {
    use rayon::prelude::*;
    sb2s.par_iter().map(|&sb2| base.at(1.0, sb2).critical_sw2()).collect()
}

/// The expectations of one pre-activation.
struct Single {
    phi2: f64,
    dphi2: f64,
    phi_ddphi: f64,
}

/// The negative-side slope of a piecewise-linear activation (identity 1, ReLU 0).
fn leaky_slope(a: Activation) -> Option<f64> {
    match a {
        Activation::Identity => Some(1.0),
        Activation::Relu => Some(0.0),
        Activation::LeakyRelu(a) => Some(a),
        Activation::Sigmoid | Activation::Tanh => None,
    }
}

/// `(Σ w_j ρ_j, Σ w_j ρ_j²)` with `ρ_j = 1/(1 + outer · inner_j)` over the mirrored
/// halves of the nodes: `lo[j]` and `hi[j]` are the inner factors of nodes `j` and
/// `n − 1 − j`, which share the weight `w[j]` (and `mid`, for an odd `n`, the middle
/// node's factor and weight). One division serves both nodes of a pair,
/// `1/(1 + a) = (1 + b)/((1 + a)(1 + b))` and the same for `b`; where the product
/// overflows, both `a` and `b` exceed 1e47 and the two `ρ` (below 1e-47) come out 0.
/// Four independent sums, so that the loop runs on vector units.
#[inline(always)]
fn reciprocal_moments(outer: f64, lo: &[f64], hi: &[f64], w: &[f64], mid: Option<(f64, f64)>) -> (f64, f64) {
    let (mut s1, mut s2) = ([0.0; 4], [0.0; 4]);
    let pair = |a: f64, b: f64| {
        let (a, b) = (1.0 + outer * a, 1.0 + outer * b);
        let inv = 1.0 / (a * b);
        let (ra, rb) = (b * inv, a * inv);
        (ra + rb, ra * ra + rb * rb)
    };
    let (lc, hc, wc) = (lo.chunks_exact(4), hi.chunks_exact(4), w.chunks_exact(4));
    let (lr, hr, wr) = (lc.remainder(), hc.remainder(), wc.remainder());
    for ((l, h), w) in lc.zip(hc).zip(wc) {
        for k in 0..4 {
            let (p1, p2) = pair(l[k], h[k]);
            s1[k] += w[k] * p1;
            s2[k] += w[k] * p2;
        }
    }
    for ((&l, &h), &w) in lr.iter().zip(hr).zip(wr) {
        let (p1, p2) = pair(l, h);
        s1[0] += w * p1;
        s2[0] += w * p2;
    }
    if let Some((m, w)) = mid {
        let rho = 1.0 / (1.0 + outer * m);
        s1[0] += w * rho;
        s2[0] += w * rho * rho;
    }
    (s1.iter().sum(), s2.iter().sum())
}

/// `(α, β, κ)` with `φ(x) = α + β / (1 + e^{κx})`: tanh is `1 − 2/(1 + e^{2x})`, the
/// sigmoid `1/(1 + e^{−x})`.
fn logistic_form(a: Activation) -> (f64, f64, f64) {
    match a {
        Activation::Tanh => (1.0, -2.0, 2.0),
        Activation::Sigmoid => (0.0, 1.0, -1.0),
        _ => unreachable!("{a} is piecewise linear: its expectations are closed forms"),
    }
}

/// φ, φ' and φ'' of a smooth activation.
fn smooth(a: Activation, x: f64) -> (f64, f64, f64) {
    match a {
        // tanh' = 1 − t², tanh'' = −2t(1 − t²).
        Activation::Tanh => {
            let t = x.tanh();
            (t, 1.0 - t * t, -2.0 * t * (1.0 - t * t))
        }
        // σ' = σ(1 − σ), σ'' = σ(1 − σ)(1 − 2σ).
        Activation::Sigmoid => {
            let s = 1.0 / (1.0 + (-x).exp());
            (s, s * (1.0 - s), s * (1.0 - s) * (1.0 - 2.0 * s))
        }
        _ => unreachable!("{a} is piecewise linear: its expectations are closed forms"),
    }
}

/// φ and φ' of a smooth activation.
fn smooth_fd(a: Activation, x: f64) -> (f64, f64) {
    let (f, d, _) = smooth(a, x);
    (f, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TANH: Activation = Activation::Tanh;

    #[test]
    fn relu_has_the_closed_forms_of_a_linear_length_map() {
        // q ↦ q σ_w²/2 + σ_b²: q* = σ_b² / (1 − σ_w²/2), χ_1 = χ_q = σ_w²/2.
        let f = MeanField::new(Activation::Relu, 1.6, 0.3).fixed_point();
        assert!((f.q_star - 0.3 / (1.0 - 0.8)).abs() < 1e-12, "{f:?}");
        assert!((f.chi_1 - 0.8).abs() < 1e-15 && (f.chi_q - 0.8).abs() < 1e-15 && f.c_star == 1.0);
        // He (σ_w² = 2, σ_b² = 0) sits on the critical line; above it q grows without bound.
        let he = MeanField::new(Activation::Relu, 2.0, 0.0).fixed_point();
        assert!(he.q_star.is_infinite() && he.chi_1 == 1.0, "{he:?}");
        assert_eq!(MeanField::new(Activation::Relu, 1.0, 0.1).critical_sw2(), Some(2.0));
        assert_eq!(MeanField::new(Activation::LeakyRelu(0.5), 1.0, 0.1).critical_sw2(), Some(1.6));
    }

    #[test]
    fn relu_correlation_map_is_the_arc_cosine_kernel() {
        // σ_b² = 0, σ_w² = 2: c ↦ (sin θ + (π − θ) cos θ)/π (Cho & Saul 2009), whatever q.
        let f = MeanField::new(Activation::Relu, 2.0, 0.0);
        for c in [-0.9, -0.3, 0.0, 0.4, 0.95] {
            let t: f64 = f64::acos(c);
            let want = (t.sin() + (PI - t) * c) / PI;
            let got = f.step(LayerState { q: 3.0, c });
            assert!((got.c - want).abs() < 1e-14 && (got.q - 3.0).abs() < 1e-14, "c = {c}: {got:?}, want {want}");
        }
        // The 2-D Gauss–Hermite sum agrees, though only algebraically fast at the kink:
        // within 1e-3 at 150 nodes per dimension.
        let gh = GaussHermite::new(MAX_NODES);
        let (c, s) = (0.4f64, (1.0f64 - 0.16).sqrt());
        let quad = gh.expect(|z1| gh.expect(|z2| z1.max(0.0) * (c * z1 + s * z2).max(0.0)));
        let (closed, _) = f.pair(1.0, c);
        assert!((quad - closed).abs() < 1e-3 && (quad - closed).abs() > 1e-9, "{quad} vs {closed}");
    }

    #[test]
    fn linear_networks_follow_the_exact_recursion() {
        // Identity: q' = σ_w² q + σ_b², q'₁₂ = σ_w² q₁₂ + σ_b², exactly.
        let f = MeanField::new(Activation::Identity, 0.8, 0.1);
        let (mut q, mut q12) = (0.8 * 2.0 + 0.1, 0.8 * 2.0 * 0.3 + 0.1);
        for (l, s) in f.trajectory(2.0, 0.3, 8).iter().enumerate() {
            assert!((s.q - q).abs() < 1e-13 && (s.c - q12 / q).abs() < 1e-13, "layer {}: {s:?}", l + 1);
            (q, q12) = (0.8 * q + 0.1, 0.8 * q12 + 0.1);
        }
        let p = f.fixed_point();
        assert!((p.q_star - 0.1 / 0.2).abs() < 1e-12 && (p.chi_1 - 0.8).abs() < 1e-15, "{p:?}");
    }

    #[test]
    fn tanh_critical_line_matches_schoenholz_et_al() {
        // The value quoted for the setting of Schoenholz et al. (2017), σ_b² = 0.05:
        // σ_w² ≈ 1.76 (the paper's own sentence was not retrievable here; χ_1 = 1 is the
        // independent check below).
        let f = MeanField::new(TANH, 1.0, 0.05);
        let sw2 = f.critical_sw2().unwrap();
        assert!((sw2 - 1.76).abs() < 0.005, "{sw2}");
        let at = f.at(sw2, 0.05).fixed_point();
        assert!((at.chi_1 - 1.0).abs() < 1e-10 && at.xi_c.is_infinite(), "{at:?}");
        // σ_b² = 0: the line ends at σ_w² = 1 with q* = 0, where χ_1 = σ_w² φ'(0)².
        assert!((f.at(1.0, 0.0).critical_sw2().unwrap() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn slopes_are_the_derivatives_of_the_maps() {
        // χ_q and χ_c against central differences of the maps themselves.
        for (sw2, sb2) in [(1.5, 0.05), (3.0, 0.05), (2.5, 0.0)] {
            let f = MeanField::with_nodes(TANH, sw2, sb2, MAX_NODES);
            let p = f.fixed_point();
            let h = 1e-5;
            let dq = (f.length_map(p.q_star + h) - f.length_map(p.q_star - h)) / (2.0 * h);
            assert!((dq - p.chi_q).abs() < 1e-8, "σ_w² {sw2}: χ_q {} vs {dq}", p.chi_q);
            let c_map = |c: f64| f.step(LayerState { q: p.q_star, c }).c;
            assert!((c_map(p.c_star) - p.c_star).abs() < 1e-10, "c* is a fixed point");
            if p.c_star < 1.0 {
                let dc = (c_map(p.c_star + h) - c_map(p.c_star - h)) / (2.0 * h);
                assert!((dc - p.chi_c).abs() < 1e-7, "σ_w² {sw2}: χ_c {} vs {dc}", p.chi_c);
                assert!(p.chi_1 > 1.0 && p.chi_c < 1.0, "chaotic, with a stable c* < 1");
            }
        }
    }

    #[test]
    fn quadrature_converges_to_1e9_on_tanh() {
        // Against 150 nodes: 64 nodes agree to 1e-11 at q* ≈ 0.42 (σ_w² = 1.5), and 128
        // nodes to 1e-9 at q* ≈ 1.43 (σ_w² = 3, chaotic), where 64 nodes are off by 2e-5
        // in χ_q: the rule's accuracy falls as q grows (tanh(√q z) steepens).
        let exact = MeanField::with_nodes(TANH, 1.5, 0.05, MAX_NODES).fixed_point();
        let mut errors = Vec::new();
        for n in [16, 32, 64] {
            let p = MeanField::with_nodes(TANH, 1.5, 0.05, n).fixed_point();
            errors.push((p.q_star - exact.q_star).abs().max((p.chi_1 - exact.chi_1).abs()));
        }
        assert!(errors[0] > errors[1] && errors[1] > errors[2] && errors[2] < 1e-11, "{errors:?}");
        let exact = MeanField::with_nodes(TANH, 3.0, 0.05, MAX_NODES).fixed_point();
        let p = MeanField::with_nodes(TANH, 3.0, 0.05, 128).fixed_point();
        for (a, b) in [(p.q_star, exact.q_star), (p.c_star, exact.c_star), (p.chi_c, exact.chi_c)] {
            assert!((a - b).abs() < 1e-9, "{p:?} vs {exact:?}");
        }
    }

    #[test]
    fn the_warm_started_grid_equals_point_by_point() {
        let f = MeanField::new(TANH, 1.0, 0.0);
        let (sw2s, sb2s) = ([0.8, 1.5, 2.0, 3.0, 4.0], [0.0, 0.05, 0.2]);
        let grid = phase_grid(&f, &sw2s, &sb2s);
        for (j, &sb2) in sb2s.iter().enumerate() {
            for (i, &sw2) in sw2s.iter().enumerate() {
                let (a, b) = (grid[j * sw2s.len() + i], f.at(sw2, sb2).fixed_point());
                assert!((a.q_star - b.q_star).abs() < 1e-9 && (a.c_star - b.c_star).abs() < 1e-9, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn the_fast_sums_equal_the_direct_ones() {
        // The correlation map's mirrored sums (one division per pair of nodes) against φ
        // and φ' evaluated at every pair of nodes, and the length map's half-node sums
        // against the sum over every node; odd rules keep a middle node, c = ±1 and tiny
        // or large q are the edges. Within 1e-12 relative (1e-15 absolute near 0).
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs()) + 1e-15;
        for activation in [TANH, Activation::Sigmoid] {
            for n in [15, 64, MAX_NODES] {
                let f = MeanField::with_nodes(activation, 1.0, 0.0, n);
                for q in [1e-4, 0.1, 0.42, 1.5, 4.3, 20.0] {
                    let pairs = f.pairs_at(q);
                    for c in [-1.0, -0.9, 0.0, 0.3, 0.9, 0.999, 1.0] {
                        let (fast, direct) = (pairs.eval(c), pairs.direct(c));
                        assert!(
                            close(fast.0, direct.0) && close(fast.1, direct.1),
                            "{activation} n {n} q {q} c {c}: {fast:?} vs {direct:?}"
                        );
                    }
                    let r = q.sqrt();
                    let s = f.single(q);
                    let phi2 = f.gh.expect(|z| smooth(activation, r * z).0.powi(2));
                    let dphi2 = f.gh.expect(|z| smooth(activation, r * z).1.powi(2));
                    let phi_ddphi = f.gh.expect(|z| {
                        let (p, _, dd) = smooth(activation, r * z);
                        p * dd
                    });
                    for (a, b) in [(s.phi2, phi2), (s.dphi2, dphi2), (s.phi_ddphi, phi_ddphi)] {
                        assert!(close(a, b), "{activation} n {n} q {q}: single {a} vs {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn sigmoid_has_a_fixed_point() {
        let f = MeanField::with_nodes(Activation::Sigmoid, 4.0, 0.1, MAX_NODES);
        let p = f.fixed_point();
        assert!((f.length_map(p.q_star) - p.q_star).abs() < 1e-10 && p.chi_1 < 1.0, "{p:?}");
        // σ'(x) ≤ 1/4: χ_1 ≤ σ_w²/16.
        assert!(p.chi_1 <= 4.0 / 16.0 && p.c_star == 1.0, "{p:?}");
    }
}
