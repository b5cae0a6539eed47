//! The two gray conversions: BT.601 luma of the encoded values
//! (`grayscale:luma`) and Rec. 709 luminance in linear light (`grayscale`),
//! sharing one skeleton with a row kernel per pixel layout.

use image::{DynamicImage, Luma, LumaA, Rgb, Rgba};

use super::{map_rows, zeroed};
use crate::pool;

/// BT.601 luma of an 8-bit gamma-encoded RGB pixel (what JPEG stores as Y):
/// `Y' = (19595 R' + 38470 G' + 7471 B' + 2^15) >> 16`, that is
/// `0.299 R' + 0.587 G' + 0.114 B'` rounded.
#[inline]
#[must_use]
pub fn luma_bt601(r: u8, g: u8, b: u8) -> u8 {
    ((19_595 * u32::from(r) + 38_470 * u32::from(g) + 7_471 * u32::from(b) + 32_768) >> 16) as u8
}

/// [`luma_bt601`] of a 16-bit pixel: the same weights and rounding.
#[inline]
fn luma_bt601_u16(r: u16, g: u16, b: u16) -> u16 {
    ((19_595 * u64::from(r) + 38_470 * u64::from(g) + 7_471 * u64::from(b) + 32_768) >> 16) as u16
}

/// Converts colour to gray with an 8-bit row kernel (`row::<IN, OUT>(input,
/// output)` writes one gray byte per pixel of `IN` bytes into pixels of `OUT`
/// bytes; generic so that each layout gets its own unrolled loop) and a
/// 16-bit pixel function; alpha is kept, gray images are returned as they are.
fn to_gray<R: GrayRow>(image: DynamicImage, pixel16: fn(u16, u16, u16) -> u16) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_) => image,
        DynamicImage::ImageRgb8(rgb) => {
            let gray = map_rows::<Rgb<u8>, Luma<u8>, _, _>(&rgb, pool::take_buffer, |i, o| {
                R::row::<3, 1>(i, o);
            });
            pool::recycle(rgb.into_raw());
            DynamicImage::ImageLuma8(gray)
        }
        DynamicImage::ImageRgba8(rgba) => {
            let gray = map_rows::<Rgba<u8>, LumaA<u8>, _, _>(&rgba, pool::take_buffer, |i, o| {
                R::row::<4, 2>(i, o);
                for (p, y) in i.chunks_exact(4).zip(o.chunks_exact_mut(2)) {
                    y[1] = p[3];
                }
            });
            pool::recycle(rgba.into_raw());
            DynamicImage::ImageLumaA8(gray)
        }
        DynamicImage::ImageRgb16(rgb) => {
            DynamicImage::ImageLuma16(map_rows::<Rgb<u16>, Luma<u16>, _, _>(
                &rgb,
                zeroed,
                |i, o| {
                    for (p, y) in i.chunks_exact(3).zip(o) {
                        *y = pixel16(p[0], p[1], p[2]);
                    }
                },
            ))
        }
        DynamicImage::ImageRgba16(rgba) => {
            DynamicImage::ImageLumaA16(map_rows::<Rgba<u16>, LumaA<u16>, _, _>(
                &rgba,
                zeroed,
                |i, o| {
                    for (p, y) in i.chunks_exact(4).zip(o.chunks_exact_mut(2)) {
                        y[0] = pixel16(p[0], p[1], p[2]);
                        y[1] = p[3];
                    }
                },
            ))
        }
        other => to_gray::<R>(DynamicImage::ImageRgba16(other.to_rgba16()), pixel16),
    }
}

/// An 8-bit colour-to-gray row kernel.
trait GrayRow {
    /// Gray of the pixels of `input` (`IN` bytes each, RGB first) into the
    /// first byte of each `OUT`-byte pixel of `out`.
    fn row<const IN: usize, const OUT: usize>(input: &[u8], out: &mut [u8]);
}

/// BT.601 luma.
struct LumaRow;

impl GrayRow for LumaRow {
    fn row<const IN: usize, const OUT: usize>(input: &[u8], out: &mut [u8]) {
        for (p, y) in input.chunks_exact(IN).zip(out.chunks_exact_mut(OUT)) {
            y[0] = luma_bt601(p[0], p[1], p[2]);
        }
    }
}

