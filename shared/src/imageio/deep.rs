//! No quiet downgrades: what the chain's output must still have of the
//! input (no alpha channel the input lacked, its bit depth where the output
//! format can hold it), and the warnings for what it cannot keep (the
//! frames after the first of an animation, a depth an 8-bit-only filter
//! reduced).

use image::{AnimationDecoder, ColorType, DynamicImage};
use img_parts::png::Png;
use img_parts::webp::WebP;
use img_parts::Bytes;

use super::OutputFormat;

/// Whether `color` has 16 (or more) bits a channel.
fn is_deep(color: ColorType) -> bool {
    color.bytes_per_pixel() / color.channel_count() > 1
}

/// A warning when `bytes` is an animation: imgpipe processes its first
/// frame only. Looks at GIF, PNG (APNG's `acTL`) and WebP (`ANIM`) only.
#[must_use]
pub fn animation_warning(bytes: &[u8]) -> Option<String> {
    let frames = if bytes.starts_with(b"GIF8") {
        let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).ok()?;
        // Decodes at most two frames: enough to know it moves.
        let n = decoder.into_frames().take(2).filter(Result::is_ok).count();
        (n > 1).then(|| "2 or more".to_string())
    } else if bytes.starts_with(b"\x89PNG") {
        let png = Png::from_bytes(Bytes::copy_from_slice(bytes)).ok()?;
        let actl = png.chunk_by_type(*b"acTL")?;
        let n = actl.contents().get(..4)?;
        let n = u32::from_be_bytes([n[0], n[1], n[2], n[3]]);
        (n > 1).then(|| n.to_string())
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        let webp = WebP::from_bytes(Bytes::copy_from_slice(bytes)).ok()?;
        let n = webp.chunks_by_id(*b"ANMF").count();
        (n > 1).then(|| n.to_string())
    } else {
        None
    }?;
    Some(format!(
        "animated input ({frames} frames): only the first frame was processed"
    ))
}

/// Undoes what the chain added or lost against the input's layout `input`:
/// an alpha channel the input lacked is dropped when every pixel is opaque
/// (an 8-bit-only filter's RGBA working copy), and a warning says when a
/// 16-bit input came out 8-bit though `format` holds 16 bits.
#[must_use]
pub fn keep_layout(
    input: ColorType,
    image: DynamicImage,
    format: OutputFormat,
    warnings: &mut Vec<String>,
) -> DynamicImage {
    let image = if !input.has_alpha() && image.color().has_alpha() && opaque(&image) {
        match (image.color().has_color(), is_deep(image.color())) {
            (true, true) => DynamicImage::ImageRgb16(image.to_rgb16()),
            (true, false) => DynamicImage::ImageRgb8(image.to_rgb8()),
            (false, true) => DynamicImage::ImageLuma16(image.to_luma16()),
            (false, false) => DynamicImage::ImageLuma8(image.to_luma8()),
        }
    } else {
        image
    };
    if is_deep(input)
        && !is_deep(image.color())
        && matches!(format, OutputFormat::Png | OutputFormat::Tiff)
    {
        warnings
            .push("16-bit input came out 8-bit: a filter in the chain works in 8 bits".to_string());
    }
    image
}

/// Whether every alpha value is at its maximum.
fn opaque(image: &DynamicImage) -> bool {
    match image {
        DynamicImage::ImageLumaA8(b) => b.pixels().all(|p| p[1] == u8::MAX),
        DynamicImage::ImageRgba8(b) => b.pixels().all(|p| p[3] == u8::MAX),
        DynamicImage::ImageLumaA16(b) => b.pixels().all(|p| p[1] == u16::MAX),
        DynamicImage::ImageRgba16(b) => b.pixels().all(|p| p[3] == u16::MAX),
        DynamicImage::ImageRgba32F(b) => b.pixels().all(|p| p[3] >= 1.0),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba};

    #[test]
    fn an_added_opaque_alpha_is_dropped_and_depth_loss_is_said() {
        let mut warnings = Vec::new();
        let rgba = DynamicImage::ImageRgba8(ImageBuffer::from_pixel(2, 2, Rgba([1, 2, 3, 255])));
        let out = keep_layout(ColorType::Rgb16, rgba, OutputFormat::Png, &mut warnings);
        assert_eq!(out.color(), ColorType::Rgb8);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let deep = DynamicImage::ImageRgb16(ImageBuffer::from_pixel(2, 2, Rgb([1u16, 2, 3])));
        let out = keep_layout(ColorType::Rgb16, deep, OutputFormat::Png, &mut warnings);
        assert_eq!(out.color(), ColorType::Rgb16);
        assert_eq!(warnings.len(), 1, "no new warning");
        let see_through = DynamicImage::ImageRgba8(ImageBuffer::from_pixel(2, 2, Rgba([0; 4])));
        let out = keep_layout(
            ColorType::Rgb8,
            see_through,
            OutputFormat::Png,
            &mut warnings,
        );
        assert_eq!(out.color(), ColorType::Rgba8, "real transparency is kept");
    }

    #[test]
    fn animations_are_spotted() {
        let frame = |v: u8| image::Frame::new(ImageBuffer::from_pixel(4, 4, Rgba([v, 0, 0, 255])));
        let mut gif = Vec::new();
        {
            let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
            enc.encode_frames([frame(0), frame(200)]).expect("gif");
        }
        assert!(animation_warning(&gif).is_some_and(|w| w.contains("first frame")));
        let mut still = Vec::new();
        {
            let mut enc = image::codecs::gif::GifEncoder::new(&mut still);
            enc.encode_frames([frame(0)]).expect("gif");
        }
        assert_eq!(animation_warning(&still), None);
        assert_eq!(animation_warning(b"\xFF\xD8\xFF"), None);
    }
}
