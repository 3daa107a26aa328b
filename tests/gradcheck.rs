//! Proves that every op's backward rule agrees with central finite differences, through
//! the public `tapegrad::gradcheck::gradcheck`: matmul and transpose, the four arithmetic
//! operators and negation in every broadcast form and with `f64` on either side, every
//! elementwise function, the reductions, every loss, and compositions in which a node is
//! used more than once. Also proves that gradcheck itself reports a wrong gradient,
//! naming the input and the element.

use std::slice::from_ref;

use tapegrad::gradcheck::{GradcheckError, gradcheck};
use tapegrad::prelude::*;

mod common;
use common::{check, positive, sample};

/// Like [`sample`], but of both signs and at least 0.5 from zero: for denominators.
fn denom(rows: usize, cols: usize, seed: u64) -> Tensor {
    sample(rows, cols, seed).map(|v| v + 0.4 * v.signum())
}

#[test]
fn matmul_both_operands_non_square() {
    check("(2x3)·(3x4)", &[sample(2, 3, 1), sample(3, 4, 2)], |v| v[0].matmul(v[1]));
    check("(4x1)·(1x3) outer", &[sample(4, 1, 3), sample(1, 3, 4)], |v| v[0].matmul(v[1]));
    check("(1x5)·(5x1) inner", &[sample(1, 5, 5), sample(5, 1, 6)], |v| v[0].matmul(v[1]));
    check("(3x2)·(2x2)·(2x5)", &[sample(3, 2, 7), sample(2, 2, 8), sample(2, 5, 9)], |v| {
        v[0].matmul(v[1]).matmul(v[2])
    });
}

#[test]
fn affine_every_operand() {
    check("(4x3)·(3x2) + (1x2)", &[sample(4, 3, 1), sample(3, 2, 2), sample(1, 2, 3)], |v| v[0].affine(v[1], v[2]));
    check("(5x2)·(2x1) + (1x1)", &[sample(5, 2, 4), sample(2, 1, 5), sample(1, 1, 6)], |v| v[0].affine(v[1], v[2]));
    // Through a nonlinearity, so that the upstream gradient differs per element.
    check("tanh((3x4)·(4x3) + (1x3))", &[sample(3, 4, 7), sample(4, 3, 8), sample(1, 3, 9)], |v| {
        v[0].affine(v[1], v[2]).tanh()
    });
}

#[test]
fn affine_equals_matmul_plus_bias() {
    let tape = Tape::new();
    let (x, w, b) = (tape.leaf(sample(6, 3, 1)), tape.leaf(sample(3, 5, 2)), tape.leaf(sample(1, 5, 3)));
    assert_eq!(x.affine(w, b).value(), (x.matmul(w) + b).value());
}

#[test]
fn matmul_output_shape() {
    let tape = Tape::new();
    let y = tape.leaf(sample(2, 3, 1)).matmul(tape.leaf(sample(3, 4, 2)));
    assert_eq!(y.shape(), (2, 4));
    assert_eq!(y.value(), sample(2, 3, 1).matmul(&sample(3, 4, 2)));
}

#[test]
fn transpose() {
    check("t of 2x3", &[sample(2, 3, 1)], |v| v[0].t());
    check("t of 1x4", &[sample(1, 4, 2)], |v| v[0].t());
    check("aᵀ·b", &[sample(3, 2, 3), sample(3, 4, 4)], |v| v[0].t().matmul(v[1]));
    check("a·bᵀ", &[sample(2, 3, 5), sample(4, 3, 6)], |v| v[0].matmul(v[1].t()));
    check("a·aᵀ", &[sample(2, 3, 7)], |v| v[0].matmul(v[0].t()));
}

/// The four arithmetic operators, by symbol.
const OPS: [char; 4] = ['+', '-', '*', '/'];

fn binary<'t>(op: char, a: Var<'t>, b: Var<'t>) -> Var<'t> {
    match op {
        '+' => a + b,
        '-' => a - b,
        '*' => a * b,
        '/' => a / b,
        _ => unreachable!(),
    }
}

/// Every broadcast form, on either side, with r = 3 and c = 4.
const BROADCASTS: [((usize, usize), (usize, usize)); 9] = [
    ((3, 4), (3, 4)),
    ((3, 4), (1, 4)),
    ((1, 4), (3, 4)),
    ((3, 4), (3, 1)),
    ((3, 1), (3, 4)),
    ((3, 4), (1, 1)),
    ((1, 1), (3, 4)),
    ((3, 1), (1, 4)),
    ((1, 4), (3, 1)),
];

