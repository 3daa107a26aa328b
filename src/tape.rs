//! The tape: an arena of nodes in the order they were computed, `Var` handles into it,
//! and the one reverse walk that turns it into `Gradients`.
//!
//! A node holds its op, the indices of its parents and its value. Node slots and
//! gradient buffers outlive [`Tape::reset`], so a training loop that records the same
//! graph every epoch reuses every buffer instead of allocating.

use std::cell::{Cell, RefCell};
use std::mem;
use std::ops::Deref;

use rayon::prelude::*;
use smallvec::SmallVec;

use crate::ops::{Accumulate, Op};
use crate::tensor::Tensor;

/// Records operations on [`Var`]s so that [`Var::backward`] can differentiate them.
///
/// ```
/// use tapegrad::prelude::*;
/// let tape = Tape::new();
/// let x = tape.scalar(3.0);
/// let y = x * x + 1.0;
/// assert_eq!(y.item(), 10.0);
/// assert_eq!(y.backward().wrt(x).item(), 6.0);
/// ```
#[derive(Default)]
pub struct Tape {
    inner: RefCell<Inner>,
    /// The first non-finite value seen, when checking is on (see [`Tape::detect_anomaly`]).
    anomaly: Cell<Option<Anomaly>>,
    detect_anomaly: Cell<bool>,
}

#[derive(Default)]
struct Inner {
    /// Node slots; the first `len` are live, the rest keep their buffers for reuse.
    nodes: Vec<Node>,
    len: usize,
    /// Gradient buffers, lent to the live [`Gradients`] and returned when it drops.
    grads: Vec<Tensor>,
    has_grad: Vec<bool>,
    /// Tensors that ops kept from their forward pass for their backward pass (see
    /// [`Op::saves`]), each with the index of its node, in tape order; the first
    /// `saved_len` are live, the rest keep their buffers for reuse.
    saved: Vec<(u32, Tensor)>,
    saved_len: usize,
}

/// The most inputs an op takes (`affine`: `x`, `W` and `b`).
const MAX_INPUTS: usize = 3;

/// One recorded op. The parent indices are held inline (no heap, no spill check), with
/// their count and the flag in what would otherwise be padding: a node is 80 bytes, and
/// a million-node scalar chain streams every node through the cache in each direction.
pub(crate) struct Node {
    pub(crate) op: Op,
    pub(crate) value: Tensor,
    /// The first `parent_count` are the parents' indices, the rest are 0.
    parent_ids: [u32; MAX_INPUTS],
    parent_count: u8,
    pub(crate) needs_grad: bool,
}

impl Default for Node {
    fn default() -> Node {
        Node {
            op: Op::Constant,
            value: Tensor::default(),
            parent_ids: [0; MAX_INPUTS],
            parent_count: 0,
            needs_grad: false,
        }
    }
}

impl Node {
    /// The indices of the nodes this one was computed from.
    pub(crate) fn parents(&self) -> &[u32] {
        &self.parent_ids[..usize::from(self.parent_count)]
    }

    /// The parents' values, looked up in `nodes` (the tape's nodes before this one).
    fn inputs<'a>(&self, nodes: &'a [Node]) -> Inputs<'a> {
        Inputs::of(self.parent_ids, self.parent_count, nodes)
    }
}

/// The values of a node's parents, as the ops read them.
struct Inputs<'a> {
    values: [&'a Tensor; MAX_INPUTS],
    len: u8,
}

impl<'a> Inputs<'a> {
    /// The values of the first `len` of `ids` in `nodes`. All entries are read without a
    /// branch on the count: the unused ids are 0, and node 0 exists whenever a node has a
    /// parent.
    fn of(ids: [u32; MAX_INPUTS], len: u8, nodes: &'a [Node]) -> Inputs<'a> {
        Inputs { values: ids.map(|i| &nodes[i as usize].value), len }
    }
}

impl<'a> Deref for Inputs<'a> {
    type Target = [&'a Tensor];

    fn deref(&self) -> &[&'a Tensor] {
        &self.values[..usize::from(self.len)]
    }
}

/// Where a non-finite value first appeared on a tape with anomaly detection on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Anomaly {
    /// The op that produced it, by name (`"ln"`, `"matmul"`, ...).
    pub op: &'static str,
    /// Index of the node on the tape.
    pub node: usize,
    /// Whether it appeared in the forward value or in a gradient flowing to the node.
    pub in_gradient: bool,
    /// Shapes of the op's inputs (at most three are kept).
    pub input_shapes: [Option<(usize, usize)>; 3],
}

impl std::fmt::Display for Anomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shapes: Vec<String> = self.input_shapes.iter().flatten().map(|(r, c)| format!("{r}x{c}")).collect();
        let place = if self.in_gradient { "gradient of" } else { "value of" };
        write!(f, "first non-finite {place} node {} (op `{}`, inputs [{}])", self.node, self.op, shapes.join(", "))
    }
}

