//! A custom op written as a user would: GELU (the tanh form of Hendrycks and Gimpel),
//! with its forward pass and its derivative as one `CustomOp`. The example checks the
//! derivative against finite differences with `gradcheck`, compares the op with the same
//! formula written from built-in ops, shows the op by its name in the tape's Graphviz
//! export, and uses it as the activation of a small network trained on XOR.
//!
//! Run with `cargo run --example custom_op`.

use tapegrad::CustomOp;
use tapegrad::gradcheck::gradcheck;
use tapegrad::prelude::*;

/// √(2/π).
const C: f64 = 0.797_884_560_802_865_4;
const A: f64 = 0.044_715;

/// gelu(x) = ½x(1 + tanh u), u = C(x + A x³);
/// gelu'(x) = ½(1 + tanh u) + ½x(1 - tanh² u)·C(1 + 3A x²).
struct Gelu;

impl CustomOp for Gelu {
    fn name(&self) -> &'static str {
        "gelu"
    }

    fn forward(&self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| 0.5 * x * (1.0 + (C * (x + A * x * x * x)).tanh()))
    }

    fn backward(&self, _input: usize, inputs: &[&Tensor], _output: &Tensor, grad: &Tensor) -> Tensor {
        let slope = inputs[0].map(|x| {
            let t = (C * (x + A * x * x * x)).tanh();
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * C * (1.0 + 3.0 * A * x * x)
        });
        let data = grad.data().iter().zip(slope.data()).map(|(g, s)| g * s).collect();
        Tensor::from_vec(grad.rows(), grad.cols(), data)
    }
}

static GELU: Gelu = Gelu;

/// The same function from built-in ops, to compare with.
fn gelu_from_ops(x: Var<'_>) -> Var<'_> {
    x * 0.5 * (((x + x.powf(3.0) * A) * C).tanh() + 1.0)
}

fn main() {
    // 1. The derivative against central finite differences, alone and inside a graph.
    let x0 = Tensor::from_rows(&[[-3.0, -1.0, -0.1, 0.2], [0.7, 1.5, 4.0, -0.5]]);
    gradcheck(std::slice::from_ref(&x0), |v| Var::custom(&GELU, &[v[0]])).expect("gelu's derivative");
    let w0 = Tensor::from_rows(&[[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.2, 0.1]]);
    gradcheck(&[x0.clone(), w0], |v| Var::custom(&GELU, &[v[0]]).matmul(v[1]).softmax(1)).expect("gelu in a graph");
    println!("gradcheck: gelu's derivative agrees with finite differences");

    // 2. The same values and gradients as the formula written from built-in ops.
    let tape = Tape::new();
    let x = tape.leaf(x0);
    let custom = Var::custom(&GELU, &[x]);
    let built = gelu_from_ops(x);
    let (gc, gb) = (custom.sum().backward().wrt(x).clone(), built.sum().backward().wrt(x).clone());
    let worst = |a: &Tensor, b: &Tensor| a.data().iter().zip(b.data()).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
    println!(
        "custom op vs built-in ops: values differ by at most {:.1e}, gradients by {:.1e}",
        worst(&custom.value(), &built.value()),
        worst(&gc, &gb)
    );

    // 3. In the graph export, by its name.
    let tape = Tape::new();
    let x = tape.leaf(Tensor::from_rows(&[[0.5, -0.5]]));
    let y = Var::custom(&GELU, &[x]).sum();
    let dot = tape.to_dot_with(&y.backward());
    let node = dot.lines().find(|l| l.contains("gelu")).expect("a gelu node");
    println!("graph export: {}", node.trim());

    // 4. As the activation of a 2 → 8 → 1 network learning XOR.
    let xs = Tensor::from_rows(&[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
    let ys = Tensor::from_rows(&[[0.0], [1.0], [1.0], [0.0]]);
    let mut rng = seeded_rng(0, 0);
    let mut params = [
        Init::XavierNormal.init(ParamShape::weight(2, 8), &mut rng),
        Tensor::zeros(1, 8),
        Init::XavierNormal.init(ParamShape::weight(8, 1), &mut rng),
        Tensor::zeros(1, 1),
    ];
    let mut tape = Tape::new();
    for epoch in 0..=2000 {
        tape.reset();
        let [w1, b1, w2, b2] = params.each_ref().map(|p| tape.leaf_from(p));
        let hidden = Var::custom(&GELU, &[tape.constant_from(&xs).affine(w1, b1)]);
        let loss = hidden.affine(w2, b2).bce_with_logits(&ys);
        if epoch % 500 == 0 {
            println!("epoch {epoch:4}: loss {:.4}", loss.item());
        }
        let grads = loss.backward();
        for (p, v) in params.iter_mut().zip([w1, b1, w2, b2]) {
            p.data_mut().iter_mut().zip(grads.wrt(v).data()).for_each(|(p, g)| *p -= 0.5 * g);
        }
    }
}
