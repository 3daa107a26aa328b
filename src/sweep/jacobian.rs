//! The `jacobian` cell: the input-output Jacobian spectrum of a random deep network, as
//! `tapegrad jacobian` computes it for one seed ([`crate::study::spectrum`]), with the
//! free-probability prediction where there is one (linear and ReLU networks).

use super::Cell;
use crate::init::Init;
use crate::nn::Activation;
use crate::study::spectrum::{self, SpectrumConfig};

/// The widest network a `jacobian` cell takes: its SVD is `O(width³)`.
pub const MAX_WIDTH: u64 = 4096;

/// What one `jacobian` cell measured, and what free probability predicts.
#[derive(Clone, Debug, PartialEq)]
pub struct JacobianResult {
    /// The mean of the eigenvalues of `JJᵀ`.
    pub eig_mean: f64,
    /// Their population variance.
    pub eig_var: f64,
    /// The predicted `(eig_mean, eig_var)`, where the theory is exact.
    pub predicted: Option<(f64, f64)>,
}

impl JacobianResult {
    /// The results as JSON: `eig_mean`, `eig_var`, and `predicted_eig_mean`,
    /// `predicted_eig_var` when there is a prediction (non-finite numbers as `null`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({ "eig_mean": self.eig_mean, "eig_var": self.eig_var });
        if let Some((mean, var)) = self.predicted {
            v["predicted_eig_mean"] = mean.into();
            v["predicted_eig_var"] = var.into();
        }
        v
    }
}

/// Runs a `jacobian` cell (settings `activation`, `init`, `depth`, `width`, `seed`).
///
/// # Panics
/// If the cell's settings were not checked by [`super::Sweep::parse`].
pub fn jacobian(cell: &Cell) -> JacobianResult {
    let activation: Activation = cell.str("activation").parse().expect("jacobian: activation checked when parsed");
    let init: Init = cell.str("init").parse().expect("jacobian: init checked when parsed");
    let config = SpectrumConfig { layers: cell.int("depth") as usize, width: cell.int("width") as usize, activation };
    let s = spectrum::spectrum(init, &config, cell.int("seed"));
    let predicted = spectrum::predict(init, &config).map(|p| (p.eig_mean, p.eig_var));
    JacobianResult { eig_mean: s.eig_mean, eig_var: s.eig_var, predicted }
}
