//! Matrix products. [`gemm_into`] is the one entry point; two engines sit behind it.
//!
//! - **Narrow products**, whose output has at most [`NARROW_MAX_COLS`] columns (every
//!   product of a small network, and the last layers of a large one), run in the loop
//!   below: each output row is summed in registers over the inner dimension, in order,
//!   then written once. It needs no packing and allocates nothing, which is what matters
//!   at these sizes: a 400x12 · 12x6 product is over in a few microseconds, less than a
//!   general GEMM spends setting up. Each element is the same sequence of multiplies and
//!   adds whatever the SIMD width, so the values do not depend on the CPU.
//! - **Everything else** goes to the `gemm` crate: cache blocking, runtime SIMD dispatch,
//!   and Rayon threads for large products (not nested inside a parallel job).

#[cfg(target_arch = "x86_64")]
use super::simd::Avx;
use super::simd::{Lanes, Portable};

/// What a product does with the output slice.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Write<'a> {
    /// `out = product`.
    Set,
    /// `out += product`.
    Add,
    /// `out = product + row`, the `1 x n` `row` added to every row of the product after
    /// it is summed (a dense layer's bias, with the values of a product then an add).
    SetPlusRow(&'a [f64]),
}

/// The `(m, k, n)` of the product of shapes `a` and `b`, or a panic naming `op`.
pub(crate) fn matmul_dims(op: &str, a: (usize, usize), b: (usize, usize)) -> (usize, usize, usize) {
    assert!(
        a.1 == b.0,
        "{op}: shape mismatch: left is {}x{}, right is {}x{} ({} columns vs {} rows)",
        a.0,
        a.1,
        b.0,
        b.1,
        a.1,
        b.0
    );
    (a.0, a.1, b.1)
}

/// Widest output the narrow kernel computes; each width is its own compiled loop.
const NARROW_MAX_COLS: usize = 16;
/// Largest narrow product, in multiply-adds; beyond it the `gemm` crate's cache
/// blocking pays for its set-up.
const NARROW_MAX_FLOPS: usize = 1 << 18;
/// Largest `b` the narrow kernel transposes onto the stack for `a · bᵀ`.
const NARROW_MAX_BT: usize = 1024;
/// The stack array for a `b` of at most this many values is this small (1 KB), which
/// covers the products of a small network.
const NARROW_SMALL_BT: usize = 128;
/// Products of at least this many multiply-adds use every core, unless they already run
/// on a Rayon worker.
const PARALLEL_MIN_FLOPS: usize = 1 << 21;

/// `out (m x n) = op(a) · op(b)`, combined with `out` as `write` says.
///
/// `a` is stored as `m x k` (or `k x m` when `a_t`: the product uses its transpose),
/// `b` as `k x n` (or `n x k` when `b_t`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_into(
    out: &mut [f64],
    m: usize,
    k: usize,
    n: usize,
    a: &[f64],
    a_t: bool,
    b: &[f64],
    b_t: bool,
    write: Write<'_>,
) {
    assert!(out.len() == m * n && a.len() == m * k && b.len() == k * n, "gemm_into: slices do not match {m}x{k}x{n}");
    if let Write::SetPlusRow(row) = write {
        assert!(row.len() == n, "gemm_into: the added row has {} values for {n} columns", row.len());
    }
    if m == 0 || n == 0 {
        return;
    }
    let narrow = k > 0 && n <= NARROW_MAX_COLS && m * k * n <= NARROW_MAX_FLOPS && !(a_t && b_t);
    if narrow && a_t && n == 1 && m <= NARROW_MAX_COLS && !matches!(write, Write::SetPlusRow(_)) {
        // One column of aᵀ·b is the one row bᵀ·a, the same products summed in the same
        // order: as a row, its m sums share vectors and take one pass over k, not m / 4.
        narrow_by_width(out, m, Operands { m: 1, k, a: b, a_t: false, b: a, write });
    } else if narrow && !b_t {
        narrow_by_width(out, n, Operands { m, k, a, a_t, b, write });
    } else if narrow && k * n <= NARROW_SMALL_BT {
        narrow_bt::<NARROW_SMALL_BT>(out, n, Operands { m, k, a, a_t, b, write });
    } else if narrow && k * n <= NARROW_MAX_BT {
        narrow_bt::<NARROW_MAX_BT>(out, n, Operands { m, k, a, a_t, b, write });
    } else {
        general(out, m, k, n, a, a_t, b, b_t, write);
    }
}

