//! The elementwise kernels take different loops for different operand shapes (one long
//! loop when no operand is repeated along a single axis, one loop per row otherwise).
//! This checks every pairing of `(r,c)`, `(1,c)`, `(r,1)` and `(1,1)` for each binary op:
//! values against a direct per-element evaluation, gradients by finite differences.

use tapegrad::gradcheck::gradcheck;
use tapegrad::{Tape, Tensor, Var};

fn tensor(r: usize, c: usize, seed: f64) -> Tensor {
    // Values in [0.5, 1.5) keep division well away from zero.
    Tensor::from_vec(r, c, (0..r * c).map(|i| 0.5 + ((i as f64 + seed) * 0.618_034).fract()).collect())
}

fn apply<'t>(k: usize, v: &[Var<'t>]) -> Var<'t> {
    match k {
        0 => v[0] + v[1],
        1 => v[0] - v[1],
        2 => v[0] * v[1],
        _ => v[0] / v[1],
    }
}

fn direct(k: usize, a: f64, b: f64) -> f64 {
    [a + b, a - b, a * b, a / b][k]
}

#[test]
fn every_broadcast_pairing_matches_the_definition_and_finite_differences() {
    let shapes = [(3, 4), (1, 4), (3, 1), (1, 1)];
    for (k, name) in ["add", "sub", "mul", "div"].into_iter().enumerate() {
        for &sa in &shapes {
            for &sb in &shapes {
                let (a, b) = (tensor(sa.0, sa.1, 0.1), tensor(sb.0, sb.1, 0.7));
                let (r, c) = (sa.0.max(sb.0), sa.1.max(sb.1));
                let tape = Tape::new();
                let y = apply(k, &[tape.leaf_from(&a), tape.leaf_from(&b)]).value();
                assert_eq!(y.shape(), (r, c), "{name} {sa:?} {sb:?}");
                for i in 0..r {
                    for j in 0..c {
                        let at = |t: &Tensor| t.get(i.min(t.rows() - 1), j.min(t.cols() - 1));
                        assert_eq!(y.get(i, j), direct(k, at(&a), at(&b)), "{name} {sa:?} {sb:?} at ({i},{j})");
                    }
                }
                gradcheck(&[a, b], |v| apply(k, v)).unwrap_or_else(|e| panic!("{name} {sa:?} {sb:?}: {e}"));
            }
        }
    }
}
