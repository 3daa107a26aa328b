//! Pins the gradients of reference expressions as text snapshots (through
//! `tapegrad::snapshot::format_gradients`), so any change in a derivative shows up as a
//! readable diff: the README's expression, a small two-layer network with a loss, a
//! broadcast bias, and one expression per family of the ops beyond the reference
//! network (axis reductions, the softmax family, structure ops, elementwise ops). Each
//! test also gradchecks the same function, so what is pinned has been verified against
//! finite differences, never only recorded.

use insta::assert_snapshot;
use tapegrad::gradcheck::gradcheck;
use tapegrad::prelude::*;
use tapegrad::snapshot::format_gradients;

fn check<F>(inputs: &[Tensor], f: F)
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    if let Err(e) = gradcheck(inputs, f) {
        panic!("{e}");
    }
}

/// The README's expression (micrograd's sanity check).
fn sanity<'t>(x: Var<'t>) -> Var<'t> {
    let z = 2.0 * x + 2.0 + x;
    let q = z.relu() + z * x;
    let h = (z * z).relu();
    h + q + q * x
}

#[test]
fn micrograd_sanity_gradient() {
    let tape = Tape::new();
    let x = tape.scalar(-4.0);
    let grads = sanity(x).backward();
    assert_eq!(grads.wrt(x).item(), 46.0);
    check(&[Tensor::scalar(-4.0)], |v| sanity(v[0]));
    assert_snapshot!(format_gradients([("x", grads.wrt(x))]));
}

/// Fixed inputs and parameters of a 2 → 3 → 1 network; every hidden pre-activation is
/// at least 0.1 away from relu's kink.
fn two_layer_inputs() -> [Tensor; 5] {
    [
        Tensor::from_vec(4, 2, vec![0.5, -1.0, 1.5, 0.25, -0.75, 2.0, 1.0, 1.0]),
        Tensor::from_vec(2, 3, vec![0.8, -0.4, 0.3, -0.6, 0.9, 0.7]),
        Tensor::from_vec(1, 3, vec![0.1, -0.2, 0.05]),
        Tensor::from_vec(3, 1, vec![1.2, -0.7, 0.5]),
        Tensor::from_vec(1, 1, vec![-0.3]),
    ]
}

fn two_layer_targets() -> Tensor {
    Tensor::from_vec(4, 1, vec![1.0, 0.0, 1.0, 0.0])
}

/// `bce_with_logits(relu(x·W1 + b1)·W2 + b2)`.
fn two_layer<'t>(v: &[Var<'t>], y: &Tensor) -> Var<'t> {
    let h = (v[0].matmul(v[1]) + v[2]).relu();
    (h.matmul(v[3]) + v[4]).bce_with_logits(y)
}

#[test]
fn two_layer_network_gradients() {
    let inputs = two_layer_inputs();
    let y = two_layer_targets();
    let pre = inputs[0].matmul(&inputs[1]);
    for i in 0..4 {
        for j in 0..3 {
            let z = pre.get(i, j) + inputs[2].get(0, j);
            assert!(z.abs() >= 0.1, "pre-activation ({i},{j}) = {z} is too close to relu's kink");
        }
    }
    check(&inputs, |v| two_layer(v, &y));

    let tape = Tape::new();
    let v: Vec<Var<'_>> = inputs.iter().map(|t| tape.leaf_from(t)).collect();
    let loss = two_layer(&v, &y);
    let grads = loss.backward();

    // The same network through sigmoid and the clipped binary_cross_entropy computes the
    // same loss and, up to eps, the same gradients.
    let tape2 = Tape::new();
    let v2: Vec<Var<'_>> = inputs.iter().map(|t| tape2.leaf_from(t)).collect();
    let h = (v2[0].matmul(v2[1]) + v2[2]).relu();
    let loss2 = (h.matmul(v2[3]) + v2[4]).sigmoid().binary_cross_entropy(&y, 1e-12);
    let grads2 = loss2.backward();
    assert!((loss.item() - loss2.item()).abs() < 1e-9, "{} vs {}", loss.item(), loss2.item());
    for (&a, &b) in v.iter().zip(&v2) {
        for (g, g2) in grads.wrt(a).data().iter().zip(grads2.wrt(b).data()) {
            assert!((g - g2).abs() < 1e-9, "{g} vs {g2}");
        }
    }

    let names = ["x", "W1", "b1", "W2", "b2"];
    let text = format_gradients(
        [("loss", &loss.value())].into_iter().chain(names.iter().zip(&v).map(|(n, &p)| (*n, grads.wrt(p)))),
    );
    assert_snapshot!(text);
}

