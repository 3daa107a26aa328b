//! The Jacobian of a function of one tensor, by reverse mode with all the output's
//! seeds carried through one backward walk: once ([`jacobian`]), or at many inputs from
//! one recording ([`Jacobian`]).

use std::cell::Cell;

use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// The Jacobian of `f` at `x`: a `(f(x).len(), x.len())` tensor whose row `i` holds the
/// derivatives of output element `i` with respect to every input element, both
/// flattened row-major.
///
/// `f` is recorded once at `x`; then one reverse walk carries the seeds of every output
/// element together (as JAX's `jacrev` does), so each matrix product on the way back
/// is one product with many rows instead of one matrix-vector product per output. The
/// seeds are split into bands of at most 128, walked on all cores, each on its own.
/// The tape is kept for the thread's next call, so the memory of the last recording of
/// `f` stays held until then. To take the Jacobian of one `f` at many inputs, record it
/// once with [`Jacobian`].
///
/// ```
/// use tapegrad::prelude::*;
/// let x = Tensor::from_rows(&[[1.0, 2.0]]);
/// let j = tapegrad::jacobian(|v| v * v, &x);
/// assert_eq!(j, Tensor::from_rows(&[[2.0, 0.0], [0.0, 4.0]]));
/// ```
pub fn jacobian<F>(f: F, x: &Tensor) -> Tensor
where
    F: for<'t> Fn(Var<'t>) -> Var<'t>,
{
    // The tape of the last call on this thread, reset: recording `f` again (a deep
    // network's weights copied in as constants, say) then writes into warm buffers
    // instead of freshly mapped pages, which took a quarter of the time of a 50-layer,
    // 256-wide Jacobian. A call from inside `f` finds no tape kept and makes its own.
    let mut tape = KEPT.take().unwrap_or_default();
    tape.reset();
    tape.detect_anomaly(false);
    let j = {
        let input = tape.leaf_from(x);
        every_seed(f(input), input)
    };
    KEPT.set(Some(tape));
    j
}

thread_local! {
    /// The tape [`jacobian`] reuses on this thread (with the values of its last call).
    static KEPT: Cell<Option<Tape>> = const { Cell::new(None) };
}

/// The Jacobian of `output` with respect to `input`: every output element's seed in one
/// reverse walk.
fn every_seed(output: Var<'_>, input: Var<'_>) -> Tensor {
    let m = output.with_value(Tensor::len);
    let mut seeds = Tensor::zeros(m, m);
    (0..m).for_each(|i| seeds.data_mut()[i * m + i] = 1.0);
    output.vjp_many(input, seeds)
}

/// A function recorded once, whose Jacobian [`Jacobian::at`] then takes at any input of
/// the same shape, as `jax.jit(jax.jacrev(f))` does: each call replays the recorded
/// ops from the new input (the constants `f` recorded, a network's weights say, are
/// neither recorded nor copied again), then walks back as [`jacobian`] does.
///
/// As with `jit`, the ops are the ones `f` recorded at the first input: an `f` that
/// chooses its ops by the values of its input (a branch on a value) is replayed along
/// the branch it took then. Elementwise choices inside an op (ReLU, `clamp`, `max`)
/// are made anew from the input.
///
/// ```
/// use tapegrad::prelude::*;
/// use tapegrad::Jacobian;
/// let w = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]);
/// let f = Jacobian::new(|v| v.matmul(v.tape().constant_from(&w)).tanh(), &Tensor::zeros(1, 2));
/// for x in [Tensor::from_rows(&[[0.5, -1.0]]), Tensor::from_rows(&[[2.0, 0.25]])] {
///     let once = tapegrad::jacobian(|v| v.matmul(v.tape().constant_from(&w)).tanh(), &x);
///     assert_eq!(f.at(&x), once);
/// }
/// ```
pub struct Jacobian {
    tape: Tape,
    input: usize,
    output: usize,
}

impl Jacobian {
    /// Records `f` at `x`: the input's shape is fixed from here on.
    pub fn new<F>(f: F, x: &Tensor) -> Jacobian
    where
        F: for<'t> Fn(Var<'t>) -> Var<'t>,
    {
        let tape = Tape::new();
        let (input, output) = {
            let input = tape.leaf_from(x);
            (input.index(), f(input).index())
        };
        Jacobian { tape, input, output }
    }

    /// The Jacobian at `x`, a `(f(x).len(), x.len())` tensor as [`jacobian`] gives.
    ///
    /// # Panics
    /// If `x` is not shaped like the input `f` was recorded at.
    pub fn at(&self, x: &Tensor) -> Tensor {
        let (input, output) = (Var::at(&self.tape, self.input), Var::at(&self.tape, self.output));
        input.replay(x);
        every_seed(output, input)
    }
}