#[test]
fn arithmetic_in_every_broadcast_form() {
    for op in OPS {
        for (sa, sb) in BROADCASTS {
            let a = sample(sa.0, sa.1, 11);
            // Denominators of both signs stay at least 0.5 from zero.
            let b = if op == '/' { denom(sb.0, sb.1, 12) } else { sample(sb.0, sb.1, 12) };
            check(&format!("{sa:?} {op} {sb:?}"), &[a, b], |v| binary(op, v[0], v[1]));
        }
    }
}

#[test]
fn broadcast_output_shape_and_values() {
    let tape = Tape::new();
    let a = tape.leaf(Tensor::from_vec(2, 1, vec![1.0, 2.0]));
    let b = tape.leaf(Tensor::from_vec(1, 3, vec![10.0, 20.0, 30.0]));
    assert_eq!((a + b).value(), Tensor::from_vec(2, 3, vec![11.0, 21.0, 31.0, 12.0, 22.0, 32.0]));
    assert_eq!((b - a).value(), Tensor::from_vec(2, 3, vec![9.0, 19.0, 29.0, 8.0, 18.0, 28.0]));
    assert_eq!((a * b).value(), Tensor::from_vec(2, 3, vec![10.0, 20.0, 30.0, 20.0, 40.0, 60.0]));
    assert_eq!((b / a).value(), Tensor::from_vec(2, 3, vec![10.0, 20.0, 30.0, 5.0, 10.0, 15.0]));
}

#[test]
fn an_operand_used_on_both_sides() {
    for op in OPS {
        check(&format!("a {op} a"), &[denom(2, 3, 13)], |v| binary(op, v[0], v[0]));
    }
}

#[test]
fn var_and_f64_on_either_side() {
    let a = sample(2, 3, 14);
    let d = denom(2, 3, 15);
    check("v + 2.5", from_ref(&a), |v| v[0] + 2.5);
    check("2.5 + v", from_ref(&a), |v| 2.5 + v[0]);
    check("v - 2.5", from_ref(&a), |v| v[0] - 2.5);
    check("2.5 - v", from_ref(&a), |v| 2.5 - v[0]);
    check("v * -1.7", from_ref(&a), |v| v[0] * -1.7);
    check("-1.7 * v", from_ref(&a), |v| -1.7 * v[0]);
    check("v / 1.7", &[a], |v| v[0] / 1.7);
    check("1.7 / v", &[d], |v| 1.7 / v[0]);
}

#[test]
fn unary_neg() {
    check("-v", &[sample(3, 2, 16)], |v| -v[0]);
    check("-(-v) * v", &[sample(3, 2, 17)], |v| -(-v[0]) * v[0]);
}

#[test]
fn relu_and_leaky_relu_away_from_zero() {
    // sample() keeps every value at least 0.1 from the kink; both signs occur.
    let x = sample(3, 4, 18);
    assert!(x.data().iter().any(|&v| v < 0.0) && x.data().iter().any(|&v| v > 0.0));
    check("relu", from_ref(&x), |v| v[0].relu());
    check("leaky_relu(0.01)", from_ref(&x), |v| v[0].leaky_relu(0.01));
    check("leaky_relu(0.2)", from_ref(&x), |v| v[0].leaky_relu(0.2));
    check("leaky_relu(-0.5)", &[x], |v| v[0].leaky_relu(-0.5));
}

#[test]
fn sigmoid_including_large_inputs() {
    check("sigmoid", &[sample(3, 4, 19)], |v| v[0].sigmoid());
    let large = Tensor::from_vec(2, 4, vec![-40.0, -15.0, -6.0, -0.3, 0.4, 7.0, 16.0, 40.0]);
    check("sigmoid, large |x|", from_ref(&large), |v| v[0].sigmoid());

    // Finite differences cannot see gradients this small, so compare with the closed
    // form σ'(x) = e^-|x| / (1 + e^-|x|)²: to 1e-15 everywhere, and to a relative 1e-9
    // for x ≤ 0, where σ(x) itself is tiny and exact.
    let tape = Tape::new();
    let x = tape.leaf(large.clone());
    let grads = x.sigmoid().sum().backward();
    for (&x, &g) in large.data().iter().zip(grads.wrt(x).data()) {
        let e = (-x.abs()).exp();
        let want = e / ((1.0 + e) * (1.0 + e));
        assert!((g - want).abs() <= 1e-15, "σ'({x}) = {g}, want {want}");
        if x <= 0.0 {
            assert!((g - want).abs() <= 1e-9 * want, "σ'({x}) = {g}, want {want}");
        }
    }

    // No overflow to NaN at the extremes, in the value or the gradient.
    let x = tape.leaf(Tensor::from_vec(1, 2, vec![-1000.0, 1000.0]));
    let s = x.sigmoid();
    assert_eq!(s.value().data(), &[0.0, 1.0]);
    assert_eq!(s.sum().backward().wrt(x).data(), &[0.0, 0.0]);
}

