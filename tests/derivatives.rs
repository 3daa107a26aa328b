//! Proves the derivatives users ask for beyond `backward`: `backward_with(seed)` is the
//! gradient of `Σ seed ⊙ y`; `tapegrad::jacobian` agrees with central finite differences
//! and with one `backward_with` per output element, for a small tanh network applied to
//! rows, for functions that mix rows and for one with enough outputs to be walked in
//! bands of seeds; `Jacobian`, recorded at one input and replayed at another, gives the
//! same values as `jacobian` there; and a custom op (softplus, written as a user
//! would) passes gradcheck, is differentiated inside `jacobian`, and appears by its name
//! in the graph export and in the anomaly report.

use tapegrad::gradcheck::gradcheck;
use tapegrad::prelude::*;
use tapegrad::{CustomOp, Jacobian};

mod common;
use common::sample;

fn assert_close(got: &Tensor, want: &Tensor, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    for (i, (g, w)) in got.data().iter().zip(want.data()).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}, element {i}: {g} vs {w}");
    }
}

/// An expression with broadcasting and the new ops: a 3x4 output of a 3x4 `x` and a
/// 1x4 `w`.
fn expression<'t>(x: Var<'t>, w: Var<'t>) -> Var<'t> {
    (x * w).softmax(1) * x.var_axis(0) + (x - w).clamp(-1.0, 1.0).square() + x.gather_rows(&[2, 0, 2]).tanh()
}

#[test]
fn backward_with_is_the_gradient_of_the_seeded_sum() {
    let (x, w) = (sample(3, 4, 1), sample(1, 4, 2));
    let seed = sample(3, 4, 3);
    let tape = Tape::new();
    let (xv, wv) = (tape.leaf_from(&x), tape.leaf_from(&w));
    let y = expression(xv, wv);
    let vjp = y.backward_with(&seed);
    let (vx, vw) = (vjp.wrt(xv).clone(), vjp.wrt(wv).clone());
    let summed = (y * tape.constant_from(&seed)).sum().backward();
    assert_close(&vx, summed.wrt(xv), 1e-14, "x");
    assert_close(&vw, summed.wrt(wv), 1e-14, "w");
    // A seed of ones is `backward`.
    assert_eq!(y.backward_with(&Tensor::full(3, 4, 1.0)).wrt(xv), y.backward().wrt(xv));
    // And finite differences agree with the seeded sum.
    let s = seed.clone();
    gradcheck(&[x, w], |v| (expression(v[0], v[1]) * v[0].tape().constant(s.clone())).sum()).unwrap();
}

#[test]
#[should_panic(expected = "backward_with: the seed is 2x2 but the output is 1x2")]
fn backward_with_wants_a_seed_shaped_like_the_output() {
    let tape = Tape::new();
    let x = tape.leaf(Tensor::zeros(1, 2));
    let _ = (x * 2.0).backward_with(&Tensor::zeros(2, 2));
}

/// The Jacobian of `f` at `x` by central differences of its forward pass.
fn numeric_jacobian(f: impl for<'t> Fn(Var<'t>) -> Var<'t>, x: &Tensor) -> Tensor {
    let eval = |x: &Tensor| {
        let tape = Tape::new();
        f(tape.constant_from(x)).value()
    };
    let m = eval(x).len();
    let (n, eps) = (x.len(), 1e-6);
    let mut jac = Tensor::zeros(m, n);
    for j in 0..n {
        let (mut up, mut down) = (x.clone(), x.clone());
        up.data_mut()[j] += eps;
        down.data_mut()[j] -= eps;
        let (fu, fd) = (eval(&up), eval(&down));
        for i in 0..m {
            jac.data_mut()[i * n + j] = (fu.data()[i] - fd.data()[i]) / (2.0 * eps);
        }
    }
    jac
}

