//! What several test files share: the fixed test values, the gradient check that names
//! the case it failed on, and a layer of one's own. Each test file that needs them says `mod common;`.
#![allow(dead_code)] // each test file uses its own part

use tapegrad::gradcheck::gradcheck;
use tapegrad::nn::Forward;
use tapegrad::prelude::*;

/// A `rows x cols` tensor of fixed, unequal values in about (-2, 2), none within 0.1
/// of zero (so relu-like kinks and divisions stay far away). `seed` varies the values.
pub fn sample(rows: usize, cols: usize, seed: u64) -> Tensor {
    let data = (0..rows * cols)
        .map(|i| {
            let v = 1.9 * ((i as f64 + 1.0) * 1.37 + seed as f64 * 2.71).sin();
            if v.abs() < 0.1 { v + 0.3 * v.signum() } else { v }
        })
        .collect();
    Tensor::from_vec(rows, cols, data)
}

/// Like [`sample`], but every value in (0.5, 2.5): for ops defined on positive numbers.
pub fn positive(rows: usize, cols: usize, seed: u64) -> Tensor {
    sample(rows, cols, seed).map(|v| 1.5 + v / 1.9)
}

/// Checks `f`'s gradient at `inputs` by central finite differences; a failure names `what`.
pub fn check(what: &str, inputs: &[Tensor], f: impl for<'t> Fn(&[Var<'t>]) -> Var<'t>) {
    if let Err(e) = gradcheck(inputs, f) {
        panic!("{what}: {e}");
    }
}

/// GELU written from ops (the tanh approximation) times a learnable scale per feature
/// (the parameter at store position `scale`): a layer of one's own.
#[derive(Clone, Debug)]
pub struct ScaledGelu {
    /// The store position of the scale, shape (1, features).
    pub scale: usize,
}

impl Module for ScaledGelu {
    fn forward<'t>(&self, x: Var<'t>, f: &mut Forward<'t, '_>) -> Var<'t> {
        let c = (2.0 / std::f64::consts::PI).sqrt();
        let gelu = 0.5 * x * (1.0 + (c * (x + 0.044715 * x.powf(3.0))).tanh());
        gelu * f.params[self.scale]
    }

    fn clone_box(&self) -> Box<dyn Module> {
        Box::new(self.clone())
    }
}
