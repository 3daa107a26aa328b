//! Proves the ops that move values — `slice_rows`, `slice_cols`, `Var::concat`,
//! `gather_rows`, `reshape`, `detach` — put every element where NumPy would, route the
//! gradient back to where each value came from (gradcheck, and exact gradients for the
//! awkward cases: a node concatenated with itself along both axes, rows gathered several
//! times or never, a node used both detached and undetached), and panic with a message
//! naming the op and the shapes.

use tapegrad::prelude::*;

mod common;
use common::{check, sample};

/// 1 2 3 / 4 5 6 / 7 8 9 / 10 11 12
fn counting() -> Tensor {
    Tensor::from_vec(4, 3, (1..=12).map(f64::from).collect())
}

#[test]
fn slices_take_the_rows_and_columns_asked_for() {
    let tape = Tape::new();
    let x = tape.leaf(counting());
    assert_eq!(x.slice_rows(1..3).value(), Tensor::from_rows(&[[4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]));
    assert_eq!(x.slice_cols(1..3).value(), Tensor::from_rows(&[[2.0, 3.0], [5.0, 6.0], [8.0, 9.0], [11.0, 12.0]]));
    assert_eq!(x.slice_cols(2..2).value().shape(), (4, 0));
    let g = x.slice_cols(0..2).slice_rows(3..4).sum().backward();
    assert_eq!(g.wrt(x).data(), &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
    let x = sample(4, 3, 1);
    check("slice_rows", std::slice::from_ref(&x), |v| v[0].slice_rows(1..3));
    check("slice_cols", std::slice::from_ref(&x), |v| v[0].slice_cols(2..3));
    check("overlapping slices", &[x], |v| v[0].slice_rows(0..3) * v[0].slice_rows(1..4));
}

#[test]
fn concat_joins_like_numpy_and_splits_the_gradient_back() {
    let tape = Tape::new();
    let a = tape.leaf(Tensor::from_rows(&[[1.0, 2.0]]));
    let b = tape.leaf(Tensor::from_rows(&[[3.0, 4.0], [5.0, 6.0]]));
    let rows = Var::concat(&[a, b], 0);
    assert_eq!(rows.value(), Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]));
    let cols = Var::concat(&[b, b.slice_cols(0..1), b], 1);
    assert_eq!(cols.value(), Tensor::from_rows(&[[3.0, 4.0, 3.0, 3.0, 4.0], [5.0, 6.0, 5.0, 5.0, 6.0]]));
    let before = tape.len();
    let _ = Var::concat(&[a, a, a, a], 0);
    assert_eq!(tape.len() - before, 3, "four parts are three pairwise joins");
    assert_eq!(Var::concat(&[a], 1).index(), a.index(), "one part is itself");

    check("concat along 0", &[sample(2, 3, 1), sample(1, 3, 2), sample(3, 3, 3)], |v| {
        Var::concat(&[v[0], v[1], v[2]], 0)
    });
    check("concat along 1", &[sample(2, 1, 1), sample(2, 3, 2)], |v| Var::concat(&[v[0], v[1]], 1));
}

#[test]
fn a_node_concatenated_with_itself_gets_the_sum_of_its_blocks() {
    for axis in [0, 1] {
        let x = sample(2, 3, 4);
        let tape = Tape::new();
        let v = tape.leaf_from(&x);
        let y = Var::concat(&[v, v * 2.0, v], axis);
        // 1 + 2 + 1 per element, whatever the axis.
        assert_eq!(y.sum().backward().wrt(v), &Tensor::full(2, 3, 4.0), "axis {axis}");
        // A seed that differs per block: each block's part comes back to the same element.
        let seed = Tensor::from_vec(y.shape().0, y.shape().1, (0..18).map(f64::from).collect());
        let g = y.backward_with(&seed);
        let block = |k: usize, i: usize| match axis {
            0 => (k * 6 + i) as f64,
            _ => ((i / 3) * 9 + k * 3 + i % 3) as f64,
        };
        let want: Vec<f64> = (0..6).map(|i| block(0, i) + 2.0 * block(1, i) + block(2, i)).collect();
        assert_eq!(g.wrt(v).data(), &want[..], "axis {axis}");
        check(&format!("concat of a node with itself along {axis}"), &[x], |v| Var::concat(&[v[0], v[0]], axis).tanh());
    }
}

