//! Arithmetic on tensors: `+ - * /` between two tensors (elementwise, broadcasting
//! `(1,c)`, `(r,1)` and `(1,1)` operands as the tape's ops do) or between a tensor and
//! an `f64` on either side; unary `-`; the assigning forms `+= -= *= /=`; and
//! [`Tensor::add_scaled`], the `a += α·b` of an optimizer step.
//!
//! One in-place kernel, [`update`], does every elementwise op of two tensors: a result
//! is its left operand (moved when owned and already of the result's shape, else copied
//! and broadcast) updated by the right one, so `a + &b` with an owned `a` reuses its
//! buffer.

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::Tensor;

/// The shape two operands broadcast to (each dimension equal, or 1 on one side), or a
/// panic naming `op` and both shapes.
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

/// `a[i, j] = f(a[i, j], b[i, j])` for every element, `b` broadcast to `a`'s shape.
///
/// # Panics
/// If the shapes do not broadcast, or broadcast to more than `a`'s shape.
#[inline]
fn update(op: &str, a: &mut Tensor, b: &Tensor, f: impl Fn(f64, f64) -> f64) {
    let (rows, cols) = a.shape();
    if b.shape() == (rows, cols) {
        a.data.iter_mut().zip(&b.data).for_each(|(x, &y)| *x = f(*x, y));
        return;
    }
    let out = broadcast_shape(op, a.shape(), b.shape());
    assert!(
        out == (rows, cols),
        "{op}: a {rows}x{cols} tensor cannot hold its result with a {}x{} operand, which is {}x{}",
        b.rows,
        b.cols,
        out.0,
        out.1
    );
    for (i, row) in a.data.chunks_exact_mut(cols.max(1)).enumerate() {
        let b_row = &b.data[if b.rows == 1 { 0 } else { i * b.cols }..][..b.cols];
        match b_row {
            &[y] => row.iter_mut().for_each(|x| *x = f(*x, y)),
            _ => row.iter_mut().zip(b_row).for_each(|(x, &y)| *x = f(*x, y)),
        }
    }
}

/// `f(a, b)` elementwise, broadcast, into a new tensor.
fn zip(op: &str, a: &Tensor, b: &Tensor, f: impl Fn(f64, f64) -> f64) -> Tensor {
    let (rows, cols) = broadcast_shape(op, a.shape(), b.shape());
    let mut out = if a.shape() == (rows, cols) {
        a.clone()
    } else {
        let mut out = Tensor::zeros(rows, cols);
        update(op, &mut out, a, |_, x| x);
        out
    };
    update(op, &mut out, b, f);
    out
}

/// `f(a, b)` elementwise, broadcast, in `a`'s buffer when it has the result's shape.
fn zip_owned(op: &str, mut a: Tensor, b: &Tensor, f: impl Fn(f64, f64) -> f64) -> Tensor {
    if broadcast_shape(op, a.shape(), b.shape()) != a.shape() {
        return zip(op, &a, b, f);
    }
    update(op, &mut a, b, f);
    a
}

/// `f` applied to every element of `t`, in its buffer.
fn map_owned(mut t: Tensor, f: impl Fn(f64) -> f64) -> Tensor {
    t.data.iter_mut().for_each(|x| *x = f(*x));
    t
}

impl Tensor {
    /// `self += alpha · other` in place, allocating nothing: the step of gradient descent
    /// (`param.add_scaled(-lr, &grad)`) and of most optimizers. `other` may broadcast as
    /// in `+=`.
    ///
    /// # Panics
    /// If the shapes do not broadcast to `self`'s shape.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let mut w = Tensor::from_vec(1, 3, vec![1.0, 2.0, 3.0]);
    /// w.add_scaled(-0.5, &Tensor::from_vec(1, 3, vec![2.0, 2.0, -2.0]));
    /// assert_eq!(w.data(), &[0.0, 1.0, 4.0]);
    /// ```
    pub fn add_scaled(&mut self, alpha: f64, other: &Tensor) {
        update("Tensor::add_scaled", self, other, |x, y| x + alpha * y);
    }
}

