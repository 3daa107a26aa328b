//! Graphviz export of a tape: one node per recorded op (index, op name, shape, a summary
//! of its value and, after backward, of its gradient) and one edge from each parent to
//! the op that used it.
//!
//! ```
//! use tapegrad::prelude::*;
//! let tape = Tape::new();
//! let x = tape.scalar(3.0);
//! let y = (x * x).relu();
//! let grads = y.backward();
//! let dot = tape.to_dot_with(&grads);
//! assert!(dot.starts_with("digraph tape {"));
//! assert_eq!(dot.matches(" -> ").count(), 3); // x -> mul twice, mul -> relu
//! ```

use std::fmt::Write;

use crate::tape::{Gradients, Tape};
use crate::tensor::Tensor;

impl Tape {
    /// The recorded graph in Graphviz DOT: one node per op with its shape and a summary
    /// of its value, one edge per use of a parent.
    pub fn to_dot(&self) -> String {
        self.dot(None)
    }

    /// Like [`Tape::to_dot`], with each node's gradient summarized too.
    ///
    /// # Panics
    /// If `grads` was computed on another tape.
    pub fn to_dot_with(&self, grads: &Gradients<'_>) -> String {
        assert!(std::ptr::eq(grads.tape(), self), "Tape::to_dot_with: the Gradients belong to another tape");
        self.dot(Some(grads))
    }

    fn dot(&self, grads: Option<&Gradients<'_>>) -> String {
        let mut out = String::from("digraph tape {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n");
        let mut edges = String::new();
        self.for_each_node(|i, op, parents, value| {
            let (r, c) = value.shape();
            let mut label = format!("#{i} {op} {r}x{c}\\nvalue {}", summary(value));
            match grads.map(|g| g.by_index(i)) {
                Some(Some(g)) => write!(label, "\\ngrad norm {}, max|g| {}", num(g.norm()), num(g.max_abs())).unwrap(),
                Some(None) => label.push_str("\\nno gradient"),
                None => {}
            }
            writeln!(out, "  n{i} [label=\"{label}\"];").unwrap();
            for p in parents {
                writeln!(edges, "  n{p} -> n{i};").unwrap();
            }
        });
        out.push_str(&edges);
        out.push_str("}\n");
        out
    }
}

/// The value itself for a 1x1 tensor, else its mean and range.
fn summary(t: &Tensor) -> String {
    if t.len() == 1 {
        return num(t.data()[0]);
    }
    let (lo, hi) = t.data().iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    format!("mean {}, range [{}, {}]", num(t.mean()), num(lo), num(hi))
}

/// A number to 4 significant digits, in scientific notation when very large or small.
fn num(x: f64) -> String {
    let a = x.abs();
    if x == 0.0 || !x.is_finite() {
        format!("{x}")
    } else if (1e-3..1e4).contains(&a) {
        format!("{:.*}", (3 - a.log10().floor() as i32).max(0) as usize, x)
    } else {
        format!("{x:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(num(0.123456), "0.1235");
        assert_eq!(num(123.456), "123.5");
        assert_eq!(num(-2.0e-7), "-2.000e-7");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(f64::NAN), "NaN");
    }

    #[test]
    fn constants_have_no_gradient_in_the_export() {
        let tape = Tape::new();
        let c = tape.constant(Tensor::from_vec(1, 2, vec![1.0, -1.0]));
        let w = tape.leaf(Tensor::from_vec(1, 2, vec![0.5, 2.0]));
        let grads = (c * w).sum().backward();
        let dot = tape.to_dot_with(&grads);
        assert!(dot.contains("n0 [label=\"#0 constant 1x2\\nvalue mean 0, range [-1.000, 1.000]\\nno gradient\"]"));
        assert!(dot.contains("#1 leaf 1x2\\nvalue mean 1.250, range [0.5000, 2.000]\\ngrad norm 1.414, max|g| 1.000"));
        assert!(!tape.to_dot().contains("grad"), "no gradients before backward is asked for");
    }
}
