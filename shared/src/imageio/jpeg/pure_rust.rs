//! JPEG through `libjpeg-turbo-rs`, a pure-Rust port of libjpeg-turbo with
//! its SIMD kernels (AVX2/SSE2/NEON, chosen at run time): the default codec,
//! since it builds with cargo alone.

use libjpeg_turbo_rs::{ColorSpace, Decoder, PixelFormat, ScalingFactor, Subsampling};

use super::{Colour, Header};

/// A JPEG whose header has been read, ready to decode.
#[allow(missing_debug_implementations)] // the decoder holds callbacks
pub struct Source<'a> {
    decoder: Decoder<'a>,
    header: Header,
}

impl<'a> Source<'a> {
    /// Reads the header of `bytes`.
    ///
    /// # Errors
    /// When the markers are not those of a JPEG this codec can decode.
    pub fn open(bytes: &'a [u8]) -> Result<Self, String> {
        let decoder = Decoder::new(bytes).map_err(|e| format!("decoding JPEG: {e}"))?;
        let header = Header {
            width: u32::try_from(decoder.output_width()).map_err(|_| "JPEG too wide")?,
            height: u32::try_from(decoder.output_height()).map_err(|_| "JPEG too tall")?,
            colour: match decoder.jpeg_color_space() {
                ColorSpace::Grayscale => Colour::Gray,
                ColorSpace::Cmyk | ColorSpace::Ycck => Colour::Cmyk,
                _ => Colour::Colour,
            },
        };
        Ok(Self { decoder, header })
    }

    /// What the header says.
    #[must_use]
    pub fn header(&self) -> Header {
        self.header
    }

    /// Decodes at 1/`denom` scale to gray or RGB into `out`, which holds
    /// exactly [`super::scaled_size`] × [`super::channels`] bytes.
    ///
    /// # Errors
    /// Corrupt or truncated data, or a scale the codec refuses.
    pub fn decode_into(self, denom: u32, gray: bool, out: &mut [u8]) -> Result<(), String> {
        let format = if gray {
            PixelFormat::Grayscale
        } else {
            PixelFormat::Rgb
        };
        self.decode_as(denom, format, "", out)
    }

    /// Decodes at 1/`denom` scale to 8-bit CMYK (4 bytes a pixel, values as
    /// stored: Adobe's files store 255 − ink) into `out`, for a
    /// colour-managed conversion through the file's CMYK profile.
    ///
    /// # Errors
    /// Corrupt or truncated data, or a scale the codec refuses.
    pub fn decode_cmyk_into(self, denom: u32, out: &mut [u8]) -> Result<(), String> {
        self.decode_as(denom, PixelFormat::Cmyk, "CMYK ", out)
    }

    /// Decodes at 1/`denom` scale to `format` into `out`, which must be
    /// exactly the decoded size (`what` names the bytes in the error).
    fn decode_as(
        mut self,
        denom: u32,
        format: PixelFormat,
        what: &str,
        out: &mut [u8],
    ) -> Result<(), String> {
        let scale = ScalingFactor::try_new(1, denom).map_err(|e| format!("decoding JPEG: {e}"))?;
        self.decoder.set_scale(scale);
        self.decoder.set_output_format(format);
        let info = self
            .decoder
            .decode_image_into(out)
            .map_err(|e| format!("decoding JPEG: {e}"))?;
        if info.bytes_written == out.len() {
            Ok(())
        } else {
            Err(format!(
                "decoding JPEG: {} {what}bytes decoded where {} were expected",
                info.bytes_written,
                out.len()
            ))
        }
    }
}

/// Encodes 8-bit gray (1 channel) or RGB (3 channels, 4:2:0) pixels.
///
/// # Errors
/// When the encoder refuses the image (a zero or oversized side).
pub fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    gray: bool,
    quality: u8,
) -> Result<Vec<u8>, String> {
    let (format, subsampling) = if gray {
        (PixelFormat::Grayscale, Subsampling::S444)
    } else {
        (PixelFormat::Rgb, Subsampling::S420)
    };
    libjpeg_turbo_rs::compress(
        pixels,
        width as usize,
        height as usize,
        format,
        quality.clamp(1, 100),
        subsampling,
    )
    .map_err(|e| format!("encoding JPEG: {e}"))
}