/// A handle to a node on a [`Tape`]: cheap to copy, so expressions read like maths.
#[derive(Clone, Copy)]
pub struct Var<'t> {
    tape: &'t Tape,
    index: u32,
}

impl std::fmt::Debug for Var<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var(#{}, {:?})", self.index, self.value())
    }
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Tape {
        Tape::default()
    }

    /// A leaf: an input whose gradient [`Var::backward`] computes.
    pub fn leaf(&self, value: Tensor) -> Var<'_> {
        self.record_leaf(Op::Leaf, |slot| *slot = value)
    }

    /// A leaf holding a copy of `value`, written into a reused buffer.
    pub fn leaf_from(&self, value: &Tensor) -> Var<'_> {
        self.record_leaf(Op::Leaf, |slot| slot.copy_from(value))
    }

    /// A 1x1 leaf.
    pub fn scalar(&self, value: f64) -> Var<'_> {
        self.record_leaf(Op::Leaf, |slot| {
            slot.reshape_for_write(1, 1);
            slot.data_mut()[0] = value;
        })
    }

    /// A constant: an input that needs no gradient (data, targets), so backward skips it.
    pub fn constant(&self, value: Tensor) -> Var<'_> {
        self.record_leaf(Op::Constant, |slot| *slot = value)
    }

    /// A constant holding a copy of `value`, written into a reused buffer.
    pub fn constant_from(&self, value: &Tensor) -> Var<'_> {
        self.record_leaf(Op::Constant, |slot| slot.copy_from(value))
    }

    /// A 1x1 constant.
    pub fn constant_scalar(&self, value: f64) -> Var<'_> {
        self.record_leaf(Op::Constant, |slot| {
            slot.reshape_for_write(1, 1);
            slot.data_mut()[0] = value;
        })
    }

    /// A `rows x cols` constant whose elements `fill` writes, into a reused buffer.
    pub(crate) fn constant_with(&self, rows: usize, cols: usize, fill: impl FnOnce(&mut [f64])) -> Var<'_> {
        self.record_leaf(Op::Constant, |slot| {
            slot.reshape_for_write(rows, cols);
            fill(slot.data_mut());
        })
    }

    /// Number of nodes recorded since the tape was made or last reset.
    pub fn len(&self) -> usize {
        self.inner.borrow().len
    }

    /// Whether no node is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every node but keeps their buffers, so recording the same graph again
    /// allocates nothing. Also clears a recorded [`Anomaly`].
    pub fn reset(&mut self) {
        let inner = self.inner.get_mut();
        inner.len = 0;
        inner.saved_len = 0;
        self.anomaly.set(None);
    }

    /// Turns checking for non-finite values on or off. When on, the first NaN or
    /// infinity in a forward value or a gradient is kept as an [`Anomaly`], naming the op
    /// that made it; later ones are ignored.
    pub fn detect_anomaly(&self, on: bool) {
        self.detect_anomaly.set(on);
    }

    /// The first non-finite value seen since the last reset, if checking is on.
    pub fn anomaly(&self) -> Option<Anomaly> {
        self.anomaly.get()
    }

    /// Calls `f` with each live node's index, op name, parents and value, in tape order
    /// (for exports such as [`Tape::to_dot`]).
    pub(crate) fn for_each_node(&self, mut f: impl FnMut(usize, &'static str, &[u32], &Tensor)) {
        let inner = self.inner.borrow();
        for (i, node) in inner.nodes[..inner.len].iter().enumerate() {
            f(i, node.op.name(), node.parents(), &node.value);
        }
    }

    fn record_leaf(&self, op: Op, fill: impl FnOnce(&mut Tensor)) -> Var<'_> {
        let mut inner = self.inner.borrow_mut();
        let (index, _, slot, _) = inner.next_slot(false);
        fill(&mut slot.value);
        // A non-finite input (a parameter an update overflowed) is the first anomaly too.
        if self.detect_anomaly.get() && self.anomaly.get().is_none() && !slot.value.is_finite() {
            self.anomaly.set(Some(anomaly_at(op, index as usize, false, &[])));
        }
        slot.op = op;
        slot.parent_ids = [0; MAX_INPUTS];
        slot.parent_count = 0;
        slot.needs_grad = matches!(op, Op::Leaf);
        inner.len += 1;
        Var { tape: self, index }
    }

    /// Records `op` applied to `parents` (at least one), computing its value in a reused
    /// buffer.
    pub(crate) fn record<'t>(&'t self, op: Op, parents: &[Var<'t>]) -> Var<'t> {
        for p in parents {
            assert!(
                std::ptr::eq(p.tape, self),
                "{}: an operand belongs to another tape (Vars from different tapes cannot be combined)",
                op.name()
            );
        }
        assert!(parents.len() <= MAX_INPUTS, "{}: more than {MAX_INPUTS} inputs", op.name());
        // One borrow for the whole record: it is the per-node cost of scalar code.
        let mut inner = self.inner.borrow_mut();
        // The value is computed straight into the slot's buffer, and the slot's other
        // fields are overwritten one by one: no node is moved in or out.
        let (index, done, slot, saved) = inner.next_slot(op.saves());
        let ids: [u32; MAX_INPUTS] = std::array::from_fn(|k| parents.get(k).map_or(0, |p| p.index));
        let inputs = Inputs::of(ids, parents.len() as u8, done);
        let needs_grad = op.passes_gradient() && parents.iter().any(|p| done[p.index as usize].needs_grad);
        op.forward(&inputs, &mut slot.value, saved);
        if self.detect_anomaly.get() && self.anomaly.get().is_none() && !slot.value.is_finite() {
            self.anomaly.set(Some(anomaly_at(op, index as usize, false, &inputs)));
        }
        slot.op = op;
        slot.parent_ids = ids;
        slot.parent_count = inputs.len;
        slot.needs_grad = needs_grad;
        inner.len += 1;
        Var { tape: self, index }
    }
}