#[test]
fn broadcast_bias_gradient_is_the_column_sums() {
    let x = Tensor::from_vec(3, 2, vec![1.0, -2.0, 0.5, 0.25, -1.5, 3.0]);
    let w = Tensor::from_vec(2, 4, vec![0.2, -0.1, 0.4, 0.3, -0.5, 0.6, 0.1, -0.2]);
    let b = Tensor::from_vec(1, 4, vec![0.5, -0.5, 1.0, 0.0]);
    let t = Tensor::from_vec(3, 4, vec![1.0, 0.0, -1.0, 2.0, 0.5, 0.5, 0.0, 1.0, -1.0, 1.0, 2.0, 0.0]);
    check(&[x.clone(), w.clone(), b.clone()], |v| (v[0].matmul(v[1]) + v[2]).mse(&t));

    let tape = Tape::new();
    let (xv, wv, bv) = (tape.leaf_from(&x), tape.leaf_from(&w), tape.leaf_from(&b));
    let z = xv.matmul(wv) + bv;
    let grads = z.mse(&t).backward();

    // Upstream gradient by hand, dL/dz = 2(z - t)/n, and b's gradient is its column sums.
    let zv = x.matmul(&w);
    let n = zv.len() as f64;
    let mut want = Tensor::zeros(1, 4);
    for i in 0..3 {
        for j in 0..4 {
            let dz = 2.0 * (zv.get(i, j) + b.get(0, j) - t.get(i, j)) / n;
            assert!((grads.wrt(z).get(i, j) - dz).abs() < 1e-12);
            want.data_mut()[j] += dz;
        }
    }
    for j in 0..4 {
        assert!((grads.wrt(bv).get(0, j) - want.get(0, j)).abs() < 1e-12, "column {j}");
    }
    assert_eq!(grads.wrt(bv).shape(), (1, 4));

    assert_snapshot!(format_gradients([("dL/dz", grads.wrt(z)), ("W", grads.wrt(wv)), ("b", grads.wrt(bv))]));
}

/// Distinct values, no two in a row or a column equal, none within 0.1 of 0 or ±1.
fn family_input() -> Tensor {
    Tensor::from_rows(&[[0.5, -1.2, 1.5, 2.0], [-0.5, 0.25, 0.9, -2.0], [1.25, 0.75, -1.5, 0.3]])
}

