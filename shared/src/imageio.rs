//! Reading and writing image files: format detection, the libjpeg-turbo fast
//! path for JPEG ([`jpeg`]: decode straight to gray, DCT-domain
//! shrink-on-load, fast encode), the `image` crate for every other format,
//! EXIF orientation and size limits.

use std::fmt;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use serde::{Deserialize, Serialize};

pub mod jpeg;

/// Formats imgpipe reads (by file extension, case-insensitive).
pub const INPUT_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "png", "webp", "tif", "tiff", "gif", "bmp",
];

/// Formats imgpipe writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputFormat {
    /// JPEG (libjpeg-turbo).
    Jpeg,
    /// PNG.
    Png,
    /// Lossless WebP.
    Webp,
    /// TIFF.
    Tiff,
    /// GIF (first frame).
    Gif,
    /// BMP.
    Bmp,
}

impl OutputFormat {
    /// Format of a file by its extension.
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "jpg" | "jpeg" | "jpe" => Self::Jpeg,
            "png" => Self::Png,
            "webp" => Self::Webp,
            "tif" | "tiff" => Self::Tiff,
            "gif" => Self::Gif,
            "bmp" => Self::Bmp,
            _ => return None,
        })
    }

    /// Usual file extension.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Tiff => "tif",
            Self::Gif => "gif",
            Self::Bmp => "bmp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::Webp => ImageFormat::WebP,
            Self::Tiff => ImageFormat::Tiff,
            Self::Gif => ImageFormat::Gif,
            Self::Bmp => ImageFormat::Bmp,
        }
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_path(Path::new(&format!("x.{s}")))
            .ok_or_else(|| format!("unknown format `{s}` (jpeg, png, webp, tiff, gif, bmp)"))
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// Default JPEG quality.
pub const DEFAULT_QUALITY: u8 = 85;
/// Default limit on decoded pixels (100 megapixels).
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// How outputs are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputOptions {
    /// Output format; `None` keeps the input's.
    pub format: Option<OutputFormat>,
    /// JPEG quality 1–100.
    pub quality: u8,
    /// Apply EXIF orientation on load.
    pub auto_orient: bool,
    /// Refuse images with more pixels than this.
    pub max_pixels: u64,
}