impl Inner {
    /// The index of the next node, the live nodes before it, its slot (added if the tape
    /// is longer than ever before) and, if the op `saves`, a buffer for it to keep. Slot
    /// and buffer keep their old allocations for the new values to reuse; the node
    /// becomes live when the caller increments `len`. Inlined: it is part of the
    /// per-node cost of scalar code.
    #[inline(always)]
    fn next_slot(&mut self, saves: bool) -> (u32, &[Node], &mut Node, Option<&mut Tensor>) {
        let index = u32::try_from(self.len).expect("Tape: more than u32::MAX nodes");
        if self.len == self.nodes.len() {
            self.nodes.push(Node::default());
        }
        let saved = saves.then(|| {
            if self.saved_len == self.saved.len() {
                self.saved.push((index, Tensor::default()));
            }
            let entry = &mut self.saved[self.saved_len];
            self.saved_len += 1;
            entry.0 = index;
            &mut entry.1
        });
        let (done, rest) = self.nodes.split_at_mut(self.len);
        (index, done, &mut rest[0], saved)
    }
}

/// Shapes `grad` like `value`, reusing its buffer, for a first contribution to write
/// over (its values are stale). A buffer already of that shape, as in every pass after
/// the first on a reused tape, is left as it is.
fn shape_like(grad: &mut Tensor, value: &Tensor) {
    if grad.shape() != value.shape() {
        grad.reshape_for_write(value.rows(), value.cols());
    }
}

/// Makes `grad` zeros shaped like `value`, reusing its buffer. A 1x1 gradient (one per
/// node of scalar code) only has its element written, with no call to `memset`.
fn zero_like(grad: &mut Tensor, value: &Tensor) {
    shape_like(grad, value);
    match grad.data_mut() {
        [x] => *x = 0.0,
        all => all.fill(0.0),
    }
}