#[test]
fn tanh_exp_ln_powf() {
    check("tanh", &[sample(3, 4, 20)], |v| v[0].tanh());
    check("tanh, large |x|", &[Tensor::from_vec(1, 4, vec![-30.0, -4.0, 5.0, 30.0])], |v| v[0].tanh());
    check("exp", &[sample(3, 4, 21)], |v| v[0].exp());
    check("ln", &[positive(3, 4, 22)], |v| v[0].ln());
    check("ln, small and large", &[Tensor::from_vec(1, 3, vec![1e-3, 1.0, 1e3])], |v| v[0].ln());
    for p in [2.0, 3.0, 0.5, 1.5, 2.7, -1.0, -0.5, -2.5] {
        check(&format!("powf({p})"), &[positive(3, 4, 23)], |v| v[0].powf(p));
    }
    // Integer powers are defined for negative bases too.
    for p in [2.0, 3.0] {
        check(&format!("powf({p}) of both signs"), &[sample(3, 4, 24)], |v| v[0].powf(p));
    }
}

#[test]
fn sum_and_mean() {
    check("sum", &[sample(3, 5, 25)], |v| v[0].sum());
    check("mean", &[sample(3, 5, 26)], |v| v[0].mean());
    // An upstream gradient other than 1.
    check("3·sum", &[sample(2, 3, 27)], |v| v[0].sum() * 3.0);
    check("mean²", &[sample(2, 3, 28)], |v| v[0].mean() * v[0].mean());
}