/// Records `f` at `inputs` and formats its values (`named` picks them out) and the loss's
/// gradient with respect to every input, after gradchecking it.
fn family_snapshot<F>(inputs: &[Tensor], names: &[&str], f: F) -> String
where
    F: for<'t> Fn(&[Var<'t>]) -> (Var<'t>, Vec<(&'static str, Var<'t>)>),
{
    check(inputs, |v| f(v).0);
    let tape = Tape::new();
    let v: Vec<Var<'_>> = inputs.iter().map(|t| tape.leaf_from(t)).collect();
    let (loss, parts) = f(&v);
    let grads = loss.backward();
    let values: Vec<(String, Tensor)> = parts.iter().map(|(n, p)| (n.to_string(), p.value())).collect();
    let mut named: Vec<(String, &Tensor)> = values.iter().map(|(n, t)| (n.clone(), t)).collect();
    let loss_value = loss.value();
    named.push(("loss".to_string(), &loss_value));
    named.extend(names.iter().zip(&v).map(|(n, &x)| (format!("d loss/d {n}"), grads.wrt(x))));
    format_gradients(named)
}

/// `Σ (max_axis(x, 1) - mean_axis(x, 1)) · (var_axis(x, 0) + sum_axis(x, 0))`.
#[test]
fn axis_reductions_gradients() {
    let text = family_snapshot(&[family_input()], &["x"], |v| {
        let x = v[0];
        let (a, c) = (x.max_axis(1), x.mean_axis(1));
        let (b, d) = (x.var_axis(0), x.sum_axis(0));
        (
            ((a - c) * (b + d)).sum(),
            vec![("max_axis(x, 1)", a), ("mean_axis(x, 1)", c), ("var_axis(x, 0)", b), ("sum_axis(x, 0)", d)],
        )
    });
    assert_snapshot!(text);
}

/// `cross_entropy(z, [3, 0, 1]) + ½ Σ softmax(z, 0)·z + mean(logsumexp(z, 1)) + Σ log_softmax(z, 0) / 10`.
#[test]
fn softmax_family_gradients() {
    let text = family_snapshot(&[family_input()], &["z"], |v| {
        let z = v[0];
        let ce = z.cross_entropy(&[3, 0, 1]);
        let (p, lse, ls) = (z.softmax(0), z.logsumexp(1), z.log_softmax(0));
        let loss = ce + (p * z).sum() * 0.5 + lse.mean() + ls.sum() * 0.1;
        (
            loss,
            vec![
                ("cross_entropy(z, [3, 0, 1])", ce),
                ("softmax(z, 0)", p),
                ("logsumexp(z, 1)", lse),
                ("log_softmax(z, 0)", ls),
            ],
        )
    });
    assert_snapshot!(text);
}

/// `Σ W ⊙ concat([gather_rows(E, [1, 3, 1]) ⊙ x[:, 1..3], reshape(x[0..1, :], 2, 2)], 0)`
/// for a fixed 5x2 `W`: linear in each input, so every gradient entry is a sum of
/// products that can be read off by hand.
#[test]
fn structure_ops_gradients() {
    let table = Tensor::from_rows(&[[0.1, 0.2], [0.3, -0.4], [0.5, 0.6], [-0.7, 0.8]]);
    let w = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [-1.0, -2.0], [0.5, 0.25]]);
    let text = family_snapshot(&[family_input(), table], &["x", "E"], |v| {
        let (x, e) = (v[0], v[1]);
        let g = e.gather_rows(&[1, 3, 1]);
        let s = x.slice_cols(1..3);
        let r = x.slice_rows(0..1).reshape(2, 2);
        let c = Var::concat(&[g * s, r], 0);
        ((c * x.tape().constant(w.clone())).sum(), vec![("gather_rows(E, [1, 3, 1])", g), ("concat", c)])
    });
    assert_snapshot!(text);
}

/// `Σ |x|·y² + sqrt(x² + 0.1) + clamp(x, -1, 1)·y + maximum(x, y) - minimum(x, y/2)`,
/// `y` a 1x4 row broadcast over `x`'s rows; no element at a kink, a bound or a tie.
#[test]
fn elementwise_ops_gradients() {
    let y = Tensor::from_rows(&[[0.4, -0.2, 1.0, -1.0]]);
    let text = family_snapshot(&[family_input(), y], &["x", "y"], |v| {
        let (x, y) = (v[0], v[1]);
        let (c, hi, lo) = (x.clamp(-1.0, 1.0), x.maximum(y), x.minimum(y * 0.5));
        let loss = (x.abs() * y.square() + (x.square() + 0.1).sqrt() + c * y + hi - lo).sum();
        (loss, vec![("clamp(x, -1, 1)", c), ("maximum(x, y)", hi), ("minimum(x, y/2)", lo)])
    });
    assert_snapshot!(text);
}
