//! Proves that scalar expressions written micrograd-style give the values and gradients an
//! independent framework gives (micrograd's own two tests, whose expected numbers come
//! from PyTorch), and the tape's bookkeeping: gradients accumulate over every use of a
//! node, a 100 000-node chain back-propagates without recursion, a reset tape records
//! the same results again (also when scalar and tensor graphs take turns in its
//! buffers), a leaf the output ignores has a zero gradient, and a gradient starts from
//! zeros that its first contribution is added to.

use tapegrad::prelude::*;

/// The README's expression (micrograd's `test_sanity_check`).
fn sanity<'t>(x: Var<'t>) -> Var<'t> {
    let z = 2.0 * x + 2.0 + x;
    let q = z.relu() + z * x;
    let h = (z * z).relu();
    h + q + q * x
}

#[test]
fn sanity_check() {
    let tape = Tape::new();
    let x = tape.scalar(-4.0);
    let y = sanity(x);
    let grads = y.backward();
    assert_eq!(y.value().item(), -20.0);
    assert_eq!(grads.wrt(x).item(), 46.0);
}

/// micrograd's `test_more_ops`, with `+=` spelt out and `**` as `powf`.
#[test]
fn more_ops() {
    let tape = Tape::new();
    let a = tape.scalar(-4.0);
    let b = tape.scalar(2.0);
    let c = a + b;
    let d = a * b + b.powf(3.0);
    let c = c + (c + 1.0);
    let c = c + (1.0 + c + (-a));
    let d = d + (d * 2.0 + (b + a).relu());
    let d = d + (3.0 * d + (b - a).relu());
    let e = c - d;
    let f = e.powf(2.0);
    let g = f / 2.0;
    let g = g + 10.0 / f;
    let grads = g.backward();

    // PyTorch's values, as published in micrograd's test suite (test/test_engine.py).
    let tol = 1e-6;
    let close = |got: f64, want: f64| assert!((got - want).abs() < tol, "got {got}, want {want}");
    close(g.item(), 24.70408163265306);
    close(grads.wrt(a).item(), 138.83381924198252);
    close(grads.wrt(b).item(), 645.5772594752186);
}

#[test]
fn gradients_accumulate_over_every_use() {
    let tape = Tape::new();
    let a = tape.leaf(Tensor::from_vec(1, 3, vec![-1.5, 0.25, 3.0]));
    let b = a + a;
    let c = b * b;
    let grads = c.sum().backward();
    // c = 4a², dc/da = 8a
    assert_eq!(grads.wrt(a), &Tensor::from_vec(1, 3, vec![-12.0, 2.0, 24.0]));
    // and b's gradient is 2b, from both of c's operands
    assert_eq!(grads.wrt(b), &Tensor::from_vec(1, 3, vec![-6.0, 1.0, 12.0]));
}

#[test]
fn a_node_used_in_many_places() {
    let tape = Tape::new();
    let x = tape.scalar(3.0);
    // y = x·x + x·x·x - x / x + x  →  dy/dx = 2x + 3x² + 0 + 1 = 34
    let y = x * x + x * x * x - x / x + x;
    assert_eq!(y.item(), 9.0 + 27.0 - 1.0 + 3.0);
    assert_eq!(y.backward().wrt(x).item(), 34.0);
}

#[test]
fn a_100_000_node_chain() {
    let tape = Tape::new();
    let x = tape.scalar(0.5);
    let mut y = x;
    for _ in 0..100_000 {
        y = -y;
    }
    let mut z = y;
    for _ in 0..100_000 {
        z = z + x;
    }
    assert_eq!(tape.len(), 200_001);
    // y = (-1)^100000 x = x, z = y + 100000 x
    assert_eq!(z.item(), 0.5 * 100_001.0);
    assert_eq!(z.backward().wrt(x).item(), 100_001.0);
}

