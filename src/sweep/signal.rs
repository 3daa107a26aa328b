//! The `signal` cell: a pair of inputs pushed through a deep random network, recording
//! each layer's length `q` (the mean squared pre-activation of the first input) and the
//! correlation `c` of the pair's pre-activations — the quantities mean-field theory
//! predicts. Forward only, no tape: each weight row is drawn and used at once (no weight
//! matrix is kept), the buffers are the width of one layer.
//!
//! Weights are `N(0, sw2 / fan_in)`, biases `N(0, sb2)`. The inputs are `x1 ~ N(0, I)`
//! and `x2 = c0·x1 + √(1 − c0²)·z` with `z ~ N(0, I)`, so they start at correlation
//! about `c0`. Randomness comes from the cell's `seed` alone (inputs on the data stream,
//! weights on the weights stream): cells that differ only in `sw2`, `sb2` or the
//! activation see the same standard normals, which makes neighbouring cells of a
//! heatmap directly comparable.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::Cell;
use crate::init::{seeded_rng, streams};
use crate::nn::Activation;

/// Per-layer signal statistics of one cell.
#[derive(Clone, Debug, PartialEq)]
pub struct SignalResult {
    /// `q` at each layer: the mean over units of the first input's squared pre-activation.
    pub q: Vec<f64>,
    /// `c` at each layer: the correlation of the two inputs' pre-activations.
    pub c: Vec<f64>,
}

impl SignalResult {
    /// The results as JSON: `q`, `c` and their last layer's values `q_last`, `c_last`
    /// (non-finite numbers as `null`).
    pub fn to_json(&self) -> serde_json::Value {
        let last = |v: &[f64]| v.last().copied().unwrap_or(f64::NAN);
        serde_json::json!({ "q": self.q, "c": self.c, "q_last": last(&self.q), "c_last": last(&self.c) })
    }
}

fn phi(a: Activation, x: f64) -> f64 {
    match a {
        Activation::Identity => x,
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu(s) => {
            if x > 0.0 {
                x
            } else {
                s * x
            }
        }
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::Tanh => x.tanh(),
    }
}

fn normal(rng: &mut impl Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Runs a `signal` cell (settings `activation`, `sw2`, `sb2`, `depth`, `width`, `c0`,
/// `seed`).
///
/// # Panics
/// If the cell lacks one of those settings or holds an invalid activation (a parsed
/// [`super::Sweep`] never does).
pub fn signal(cell: &Cell) -> SignalResult {
    let act: Activation = cell.str("activation").parse().expect("signal: activation checked when parsed");
    let (sw2, sb2, c0) = (cell.float("sw2"), cell.float("sb2"), cell.float("c0"));
    let (depth, width, seed) = (cell.int("depth") as usize, cell.int("width") as usize, cell.int("seed"));

    let mut data = seeded_rng(seed, streams::DATA);
    let mut x1: Vec<f64> = (0..width).map(|_| normal(&mut data)).collect();
    let s = (1.0 - c0 * c0).max(0.0).sqrt();
    let mut x2: Vec<f64> = x1.iter().map(|&a| c0 * a + s * normal(&mut data)).collect();
    let (mut z1, mut z2, mut row) = (vec![0.0; width], vec![0.0; width], vec![0.0; width]);

    let mut rng = seeded_rng(seed, streams::WEIGHTS);
    let (w_std, b_std) = ((sw2 / width as f64).sqrt(), sb2.sqrt());
    let (mut q, mut c) = (Vec::with_capacity(depth), Vec::with_capacity(depth));
    for layer in 0..depth {
        for (a, b) in z1.iter_mut().zip(z2.iter_mut()) {
            row.iter_mut().for_each(|w| *w = normal(&mut rng));
            let (mut d1, mut d2) = (0.0, 0.0);
            for ((w, u), v) in row.iter().zip(&x1).zip(&x2) {
                d1 += w * u;
                d2 += w * v;
            }
            (*a, *b) = (w_std * d1, w_std * d2);
        }
        for (a, b) in z1.iter_mut().zip(z2.iter_mut()) {
            let bias = b_std * normal(&mut rng);
            *a += bias;
            *b += bias;
        }
        let (mut s11, mut s22, mut s12) = (0.0, 0.0, 0.0);
        for (a, b) in z1.iter().zip(&z2) {
            s11 += a * a;
            s22 += b * b;
            s12 += a * b;
        }
        q.push(s11 / width as f64);
        c.push(s12 / (s11 * s22).sqrt());
        if layer + 1 < depth {
            for ((u, v), (a, b)) in x1.iter_mut().zip(x2.iter_mut()).zip(z1.iter().zip(&z2)) {
                (*u, *v) = (phi(act, *a), phi(act, *b));
            }
        }
    }
    SignalResult { q, c }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Sweep;

    fn cell(extra: &str) -> Cell {
        let text = format!("kind = \"signal\"\n[fixed]\n{extra}\n");
        Sweep::parse(&text, "t.toml").unwrap().cells.remove(0)
    }

    #[test]
    fn linear_network_keeps_q_near_sw2_times_input_and_c_fixed() {
        // Identity activation, sb2 = 0: q_l = sw2^l · q_0 in expectation, and a linear
        // map of two inputs keeps their correlation on average.
        let r = signal(&cell("activation = \"identity\"\nsw2 = 1.0\ndepth = 5\nwidth = 400\nc0 = 0.3"));
        assert_eq!(r.q.len(), 5);
        assert!(r.q.iter().all(|&q| (q - 1.0).abs() < 0.35), "{:?}", r.q);
        assert!(r.c.iter().all(|&c| (c - 0.3).abs() < 0.15), "{:?}", r.c);
    }

    #[test]
    fn chaotic_tanh_decorrelates_and_ordered_tanh_correlates() {
        let chaotic = signal(&cell("sw2 = 4.0\nsb2 = 0.05\ndepth = 40\nwidth = 200\nc0 = 0.9"));
        let ordered = signal(&cell("sw2 = 0.5\nsb2 = 0.05\ndepth = 40\nwidth = 200\nc0 = 0.1"));
        assert!(*chaotic.c.last().unwrap() < 0.6, "{:?}", chaotic.c);
        assert!(*ordered.c.last().unwrap() > 0.95, "{:?}", ordered.c);
    }
}
