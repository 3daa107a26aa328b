//! Losses: each compares predictions `z` with targets `t` of the same shape and returns
//! a 1x1 mean. Targets enter the tape as constants, so only `z` receives a gradient.

use std::ops::Range;

use crate::tape::Var;
use crate::tensor::{Tensor, vectorized};

use super::math::{exp_nonpositive, ln_1p_unit};
use super::unary::sigmoid_given;
use super::{Accumulate, Op};

/// A loss of predictions against targets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Loss {
    /// Binary cross-entropy on logits, in the stable form.
    BceWithLogits,
    /// Binary cross-entropy on probabilities, clipped by `eps` as naive code does it.
    Bce { eps: f64 },
    /// Mean squared error.
    Mse,
    /// Softmax cross-entropy over each row, on logits.
    SoftmaxCrossEntropy,
    /// Softmax cross-entropy over each row against a class index per row.
    CrossEntropy,
}

impl Loss {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Loss::BceWithLogits => "bce_with_logits",
            Loss::Bce { .. } => "binary_cross_entropy",
            Loss::Mse => "mse",
            Loss::SoftmaxCrossEntropy => "softmax_cross_entropy",
            Loss::CrossEntropy => "cross_entropy",
        }
    }

    /// Whether the loss keeps a tensor for its backward pass: the stable cross-entropy
    /// keeps `e^-|z|`, which its forward pass computes and its gradient `σ(z)` needs;
    /// the cross-entropy on class indices keeps each row's log-sum-exp.
    pub(crate) fn saves(self) -> bool {
        matches!(self, Loss::BceWithLogits | Loss::CrossEntropy)
    }

    pub(crate) fn forward(self, z: &Tensor, t: &Tensor, out: &mut Tensor, saved: Option<&mut Tensor>) {
        let want = if self == Loss::CrossEntropy { (z.rows(), 1) } else { z.shape() };
        assert!(
            t.shape() == want,
            "{}: predictions are {}x{} but targets are {}x{}",
            self.name(),
            z.rows(),
            z.cols(),
            t.rows(),
            t.cols()
        );
        let (zs, ts) = (z.data(), t.data());
        let total = vectorized(
            #[inline(always)]
            || match self {
                // max(z,0) - z·t + ln(1 + e^-|z|), with e^-|z| kept for the backward pass
                // (computed for all first, then the terms: two short loops overlap their
                // long chains of dependent operations better than one long loop).
                Loss::BceWithLogits => {
                    let e = saved.expect("bce_with_logits: the tape keeps e^-|z| for the backward pass");
                    e.reshape_for_write(z.rows(), z.cols());
                    e.data_mut().iter_mut().zip(zs).for_each(|(e, &z)| *e = exp_nonpositive(-z.abs()));
                    let e = e.data();
                    sum_in_order(
                        z.len(),
                        #[inline(always)]
                        |block, terms| {
                            let (z, t, e) = (&zs[block.clone()], &ts[block.clone()], &e[block]);
                            for (((term, &z), &t), &e) in terms.iter_mut().zip(z).zip(t).zip(e) {
                                *term = z.max(0.0) - z * t + ln_1p_unit(e);
                            }
                        },
                    )
                }
                // -(t·ln(p+eps) + (1-t)·ln(1-p+eps))
                Loss::Bce { eps } => {
                    sum_in_order(z.len(), each(zs, ts, |p, t| -(t * (p + eps).ln() + (1.0 - t) * (1.0 - p + eps).ln())))
                }
                // (z - t)²
                Loss::Mse => sum_in_order(z.len(), each(zs, ts, |z, t| (z - t) * (z - t))),
                // per row: -Σ t·(z - logsumexp(z))
                Loss::SoftmaxCrossEntropy => (0..z.rows())
                    .map(|i| {
                        let lse = logsumexp(z.row(i));
                        -z.row(i).iter().zip(t.row(i)).map(|(&z, &t)| t * (z - lse)).sum::<f64>()
                    })
                    .sum(),
                // per row: logsumexp(z) - z[label], the log-sum-exp kept
                Loss::CrossEntropy => {
                    let lse = saved.expect("cross_entropy: the tape keeps each row's log-sum-exp");
                    lse.reshape_for_write(z.rows(), 1);
                    let mut total = 0.0;
                    for (i, (l, &label)) in lse.data_mut().iter_mut().zip(ts).enumerate() {
                        *l = logsumexp(z.row(i));
                        total += *l - z.row(i)[label as usize];
                    }
                    total
                }
            },
        );
        let count = match self {
            Loss::SoftmaxCrossEntropy | Loss::CrossEntropy => z.rows(),
            _ => z.len(),
        };
        out.reshape_for_write(1, 1);
        out.data_mut()[0] = total / count as f64;
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn backward(
        self,
        k: usize,
        z: &Tensor,
        t: &Tensor,
        saved: Option<&Tensor>,
        g: &Tensor,
        dz: &mut Tensor,
        acc: Accumulate,
    ) {
        assert!(k == 0, "{}: targets are constants and have no gradient", self.name());
        let g = g.item();
        vectorized(
            #[inline(always)]
            || {
                acc.specialize(
                    #[inline(always)]
                    |acc| self.add_gradient(g, z, t, saved, dz, acc),
                )
            },
        );
    }

    /// `dz += g · ∂loss/∂z` (as `acc` says), the loop of [`Loss::backward`].
    #[inline(always)]
    fn add_gradient(self, g: f64, z: &Tensor, t: &Tensor, saved: Option<&Tensor>, dz: &mut Tensor, acc: Accumulate) {
        let n = z.len() as f64;
        let rows = dz.data_mut().iter_mut().zip(z.data()).zip(t.data());
        match self {
            // ∂/∂z = (σ(z) - t) / n, σ(z) from the e^-|z| the forward pass kept
            Loss::BceWithLogits => {
                let e = saved.expect("bce_with_logits: the forward pass kept e^-|z|").data();
                rows.zip(e).for_each(|(((d, &z), &t), &e)| acc.put(d, g * (sigmoid_given(z, e) - t) / n));
            }
            // ∂/∂p = -(t/(p+eps) - (1-t)/(1-p+eps)) / n
            Loss::Bce { eps } => {
                rows.for_each(|((d, &p), &t)| acc.put(d, -(g * (t / (p + eps) - (1.0 - t) / (1.0 - p + eps)) / n)))
            }
            // ∂/∂z = 2(z - t) / n
            Loss::Mse => rows.for_each(|((d, &z), &t)| acc.put(d, g * 2.0 * (z - t) / n)),
            // ∂/∂z_j = (softmax(z)_j · Σt - t_j) / rows
            Loss::SoftmaxCrossEntropy => {
                let (r, c) = z.shape();
                for i in 0..r {
                    let (zr, tr) = (z.row(i), t.row(i));
                    let lse = logsumexp(zr);
                    let mass: f64 = tr.iter().sum();
                    let dr = &mut dz.data_mut()[i * c..(i + 1) * c];
                    for ((d, &z), &t) in dr.iter_mut().zip(zr).zip(tr) {
                        acc.put(d, g * ((z - lse).exp() * mass - t) / r as f64);
                    }
                }
            }
            // ∂/∂z_j = (softmax(z)_j - [j = label]) / rows
            Loss::CrossEntropy => {
                let lse = saved.expect("cross_entropy: the forward pass kept the log-sum-exps").data();
                let (r, c) = z.shape();
                for (i, (&lse, &label)) in lse.iter().zip(t.data()).enumerate() {
                    let dr = &mut dz.data_mut()[i * c..(i + 1) * c];
                    for (j, (d, &z)) in dr.iter_mut().zip(z.row(i)).enumerate() {
                        let hit = if j == label as usize { 1.0 } else { 0.0 };
                        acc.put(d, g * ((z - lse).exp() - hit) / r as f64);
                    }
                }
            }
        }
    }
}

