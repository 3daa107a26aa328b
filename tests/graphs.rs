//! Proves that backward is right on arbitrary graphs, not only on the hand-picked ones:
//! proptest builds random expression graphs — random ops from the whole op list, random
//! small shapes (made compatible for matmul and broadcasting), operands drawn from any
//! earlier node so nodes are reused — and gradchecks every one against central finite
//! differences. A failure reports the gradcheck error and the (shrunk) graph.
//!
//! Inputs are kept inside each op's smooth domain: relu and leaky_relu see no value
//! within 0.05 of their kink, ln and powf see `x·x + 0.5`, division sees `±(b·b + 0.5)`,
//! binary_cross_entropy sees probabilities in [0.05, 0.95]. The shifts that do this, and
//! a rescaling that keeps values below 50, are decided once at the unperturbed inputs and
//! then replayed as fixed constants, so the function gradcheck differentiates is smooth.
//!
//! The ops beyond the reference network are drawn too: reductions along an axis, the
//! softmax family, cross-entropy on labels, abs, sqrt, square, clamp, maximum, minimum,
//! slices, concatenation, gathered rows, reshape and a custom op (softplus). They are kept
//! from their kinks the same way: abs sees no value within 0.05 of 0, clamp none within
//! 0.05 of either bound, maximum and minimum no pair of operands within 0.05 of each
//! other, sqrt sees `x·x + 0.5`; a `max_axis` whose lane has its two largest values within
//! 0.01 of each other is recorded as `mean_axis` instead (decided once, like the shifts).
//! `detach` is left out: finite differences see through it by construction (it is checked
//! against a constant of the same value in tests/ops_structure.rs).

use proptest::prelude::*;
use proptest::sample::Index;
use tapegrad::gradcheck::gradcheck;
use tapegrad::prelude::*;

/// One node of a random graph; operands are indices into the nodes made so far.
#[derive(Clone, Debug)]
enum Step {
    Neg(Index),
    Relu(Index),
    LeakyRelu(Index, f64),
    Sigmoid(Index),
    Tanh(Index),
    Exp(Index),
    Ln(Index),
    Powf(Index, f64),
    T(Index),
    Sum(Index),
    Mean(Index),
    /// `+ - * /` of two nodes, broadcasting (0..5: the last two divide by a positive and
    /// by a negative denominator).
    Binary(u8, Index, Index),
    /// `+ - * /` of a node and an `f64`, the node on the left or on the right.
    Scalar(u8, Index, f64, bool),
    MatMul(Index, Index),
    /// bce_with_logits, binary_cross_entropy, mse, softmax_cross_entropy, cross_entropy
    /// on labels (0..5).
    Loss(u8, Index),
    /// sum_axis, mean_axis, max_axis, var_axis (0..4) along an axis.
    Reduce(u8, Index, usize),
    /// softmax, log_softmax, logsumexp (0..3) along an axis.
    Softmax(u8, Index, usize),
    /// abs, sqrt, square, clamp, softplus (a custom op) (0..5).
    Elementwise(u8, Index),
    /// maximum (true) or minimum of two nodes, broadcasting.
    MaxMin(bool, Index, Index),
    /// Rows (0) or columns (1) from the first index, as many as the second allows.
    Slice(usize, Index, Index, Index),
    /// Two nodes joined along an axis (the first with itself if the shapes do not fit;
    /// the first alone if the result would pass 36 elements).
    Concat(usize, Index, Index),
    /// Rows of a node picked by up to four indices (repeats allowed).
    Gather(Index, Vec<Index>),
    /// Reshape to the transposed shape (false) or to one row (true).
    Reshape(Index, bool),
}

/// A random graph: its leaves (the inputs gradcheck perturbs), then its steps.
#[derive(Clone, Debug)]
struct Graph {
    leaves: Vec<Tensor>,
    steps: Vec<Step>,
}

