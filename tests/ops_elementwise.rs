//! Proves the elementwise ops beyond the reference network — `abs`, `sqrt`, `square`,
//! `clamp`, `maximum`, `minimum` — compute the right values, pass gradcheck in every
//! broadcast form, follow their stated conventions where they have no derivative
//! (`clamp`: gradient 1 inside `[lo, hi]`, bounds included, 0 outside, checked just
//! inside and just outside; `maximum`/`minimum`: a tie splits the gradient ½/½), and
//! panic with a message naming the op and the shapes.

use tapegrad::prelude::*;

mod common;
use common::{check, sample};

#[test]
fn unary_values_and_gradients() {
    let tape = Tape::new();
    let x = tape.leaf(Tensor::from_rows(&[[-3.0, -0.5, 0.25, 4.0]]));
    assert_eq!(x.abs().value().data(), &[3.0, 0.5, 0.25, 4.0]);
    assert_eq!(x.square().value().data(), &[9.0, 0.25, 0.0625, 16.0]);
    assert_eq!(x.abs().sqrt().value().data(), &[3f64.sqrt(), 0.5f64.sqrt(), 0.5, 2.0]);
    assert_eq!(x.abs().sum().backward().wrt(x).data(), &[-1.0, -1.0, 1.0, 1.0]);
    assert_eq!(x.square().sum().backward().wrt(x).data(), &[-6.0, -1.0, 0.5, 8.0]);
    let p = tape.leaf(Tensor::from_rows(&[[0.25, 4.0]]));
    // d sqrt(p)/dp = 1 / (2 sqrt(p))
    assert_eq!(p.sqrt().sum().backward().wrt(p).data(), &[1.0, 0.25]);

    let x = sample(3, 4, 1);
    check("abs", std::slice::from_ref(&x), |v| v[0].abs());
    check("square", std::slice::from_ref(&x), |v| v[0].square());
    check("sqrt", &[x.map(|v| v.abs() + 0.5)], |v| v[0].sqrt());
    check("sqrt of a sum of squares", &[x], |v| (v[0].square().sum_axis(1) + 1e-3).sqrt());
}

#[test]
fn clamp_passes_the_gradient_inside_its_bounds_and_blocks_it_outside() {
    let (lo, hi) = (-0.5, 0.7);
    let d = 1e-3;
    // Just outside, just inside, exactly on each bound.
    let x = Tensor::from_rows(&[[lo - d, lo + d, hi - d, hi + d], [lo, hi, -3.0, 3.0]]);
    let tape = Tape::new();
    let v = tape.leaf_from(&x);
    let y = v.clamp(lo, hi);
    assert_eq!(y.value().data(), &[lo, lo + d, hi - d, hi, lo, hi, lo, hi]);
    assert_eq!(y.sum().backward().wrt(v).data(), &[0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    // Finite differences with a step below `d` see the same, away from the bounds.
    let off_bounds = Tensor::from_rows(&[[lo - d, lo + d, hi - d, hi + d], [-3.0, 3.0, 0.0, 0.1]]);
    check("clamp next to its bounds", &[off_bounds], |v| v[0].clamp(lo, hi));
    check("clamp in a chain", &[sample(3, 4, 2)], |v| (v[0] * 0.5).clamp(-0.6, 0.4).tanh() * v[0]);
}

/// Every broadcast form of a binary op, both ways round.
const FORMS: [((usize, usize), (usize, usize)); 8] = [
    ((3, 4), (3, 4)),
    ((3, 4), (1, 4)),
    ((1, 4), (3, 4)),
    ((3, 4), (3, 1)),
    ((3, 1), (3, 4)),
    ((1, 1), (3, 4)),
    ((3, 4), (1, 1)),
    ((3, 1), (1, 4)),
];

#[test]
fn maximum_and_minimum_pass_gradcheck_in_every_broadcast_form() {
    for (a, b) in FORMS {
        // Seeds apart, so no two compared elements are within finite differences' step.
        let (x, y) = (sample(a.0, a.1, 2), sample(b.0, b.1, 7));
        check(&format!("maximum {a:?} with {b:?}"), &[x.clone(), y.clone()], |v| v[0].maximum(v[1]));
        check(&format!("minimum {a:?} with {b:?}"), &[x, y], |v| v[0].minimum(v[1]));
    }
}

#[test]
fn maximum_and_minimum_values_and_tie_convention() {
    let tape = Tape::new();
    let a = tape.leaf(Tensor::from_rows(&[[1.0, 2.0, 3.0], [4.0, -1.0, 0.0]]));
    let b = tape.leaf(Tensor::from_rows(&[[2.0, 2.0, 2.0]]));
    let hi = a.maximum(b);
    let lo = a.minimum(b);
    assert_eq!(hi.value().data(), &[2.0, 2.0, 3.0, 4.0, 2.0, 2.0]);
    assert_eq!(lo.value().data(), &[1.0, 2.0, 2.0, 2.0, -1.0, 0.0]);
    // At the tie (a = b = 2) each side receives half.
    let g = hi.sum().backward();
    assert_eq!(g.wrt(a).data(), &[0.0, 0.5, 1.0, 1.0, 0.0, 0.0]);
    // b's column sums: column 0 wins once, column 1 ties once and wins once, column 2 wins once.
    assert_eq!(g.wrt(b).data(), &[1.0, 0.5 + 1.0, 1.0]);
    let g = lo.sum().backward();
    assert_eq!(g.wrt(a).data(), &[1.0, 0.5, 0.0, 0.0, 1.0, 1.0]);
    assert_eq!(g.wrt(b).data(), &[1.0, 0.5, 1.0]);
    // A node against itself: every element ties, and the halves add back to 1.
    let x = tape.leaf(Tensor::from_rows(&[[1.5, -2.0]]));
    assert_eq!(x.maximum(x).sum().backward().wrt(x).data(), &[1.0, 1.0]);
}

#[test]
#[should_panic(expected = "maximum: shapes 2x3 and 3x2 do not broadcast")]
fn maximum_names_the_op_and_the_shapes() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(2, 3)).maximum(tape.leaf(Tensor::zeros(3, 2)));
}

#[test]
#[should_panic(expected = "minimum: shapes 4x1 and 2x3 do not broadcast")]
fn minimum_names_the_op_and_the_shapes() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(4, 1)).minimum(tape.leaf(Tensor::zeros(2, 3)));
}

#[test]
#[should_panic(expected = "clamp: the lower bound 1 is not at most the upper bound -1")]
fn clamp_rejects_crossed_bounds() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(2, 3)).clamp(1.0, -1.0);
}
