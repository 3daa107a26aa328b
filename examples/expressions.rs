//! A model written as an expression, by hand: a 2 → 4 → 1 network with a tanh hidden
//! layer learns XOR by plain gradient descent. Each step records the forward pass on a
//! tape (parameters enter as leaves), `backward` derives every gradient, and the
//! parameters are updated from `grads.wrt(..)`. No layer type, no hand-written derivative.
//!
//! Run with `cargo run --example expressions`.

use tapegrad::prelude::*;

/// The model: `tanh(x·W1 + b1)·W2 + b2`, the `(1, k)` biases broadcast over the rows.
fn logits<'t>(x: Var<'t>, w1: Var<'t>, b1: Var<'t>, w2: Var<'t>, b2: Var<'t>) -> Var<'t> {
    (x.matmul(w1) + b1).tanh().matmul(w2) + b2
}

fn main() {
    // The four XOR points, one per row, and their labels.
    let x = Tensor::from_vec(4, 2, vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    let y = Tensor::from_vec(4, 1, vec![0.0, 1.0, 1.0, 0.0]);

    // Small, fixed, asymmetric starting weights; biases at zero.
    let mut w1 = Tensor::from_vec(2, 4, vec![0.5, -0.4, 0.3, 0.8, -0.6, 0.7, 0.2, -0.9]);
    let mut b1 = Tensor::zeros(1, 4);
    let mut w2 = Tensor::from_vec(4, 1, vec![0.4, -0.3, 0.6, -0.5]);
    let mut b2 = Tensor::zeros(1, 1);

    let learning_rate = 1.0;
    let mut tape = Tape::new();
    for step in 0..=200 {
        tape.reset(); // keeps its buffers: no allocation per step once warm
        let input = tape.constant_from(&x);
        let [w1v, b1v, w2v, b2v] = [&w1, &b1, &w2, &b2].map(|p| tape.leaf_from(p));
        let loss = logits(input, w1v, b1v, w2v, b2v).bce_with_logits(&y);
        let grads = loss.backward();
        if step % 20 == 0 {
            println!("step {step:3}  loss {:.4}", loss.item());
        }
        // Gradient descent: p ← p - lr · dloss/dp.
        for (param, var) in [(&mut w1, w1v), (&mut b1, b1v), (&mut w2, w2v), (&mut b2, b2v)] {
            for (p, g) in param.data_mut().iter_mut().zip(grads.wrt(var).data()) {
                *p -= learning_rate * g;
            }
        }
    }

    // The trained model's probabilities, computed with the same expression.
    let tape = Tape::new();
    let [w1v, b1v, w2v, b2v] = [&w1, &b1, &w2, &b2].map(|p| tape.constant_from(p));
    let p = logits(tape.constant_from(&x), w1v, b1v, w2v, b2v).sigmoid().value();
    for i in 0..4 {
        println!("{:?} -> {:.3} (label {})", x.row(i), p.get(i, 0), y.get(i, 0));
    }
}
