//! Reading and writing image files: format detection, the libjpeg-turbo fast
//! path for JPEG ([`jpeg`]: decode straight to gray, DCT-domain
//! shrink-on-load, fast encode), the `image` crate for every other format,
//! libwebp for lossy WebP, EXIF orientation and size limits; embedded ICC
//! profiles converted to sRGB on load ([`colour`]) and metadata carried to
//! the output ([`metadata`]).

use std::fmt;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use serde::{Deserialize, Serialize};

use crate::memory;

pub mod colour;
pub mod deep;
pub mod jpeg;
pub mod metadata;

pub use metadata::{Keep, Metadata};

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
    /// WebP: lossy at the quality, lossless with `--lossless`.
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
    /// JPEG and lossy WebP quality 1–100.
    pub quality: u8,
    /// Apply EXIF orientation on load.
    pub auto_orient: bool,
    /// Refuse images with more pixels than this.
    pub max_pixels: u64,
    /// Keep the input's ICC profile, embedded in the output, with pixels
    /// untouched, instead of converting them to sRGB.
    pub keep_profile: bool,
    /// Which metadata outputs keep.
    pub keep: Keep,
    /// Lossless WebP instead of lossy at `quality`.
    pub lossless: bool,
}

impl Default for OutputOptions {
    fn default() -> Self {
        Self {
            format: None,
            quality: DEFAULT_QUALITY,
            auto_orient: true,
            max_pixels: DEFAULT_MAX_PIXELS,
            keep_profile: false,
            keep: Keep::All,
            lossless: false,
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
    /// Pixels, orientation applied, in sRGB unless the profile was kept.
    pub image: DynamicImage,
    /// Size before any shrink-on-load, after orientation.
    pub original_size: (u32, u32),
    /// The input's metadata. Its `icc` is the profile the pixels are in:
    /// `None` once they were converted to sRGB.
    pub meta: Metadata,
    /// Whether an EXIF orientation was applied (the output's tag becomes 1).
    pub oriented: bool,
    /// What the output will not be quite like the input in (a second frame
    /// dropped, a profile that could not be applied).
    pub warnings: Vec<String>,
}

fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// EXIF orientation from an EXIF TIFF stream.
fn exif_orientation(exif: Option<&[u8]>) -> image::metadata::Orientation {
    exif.and_then(image::metadata::Orientation::from_exif_chunk)
        .unwrap_or(image::metadata::Orientation::NoTransforms)
}

fn swaps_axes(o: image::metadata::Orientation) -> bool {
    use image::metadata::Orientation as O;
    matches!(
        o,
        O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH
    )
}

/// `(w, h)` as the image is turned upright by `o`.
fn turned((w, h): (u32, u32), o: image::metadata::Orientation) -> (u32, u32) {
    if swaps_axes(o) {
        (h, w)
    } else {
        (w, h)
    }
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
    let mut meta = Metadata::from_jpeg(bytes);
    let orientation = if opts.auto_orient {
        exif_orientation(meta.exif.as_deref())
    } else {
        image::metadata::Orientation::NoTransforms
    };
    let oriented = turned((w, h), orientation);
    let mut denom = 1;
    if let Some(target) = hints.shrink_to {
        // Pick the strongest 1/2^k DCT shrink that leaves Lanczos at least
        // a factor of two to do (libvips' rule): a block shrink alone aliases,
        // and shrinking right to the target measured 33 dB against a
        // full-resolution Lanczos where this keeps 44 dB.
        let need =
            crate::ops::resize_plan(oriented, target.bbox, target.mode, target.upscale).min_source;
        let need = turned(need, orientation);
        denom = jpeg::SHRINK_DENOMINATORS
            .into_iter()
            .find(|&d| {
                let (sw, sh) = jpeg::scaled_size((w, h), d);
                u64::from(sw) >= 2 * u64::from(need.0) && u64::from(sh) >= 2 * u64::from(need.1)
            })
            .unwrap_or(1);
    }
    let (sw, sh) = jpeg::scaled_size((w, h), denom);
    let mut warnings = Vec::new();
    // Only an RGB profile that differs from sRGB needs the colours: gray
    // straight from the luma plane is right for an sRGB (or no) profile.
    let convert = !opts.keep_profile
        && header.colour == jpeg::Colour::Colour
        && meta.icc.as_deref().is_some_and(colour::needs_conversion);
    // A CMYK JPEG has no luma plane to decode straight to: it becomes RGB
    // and the chain's own grayscale does the rest.
    let gray = match header.colour {
        jpeg::Colour::Gray => true,
        jpeg::Colour::Colour => hints.gray && !convert,
        jpeg::Colour::Cmyk => false,
    };
    let pixels_len = sw as usize * sh as usize * jpeg::channels(gray);
    let cmyk_icc = meta
        .icc
        .as_deref()
        .filter(|icc| header.colour == jpeg::Colour::Cmyk && colour::is_cmyk_profile(icc));
    // The chain sees the image turned upright.
    let (lw, lh) = turned((sw, sh), orientation);
    let layout = memory::Layout {
        width: lw,
        height: lh,
        channels: u8::try_from(jpeg::channels(gray)).unwrap_or(3),
        bytes_per_channel: 1,
    };
    check(&DecodePlan {
        size: oriented,
        layout,
        jpeg: true,
        // The CMYK planes before their conversion; a turned copy; a
        // colour-managed copy.
        scratch: (u64::from(cmyk_icc.is_some()) * 4 * layout.bytes() / 3).saturating_add(
            (u64::from(orientation != image::metadata::Orientation::NoTransforms)
                + u64::from(convert))
                * layout.bytes(),
        ),
    })?;
    let mut image = if let Some(icc) = cmyk_icc {
        // Colour-managed CMYK: through the file's own profile, as vips does.
        let mut cmyk = vec![0; sw as usize * sh as usize * 4];
        jpeg::pure_rust::Source::open(bytes)?.decode_cmyk_into(denom, &mut cmyk)?;
        if is_adobe(bytes) {
            cmyk.iter_mut().for_each(|v| *v = 255 - *v);
        }
        let mut rgb = crate::pool::take_buffer(pixels_len);
        colour::cmyk_to_srgb(&cmyk, icc, &mut rgb)?;
        // A CMYK profile cannot describe the RGB output: never kept.
        if opts.keep_profile {
            warnings.push("CMYK profile not kept: the output is RGB, converted to sRGB".into());
        }
        meta.icc = None;
        image::RgbImage::from_raw(sw, sh, rgb).map(DynamicImage::ImageRgb8)
    } else {
        let mut pixels = crate::pool::take_buffer(pixels_len);
        source.decode_into(denom, gray, &mut pixels)?;
        if header.colour == jpeg::Colour::Cmyk {
            meta.icc = None; // naive conversion: the output is sRGB
        }
        if gray {
            image::GrayImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageLuma8)
        } else {
            image::RgbImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageRgb8)
        }
    }
    .ok_or("decoded JPEG has an unexpected size")?;
    manage_colour(&mut image, &mut meta, opts, &mut warnings);
    image.apply_orientation(orientation);
    Ok(Decoded {
        image,
        original_size: oriented,
        meta,
        oriented: orientation != image::metadata::Orientation::NoTransforms,
        warnings,
    })
}

