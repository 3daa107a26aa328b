//! The Jacobian of a function of one tensor, by reverse mode with all the output's
//! seeds carried through one backward walk.

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
/// seeds are split into one band per core, each walked on its own.
/// The tape is kept for the thread's next call, so the memory of the last recording of
/// `f` stays held until then.
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
        let output = f(input);
        let m = output.with_value(Tensor::len);
        let mut seeds = Tensor::zeros(m, m);
        (0..m).for_each(|i| seeds.data_mut()[i * m + i] = 1.0);
        output.vjp_many(input, seeds)
    };
    KEPT.set(Some(tape));
    j
}

thread_local! {
    /// The tape [`jacobian`] reuses on this thread (with the values of its last call).
    static KEPT: Cell<Option<Tape>> = const { Cell::new(None) };
}
