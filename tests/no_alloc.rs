//! Steady state allocates nothing: once the first epoch has sized the tape's buffers, a
//! full training epoch — reset, record the forward pass, back-propagate, update the
//! parameters, drop the gradients — makes no heap allocation.
//!
//! Three workloads: elementwise ops with broadcasting and a loss, a network written
//! from the ops beyond the reference network (a layer norm from `mean_axis`, `var_axis`
//! and `sqrt`, an embedding looked up with `gather_rows`, `concat`, `slice_cols`,
//! `clamp`, `maximum`, `softmax`, `max_axis` and `cross_entropy` on labels), and the
//! reference network (dense layers, ReLU, `bce_with_logits`). Its products are narrow, so they run
//! in tapegrad's own kernel, which allocates nothing (the `gemm` crate, used for wide
//! products, allocates packing buffers on every call).
//!
//! A last test covers the cold start of scalar code: a new tape allocates as its arrays
//! grow, not per node.
//!
//! A counting global allocator counts the allocations of the current thread only, so
//! the test harness's other threads do not disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

#[allow(dead_code)]
#[path = "../benches/common/reference.rs"]
mod reference;

use reference::{LR, load_he, load_moons, tape_epoch};
use tapegrad::{Tape, Tensor, Var};

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

fn count() {
    // `try_with`: during thread teardown the counter may already be gone.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// A training epoch that uses every kind of op but `matmul`: a two-feature logistic model
/// with a tanh feature, broadcast operands on both sides, reductions and all four losses.
fn elementwise_epoch(tape: &mut Tape, x: &[Tensor; 2], y: &Tensor, params: &mut [Tensor; 3]) -> f64 {
    tape.reset();
    let tape = &*tape;
    let (x0, x1) = (tape.constant_from(&x[0]), tape.constant_from(&x[1]));
    let [w, v, b] = params.each_ref().map(|p| tape.leaf_from(p));
    let z = x0 * w + (x1 * v).tanh() - b / 2.0 + 0.1;
    let p = z.sigmoid();
    let loss = z.bce_with_logits(y) + p.binary_cross_entropy(y, 1e-8) + p.mse(y) + (z.relu().powf(2.0).mean() * 1e-3)
        - (-z).leaky_relu(0.1).exp().ln().sum() * 1e-6;
    let cost = loss.item();
    let grads = loss.backward();
    for (param, var) in params.iter_mut().zip([w, v, b]) {
        param.data_mut().iter_mut().zip(grads.wrt(var).data()).for_each(|(p, g)| *p -= LR * g);
    }
    cost
}

#[test]
fn a_tape_epoch_allocates_nothing_once_warm() {
    let data = load_moons();
    let column = |c: usize| Tensor::from_vec(data.x.rows(), 1, (0..data.x.rows()).map(|r| data.x.get(r, c)).collect());
    let x = [column(0), column(1)];
    let mut params = [Tensor::scalar(0.5), Tensor::scalar(-0.3), Tensor::scalar(0.0)];
    let mut tape = Tape::new();
    let first = allocations();
    elementwise_epoch(&mut tape, &x, &data.y, &mut params);
    assert!(allocations() > first, "the counter sees the first epoch's allocations");

    let before = allocations();
    let mut cost = 0.0;
    for _ in 0..10 {
        cost = elementwise_epoch(&mut tape, &x, &data.y, &mut params);
    }
    let during = allocations() - before;
    assert_eq!(during, 0, "10 warm epochs made {during} heap allocations");
    assert!(cost.is_finite());
}

/// The parameters of [`new_ops_epoch`]'s network.
struct Classifier {
    w1: Tensor,
    b1: Tensor,
    gain: Tensor,
    shift: Tensor,
    table: Tensor,
    w2: Tensor,
    b2: Tensor,
}

/// A training epoch of a two-class classifier built from the new ops: a dense layer, a
/// layer norm, an embedding of each sample's id, both joined and clamped, a product to
/// two logits and cross-entropy on the labels, with small penalties through the softmax
/// family and the elementwise ops.
fn new_ops_epoch(tape: &mut Tape, x: &Tensor, labels: &[usize], ids: &[usize], p: &mut Classifier) -> f64 {
    tape.reset();
    let tape = &*tape;
    let x = tape.constant_from(x);
    let [w1, b1, gain, shift, table, w2, b2] =
        [&p.w1, &p.b1, &p.gain, &p.shift, &p.table, &p.w2, &p.b2].map(|t| tape.leaf_from(t));
    let h = x.affine(w1, b1);
    let norm = (h - h.mean_axis(1)) / (h.var_axis(1) + 1e-5).sqrt() * gain + shift;
    let joined = Var::concat(&[norm.tanh(), table.gather_rows(ids)], 1).clamp(-0.95, 0.95);
    let logits = joined.slice_cols(0..14).matmul(w2) + b2;
    let confidence = logits.softmax(1).max_axis(1).mean() + logits.log_softmax(0).slice_rows(0..4).mean() * 1e-3;
    let penalty = w2.abs().sum() + table.square().sum() + h.maximum(norm).sum_axis(0).mean() * 1e-2;
    let loss = logits.cross_entropy(labels) + confidence * 1e-3 + penalty * 1e-4;
    let cost = loss.item();
    let grads = loss.backward();
    for (param, var) in [&mut p.w1, &mut p.b1, &mut p.gain, &mut p.shift, &mut p.table, &mut p.w2, &mut p.b2]
        .into_iter()
        .zip([w1, b1, gain, shift, table, w2, b2])
    {
        param.data_mut().iter_mut().zip(grads.wrt(var).data()).for_each(|(p, g)| *p -= LR * g);
    }
    cost
}

#[test]
fn an_epoch_of_the_new_ops_allocates_nothing_once_warm() {
    let data = load_moons();
    let n = data.x.rows();
    let labels: Vec<usize> = data.y.data().iter().map(|&y| y as usize).collect();
    let ids: Vec<usize> = (0..n).map(|i| i % 4).collect();
    let fill = |r: usize, c: usize, scale: f64| {
        Tensor::from_vec(r, c, (0..r * c).map(|i| scale * (((i as f64 + 1.0) * 0.618_034).fract() - 0.5)).collect())
    };
    let mut params = Classifier {
        w1: fill(2, 12, 2.0),
        b1: fill(1, 12, 0.2),
        gain: Tensor::full(1, 12, 1.0),
        shift: Tensor::zeros(1, 12),
        table: fill(4, 12, 0.5),
        w2: fill(14, 2, 1.0),
        b2: Tensor::zeros(1, 2),
    };
    let mut tape = Tape::new();
    let first = allocations();
    let start = new_ops_epoch(&mut tape, &data.x, &labels, &ids, &mut params);
    assert!(allocations() > first, "the counter sees the first epoch's allocations");

    let before = allocations();
    let mut cost = 0.0;
    for _ in 0..10 {
        cost = new_ops_epoch(&mut tape, &data.x, &labels, &ids, &mut params);
    }
    let during = allocations() - before;
    assert_eq!(during, 0, "10 warm epochs made {during} heap allocations");
    assert!(cost.is_finite() && cost < start, "the epochs train: {start} -> {cost}");
}

#[test]
fn a_training_epoch_allocates_nothing_once_warm() {
    let data = load_moons();
    let mut params = load_he();
    let mut tape = Tape::new();
    let first = allocations();
    tape_epoch(&mut tape, &data, &mut params, LR);
    assert!(allocations() > first, "the counter sees the first epoch's allocations");

    let before = allocations();
    let mut cost = 0.0;
    for _ in 0..10 {
        cost = tape_epoch(&mut tape, &data, &mut params, LR);
    }
    let during = allocations() - before;
    assert_eq!(during, 0, "10 warm epochs made {during} heap allocations");
    assert!(cost.is_finite());
}

/// The library's own loop: `fit_with` on the experiment's network, with mini-batches
/// and with the full batch, counting allocations between consecutive steps.
#[test]
fn fit_allocates_nothing_once_warm() {
    use tapegrad::experiment::{self, Setup};
    use tapegrad::prelude::*;

    let setup = Setup::default();
    let (train, _) = experiment::moons(&setup, 0);
    for batch_size in [None, Some(64)] {
        let mut model = experiment::network(&Init::HeNormal, &setup, 0);
        let opts = FitOptions { batch_size, ..FitOptions::epochs(6) };
        let mut counts = Vec::with_capacity(64);
        fit_with(&mut model, &train.x, &train.y, opts, &mut GradientDescent { lr: 0.01 }, |_| {
            counts.push(allocations())
        })
        .unwrap();
        // The first epoch sizes the buffers; every step after the second epoch's first is warm.
        let steps_per_epoch = counts.len() / 6;
        let warm = &counts[steps_per_epoch + 1..];
        let made = warm.last().unwrap() - warm[0];
        assert_eq!(made, 0, "batch size {batch_size:?}: {} warm steps made {made} heap allocations", warm.len());
    }
}

/// Scalar code on a new tape: a 1x1 value lives inside its node, so recording and
/// back-propagating a chain of 10 000 scalar ops allocates only as the tape's arrays grow
/// (a few dozen times), not once or twice per node.
#[test]
fn a_cold_scalar_chain_allocates_per_growth_not_per_node() {
    let nodes = 10_000;
    let tape = Tape::new();
    let before = allocations();
    let x = tape.scalar(0.5);
    let mut y = x;
    for i in 0..nodes {
        y = if i % 2 == 0 { (y * 1.0001).tanh() } else { y + 0.001 };
    }
    let dx = y.backward().wrt(x).item();
    let made = allocations() - before;
    assert!(made > 0 && made < 200, "{} nodes made {made} heap allocations", tape.len());
    assert!(dx.is_finite() && dx > 0.0);
}

/// `fit_with` on a network of every built-in layer kind — dense, batch norm, layer norm,
/// a residual block with a projection, dropout — in training mode (batch statistics,
/// running-statistics updates, dropout masks), for each task: warm steps allocate
/// nothing.
#[test]
fn fit_of_every_layer_kind_allocates_nothing_once_warm() {
    use tapegrad::prelude::*;

    let setup = tapegrad::experiment::Setup::default();
    let (train, _) = tapegrad::experiment::moons(&setup, 0);
    let classes = Tensor::from_vec(train.len(), 1, (0..train.len()).map(|i| (i % 3) as f64).collect());
    let values = Tensor::from_vec(train.len(), 1, train.x.data().chunks(2).map(|r| r[0] - r[1]).collect());
    let tasks = [
        (Task::Binary(BinaryLoss::Stable), 1, &train.y),
        (Task::MultiClass { classes: 3 }, 3, &classes),
        (Task::Regression, 1, &values),
    ];
    for (task, outputs, y) in tasks {
        let mut rng = seeded_rng(0, 1);
        let mut model = Sequential::new(2);
        model
            .push_spec("dense:8,batchnorm,relu,residual(dense:6,layernorm,tanh),dropout:0.2", &Init::HeNormal, &mut rng)
            .unwrap();
        model.dense(outputs, Activation::Identity, &Init::XavierNormal, &mut rng);
        model.task = task;
        let opts = FitOptions { batch_size: Some(64), ..FitOptions::epochs(4) };
        let mut counts = Vec::with_capacity(64);
        fit_with(&mut model, &train.x, y, opts, &mut GradientDescent { lr: 0.01 }, |_| counts.push(allocations()))
            .unwrap();
        let steps_per_epoch = counts.len() / 4;
        let warm = &counts[steps_per_epoch + 1..];
        let made = warm.last().unwrap() - warm[0];
        assert_eq!(made, 0, "{task}: {} warm steps made {made} heap allocations", warm.len());
    }
}