fn anomaly_at(op: Op, node: usize, in_gradient: bool, inputs: &[&Tensor]) -> Anomaly {
    let mut input_shapes = [None; 3];
    for (slot, t) in input_shapes.iter_mut().zip(inputs) {
        *slot = Some(t.shape());
    }
    Anomaly { op: op.name(), node, in_gradient, input_shapes }
}

impl<'t> Var<'t> {
    /// The tape this variable lives on.
    pub fn tape(self) -> &'t Tape {
        self.tape
    }

    /// The node at `index` of `tape`.
    pub(crate) fn at(tape: &'t Tape, index: usize) -> Var<'t> {
        assert!(index < tape.inner.borrow().len, "Var::at: node {index} is not on the tape");
        Var { tape, index: index as u32 }
    }

    /// Position of this node on its tape.
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// A copy of this node's value.
    pub fn value(self) -> Tensor {
        self.with_value(Tensor::clone)
    }

    /// Calls `f` with this node's value, without copying it.
    pub fn with_value<R>(self, f: impl FnOnce(&Tensor) -> R) -> R {
        f(&self.tape.inner.borrow().nodes[self.index as usize].value)
    }

    /// The value of a 1x1 node.
    ///
    /// # Panics
    /// If the value is not 1x1.
    pub fn item(self) -> f64 {
        self.with_value(Tensor::item)
    }

    /// The shape of this node's value.
    pub fn shape(self) -> (usize, usize) {
        self.with_value(Tensor::shape)
    }

    /// Records `op` with `self` and `others` as parents.
    pub(crate) fn apply(self, op: Op, others: &[Var<'t>]) -> Var<'t> {
        match *others {
            [] => self.tape.record(op, &[self]),
            [b] => self.tape.record(op, &[self, b]),
            _ => {
                let mut parents: SmallVec<[Var<'t>; 3]> = SmallVec::new();
                parents.push(self);
                parents.extend_from_slice(others);
                self.tape.record(op, &parents)
            }
        }
    }

    /// Back-propagates from this node: the gradient of the sum of its elements (of its
    /// one value, for the usual 1x1 loss) with respect to every node recorded before it.
    ///
    /// One reverse walk over the tape; no recursion, so chains of any length work.
    pub fn backward(self) -> Gradients<'t> {
        self.backward_from(None)
    }

    /// A vector-Jacobian product: the gradients of `Σ seed ⊙ self` with respect to every
    /// node recorded before it, for a `seed` shaped like `self` ([`Var::backward`] is
    /// the seed of ones).
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::from_rows(&[[1.0, 2.0]]));
    /// let y = x * x;
    /// let grads = y.backward_with(&Tensor::from_rows(&[[1.0, 0.0]]));
    /// assert_eq!(grads.wrt(x).data(), &[2.0, 0.0]); // row 0 of the Jacobian
    /// ```
    ///
    /// # Panics
    /// If `seed`'s shape differs from `self`'s.
    pub fn backward_with(self, seed: &Tensor) -> Gradients<'t> {
        let (r, c) = self.shape();
        assert!(
            seed.shape() == (r, c),
            "backward_with: the seed is {}x{} but the output is {r}x{c}",
            seed.rows(),
            seed.cols()
        );
        self.backward_from(Some(seed))
    }

    /// The reverse walk, from a gradient of ones or `seed` at this node.
    fn backward_from(self, seed: Option<&Tensor>) -> Gradients<'t> {
        let tape = self.tape;
        let mut inner = tape.inner.borrow_mut();
        let Inner { nodes, len, grads, has_grad, saved, saved_len } = &mut *inner;
        // The saved tensors are found walking back from the last, as the nodes are.
        let mut saved = &saved[..*saved_len];
        let (mut grads, mut has) = (mem::take(grads), mem::take(has_grad));
        let n = *len;
        if grads.len() < n {
            grads.resize_with(n, Tensor::default);
        }
        has.clear();
        has.resize(n, false);

        let root = self.index as usize;
        let (r, c) = nodes[root].value.shape();
        match seed {
            Some(seed) => grads[root].copy_from(seed),
            None => {
                grads[root].reshape_for_write(r, c);
                grads[root].data_mut().fill(1.0);
            }
        }
        has[root] = true;

        let check = tape.detect_anomaly.get();
        for i in (0..=root).rev() {
            let node = &nodes[i];
            if !has[i] {
                // Nothing reached this node, and nothing can any more (only later nodes
                // use it): one that takes a gradient gets zeros, in this same walk.
                if node.needs_grad {
                    zero_like(&mut grads[i], &node.value);
                    has[i] = true;
                }
                continue;
            }
            if node.parents().is_empty() || !node.needs_grad {
                continue;
            }
            let (before, rest) = grads.split_at_mut(i);
            let g = &rest[0];
            let inputs = node.inputs(nodes);
            let kept = if node.op.saves() {
                while saved.last().is_some_and(|&(j, _)| j as usize > i) {
                    saved = &saved[..saved.len() - 1];
                }
                saved.last().filter(|&&(j, _)| j as usize == i).map(|(_, t)| t)
            } else {
                None
            };
            for (k, &p) in node.parents().iter().enumerate() {
                let p = p as usize;
                if !nodes[p].needs_grad {
                    continue;
                }
                let dst = &mut before[p];
                let acc = if has[p] {
                    Accumulate::Add
                } else {
                    shape_like(dst, &nodes[p].value);
                    // A first contribution must write every element: in debug builds the
                    // stale values are NaN, so a rule that reads them fails gradcheck.
                    if cfg!(debug_assertions) {
                        dst.data_mut().fill(f64::NAN);
                    }
                    has[p] = true;
                    Accumulate::First
                };
                node.op.backward(k, &inputs, &node.value, kept, g, dst, acc);
                if check && tape.anomaly.get().is_none() && !dst.is_finite() {
                    tape.anomaly.set(Some(anomaly_at(node.op, i, true, &inputs)));
                }
            }
        }
        // Nodes recorded after the root do not affect it: zeros too.
        for i in root + 1..n {
            if nodes[i].needs_grad {
                zero_like(&mut grads[i], &nodes[i].value);
                has[i] = true;
            }
        }
        Gradients { tape, grads, has, len: n }
    }
}