fn step() -> impl Strategy<Value = Step> {
    let i = any::<Index>;
    prop_oneof![
        1 => i().prop_map(Step::Neg),
        1 => i().prop_map(Step::Relu),
        1 => (i(), prop::sample::select(vec![0.01, 0.2, -0.3])).prop_map(|(a, s)| Step::LeakyRelu(a, s)),
        1 => i().prop_map(Step::Sigmoid),
        1 => i().prop_map(Step::Tanh),
        1 => i().prop_map(Step::Exp),
        1 => i().prop_map(Step::Ln),
        1 => (i(), prop::sample::select(vec![2.0, 3.0, 0.5, 1.5, -0.5, -1.0, -1.7])).prop_map(|(a, p)| Step::Powf(a, p)),
        1 => i().prop_map(Step::T),
        1 => i().prop_map(Step::Sum),
        1 => i().prop_map(Step::Mean),
        3 => (0..5u8, i(), i()).prop_map(|(op, a, b)| Step::Binary(op, a, b)),
        1 => (0..4u8, i(), -2.0..2.0f64, any::<bool>()).prop_map(|(op, a, s, left)| Step::Scalar(op, a, s, left)),
        2 => (i(), i()).prop_map(|(a, b)| Step::MatMul(a, b)),
        1 => (0..5u8, i()).prop_map(|(l, a)| Step::Loss(l, a)),
        2 => (0..4u8, i(), 0..2usize).prop_map(|(r, a, axis)| Step::Reduce(r, a, axis)),
        2 => (0..3u8, i(), 0..2usize).prop_map(|(s, a, axis)| Step::Softmax(s, a, axis)),
        2 => (0..5u8, i()).prop_map(|(e, a)| Step::Elementwise(e, a)),
        1 => (any::<bool>(), i(), i()).prop_map(|(hi, a, b)| Step::MaxMin(hi, a, b)),
        1 => (0..2usize, i(), i(), i()).prop_map(|(axis, a, s, n)| Step::Slice(axis, a, s, n)),
        1 => (0..2usize, i(), i()).prop_map(|(axis, a, b)| Step::Concat(axis, a, b)),
        1 => (i(), prop::collection::vec(i(), 1..=4)).prop_map(|(a, rows)| Step::Gather(a, rows)),
        1 => (i(), any::<bool>()).prop_map(|(a, flat)| Step::Reshape(a, flat)),
    ]
}

fn graph() -> impl Strategy<Value = Graph> {
    let dims = (1..=3usize, 1..=3usize, 1..=3usize);
    let leaf = (0..6usize, prop::collection::vec(-2.0..2.0f64, 9));
    (dims, prop::collection::vec(leaf, 1..=4), prop::collection::vec(step(), 1..=10)).prop_map(
        |((r, c, k), leaves, steps)| {
            // The first leaf is always (r, c); the others take one of the shapes that meet
            // it in a matmul or a broadcast.
            let shapes = [(r, c), (c, k), (1, c), (r, 1), (1, 1), (r, k)];
            let leaves = leaves
                .into_iter()
                .enumerate()
                .map(|(n, (s, values))| {
                    let (rows, cols) = if n == 0 { (r, c) } else { shapes[s] };
                    Tensor::from_vec(rows, cols, values[..rows * cols].to_vec())
                })
                .collect();
            Graph { leaves, steps }
        },
    )
}

/// The value-dependent constants of a graph: decided while recording at the original
/// inputs, replayed unchanged at every perturbed point.
#[derive(Clone, Debug, Default)]
struct Plan {
    recording: bool,
    shifts: Vec<Tensor>,
    scales: Vec<f64>,
    choices: Vec<bool>,
    next_shift: usize,
    next_scale: usize,
    next_choice: usize,
}

impl Plan {
    /// A tensor to add to `x` so that no element lies within 0.05 of 0.
    fn shift(&mut self, x: Var<'_>) -> Tensor {
        if self.recording {
            let away = |v: f64| {
                if v.abs() >= 0.05 {
                    0.0
                } else if v >= 0.0 {
                    0.1
                } else {
                    -0.1
                }
            };
            self.shifts.push(x.value().map(away));
        }
        self.next_shift += 1;
        self.shifts[self.next_shift - 1].clone()
    }

    /// A factor that brings `x` back below 50 when it has grown past it.
    fn scale(&mut self, x: Var<'_>) -> f64 {
        if self.recording {
            let m = x.value().max_abs();
            self.scales.push(if m > 50.0 { 10.0 / m } else { 1.0 });
        }
        self.next_scale += 1;
        self.scales[self.next_scale - 1]
    }

    /// Whether every lane of `x` along `axis` has its largest value at least 0.01
    /// above the next (so `max_axis` is smooth around it).
    fn clear_max(&mut self, x: Var<'_>, axis: usize) -> bool {
        if self.recording {
            let v = x.value();
            let (r, c) = v.shape();
            let lanes: Vec<Vec<f64>> = match axis {
                0 => (0..c).map(|j| (0..r).map(|i| v.get(i, j)).collect()).collect(),
                _ => (0..r).map(|i| v.row(i).to_vec()).collect(),
            };
            let clear = lanes.into_iter().all(|mut lane| {
                lane.sort_by(|a, b| b.total_cmp(a));
                lane.len() < 2 || lane[0] - lane[1] >= 0.01
            });
            self.choices.push(clear);
        }
        self.next_choice += 1;
        self.choices[self.next_choice - 1]
    }