/// The Jacobian by one `backward_with` per output element.
fn per_row_jacobian(f: impl for<'t> Fn(Var<'t>) -> Var<'t>, x: &Tensor) -> Tensor {
    let tape = Tape::new();
    let xv = tape.leaf_from(x);
    let y = f(xv);
    let (r, c) = y.shape();
    let mut jac = Tensor::zeros(r * c, x.len());
    for i in 0..r * c {
        let mut seed = Tensor::zeros(r, c);
        seed.data_mut()[i] = 1.0;
        let row = y.backward_with(&seed).wrt(xv).clone();
        jac.data_mut()[i * x.len()..(i + 1) * x.len()].copy_from_slice(row.data());
    }
    jac
}

fn agrees_three_ways(what: &str, f: impl for<'t> Fn(Var<'t>) -> Var<'t> + Copy, x: &Tensor) {
    let jac = tapegrad::jacobian(f, x);
    let tape = Tape::new();
    let out = f(tape.constant_from(x)).with_value(Tensor::len);
    assert_eq!(jac.shape(), (out, x.len()), "{what}: shape (outputs, inputs)");
    assert_close(&jac, &per_row_jacobian(f, x), 1e-13, &format!("{what} vs per-row backward_with"));
    assert_close(&jac, &numeric_jacobian(f, x), 1e-7, &format!("{what} vs finite differences"));
    // Recorded at another input, then replayed at `x`: the same ops, the same values.
    let recorded = Jacobian::new(f, &x.map(|v| 0.5 * v + 0.3));
    assert_eq!(recorded.at(x), jac, "{what}: Jacobian::at after recording elsewhere");
    assert_eq!(recorded.at(x), jac, "{what}: Jacobian::at a second time");
}

/// A 3 → 5 → 4 → 2 tanh network with fixed weights.
struct Mlp {
    layers: Vec<(Tensor, Tensor)>,
}

impl Mlp {
    fn new() -> Mlp {
        let dims = [3, 5, 4, 2];
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(k, d)| (sample(d[0], d[1], 10 + k as u64).map(|w| w * 0.6), sample(1, d[1], 20 + k as u64)))
            .collect();
        Mlp { layers }
    }

    fn apply<'t>(&self, x: Var<'t>) -> Var<'t> {
        let tape = x.tape();
        self.layers.iter().fold(x, |h, (w, b)| h.affine(tape.constant_from(w), tape.constant_from(b)).tanh())
    }
}

#[test]
fn jacobian_of_a_tanh_network_agrees_with_finite_differences_and_per_row_vjps() {
    let mlp = Mlp::new();
    agrees_three_ways("tanh MLP at one input", |x| mlp.apply(x), &sample(1, 3, 4));
    // Applied to two rows at once: the Jacobian is block diagonal.
    let x = sample(2, 3, 5);
    agrees_three_ways("tanh MLP at two inputs", |x| mlp.apply(x), &x);
    let jac = tapegrad::jacobian(|x| mlp.apply(x), &x);
    for (i, j) in [(0, 3), (0, 5), (1, 4), (2, 0), (3, 2)] {
        assert_eq!(jac.get(i, j), 0.0, "output {i} does not depend on input {j}");
    }
}

#[test]
fn jacobian_of_functions_that_mix_rows() {
    let x = sample(2, 3, 6);
    agrees_three_ways("Gram matrix", |x| x.matmul(x.t()).tanh(), &x);
    agrees_three_ways(
        "softmax down the columns and a variance",
        |x| Var::concat(&[x.softmax(0), x.var_axis(0)], 0),
        &x,
    );
    agrees_three_ways("log_softmax of a reshape", |x| x.reshape(3, 2).log_softmax(1) * x.sum(), &x);
    agrees_three_ways("max along rows, sliced", |x| (x.max_axis(0) * x.slice_rows(1..2)).sqrt_abs(), &x);
}

#[test]
fn jacobian_with_many_outputs_walks_bands_of_seeds_on_any_number_of_threads_alike() {
    // 160 outputs: two bands of 80 seeds, walked on two cores where there are two, each
    // through a product, an elementwise rule, a rule applied seed by seed (softmax) and
    // a sum of two paths.
    let w = sample(48, 160, 31).map(|v| v * 0.2);
    fn f<'t>(w: &Tensor, x: Var<'t>) -> Var<'t> {
        let h = x.matmul(x.tape().constant_from(w)).tanh();
        h.softmax(1) + h * x.sum()
    }
    let x = sample(1, 48, 32);
    agrees_three_ways("a 48 → 160 layer", |x| f(&w, x), &x);
    // On one thread, the same bands one after the other: the same values.
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    assert_eq!(one_thread.install(|| tapegrad::jacobian(|x| f(&w, x), &x)), tapegrad::jacobian(|x| f(&w, x), &x));
}