impl<'t> Var<'t> {
    /// Gives this node (a leaf) the value `x` and recomputes, in tape order, every node
    /// that depends on it, as if the same ops had been recorded from `x`: the graph is
    /// replayed, not recorded again, so constants are not copied and nothing allocates.
    ///
    /// # Panics
    /// If the node is not a leaf, or `x` is not shaped like its value.
    pub(crate) fn replay(self, x: &Tensor) {
        let mut inner = self.tape.inner.borrow_mut();
        let Inner { nodes, len, saved, saved_len, .. } = &mut *inner;
        let (nodes, saved, from) = (&mut nodes[..*len], &mut saved[..*saved_len], self.index as usize);
        let leaf = &mut nodes[from];
        assert!(matches!(leaf.op, Op::Leaf), "replay: node {from} is not a leaf");
        assert!(
            leaf.value.shape() == x.shape(),
            "replay: the input is {}x{}, the recorded one {}x{}",
            x.rows(),
            x.cols(),
            leaf.value.rows(),
            leaf.value.cols()
        );
        leaf.value.copy_from(x);
        let reach = reach(nodes, from, false);
        for i in (from + 1..nodes.len()).filter(|&i| reach[i]) {
            let (done, rest) = nodes.split_at_mut(i);
            let node = &mut rest[0];
            let kept = node.op.saves().then(|| saved_at(saved, i)).flatten().map(|k| &mut saved[k].1);
            node.op.forward(&node.inputs(done), &mut node.value, kept);
        }
    }

