//! Proves the ops that work along an axis — `sum_axis`, `mean_axis`, `max_axis`,
//! `var_axis`, the softmax family (`softmax`, `log_softmax`, `logsumexp`) and
//! `cross_entropy` on class labels — compute NumPy's values (checked against numbers
//! worked out by hand), pass gradcheck along both axes, send `max_axis`'s gradient to the
//! first maximal element at a tie, stay finite in value and gradient at logits of ±1000
//! (and pass gradcheck there), and panic with a message naming the op and the shapes.

use tapegrad::prelude::*;

mod common;
use common::check;

fn close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "element {i}: {g} vs {w} (all: {got:?})");
    }
}

/// Distinct values in about (-2, 2), no two within 0.05 of each other.
fn sample(rows: usize, cols: usize, seed: u64) -> Tensor {
    let n = rows * cols;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (i as u64 * 7 + seed * 3) % n as u64);
    let data = order.iter().map(|&k| -1.9 + 3.8 * k as f64 / n as f64 + 0.01 * seed as f64).collect();
    Tensor::from_vec(rows, cols, data)
}

fn value(x: &Tensor, f: impl for<'t> Fn(Var<'t>) -> Var<'t>) -> Tensor {
    let tape = Tape::new();
    f(tape.constant_from(x)).value()
}

fn grad_of_sum(x: &Tensor, f: impl for<'t> Fn(Var<'t>) -> Var<'t>) -> Tensor {
    let tape = Tape::new();
    let v = tape.leaf_from(x);
    f(v).sum().backward().wrt(v).clone()
}

#[test]
fn reductions_match_numpy_along_both_axes() {
    let x = Tensor::from_rows(&[[1.0, 2.0, 3.0], [4.0, 6.0, 5.0]]);
    assert_eq!(value(&x, |v| v.sum_axis(0)), Tensor::from_rows(&[[5.0, 8.0, 8.0]]));
    assert_eq!(value(&x, |v| v.sum_axis(1)), Tensor::from_rows(&[[6.0], [15.0]]));
    assert_eq!(value(&x, |v| v.mean_axis(0)), Tensor::from_rows(&[[2.5, 4.0, 4.0]]));
    assert_eq!(value(&x, |v| v.mean_axis(1)), Tensor::from_rows(&[[2.0], [5.0]]));
    assert_eq!(value(&x, |v| v.max_axis(0)), Tensor::from_rows(&[[4.0, 6.0, 5.0]]));
    assert_eq!(value(&x, |v| v.max_axis(1)), Tensor::from_rows(&[[3.0], [6.0]]));
    // np.var(x, axis=0) = [2.25, 4, 1]; np.var(x, axis=1) = [2/3, 2/3] (divides by n).
    close(value(&x, |v| v.var_axis(0)).data(), &[2.25, 4.0, 1.0], 1e-15);
    let by_row = value(&x, |v| v.var_axis(1));
    assert_eq!(by_row.shape(), (2, 1));
    close(by_row.data(), &[2.0 / 3.0, 2.0 / 3.0], 1e-15);
}

#[test]
fn reductions_pass_gradcheck_along_both_axes() {
    for axis in [0, 1] {
        for (r, c) in [(3, 4), (1, 4), (4, 1), (1, 1)] {
            let x = sample(r, c, 1);
            let at = format!("axis {axis}, {r}x{c}");
            check(&format!("sum_axis {at}"), std::slice::from_ref(&x), |v| v[0].sum_axis(axis));
            check(&format!("mean_axis {at}"), std::slice::from_ref(&x), |v| v[0].mean_axis(axis));
            check(&format!("max_axis {at}"), std::slice::from_ref(&x), |v| v[0].max_axis(axis));
            check(&format!("var_axis {at}"), std::slice::from_ref(&x), |v| v[0].var_axis(axis));
            // Composed, so the incoming gradient is not all ones.
            check(&format!("var_axis feeding tanh {at}"), std::slice::from_ref(&x), |v| {
                (v[0].var_axis(axis) * v[0]).tanh()
            });
        }
    }
}

