//! Running a loop with the CPU's wider vector instructions.

/// Runs `f`, compiled with AVX where the CPU has it (checked once, then cached by the
/// standard library), and for the baseline x86-64 otherwise.
///
/// `f` is inlined into the AVX build, so the loops in it work on four `f64` lanes
/// instead of two. AVX changes how many lanes an instruction works on, not which
/// operations each element sees (nothing here enables fused multiply-add), so the
/// values are the same on every CPU.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX, checked just above.
        return unsafe { with_avx(f) };
    }
    f()
}

/// `f()` with AVX enabled.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn with_avx<R>(f: impl FnOnce() -> R) -> R {
    f()
}