/// Whether a JPEG has Adobe's APP14 marker (its CMYK is stored inverted).
fn is_adobe(bytes: &[u8]) -> bool {
    img_parts::jpeg::Jpeg::from_bytes(img_parts::Bytes::copy_from_slice(bytes)).is_ok_and(|j| {
        j.segments_by_marker(img_parts::jpeg::markers::APP14)
            .any(|s| s.contents().starts_with(b"Adobe"))
    })
}

/// Converts the pixels to sRGB when they carry another RGB profile and the
/// profile is not to be kept; the profile is then dropped from `meta`. A
/// gray image keeps its gray profile only with `--keep-profile`.
fn manage_colour(
    image: &mut DynamicImage,
    meta: &mut Metadata,
    opts: &OutputOptions,
    warnings: &mut Vec<String>,
) {
    if opts.keep_profile {
        return;
    }
    if let Some(icc) = meta.icc.take() {
        if let Err(e) = colour::to_srgb(image, &icc) {
            warnings.push(format!("{e}; colours taken as sRGB"));
        }
    }
}

/// What a decode is about to allocate, for [`SizeCheck`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodePlan {
    /// The image's full size, after orientation.
    pub size: (u32, u32),
    /// The buffer the decoder makes (smaller than `size` when shrunk on
    /// load).
    pub layout: memory::Layout,
    /// Bytes the decode needs beside that buffer and a decoder's usual
    /// scratch: CMYK planes, a turned or colour-managed copy.
    pub scratch: u64,
    /// Decoded by the JPEG codec (else by the image crate's decoders).
    pub jpeg: bool,
}