/// Every form of one operator: tensor with tensor (by reference or by value), tensor
/// with `f64` on either side, and the assigning form with a tensor or an `f64`.
macro_rules! operator {
    ($Op:ident, $op:ident, $OpAssign:ident, $op_assign:ident, $tok:tt) => {
        impl $Op<&Tensor> for &Tensor {
            type Output = Tensor;
            fn $op(self, rhs: &Tensor) -> Tensor {
                zip(concat!("Tensor::", stringify!($op)), self, rhs, |x, y| x $tok y)
            }
        }
        impl $Op<&Tensor> for Tensor {
            type Output = Tensor;
            fn $op(self, rhs: &Tensor) -> Tensor {
                zip_owned(concat!("Tensor::", stringify!($op)), self, rhs, |x, y| x $tok y)
            }
        }
        impl $Op<Tensor> for Tensor {
            type Output = Tensor;
            fn $op(self, rhs: Tensor) -> Tensor {
                self $tok &rhs
            }
        }
        impl $Op<Tensor> for &Tensor {
            type Output = Tensor;
            fn $op(self, rhs: Tensor) -> Tensor {
                self $tok &rhs
            }
        }
        impl $Op<f64> for &Tensor {
            type Output = Tensor;
            fn $op(self, rhs: f64) -> Tensor {
                self.map(|x| x $tok rhs)
            }
        }
        impl $Op<f64> for Tensor {
            type Output = Tensor;
            fn $op(self, rhs: f64) -> Tensor {
                map_owned(self, |x| x $tok rhs)
            }
        }
        impl $Op<&Tensor> for f64 {
            type Output = Tensor;
            fn $op(self, rhs: &Tensor) -> Tensor {
                rhs.map(|x| self $tok x)
            }
        }
        impl $Op<Tensor> for f64 {
            type Output = Tensor;
            fn $op(self, rhs: Tensor) -> Tensor {
                map_owned(rhs, |x| self $tok x)
            }
        }
        impl $OpAssign<&Tensor> for Tensor {
            fn $op_assign(&mut self, rhs: &Tensor) {
                update(concat!("Tensor::", stringify!($op_assign)), self, rhs, |x, y| x $tok y);
            }
        }
        impl $OpAssign<Tensor> for Tensor {
            fn $op_assign(&mut self, rhs: Tensor) {
                update(concat!("Tensor::", stringify!($op_assign)), self, &rhs, |x, y| x $tok y);
            }
        }
        impl $OpAssign<f64> for Tensor {
            fn $op_assign(&mut self, rhs: f64) {
                self.data.iter_mut().for_each(|x| *x = *x $tok rhs);
            }
        }
    };
}