impl Default for OutputOptions {
    fn default() -> Self {
        Self {
            format: None,
            quality: DEFAULT_QUALITY,
            auto_orient: true,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// What the decoder may do to save work, decided from the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeHints {
    /// Decode straight to gray (the chain converts to gray anyway).
    pub gray: bool,
    /// The image may be shrunk on load to no less than this size (oriented
    /// dimensions), since the chain starts by resizing to at most it.
    pub shrink_to: Option<ShrinkTarget>,
}

/// The chain's leading resize, which the decoder may start in the DCT domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShrinkTarget {
    /// Box of the leading resize.
    pub bbox: (u32, u32),
    /// Its mode.
    pub mode: crate::ops::ResizeMode,
    /// Whether it may enlarge.
    pub upscale: bool,
}

/// A decoded image and its original (oriented) size.
#[derive(Debug)]
pub struct Decoded {
    /// Pixels, orientation applied.
    pub image: DynamicImage,
    /// Size before any shrink-on-load, after orientation.
    pub original_size: (u32, u32),
}

fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// EXIF orientation of a JPEG, from its APP1 segment.
fn jpeg_orientation(bytes: &[u8]) -> image::metadata::Orientation {
    let mut i = 2;
    while i + 4 <= bytes.len() && bytes[i] == 0xFF {
        let marker = bytes[i + 1];
        if marker == 0xDA || marker == 0xD9 {
            break; // start of scan: no more metadata
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let body = bytes.get(i + 4..i + 2 + len);
        if marker == 0xE1 {
            if let Some(chunk) = body.and_then(|b| b.strip_prefix(b"Exif\0\0")) {
                if let Some(o) = image::metadata::Orientation::from_exif_chunk(chunk) {
                    return o;
                }
            }
        }
        i += 2 + len;
    }
    image::metadata::Orientation::NoTransforms
}

fn swaps_axes(o: image::metadata::Orientation) -> bool {
    use image::metadata::Orientation as O;
    matches!(
        o,
        O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH
    )
}

fn check_pixels((w, h): (u32, u32), max: u64) -> Result<(), String> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max {
        Err(format!(
            "{w}x{h} image has {pixels} pixels, over the --max-pixels limit of {max}"
        ))
    } else {
        Ok(())
    }
}

/// Decodes a JPEG (gray when hinted, DCT-scaled when the chain shrinks
/// anyway) with the [`jpeg::active`] codec.
fn decode_jpeg(
    bytes: &[u8],
    hints: DecodeHints,
    opts: &OutputOptions,
    check: SizeCheck,
) -> Result<Decoded, String> {
    let source = jpeg::active::Source::open(bytes)?;
    let header = source.header();
    let (w, h) = (header.width, header.height);
    check_pixels((w, h), opts.max_pixels)?;
    let orientation = if opts.auto_orient {
        jpeg_orientation(bytes)
    } else {
        image::metadata::Orientation::NoTransforms
    };
    let oriented = if swaps_axes(orientation) {
        (h, w)
    } else {
        (w, h)
    };
    check(oriented)?;
    let mut denom = 1;
    if let Some(target) = hints.shrink_to {
        // Pick the strongest 1/2^k DCT shrink that leaves Lanczos at least
        // a factor of two to do (libvips' rule): a block shrink alone aliases,
        // and shrinking right to the target measured 33 dB against a
        // full-resolution Lanczos where this keeps 44 dB.
        let need =
            crate::ops::resize_plan(oriented, target.bbox, target.mode, target.upscale).min_source;
        let need = if swaps_axes(orientation) {
            (need.1, need.0)
        } else {
            need
        };
        denom = jpeg::SHRINK_DENOMINATORS
            .into_iter()
            .find(|&d| {
                let (sw, sh) = jpeg::scaled_size((w, h), d);
                u64::from(sw) >= 2 * u64::from(need.0) && u64::from(sh) >= 2 * u64::from(need.1)
            })
            .unwrap_or(1);
    }
    let (sw, sh) = jpeg::scaled_size((w, h), denom);
    // A CMYK JPEG has no luma plane to decode straight to: it becomes RGB
    // and the chain's own grayscale does the rest.
    let gray = match header.colour {
        jpeg::Colour::Gray => true,
        jpeg::Colour::Colour => hints.gray,
        jpeg::Colour::Cmyk => false,
    };
    let mut pixels = crate::pool::take_buffer(sw as usize * sh as usize * jpeg::channels(gray));
    source.decode_into(denom, gray, &mut pixels)?;
    let mut image = if gray {
        image::GrayImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageLuma8)
    } else {
        image::RgbImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageRgb8)
    }
    .ok_or("decoded JPEG has an unexpected size")?;
    image.apply_orientation(orientation);
    Ok(Decoded {
        image,
        original_size: oriented,
    })
}

/// A check of an image's size (after orientation), made once its header is
/// read and before any pixel buffer is allocated.
pub type SizeCheck<'a> = &'a dyn Fn((u32, u32)) -> Result<(), String>;

/// Decodes any supported format.
///
/// # Errors
/// A message naming the stage that failed (unknown format, corrupt data,
/// over the pixel limit).
pub fn decode(bytes: &[u8], hints: DecodeHints, opts: &OutputOptions) -> Result<Decoded, String> {
    decode_checked(bytes, hints, opts, &|_| Ok(()))
}

/// [`decode`], refusing the image when `check` refuses its size (the
/// pipeline checks there that the chain's output fits `--max-pixels`).
///
/// # Errors
/// As [`decode`], or `check`'s message.
pub fn decode_checked(
    bytes: &[u8],
    hints: DecodeHints,
    opts: &OutputOptions,
    check: SizeCheck,
) -> Result<Decoded, String> {
    if bytes.is_empty() {
        return Err("file is empty".into());
    }
    if is_jpeg(bytes) {
        return decode_jpeg(bytes, hints, opts, check);
    }
    let reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("reading: {e}"))?;
    if reader.format().is_none() {
        return Err("not a recognised image format".into());
    }
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(opts.max_pixels.saturating_mul(16));
    let mut reader = reader;
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| format!("decoding: {e}"))?;
    check_pixels(decoder.dimensions(), opts.max_pixels)?;
    let orientation = if opts.auto_orient {
        decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms)
    } else {
        image::metadata::Orientation::NoTransforms
    };
    let (w, h) = decoder.dimensions();
    let oriented = if swaps_axes(orientation) {
        (h, w)
    } else {
        (w, h)
    };
    check(oriented)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| format!("decoding: {e}"))?;
    image.apply_orientation(orientation);
    let original_size = (image.width(), image.height());
    Ok(Decoded {
        image,
        original_size,
    })
}

