//! Colour management: pixels decoded with an embedded ICC profile are
//! converted to sRGB before the chain (as vipsthumbnail and sharp do), so
//! every viewer shows the same colours whether or not it reads profiles.
//!
//! The transforms come from `moxcms`, a pure-Rust CMS (compared with lcms2
//! in `examples/colour_cms.rs`). A transform is built once per profile and
//! thread and kept in a small cache: a folder of photos from one camera
//! shares one profile. A profile that maps to sRGB within one level (an
//! embedded sRGB profile, the commonest case) is recognised once and skipped
//! after. Images without a profile never reach this module.

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use image::{DynamicImage, ImageBuffer};
use moxcms::{ColorProfile, DataColorSpace, Layout, TransformExecutor, TransformOptions};

/// How many profiles' transforms a thread keeps.
const CACHE_ENTRIES: usize = 8;

type Executor8 = Arc<dyn TransformExecutor<u8> + Send + Sync>;
type Executor16 = Arc<dyn TransformExecutor<u16> + Send + Sync>;

/// A cached answer for one (profile, layout): `None` when the profile is
/// sRGB already (nothing to do).
#[derive(Clone)]
enum Cached {
    Eight(Option<Executor8>),
    Sixteen(Option<Executor16>),
}

/// Pixel layouts a transform is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Rgb8,
    Rgba8,
    Rgb16,
    Rgba16,
    Cmyk8,
}

std::thread_local! {
    static CACHE: RefCell<Vec<(u64, Kind, Cached)>> = const { RefCell::new(Vec::new()) };
}

fn profile_key(icc: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    icc.hash(&mut h);
    h.finish()
}

fn parse(icc: &[u8]) -> Result<ColorProfile, String> {
    ColorProfile::new_from_slice(icc).map_err(|e| format!("embedded ICC profile: {e}"))
}

/// Whether `profile` describes RGB pixels (the only kind converted to sRGB
/// from an RGB image; a gray or CMYK profile on RGB pixels is left alone).
fn is_rgb(profile: &ColorProfile) -> bool {
    profile.color_space == DataColorSpace::Rgb
}

/// Probe colours: a 6×6×6 grid of RGB levels.
fn probe() -> Vec<u8> {
    let levels = [0u8, 51, 102, 153, 204, 255];
    let mut out = Vec::with_capacity(216 * 3);
    for r in levels {
        for g in levels {
            for b in levels {
                out.extend_from_slice(&[r, g, b]);
            }
        }
    }
    out
}

/// Whether an 8-bit RGB transform leaves every probe colour within one level:
/// the profile is sRGB (or near enough that converting would only add noise).
fn is_identity(transform: &Executor8) -> bool {
    let src = probe();
    let mut dst = vec![0; src.len()];
    transform.transform(&src, &mut dst).is_ok()
        && src.iter().zip(&dst).all(|(a, b)| a.abs_diff(*b) <= 1)
}

fn build(icc: &[u8], kind: Kind) -> Result<Cached, String> {
    let src = parse(icc)?;
    let srgb = ColorProfile::new_srgb();
    let options = TransformOptions::default();
    let err = |e: moxcms::CmsError| format!("colour transform from the embedded profile: {e}");
    Ok(match kind {
        Kind::Cmyk8 => {
            if src.color_space != DataColorSpace::Cmyk {
                return Ok(Cached::Eight(None));
            }
            let t = src
                .create_transform_8bit(Layout::Rgba, &srgb, Layout::Rgb, options)
                .map_err(err)?;
            Cached::Eight(Some(t))
        }
        _ if !is_rgb(&src) => match kind {
            Kind::Rgb16 | Kind::Rgba16 => Cached::Sixteen(None),
            _ => Cached::Eight(None),
        },
        Kind::Rgb8 | Kind::Rgba8 => {
            let probe_t = src
                .create_transform_8bit(Layout::Rgb, &srgb, Layout::Rgb, options)
                .map_err(err)?;
            if is_identity(&probe_t) {
                return Ok(Cached::Eight(None));
            }
            let layout = if kind == Kind::Rgb8 {
                Layout::Rgb
            } else {
                Layout::Rgba
            };
            let t = if layout == Layout::Rgb {
                probe_t
            } else {
                src.create_transform_8bit(layout, &srgb, layout, options)
                    .map_err(err)?
            };
            Cached::Eight(Some(t))
        }
        Kind::Rgb16 | Kind::Rgba16 => {
            let probe_t = src
                .create_transform_8bit(Layout::Rgb, &srgb, Layout::Rgb, options)
                .map_err(err)?;
            if is_identity(&probe_t) {
                return Ok(Cached::Sixteen(None));
            }
            let layout = if kind == Kind::Rgb16 {
                Layout::Rgb
            } else {
                Layout::Rgba
            };
            let t = src
                .create_transform_16bit(layout, &srgb, layout, options)
                .map_err(err)?;
            Cached::Sixteen(Some(t))
        }
    })
}