/// The narrow product `op(a) · bᵀ` (`ops.b` stored `n x k`): `b` is transposed onto the
/// stack, in an array of `L` values so that a small `b` does not pay to zero a large one.
fn narrow_bt<const L: usize>(out: &mut [f64], n: usize, ops: Operands<'_>) {
    let mut bt = [0.0; L];
    let bt = &mut bt[..ops.k * n];
    super::transpose_into(bt, n, ops.k, ops.b);
    narrow_by_width(out, n, Operands { b: bt, ..ops });
}

/// A narrow product's inputs: `op(a)` is `m x k` (`a` stored `k x m` when `a_t`), `b` is
/// stored `k x n`, and `write` says how the result meets the output.
#[derive(Clone, Copy)]
struct Operands<'a> {
    m: usize,
    k: usize,
    a: &'a [f64],
    a_t: bool,
    b: &'a [f64],
    write: Write<'a>,
}

/// Calls [`narrow`] compiled for the width `n` (at most [`NARROW_MAX_COLS`]), with AVX
/// where the CPU has it. AVX changes how many lanes an instruction works on, not which
/// operations each element sees (no fused multiply-add), so the values are the same.
fn narrow_by_width(out: &mut [f64], n: usize, ops: Operands<'_>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(avx) = Avx::detect() {
        // SAFETY: `avx` exists, so the CPU has AVX.
        return unsafe { narrow_by_width_avx(avx, out, n, ops) };
    }
    narrow_by_width_here(Portable, out, n, ops);
}

/// [`narrow_by_width_here`] on AVX registers, compiled with AVX enabled.
///
/// # Safety
/// The CPU must support AVX (it does if `avx` exists).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn narrow_by_width_avx(avx: Avx, out: &mut [f64], n: usize, ops: Operands<'_>) {
    narrow_by_width_here(avx, out, n, ops);
}

/// The dispatch on width: `C` vectors of four lanes hold a row of `N` sums, and a block
/// of `R` rows keeps eight to twelve vectors of sums in registers, as many as fit beside
/// a row of `b` and the products (more spill to memory and run slower). One column keeps
/// four, beside the four rows it transposes (see [`rows`]).
#[inline(always)]
fn narrow_by_width_here<S: Lanes>(s: S, out: &mut [f64], n: usize, ops: Operands<'_>) {
    macro_rules! widths {
        ($($n:literal in $c:literal rows $r:literal),*) => {
            match n {
                $($n => narrow::<S, $n, $c, $r>(s, out, ops),)*
                _ => unreachable!("narrow product of width {n}"),
            }
        };
    }
    widths!(1 in 1 rows 16, 2 in 1 rows 8, 3 in 1 rows 8, 4 in 1 rows 8, 5 in 2 rows 6, 6 in 2 rows 6,
            7 in 2 rows 6, 8 in 2 rows 6, 9 in 3 rows 3, 10 in 3 rows 3, 11 in 3 rows 3, 12 in 3 rows 3,
            13 in 4 rows 2, 14 in 4 rows 2, 15 in 4 rows 2, 16 in 4 rows 2);
}

/// `out (m x N) = op(a) · b`, `R` output rows at a time, then 4, 2 and 1 for the rows
/// left over: their sums over the inner dimension accumulate in registers, then are
/// written once. Blocking rows gives the adds independent chains, so they do not wait
/// on one another.
#[inline(always)]
fn narrow<S: Lanes, const N: usize, const C: usize, const R: usize>(s: S, out: &mut [f64], ops: Operands<'_>) {
    let b: &[[f64; N]] = &as_rows(ops.b)[..ops.k];
    let (rest, i) = blocks::<S, N, C, R>(s, as_rows_mut(out), 0, ops, b);
    let (rest, i) = blocks::<S, N, C, 4>(s, rest, i, ops, b);
    let (rest, i) = blocks::<S, N, C, 2>(s, rest, i, ops, b);
    blocks::<S, N, C, 1>(s, rest, i, ops, b);
}

