//! Every op's backward rule against central finite differences, one case per op. The
//! matches below have no wildcard arm, so an op added to [`Op`] (or to one of its
//! families) does not compile until it has a case here.

use crate::gradcheck::gradcheck;
use crate::tape::Var;
use crate::tensor::Tensor;

use super::{Axis, Binary, Custom, CustomOp, Loss, Op, Reduce, SoftmaxFamily, Structure, Unary};

/// A `rows x cols` tensor of unequal values in about (-2, 2), at least 0.1 from zero,
/// with no two equal (so maxima, kinks and clamp bounds are not hit by accident).
fn t(rows: usize, cols: usize, seed: u64) -> Tensor {
    let data = (0..rows * cols)
        .map(|i| {
            let v = 1.9 * ((i as f64 + 1.0) * 1.37 + seed as f64 * 2.71).sin();
            if v.abs() < 0.1 { v + 0.3 * v.signum() } else { v }
        })
        .collect();
    Tensor::from_vec(rows, cols, data)
}

/// Values in (0.5, 2.5), for ops defined on positive numbers.
fn pos(rows: usize, cols: usize, seed: u64) -> Tensor {
    t(rows, cols, seed).map(|v| 1.5 + v / 1.9)
}

fn check(what: String, inputs: &[Tensor], f: impl for<'t> Fn(&[Var<'t>]) -> Var<'t>) {
    if let Err(e) = gradcheck(inputs, f) {
        panic!("{what}: {e}");
    }
}

/// A custom op for the table: `x·y` elementwise, same shapes.
struct Product;

impl CustomOp for Product {
    fn name(&self) -> &'static str {
        "product"
    }
    fn forward(&self, x: &[&Tensor]) -> Tensor {
        Tensor::from_vec(x[0].rows(), x[0].cols(), x[0].data().iter().zip(x[1].data()).map(|(a, b)| a * b).collect())
    }
    fn backward(&self, k: usize, x: &[&Tensor], _: &Tensor, g: &Tensor) -> Tensor {
        let other = x[1 - k];
        Tensor::from_vec(g.rows(), g.cols(), g.data().iter().zip(other.data()).map(|(g, o)| g * o).collect())
    }
}

static PRODUCT: Product = Product;

/// One representative of every op and every family member.
fn all_ops() -> Vec<Op> {
    let mut ops = vec![Op::Leaf, Op::Constant, Op::MatMul, Op::Affine, Op::Transpose, Op::Sum, Op::Mean];
    let unary = [Unary::Neg, Unary::Relu, Unary::LeakyRelu(0.1), Unary::Sigmoid, Unary::Tanh, Unary::Exp];
    ops.extend(
        unary.into_iter().chain([Unary::Ln, Unary::Powf(1.5), Unary::Abs, Unary::Sqrt, Unary::Square]).map(Op::Unary),
    );
    ops.extend([Binary::Add, Binary::Sub, Binary::Mul, Binary::Div, Binary::Max, Binary::Min].map(Op::Binary));
    for axis in [Axis::Rows, Axis::Cols] {
        ops.extend([Reduce::Sum, Reduce::Mean, Reduce::Max, Reduce::Var].map(|r| Op::Reduce(r, axis)));
        ops.extend(
            [SoftmaxFamily::Softmax, SoftmaxFamily::LogSoftmax, SoftmaxFamily::LogSumExp].map(|s| Op::Softmax(s, axis)),
        );
        ops.push(Op::Structure(Structure::Slice { axis, start: 1, end: 3 }));
        ops.push(Op::Structure(Structure::Concat(axis)));
    }
    ops.push(Op::Clamp(-0.5, 0.7));
    ops.extend([Structure::GatherRows, Structure::Reshape { rows: 6, cols: 2 }, Structure::Detach].map(Op::Structure));
    ops.extend(
        [Loss::BceWithLogits, Loss::Bce { eps: 1e-5 }, Loss::Mse, Loss::SoftmaxCrossEntropy, Loss::CrossEntropy]
            .map(Op::Loss),
    );
    ops.push(Op::Custom(Custom(&PRODUCT)));
    ops
}