/// The transform for `icc` and `kind`, from this thread's cache or built.
fn transform_for(icc: &[u8], kind: Kind) -> Result<Cached, String> {
    let key = profile_key(icc);
    if let Some(hit) = CACHE.with_borrow(|c| {
        c.iter()
            .find(|(k, kd, _)| *k == key && *kd == kind)
            .map(|(_, _, t)| t.clone())
    }) {
        return Ok(hit);
    }
    let built = build(icc, kind)?;
    CACHE.with_borrow_mut(|c| {
        if c.len() >= CACHE_ENTRIES {
            c.remove(0);
        }
        c.push((key, kind, built.clone()));
    });
    Ok(built)
}

/// Whether `icc` is an RGB profile that differs from sRGB: the image needs
/// converting (and so must be decoded in colour, not straight to gray).
#[must_use]
pub fn needs_conversion(icc: &[u8]) -> bool {
    matches!(transform_for(icc, Kind::Rgb8), Ok(Cached::Eight(Some(_))))
}

/// Converts `image` from the colours `icc` describes to sRGB, in place.
/// Returns whether any pixel was touched: `false` for an sRGB profile, a
/// profile of another colour space than the pixels', gray images (kept
/// gray; their profile only sets a tone curve) and float images.
///
/// # Errors
/// When the profile cannot be read or the transform fails: the caller
/// decides whether that fails the image (it should, rather than writing
/// wrong colours quietly).
pub fn to_srgb(image: &mut DynamicImage, icc: &[u8]) -> Result<bool, String> {
    let kind = match image {
        DynamicImage::ImageRgb8(_) => Kind::Rgb8,
        DynamicImage::ImageRgba8(_) => Kind::Rgba8,
        DynamicImage::ImageRgb16(_) => Kind::Rgb16,
        DynamicImage::ImageRgba16(_) => Kind::Rgba16,
        _ => return Ok(false),
    };
    let err = |e: moxcms::CmsError| format!("converting to sRGB: {e}");
    match (transform_for(icc, kind)?, image) {
        (Cached::Eight(Some(t)), DynamicImage::ImageRgb8(buf)) => {
            convert8(buf, |from, to| t.transform(from, to)).map(|()| true)
        }
        (Cached::Eight(Some(t)), DynamicImage::ImageRgba8(buf)) => {
            convert8(buf, |from, to| t.transform(from, to)).map(|()| true)
        }
        (Cached::Sixteen(Some(t)), DynamicImage::ImageRgb16(buf)) => {
            let mut out = vec![0u16; buf.len()];
            t.transform(buf.as_raw(), &mut out).map_err(err)?;
            buf.copy_from_slice(&out);
            Ok(true)
        }
        (Cached::Sixteen(Some(t)), DynamicImage::ImageRgba16(buf)) => {
            let mut out = vec![0u16; buf.len()];
            t.transform(buf.as_raw(), &mut out).map_err(err)?;
            buf.copy_from_slice(&out);
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Runs an 8-bit transform over `buf` into a pooled buffer that then
/// takes its place (the old one goes back to the pool).
fn convert8<P: image::Pixel<Subpixel = u8>>(
    buf: &mut ImageBuffer<P, Vec<u8>>,
    transform: impl FnOnce(&[u8], &mut [u8]) -> Result<(), moxcms::CmsError>,
) -> Result<(), String> {
    let (w, h) = buf.dimensions();
    let mut out = crate::pool::take_buffer(buf.len());
    transform(buf.as_raw(), &mut out).map_err(|e| format!("converting to sRGB: {e}"))?;
    let converted = ImageBuffer::from_raw(w, h, out).ok_or("converting to sRGB: size")?;
    crate::pool::recycle(std::mem::replace(buf, converted).into_raw());
    Ok(())
}

/// Converts 8-bit CMYK pixels (4 bytes each, ink 0 = none, as an ICC CMYK
/// profile counts them) to 8-bit sRGB in `rgb` through the CMYK profile
/// `icc`. Returns `false` (and leaves `rgb` alone) when `icc` is not a CMYK
/// profile.
///
/// # Errors
/// When the profile cannot be read or the transform fails.
pub fn cmyk_to_srgb(cmyk: &[u8], icc: &[u8], rgb: &mut [u8]) -> Result<bool, String> {
    match transform_for(icc, Kind::Cmyk8)? {
        Cached::Eight(Some(t)) => {
            t.transform(cmyk, rgb)
                .map_err(|e| format!("converting CMYK to sRGB: {e}"))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Whether `icc` can describe pixels that are colour (`true`) or gray:
/// an RGB profile on a gray output (after `grayscale`) would be invalid.
#[must_use]
pub fn fits(icc: &[u8], colour: bool) -> bool {
    parse(icc).is_ok_and(|p| {
        if colour {
            p.color_space == DataColorSpace::Rgb
        } else {
            p.color_space == DataColorSpace::Gray
        }
    })
}

/// Whether `icc` is a CMYK profile.
#[must_use]
pub fn is_cmyk_profile(icc: &[u8]) -> bool {
    parse(icc).is_ok_and(|p| p.color_space == DataColorSpace::Cmyk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(profile: &ColorProfile) -> Vec<u8> {
        profile.encode().expect("encode profile")
    }

    #[test]
    fn srgb_profiles_are_recognised_and_skipped() {
        let srgb = encoded(&ColorProfile::new_srgb());
        assert!(!needs_conversion(&srgb));
        let mut img =
            DynamicImage::ImageRgb8(image::RgbImage::from_pixel(4, 4, image::Rgb([200, 40, 40])));
        assert_eq!(to_srgb(&mut img, &srgb), Ok(false));
    }

    #[test]
    fn adobe_rgb_red_becomes_a_more_saturated_srgb_red() {
        let adobe = encoded(&ColorProfile::new_adobe_rgb());
        assert!(needs_conversion(&adobe));
        // Adobe RGB (0, 255, 0) is outside sRGB: it clips to pure green;
        // a mid-saturated red gets more saturated in sRGB numbers.
        let mut img =
            DynamicImage::ImageRgb8(image::RgbImage::from_pixel(4, 4, image::Rgb([200, 60, 60])));
        assert_eq!(to_srgb(&mut img, &adobe), Ok(true));
        let p = img.to_rgb8().get_pixel(1, 1).0;
        assert!(p[0] > 225 && p[1] < 60, "{p:?}");
        let mut deep = DynamicImage::ImageRgb16(ImageBuffer::from_pixel(
            2,
            2,
            image::Rgb([51_400u16, 15_420, 15_420]),
        ));
        assert_eq!(to_srgb(&mut deep, &adobe), Ok(true));
        let q = deep.to_rgb16().get_pixel(0, 0).0;
        assert!(q[0] > 58_000 && q[1] < 15_000, "{q:?}");
        assert_eq!(deep.color(), image::ColorType::Rgb16, "depth kept");
    }

    #[test]
    fn gray_images_and_foreign_profiles_are_left_alone() {
        let adobe = encoded(&ColorProfile::new_adobe_rgb());
        let mut gray = DynamicImage::ImageLuma8(image::GrayImage::new(2, 2));
        assert_eq!(to_srgb(&mut gray, &adobe), Ok(false));
        let mut rgb = DynamicImage::ImageRgb8(image::RgbImage::new(2, 2));
        assert!(to_srgb(&mut rgb, b"not a profile").is_err());
    }
}