operator!(Add, add, AddAssign, add_assign, +);
operator!(Sub, sub, SubAssign, sub_assign, -);
operator!(Mul, mul, MulAssign, mul_assign, *);
operator!(Div, div, DivAssign, div_assign, /);

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        self.map(|x| -x)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        map_owned(self, |x| -x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(rows: usize, cols: usize, data: &[f64]) -> Tensor {
        Tensor::from_vec(rows, cols, data.to_vec())
    }

    #[test]
    fn same_shape_operators_work_elementwise() {
        let (a, b) = (t(2, 2, &[1.0, 2.0, 3.0, 4.0]), t(2, 2, &[10.0, 20.0, 30.0, 40.0]));
        assert_eq!(&a + &b, t(2, 2, &[11.0, 22.0, 33.0, 44.0]));
        assert_eq!(&a - &b, t(2, 2, &[-9.0, -18.0, -27.0, -36.0]));
        assert_eq!(&a * &b, t(2, 2, &[10.0, 40.0, 90.0, 160.0]));
        assert_eq!(&b / &a, t(2, 2, &[10.0, 10.0, 10.0, 10.0]));
        assert_eq!(-&a, t(2, 2, &[-1.0, -2.0, -3.0, -4.0]));
        // Every owned/borrowed combination gives the same result.
        assert_eq!(a.clone() - &b, &a - &b);
        assert_eq!(&a - b.clone(), &a - &b);
        assert_eq!(a.clone() - b.clone(), &a - &b);
        assert_eq!(-a.clone(), -&a);
    }

    #[test]
    fn operands_broadcast_on_either_side() {
        let m = t(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let row = t(1, 3, &[10.0, 20.0, 30.0]);
        let col = t(2, 1, &[100.0, 200.0]);
        let one = t(1, 1, &[2.0]);
        assert_eq!(&m + &row, t(2, 3, &[11.0, 22.0, 33.0, 14.0, 25.0, 36.0]));
        assert_eq!(&row - &m, t(2, 3, &[9.0, 18.0, 27.0, 6.0, 15.0, 24.0]));
        assert_eq!(&m * &col, t(2, 3, &[100.0, 200.0, 300.0, 800.0, 1000.0, 1200.0]));
        assert_eq!(&col - &m, t(2, 3, &[99.0, 98.0, 97.0, 196.0, 195.0, 194.0]));
        assert_eq!(&one / &m, t(2, 3, &[2.0, 1.0, 2.0 / 3.0, 0.5, 0.4, 2.0 / 6.0]));
        assert_eq!(&m / &one, t(2, 3, &[0.5, 1.0, 1.5, 2.0, 2.5, 3.0]));
        // A row against a column makes the full table, as NumPy's outer sum.
        assert_eq!(&col + &row, t(2, 3, &[110.0, 120.0, 130.0, 210.0, 220.0, 230.0]));
        // An owned operand too small for the result is not reused, but gives the same.
        assert_eq!(row.clone() + &m, &row + &m);
        assert_eq!(col.clone() * m.clone(), &col * &m);
    }

    #[test]
    fn an_owned_left_operand_of_the_result_shape_keeps_its_buffer() {
        let a = t(2, 3, &[1.0; 6]);
        let at = a.data().as_ptr();
        let sum = a + &t(1, 3, &[1.0, 2.0, 3.0]);
        assert_eq!(sum.data().as_ptr(), at);
        assert_eq!(sum, t(2, 3, &[2.0, 3.0, 4.0, 2.0, 3.0, 4.0]));
        let scaled = sum * 2.0;
        assert_eq!(scaled.data().as_ptr(), at);
        assert_eq!(scaled, t(2, 3, &[4.0, 6.0, 8.0, 4.0, 6.0, 8.0]));
    }

    #[test]
    fn scalars_work_on_either_side() {
        let a = t(1, 3, &[1.0, 2.0, 4.0]);
        assert_eq!(&a + 1.0, t(1, 3, &[2.0, 3.0, 5.0]));
        assert_eq!(1.0 + &a, t(1, 3, &[2.0, 3.0, 5.0]));
        assert_eq!(&a - 1.0, t(1, 3, &[0.0, 1.0, 3.0]));
        assert_eq!(1.0 - &a, t(1, 3, &[0.0, -1.0, -3.0]));
        assert_eq!(&a * 3.0, t(1, 3, &[3.0, 6.0, 12.0]));
        assert_eq!(3.0 * a.clone(), t(1, 3, &[3.0, 6.0, 12.0]));
        assert_eq!(a.clone() / 2.0, t(1, 3, &[0.5, 1.0, 2.0]));
        assert_eq!(4.0 / a.clone(), t(1, 3, &[4.0, 2.0, 1.0]));
        assert_eq!(2.0 - a.clone(), t(1, 3, &[1.0, 0.0, -2.0]));
    }

    #[test]
    fn assigning_operators_update_in_place() {
        let mut a = t(2, 2, &[1.0, 2.0, 3.0, 4.0]);
        a += &t(1, 2, &[10.0, 20.0]);
        assert_eq!(a, t(2, 2, &[11.0, 22.0, 13.0, 24.0]));
        a -= t(2, 1, &[1.0, 3.0]);
        assert_eq!(a, t(2, 2, &[10.0, 21.0, 10.0, 21.0]));
        a *= 0.5;
        assert_eq!(a, t(2, 2, &[5.0, 10.5, 5.0, 10.5]));
        a *= &t(2, 2, &[2.0, 2.0, 0.0, -1.0]);
        assert_eq!(a, t(2, 2, &[10.0, 21.0, 0.0, -10.5]));
        a -= 1.0;
        a += 0.5;
        a /= 2.0;
        assert_eq!(a, t(2, 2, &[4.75, 10.25, -0.25, -5.5]));
        a /= &t(1, 1, &[-0.25]);
        assert_eq!(a, t(2, 2, &[-19.0, -41.0, 1.0, 22.0]));
    }

    #[test]
    fn add_scaled_is_a_plus_alpha_b() {
        let mut a = t(2, 2, &[1.0, 2.0, 3.0, 4.0]);
        a.add_scaled(0.5, &t(2, 2, &[2.0, 4.0, 6.0, 8.0]));
        assert_eq!(a, t(2, 2, &[2.0, 4.0, 6.0, 8.0]));
        a.add_scaled(-2.0, &t(1, 2, &[1.0, 2.0]));
        assert_eq!(a, t(2, 2, &[0.0, 0.0, 4.0, 4.0]));
        // The same bits as the subtraction `a - lr·g` gradient descent writes.
        let (p, g, lr) = (t(1, 3, &[0.1, -0.7, 1e-3]), t(1, 3, &[0.3, 1.0 / 3.0, -2e5]), 0.01);
        let mut stepped = p.clone();
        stepped.add_scaled(-lr, &g);
        let want: Vec<u64> = p.data().iter().zip(g.data()).map(|(p, g)| (p - lr * g).to_bits()).collect();
        assert_eq!(stepped.data().iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want);
    }

    #[test]
    #[should_panic(expected = "Tensor::add: shapes 2x3 and 3x2 do not broadcast (each dimension must match or be 1)")]
    fn add_names_both_shapes() {
        let _ = &Tensor::zeros(2, 3) + &Tensor::zeros(3, 2);
    }

    #[test]
    #[should_panic(expected = "Tensor::mul: shapes 2x3 and 2x2 do not broadcast")]
    fn owned_mul_names_both_shapes() {
        let _ = Tensor::zeros(2, 3) * Tensor::zeros(2, 2);
    }

    #[test]
    #[should_panic(
        expected = "Tensor::sub_assign: a 1x3 tensor cannot hold its result with a 2x3 operand, which is 2x3"
    )]
    fn sub_assign_cannot_grow_its_left_operand() {
        let mut a = Tensor::zeros(1, 3);
        a -= &Tensor::zeros(2, 3);
    }

    #[test]
    #[should_panic(expected = "Tensor::add_scaled: shapes 4x1 and 3x1 do not broadcast")]
    fn add_scaled_names_both_shapes() {
        Tensor::zeros(4, 1).add_scaled(1.0, &Tensor::zeros(3, 1));
    }
}
