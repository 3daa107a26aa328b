//! Proves that misuse fails loudly and says why: shape mismatches in matmul, the
//! broadcasting operators and every loss panic with the op's name and both shapes; Vars
//! of two tapes cannot be combined; constants have no gradient; `item` and `from_vec`
//! check their shapes. And that non-finite values follow IEEE arithmetic (NaN, not a
//! panic), with `Tape::detect_anomaly` naming the op and node where the first one
//! appeared, in a value or in a gradient.

use tapegrad::Anomaly;
use tapegrad::prelude::*;

// ---- shape mismatches -------------------------------------------------------------

#[test]
#[should_panic(expected = "matmul: shape mismatch: left is 2x3, right is 4x5")]
fn matmul_shape_mismatch() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(2, 3)).matmul(tape.leaf(Tensor::zeros(4, 5)));
}

#[test]
#[should_panic(expected = "add: shapes 2x3 and 3x2 do not broadcast")]
fn add_shape_mismatch() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(2, 3)) + tape.leaf(Tensor::zeros(3, 2));
}

#[test]
#[should_panic(expected = "sub: shapes 4x1 and 2x1 do not broadcast")]
fn sub_shape_mismatch() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(4, 1)) - tape.leaf(Tensor::zeros(2, 1));
}

#[test]
#[should_panic(expected = "mul: shapes 1x3 and 1x2 do not broadcast")]
fn mul_shape_mismatch() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(1, 3)) * tape.leaf(Tensor::zeros(1, 2));
}

#[test]
#[should_panic(expected = "div: shapes 2x2 and 3x3 do not broadcast")]
fn div_shape_mismatch() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(2, 2)) / tape.leaf(Tensor::full(3, 3, 1.0));
}

#[test]
#[should_panic(expected = "bce_with_logits: predictions are 4x1 but targets are 1x4")]
fn bce_with_logits_target_shape() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(4, 1)).bce_with_logits(&Tensor::zeros(1, 4));
}

#[test]
#[should_panic(expected = "binary_cross_entropy: predictions are 4x1 but targets are 3x1")]
fn binary_cross_entropy_target_shape() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::full(4, 1, 0.5)).binary_cross_entropy(&Tensor::zeros(3, 1), 1e-7);
}

#[test]
#[should_panic(expected = "mse: predictions are 2x3 but targets are 3x2")]
fn mse_target_shape() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(2, 3)).mse(&Tensor::zeros(3, 2));
}

#[test]
#[should_panic(expected = "softmax_cross_entropy: predictions are 5x3 but targets are 5x1")]
fn softmax_cross_entropy_target_shape() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(5, 3)).softmax_cross_entropy(&Tensor::zeros(5, 1));
}

// ---- tapes, constants, tensors ----------------------------------------------------

#[test]
#[should_panic(expected = "add: an operand belongs to another tape")]
fn vars_of_two_tapes_cannot_be_added() {
    let (one, two) = (Tape::new(), Tape::new());
    let _ = one.scalar(1.0) + two.scalar(2.0);
}

#[test]
#[should_panic(expected = "affine: the bias is 2x3 but the product is 4x3 (the bias must be 1x3)")]
fn affine_bias_must_be_one_row() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(4, 2)).affine(tape.leaf(Tensor::zeros(2, 3)), tape.leaf(Tensor::zeros(2, 3)));
}

#[test]
#[should_panic(expected = "affine: shape mismatch: left is 4x2, right is 3x3")]
fn affine_shape_mismatch() {
    let tape = Tape::new();
    let _ = tape.leaf(Tensor::zeros(4, 2)).affine(tape.leaf(Tensor::zeros(3, 3)), tape.leaf(Tensor::zeros(1, 3)));
}

#[test]
#[should_panic(expected = "matmul: an operand belongs to another tape")]
fn vars_of_two_tapes_cannot_be_multiplied() {
    let (one, two) = (Tape::new(), Tape::new());
    let _ = one.leaf(Tensor::zeros(2, 2)).matmul(two.leaf(Tensor::zeros(2, 2)));
}

#[test]
#[should_panic(expected = "Gradients::wrt: the Var belongs to another tape")]
fn wrt_a_var_of_another_tape() {
    let (one, two) = (Tape::new(), Tape::new());
    let x = one.scalar(1.0);
    let other = two.scalar(1.0);
    let grads = (x * x).backward();
    let _ = grads.wrt(other);
}

#[test]
#[should_panic(expected = "Gradients::wrt: node 1 has no gradient (it is a constant or computed from constants only)")]
fn wrt_a_constant() {
    let tape = Tape::new();
    let x = tape.scalar(2.0);
    let c = tape.constant(Tensor::scalar(3.0));
    let grads = (x * c).backward();
    assert_eq!(grads.wrt(x).item(), 3.0);
    let _ = grads.wrt(c);
}