/// Computes every whole block of `R` rows of `out`, whose first row is output row `i`;
/// returns the rows left over and the index of the first of them.
#[inline(always)]
fn blocks<'o, S: Lanes, const N: usize, const C: usize, const R: usize>(
    s: S,
    out: &'o mut [[f64; N]],
    i: usize,
    ops: Operands<'_>,
    b: &[[f64; N]],
) -> (&'o mut [[f64; N]], usize) {
    let (blocks, rest) = out.as_chunks_mut::<R>();
    let done = blocks.len() * R;
    for (block, o) in blocks.iter_mut().enumerate() {
        rows::<S, N, C, R>(s, o, i + block * R, ops, b);
    }
    (rest, i + done)
}

/// Output rows `i..i + R` of [`narrow`], `b` seen as rows of `N`. The sums of row `r` are
/// `acc[r]`, four columns to a vector; a single column would fill one lane of each, so
/// for `N = 1` the sums of rows `4v..4v + 4` share `acc[v][0]` instead.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // `v` and `c` also pick the lanes of `o`.
fn rows<S: Lanes, const N: usize, const C: usize, const R: usize>(
    s: S,
    o: &mut [[f64; N]; R],
    i: usize,
    ops: Operands<'_>,
    b: &[[f64; N]],
) {
    let Operands { m, k, a, a_t, write, .. } = ops;
    let mut acc = [[s.splat(0.0); C]; R];
    if a_t {
        // Rows i.. of op(a) are columns i.. of `a`, stored `k x m`: R adjacent values.
        for (col, b_row) in a.chunks_exact(m).zip(b) {
            step(s, &mut acc, col[i..i + R].try_into().expect("R values"), b_row);
        }
    } else {
        // The block's rows are cut from one slice: one bounds check, not one per row (with
        // the few inputs of a layer, `k` is small and those checks were a good part of the
        // block's work).
        let mut block = a[i * k..(i + R) * k].chunks_exact(k);
        let a_rows: [&[f64]; R] = std::array::from_fn(|_| block.next().expect("R rows"));
        if N == 1 && R.is_multiple_of(4) {
            // The sums of four rows share a vector, so each step needs the rows' values at
            // one inner index in one vector. Gathered one by one they cost a load and a
            // shuffle each; instead four values of each of four rows are loaded as vectors
            // and transposed in registers, giving the vectors of four steps. The steps are
            // the same and in the same order, then the last `k % 4` gather as before.
            let (fours, rest) = b.as_chunks::<4>();
            for (q, b4) in fours.iter().enumerate() {
                for v in 0..R / 4 {
                    let cols = s.transpose(std::array::from_fn(|r| s.load(&a_rows[4 * v + r][4 * q..4 * q + 4])));
                    for u in 0..4 {
                        acc[v][0] = s.add(acc[v][0], s.mul(cols[u], s.splat(b4[u][0])));
                    }
                }
            }
            let p0 = 4 * fours.len();
            for (p, b_row) in rest.iter().enumerate() {
                step(s, &mut acc, std::array::from_fn(|r| a_rows[r][p0 + p]), b_row);
            }
        } else {
            for (p, b_row) in b.iter().enumerate() {
                step(s, &mut acc, std::array::from_fn(|r| a_rows[r][p]), b_row);
            }
        }
    }
    if N == 1 {
        // The bias of a one-column product is one value, added to every row.
        let bias = match write {
            Write::SetPlusRow(row) => [row[0]; 4],
            _ => [0.0; 4],
        };
        let o = o.as_flattened_mut();
        for v in 0..R.div_ceil(4) {
            let lanes = 4 * v..R.min(4 * v + 4);
            let write = match write {
                Write::SetPlusRow(_) => Write::SetPlusRow(&bias[..lanes.len()]),
                write => write,
            };
            store(s, &mut o[lanes], acc[v][0], write);
        }
    } else {
        for r in 0..R {
            for c in 0..C {
                let lanes = 4 * c..N.min(4 * c + 4);
                let write = match write {
                    Write::SetPlusRow(row) => Write::SetPlusRow(&row[lanes.clone()]),
                    write => write,
                };
                store(s, &mut o[r][lanes], acc[r][c], write);
            }
        }
    }
}