/// The sum of the `len` terms that `fill(range, terms)` writes, for each block of
/// indices `range`, into `terms`, added in order. Computing the terms a block at a time
/// into a buffer lets those loops vectorize (a running sum cannot: it must add in order
/// to give the same value everywhere).
#[inline(always)]
fn sum_in_order(len: usize, fill: impl Fn(Range<usize>, &mut [f64])) -> f64 {
    const BLOCK: usize = 64;
    let mut terms = [0.0; BLOCK];
    let mut total = -0.0;
    for start in (0..len).step_by(BLOCK) {
        let end = len.min(start + BLOCK);
        let terms = &mut terms[..end - start];
        fill(start..end, terms);
        total = terms.iter().fold(total, |sum, &x| sum + x);
    }
    total
}

/// A `fill` for [`sum_in_order`] that computes each term on its own as `term(z, t)`.
#[inline(always)]
fn each<'a>(z: &'a [f64], t: &'a [f64], term: impl Fn(f64, f64) -> f64) -> impl Fn(Range<usize>, &mut [f64]) {
    #[inline(always)]
    move |block, terms| {
        for ((term_i, &z), &t) in terms.iter_mut().zip(&z[block.clone()]).zip(&t[block]) {
            *term_i = term(z, t);
        }
    }
}

/// `ln Σ e^x` over a row, shifted by its maximum so that no term overflows.
fn logsumexp(x: &[f64]) -> f64 {
    super::softmax::logsumexp(x.len(), |i| x[i])
}