#[test]
fn a_recorded_jacobian_recomputes_what_blocks_gradients_too() {
    // `detach` passes no gradient, but its value follows the input: x ⊙ detach(x) has
    // the Jacobian diag(x) at the new input, not at the recorded one.
    fn f(x: Var<'_>) -> Var<'_> {
        x * x.detach() + x.sum()
    }
    let x = sample(1, 4, 33);
    let recorded = Jacobian::new(f, &Tensor::full(1, 4, 7.0));
    let jac = tapegrad::jacobian(f, &x);
    assert_eq!(recorded.at(&x), jac);
    assert_eq!(jac.get(2, 2), x.get(0, 2) + 1.0);
}

#[test]
#[should_panic(expected = "replay: the input is 1x3, the recorded one 1x2")]
fn a_recorded_jacobian_wants_inputs_shaped_like_the_first() {
    let f = Jacobian::new(|v| v.tanh(), &Tensor::zeros(1, 2));
    let _ = f.at(&Tensor::zeros(1, 3));
}

/// `sqrt(|x| + 1)`, smooth enough for finite differences.
trait SqrtAbs {
    fn sqrt_abs(self) -> Self;
}

impl SqrtAbs for Var<'_> {
    fn sqrt_abs(self) -> Self {
        (self.square() + 1.0).sqrt()
    }
}

/// ln(1 + e^x), stable for any x; its derivative is the logistic function.
struct Softplus;

impl CustomOp for Softplus {
    fn name(&self) -> &'static str {
        "softplus"
    }
    fn forward(&self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| x.max(0.0) + (-x.abs()).exp().ln_1p())
    }
    fn backward(&self, _: usize, inputs: &[&Tensor], _: &Tensor, grad: &Tensor) -> Tensor {
        let s = inputs[0].map(|x| 1.0 / (1.0 + (-x).exp()));
        Tensor::from_vec(grad.rows(), grad.cols(), grad.data().iter().zip(s.data()).map(|(g, s)| g * s).collect())
    }
}

static SOFTPLUS: Softplus = Softplus;

/// ln(1 + e^x) written naively: e^x overflows past x ≈ 709.
struct NaiveSoftplus;

impl CustomOp for NaiveSoftplus {
    fn name(&self) -> &'static str {
        "naive_softplus"
    }
    fn forward(&self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| (1.0 + x.exp()).ln())
    }
    fn backward(&self, _: usize, inputs: &[&Tensor], _: &Tensor, grad: &Tensor) -> Tensor {
        Tensor::from_vec(
            grad.rows(),
            grad.cols(),
            grad.data().iter().zip(inputs[0].data()).map(|(g, x)| g / (1.0 + (-x).exp())).collect(),
        )
    }
}

static NAIVE_SOFTPLUS: NaiveSoftplus = NaiveSoftplus;

/// A rule that returns a gradient of the wrong shape.
struct Broken;

impl CustomOp for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }
    fn forward(&self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].clone()
    }
    fn backward(&self, _: usize, _: &[&Tensor], _: &Tensor, _: &Tensor) -> Tensor {
        Tensor::zeros(1, 2)
    }
}

static BROKEN: Broken = Broken;