/// A check of an image (its size, what its decode allocates), made once its
/// header is read and before any pixel buffer is allocated: the pipeline
/// checks there that the chain's output fits `--max-pixels`, and waits for
/// room in the worker's memory budget.
pub type SizeCheck<'a> = &'a dyn Fn(&DecodePlan) -> Result<(), String>;

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
    // Metadata a decoder cannot read is metadata the output lacks, not a
    // reason to fail the image.
    let mut meta = Metadata {
        icc: decoder.icc_profile().ok().flatten(),
        exif: decoder.exif_metadata().ok().flatten(),
        xmp: decoder.xmp_metadata().ok().flatten(),
        iptc: None,
    };
    let orientation = if opts.auto_orient {
        decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms)
    } else {
        image::metadata::Orientation::NoTransforms
    };
    let (w, h) = decoder.dimensions();
    let oriented = turned((w, h), orientation);
    let colour_type = decoder.color_type();
    let channels = colour_type.channel_count();
    let layout = memory::Layout {
        // The chain sees the image turned upright.
        width: oriented.0,
        height: oriented.1,
        channels,
        bytes_per_channel: colour_type.bytes_per_pixel() / channels.max(1),
    };
    check(&DecodePlan {
        size: oriented,
        layout,
        jpeg: false,
        // A turned copy; a colour-managed copy.
        scratch: (u64::from(orientation != image::metadata::Orientation::NoTransforms)
            + u64::from(meta.icc.is_some()))
            * layout.bytes(),
    })?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| format!("decoding: {e}"))?;
    let mut warnings: Vec<String> = deep::animation_warning(bytes).into_iter().collect();
    manage_colour(&mut image, &mut meta, opts, &mut warnings);
    image.apply_orientation(orientation);
    let original_size = (image.width(), image.height());
    Ok(Decoded {
        image,
        original_size,
        meta,
        oriented: orientation != image::metadata::Orientation::NoTransforms,
        warnings,
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

/// Encodes `image` as `format` at `quality` (lossy WebP), no metadata.
///
/// # Errors
/// When the encoder refuses the image.
pub fn encode(image: &DynamicImage, format: OutputFormat, quality: u8) -> Result<Vec<u8>, String> {
    encode_with(
        image,
        format,
        &Encoding {
            quality,
            ..Encoding::default()
        },
    )
}

/// How [`encode_with`] encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding<'a> {
    /// JPEG and lossy WebP quality 1–100.
    pub quality: u8,
    /// Lossless WebP.
    pub lossless: bool,
    /// ICC profile for a TIFF output (its encoder writes it; the other
    /// formats get theirs from [`Metadata::embed`]).
    pub tiff_icc: Option<&'a [u8]>,
}

impl Default for Encoding<'_> {
    fn default() -> Self {
        Self {
            quality: DEFAULT_QUALITY,
            lossless: false,
            tiff_icc: None,
        }
    }
}

/// WebP through libwebp: lossy at `quality` or lossless, 8-bit RGB or RGBA
/// (gray is expanded: WebP has no gray mode).
fn encode_webp(image: &DynamicImage, how: &Encoding) -> Result<Vec<u8>, String> {
    let converted;
    let image = match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => image,
        _ if image.color().has_alpha() => {
            converted = DynamicImage::ImageRgba8(image.to_rgba8());
            &converted
        }
        _ => {
            converted = DynamicImage::ImageRgb8(image.to_rgb8());
            &converted
        }
    };
    let layout = if image.color().has_alpha() {
        webp::PixelLayout::Rgba
    } else {
        webp::PixelLayout::Rgb
    };
    let encoder = webp::Encoder::new(image.as_bytes(), layout, image.width(), image.height());
    let memory = encoder
        .encode_simple(how.lossless, f32::from(how.quality.clamp(1, 100)))
        .map_err(|e| format!("encoding webp: {e:?}"))?;
    Ok(memory.to_vec())
}