impl<'t> Var<'t> {
    fn loss(self, loss: Loss, targets: &Tensor) -> Var<'t> {
        let t = self.tape().constant_from(targets);
        self.apply(Op::Loss(loss), &[t])
    }

    /// Mean binary cross-entropy of logits `self` against 0/1 (or probability) targets,
    /// in the stable form `max(z,0) - z·t + ln(1 + e^-|z|)`; gradient `(σ(z) - t)/n`.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn bce_with_logits(self, targets: &Tensor) -> Var<'t> {
        self.loss(Loss::BceWithLogits, targets)
    }

    /// Mean binary cross-entropy of probabilities `self`, clipped by `eps` as naive
    /// code does it: `-mean(t·ln(p+eps) + (1-t)·ln(1-p+eps))`.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn binary_cross_entropy(self, targets: &Tensor, eps: f64) -> Var<'t> {
        self.loss(Loss::Bce { eps }, targets)
    }

    /// Mean squared error over all elements.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn mse(self, targets: &Tensor) -> Var<'t> {
        self.loss(Loss::Mse, targets)
    }

    /// Softmax cross-entropy of logit rows against target rows of the same shape (one-hot
    /// or probabilities): the mean over rows of `-Σ t·log_softmax(z)`, via log-sum-exp.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn softmax_cross_entropy(self, targets: &Tensor) -> Var<'t> {
        self.loss(Loss::SoftmaxCrossEntropy, targets)
    }

    /// Cross-entropy of logit rows against one class index per row: the mean over rows
    /// of `-log_softmax(row)[label]`, via log-sum-exp (finite for any finite logits).
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let tape = Tape::new();
    /// let z = tape.leaf(Tensor::from_rows(&[[0.0, 0.0], [1000.0, 0.0]]));
    /// let loss = z.cross_entropy(&[1, 0]);
    /// assert!((loss.item() - 2f64.ln() / 2.0).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    /// If `labels` has not one entry per row, or a label is not below the number of
    /// columns (classes); the message names the row, the label and the class count.
    pub fn cross_entropy(self, labels: &[usize]) -> Var<'t> {
        let (rows, classes) = self.shape();
        assert!(
            labels.len() == rows,
            "cross_entropy: {} labels for {rows} rows of logits (one label per row)",
            labels.len()
        );
        if let Some((row, &label)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
            panic!("cross_entropy: row {row} has label {label}, but there are only {classes} classes");
        }
        let t = self.tape().constant_with(rows, 1, |d| d.iter_mut().zip(labels).for_each(|(d, &l)| *d = l as f64));
        self.apply(Op::Loss(Loss::CrossEntropy), &[t])
    }

    /// [`Var::cross_entropy`] with the labels as a `(rows, 1)` column of class indices
    /// (how a data set holds them), copied onto the tape without allocating.
    ///
    /// # Panics
    /// If the labels are not one per row, or one is not a class index in range.
    pub(crate) fn cross_entropy_indices(self, labels: &Tensor) -> Var<'t> {
        let (rows, classes) = self.shape();
        assert!(
            labels.shape() == (rows, 1),
            "cross_entropy: labels are {}x{} for {rows} rows of logits (one label per row)",
            labels.rows(),
            labels.cols()
        );
        let bad = |&l: &f64| l.fract() != 0.0 || !(0.0..classes as f64).contains(&l);
        if let Some(row) = labels.data().iter().position(bad) {
            panic!("cross_entropy: row {row} has label {}, but there are only {classes} classes", labels.data()[row]);
        }
        let t = self.tape().constant_from(labels);
        self.apply(Op::Loss(Loss::CrossEntropy), &[t])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::unary::sigmoid;

    /// The loss's loops (blocked, vectorized, AVX where present) give exactly the values
    /// of its formulas applied one element at a time and summed in order.
    #[test]
    fn bce_with_logits_matches_its_formula_element_by_element() {
        let n = 203; // not a multiple of the vector width or of the summing block
        let z: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7548).sin() * 40.0).collect();
        let t: Vec<f64> = (0..n).map(|i| if i % 3 == 0 { 1.0 } else { 0.0 }).collect();
        let (zt, tt) = (Tensor::from_vec(n, 1, z.clone()), Tensor::from_vec(n, 1, t.clone()));
        let count = n as f64;

        let (mut loss, mut kept) = (Tensor::default(), Tensor::default());
        Loss::BceWithLogits.forward(&zt, &tt, &mut loss, Some(&mut kept));
        let terms = z.iter().zip(&t).map(|(&z, &t)| z.max(0.0) - z * t + ln_1p_unit(exp_nonpositive(-z.abs())));
        let total = terms.fold(-0.0, |sum, x| sum + x);
        assert_eq!(loss.item().to_bits(), (total / count).to_bits());

        let g = 0.75;
        for acc in [Accumulate::First, Accumulate::Add] {
            let mut dz = Tensor::full(n, 1, 0.5);
            Loss::BceWithLogits.backward(0, &zt, &tt, Some(&kept), &Tensor::scalar(g), &mut dz, acc);
            let so_far = if acc == Accumulate::First { 0.0 } else { 0.5 };
            for i in 0..n {
                let want = so_far + g * (sigmoid(z[i]) - t[i]) / count;
                assert_eq!(dz.data()[i].to_bits(), want.to_bits(), "element {i}, {acc:?}");
            }
        }
    }
}
