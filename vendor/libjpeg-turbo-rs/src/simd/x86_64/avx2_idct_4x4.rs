//! imgpipe patch: AVX2 4x4 reduced IDCT (1/2-scale decode), the arithmetic
//! of `decode::idct_scaled::idct_4x4` (libjpeg's `jpeg_idct_4x4`) on
//! vectors. Pass 1 runs the 8 columns as the 8 i32 lanes of a ymm register;
//! the 4x8 workspace is transposed in registers and pass 2 runs the 4 rows
//! as the lanes of xmm registers. Upstream has SIMD for this size only on
//! aarch64.
//!
//! The DC-only shortcuts of the scalar code are left out: the full
//! formulas give the same values for them. Like the NEON twin, the output
//! saturates to 0..=255; the only difference from the scalar code is that
//! the +128 level shift wraps instead of saturating, which only a corrupt
//! coefficient of about ±2^31 after dequantisation can reach.

use core::arch::x86_64::*;

const CONST_BITS: i32 = 13;
const PASS1_BITS: i32 = 2;
const FIX_0_211164243: i32 = 1730;
const FIX_0_509795579: i32 = 4176;
const FIX_0_601344887: i32 = 4926;
const FIX_0_765366865: i32 = 6270;
const FIX_0_899976223: i32 = 7373;
const FIX_1_061594337: i32 = 8697;
const FIX_1_451774981: i32 = 11893;
const FIX_1_847759065: i32 = 15137;
const FIX_2_172734803: i32 = 17799;
const FIX_2_562915447: i32 = 20995;

/// Row `row` of the block, dequantised, as 8 i32 lanes.
#[inline(always)]
unsafe fn dequantised_row(coeffs: &[i16; 64], quant: &[u16; 64], row: usize) -> __m256i {
    unsafe {
        let c = _mm_loadu_si128(coeffs.as_ptr().add(row * 8).cast());
        let q = _mm_loadu_si128(quant.as_ptr().add(row * 8).cast());
        _mm256_mullo_epi32(_mm256_cvtepi16_epi32(c), _mm256_cvtepu16_epi32(q))
    }
}

