//! x86_64 SIMD implementations (AVX2 + SSE2).
//!
//! Provides AVX2-accelerated kernels for IDCT, color conversion, and upsampling,
//! with SSE2 as a secondary tier and scalar as the final fallback.

pub mod avx2_color;
pub mod avx2_color_encode;
pub mod avx2_fdct;
pub mod avx2_idct;
pub mod avx2_idct_4x4; // imgpipe patch
pub mod avx2_merged;
pub mod avx2_upsample;
pub mod color;
pub(crate) mod fma_fdct;
pub mod idct;
pub mod upsample;

use crate::simd::{EncoderSimdRoutines, QuantDivisors, SimdRoutines};

/// Return x86_64 SIMD routines.
///
/// Selects AVX2 if available, then SSE2, otherwise falls back to scalar.
pub fn routines() -> SimdRoutines {
    if crate::cpu_has!("avx2") {
        return SimdRoutines {
            idct_islow: avx2_idct::avx2_idct_islow,
            idct_ifast: crate::simd::scalar::scalar_idct_ifast,
            idct_float: crate::simd::scalar::scalar_idct_float,
            ycbcr_to_rgb_row: avx2_color::avx2_ycbcr_to_rgb_row,
            fancy_upsample_h2v1: avx2_upsample::avx2_fancy_upsample_h2v1,
        };
    }

    if crate::cpu_has!("sse2") {
        return SimdRoutines {
            idct_islow: idct::sse2_idct_islow,
            idct_ifast: crate::simd::scalar::scalar_idct_ifast,
            idct_float: crate::simd::scalar::scalar_idct_float,
            ycbcr_to_rgb_row: color::sse2_ycbcr_to_rgb_row,
            fancy_upsample_h2v1: upsample::sse2_fancy_upsample_h2v1,
        };
    }

    crate::simd::scalar::routines()
}

/// Return x86_64 encoder SIMD routines.
pub fn encoder_routines() -> EncoderSimdRoutines {
    let mut routines: EncoderSimdRoutines = crate::simd::scalar::encoder_routines();
    if crate::cpu_has!("avx2") {
        routines.rgb_to_ycbcr_row = avx2_color_encode::avx2_rgb_to_ycbcr_row;
        routines.fdct_quantize = avx2_fdct_quantize;
    }
    // Resolved here, once per kernel set, so a portable build reaches the
    // FMA float FDCT on the CPUs that have it (P4-133, #464). Independent of
    // the AVX2 check above: FMA3 shipped before AVX2 on AMD (Piledriver).
    if crate::cpu_has!("fma") {
        routines.fdct_float_quantize = fma_fdct::fma_fdct_float_quantize;
    }
    routines
}

/// AVX2 fused FDCT + quantize + zigzag.
///
/// The CPU feature is checked *here*, not assumed of the caller (P4-135,
/// #474): `encoder_routines()` installs this only after its own check, but
/// a safe function must hold for every caller. Without AVX2 the scalar
/// reference path runs.
pub(crate) fn avx2_fdct_quantize(
    input: &mut [i16; 64],
    quant: &QuantDivisors,
    output: &mut [i16; 64],
) {
    if crate::cpu_has!("avx2") {
        // SAFETY: AVX2 confirmed immediately above; every buffer is a
        // fixed-size array covering the 64 elements both kernels touch.
        unsafe {
            // Step 1: AVX2 FDCT (in-place, destroys input)
            avx2_fdct::avx2_fdct_islow(input);
            // Step 2: AVX2 quantize using reciprocal multiply + zigzag
            avx2_quantize_zigzag(input, quant, output);
        }
    } else {
        crate::simd::scalar::scalar_fdct_quantize(input, quant, output);
    }
}