/// Encodes `image` as `format` the way `how` says (no metadata: see
/// [`Metadata::embed`]).
///
/// # Errors
/// When the encoder refuses the image.
pub fn encode_with(
    image: &DynamicImage,
    format: OutputFormat,
    how: &Encoding,
) -> Result<Vec<u8>, String> {
    match format {
        OutputFormat::Jpeg => return encode_jpeg(image, how.quality),
        OutputFormat::Webp => return encode_webp(image, how),
        _ => {}
    }
    let image = match (format, image) {
        // These encoders take 8-bit only; PNG and TIFF keep 16 bits.
        (OutputFormat::Gif | OutputFormat::Bmp, img)
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
        (_, DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_)) => {
            DynamicImage::ImageRgba16(image.to_rgba16())
        }
        _ => image.clone(),
    };
    let mut out = std::io::Cursor::new(Vec::new());
    if let (OutputFormat::Tiff, Some(icc)) = (format, how.tiff_icc) {
        use image::ImageEncoder;
        let mut encoder = image::codecs::tiff::TiffEncoder::new(&mut out);
        encoder
            .set_icc_profile(icc.to_vec())
            .map_err(|e| format!("encoding tiff: {e}"))?;
        encoder
            .write_image(
                image.as_bytes(),
                image.width(),
                image.height(),
                image.color().into(),
            )
            .map_err(|e| format!("encoding tiff: {e}"))?;
        return Ok(out.into_inner());
    }
    image
        .write_to(&mut out, format.image_format())
        .map_err(|e| format!("encoding {format}: {e}"))?;
    Ok(out.into_inner())
}

/// Checks that `bytes`, an output that came over the network to be
/// written at `output_path`, is an image whose header says `size`, of the
/// format the name's extension names (when it names one: a naming template
/// need not end in `{ext}`). Refuses scripts and other non-images, and
/// another format behind an image name.
///
/// # Errors
/// What does not match, for the log.
pub fn verify_encoded(output_path: &str, bytes: &[u8], size: (u32, u32)) -> Result<(), String> {
    verify_image(output_path, std::io::Cursor::new(bytes), size)
}