#[test]
fn gather_rows_accumulates_repeated_rows_and_zeros_unused_ones() {
    let tape = Tape::new();
    let table = tape.leaf(counting());
    let picked = table.gather_rows(&[3, 1, 3, 3]);
    assert_eq!(
        picked.value(),
        Tensor::from_rows(&[[10.0, 11.0, 12.0], [4.0, 5.0, 6.0], [10.0, 11.0, 12.0], [10.0, 11.0, 12.0]])
    );
    let seed = Tensor::from_vec(4, 3, (1..=12).map(f64::from).collect());
    let g = picked.backward_with(&seed);
    // Row 3 gathered three times (seed rows 0, 2, 3), row 1 once, rows 0 and 2 never.
    let want = [0.0, 0.0, 0.0, 4.0, 5.0, 6.0, 0.0, 0.0, 0.0, 1.0 + 7.0 + 10.0, 2.0 + 8.0 + 11.0, 3.0 + 9.0 + 12.0];
    assert_eq!(g.wrt(table).data(), &want);
    assert_eq!(table.gather_rows(&[]).value().shape(), (0, 3));
    check("gather_rows repeated and unused", &[sample(4, 3, 5)], |v| v[0].gather_rows(&[3, 1, 3, 3]));
    check("gather_rows then a product", &[sample(5, 2, 6), sample(2, 3, 7)], |v| {
        v[0].gather_rows(&[4, 4, 0, 2]).matmul(v[1]).tanh()
    });
}

#[test]
fn reshape_keeps_row_major_order() {
    let tape = Tape::new();
    let x = tape.leaf(counting());
    let y = x.reshape(2, 6);
    assert_eq!(y.value(), Tensor::from_vec(2, 6, (1..=12).map(f64::from).collect()));
    let seed = Tensor::from_vec(2, 6, (0..12).map(|i| i as f64 * 0.5).collect());
    assert_eq!(y.backward_with(&seed).wrt(x), &Tensor::from_vec(4, 3, seed.data().to_vec()));
    check("reshape", &[sample(4, 3, 8)], |v| v[0].reshape(6, 2).matmul(v[0].reshape(2, 6)));
}

/// `x·detach(x) + detach(x)·tanh(x)` with the detached value a constant of the same value.
fn detached<'t>(x: Var<'t>, d: Var<'t>) -> Var<'t> {
    (x * d + d.exp() * x.tanh()).sum()
}

#[test]
fn detach_acts_as_a_constant_of_the_same_value() {
    let x = sample(2, 3, 9);
    let tape = Tape::new();
    let v = tape.leaf_from(&x);
    let through_detach = detached(v, v.detach()).backward().wrt(v).clone();
    let through_constant = detached(v, tape.constant_from(&x)).backward().wrt(v).clone();
    assert_eq!(through_detach, through_constant);
    // By hand: d/dx [x·c + e^c·tanh x] = c + e^c·(1 - tanh² x), at c = x.
    let want = x.map(|x| x + x.exp() * (1.0 - x.tanh().powi(2)));
    for (g, w) in through_detach.data().iter().zip(want.data()) {
        assert!((g - w).abs() < 1e-12, "{g} vs {w}");
    }
    // Undetached, the same graph's gradient differs: detach really cut the path.
    let undetached = detached(v, v).backward().wrt(v).clone();
    assert!(undetached.data().iter().zip(through_detach.data()).all(|(a, b)| (a - b).abs() > 1e-3));
    // Finite differences of the constant form (the detached value held at x).
    check("detach as a constant", std::slice::from_ref(&x), |v| detached(v[0], v[0].tape().constant_from(&x)));
    // A detached node's value is the node's value, and nothing computed only from it
    // takes a gradient.
    assert_eq!(v.detach().value(), x);
    let only = (v.detach() * 3.0).sum();
    let g = (only + v.sum()).backward();
    assert_eq!(g.wrt(v), &Tensor::full(2, 3, 1.0));
}

#[test]
#[should_panic(expected = "slice_rows: range 1..5 is outside the rows of a 3x2 tensor")]
fn slice_rows_names_the_range_and_the_shape() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(3, 2)).slice_rows(1..5);
}

#[test]
#[should_panic(expected = "slice_cols: range 2..3 is outside the columns of a 3x2 tensor")]
fn slice_cols_names_the_range_and_the_shape() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(3, 2)).slice_cols(2..3);
}

#[test]
#[should_panic(expected = "concat: 2x3 and 2x2 cannot be joined along axis 0 (columns must match)")]
fn concat_names_both_shapes_and_the_axis() {
    let tape = Tape::new();
    let _ = Var::concat(&[tape.leaf(Tensor::zeros(2, 3)), tape.leaf(Tensor::zeros(2, 2))], 0);
}

#[test]
#[should_panic(expected = "concat: 2x3 and 3x3 cannot be joined along axis 1 (rows must match)")]
fn concat_along_columns_wants_equal_rows() {
    let tape = Tape::new();
    let _ = Var::concat(&[tape.leaf(Tensor::zeros(2, 3)), tape.leaf(Tensor::zeros(3, 3))], 1);
}

#[test]
#[should_panic(expected = "gather_rows: index 5 (position 1) is outside the 3 rows of a 3x2 tensor")]
fn gather_rows_names_the_index_and_the_shape() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(3, 2)).gather_rows(&[0, 5]);
}

#[test]
#[should_panic(expected = "reshape: a 2x3 tensor (6 elements) cannot be viewed as 4x2")]
fn reshape_names_both_shapes() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(2, 3)).reshape(4, 2);
}