    fn replay(&self) -> Plan {
        Plan { recording: false, next_shift: 0, next_scale: 0, next_choice: 0, ..self.clone() }
    }
}

fn arith<'t>(op: u8, a: Var<'t>, b: Var<'t>) -> Var<'t> {
    match op {
        0 => a + b,
        1 => a - b,
        2 => a * b,
        3 => a / (b * b + 0.5),
        _ => a / (-0.5 - b * b),
    }
}

fn broadcasts(a: (usize, usize), b: (usize, usize)) -> bool {
    let dim = |x: usize, y: usize| x == y || x == 1 || y == 1;
    dim(a.0, b.0) && dim(a.1, b.1)
}

/// A 0/1 target pattern of `shape`.
fn binary_targets((r, c): (usize, usize)) -> Tensor {
    Tensor::from_vec(r, c, (0..r * c).map(|i| ((i * 7 + 3) % 2) as f64).collect())
}

/// Target rows of `shape` that are probability distributions.
fn soft_targets((r, c): (usize, usize)) -> Tensor {
    let mut t = Tensor::from_vec(r, c, (0..r * c).map(|i| 1.0 + (i % 3) as f64).collect());
    for i in 0..r {
        let total: f64 = t.row(i).iter().sum();
        t.data_mut()[i * c..(i + 1) * c].iter_mut().for_each(|v| *v /= total);
    }
    t
}

/// Records the graph on the tape of `leaves` and returns its last node.
/// ln(1 + e^x) as a custom op, so custom ops take part in random graphs too.
struct Softplus;

impl tapegrad::CustomOp for Softplus {
    fn name(&self) -> &'static str {
        "softplus"
    }
    fn forward(&self, x: &[&Tensor]) -> Tensor {
        x[0].map(|x| x.max(0.0) + (-x.abs()).exp().ln_1p())
    }
    fn backward(&self, _: usize, x: &[&Tensor], _: &Tensor, g: &Tensor) -> Tensor {
        let d = g.data().iter().zip(x[0].data()).map(|(g, x)| g / (1.0 + (-x).exp())).collect();
        Tensor::from_vec(g.rows(), g.cols(), d)
    }
}

static SOFTPLUS: Softplus = Softplus;

/// Clamp's bounds in random graphs.
const CLAMP: (f64, f64) = (-0.5, 0.7);

