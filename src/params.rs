//! `ParamStore`: a model's parameters by name, in creation order, living across tapes.

use indexmap::IndexMap;
use smallvec::SmallVec;

use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Parameters by name (`dense0.weight`, `dense0.bias`, ...) in the order they were
/// added. A store outlives any tape: each training step puts its parameters on a fresh
/// (or reset) tape with [`ParamStore::leaves`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamStore {
    params: IndexMap<String, Tensor>,
    buffers: IndexMap<String, Tensor>,
}

/// The leaves of a [`ParamStore`]'s parameters on one tape, in store order. Up to 32
/// are held inline (a 16-layer MLP, or a deep network with norms and residual blocks),
/// so that a training step of such a model allocates nothing for them.
pub type ParamVars<'t> = SmallVec<[Var<'t>; 32]>;

impl ParamStore {
    /// An empty store.
    pub fn new() -> ParamStore {
        ParamStore::default()
    }

    /// Adds (or replaces) a parameter and returns its position.
    pub fn insert(&mut self, name: impl Into<String>, value: Tensor) -> usize {
        self.params.insert_full(name.into(), value).0
    }

    /// The parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.params.get(name)
    }

    /// The parameter called `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Tensor> {
        self.params.get_mut(name)
    }

    /// The parameter at position `index` with its name.
    pub fn get_index(&self, index: usize) -> Option<(&str, &Tensor)> {
        self.params.get_index(index).map(|(k, v)| (k.as_str(), v))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether the store holds no parameter.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Total number of scalar parameters.
    pub fn numel(&self) -> usize {
        self.params.values().map(Tensor::len).sum()
    }

    /// Names and values, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Names and mutable values, in creation order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Tensor)> {
        self.params.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    /// Adds a buffer: state a layer keeps across steps that is not trained (a batch
    /// norm's running statistics). Optimizers never see buffers; saving and loading
    /// carry them with the parameters. Returns its position among the buffers.
    pub fn insert_buffer(&mut self, name: impl Into<String>, value: Tensor) -> usize {
        self.buffers.insert_full(name.into(), value).0
    }

    /// The buffer at position `index`.
    ///
    /// # Panics
    /// If there is no such buffer.
    pub fn buffer(&self, index: usize) -> &Tensor {
        &self.buffers[index]
    }

    /// The buffer at position `index`, to update.
    ///
    /// # Panics
    /// If there is no such buffer.
    pub fn buffer_mut(&mut self, index: usize) -> &mut Tensor {
        &mut self.buffers[index]
    }

    /// The buffers by name, in creation order.
    pub fn buffers(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.buffers.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Every tensor, parameters then buffers, by name: what a saved model holds.
    pub fn tensors(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.iter().chain(self.buffers())
    }

    /// Every tensor, parameters then buffers, to overwrite (as loading does).
    pub fn tensors_mut(&mut self) -> impl Iterator<Item = (&str, &mut Tensor)> {
        self.params.iter_mut().chain(self.buffers.iter_mut()).map(|(k, v)| (k.as_str(), v))
    }

    /// The parameter or buffer called `name`.
    pub fn tensor(&self, name: &str) -> Option<&Tensor> {
        self.params.get(name).or_else(|| self.buffers.get(name))
    }

    /// Puts every parameter on `tape` as a leaf (copied into reused buffers), in store
    /// order.
    pub fn leaves<'t>(&self, tape: &'t Tape) -> ParamVars<'t> {
        self.params.values().map(|t| tape.leaf_from(t)).collect()
    }
}

impl std::ops::Index<&str> for ParamStore {
    type Output = Tensor;

    /// # Panics
    /// If there is no parameter called `name`.
    fn index(&self, name: &str) -> &Tensor {
        self.params.get(name).unwrap_or_else(|| panic!("ParamStore: no parameter named `{name}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_creation_order_and_names() {
        let mut store = ParamStore::new();
        store.insert("dense1.weight", Tensor::zeros(2, 3));
        store.insert("dense0.weight", Tensor::zeros(3, 1));
        let names: Vec<&str> = store.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["dense1.weight", "dense0.weight"]);
        assert_eq!(store.numel(), 9);
        assert_eq!(store["dense0.weight"].shape(), (3, 1));
        assert!(store.get("nope").is_none());
    }

    #[test]
    fn leaves_copy_the_values_onto_the_tape() {
        let mut store = ParamStore::new();
        store.insert("w", Tensor::from_vec(1, 2, vec![1.0, 2.0]));
        let tape = Tape::new();
        let vars = store.leaves(&tape);
        let grads = (vars[0] * vars[0]).sum().backward();
        assert_eq!(grads.wrt(vars[0]).data(), [2.0, 4.0]);
    }
}