/// Drops alpha by compositing onto white (what a JPEG viewer would show).
fn flatten_on_white(image: &DynamicImage) -> DynamicImage {
    let blend = |c: u8, a: u8| {
        ((u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a)) + 127) / 255) as u8
    };
    match image {
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
            let mut la = image.to_luma_alpha8();
            let out = image::GrayImage::from_fn(la.width(), la.height(), |x, y| {
                let p = la.get_pixel_mut(x, y);
                image::Luma([blend(p[0], p[1])])
            });
            DynamicImage::ImageLuma8(out)
        }
        _ => {
            let rgba = image.to_rgba8();
            let out = image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
                let p = rgba.get_pixel(x, y);
                image::Rgb([blend(p[0], p[3]), blend(p[1], p[3]), blend(p[2], p[3])])
            });
            DynamicImage::ImageRgb8(out)
        }
    }
}

/// Encodes a JPEG with the [`jpeg::active`] codec (libjpeg-turbo's
/// encoder, 4× faster than the `image` crate's on a 1920×1280 photo here):
/// gray stays 1-channel, colour is 4:2:0.
fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, String> {
    // Borrow the pixels when they are already 8-bit gray or RGB (the usual
    // case): a copy of a 1920×1280 RGB image costs about a millisecond.
    let converted;
    let image = match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => image,
        _ if image.color().has_alpha() => {
            converted = flatten_on_white(image);
            &converted
        }
        DynamicImage::ImageLuma16(_) => {
            converted = DynamicImage::ImageLuma8(image.to_luma8());
            &converted
        }
        other => {
            converted = DynamicImage::ImageRgb8(other.to_rgb8());
            &converted
        }
    };
    let gray = matches!(image, DynamicImage::ImageLuma8(_));
    jpeg::active::encode(
        image.as_bytes(),
        image.width(),
        image.height(),
        gray,
        quality,
    )
}