/// 4x4 IDCT of one block into `output` (4 rows of 4 bytes, `stride` apart).
///
/// # Safety
/// The CPU must support AVX2, and `output` must point to at least
/// `3 * stride + 4` writable bytes.
#[target_feature(enable = "avx2")]
pub unsafe fn avx2_idct_4x4_strided(
    coeffs: &[i16; 64],
    quant: &[u16; 64],
    output: *mut u8,
    stride: usize,
) {
    unsafe {
        let k = _mm256_set1_epi32;
        // Pass 1: columns (row 4 of the coefficients is not used).
        let tmp0 = _mm256_slli_epi32::<{ CONST_BITS + 1 }>(dequantised_row(coeffs, quant, 0));
        let tmp2 = _mm256_add_epi32(
            _mm256_mullo_epi32(dequantised_row(coeffs, quant, 2), k(FIX_1_847759065)),
            _mm256_mullo_epi32(dequantised_row(coeffs, quant, 6), k(-FIX_0_765366865)),
        );
        let tmp10 = _mm256_add_epi32(tmp0, tmp2);
        let tmp12 = _mm256_sub_epi32(tmp0, tmp2);
        let z1 = dequantised_row(coeffs, quant, 7);
        let z2 = dequantised_row(coeffs, quant, 5);
        let z3 = dequantised_row(coeffs, quant, 3);
        let z4 = dequantised_row(coeffs, quant, 1);
        let madd4 = |a: i32, b: i32, c: i32, d: i32| {
            _mm256_add_epi32(
                _mm256_add_epi32(_mm256_mullo_epi32(z1, k(a)), _mm256_mullo_epi32(z2, k(b))),
                _mm256_add_epi32(_mm256_mullo_epi32(z3, k(c)), _mm256_mullo_epi32(z4, k(d))),
            )
        };
        let odd0 = madd4(
            -FIX_0_211164243,
            FIX_1_451774981,
            -FIX_2_172734803,
            FIX_1_061594337,
        );
        let odd2 = madd4(
            -FIX_0_509795579,
            -FIX_0_601344887,
            FIX_0_899976223,
            FIX_2_562915447,
        );
        const SHIFT1: i32 = CONST_BITS - PASS1_BITS + 1;
        let round1 = k(1 << (SHIFT1 - 1));
        let descale1 = |v: __m256i| _mm256_srai_epi32::<SHIFT1>(_mm256_add_epi32(v, round1));
        let w0 = descale1(_mm256_add_epi32(tmp10, odd2));
        let w3 = descale1(_mm256_sub_epi32(tmp10, odd2));
        let w1 = descale1(_mm256_add_epi32(tmp12, odd0));
        let w2 = descale1(_mm256_sub_epi32(tmp12, odd0));

        // Transpose the 4 rows x 8 columns: each result holds the 4 rows of
        // column c in its low half and of column c + 4 in its high half.
        let t0 = _mm256_unpacklo_epi32(w0, w1);
        let t1 = _mm256_unpackhi_epi32(w0, w1);
        let t2 = _mm256_unpacklo_epi32(w2, w3);
        let t3 = _mm256_unpackhi_epi32(w2, w3);
        let c04 = _mm256_unpacklo_epi64(t0, t2);
        let c15 = _mm256_unpackhi_epi64(t0, t2);
        let c26 = _mm256_unpacklo_epi64(t1, t3);
        let c37 = _mm256_unpackhi_epi64(t1, t3);
        let col0 = _mm256_castsi256_si128(c04);
        let col1 = _mm256_castsi256_si128(c15);
        let col5 = _mm256_extracti128_si256::<1>(c15);
        let col2 = _mm256_castsi256_si128(c26);
        let col6 = _mm256_extracti128_si256::<1>(c26);
        let col3 = _mm256_castsi256_si128(c37);
        let col7 = _mm256_extracti128_si256::<1>(c37);

        // Pass 2: rows.
        let k = _mm_set1_epi32;
        let tmp0 = _mm_slli_epi32::<{ CONST_BITS + 1 }>(col0);
        let tmp2 = _mm_add_epi32(
            _mm_mullo_epi32(col2, k(FIX_1_847759065)),
            _mm_mullo_epi32(col6, k(-FIX_0_765366865)),
        );
        let tmp10 = _mm_add_epi32(tmp0, tmp2);
        let tmp12 = _mm_sub_epi32(tmp0, tmp2);
        let madd4 = |a: i32, b: i32, c: i32, d: i32| {
            _mm_add_epi32(
                _mm_add_epi32(_mm_mullo_epi32(col7, k(a)), _mm_mullo_epi32(col5, k(b))),
                _mm_add_epi32(_mm_mullo_epi32(col3, k(c)), _mm_mullo_epi32(col1, k(d))),
            )
        };
        let odd0 = madd4(
            -FIX_0_211164243,
            FIX_1_451774981,
            -FIX_2_172734803,
            FIX_1_061594337,
        );
        let odd2 = madd4(
            -FIX_0_509795579,
            -FIX_0_601344887,
            FIX_0_899976223,
            FIX_2_562915447,
        );
        const SHIFT2: i32 = CONST_BITS + PASS1_BITS + 3 + 1;
        let round2 = k((1 << (SHIFT2 - 1)) + (128 << SHIFT2)); // + level shift
        let descale2 = |v: __m128i| _mm_srai_epi32::<SHIFT2>(_mm_add_epi32(v, round2));
        // px_j holds output column j of the 4 rows.
        let px0 = descale2(_mm_add_epi32(tmp10, odd2));
        let px3 = descale2(_mm_sub_epi32(tmp10, odd2));
        let px1 = descale2(_mm_add_epi32(tmp12, odd0));
        let px2 = descale2(_mm_sub_epi32(tmp12, odd0));

        // Saturate to bytes (column-major), then transpose to rows.
        let bytes = _mm_packus_epi16(_mm_packs_epi32(px0, px1), _mm_packs_epi32(px2, px3));
        let rows = _mm_shuffle_epi8(
            bytes,
            _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
        );
        output
            .cast::<i32>()
            .write_unaligned(_mm_cvtsi128_si32(rows));
        output
            .add(stride)
            .cast::<i32>()
            .write_unaligned(_mm_extract_epi32::<1>(rows));
        output
            .add(2 * stride)
            .cast::<i32>()
            .write_unaligned(_mm_extract_epi32::<2>(rows));
        output
            .add(3 * stride)
            .cast::<i32>()
            .write_unaligned(_mm_extract_epi32::<3>(rows));
    }
}