    /// The vector-Jacobian products of `self` with respect to `input` for every row of
    /// `seeds` at once (each row a seed shaped like `self`, flattened row-major): row `s`
    /// of the result is the gradient of `Σ seed_s ⊙ self` with respect to `input`,
    /// flattened. One reverse walk carries all the seeds, over the nodes that depend on
    /// `input` only; with the identity as `seeds` it gives the Jacobian.
    pub(crate) fn vjp_many(self, input: Var<'t>, seeds: Tensor) -> Tensor {
        let inner = self.tape.inner.borrow();
        let nodes = &inner.nodes[..inner.len];
        let (root, from) = (self.index as usize, input.index as usize);
        assert!(from <= root, "jacobian: the input was recorded after the output");
        let reach = reach(&nodes[..=root], from, true);
        let walk = Walk { nodes, saved: &inner.saved[..inner.saved_len], reach: &reach, root, from };
        // The seeds are independent rows: the cores walk bands of them, each on its own,
        // with no hand-off between ops (a product inside runs on its core alone). The
        // bands are cut by the number of seeds, not of cores, so that each product's
        // shape, and with it the kernel that computes it, is the same on any machine.
        let (m, cols) = (seeds.rows(), seeds.cols());
        let bands = m.div_ceil(BAND_SEEDS).max(1);
        if bands == 1 {
            return walk.run(seeds);
        }
        let parts: Vec<Tensor> = (0..bands)
            .into_par_iter()
            .map(|b| {
                let rows = seeds.data()[b * m / bands * cols..(b + 1) * m / bands * cols].to_vec();
                walk.run(Tensor::from_vec(rows.len() / cols, cols, rows))
            })
            .collect();
        let width = parts[0].cols();
        Tensor::from_vec(m, width, parts.into_iter().flat_map(Tensor::into_vec).collect())
    }
}

/// Which of `nodes` depend on node `from` (those before it do not), walking forward:
/// through their values, or, with `gradient`, through ops that pass gradients.
fn reach(nodes: &[Node], from: usize, gradient: bool) -> Vec<bool> {
    let mut reach = vec![false; nodes.len()];
    reach[from] = true;
    for i in from + 1..nodes.len() {
        let node = &nodes[i];
        reach[i] = (!gradient || node.op.passes_gradient()) && node.parents().iter().any(|&p| reach[p as usize]);
    }
    reach
}

/// Where in `saved` (kept in tape order) node `i`'s saved tensor is, if it saved one.
fn saved_at(saved: &[(u32, Tensor)], i: usize) -> Option<usize> {
    saved.binary_search_by_key(&(i as u32), |&(j, _)| j).ok()
}

/// Most seeds in one band of [`Var::vjp_many`]: 256 outputs make two bands, one for each
/// of two cores.
const BAND_SEEDS: usize = 128;

/// One reverse walk of [`Var::vjp_many`] over the recorded nodes, shared by the cores.
struct Walk<'a> {
    nodes: &'a [Node],
    saved: &'a [(u32, Tensor)],
    /// Which nodes depend on the input.
    reach: &'a [bool],
    root: usize,
    from: usize,
}

impl Walk<'_> {
    /// The gradients with respect to the input, a row for each row of `seeds`.
    fn run(&self, seeds: Tensor) -> Tensor {
        let Walk { nodes, saved, reach, root, from } = *self;
        let m = seeds.rows();
        let mut grads: Vec<Option<Tensor>> = vec![None; root + 1];
        grads[root] = Some(seeds);
        let mut scratch = [Tensor::default(), Tensor::default()];
        // A node's gradient block is no longer needed once its rule has run: its buffer
        // becomes a parent's, so a chain of layers reuses a few blocks (m rows each)
        // instead of allocating and zeroing a fresh one per node.
        let mut spare: Vec<Tensor> = Vec::new();
        for i in (from + 1..=root).rev() {
            let Some(g) = grads[i].take() else { continue };
            let node = &nodes[i];
            let inputs = node.inputs(nodes);
            let kept = node.op.saves().then(|| saved_at(saved, i)).flatten().map(|k| &saved[k].1);
            for (k, &p) in node.parents().iter().enumerate() {
                let p = p as usize;
                if !reach[p] {
                    continue;
                }
                let (dst, acc) = match &mut grads[p] {
                    Some(dst) => (dst, Accumulate::Add),
                    slot => {
                        let mut dst = spare.pop().unwrap_or_default();
                        dst.reshape_for_write(m, nodes[p].value.len());
                        // As in `backward`: a rule that reads a first buffer fails in debug.
                        if cfg!(debug_assertions) {
                            dst.data_mut().fill(f64::NAN);
                        }
                        (slot.insert(dst), Accumulate::First)
                    }
                };
                node.op.backward_many(k, &inputs, &node.value, kept, &g, dst, acc, &mut scratch);
            }
            spare.push(g);
        }
        grads[from].take().unwrap_or_else(|| Tensor::zeros(m, nodes[from].value.len()))
    }
}