fn build<'t>(graph: &Graph, leaves: &[Var<'t>], plan: &mut Plan) -> Var<'t> {
    let tape = leaves[0].tape();
    let mut nodes: Vec<Var<'t>> = leaves.to_vec();
    for step in &graph.steps {
        let pick = |i: &Index| nodes[i.index(nodes.len())];
        let positive = |x: Var<'t>| x * x + 0.5;
        let y = match step {
            Step::Neg(a) => -pick(a),
            Step::Relu(a) => {
                let x = pick(a);
                (x + tape.constant(plan.shift(x))).relu()
            }
            Step::LeakyRelu(a, s) => {
                let x = pick(a);
                (x + tape.constant(plan.shift(x))).leaky_relu(*s)
            }
            Step::Sigmoid(a) => pick(a).sigmoid(),
            Step::Tanh(a) => pick(a).tanh(),
            Step::Exp(a) => pick(a).exp(),
            Step::Ln(a) => positive(pick(a)).ln(),
            Step::Powf(a, p) => positive(pick(a)).powf(*p),
            Step::T(a) => pick(a).t(),
            Step::Sum(a) => pick(a).sum(),
            Step::Mean(a) => pick(a).mean(),
            Step::Binary(op, a, b) => {
                let (a, b) = (pick(a), pick(b));
                let b = if broadcasts(a.shape(), b.shape()) {
                    b
                } else if broadcasts(a.shape(), b.t().shape()) {
                    b.t()
                } else {
                    b.mean()
                };
                arith(*op, a, b)
            }
            Step::Scalar(op, a, s, left) => {
                let (x, s) = (pick(a), *s);
                match (op, left) {
                    (0, true) => x + s,
                    (0, false) => s + x,
                    (1, true) => x - s,
                    (1, false) => s - x,
                    (2, true) => x * s,
                    (2, false) => s * x,
                    (_, true) => x / (s.abs() + 0.5),
                    (_, false) => s / positive(x),
                }
            }
            Step::MatMul(a, b) => {
                let (a, b) = (pick(a), pick(b));
                let ((ar, ac), (br, bc)) = (a.shape(), b.shape());
                if ac == br {
                    a.matmul(b)
                } else if ac == bc {
                    a.matmul(b.t())
                } else if ar == br {
                    a.t().matmul(b)
                } else {
                    a.matmul(a.t())
                }
            }
            Step::Loss(l, a) => {
                let x = pick(a);
                match l {
                    0 => x.bce_with_logits(&binary_targets(x.shape())),
                    1 => (x.sigmoid() * 0.9 + 0.05).binary_cross_entropy(&binary_targets(x.shape()), 1e-12),
                    2 => x.mse(&soft_targets(x.shape())),
                    3 => x.softmax_cross_entropy(&soft_targets(x.shape())),
                    _ => {
                        let (r, c) = x.shape();
                        x.cross_entropy(&(0..r).map(|i| (i * 7 + 3) % c).collect::<Vec<_>>())
                    }
                }
            }
            Step::Reduce(r, a, axis) => {
                let x = pick(a);
                match r {
                    0 => x.sum_axis(*axis),
                    1 => x.mean_axis(*axis),
                    2 if plan.clear_max(x, *axis) => x.max_axis(*axis),
                    2 => x.mean_axis(*axis),
                    _ => x.var_axis(*axis),
                }
            }
            Step::Softmax(k, a, axis) => {
                let x = pick(a);
                match k {
                    0 => x.softmax(*axis),
                    1 => x.log_softmax(*axis),
                    _ => x.logsumexp(*axis),
                }
            }
            Step::Elementwise(e, a) => {
                let x = pick(a);
                match e {
                    0 => (x + tape.constant(plan.shift(x))).abs(),
                    1 => positive(x).sqrt(),
                    2 => x.square(),
                    3 => {
                        let x = x + tape.constant(plan.shift(x - CLAMP.0));
                        let x = x + tape.constant(plan.shift(x - CLAMP.1));
                        x.clamp(CLAMP.0, CLAMP.1)
                    }
                    _ => Var::custom(&SOFTPLUS, &[x]),
                }
            }
            Step::MaxMin(hi, a, b) => {
                let (a, b) = (pick(a), pick(b));
                let b = if broadcasts(a.shape(), b.shape()) { b } else { b.mean() };
                // a + shift(a - b) has the broadcast shape and stays 0.05 from b.
                let a = a + tape.constant(plan.shift(a - b));
                if *hi { a.maximum(b) } else { a.minimum(b) }
            }
            Step::Slice(axis, a, start, count) => {
                let x = pick(a);
                let len = if *axis == 0 { x.shape().0 } else { x.shape().1 };
                let from = start.index(len);
                let to = from + 1 + count.index(len - from);
                if *axis == 0 { x.slice_rows(from..to) } else { x.slice_cols(from..to) }
            }
            Step::Concat(axis, a, b) => {
                let (a, b) = (pick(a), pick(b));
                let fits = if *axis == 0 { a.shape().1 == b.shape().1 } else { a.shape().0 == b.shape().0 };
                let b = if fits { b } else { a };
                // Bounded, so that repeated joins do not make gradcheck slow.
                let small = a.with_value(Tensor::len) + b.with_value(Tensor::len) <= 36;
                if small { Var::concat(&[a, b], *axis) } else { a }
            }
            Step::Gather(a, rows) => {
                let x = pick(a);
                let picked: Vec<usize> = rows.iter().map(|i| i.index(x.shape().0)).collect();
                x.gather_rows(&picked)
            }
            Step::Reshape(a, flat) => {
                let x = pick(a);
                let (r, c) = x.shape();
                if *flat { x.reshape(1, r * c) } else { x.reshape(c, r) }
            }
        };
        let s = plan.scale(y);
        nodes.push(if s == 1.0 { y } else { y * s });
    }
    *nodes.last().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_graphs_pass_gradcheck(graph in graph()) {
        let plan = {
            let tape = Tape::new();
            let leaves: Vec<Var<'_>> = graph.leaves.iter().map(|t| tape.leaf_from(t)).collect();
            let mut plan = Plan { recording: true, ..Plan::default() };
            let y = build(&graph, &leaves, &mut plan);
            prop_assert!(y.value().is_finite(), "non-finite output {:?}", y.value());
            plan
        };
        if let Err(e) = gradcheck(&graph.leaves, |v| build(&graph, v, &mut plan.replay())) {
            return Err(TestCaseError::fail(e.to_string()));
        }
    }
}
