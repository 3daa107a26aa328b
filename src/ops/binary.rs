//! Elementwise ops of two inputs, with broadcasting: each dimension of the two shapes
//! must be equal or 1, so `(r,c)` combines with `(1,c)`, `(r,1)` and `(1,1)` on either
//! side. Each op is one line: `f(a, b)` and its two partial derivatives `(a, b, y)`.
//! The backward pass sums a broadcast operand's gradient back to its shape.

use std::ops::{Add, Div, Mul, Sub};

use crate::tape::Var;
use crate::tensor::Tensor;

use super::Op;

/// An elementwise op of two inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
}

/// One operand's row as the loops read it: a full row, or one value repeated.
#[derive(Clone, Copy)]
enum Lane<'a> {
    Row(&'a [f64]),
    Splat(f64),
}

impl Lane<'_> {
    #[inline(always)]
    fn at(self, j: usize) -> f64 {
        match self {
            Lane::Row(r) => r[j],
            Lane::Splat(v) => v,
        }
    }
}

/// Row `i` of `t` as seen from an output with `cols` columns.
#[inline(always)]
fn lane(t: &Tensor, i: usize) -> Lane<'_> {
    let r = if t.rows() == 1 { 0 } else { i };
    if t.cols() == 1 { Lane::Splat(t.data()[r]) } else { Lane::Row(t.row(r)) }
}

/// The shape two operands broadcast to, or a panic naming `op` and both shapes.
pub(crate) fn broadcast_shape(op: &str, a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
    let dim = |x: usize, y: usize| match (x, y) {
        _ if x == y => Some(x),
        (1, y) => Some(y),
        (x, 1) => Some(x),
        _ => None,
    };
    match (dim(a.0, b.0), dim(a.1, b.1)) {
        (Some(r), Some(c)) => (r, c),
        _ => panic!(
            "{op}: shapes {}x{} and {}x{} do not broadcast (each dimension must match or be 1)",
            a.0, a.1, b.0, b.1
        ),
    }
}

/// One direction of an elementwise op of two inputs.
enum Pass<'a> {
    Forward {
        a: &'a Tensor,
        b: &'a Tensor,
        y: &'a mut Tensor,
    },
    /// Adds the gradient of input `k` (0 = `a`, 1 = `b`) into `dst`.
    Backward {
        k: usize,
        a: &'a Tensor,
        b: &'a Tensor,
        y: &'a Tensor,
        g: &'a Tensor,
        dst: &'a mut Tensor,
    },
}

impl Pass<'_> {
    /// Runs `y = f(a, b)` forward, or `dst += sum-to-shape(g · ∂f)` backward.
    #[inline(always)]
    fn zip(self, f: impl Fn(f64, f64) -> f64, da: impl Fn(f64, f64, f64) -> f64, db: impl Fn(f64, f64, f64) -> f64) {
        match self {
            Pass::Forward { a, b, y } => {
                let cols = y.cols();
                for i in 0..y.rows() {
                    let (la, lb) = (lane(a, i), lane(b, i));
                    let out = &mut y.data_mut()[i * cols..(i + 1) * cols];
                    match (la, lb) {
                        (Lane::Row(ra), Lane::Row(rb)) => {
                            out.iter_mut().zip(ra).zip(rb).for_each(|((o, &x), &z)| *o = f(x, z));
                        }
                        _ => out.iter_mut().enumerate().for_each(|(j, o)| *o = f(la.at(j), lb.at(j))),
                    }
                }
            }
            Pass::Backward { k, a, b, y, g, dst } => {
                let (rows, cols) = y.shape();
                let (dr, dc) = dst.shape();
                for i in 0..rows {
                    let (la, lb, yr, gr) = (lane(a, i), lane(b, i), y.row(i), g.row(i));
                    let term = |j: usize| {
                        let (x, z) = (la.at(j), lb.at(j));
                        gr[j] * if k == 0 { da(x, z, yr[j]) } else { db(x, z, yr[j]) }
                    };
                    let di = if dr == 1 { 0 } else { i };
                    let drow = &mut dst.data_mut()[di * dc..(di + 1) * dc];
                    if dc == cols {
                        drow.iter_mut().enumerate().for_each(|(j, d)| *d += term(j));
                    } else {
                        drow[0] += (0..cols).map(term).sum::<f64>();
                    }
                }
            }
        }
    }
}

impl Binary {
    fn run(self, pass: Pass<'_>) {
        match self {
            // a + b              ∂/∂a = 1           ∂/∂b = 1
            Binary::Add => pass.zip(|a, b| a + b, |_, _, _| 1.0, |_, _, _| 1.0),
            // a - b              ∂/∂a = 1           ∂/∂b = -1
            Binary::Sub => pass.zip(|a, b| a - b, |_, _, _| 1.0, |_, _, _| -1.0),
            // a · b              ∂/∂a = b           ∂/∂b = a
            Binary::Mul => pass.zip(|a, b| a * b, |_, b, _| b, |a, _, _| a),
            // a / b              ∂/∂a = 1/b         ∂/∂b = -a/b²
            Binary::Div => pass.zip(|a, b| a / b, |_, b, _| 1.0 / b, |a, b, _| -a / (b * b)),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
        }
    }

    pub(crate) fn forward(self, a: &Tensor, b: &Tensor, y: &mut Tensor) {
        let (r, c) = broadcast_shape(self.name(), a.shape(), b.shape());
        y.reshape_for_write(r, c);
        self.run(Pass::Forward { a, b, y });
    }

    pub(crate) fn backward(self, k: usize, a: &Tensor, b: &Tensor, y: &Tensor, g: &Tensor, dst: &mut Tensor) {
        self.run(Pass::Backward { k, a, b, y, g, dst });
    }
}

/// `Var ∘ Var`, `Var ∘ f64` and `f64 ∘ Var` for one operator; an `f64` operand becomes
/// a 1x1 constant on the tape.
macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl<'t> $trait<Var<'t>> for Var<'t> {
            type Output = Var<'t>;
            fn $method(self, rhs: Var<'t>) -> Var<'t> {
                self.apply(Op::Binary($op), &[rhs])
            }
        }
        impl<'t> $trait<f64> for Var<'t> {
            type Output = Var<'t>;
            fn $method(self, rhs: f64) -> Var<'t> {
                self.apply(Op::Binary($op), &[self.tape().constant_scalar(rhs)])
            }
        }
        impl<'t> $trait<Var<'t>> for f64 {
            type Output = Var<'t>;
            fn $method(self, rhs: Var<'t>) -> Var<'t> {
                rhs.tape().constant_scalar(self).apply(Op::Binary($op), &[rhs])
            }
        }
    };
}

binary_operator!(Add, add, Binary::Add);
binary_operator!(Sub, sub, Binary::Sub);
binary_operator!(Mul, mul, Binary::Mul);
binary_operator!(Div, div, Binary::Div);