/// Records a small network and returns its loss and the gradients of its parameters.
fn record(tape: &Tape) -> (f64, Vec<Tensor>) {
    let x = tape.constant(Tensor::from_vec(3, 2, vec![0.5, -1.0, 1.5, 2.0, -0.5, 0.25]));
    let w = tape.leaf(Tensor::from_vec(2, 2, vec![0.3, -0.8, 1.1, 0.4]));
    let b = tape.leaf(Tensor::from_vec(1, 2, vec![0.1, -0.2]));
    let loss = (x.matmul(w) + b).tanh().mse(&Tensor::from_vec(3, 2, vec![1.0, 0.0, 0.0, 1.0, 0.5, 0.5]));
    let grads = loss.backward();
    (loss.item(), vec![grads.wrt(w).clone(), grads.wrt(b).clone()])
}

#[test]
fn reset_then_recording_again_gives_identical_results() {
    let mut tape = Tape::new();
    let first = record(&tape);
    let nodes = tape.len();
    assert!(first.1.iter().all(|g| g.max_abs() > 0.0));

    // Backward again on the same tape reuses the gradient buffers.
    tape.reset();
    assert!(tape.is_empty());
    assert_eq!(record(&tape), first);
    assert_eq!(tape.len(), nodes);

    // A different graph in between leaves differently shaped values in the reused
    // buffers; none of them may leak into the next recording.
    tape.reset();
    let big = tape.leaf(Tensor::full(5, 7, 9.0));
    let other = (big.matmul(big.t()) * 3.0).exp().sum();
    let _ = other.backward();
    tape.reset();
    assert_eq!(record(&tape), first);
}

#[test]
fn wrt_a_leaf_the_output_ignores_is_zeros_of_its_shape() {
    let tape = Tape::new();
    let x = tape.scalar(2.0);
    let unused = tape.leaf(Tensor::full(2, 3, 5.0));
    let y = x * x;
    let later = tape.leaf(Tensor::full(3, 1, 1.0));
    let _ = later * x;
    let grads = y.backward();
    assert_eq!(grads.wrt(x).item(), 4.0);
    assert_eq!(grads.wrt(unused), &Tensor::zeros(2, 3));
    // A leaf recorded after the output but before backward does not feed it either.
    assert_eq!(grads.wrt(later), &Tensor::zeros(3, 1));
}

#[test]
fn backward_from_a_matrix_differentiates_the_sum_of_its_elements() {
    let tape = Tape::new();
    let x = tape.leaf(Tensor::from_vec(2, 2, vec![1.0, -2.0, 0.5, 3.0]));
    let y = x * x;
    let by_matrix = y.backward().wrt(x).clone();
    let by_sum = y.sum().backward().wrt(x).clone();
    assert_eq!(by_matrix, Tensor::from_vec(2, 2, vec![2.0, -4.0, 1.0, 6.0]));
    assert_eq!(by_matrix, by_sum);
}

#[test]
fn two_gradients_alive_at_once() {
    let tape = Tape::new();
    let x = tape.scalar(3.0);
    let square = x * x;
    let cube = square * x;
    let d_square = square.backward();
    let d_cube = cube.backward();
    assert_eq!(d_square.wrt(x).item(), 6.0);
    assert_eq!(d_cube.wrt(x).item(), 27.0);
    assert_eq!(d_cube.wrt(square).item(), 3.0);
    drop(d_square);
    drop(d_cube);
    // After both handed their buffers back, a third pass still starts clean, also for
    // the node recorded after its output, whose buffer last held a gradient of 1.
    let again = square.backward();
    assert_eq!(again.wrt(x).item(), 6.0);
    assert_eq!(again.wrt(cube).item(), 0.0);
}

#[test]
fn scalar_and_tensor_graphs_take_turns_in_the_reused_buffers() {
    let scalar = |tape: &Tape| {
        let x = tape.scalar(0.5);
        let w = tape.scalar(-1.5);
        let y = ((x * w).tanh() - x / w).sigmoid();
        let grads = y.backward();
        (y.item(), grads.wrt(x).item(), grads.wrt(w).item())
    };
    let tensor = |tape: &Tape| {
        let a = tape.leaf(Tensor::from_vec(2, 3, vec![0.5, -1.0, 2.0, 0.25, 1.5, -0.75]));
        let b = tape.leaf(Tensor::from_vec(1, 3, vec![0.1, -0.2, 0.3]));
        let c = tape.leaf(Tensor::from_vec(3, 1, vec![1.0, -1.0, 0.5]));
        let y = ((a * b).tanh() - a / 4.0).matmul(c).sum();
        let grads = y.backward();
        (y.item(), grads.wrt(a).clone(), grads.wrt(b).clone(), grads.wrt(c).clone())
    };
    let mut tape = Tape::new();
    let s = scalar(&tape);
    tape.reset();
    let t = tensor(&tape);
    // Each slot and gradient buffer now holds the other graph's shapes and values.
    for _ in 0..2 {
        tape.reset();
        assert_eq!(scalar(&tape), s);
        tape.reset();
        assert_eq!(tensor(&tape), t);
    }
}