#[test]
#[should_panic(expected = "Gradients::wrt: node 3 has no gradient (it is a constant or computed from constants only)")]
fn wrt_a_node_of_constants() {
    let tape = Tape::new();
    let x = tape.scalar(2.0);
    let c = tape.constant(Tensor::scalar(3.0));
    let c2 = c * 2.0;
    let grads = (x * c2).backward();
    assert_eq!(grads.wrt(x).item(), 6.0);
    let _ = grads.wrt(c2);
}

#[test]
#[should_panic(expected = "Gradients::wrt: node 2 was recorded after backward ran")]
fn wrt_a_node_recorded_after_backward() {
    let tape = Tape::new();
    let x = tape.scalar(2.0);
    let grads = (x * x).backward();
    let later = x + x;
    let _ = grads.wrt(later);
}

#[test]
#[should_panic(expected = "Tensor::item: expected a 1x1 tensor, got 2x3")]
fn item_of_a_matrix() {
    Tensor::zeros(2, 3).item();
}

#[test]
#[should_panic(expected = "Tensor::item: expected a 1x1 tensor, got 1x2")]
fn item_of_a_var_that_is_not_1x1() {
    let tape = Tape::new();
    tape.leaf(Tensor::zeros(1, 2)).item();
}

#[test]
#[should_panic(expected = "Tensor::from_vec: shape 3x2 needs 6 values, got 7")]
fn from_vec_wrong_length() {
    Tensor::from_vec(3, 2, vec![0.0; 7]);
}

// ---- non-finite values ------------------------------------------------------------

#[test]
fn ln_of_a_negative_is_nan_not_a_panic() {
    let tape = Tape::new();
    let x = tape.scalar(-1.0);
    let y = x.ln();
    assert!(y.item().is_nan());
    // d/dx ln x = 1/x is still defined there.
    assert_eq!(y.backward().wrt(x).item(), -1.0);
    // Checking is off by default, so nothing is recorded.
    assert_eq!(tape.anomaly(), None);
}

#[test]
fn detect_anomaly_names_the_op_and_node_of_the_first_nan() {
    let mut tape = Tape::new();
    tape.detect_anomaly(true);
    let x = tape.scalar(-1.0);
    let s = x * 2.0 + 1.0;
    assert_eq!(tape.anomaly(), None);
    let y = (s * 0.5).ln();
    let want = Anomaly { op: "ln", node: y.index(), in_gradient: false, input_shapes: [Some((1, 1)), None, None] };
    assert_eq!(tape.anomaly(), Some(want));
    assert_eq!(want.to_string(), format!("first non-finite value of node {} (op `ln`, inputs [1x1])", y.index()));

    // Later non-finite values, here the NaN flowing on and an overflow, are ignored.
    let _ = (y + 1.0) * tape.scalar(1000.0).exp();
    assert_eq!(tape.anomaly(), Some(want));

    // Reset clears it.
    tape.reset();
    assert_eq!(tape.anomaly(), None);
}

#[test]
fn detect_anomaly_names_an_op_whose_gradient_is_infinite() {
    // √x at 0: a finite value (0) whose gradient ½·x^(-½) is infinite.
    let tape = Tape::new();
    tape.detect_anomaly(true);
    let x = tape.leaf(Tensor::from_vec(1, 3, vec![4.0, 0.0, 1.0]));
    let r = x.powf(0.5);
    let y = r.sum();
    assert_eq!(y.item(), 3.0);
    assert_eq!(tape.anomaly(), None);
    let grads = y.backward();
    assert_eq!(grads.wrt(x).data(), &[0.25, f64::INFINITY, 0.5]);
    let anomaly = tape.anomaly().expect("the infinite gradient is recorded");
    assert_eq!((anomaly.op, anomaly.node, anomaly.in_gradient), ("powf", r.index(), true));
    assert_eq!(anomaly.input_shapes, [Some((1, 3)), None, None]);
    assert!(anomaly.to_string().starts_with(&format!("first non-finite gradient of node {}", r.index())));
}

#[test]
fn ln_at_zero_gives_minus_infinity_then_an_infinite_gradient() {
    let tape = Tape::new();
    tape.detect_anomaly(true);
    let x = tape.scalar(0.0);
    let y = x.ln();
    assert_eq!(y.item(), f64::NEG_INFINITY);
    // The value came first, so it is the one recorded.
    let first = tape.anomaly().expect("ln(0) is recorded");
    assert_eq!((first.op, first.node, first.in_gradient), ("ln", y.index(), false));
    assert_eq!(y.backward().wrt(x).item(), f64::INFINITY);
    assert_eq!(tape.anomaly(), Some(first));

    // Turned on only for the backward pass, checking finds the gradient instead.
    let tape = Tape::new();
    let x = tape.scalar(0.0);
    let y = x.ln();
    tape.detect_anomaly(true);
    assert_eq!(y.backward().wrt(x).item(), f64::INFINITY);
    let anomaly = tape.anomaly().expect("the infinite gradient is recorded");
    assert_eq!((anomaly.op, anomaly.node, anomaly.in_gradient), ("ln", y.index(), true));
}