/// Adds `x[r] * b_row` to the sums of row `r`, for each of the `R` rows, laid out as
/// [`rows`] says.
#[inline(always)]
fn step<S: Lanes, const N: usize, const C: usize, const R: usize>(
    s: S,
    acc: &mut [[S::V; C]; R],
    x: [f64; R],
    b_row: &[f64; N],
) {
    if N == 1 {
        let y = s.splat(b_row[0]);
        for v in 0..R.div_ceil(4) {
            acc[v][0] = s.add(acc[v][0], s.mul(s.load(&x[4 * v..R.min(4 * v + 4)]), y));
        }
    } else {
        let b_row: [S::V; C] = std::array::from_fn(|c| s.load(&b_row[4 * c..N.min(4 * c + 4)]));
        for r in 0..R {
            let x = s.splat(x[r]);
            for c in 0..C {
                acc[r][c] = s.add(acc[r][c], s.mul(x, b_row[c]));
            }
        }
    }
}

/// Writes sums `acc` into the (at most four) outputs `o` as `write` says, its added row
/// cut to the same outputs.
#[inline(always)]
fn store<S: Lanes>(s: S, o: &mut [f64], acc: S::V, write: Write<'_>) {
    let sum = match write {
        Write::Set => acc,
        Write::Add => s.add(s.load(o), acc),
        Write::SetPlusRow(row) => s.add(acc, s.load(row)),
    };
    s.store(sum, o);
}

/// `s` as rows of `N` (its length is a multiple of `N`).
#[inline(always)]
fn as_rows<const N: usize>(s: &[f64]) -> &[[f64; N]] {
    let (rows, rest) = s.as_chunks();
    debug_assert!(rest.is_empty());
    rows
}

/// `s` as mutable rows of `N` (its length is a multiple of `N`).
#[inline(always)]
fn as_rows_mut<const N: usize>(s: &mut [f64]) -> &mut [[f64; N]] {
    let (rows, rest) = s.as_chunks_mut();
    debug_assert!(rest.is_empty());
    rows
}