#[test]
fn the_first_contribution_is_added_to_zeros() {
    // d(x · -0)/dx is -0; added to a zero gradient it gives +0, as in PyTorch.
    let tape = Tape::new();
    let x = tape.scalar(3.0);
    let y = x * -0.0;
    let dx = y.backward().wrt(x).item();
    assert_eq!(dx.to_bits(), 0.0f64.to_bits());
}

#[test]
fn every_backward_rule_writes_over_the_stale_values_of_a_reused_buffer() {
    // A first contribution is written, not added to zeros: a rule that skipped part of
    // its input would leave the last pass's values behind. Each graph runs once with
    // other inputs (same shapes, so the same buffers come back holding their gradients),
    // then again; its gradients must equal those of a fresh tape.
    type Graph = for<'t> fn(&[Var<'t>]) -> Var<'t>;
    let graphs: [(&str, Graph); 14] = [
        ("relu, exp, ln, powf", |v| (v[0].relu() + v[0].exp() + (v[0] * v[0] + 1.0).ln() + v[0].powf(2.0)).sum()),
        ("sigmoid, tanh, neg, leaky_relu", |v| (v[0].sigmoid() + v[0].tanh() - v[0].leaky_relu(0.1)).mean()),
        ("broadcast row", |v| (v[0] * v[1] + v[1]).sum()),
        ("broadcast column", |v| (v[0] / v[2] - v[2]).sum()),
        ("matmul", |v| v[0].matmul(v[3]).sum()),
        ("affine", |v| v[0].affine(v[3], v[4]).mean()),
        ("transpose", |v| (v[0].t() * v[0].t()).sum()),
        ("a node used twice", |v| (v[0] * v[0]).sum()),
        ("sum", |v| v[0].sum() * v[0].mean()),
        ("bce_with_logits", |v| {
            v[0].matmul(v[3]).bce_with_logits(&Tensor::from_vec(3, 2, vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]))
        }),
        ("binary_cross_entropy", |v| v[0].matmul(v[3]).sigmoid().binary_cross_entropy(&Tensor::full(3, 2, 0.5), 1e-5)),
        ("mse", |v| v[0].mse(&Tensor::full(3, 4, 0.25))),
        ("softmax_cross_entropy", |v| v[0].softmax_cross_entropy(&Tensor::full(3, 4, 0.25))),
        ("scalar", |v| (v[5] * v[5] - v[5] / 3.0).tanh()),
    ];
    let inputs = |scale: f64| {
        let t = |r: usize, c: usize| {
            Tensor::from_vec(r, c, (0..r * c).map(|i| scale * (((i as f64) * 0.618_034).fract() - 0.4)).collect())
        };
        [t(3, 4), t(1, 4), t(3, 1), t(4, 2), t(1, 2), t(1, 1)]
    };
    let grads = |tape: &Tape, graph: Graph, scale: f64| {
        let vars: Vec<Var<'_>> = inputs(scale).iter().map(|t| tape.leaf_from(t)).collect();
        let g = graph(&vars).backward();
        vars.iter().map(|&v| g.wrt(v).clone()).collect::<Vec<Tensor>>()
    };
    for (name, graph) in graphs {
        let fresh = grads(&Tape::new(), graph, 1.0);
        let mut tape = Tape::new();
        let _ = grads(&tape, graph, 7.0);
        tape.reset();
        assert_eq!(grads(&tape, graph, 1.0), fresh, "{name}");
    }
}