#[test]
fn bce_with_logits() {
    let y = Tensor::from_vec(4, 2, vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
    check("0/1 targets", &[sample(4, 2, 29)], |v| v[0].bce_with_logits(&y));
    let soft = Tensor::from_vec(4, 2, vec![0.1, 0.9, 0.5, 0.3, 0.7, 0.0, 1.0, 0.25]);
    check("soft targets", &[sample(4, 2, 30)], |v| v[0].bce_with_logits(&soft));
    let big = Tensor::from_vec(4, 2, vec![-60.0, 60.0, -25.0, 25.0, 35.0, -35.0, 0.5, -0.5]);
    check("large logits", &[big], |v| v[0].bce_with_logits(&y));
    check("scaled", &[sample(4, 2, 31)], |v| v[0].bce_with_logits(&y) * 2.5);
}

#[test]
fn binary_cross_entropy_on_probabilities() {
    let y = Tensor::from_vec(3, 2, vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
    let p = Tensor::from_vec(3, 2, vec![0.9, 0.2, 0.35, 0.6, 0.05, 0.97]);
    check("eps 1e-12", from_ref(&p), |v| v[0].binary_cross_entropy(&y, 1e-12));
    check("eps 1e-3", from_ref(&p), |v| v[0].binary_cross_entropy(&y, 1e-3));
    let soft = Tensor::from_vec(3, 2, vec![0.3, 0.6, 0.5, 0.1, 0.9, 0.4]);
    check("soft targets", &[p], |v| v[0].binary_cross_entropy(&soft, 1e-7));
    check("after sigmoid", &[sample(3, 2, 32)], |v| v[0].sigmoid().binary_cross_entropy(&y, 1e-12));
}

#[test]
fn mse() {
    let y = sample(3, 4, 33);
    check("mse", &[sample(3, 4, 34)], |v| v[0].mse(&y));
    check("mse of 1x1", &[Tensor::scalar(0.7)], |v| v[0].mse(&Tensor::scalar(-1.2)));
}

#[test]
fn softmax_cross_entropy() {
    let one_hot = Tensor::from_vec(3, 4, vec![0., 1., 0., 0., 1., 0., 0., 0., 0., 0., 0., 1.]);
    check("one-hot", &[sample(3, 4, 35)], |v| v[0].softmax_cross_entropy(&one_hot));
    let soft = Tensor::from_vec(3, 4, vec![0.1, 0.2, 0.3, 0.4, 0.25, 0.25, 0.5, 0.0, 0.7, 0.1, 0.1, 0.1]);
    check("soft", &[sample(3, 4, 36)], |v| v[0].softmax_cross_entropy(&soft));
    let big = Tensor::from_vec(2, 3, vec![300.0, -200.0, 299.0, -50.0, -51.0, -49.5]);
    let y = Tensor::from_vec(2, 3, vec![0.0, 0.0, 1.0, 0.2, 0.3, 0.5]);
    check("large logits", &[big], |v| v[0].softmax_cross_entropy(&y));
    check("after matmul", &[sample(3, 2, 37), sample(2, 4, 38)], |v| v[0].matmul(v[1]).softmax_cross_entropy(&one_hot));
}

#[test]
fn two_layer_net_with_bias_broadcast_and_loss() {
    let y = Tensor::from_vec(5, 1, vec![1.0, 0.0, 1.0, 1.0, 0.0]);
    let inputs = [sample(5, 3, 40), sample(3, 4, 41), sample(1, 4, 42), sample(4, 1, 43), sample(1, 1, 44)];
    check("tanh net, bce_with_logits", &inputs, |v| {
        let h = (v[0].matmul(v[1]) + v[2]).tanh();
        (h.matmul(v[3]) + v[4]).bce_with_logits(&y)
    });
    check("relu net, sigmoid, mse", &inputs, |v| {
        let h = (v[0].matmul(v[1]) + v[2]).relu();
        (h.matmul(v[3]) + v[4]).sigmoid().mse(&y)
    });
}

#[test]
fn reused_nodes() {
    check("b = a + a; c = b * b", &[sample(2, 3, 45)], |v| {
        let b = v[0] + v[0];
        b * b
    });
    check("diamond", &[sample(2, 2, 46)], |v| {
        let b = v[0].tanh();
        let c = b * v[0];
        let d = b.exp() - c;
        d * b + c / (b * b + 1.0)
    });
    check("leaf used five times", &[positive(1, 3, 47)], |v| {
        let a = v[0];
        (a * a).ln() + a.powf(-0.5) * a - a.sigmoid()
    });
    check("matmul with itself", &[sample(3, 3, 48)], |v| v[0].matmul(v[0]).matmul(v[0].t()));
}

/// A wrong gradient: `a · stop(a)` where `stop(a)` is `a`'s value copied onto the tape
/// as a constant, so the tape sees `d/da = a` while the function is `a²` (`d/da = 2a`).
#[test]
fn gradcheck_fails_on_a_detached_value() {
    let a = Tensor::from_vec(1, 2, vec![1.5, -2.0]);
    let err = gradcheck(&[a], |v| {
        let stopped = v[0].tape().constant(v[0].value());
        (v[0] * stopped).sum()
    })
    .expect_err("a detached factor halves the gradient, gradcheck must notice");
    assert_eq!((err.input, err.element), (0, (0, 0)));
    assert_eq!(err.analytic, 1.5);
    assert!((err.numeric - 3.0).abs() < 1e-6, "numeric {}", err.numeric);
}

/// relu at exactly 0 is a kink: the tape says 0, central differences say 1/2. The error
/// names the second input and the element where the zero sits. (Every other element of
/// `b` is negative, so the sum is exactly `relu(b₁₂)` and the numbers print exactly.)
#[test]
fn gradcheck_error_names_input_and_element() {
    let a = Tensor::from_vec(2, 3, vec![0.3, -0.7, 1.1, 0.9, -1.3, 1.0]);
    let b = Tensor::from_vec(2, 3, vec![-0.4, -1.2, -0.8, -2.0, -0.6, 0.0]);
    let err: GradcheckError = gradcheck(&[a, b], |v| (v[1].relu() * v[0]).sum()).unwrap_err();
    assert_eq!((err.input, err.element, err.analytic, err.numeric), (1, (1, 2), 0.0, 0.5));
    assert_eq!(
        err.to_string(),
        "gradient mismatch for input 1 at element (1, 2): analytic 0e0, numeric 5e-1 (difference 5e-1)"
    );
}