/// Fused extract (u8→i16 + level-shift) + FDCT + quantize + zigzag.
///
/// Loads 8 rows of 8 u8 pixels directly from a plane, widens to i16,
/// level-shifts (-128), and feeds into the AVX2 FDCT+quantize pipeline.
/// Eliminates the intermediate [i16; 64] extract_block buffer.
///
/// # Safety
/// Requires AVX2. `plane_ptr` must point to valid pixel data with at least
/// `stride * 7 + 8` accessible bytes from the start.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn avx2_extract_fdct_quantize(
    plane_ptr: *const u8,
    stride: usize,
    quant: &QuantDivisors,
    output: &mut [i16; 64],
) {
    use core::arch::x86_64::*;

    let zeros: __m128i = _mm_setzero_si128();
    let level_shift: __m128i = _mm_set1_epi16(128);

    // Load 8 rows of 8 u8, widen to i16, level-shift (-128)
    macro_rules! load_row {
        ($row:expr) => {{
            let ptr: *const u8 = plane_ptr.add(stride * $row);
            let pixels: __m128i = _mm_loadl_epi64(ptr as *const __m128i);
            _mm_sub_epi16(_mm_unpacklo_epi8(pixels, zeros), level_shift)
        }};
    }

    let r0: __m128i = load_row!(0);
    let r1: __m128i = load_row!(1);
    let r2: __m128i = load_row!(2);
    let r3: __m128i = load_row!(3);
    let r4: __m128i = load_row!(4);
    let r5: __m128i = load_row!(5);
    let r6: __m128i = load_row!(6);
    let r7: __m128i = load_row!(7);

    // Pack pairs of rows into 256-bit registers (FDCT expects rows 0-1, 2-3, 4-5, 6-7)
    let ymm01: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(r0), r1, 1);
    let ymm23: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(r2), r3, 1);
    let ymm45: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(r4), r5, 1);
    let ymm67: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(r6), r7, 1);

    // FDCT core (returns 4 ymm in row order)
    let (out0, out1, out2, out3) = avx2_fdct::avx2_fdct_core(ymm01, ymm23, ymm45, ymm67);

    // Store FDCT output for quantize+zigzag
    let mut dct_buf = [0i16; 64];
    _mm256_storeu_si256(dct_buf.as_mut_ptr() as *mut __m256i, out0);
    _mm256_storeu_si256(dct_buf.as_mut_ptr().add(16) as *mut __m256i, out1);
    _mm256_storeu_si256(dct_buf.as_mut_ptr().add(32) as *mut __m256i, out2);
    _mm256_storeu_si256(dct_buf.as_mut_ptr().add(48) as *mut __m256i, out3);

    avx2_quantize_zigzag(&dct_buf, quant, output);
}

/// Fused H2V2 chroma downsample (16x16→8x8) + FDCT + quantize + zigzag.
///
/// Loads 16 rows of 16 u8 pixels, averages 2x2 blocks with SSSE3 maddubs,
/// level-shifts, feeds into AVX2 FDCT, quantizes, and zigzag reorders.
/// Keeps data in registers between downsample and FDCT.
///
/// # Safety
/// Requires AVX2. `plane_ptr` must point to valid pixel data with at least
/// `stride * 15 + 16` accessible bytes.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn avx2_downsample_h2v2_fdct_quantize(
    plane_ptr: *const u8,
    stride: usize,
    quant: &QuantDivisors,
    output: &mut [i16; 64],
) {
    use core::arch::x86_64::*;

    let ones: __m128i = _mm_set1_epi8(1);
    let bias: __m128i = _mm_set_epi16(2, 1, 2, 1, 2, 1, 2, 1); // alternating rounding bias for divide-by-4
    let level_shift: __m128i = _mm_set1_epi16(128);

    // Downsample 8 pairs of rows → 8 output rows (each 8 i16)
    macro_rules! downsample_row_pair {
        ($row:expr) => {{
            let sy: usize = $row * 2;
            let r0: __m128i = _mm_loadu_si128(plane_ptr.add(sy * stride) as *const __m128i);
            let r1: __m128i = _mm_loadu_si128(plane_ptr.add((sy + 1) * stride) as *const __m128i);
            let sum0: __m128i = _mm_maddubs_epi16(r0, ones);
            let sum1: __m128i = _mm_maddubs_epi16(r1, ones);
            let total: __m128i = _mm_add_epi16(_mm_add_epi16(sum0, sum1), bias);
            let avg: __m128i = _mm_srai_epi16::<2>(total);
            _mm_sub_epi16(avg, level_shift)
        }};
    }

    let d0: __m128i = downsample_row_pair!(0);
    let d1: __m128i = downsample_row_pair!(1);
    let d2: __m128i = downsample_row_pair!(2);
    let d3: __m128i = downsample_row_pair!(3);
    let d4: __m128i = downsample_row_pair!(4);
    let d5: __m128i = downsample_row_pair!(5);
    let d6: __m128i = downsample_row_pair!(6);
    let d7: __m128i = downsample_row_pair!(7);

    // Pack into 256-bit registers for FDCT
    let ymm01: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(d0), d1, 1);
    let ymm23: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(d2), d3, 1);
    let ymm45: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(d4), d5, 1);
    let ymm67: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(d6), d7, 1);

    let (out0, out1, out2, out3) = avx2_fdct::avx2_fdct_core(ymm01, ymm23, ymm45, ymm67);

    let mut dct_buf = [0i16; 64];
    _mm256_storeu_si256(dct_buf.as_mut_ptr() as *mut __m256i, out0);
    _mm256_storeu_si256(dct_buf.as_mut_ptr().add(16) as *mut __m256i, out1);
    _mm256_storeu_si256(dct_buf.as_mut_ptr().add(32) as *mut __m256i, out2);
    _mm256_storeu_si256(dct_buf.as_mut_ptr().add(48) as *mut __m256i, out3);

    avx2_quantize_zigzag(&dct_buf, quant, output);
}

