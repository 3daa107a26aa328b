//! tapegrad: reverse-mode automatic differentiation on a tape, built to study why weight
//! initialization makes or breaks a neural network.
//!
//! Values are row-major 2-D [`Tensor`]s. Operations on [`Var`]s are recorded on a
//! [`Tape`]; [`Var::backward`] walks it once in reverse and returns [`Gradients`].
//!
//! ```
//! use tapegrad::prelude::*;
//!
//! let tape = Tape::new();
//! let x = tape.scalar(-4.0);
//! let z = 2.0 * x + 2.0 + x;
//! let q = z.relu() + z * x;
//! let h = (z * z).relu();
//! let y = h + q + q * x;
//! let grads = y.backward();
//! assert_eq!(y.value().item(), -20.0);
//! assert_eq!(grads.wrt(x).item(), 46.0);
//! ```

#![warn(missing_docs)]

pub mod csv;
pub mod data;
mod dot;
pub mod experiment;
pub mod gradcheck;
pub mod idx;
pub mod init;
pub mod io;
mod jacobian;
pub mod nn;
mod ops;
pub mod optim;
pub mod params;
pub mod plots;
pub mod snapshot;
pub mod stats;
pub mod study;
pub mod sweep;
mod tape;
mod tensor;
pub mod train;

pub use jacobian::{Jacobian, jacobian};
pub use ops::CustomOp;
pub use tape::{Anomaly, Gradients, Tape, Var};
pub use tensor::Tensor;

/// The `rand` crate this one is built on, so that a closure initializer can draw from a
/// [`init::SeededRng`] with tapegrad as its only dependency.
pub use rand;
/// The `rand_distr` crate this one is built on (`StandardNormal`, `Uniform`, ...).
pub use rand_distr;

#[doc = include_str!("../docs/guide.md")]
#[cfg(doctest)]
pub struct GuideDoctests;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The names most programs need: `use tapegrad::prelude::*;`.
pub mod prelude {
    pub use crate::data::{Dataset, Noise, make_circles, make_moons};
    pub use crate::init::{Init, Initializer, ParamShape, SeededRng, seeded_rng};
    pub use crate::nn::{Activation, BinaryLoss, Dense, Layer, Module, Sequential, Task};
    pub use crate::optim::{Adam, GradientDescent, Optimizer};
    pub use crate::params::ParamStore;
    pub use crate::train::{Evaluation, FitOptions, History, evaluate, fit, fit_with};
    pub use crate::{Gradients, Tape, Tensor, Var};
}