#[test]
fn max_axis_gives_the_gradient_to_the_first_maximal_element_at_a_tie() {
    // Row 0 ties at columns 1 and 2; row 1 at columns 0 and 1.
    let x = Tensor::from_rows(&[[2.0, 5.0, 5.0], [7.0, 7.0, 1.0]]);
    assert_eq!(value(&x, |v| v.max_axis(1)), Tensor::from_rows(&[[5.0], [7.0]]));
    assert_eq!(grad_of_sum(&x, |v| v.max_axis(1)), Tensor::from_rows(&[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]));
    // Along the rows: column 0 ties at rows 0 and 2, column 1 at all three rows.
    let y = Tensor::from_rows(&[[3.0, 1.0], [2.0, 1.0], [3.0, 1.0]]);
    assert_eq!(grad_of_sum(&y, |v| v.max_axis(0)), Tensor::from_rows(&[[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]));
    // A seed other than ones is routed the same way.
    let tape = Tape::new();
    let v = tape.leaf_from(&x);
    let grads = v.max_axis(1).backward_with(&Tensor::from_rows(&[[3.0], [-2.0]]));
    assert_eq!(grads.wrt(v), &Tensor::from_rows(&[[0.0, 3.0, 0.0], [-2.0, 0.0, 0.0]]));
    // Finite differences agree once the tie is broken by more than their step.
    let broken = Tensor::from_rows(&[[2.0, 5.0 + 1e-3, 5.0], [7.0, 7.0 - 1e-3, 1.0]]);
    check("max_axis next to a tie", &[broken], |v| v[0].max_axis(1));
}

#[test]
fn softmax_family_matches_hand_computed_values() {
    let (l2, l3) = (2f64.ln(), 3f64.ln());
    let x = Tensor::from_rows(&[[0.0, l2, l3], [1.0, 1.0, 1.0]]);
    close(
        value(&x, |v| v.softmax(1)).data(),
        &[1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0],
        1e-15,
    );
    let lse = value(&x, |v| v.logsumexp(1));
    assert_eq!(lse.shape(), (2, 1), "logsumexp keeps the axis as length 1");
    close(lse.data(), &[6f64.ln(), 1.0 + l3], 1e-15);
    close(value(&x, |v| v.log_softmax(1)).data(), &[-6f64.ln(), l2 - 6f64.ln(), l3 - 6f64.ln(), -l3, -l3, -l3], 1e-15);
    // Along axis 0 each column is normalized: columns [0, 1], [ln 2, 1], [ln 3, 1].
    let s0 = value(&x, |v| v.softmax(0));
    assert_eq!(s0.shape(), (2, 3));
    let e = std::f64::consts::E;
    close(
        s0.data(),
        &[1.0 / (1.0 + e), 2.0 / (2.0 + e), 3.0 / (3.0 + e), e / (1.0 + e), e / (2.0 + e), e / (3.0 + e)],
        1e-15,
    );
    assert_eq!(value(&x, |v| v.logsumexp(0)).shape(), (1, 3));
    // log_softmax is ln(softmax), and logsumexp is x - log_softmax.
    let y = sample(3, 4, 2);
    for axis in [0, 1] {
        let ls = value(&y, |v| v.log_softmax(axis));
        let lns = value(&y, |v| v.softmax(axis).ln());
        close(ls.data(), lns.data(), 1e-14);
    }
}

#[test]
fn softmax_family_passes_gradcheck_along_both_axes() {
    for axis in [0, 1] {
        for (r, c) in [(3, 4), (1, 4), (4, 1), (1, 1)] {
            let x = sample(r, c, 3);
            let at = format!("axis {axis}, {r}x{c}");
            check(&format!("softmax {at}"), std::slice::from_ref(&x), |v| v[0].softmax(axis));
            check(&format!("log_softmax {at}"), std::slice::from_ref(&x), |v| v[0].log_softmax(axis));
            check(&format!("logsumexp {at}"), std::slice::from_ref(&x), |v| v[0].logsumexp(axis));
            check(&format!("logsumexp broadcast back {at}"), std::slice::from_ref(&x), |v| v[0] - v[0].logsumexp(axis));
        }
    }
}

/// Logits of ±1000 (and 999, so that no row is a plain tie).
fn huge() -> Tensor {
    Tensor::from_rows(&[[1000.0, -1000.0, 999.0], [-1000.0, -1000.0, -999.0]])
}

#[test]
fn softmax_family_is_finite_at_logits_of_plus_minus_1000() {
    let x = huge();
    let a = (-1f64).exp();
    let p = value(&x, |v| v.softmax(1));
    let want = [1.0 / (1.0 + a), 0.0, a / (1.0 + a), a / (1.0 + 2.0 * a), a / (1.0 + 2.0 * a), 1.0 / (1.0 + 2.0 * a)];
    close(p.data(), &want, 1e-15);
    // A tie at 1000 is exactly one half each (e^(x - logsumexp) gave 0.5 + 2.75e-14).
    assert_eq!(value(&Tensor::from_rows(&[[1000.0, 1000.0]]), |v| v.softmax(1)).data(), &[0.5, 0.5]);
    let l1 = (1.0 + a).ln();
    let l2 = (1.0 + 2.0 * a).ln();
    close(value(&x, |v| v.logsumexp(1)).data(), &[1000.0 + l1, -999.0 + l2], 1e-15);
    close(value(&x, |v| v.log_softmax(1)).data(), &[-l1, -2000.0 - l1, -1.0 - l1, -1.0 - l2, -1.0 - l2, -l2], 1e-15);
    for axis in [0, 1] {
        for (name, f) in [
            ("softmax", (|v: Var<'_>, a| v.softmax(a)) as for<'t> fn(Var<'t>, usize) -> Var<'t>),
            ("log_softmax", |v, a| v.log_softmax(a)),
            ("logsumexp", |v, a| v.logsumexp(a)),
        ] {
            let tape = Tape::new();
            let v = tape.leaf_from(&x);
            let y = f(v, axis);
            assert!(y.value().is_finite(), "{name} along {axis}: {:?}", y.value());
            let seed = Tensor::from_vec(
                y.shape().0,
                y.shape().1,
                (0..y.with_value(Tensor::len)).map(|i| 1.0 + i as f64).collect(),
            );
            assert!(y.backward_with(&seed).wrt(v).is_finite(), "{name} along {axis}: non-finite gradient");
            check(&format!("{name} along {axis} at ±1000"), std::slice::from_ref(&x), |v| f(v[0], axis));
        }
    }
    check("cross_entropy at ±1000", std::slice::from_ref(&x), |v| v[0].cross_entropy(&[1, 2]));
}

#[test]
fn cross_entropy_on_labels_matches_hand_computed_values_and_gradients() {
    let z = Tensor::from_rows(&[[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]]);
    let tape = Tape::new();
    let v = tape.leaf_from(&z);
    let loss = v.cross_entropy(&[1, 2]);
    // Row 0: logsumexp = 1000, so -log p[1] = 2000. Row 1: logsumexp = 1000 + ln 2, so
    // -log p[2] = ln 2. The mean of the two.
    close(&[loss.item()], &[(2000.0 + 2f64.ln()) / 2.0], 1e-15);
    // (softmax - one_hot) / rows. The loss's rule computes the probabilities as
    // e^(x - logsumexp): at |x| = 1000 that difference carries the rounding of a number
    // near 1000 (ulp ≈ 1.1e-13), hence 1e-12 here.
    close(loss.backward().wrt(v).data(), &[0.5, -0.5, 0.0, 0.0, 0.25, -0.25], 1e-12);
    // Agrees with softmax_cross_entropy on the one-hot targets.
    let x = sample(4, 3, 4);
    let labels = [2, 0, 1, 2];
    let one_hot = Tensor::from_vec(4, 3, (0..12).map(|i| (labels[i / 3] == i % 3) as u8 as f64).collect());
    let a = value(&x, |v| v.cross_entropy(&labels)).item();
    let b = value(&x, |v| v.softmax_cross_entropy(&one_hot)).item();
    close(&[a], &[b], 1e-15);
    check("cross_entropy", std::slice::from_ref(&x), |v| v[0].cross_entropy(&labels));
    check("cross_entropy of one class", &[sample(3, 1, 5)], |v| v[0].cross_entropy(&[0, 0, 0]));
    check("cross_entropy after a product", &[x, sample(3, 5, 6)], |v| v[0].matmul(v[1]).cross_entropy(&[4, 0, 1, 3]));
}

#[test]
#[should_panic(expected = "cross_entropy: row 1 has label 3, but there are only 3 classes")]
fn cross_entropy_names_the_row_the_label_and_the_class_count() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(2, 3)).cross_entropy(&[0, 3]);
}

#[test]
#[should_panic(expected = "cross_entropy: 3 labels for 2 rows of logits")]
fn cross_entropy_wants_one_label_per_row() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(2, 3)).cross_entropy(&[0, 1, 2]);
}

#[test]
#[should_panic(expected = "sum_axis: axis 2 does not exist")]
fn a_reduction_along_a_third_axis_names_the_op() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(2, 3)).sum_axis(2);
}

#[test]
#[should_panic(expected = "log_softmax: axis 5 does not exist")]
fn a_softmax_along_a_third_axis_names_the_op() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(2, 3)).log_softmax(5);
}