/// Fused H2V1 chroma downsample (16x8→8x8) + FDCT + quantize + zigzag.
///
/// Loads 8 rows of 16 u8 pixels, averages horizontal pairs with SSSE3 maddubs,
/// level-shifts, feeds into AVX2 FDCT, quantizes, and zigzag reorders.
///
/// # Safety
/// Requires AVX2. `plane_ptr` must point to valid pixel data with at least
/// `stride * 7 + 16` accessible bytes.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn avx2_downsample_h2v1_fdct_quantize(
    plane_ptr: *const u8,
    stride: usize,
    quant: &QuantDivisors,
    output: &mut [i16; 64],
) {
    use core::arch::x86_64::*;

    let ones: __m128i = _mm_set1_epi8(1);
    let bias: __m128i = _mm_set_epi16(1, 0, 1, 0, 1, 0, 1, 0); // alternating rounding bias for divide-by-2
    let level_shift: __m128i = _mm_set1_epi16(128);

    macro_rules! downsample_row {
        ($row:expr) => {{
            let r: __m128i = _mm_loadu_si128(plane_ptr.add($row * stride) as *const __m128i);
            let sum: __m128i = _mm_add_epi16(_mm_maddubs_epi16(r, ones), bias);
            let avg: __m128i = _mm_srai_epi16::<1>(sum);
            _mm_sub_epi16(avg, level_shift)
        }};
    }

    let d0: __m128i = downsample_row!(0);
    let d1: __m128i = downsample_row!(1);
    let d2: __m128i = downsample_row!(2);
    let d3: __m128i = downsample_row!(3);
    let d4: __m128i = downsample_row!(4);
    let d5: __m128i = downsample_row!(5);
    let d6: __m128i = downsample_row!(6);
    let d7: __m128i = downsample_row!(7);

    let ymm01: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(d0), d1, 1);
    let ymm23: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(d2), d3, 1);
    let ymm45: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(d4), d5, 1);
    let ymm67: __m256i = _mm256_inserti128_si256(_mm256_castsi128_si256(d6), d7, 1);

    let (out0, out1, out2, out3) = avx2_fdct::avx2_fdct_core(ymm01, ymm23, ymm45, ymm67);

    let mut dct_buf = [0i16; 64];
    _mm256_storeu_si256(dct_buf.as_mut_ptr() as *mut __m256i, out0);
    _mm256_storeu_si256(dct_buf.as_mut_ptr().add(16) as *mut __m256i, out1);
    _mm256_storeu_si256(dct_buf.as_mut_ptr().add(32) as *mut __m256i, out2);
    _mm256_storeu_si256(dct_buf.as_mut_ptr().add(48) as *mut __m256i, out3);

    avx2_quantize_zigzag(&dct_buf, quant, output);
}