/// The gradients computed by [`Var::backward`], read with [`Gradients::wrt`].
pub struct Gradients<'t> {
    tape: &'t Tape,
    grads: Vec<Tensor>,
    has: Vec<bool>,
    len: usize,
}

impl<'t> Gradients<'t> {
    /// The gradient with respect to `var`, shaped like `var`'s value (zeros if the
    /// output does not depend on it).
    ///
    /// # Panics
    /// If `var` is from another tape, was recorded after the backward pass, or has no
    /// gradient: a constant, or a node computed from constants only.
    pub fn wrt(&self, var: Var<'t>) -> &Tensor {
        assert!(std::ptr::eq(var.tape, self.tape), "Gradients::wrt: the Var belongs to another tape");
        let i = var.index as usize;
        assert!(i < self.len, "Gradients::wrt: node {i} was recorded after backward ran");
        assert!(
            self.has[i],
            "Gradients::wrt: node {i} has no gradient (it is a constant or computed from constants only)"
        );
        &self.grads[i]
    }
}

impl<'t> Gradients<'t> {
    /// The tape these gradients belong to.
    pub(crate) fn tape(&self) -> &'t Tape {
        self.tape
    }

    /// The gradient of node `index`, if it has one (constants and later nodes do not).
    pub(crate) fn by_index(&self, index: usize) -> Option<&Tensor> {
        (index < self.len && self.has[index]).then(|| &self.grads[index])
    }
}

impl Drop for Gradients<'_> {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.tape.inner.try_borrow_mut() {
            inner.grads = mem::take(&mut self.grads);
            inner.has_grad = mem::take(&mut self.has);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_stays_small() {
        // Op (24 bytes) + Tensor (40) + three parent indices, their count and the flag.
        assert_eq!(size_of::<Op>(), 24);
        assert_eq!(size_of::<Node>(), size_of::<Op>() + size_of::<Tensor>() + 16);
    }

    /// Ops that keep a tensor for their backward pass each find their own, whichever node
    /// the backward pass starts from and after the tape is reused with other shapes.
    #[test]
    fn each_op_finds_the_tensor_it_saved() {
        let logits = |n: usize, s: f64| Tensor::from_vec(n, 1, (0..n).map(|i| (i as f64 * s).sin() * 3.0).collect());
        let targets = |n: usize| Tensor::from_vec(n, 1, (0..n).map(|i| (i % 2) as f64).collect());
        // d/dz of mean bce_with_logits, written out.
        let want = |z: &Tensor, t: &Tensor| {
            let n = z.len() as f64;
            z.data().iter().zip(t.data()).map(|(&z, &t)| (1.0 / (1.0 + (-z).exp()) - t) / n).collect::<Vec<_>>()
        };
        let close = |got: &Tensor, want: &[f64]| got.data().iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-15);
        let mut tape = Tape::new();
        for (n1, n2) in [(5, 9), (12, 3)] {
            let (z1, t1, z2, t2) = (logits(n1, 0.7), targets(n1), logits(n2, 1.3), targets(n2));
            let (a, b) = (tape.leaf_from(&z1), tape.leaf_from(&z2));
            let first = a.bce_with_logits(&t1);
            let second = (b * 2.0).bce_with_logits(&t2);
            let total = first + second;
            {
                let grads = total.backward();
                assert!(close(grads.wrt(a), &want(&z1, &t1)), "{n1}, {n2}: first loss");
                let twice: Vec<f64> = want(&z2.map(|z| 2.0 * z), &t2).iter().map(|g| 2.0 * g).collect();
                assert!(close(grads.wrt(b), &twice), "{n1}, {n2}: second loss");
            }
            // From the first loss, the later one's saved tensor is passed over.
            let grads = first.backward();
            assert!(close(grads.wrt(a), &want(&z1, &t1)), "{n1}, {n2}: first loss alone");
            assert!(grads.wrt(b).data().iter().all(|&g| g == 0.0));
            drop(grads);
            tape.reset();
        }
    }
}