/// Gray by BT.601 luma of the gamma-encoded values, as JPEG's Y channel and
/// Pillow's `convert("L")`: `Y' = 0.299 R' + 0.587 G' + 0.114 B'` (in
/// 1/65536 fixed point, rounded), with no conversion to linear light. What
/// [`Op::Luma`](super::Op::Luma) computes.
pub(super) fn gray_by_luma(image: DynamicImage) -> DynamicImage {
    to_gray::<LumaRow>(image, luma_bt601_u16)
}

/// sRGB transfer curve, encoded value (0–1) to linear light.
fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.040_45 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear light (0–1) to encoded sRGB.
fn linear_to_srgb(v: f64) -> f64 {
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// Scale of the linear-light table: 8-bit sRGB → linear light in 0..=2^15.
const LINEAR_ONE: f64 = 32_768.0;

/// Bits of linear light kept when encoding back: a 2^14-entry table (16 KiB,
/// fits in L1) steps by 0.2 of an 8-bit level even in the darkest shades.
const ENCODE_BITS: u32 = 14;

/// Rec. 709 luminance weights in 1/65536 (they sum to 65536).
const LUMINANCE_WEIGHTS: [u32; 3] = [13_933, 46_871, 4_732];

/// Luminance as three table loads and two adds per pixel: the tables hold
/// each channel's weighted linear light (plus the rounding term in `r`), and
/// `encode` maps the sum's top bits back to sRGB.
struct LuminanceLut {
    /// `w · linear(v)` for R, G, B: sums stay ≤ 2^15 · 2^16 = 2^31.
    weighted: [[u32; 256]; 3],
    /// Linear light in 0..=2^ENCODE_BITS → 8-bit sRGB. Sized to the next
    /// power of two (the tail repeats white) so that a mask, not a bounds
    /// check, keeps the index in range.
    encode: [u8; ENCODE_LEN],
}

/// Length of the encode table: the next power of two above 2^ENCODE_BITS.
const ENCODE_LEN: usize = 2 << ENCODE_BITS;
/// Shift from the weighted sum (≤ 2^31) to the encode index (≤ 2^14).
const ENCODE_SHIFT: u32 = 31 - ENCODE_BITS;

impl LuminanceLut {
    fn get() -> &'static Self {
        static LUT: std::sync::OnceLock<Box<LuminanceLut>> = std::sync::OnceLock::new();
        LUT.get_or_init(|| {
            let linear = |i: usize| (srgb_to_linear(i as f64 / 255.0) * LINEAR_ONE).round() as u32;
            let mut weighted = [[0u32; 256]; 3];
            for (table, w) in weighted.iter_mut().zip(LUMINANCE_WEIGHTS) {
                for (i, t) in table.iter_mut().enumerate() {
                    *t = w * linear(i);
                }
            }
            for t in &mut weighted[0] {
                *t += 1 << (ENCODE_SHIFT - 1);
            }
            let one = f64::from(1u32 << ENCODE_BITS);
            let mut encode = [255u8; ENCODE_LEN];
            for (y, e) in encode.iter_mut().enumerate().take((1 << ENCODE_BITS) + 1) {
                *e = (linear_to_srgb(y as f64 / one) * 255.0).round() as u8;
            }
            Box::new(LuminanceLut { weighted, encode })
        })
    }

    #[inline(always)]
    fn pixel(&self, r: u8, g: u8, b: u8) -> u8 {
        let [tr, tg, tb] = &self.weighted;
        let sum = tr[usize::from(r)] + tg[usize::from(g)] + tb[usize::from(b)];
        self.encode[(sum >> ENCODE_SHIFT) as usize & (ENCODE_LEN - 1)]
    }
}

/// Rec. 709 luminance in linear light, encoded back to sRGB.
struct LuminanceRow;

impl GrayRow for LuminanceRow {
    fn row<const IN: usize, const OUT: usize>(input: &[u8], out: &mut [u8]) {
        let lut = LuminanceLut::get();
        for (p, y) in input.chunks_exact(IN).zip(out.chunks_exact_mut(OUT)) {
            y[0] = lut.pixel(p[0], p[1], p[2]);
        }
    }
}

