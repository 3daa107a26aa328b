//! `e^x` and `ln(1 + x)` on the ranges the logistic ops need, in plain `f64` arithmetic.
//!
//! The logistic function and the stable cross-entropy only ever ask for `e^-|z|` (an
//! argument ≤ 0) and for `ln(1 + e)` with `e` in `[0, 1]`. Written as straight-line
//! multiplies, adds, one division and integer bit operations, with no branch and no
//! call, they vectorize inside the loops that use them, where the C library's functions
//! are one call per element. And since they use no fused multiply-add, every CPU
//! computes the same bits, which the C library does not promise: it picks an FMA build
//! at run time.
//!
//! Both follow the classic fdlibm algorithms (Sun Microsystems, 1993), with its minimax
//! coefficients written as their bit patterns, and stay within one unit in the last
//! place of the C library's results (tested below).

/// `1.5 · 2⁵²`: adding it to a float of magnitude below 2⁵¹ rounds that float to an
/// integer (to nearest, ties to even), which then sits in the low bits of the sum.
const ROUND: f64 = 6_755_399_441_055_744.0;

/// `ln 2` split into a head with trailing zero bits (so `k · LN2_HI` is exact for any
/// exponent `k` here) and the tail.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// `e^x` for `x ≤ 0` (or NaN, which it returns); `x < -745.2` gives 0, as `f64::exp`.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f64) -> f64 {
    const INV_LN2: f64 = f64::from_bits(0x3ff7_1547_652b_82fe);
    // Minimax coefficients of (r·(e^r + 1)/(e^r - 1) - 2) / r² on |r| ≤ ln2/2.
    const P1: f64 = f64::from_bits(0x3fc5_5555_5555_553e);
    const P2: f64 = f64::from_bits(0xbf66_c16c_16be_bd93);
    const P3: f64 = f64::from_bits(0x3f11_566a_af25_de2c);
    const P4: f64 = f64::from_bits(0xbebb_bd41_c5d2_6bf1);
    const P5: f64 = f64::from_bits(0x3e66_3769_72be_a4d0);
    // Below e^-746 everything rounds to 0; clamping keeps k in range. NaN compares
    // false and passes through to the result.
    let x = if x < -746.0 { -746.0 } else { x };
    // x = k·ln2 + r with k an integer and |r| ≤ ln2/2.
    let shifted = x * INV_LN2 + ROUND;
    let k = shifted - ROUND;
    let hi = x - k * LN2_HI;
    let lo = k * LN2_LO;
    let r = hi - lo;
    // e^r = 1 + 2r/(2 - c), with c = r - r²·P(r²).
    let r2 = r * r;
    let c = r - r2 * (P1 + r2 * (P2 + r2 * (P3 + r2 * (P4 + r2 * P5))));
    let e_r = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    // e^x = e^r · 2^k, with 2^k applied as two powers of two that are both normal
    // numbers (k goes down to -1077), so a subnormal result is rounded only once.
    let k_half = (k * 0.5 + ROUND) - ROUND;
    e_r * pow2(k_half) * pow2(k - k_half)
}

/// `2^k` for an integer-valued `k` in `-1022..=1023`, built from its exponent bits.
#[inline(always)]
fn pow2(k: f64) -> f64 {
    // The low bits of k + ROUND hold k as a two's complement integer.
    let k_bits = (k + ROUND).to_bits().wrapping_sub(ROUND.to_bits());
    f64::from_bits(k_bits.wrapping_add(1023) << 52)
}

/// `ln(1 + x)` for `x` in `[0, 1]` (or NaN, which it returns).
#[inline(always)]
pub(crate) fn ln_1p_unit(x: f64) -> f64 {
    // Minimax coefficients of (ln(1+f) - 2s)/s ≈ Lg1·s² + … + Lg7·s¹⁴, s = f/(2+f).
    const LG1: f64 = f64::from_bits(0x3fe5_5555_5555_5593);
    const LG2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04);
    const LG3: f64 = f64::from_bits(0x3fd2_4924_9422_9359);
    const LG4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af);
    const LG5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de);
    const LG6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f);
    const LG7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244);
    // u = 1 + x rounded, and c the rounding error, exactly (|x| ≤ 1, so Fast2Sum).
    let u = 1.0 + x;
    let c = x - (u - 1.0);
    // u = 2^k · (1 + f) with 1 + f in [√2/2, √2]; u is in [1, 2], so k is 0 or 1 and
    // f is exact.
    let above = u > std::f64::consts::SQRT_2;
    let k = if above { 1.0 } else { 0.0 };
    let f = if above { u * 0.5 } else { u } - 1.0;
    // ln(1 + f) = 2s + s·R(s²), with s = f/(2 + f).
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let r = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7))) + w * (LG2 + w * (LG4 + w * LG6));
    let half_f2 = 0.5 * f * f;
    let ln_u = k * LN2_HI - ((half_f2 - (s * (half_f2 + r) + k * LN2_LO)) - f);
    // ln(1 + x) = ln(u + c) ≈ ln u + c/u; the next term is below 2⁻¹⁰⁶.
    ln_u + c / u
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many representable doubles lie between `a` and `b` (both finite, same sign).
    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    /// `n` points spread over `[lo, hi]`, plus every endpoint.
    fn grid(lo: f64, hi: f64, n: usize) -> impl Iterator<Item = f64> {
        (0..=n).map(move |i| lo + (hi - lo) * (i as f64 / n as f64))
    }

    #[test]
    fn exp_is_within_one_ulp_of_the_c_library() {
        let near_zero = grid(-1e-6, 0.0, 10_000);
        let wide = grid(-745.0, 0.0, 1_000_000);
        let tiny = (0..1100).map(|i| -(i as f64) * 0.6775);
        let mut worst = 0;
        for x in near_zero.chain(wide).chain(tiny) {
            let (got, want) = (exp_nonpositive(x), x.exp());
            if want >= f64::MIN_POSITIVE {
                worst = worst.max(ulps(got, want));
            } else {
                // Subnormal results: one rounding, so the same as the library's or the
                // neighbouring subnormal.
                assert!(ulps(got, want) <= 1, "e^{x}: {got:e} vs {want:e}");
            }
        }
        assert!(worst <= 1, "worst error {worst} ulps");
    }

    #[test]
    fn exp_handles_the_ends_of_its_range() {
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-0.0), 1.0);
        assert_eq!(exp_nonpositive(-746.0), 0.0);
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpositive(-745.0), (-745.0f64).exp());
        assert!(exp_nonpositive(f64::NAN).is_nan());
        assert_eq!(exp_nonpositive(-std::f64::consts::LN_2), 0.5);
    }

    #[test]
    fn ln_1p_is_within_one_ulp_of_the_c_library() {
        let small = (0..2000).map(|i| 2f64.powf(-(i as f64) * 0.55));
        let unit = grid(0.0, 1.0, 1_000_000);
        let mut worst = 0;
        for x in small.chain(unit) {
            worst = worst.max(ulps(ln_1p_unit(x), x.ln_1p()));
        }
        assert!(worst <= 1, "worst error {worst} ulps");
    }

    #[test]
    fn ln_1p_handles_the_ends_of_its_range() {
        assert_eq!(ln_1p_unit(0.0), 0.0);
        assert_eq!(ln_1p_unit(1.0), std::f64::consts::LN_2);
        assert_eq!(ln_1p_unit(1e-300), 1e-300);
        assert!(ln_1p_unit(f64::NAN).is_nan());
    }
}