#[test]
fn a_custom_softplus_matches_its_formula_and_passes_gradcheck() {
    let tape = Tape::new();
    let x = tape.leaf(Tensor::from_rows(&[[-1000.0, -1.0, 0.0, 2.0, 1000.0]]));
    let y = Var::custom(&SOFTPLUS, &[x]);
    let want = [0.0, (1.0 + (-1f64).exp()).ln(), 2f64.ln(), (1.0 + 2f64.exp()).ln(), 1000.0];
    assert_close(&y.value(), &Tensor::from_rows(&[want]), 1e-15, "softplus values");
    let g = y.sum().backward();
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    assert_close(g.wrt(x), &Tensor::from_rows(&[[0.0, sig(-1.0), 0.5, sig(2.0), 1.0]]), 1e-15, "softplus gradient");
    gradcheck(&[sample(3, 4, 7)], |v| Var::custom(&SOFTPLUS, &[v[0]])).unwrap();
    // Inside a larger graph, with its output used twice.
    gradcheck(&[sample(3, 4, 8), sample(4, 2, 9)], |v| {
        let h = Var::custom(&SOFTPLUS, &[v[0].matmul(v[1])]);
        (h * h.tanh()).log_softmax(1)
    })
    .unwrap();
    agrees_three_ways(
        "softplus network",
        |x| Var::custom(&SOFTPLUS, &[x.matmul(x.t())]).sum_axis(0),
        &sample(2, 3, 10),
    );
}

#[test]
fn a_custom_op_is_shown_by_its_name_in_the_graph_export() {
    let tape = Tape::new();
    let x = tape.leaf(Tensor::from_rows(&[[0.5, -0.5]]));
    let y = Var::custom(&SOFTPLUS, &[x]).sum();
    let dot = tape.to_dot_with(&y.backward());
    let line = dot.lines().find(|l| l.contains("softplus")).unwrap_or_else(|| panic!("no softplus node in\n{dot}"));
    assert!(line.starts_with("  n1 [label=\"#1 softplus 1x2"), "{line}");
    assert!(line.contains("grad norm"), "{line}");
    assert!(dot.contains("n0 -> n1;") && dot.contains("n1 -> n2;"), "{dot}");
}

#[test]
fn a_custom_op_that_overflows_is_named_in_the_anomaly_report() {
    let tape = Tape::new();
    tape.detect_anomaly(true);
    let x = tape.leaf(Tensor::from_rows(&[[1.0, 800.0]]));
    // Nodes: x, the constant 2, x·2, then the custom op (node 3).
    let y = (Var::custom(&NAIVE_SOFTPLUS, &[x * 2.0]) + Var::custom(&SOFTPLUS, &[x])).sum();
    let anomaly = tape.anomaly().expect("e^1600 overflows");
    assert_eq!((anomaly.op, anomaly.node, anomaly.in_gradient), ("naive_softplus", 3, false));
    assert_eq!(anomaly.to_string(), "first non-finite value of node 3 (op `naive_softplus`, inputs [1x2])");
    // The stable one is finite at the same input.
    assert!(Var::custom(&SOFTPLUS, &[x * 2.0]).value().is_finite());
    assert!(!y.value().is_finite());
}

#[test]
#[should_panic(expected = "broken: the backward rule returned a 1x2 gradient for input 0, which is 2x2")]
fn a_custom_rule_of_the_wrong_shape_is_named() {
    let tape = Tape::new();
    let x = tape.leaf(Tensor::zeros(2, 2));
    let _ = Var::custom(&BROKEN, &[x]).sum().backward();
}

/// `Iterator::sum` over `Var`s (owned and borrowed) records `+`, so its gradient is each
/// term's: here an L2 penalty over a parameter list, against finite differences.
#[test]
fn vars_sum_with_iterator_sum() {
    let inputs = [Tensor::from_rows(&[[0.5, -1.0]]), Tensor::from_rows(&[[2.0], [3.0]])];
    gradcheck(&inputs, |v| v.iter().map(|p| p.square().sum()).sum()).unwrap();
    let tape = Tape::new();
    let vars: Vec<Var<'_>> = inputs.iter().map(|t| tape.leaf_from(t)).collect();
    let borrowed: Var = vars.iter().sum::<Var>().sum();
    assert_eq!(borrowed.shape(), (1, 1));
    let penalty: Var = vars.iter().map(|p| p.square().sum()).sum();
    assert_eq!(penalty.item(), 0.25 + 1.0 + 4.0 + 9.0);
}

#[test]
#[should_panic(expected = "Var::sum: no Var to add")]
fn summing_no_vars_panics_with_a_message() {
    let _: Var = Vec::<Var<'_>>::new().into_iter().sum();
}
