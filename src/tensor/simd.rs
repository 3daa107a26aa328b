//! Running a loop with the CPU's wider vector instructions.

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