/// Encodes `image` as `format`.
///
/// # Errors
/// When the encoder refuses the image.
pub fn encode(image: &DynamicImage, format: OutputFormat, quality: u8) -> Result<Vec<u8>, String> {
    if format == OutputFormat::Jpeg {
        return encode_jpeg(image, quality);
    }
    let image = match (format, image) {
        // These encoders take 8-bit only; PNG and TIFF keep 16 bits.
        (OutputFormat::Webp | OutputFormat::Gif | OutputFormat::Bmp, img)
            if !matches!(
                img,
                DynamicImage::ImageLuma8(_)
                    | DynamicImage::ImageLumaA8(_)
                    | DynamicImage::ImageRgb8(_)
                    | DynamicImage::ImageRgba8(_)
            ) =>
        {
            if img.color().has_alpha() {
                DynamicImage::ImageRgba8(img.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8())
            }
        }
        (OutputFormat::Webp, DynamicImage::ImageLuma8(_)) => {
            DynamicImage::ImageRgb8(image.to_rgb8())
        }
        (OutputFormat::Webp, DynamicImage::ImageLumaA8(_)) => {
            DynamicImage::ImageRgba8(image.to_rgba8())
        }
        (_, DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_)) => {
            DynamicImage::ImageRgba16(image.to_rgba16())
        }
        _ => image.clone(),
    };
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, format.image_format())
        .map_err(|e| format!("encoding {format}: {e}"))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GenericImageView, ImageBuffer, Rgb, RgbImage, Rgba, RgbaImage};

    fn photo_like(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x + y) % 256) as u8,
            ])
        })
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        encode(
            &DynamicImage::ImageRgb8(photo_like(w, h)),
            OutputFormat::Jpeg,
            95,
        )
        .expect("encode")
    }

    /// Inserts an EXIF APP1 segment with `orientation` after the SOI marker.
    fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec(); // header, IFD at 8, 1 entry
        tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
        tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&orientation.to_le_bytes());
        tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // padding, next IFD = 0
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let len = u16::try_from(app1.len() + 2).expect("small");
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    fn opts() -> OutputOptions {
        OutputOptions::default()
    }

    #[test]
    fn exif_orientation_turns_a_portrait_upright() {
        let raw = jpeg(64, 32); // stored landscape, shot in portrait
        let tagged = with_orientation(&raw, 6); // rotate 90° clockwise to view
        let upright = decode(&tagged, DecodeHints::default(), &opts()).expect("decode");
        assert_eq!(upright.image.dimensions(), (32, 64));
        assert_eq!(upright.original_size, (32, 64));
        let stored = decode(&raw, DecodeHints::default(), &opts()).expect("decode");
        // Stored top-left corner ends up top-right once rotated clockwise.
        let a = stored.image.to_rgb8().get_pixel(0, 0).0;
        let b = upright.image.to_rgb8().get_pixel(31, 0).0;
        assert!(
            a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 2),
            "{a:?} vs {b:?}"
        );
        let kept = OutputOptions {
            auto_orient: false,
            ..opts()
        };
        assert_eq!(
            decode(&tagged, DecodeHints::default(), &kept)
                .expect("decode")
                .image
                .dimensions(),
            (64, 32)
        );
    }

    #[test]
    fn gray_hint_decodes_the_luma_plane() {
        let bytes = jpeg(48, 32);
        let gray = decode(
            &bytes,
            DecodeHints {
                gray: true,
                shrink_to: None,
            },
            &opts(),
        )
        .expect("decode");
        assert_eq!(gray.image.color(), image::ColorType::L8);
        let colour = decode(&bytes, DecodeHints::default(), &opts())
            .expect("decode")
            .image
            .to_rgb8();
        let max_diff = gray
            .image
            .to_luma8()
            .pixels()
            .zip(colour.pixels())
            .map(|(y, p)| y[0].abs_diff(crate::ops::luma_bt601(p[0], p[1], p[2])))
            .max()
            .unwrap_or(0);
        assert!(
            max_diff <= 3,
            "Y plane is BT.601 luma of the RGB decode (max diff {max_diff})"
        );
    }

    #[test]
    fn shrink_on_load_leaves_lanczos_a_factor_of_two() {
        let bytes = jpeg(1920, 1280);
        let hints = DecodeHints {
            gray: false,
            shrink_to: Some(ShrinkTarget {
                bbox: (800, 800),
                mode: crate::ops::ResizeMode::Fit,
                upscale: false,
            }),
        };
        let d = decode(&bytes, hints, &opts()).expect("decode");
        assert_eq!(
            d.image.dimensions(),
            (1920, 1280),
            "a 2.4× shrink leaves Lanczos all of it"
        );
        assert_eq!(d.original_size, (1920, 1280));
        let hints = DecodeHints {
            gray: false,
            shrink_to: Some(ShrinkTarget {
                bbox: (200, 200),
                mode: crate::ops::ResizeMode::Fit,
                upscale: false,
            }),
        };
        assert_eq!(
            decode(&bytes, hints, &opts())
                .expect("decode")
                .image
                .dimensions(),
            (480, 320),
            "1/4 scale: the smallest at least twice 200x133"
        );
    }

    #[test]
    fn every_input_format_decodes() {
        let img = DynamicImage::ImageRgb8(photo_like(16, 8));
        for format in [
            ImageFormat::Png,
            ImageFormat::WebP,
            ImageFormat::Tiff,
            ImageFormat::Gif,
            ImageFormat::Bmp,
        ] {
            let mut bytes = std::io::Cursor::new(Vec::new());
            let src = if format == ImageFormat::WebP {
                DynamicImage::ImageRgba8(img.to_rgba8())
            } else {
                img.clone()
            };
            src.write_to(&mut bytes, format).expect("write");
            let d = decode(bytes.get_ref(), DecodeHints::default(), &opts())
                .unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(d.image.dimensions(), (16, 8), "{format:?}");
        }
    }

    #[test]
    fn bad_input_gets_a_reason() {
        let err =
            |bytes: &[u8]| decode(bytes, DecodeHints::default(), &opts()).expect_err("must fail");
        assert_eq!(err(b""), "file is empty");
        assert!(err(b"hello world").contains("not a recognised image format"));
        let full = jpeg(64, 64);
        assert!(err(&full[..full.len() / 2]).contains("decoding JPEG"));
        assert!(err(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 2]).contains("JPEG"));
    }

    #[test]
    fn max_pixels_refuses_large_images_before_decoding() {
        let small = OutputOptions {
            max_pixels: 1000,
            ..opts()
        };
        let e = decode(&jpeg(64, 32), DecodeHints::default(), &small).expect_err("over limit");
        assert!(e.contains("--max-pixels"), "{e}");
        let mut png = std::io::Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(photo_like(64, 32))
            .write_to(&mut png, ImageFormat::Png)
            .expect("png");
        assert!(decode(png.get_ref(), DecodeHints::default(), &small).is_err());
    }

    #[test]
    fn alpha_is_flattened_onto_white_for_jpeg() {
        let img = DynamicImage::ImageRgba8(RgbaImage::from_fn(16, 16, |x, _| {
            if x < 8 {
                Rgba([0, 0, 0, 0])
            } else {
                Rgba([0, 0, 0, 255])
            }
        }));
        let bytes = encode(&img, OutputFormat::Jpeg, 95).expect("encode");
        let back = decode(&bytes, DecodeHints::default(), &opts())
            .expect("decode")
            .image
            .to_rgb8();
        assert!(
            back.get_pixel(2, 8).0.iter().all(|&c| c > 240),
            "transparent → white"
        );
        assert!(
            back.get_pixel(13, 8).0.iter().all(|&c| c < 15),
            "opaque black stays black"
        );
    }

    #[test]
    fn sixteen_bit_png_stays_sixteen_bit() {
        let img = DynamicImage::ImageRgb16(ImageBuffer::from_fn(8, 8, |x, _| {
            Rgb([x as u16 * 8000 + 7, 0, 65_535])
        }));
        let bytes = encode(&img, OutputFormat::Png, 85).expect("encode");
        let back = decode(&bytes, DecodeHints::default(), &opts())
            .expect("decode")
            .image;
        assert_eq!(back.color(), image::ColorType::Rgb16);
        assert_eq!(back.as_bytes(), img.as_bytes(), "lossless");
        // and reduced correctly for 8-bit formats (a flat colour, so chroma
        // subsampling cannot bleed)
        let flat =
            DynamicImage::ImageRgb16(ImageBuffer::from_pixel(16, 16, Rgb([56_007, 1000, 65_535])));
        let jpeg = encode(&flat, OutputFormat::Jpeg, 100).expect("encode");
        let back = decode(&jpeg, DecodeHints::default(), &opts())
            .expect("decode")
            .image
            .to_rgb8();
        let got = back.get_pixel(8, 8).0;
        for (g, want) in got.iter().zip([218u8, 4, 255]) {
            assert!(g.abs_diff(want) <= 3, "{got:?}");
        }
    }

    /// Adobe YCCK as ImageMagick writes CMYK: C/libjpeg-turbo refused it
    /// ("Unsupported color conversion request"); it decodes to RGB, also
    /// when the chain asked for gray, whose own conversion then runs.
    #[test]
    fn a_ycck_jpeg_decodes_to_its_rgb_colours() {
        let bytes = include_bytes!("../testdata/ycck-adobe-32x32.jpg");
        for gray in [false, true] {
            let hints = DecodeHints {
                gray,
                shrink_to: None,
            };
            let image = decode(bytes, hints, &opts()).expect("decode").image;
            assert_eq!(image.color(), image::ColorType::Rgb8, "gray hint {gray}");
            let rgb = image.to_rgb8();
            for (y, want) in [(4, [200u8, 40, 40]), (27, [40, 160, 220])] {
                let got = rgb.get_pixel(16, y).0;
                assert!(
                    got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 12),
                    "row {y}: {got:?}, want about {want:?}"
                );
            }
        }
    }

    /// Plain Adobe CMYK (inverted ink values, as Photoshop writes) decodes
    /// like its YCCK form.
    #[test]
    fn a_cmyk_jpeg_decodes_to_rgb() {
        // Inverted CMYK of rgb(200,40,40): C 0, M 80%, Y 80%, K 22% stored
        // as 255 - ink.
        let ink = [0u8, 204, 204, 55];
        let cmyk: Vec<u8> = std::iter::repeat_n(ink.map(|v| 255 - v), 16 * 16)
            .flatten()
            .collect();
        let bytes = libjpeg_turbo_rs::compress(
            &cmyk,
            16,
            16,
            libjpeg_turbo_rs::PixelFormat::Cmyk,
            95,
            libjpeg_turbo_rs::Subsampling::S444,
        )
        .expect("encode CMYK");
        let header = jpeg::pure_rust::Source::open(&bytes)
            .expect("header")
            .header();
        assert_eq!(header.colour, jpeg::Colour::Cmyk);
        let got = decode(&bytes, DecodeHints::default(), &opts())
            .expect("decode")
            .image
            .to_rgb8()
            .get_pixel(8, 8)
            .0;
        assert!(
            got.iter()
                .zip([200u8, 40, 40])
                .all(|(g, w)| g.abs_diff(w) <= 6),
            "{got:?}"
        );
    }

    #[test]
    fn gray_jpeg_output_is_one_channel() {
        let img = DynamicImage::ImageLuma8(image::GrayImage::from_fn(8, 8, |x, _| {
            image::Luma([x as u8 * 30])
        }));
        let bytes = encode(&img, OutputFormat::Jpeg, 90).expect("encode");
        let back = decode(&bytes, DecodeHints::default(), &opts())
            .expect("decode")
            .image;
        assert_eq!(back.color(), image::ColorType::L8);
    }
}