/// Gradchecks `op` on inputs chosen for it.
fn check_op(op: Op) {
    let name = format!("{op:?}");
    let unary = |x: Tensor| check(name.clone(), &[x], move |v| v[0].apply(op, &[]));
    match op {
        // Inputs: checked as the inputs of every other case.
        Op::Leaf | Op::Constant => {}
        Op::Unary(u) => match u {
            Unary::Ln | Unary::Powf(_) | Unary::Sqrt => unary(pos(3, 4, 1)),
            Unary::Neg | Unary::Relu | Unary::LeakyRelu(_) | Unary::Sigmoid | Unary::Tanh | Unary::Exp => {
                unary(t(3, 4, 1))
            }
            Unary::Abs | Unary::Square => unary(t(3, 4, 1)),
        },
        Op::Binary(b) => {
            let forms = [((3, 4), (3, 4)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((1, 1), (3, 4)), ((3, 1), (1, 4))];
            for (i, (a, c)) in forms.into_iter().enumerate() {
                let rhs = match b {
                    Binary::Div => pos(c.0, c.1, 9 + i as u64),
                    Binary::Add | Binary::Sub | Binary::Mul | Binary::Max | Binary::Min => t(c.0, c.1, 9 + i as u64),
                };
                check(format!("{name} {a:?} with {c:?}"), &[t(a.0, a.1, 2), rhs], move |v| v[0].apply(op, &[v[1]]));
            }
        }
        Op::MatMul => check(name, &[t(2, 3, 1), t(3, 4, 2)], move |v| v[0].apply(op, &[v[1]])),
        Op::Affine => check(name, &[t(4, 3, 1), t(3, 2, 2), t(1, 2, 3)], move |v| v[0].apply(op, &[v[1], v[2]])),
        Op::Transpose | Op::Sum | Op::Mean => unary(t(3, 4, 1)),
        Op::Reduce(r, _) => match r {
            Reduce::Sum | Reduce::Mean | Reduce::Max | Reduce::Var => unary(t(3, 4, 1)),
        },
        Op::Softmax(s, _) => match s {
            SoftmaxFamily::Softmax | SoftmaxFamily::LogSoftmax | SoftmaxFamily::LogSumExp => unary(t(3, 4, 1)),
        },
        Op::Clamp(..) => unary(t(3, 4, 1)),
        Op::Structure(s) => match s {
            Structure::Slice { .. } | Structure::Reshape { .. } => unary(t(3, 4, 1)),
            Structure::Concat(Axis::Rows) => check(name, &[t(2, 4, 1), t(3, 4, 2)], move |v| v[0].apply(op, &[v[1]])),
            Structure::Concat(Axis::Cols) => check(name, &[t(3, 2, 1), t(3, 4, 2)], move |v| v[0].apply(op, &[v[1]])),
            Structure::GatherRows => check(name, &[t(3, 4, 1)], |v| v[0].gather_rows(&[2, 0, 2, 2])),
            // No gradient flows through it, which finite differences cannot see: d/dx of
            // Σ x·detach(x) is x, where the undetached product's is 2x.
            Structure::Detach => {
                let tape = crate::Tape::new();
                let x = tape.leaf(t(3, 4, 1));
                let y = (x * x.detach()).sum();
                assert_eq!(y.backward().wrt(x), &t(3, 4, 1), "{name}");
            }
        },
        Op::Loss(l) => {
            let targets = match l {
                Loss::BceWithLogits | Loss::Mse => t(4, 3, 5).map(|v| (v > 0.0) as u8 as f64),
                Loss::Bce { .. } => t(4, 3, 5).map(|v| (v > 0.0) as u8 as f64),
                Loss::SoftmaxCrossEntropy => {
                    Tensor::from_rows(&[[0.2, 0.8, 0.0], [0.0, 0.0, 1.0], [0.5, 0.25, 0.25], [1.0, 0.0, 0.0]])
                }
                Loss::CrossEntropy => return check(name, &[t(4, 3, 1)], |v| v[0].cross_entropy(&[2, 0, 1, 2])),
            };
            let z = if matches!(l, Loss::Bce { .. }) { pos(4, 3, 1).map(|p| p / 3.0) } else { t(4, 3, 1) };
            check(name, &[z], move |v| {
                let targets = v[0].tape().constant(targets.clone());
                v[0].apply(op, &[targets])
            });
        }
        Op::Custom(_) => check(name, &[t(3, 4, 1), t(3, 4, 2)], move |v| v[0].apply(op, &[v[1]])),
    }
}

#[test]
fn every_op_passes_gradcheck() {
    for op in all_ops() {
        check_op(op);
    }
}
