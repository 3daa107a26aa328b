//! Gradient checking: compares the tape's gradients with central finite differences.

use std::fmt;

use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Step and tolerances of a gradient check. The defaults follow PyTorch's `gradcheck`
/// for `f64`: `eps = 1e-6`, `atol = 1e-5`, `rtol = 1e-3`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradcheckOptions {
    /// Finite-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance, applied to the numeric value.
    pub rtol: f64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions { eps: 1e-6, atol: 1e-5, rtol: 1e-3 }
    }
}

/// The first gradient element where the tape and finite differences disagree.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradcheckError {
    /// Which input (position in the `inputs` slice).
    pub input: usize,
    /// Row and column of the element within that input.
    pub element: (usize, usize),
    /// The gradient the tape computed.
    pub analytic: f64,
    /// The central-difference estimate.
    pub numeric: f64,
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradient mismatch for input {} at element {:?}: analytic {:e}, numeric {:e} (difference {:e})",
            self.input,
            self.element,
            self.analytic,
            self.numeric,
            (self.analytic - self.numeric).abs()
        )
    }
}

impl std::error::Error for GradcheckError {}

/// Checks the gradients of `f` at `inputs` with the default options.
///
/// `f` receives one leaf per input and returns the output. A 1x1 output is used as is;
/// a larger one is first reduced to `Σ wᵢⱼ·yᵢⱼ` with fixed, unequal weights, so that a
/// rule that mixes up elements cannot pass by symmetry.
///
/// ```
/// use tapegrad::{Tensor, gradcheck::gradcheck};
/// let a = Tensor::from_vec(2, 2, vec![0.3, -1.2, 0.7, 2.0]);
/// gradcheck(&[a], |v| (v[0] * v[0]).tanh()).unwrap();
/// ```
pub fn gradcheck<F>(inputs: &[Tensor], f: F) -> Result<(), GradcheckError>
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    gradcheck_with(inputs, GradcheckOptions::default(), f)
}

/// [`gradcheck`] with explicit step and tolerances.
pub fn gradcheck_with<F>(inputs: &[Tensor], opts: GradcheckOptions, f: F) -> Result<(), GradcheckError>
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let analytic = {
        let tape = Tape::new();
        let vars: Vec<Var<'_>> = inputs.iter().map(|t| tape.leaf_from(t)).collect();
        let grads = scalarize(f(&vars)).backward();
        vars.iter().map(|&v| grads.wrt(v).clone()).collect::<Vec<_>>()
    };
    let eval = |perturbed: &[Tensor]| {
        let tape = Tape::new();
        let vars: Vec<Var<'_>> = perturbed.iter().map(|t| tape.leaf_from(t)).collect();
        scalarize(f(&vars)).item()
    };
    let mut work = inputs.to_vec();
    for (input, grad) in analytic.iter().enumerate() {
        for e in 0..work[input].len() {
            let x = work[input].data()[e];
            work[input].data_mut()[e] = x + opts.eps;
            let up = eval(&work);
            work[input].data_mut()[e] = x - opts.eps;
            let down = eval(&work);
            work[input].data_mut()[e] = x;
            let numeric = (up - down) / (2.0 * opts.eps);
            let analytic = grad.data()[e];
            let close = (analytic - numeric).abs() <= opts.atol + opts.rtol * numeric.abs();
            if !close {
                let cols = work[input].cols();
                return Err(GradcheckError { input, element: (e / cols, e % cols), analytic, numeric });
            }
        }
    }
    Ok(())
}

/// `y` itself if 1x1, else `Σ wᵢⱼ·yᵢⱼ` with fixed weights in [0.5, 1.5).
fn scalarize(y: Var<'_>) -> Var<'_> {
    let (r, c) = y.shape();
    if (r, c) == (1, 1) {
        return y;
    }
    let weights = (0..r * c).map(|i| 0.5 + (i as f64 * 0.618_033_988_749_895).fract()).collect();
    (y * y.tape().constant(Tensor::from_vec(r, c, weights))).sum()
}