/// Rec. 709 luminance of one 8-bit sRGB pixel, encoded back to 8-bit sRGB:
/// `Y = 0.2126 R + 0.7152 G + 0.0722 B` on linear light, by table
/// ([`LuminanceLut`]).
#[must_use]
pub fn luminance_srgb8(r: u8, g: u8, b: u8) -> u8 {
    LuminanceLut::get().pixel(r, g, b)
}

/// [`luminance_srgb8`] of a 16-bit pixel, computed in `f64`.
fn luminance_srgb16(r: u16, g: u16, b: u16) -> u16 {
    let l = |v: u16| srgb_to_linear(f64::from(v) / 65_535.0);
    let y = 0.2126 * l(r) + 0.7152 * l(g) + 0.0722 * l(b);
    (linear_to_srgb(y) * 65_535.0).round() as u16
}

/// Gray by Rec. 709 luminance in linear light, as libvips' `colourspace
/// b-w`: `Y = 0.2126 R + 0.7152 G + 0.0722 B` on the sRGB-decoded (linear)
/// channels, encoded back with the sRGB curve. What
/// [`Op::Grayscale`](super::Op::Grayscale) computes.
pub(super) fn gray_by_luminance(image: DynamicImage) -> DynamicImage {
    to_gray::<LuminanceRow>(image, luminance_srgb16)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{apply, px, rgb};
    use super::*;
    use image::{ImageBuffer, RgbImage, RgbaImage};

    #[test]
    fn grayscale_is_linear_light_luminance() {
        // Rec. 709 weights on linear light, sRGB-encoded: pure red is
        // 0.2126 linear → 127 encoded; mid-gray stays put.
        for (p, y) in [
            ([255, 0, 0], 127),
            ([0, 255, 0], 220),
            ([0, 0, 255], 76),
            ([128, 128, 128], 128),
            ([255, 255, 255], 255),
            ([0, 0, 0], 0),
        ] {
            let out = apply("grayscale", rgb(2, 2, p));
            assert_eq!(px(&out, 1, 1), y, "{p:?}");
        }
        let rgba = DynamicImage::ImageRgba8(RgbaImage::from_pixel(1, 1, Rgba([255, 0, 0, 7])));
        assert_eq!(
            apply("grayscale", rgba)
                .as_luma_alpha8()
                .expect("LA8")
                .get_pixel(0, 0)
                .0,
            [127, 7]
        );
        let rgb16 =
            DynamicImage::ImageRgb16(ImageBuffer::from_pixel(1, 1, Rgb([65_535, 65_535, 65_535])));
        assert_eq!(
            apply("grayscale", rgb16)
                .as_luma16()
                .expect("L16")
                .get_pixel(0, 0)[0],
            65_535
        );
        // Every gray level maps to itself.
        let ramp = DynamicImage::ImageRgb8(RgbImage::from_fn(256, 1, |x, _| Rgb([x as u8; 3])));
        let out = apply("grayscale", ramp);
        assert!((0..256).all(|x| px(&out, x, 0) == x as u8));
    }

    #[test]
    fn grayscale_luma_is_bt601() {
        for (p, y) in [
            ([255, 0, 0], 76),
            ([0, 255, 0], 150),
            ([0, 0, 255], 29),
            ([255, 255, 255], 255),
            ([0, 0, 0], 0),
        ] {
            let out = apply("grayscale:luma", rgb(2, 2, p));
            assert_eq!(px(&out, 1, 1), y, "{p:?}");
        }
        let rgba = DynamicImage::ImageRgba8(RgbaImage::from_pixel(1, 1, Rgba([255, 0, 0, 7])));
        let out = apply("grayscale:luma", rgba);
        assert_eq!(
            out.as_luma_alpha8().expect("LA8").get_pixel(0, 0).0,
            [76, 7],
            "alpha kept"
        );
        let rgb16 = DynamicImage::ImageRgb16(ImageBuffer::from_pixel(1, 1, Rgb([65_535, 0, 0])));
        let out = apply("grayscale:luma", rgb16);
        assert_eq!(
            out.as_luma16().expect("L16 kept 16-bit").get_pixel(0, 0)[0],
            19_595
        );
    }
}