/// [`verify_encoded`] for an image read from `reader`: reads its first
/// bytes and its header, not the whole of it.
///
/// # Errors
/// What does not match, for the log.
pub fn verify_image<R: std::io::BufRead + std::io::Seek>(
    output_path: &str,
    reader: R,
    size: (u32, u32),
) -> Result<(), String> {
    let reader = ImageReader::new(reader)
        .with_guessed_format()
        .map_err(|e| format!("reading `{output_path}`: {e}"))?;
    let found = reader
        .format()
        .ok_or_else(|| format!("the bytes for `{output_path}` are not an image"))?;
    if let Some(named) = OutputFormat::from_path(Path::new(output_path)) {
        if found != named.image_format() {
            return Err(format!(
                "the bytes for `{output_path}` are {found:?}, not {named}"
            ));
        }
    }
    let header = reader
        .into_dimensions()
        .map_err(|e| format!("the bytes for `{output_path}` are not a readable image: {e}"))?;
    if header != size {
        return Err(format!(
            "`{output_path}` is {}x{}, the result says {}x{}",
            header.0, header.1, size.0, size.1
        ));
    }
    Ok(())
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

    /// PSNR of two same-sized RGB images, dB.
    pub(crate) fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
        assert_eq!(a.dimensions(), b.dimensions());
        let se: f64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
            .sum();
        let mse = se / a.as_raw().len() as f64;
        10.0 * (255.0f64.powi(2) / mse.max(1e-9)).log10()
    }

    const ADOBE: &[u8] = include_bytes!("../testdata/adobergb-192x128.jpg");

    fn vips_srgb() -> RgbImage {
        image::load_from_memory(include_bytes!("../testdata/adobergb-192x128.vips-srgb.png"))
            .expect("reference")
            .to_rgb8()
    }

    /// An Adobe RGB photo decodes to the sRGB numbers vips'
    /// `icc_transform … srgb` gives; unconverted it is far off.
    #[test]
    fn an_adobe_rgb_photo_decodes_to_vips_srgb_colours() {
        let reference = vips_srgb();
        let d = decode(ADOBE, DecodeHints::default(), &opts()).expect("decode");
        assert_eq!(d.meta.icc, None, "pixels are sRGB now: no profile to carry");
        let managed = psnr(&d.image.to_rgb8(), &reference);
        let kept = OutputOptions {
            keep_profile: true,
            ..opts()
        };
        let raw = decode(ADOBE, DecodeHints::default(), &kept).expect("decode");
        assert!(raw.meta.icc.is_some(), "kept for the output");
        let naive = psnr(&raw.image.to_rgb8(), &reference);
        assert!(managed >= 35.0, "colour-managed {managed:.1} dB");
        assert!(naive < 33.0, "unmanaged {naive:.1} dB would pass too");
        eprintln!("colour-managed {managed:.1} dB, unmanaged {naive:.1} dB");
        // Straight-to-gray is refused for it: the luma needs sRGB colours.
        let gray = DecodeHints {
            gray: true,
            shrink_to: None,
        };
        let g = decode(ADOBE, gray, &opts()).expect("decode");
        assert_eq!(g.image.color(), image::ColorType::Rgb8);
    }

    #[test]
    fn metadata_is_read_from_a_jpeg() {
        let d = decode(ADOBE, DecodeHints::default(), &opts()).expect("decode");
        let exif = d.meta.exif.as_deref().expect("exif");
        assert!(exif.starts_with(b"II*\0") || exif.starts_with(b"MM\0*"));
        assert!(d
            .meta
            .xmp
            .as_deref()
            .is_some_and(|x| x.windows(17).any(|w| w == b"Jane Photographer")));
        assert!(d.meta.iptc.is_some());
        assert!(!d.oriented);
    }

    #[test]
    fn webp_is_lossy_at_the_quality_and_lossless_on_request() {
        let img = DynamicImage::ImageRgb8(vips_srgb());
        let size = |quality, lossless| {
            let how = Encoding {
                quality,
                lossless,
                tiff_icc: None,
            };
            encode_with(&img, OutputFormat::Webp, &how)
                .expect("webp")
                .len()
        };
        let (q50, q90, lossless) = (size(50, false), size(90, false), size(90, true));
        assert!(q50 < q90 && q90 < lossless, "{q50} {q90} {lossless}");
        let back = decode(
            &encode_with(
                &img,
                OutputFormat::Webp,
                &Encoding {
                    lossless: true,
                    ..Encoding::default()
                },
            )
            .expect("webp"),
            DecodeHints::default(),
            &opts(),
        )
        .expect("decode");
        assert_eq!(back.image.color(), image::ColorType::Rgb8, "no alpha added");
        assert_eq!(back.image.to_rgb8(), img.to_rgb8(), "lossless");
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

    #[test]
    fn an_encoded_output_must_be_the_image_its_name_promises() {
        let image = DynamicImage::new_rgb8(3, 2);
        let png = encode(&image, OutputFormat::Png, 85).expect("png");
        let jpeg = encode(&image, OutputFormat::Jpeg, 85).expect("jpeg");
        assert_eq!(verify_encoded("a/b.png", &png, (3, 2)), Ok(()));
        assert_eq!(verify_encoded("b.JPG", &jpeg, (3, 2)), Ok(()));
        // `--name {stem}` gives names without an extension.
        assert_eq!(verify_encoded("b", &jpeg, (3, 2)), Ok(()));
        let script = &b"#!/bin/sh\necho owned\n"[..];
        for (path, bytes, size, why) in [
            ("rogue/evil.sh", script, (3, 2), "not an image"),
            ("evil.png", script, (3, 2), "not an image"),
            ("b.png", &jpeg[..], (3, 2), "not png"),
            ("b.png", &png[..], (30, 20), "is 3x2"),
        ] {
            let e = verify_encoded(path, bytes, size).expect_err(path);
            assert!(e.contains(why), "{path}: {e}");
        }
    }
}
