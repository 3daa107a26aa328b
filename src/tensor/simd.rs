//! The CPU's wider vector instructions: [`vectorized`] runs a loop compiled for them,
//! and [`Lanes`] spells out four-lane vector operations for a kernel that wants them
//! explicit. Neither uses fused multiply-add, so both give the same values everywhere.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64;

/// Runs `f`, compiled with AVX2 where the CPU has it (checked once, then cached by the
/// standard library), and for the baseline x86-64 otherwise.
///
/// `f` is inlined into the AVX2 build, so the loops in it work on four `f64` lanes
/// instead of two, integer lanes included (the exponent bits that `exp` builds). The
/// width changes how many lanes an instruction works on, not which operations each
/// element sees (nothing here enables fused multiply-add), so the values are the same
/// on every CPU.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { with_avx2(f) };
    }
    f()
}

/// `f()` with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Four `f64` lanes and the operations the narrow kernel does on them: [`Portable`] one
/// lane at a time, [`Avx`] on a 256-bit register. Both round each product, then each sum,
/// lane by lane (no fused multiply-add), so they give the same values. The vectors are
/// written out because the compiler, vectorizing plain loops, packed rows whose width is
/// not a multiple of four across rows and shuffled them at every step.
pub(crate) trait Lanes: Copy {
    type V: Copy;
    /// `x` in every lane.
    fn splat(self, x: f64) -> Self::V;
    /// The (at most four) values of `s` in the first lanes, zeros in the others.
    fn load(self, s: &[f64]) -> Self::V;
    /// Writes the first `s.len()` lanes of `v` into `s`.
    fn store(self, v: Self::V, s: &mut [f64]);
    /// The 4 x 4 matrix whose rows are `rows`, transposed: lane `l` of vector `c` is lane
    /// `c` of `rows[l]`.
    fn transpose(self, rows: [Self::V; 4]) -> [Self::V; 4];
    /// `x * y`, lane by lane.
    fn mul(self, x: Self::V, y: Self::V) -> Self::V;
    /// `x + y`, lane by lane.
    fn add(self, x: Self::V, y: Self::V) -> Self::V;
}

/// Lanes in an array, for any CPU.
#[derive(Clone, Copy)]
pub(crate) struct Portable;

impl Lanes for Portable {
    type V = [f64; 4];
    #[inline(always)]
    fn splat(self, x: f64) -> [f64; 4] {
        [x; 4]
    }
    #[inline(always)]
    fn load(self, s: &[f64]) -> [f64; 4] {
        let mut v = [0.0; 4];
        v[..s.len()].copy_from_slice(s);
        v
    }
    #[inline(always)]
    fn store(self, v: [f64; 4], s: &mut [f64]) {
        s.copy_from_slice(&v[..s.len()]);
    }
    #[inline(always)]
    fn transpose(self, rows: [[f64; 4]; 4]) -> [[f64; 4]; 4] {
        std::array::from_fn(|c| std::array::from_fn(|l| rows[l][c]))
    }
    #[inline(always)]
    fn mul(self, x: [f64; 4], y: [f64; 4]) -> [f64; 4] {
        std::array::from_fn(|l| x[l] * y[l])
    }
    #[inline(always)]
    fn add(self, x: [f64; 4], y: [f64; 4]) -> [f64; 4] {
        std::array::from_fn(|l| x[l] + y[l])
    }
}

/// Lanes in an AVX register. Only [`Avx::detect`] makes one, so where an `Avx` exists
/// the CPU has AVX: that is what makes its intrinsics safe to call.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Avx(());

#[cfg(target_arch = "x86_64")]
impl Avx {
    /// An `Avx` if the CPU has AVX.
    pub(crate) fn detect() -> Option<Avx> {
        std::is_x86_feature_detected!("avx").then_some(Avx(()))
    }
}

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx {
    type V = x86_64::__m256d;
    #[inline(always)]
    fn splat(self, x: f64) -> Self::V {
        // SAFETY: `self` exists, so the CPU has AVX.
        unsafe { x86_64::_mm256_set1_pd(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f64]) -> Self::V {
        let v = Portable.load(s);
        // SAFETY: the CPU has AVX (`self` exists), and `v` holds the four values read.
        unsafe { x86_64::_mm256_loadu_pd(v.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, v: Self::V, s: &mut [f64]) {
        let mut lanes = [0.0; 4];
        // SAFETY: the CPU has AVX (`self` exists), and `lanes` holds the four values written.
        unsafe { x86_64::_mm256_storeu_pd(lanes.as_mut_ptr(), v) };
        s.copy_from_slice(&lanes[..s.len()]);
    }
    #[inline(always)]
    fn transpose(self, [r0, r1, r2, r3]: [Self::V; 4]) -> [Self::V; 4] {
        // SAFETY: `self` exists, so the CPU has AVX.
        unsafe {
            use x86_64::*;
            // Lanes 0 and 2, then 1 and 3, of two rows interleaved; then the halves paired.
            let (t0, t1) = (_mm256_unpacklo_pd(r0, r1), _mm256_unpackhi_pd(r0, r1));
            let (t2, t3) = (_mm256_unpacklo_pd(r2, r3), _mm256_unpackhi_pd(r2, r3));
            [
                _mm256_permute2f128_pd::<0x20>(t0, t2),
                _mm256_permute2f128_pd::<0x20>(t1, t3),
                _mm256_permute2f128_pd::<0x31>(t0, t2),
                _mm256_permute2f128_pd::<0x31>(t1, t3),
            ]
        }
    }
    #[inline(always)]
    fn mul(self, x: Self::V, y: Self::V) -> Self::V {
        // SAFETY: `self` exists, so the CPU has AVX.
        unsafe { x86_64::_mm256_mul_pd(x, y) }
    }
    #[inline(always)]
    fn add(self, x: Self::V, y: Self::V) -> Self::V {
        // SAFETY: `self` exists, so the CPU has AVX.
        unsafe { x86_64::_mm256_add_pd(x, y) }
    }
}
