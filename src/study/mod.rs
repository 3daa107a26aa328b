//! Instruments that explain what an initialization does to a network, each returning
//! plain data that the CLI prints, plots and writes as JSON:
//!
//! - [`grads`]: every parameter's gradient at initialization on the reference network,
//!   and why zero initialization leaves it exactly 0;
//! - [`diagnostics`]: a recorder for [`crate::train::fit_with`] with per-layer activation
//!   statistics, dead ReLUs, symmetric units, gradient norms and update-to-data ratios;
//! - [`depth`]: how activations and gradients grow or vanish through a deep plain
//!   network, and whether it still trains;
//! - [`theory`]: what mean-field theory predicts for a deep random network (q*, c*,
//!   χ_1, ξ_c, the order-to-chaos line), with its [`quadrature`], and [`propagation`]:
//!   the same quantities measured in random networks of finite width;
//! - [`lsuv`]: layer-sequential unit-variance initialization from a batch of data;
//! - [`spectrum`]: the singular values of a deep random network's input-output Jacobian
//!   beside the free-probability predictions;
//! - [`report`]: a self-contained HTML page holding a run's tables and figures.
//!
//! The first non-finite value of a run is found by [`crate::Tape::detect_anomaly`], and a
//! tape's graph is exported by [`crate::Tape::to_dot`].
//!
//! The tools that measure a model layer by layer (grads, diagnostics, depth, propagation,
//! LSUV) run it with [`trace`]: every layer of any [`Sequential`] is measured, those inside
//! residual blocks and layers of one's own included, as
//! [`Sequential::forward_trace`] defines them.

pub mod depth;
pub mod diagnostics;
pub mod grads;
pub mod lsuv;
pub mod propagation;
pub mod quadrature;
pub mod report;
pub mod spectrum;
pub mod theory;

use crate::init::{seeded_rng, streams};
use crate::nn::{Forward, Sequential, Trace};
use crate::params::ParamVars;
use crate::tape::Tape;
use crate::tensor::Tensor;

/// Runs `model` on `x` as training runs it, with its parameters put on `tape` as leaves
/// (then `x`, as a constant), and keeps every layer's output: batch norms use the batch's statistics
/// ([`Forward::train_frozen`]: the model's running statistics stay as they are) and dropout draws
/// its masks from `seeded_rng(0, streams::DROPOUT)`, the generator of [`crate::train::fit`]
/// with the default shuffle seed. For a model of dense layers, activations and layer
/// norms, training and evaluation are the same ops.
pub fn trace<'t, 'm>(model: &'m Sequential, tape: &'t Tape, x: &Tensor) -> (ParamVars<'t>, Trace<'t, 'm>) {
    let params = model.params.leaves(tape);
    let x = tape.constant_from(x);
    let mut rng = seeded_rng(0, streams::DROPOUT);
    let trace = model.forward_trace(x, &mut Forward::train_frozen(&params, &model.params, &mut rng));
    (params, trace)
}

/// The median of `xs` (NaN for an empty slice); NaNs sort last.
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