/// AVX2 H2V2 chroma downsample: full-res plane → half-res plane.
///
/// Averages 2×2 blocks with rounding bias: `(a + b + c + d + 2) >> 2`.
/// Matches C libjpeg-turbo's `h2v2_downsample` in jcsample.c.
///
/// Processes 16 output pixels (32 input) per AVX2 iteration.
///
/// # Safety
/// Requires AVX2. `src` must have at least `src_stride * src_rows` bytes.
/// `dst` must have at least `dst_stride * (src_rows / 2)` bytes.
/// `src_rows` must be even.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn avx2_downsample_h2v2_plane(
    src: &[u8],
    src_stride: usize,
    src_rows: usize,
    dst: &mut [u8],
    dst_stride: usize,
) {
    use core::arch::x86_64::*;

    let ones: __m256i = _mm256_set1_epi8(1);
    // Alternating rounding bias (2,1,2,1...) matching the fused
    // avx2_downsample_h2v2_fdct_quantize dither pattern.
    let bias: __m256i = _mm256_set_epi16(2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1);

    let src_ptr: *const u8 = src.as_ptr();
    let dst_ptr: *mut u8 = dst.as_mut_ptr();

    for dy in 0..src_rows / 2 {
        let sy: usize = dy * 2;
        let row0: *const u8 = src_ptr.add(sy * src_stride);
        let row1: *const u8 = src_ptr.add((sy + 1) * src_stride);
        let out: *mut u8 = dst_ptr.add(dy * dst_stride);

        let mut sx: usize = 0;
        let mut dx: usize = 0;

        // AVX2 loop: 32 input pixels → 16 output pixels per iteration
        while sx + 32 <= src_stride {
            let r0: __m256i = _mm256_loadu_si256(row0.add(sx) as *const __m256i);
            let r1: __m256i = _mm256_loadu_si256(row1.add(sx) as *const __m256i);
            // Horizontal pair sums (u8×1 + u8×1 → u16)
            let h0: __m256i = _mm256_maddubs_epi16(r0, ones);
            let h1: __m256i = _mm256_maddubs_epi16(r1, ones);
            // 2×2 block sum + bias + shift
            let sum: __m256i = _mm256_add_epi16(_mm256_add_epi16(h0, h1), bias);
            let avg: __m256i = _mm256_srli_epi16::<2>(sum);
            // Pack u16→u8 and fix lane ordering
            let packed: __m256i = _mm256_packus_epi16(avg, _mm256_setzero_si256());
            let ordered: __m256i = _mm256_permute4x64_epi64::<0b_11_01_10_00>(packed);
            _mm_storeu_si128(out.add(dx) as *mut __m128i, _mm256_castsi256_si128(ordered));
            sx += 32;
            dx += 16;
        }

        // Scalar tail with alternating dither bias (1 for even, 2 for odd dx)
        while sx + 1 < src_stride {
            let a: u16 = *row0.add(sx) as u16;
            let b: u16 = *row0.add(sx + 1) as u16;
            let c: u16 = *row1.add(sx) as u16;
            let d: u16 = *row1.add(sx + 1) as u16;
            let dither: u16 = if dx & 1 == 0 { 1 } else { 2 };
            *out.add(dx) = ((a + b + c + d + dither) / 4) as u8;
            sx += 2;
            dx += 1;
        }
    }
}

/// AVX2 quantization: adaptive-precision reciprocal multiply matching C libjpeg-turbo.
///
/// Uses three pre-computed tables per element (from `compute_reciprocal`):
/// - `corrections`: rounding factor (divisor/2, adjusted for reciprocal precision)
/// - `reciprocals`: adaptive-precision reciprocal
/// - `scales`: `1 << (32 - r)`, converts per-element variable shift into a second `mulhi`
///
/// Algorithm: `quantized = sign(coeff) * mulhi(mulhi(abs(coeff) + correction, reciprocal), scale)`
/// This matches C libjpeg-turbo's `jsimd_quantize_avx2` in `jquanti-avx2.asm`.
///
/// # Safety
/// Requires AVX2.
#[target_feature(enable = "avx2")]
unsafe fn avx2_quantize_zigzag(coeffs: &[i16; 64], quant: &QuantDivisors, output: &mut [i16; 64]) {
    use core::arch::x86_64::*;

    let zigzag = &crate::common::tables::ZIGZAG_ORDER;

    for i in (0..64).step_by(16) {
        // Gather 16 coefficients from natural order into zigzag order
        let mut coeff_buf = [0i16; 16];
        for j in 0..16 {
            // SAFETY: ZIGZAG_ORDER contains values in 0..64, and coeffs has exactly 64 elements.
            coeff_buf[j] = *coeffs.get_unchecked(zigzag[i + j]);
        }
        let c: __m256i = _mm256_loadu_si256(coeff_buf.as_ptr() as *const __m256i);

        // Load zigzag-ordered correction, reciprocal, and scale tables
        let corr: __m256i =
            _mm256_loadu_si256(quant.corrections_zigzag.as_ptr().add(i) as *const __m256i);
        let recip: __m256i =
            _mm256_loadu_si256(quant.reciprocals_zigzag.as_ptr().add(i) as *const __m256i);
        let scale: __m256i =
            _mm256_loadu_si256(quant.scales_zigzag.as_ptr().add(i) as *const __m256i);

        let abs_c: __m256i = _mm256_abs_epi16(c);
        let corrected: __m256i = _mm256_add_epi16(abs_c, corr); // abs + correction
        let step1: __m256i = _mm256_mulhi_epu16(corrected, recip); // * reciprocal >> 16
        let step2: __m256i = _mm256_mulhi_epu16(step1, scale); // * scale >> 16

        // Restore sign: vpsignw(result, original) — zero stays zero, sign matched otherwise
        let result: __m256i = _mm256_sign_epi16(step2, c);

        _mm256_storeu_si256(output.as_mut_ptr().add(i) as *mut __m256i, result);
    }
}
