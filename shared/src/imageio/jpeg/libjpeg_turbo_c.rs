//! JPEG through the C libjpeg-turbo 3 (the `turbojpeg` crate's vendored
//! static build): the opt-in `c-jpeg` feature, which needs cmake and nasm.

use turbojpeg::{Colorspace, Compressor, Decompressor, Image, PixelFormat, ScalingFactor, Subsamp};

use super::{Colour, Header};

/// A JPEG whose header has been read, ready to decode.
#[allow(missing_debug_implementations)] // the decompressor is an FFI handle
pub struct Source<'a> {
    bytes: &'a [u8],
    decompressor: Decompressor,
    header: Header,
}

impl<'a> Source<'a> {
    /// Reads the header of `bytes`.
    ///
    /// # Errors
    /// When the markers are not those of a JPEG libjpeg-turbo can decode.
    pub fn open(bytes: &'a [u8]) -> Result<Self, String> {
        let mut decompressor = Decompressor::new().map_err(|e| format!("libjpeg-turbo: {e}"))?;
        let h = decompressor
            .read_header(bytes)
            .map_err(|e| format!("decoding JPEG: {e}"))?;
        let header = Header {
            width: u32::try_from(h.width).map_err(|_| "JPEG too wide")?,
            height: u32::try_from(h.height).map_err(|_| "JPEG too tall")?,
            colour: match h.colorspace {
                Colorspace::Gray => Colour::Gray,
                Colorspace::CMYK | Colorspace::YCCK => Colour::Cmyk,
                _ => Colour::Colour,
            },
        };
        Ok(Self {
            bytes,
            decompressor,
            header,
        })
    }

    /// What the header says.
    #[must_use]
    pub fn header(&self) -> Header {
        self.header
    }

    /// Decodes at 1/`denom` scale to gray or RGB into `out`, which holds
    /// exactly [`super::scaled_size`] × [`super::channels`] bytes. A CMYK
    /// JPEG goes to the Rust port instead: libjpeg-turbo's API cannot turn
    /// CMYK into RGB.
    ///
    /// # Errors
    /// Corrupt or truncated data, or a conversion the codec refuses.
    pub fn decode_into(mut self, denom: u32, gray: bool, out: &mut [u8]) -> Result<(), String> {
        if self.header.colour == Colour::Cmyk {
            return super::pure_rust::Source::open(self.bytes)?.decode_into(denom, gray, out);
        }
        let (w, h) = super::scaled_size((self.header.width, self.header.height), denom);
        let denom = usize::try_from(denom).map_err(|_| "bad scale")?;
        self.decompressor
            .set_scaling_factor(ScalingFactor::new(1, denom))
            .map_err(|e| format!("libjpeg-turbo: {e}"))?;
        let (format, channels) = if gray {
            (PixelFormat::GRAY, 1)
        } else {
            (PixelFormat::RGB, 3)
        };
        let (w, h) = (w as usize, h as usize);
        self.decompressor
            .decompress(
                self.bytes,
                Image {
                    pixels: out,
                    width: w,
                    pitch: w * channels,
                    height: h,
                    format,
                },
            )
            .map_err(|e| format!("decoding JPEG: {e}"))
    }
}

/// Encodes 8-bit gray (1 channel) or RGB (3 channels, 4:2:0) pixels.
///
/// # Errors
/// When libjpeg-turbo refuses the image.
pub fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    gray: bool,
    quality: u8,
) -> Result<Vec<u8>, String> {
    let (format, subsamp, channels) = if gray {
        (PixelFormat::GRAY, Subsamp::Gray, 1)
    } else {
        (PixelFormat::RGB, Subsamp::Sub2x2, 3)
    };
    let mut c = Compressor::new().map_err(|e| format!("libjpeg-turbo: {e}"))?;
    c.set_quality(i32::from(quality.clamp(1, 100)))
        .and_then(|()| c.set_subsamp(subsamp))
        .map_err(|e| format!("libjpeg-turbo: {e}"))?;
    let (w, h) = (width as usize, height as usize);
    c.compress_to_vec(Image {
        pixels,
        width: w,
        pitch: w * channels,
        height: h,
        format,
    })
    .map_err(|e| format!("encoding JPEG: {e}"))
}