/// The `gemm` crate's product; transposes are read through strides, never copied.
#[allow(clippy::too_many_arguments)]
fn general(out: &mut [f64], m: usize, k: usize, n: usize, a: &[f64], a_t: bool, b: &[f64], b_t: bool, write: Write) {
    if k == 0 {
        if !matches!(write, Write::Add) {
            out.fill(0.0);
        }
    } else {
        // Strides (row, column) of each operand as the product reads it.
        let (a_rs, a_cs) = if a_t { (1, m as isize) } else { (k as isize, 1) };
        let (b_rs, b_cs) = if b_t { (1, k as isize) } else { (n as isize, 1) };
        // A product inside a parallel job (a sweep's run) stays on its thread: the cores
        // are busy with the other jobs, and nesting only adds hand-offs.
        let parallel = m * k * n >= PARALLEL_MIN_FLOPS && rayon::current_thread_index().is_none();
        let parallelism = if parallel { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
        // SAFETY: the slices hold exactly the elements the strides address (asserted in
        // `gemm_into`), and `out` does not alias `a` or `b` (it is a distinct `&mut`).
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr(),
                1,
                n as isize,
                matches!(write, Write::Add),
                a.as_ptr(),
                a_cs,
                a_rs,
                b.as_ptr(),
                b_cs,
                b_rs,
                1.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
    }
    if let Write::SetPlusRow(row) = write {
        for o in out.chunks_exact_mut(n) {
            o.iter_mut().zip(row).for_each(|(o, r)| *o += r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    /// `op(a) · op(b)` by the definition, summed in order.
    fn naive(m: usize, k: usize, n: usize, a: &[f64], a_t: bool, b: &[f64], b_t: bool) -> Vec<f64> {
        let at = |i: usize, p: usize| if a_t { a[p * m + i] } else { a[i * k + p] };
        let bt = |p: usize, j: usize| if b_t { b[j * k + p] } else { b[p * n + j] };
        (0..m * n).map(|e| (0..k).fold(0.0, |s, p| s + at(e / n, p) * bt(p, e % n))).collect()
    }

    fn values(len: usize, seed: f64) -> Vec<f64> {
        (0..len).map(|i| (i as f64 * seed).sin()).collect()
    }

    /// Every layout and write mode, for narrow shapes (exact: the same sums in the same
    /// order) and for shapes that go to the `gemm` crate (to rounding).
    #[test]
    fn every_layout_and_write_mode_matches_the_definition() {
        let shapes = [
            (400, 2, 12),
            (400, 1, 6),
            (12, 400, 6),
            (5, 7, 1),
            (21, 9, 1),
            (19, 8, 1),
            (3, 0, 4),
            (40, 30, 16),
            (64, 64, 17),
            (70, 80, 16),
            (200, 300, 90),
        ];
        for (m, k, n) in shapes {
            let exact = n <= NARROW_MAX_COLS && m * k * n <= NARROW_MAX_FLOPS;
            for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
                let (a, b, row) = (values(m * k, 0.37), values(k * n, 0.11), values(n, 0.7));
                let want = naive(m, k, n, &a, a_t, &b, b_t);
                let start = values(m * n, 0.5);
                for write in [Write::Set, Write::Add, Write::SetPlusRow(&row)] {
                    let mut out = start.clone();
                    gemm_into(&mut out, m, k, n, &a, a_t, &b, b_t, write);
                    for (e, (&got, &p)) in out.iter().zip(&want).enumerate() {
                        let expect = match write {
                            Write::Set => p,
                            Write::Add => start[e] + p,
                            Write::SetPlusRow(r) => p + r[e % n],
                        };
                        let exact = exact && !(a_t && b_t) && (!b_t || k * n <= NARROW_MAX_BT);
                        let ok = if exact { got == expect } else { (got - expect).abs() <= 1e-9 * (1.0 + p.abs()) };
                        assert!(ok, "{m}x{k}x{n} a_t={a_t} b_t={b_t} {write:?}: [{e}] {got} vs {expect}");
                    }
                }
            }
        }
    }

    /// The AVX build of the narrow kernel gives the same bits as the portable one.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx_and_portable_narrow_products_are_identical() {
        let Some(avx) = Avx::detect() else { return };
        for (m, k, n) in [
            (400, 2, 12),
            (400, 12, 6),
            (400, 6, 1),
            (37, 400, 1),
            (19, 7, 1),
            (13, 5, 16),
            (9, 3, 7),
            (23, 6, 6),
            (11, 5, 3),
        ] {
            for a_t in [false, true] {
                let (a, b, row) = (values(m * k, 0.37), values(k * n, 0.11), values(n, 0.7));
                for write in [Write::Set, Write::Add, Write::SetPlusRow(&row)] {
                    let (mut here, mut with_avx) = (values(m * n, 0.5), values(m * n, 0.5));
                    let ops = Operands { m, k, a: &a, a_t, b: &b, write };
                    narrow_by_width_here(Portable, &mut here, n, ops);
                    // SAFETY: `avx` exists, so the CPU has AVX.
                    unsafe { narrow_by_width_avx(avx, &mut with_avx, n, ops) };
                    let same = here.iter().zip(&with_avx).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{m}x{k}x{n} a_t={a_t} {write:?}");
                }
            }
        }
    }

    #[test]
    fn large_products_agree_with_a_naive_loop() {
        let (m, k, n) = (130, 140, 150);
        let a = Tensor::from_vec(m, k, values(m * k, 0.37));
        let b = Tensor::from_vec(k, n, (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect());
        let c = a.matmul(&b);
        for i in (0..m).step_by(13) {
            for j in (0..n).step_by(7) {
                let want: f64 = (0..k).map(|p| a.get(i, p) * b.get(p, j)).sum();
                assert!((c.get(i, j) - want).abs() < 1e-9, "({i},{j}): {} vs {want}", c.get(i, j));
            }
        }
    }
}
