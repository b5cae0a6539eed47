//! Metadata carried from input to output: the ICC profile, EXIF, XMP and
//! IPTC, read from the input's segments or chunks and written into the
//! output's, with `img-parts` doing the JPEG, PNG and WebP container work
//! (segment splitting, chunk CRCs, WebP's VP8X flags).
//!
//! EXIF is edited in place ([`edit_exif`]): the orientation tag is reset to
//! 1 once the pixels are turned upright, the pixel size tags follow the
//! output, and on request the GPS directory is zeroed and unlinked; the
//! embedded thumbnail (which would show the unprocessed image) is dropped.
//! Editing in place, rather than re-serialising the whole EXIF tree as
//! EXIF writers do, keeps every other byte where it was, so maker notes,
//! whose private offsets a rewrite would break, survive intact.

use img_parts::jpeg::{markers, Jpeg, JpegSegment};
use img_parts::png::{Png, PngChunk};
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::WebP;
use img_parts::{Bytes, ImageEXIF, ImageICC};
use serde::{Deserialize, Serialize};

use super::OutputFormat;

/// Which metadata outputs keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Keep {
    /// EXIF, XMP and IPTC (the default).
    #[default]
    All,
    /// All but location: EXIF's GPS directory, and any XMP packet that
    /// names a GPS position.
    NoLocation,
    /// None (`--strip`): no EXIF, XMP, IPTC, nor a kept ICC profile.
    Nothing,
}

/// Metadata found in an input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Embedded ICC profile.
    pub icc: Option<Vec<u8>>,
    /// EXIF as a TIFF stream (`II*\0…` or `MM\0*…`, no `Exif\0\0`).
    pub exif: Option<Vec<u8>>,
    /// XMP packet (XML).
    pub xmp: Option<Vec<u8>>,
    /// JPEG APP13 (Photoshop resources holding IPTC), body as stored.
    pub iptc: Option<Vec<u8>>,
}

/// XMP's JPEG APP1 namespace prefix.
const XMP_PREFIX: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// Photoshop IRB prefix of an APP13 segment.
const PHOTOSHOP_PREFIX: &[u8] = b"Photoshop 3.0\0";
/// PNG iTXt keyword of an XMP packet.
const PNG_XMP_KEYWORD: &[u8] = b"XML:com.adobe.xmp";

impl Metadata {
    /// Whether there is nothing to carry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.icc.is_none() && self.exif.is_none() && self.xmp.is_none() && self.iptc.is_none()
    }

    /// Reads a JPEG's APP1 (EXIF, XMP), APP2 (ICC) and APP13 (IPTC)
    /// segments; stops at the first scan. Unreadable markers give what was
    /// found before them (the decoder reports real corruption).
    #[must_use]
    pub fn from_jpeg(bytes: &[u8]) -> Self {
        let Ok(jpeg) = Jpeg::from_bytes(Bytes::copy_from_slice(bytes)) else {
            return Self::default();
        };
        let segment_with = |marker: u8, prefix: &[u8]| {
            jpeg.segments_by_marker(marker)
                .find(|s| s.contents().starts_with(prefix))
                .map(|s| s.contents()[prefix.len()..].to_vec())
        };
        let xmp = segment_with(markers::APP1, XMP_PREFIX);
        let iptc = jpeg
            .segments_by_marker(markers::APP13)
            .find(|s| s.contents().starts_with(PHOTOSHOP_PREFIX))
            .map(|s| s.contents().to_vec());
        Self {
            icc: jpeg.icc_profile().map(|b| b.to_vec()),
            exif: jpeg.exif().map(|b| b.to_vec()),
            xmp,
            iptc,
        }
    }

    /// What of this the output keeps under `keep`, with EXIF edited for
    /// the output (see [`edit_exif`]); `icc` is the profile to embed, if
    /// any (the input's with `--keep-profile`, else none: pixels are sRGB).
    #[must_use]
    pub fn for_output(
        &self,
        keep: Keep,
        icc: Option<&[u8]>,
        edits: &ExifEdits,
        warnings: &mut Vec<String>,
    ) -> Self {
        if keep == Keep::Nothing {
            return Self::default();
        }
        let exif = self.exif.as_deref().and_then(|exif| {
            let mut exif = exif.to_vec();
            let edits = ExifEdits {
                strip_location: keep == Keep::NoLocation,
                ..*edits
            };
            match edit_exif(&mut exif, &edits) {
                Ok(()) => Some(exif),
                Err(e) => {
                    warnings.push(format!("EXIF dropped: {e}"));
                    None
                }
            }
        });
        let xmp = self.xmp.clone().filter(|xmp| {
            let located = keep == Keep::NoLocation && names_a_position(xmp);
            if located {
                warnings.push("XMP dropped: it names a GPS position".into());
            }
            !located
        });
        Self {
            icc: icc.map(<[u8]>::to_vec),
            exif,
            xmp,
            iptc: self.iptc.clone(),
        }
    }

    /// Writes this metadata into an encoded `format` file. JPEG, PNG and
    /// WebP carry all of it but IPTC, which only JPEG has a place for (PNG
    /// and WebP readers take IPTC fields from XMP); TIFF, GIF and BMP
    /// outputs get none here (TIFF's profile is set by its encoder), and
    /// the returned warnings say what was left out.
    ///
    /// # Errors
    /// When `encoded` is not a well-formed file of `format`.
    pub fn embed(
        &self,
        encoded: Vec<u8>,
        format: OutputFormat,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<u8>, String> {
        if self.is_empty() {
            return Ok(encoded);
        }
        let bytes = Bytes::from(encoded);
        let err = |e: img_parts::Error| format!("writing metadata into the {format} output: {e}");
        let out = match format {
            OutputFormat::Jpeg => {
                let mut jpeg = Jpeg::from_bytes(bytes).map_err(err)?;
                jpeg.set_exif(self.exif.clone().map(Bytes::from));
                // After SOI's APP0 and the EXIF segment, before the frame.
                let mut at = jpeg
                    .segments()
                    .iter()
                    .position(|s| s.marker() != markers::APP0 && s.marker() != markers::APP1)
                    .unwrap_or(0);
                if let Some(xmp) = &self.xmp {
                    let body = [XMP_PREFIX, xmp].concat();
                    if body.len() <= usize::from(u16::MAX) - 2 {
                        let seg = JpegSegment::new_with_contents(markers::APP1, body.into());
                        jpeg.segments_mut().insert(at, seg);
                        at += 1;
                    } else {
                        warnings.push("XMP dropped: over a JPEG segment's 64 KB".into());
                    }
                }
                if let Some(iptc) = &self.iptc {
                    let seg = JpegSegment::new_with_contents(markers::APP13, iptc.clone().into());
                    jpeg.segments_mut().insert(at, seg);
                }
                jpeg.set_icc_profile(self.icc.clone().map(Bytes::from));
                jpeg.encoder().bytes()
            }
            OutputFormat::Png => {
                let mut png = Png::from_bytes(bytes).map_err(err)?;
                png.set_icc_profile(self.icc.clone().map(Bytes::from));
                png.set_exif(self.exif.clone().map(Bytes::from));
                if let Some(xmp) = &self.xmp {
                    // iTXt: keyword, NUL, uncompressed, method 0, no
                    // language, no translated keyword, text.
                    let body = [PNG_XMP_KEYWORD, b"\0\0\0\0\0", xmp].concat();
                    let at = png.chunks().len().min(1);
                    png.chunks_mut()
                        .insert(at, PngChunk::new(*b"iTXt", body.into()));
                }
                self.iptc_left_out(format, warnings);
                png.encoder().bytes()
            }
            OutputFormat::Webp => {
                let mut webp = WebP::from_bytes(bytes).map_err(err)?;
                if let Some(xmp) = &self.xmp {
                    let chunk = RiffChunk::new(*b"XMP ", RiffContent::Data(xmp.clone().into()));
                    webp.chunks_mut().push(chunk);
                }
                webp.set_icc_profile(self.icc.clone().map(Bytes::from));
                // Also refreshes the VP8X flags for the XMP chunk.
                webp.set_exif(self.exif.clone().map(Bytes::from));
                self.iptc_left_out(format, warnings);
                webp.encoder().bytes()
            }
            OutputFormat::Tiff | OutputFormat::Gif | OutputFormat::Bmp => {
                if self.exif.is_some() || self.xmp.is_some() || self.iptc.is_some() {
                    warnings.push(format!(
                        "EXIF, XMP and IPTC not written: imgpipe writes none into {format}"
                    ));
                }
                if self.icc.is_some() && format != OutputFormat::Tiff {
                    warnings.push(format!("ICC profile not written: {format} has none"));
                }
                bytes
            }
        };
        Ok(out.to_vec())
    }

    fn iptc_left_out(&self, format: OutputFormat, warnings: &mut Vec<String>) {
        if self.iptc.is_some() {
            warnings.push(format!(
                "IPTC not written: {format} has no place for it (XMP kept)"
            ));
        }
    }
}

/// Whether an XMP packet holds a GPS position (exif:GPSLatitude etc.).
fn names_a_position(xmp: &[u8]) -> bool {
    xmp.windows(11)
        .any(|w| w == b"GPSLatitude" || w.starts_with(b"GPSLongitud"))
}

/// Changes [`edit_exif`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExifEdits {
    /// Set the orientation tag to 1 (the pixels were turned upright).
    pub reset_orientation: bool,
    /// New pixel size for PixelXDimension/PixelYDimension.
    pub size: Option<(u32, u32)>,
    /// Zero and unlink the GPS directory.
    pub strip_location: bool,
}

const TAG_ORIENTATION: u16 = 0x0112;
const TAG_EXIF_IFD: u16 = 0x8769;
const TAG_GPS_IFD: u16 = 0x8825;
const TAG_INTEROP_IFD: u16 = 0xA005;
const TAG_PIXEL_X: u16 = 0xA002;
const TAG_PIXEL_Y: u16 = 0xA003;
const TAG_THUMB_OFFSET: u16 = 0x0201;
const TAG_THUMB_LENGTH: u16 = 0x0202;

/// A TIFF stream being edited: every read is bounds-checked.
struct Tiff<'a> {
    data: &'a mut Vec<u8>,
    le: bool,
}

/// One IFD entry: where it is and what it says.
#[derive(Debug, Clone, Copy)]
struct Entry {
    at: usize,
    tag: u16,
    kind: u16,
    count: u32,
}

impl Entry {
    /// Bytes of its value, or `None` for an unknown type.
    fn value_len(self) -> Option<usize> {
        let unit = match self.kind {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 | 13 => 4,
            5 | 10 | 12 => 8,
            _ => return None,
        };
        usize::try_from(self.count).ok()?.checked_mul(unit)
    }
}

impl Tiff<'_> {
    fn u16_at(&self, at: usize) -> Option<u16> {
        let b = self.data.get(at..at + 2)?;
        Some(if self.le {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.data.get(at..at + 4)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn set_u16(&mut self, at: usize, v: u16) -> Option<()> {
        let b = if self.le {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        };
        self.data.get_mut(at..at + 2)?.copy_from_slice(&b);
        Some(())
    }

    fn set_u32(&mut self, at: usize, v: u32) -> Option<()> {
        let b = if self.le {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        };
        self.data.get_mut(at..at + 4)?.copy_from_slice(&b);
        Some(())
    }

    /// Entries of the IFD at `at` and the position of its next-IFD link.
    fn ifd(&self, at: usize) -> Option<(Vec<Entry>, usize)> {
        let n = usize::from(self.u16_at(at)?);
        let mut entries = Vec::with_capacity(n);
        for i in 0..n {
            let e = at + 2 + 12 * i;
            entries.push(Entry {
                at: e,
                tag: self.u16_at(e)?,
                kind: self.u16_at(e + 2)?,
                count: self.u32_at(e + 4)?,
            });
        }
        let next = at + 2 + 12 * n;
        self.data.get(next..next + 4)?;
        Some((entries, next))
    }

    /// Where an entry's value lies: inline (in the entry) or at an offset.
    fn value_range(&self, e: Entry) -> Option<std::ops::Range<usize>> {
        let len = e.value_len()?;
        let start = if len <= 4 {
            e.at + 8
        } else {
            usize::try_from(self.u32_at(e.at + 8)?).ok()?
        };
        let end = start.checked_add(len)?;
        self.data.get(start..end)?;
        Some(start..end)
    }

    fn pointer(&self, entries: &[Entry], tag: u16) -> Option<usize> {
        let e = entries.iter().find(|e| e.tag == tag)?;
        usize::try_from(self.u32_at(e.at + 8)?).ok()
    }

    /// Sets a SHORT or LONG single-value tag.
    fn set_number(&mut self, e: Entry, v: u32) -> Option<()> {
        match (e.kind, e.count) {
            (3, 1) => self.set_u16(e.at + 8, u16::try_from(v).ok()?),
            (4, 1) => self.set_u32(e.at + 8, v),
            _ => None,
        }
    }

    /// End of the IFD at `at` and of every value it points to.
    fn extent(&self, at: usize) -> Option<usize> {
        let (entries, next) = self.ifd(at)?;
        let mut end = next + 4;
        for e in entries {
            if let Some(r) = self.value_range(e) {
                end = end.max(r.end);
            }
        }
        Some(end)
    }

    /// Zeroes the IFD at `at` and its out-of-line values.
    fn zero_ifd(&mut self, at: usize) -> Option<()> {
        let (entries, next) = self.ifd(at)?;
        for e in entries {
            if e.value_len()? > 4 {
                let r = self.value_range(e)?;
                self.data[r].fill(0);
            }
        }
        self.data[at..next + 4].fill(0);
        Some(())
    }

    /// Removes entry `index` of the IFD at `at`: later entries and the
    /// next-IFD link move up one entry.
    fn remove_entry(&mut self, at: usize, index: usize) -> Option<()> {
        let (entries, next) = self.ifd(at)?;
        let n = entries.len();
        let start = at + 2 + 12 * index;
        self.data.copy_within(start + 12..next + 4, start);
        self.data[next - 8..next + 4].fill(0);
        self.set_u16(at, u16::try_from(n - 1).ok()?)
    }
}

/// Applies `edits` to EXIF (a TIFF stream) in place, and drops its
/// thumbnail: the IFD1 link is cut, and the thumbnail's bytes are cut off
/// when they end the stream (as they usually do) or zeroed when not.
///
/// # Errors
/// When the stream is not TIFF or a directory the edits need lies outside
/// it: the caller then drops the EXIF rather than write a wrong
/// orientation or leave a location it was asked to strip.
pub fn edit_exif(exif: &mut Vec<u8>, edits: &ExifEdits) -> Result<(), String> {
    edit(exif, edits).ok_or_else(|| "malformed EXIF".to_string())
}

fn edit(exif: &mut Vec<u8>, edits: &ExifEdits) -> Option<()> {
    let le = match exif.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let mut t = Tiff { data: exif, le };
    let ifd0 = usize::try_from(t.u32_at(4)?).ok()?;
    let (entries, next_link) = t.ifd(ifd0)?;
    if edits.reset_orientation {
        if let Some(&e) = entries.iter().find(|e| e.tag == TAG_ORIENTATION) {
            t.set_number(e, 1)?;
        }
    }
    let exif_ifd = t.pointer(&entries, TAG_EXIF_IFD);
    if let (Some(at), Some((w, h))) = (exif_ifd, edits.size) {
        if let Some((sub, _)) = t.ifd(at) {
            for e in sub {
                match e.tag {
                    TAG_PIXEL_X => t.set_number(e, w)?,
                    TAG_PIXEL_Y => t.set_number(e, h)?,
                    _ => {}
                }
            }
        }
    }
    if edits.strip_location {
        if let Some(i) = entries.iter().position(|e| e.tag == TAG_GPS_IFD) {
            let gps = t.pointer(&entries, TAG_GPS_IFD)?;
            t.zero_ifd(gps)?;
            t.remove_entry(ifd0, i)?;
        }
    }
    // The thumbnail: IFD1 and the JPEG it points to.
    let (_, next_link) = t.ifd(ifd0).map_or((Vec::new(), next_link), |x| x);
    let ifd1 = usize::try_from(t.u32_at(next_link)?).ok()?;
    if ifd1 != 0 {
        t.set_u32(next_link, 0)?;
        // What the kept directories reach: nothing there is touched.
        let mut used = t.extent(ifd0)?;
        for at in [exif_ifd, t.pointer(&t.ifd(ifd0)?.0, TAG_GPS_IFD)]
            .into_iter()
            .flatten()
        {
            used = used.max(t.extent(at)?);
            if let Some(interop) = t.ifd(at).and_then(|(e, _)| t.pointer(&e, TAG_INTEROP_IFD)) {
                used = used.max(t.extent(interop)?);
            }
        }
        let mut cut = ifd1;
        if let Some((e1, _)) = t.ifd(ifd1).filter(|_| ifd1 >= used) {
            let thumb_at = t.pointer(&e1, TAG_THUMB_OFFSET);
            let thumb_len = e1
                .iter()
                .find(|e| e.tag == TAG_THUMB_LENGTH)
                .and_then(|e| t.u32_at(e.at + 8));
            if let (Some(at), Some(len)) = (thumb_at, thumb_len) {
                let end = at.saturating_add(usize::try_from(len).ok()?);
                if at >= used && end <= t.data.len() {
                    t.data[at..end].fill(0);
                    cut = cut.min(at);
                }
            }
            t.zero_ifd(ifd1)?;
        }
        if cut >= used && cut < t.data.len() {
            t.data.truncate(cut);
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian EXIF stream: IFD0 (orientation 6, Exif and GPS
    /// pointers), an Exif IFD (pixel size, a copyright-like ASCII value),
    /// a GPS IFD with a rational, and IFD1 with a 16-byte thumbnail.
    fn sample() -> Vec<u8> {
        let mut d = b"II*\0\x08\0\0\0".to_vec();
        let entry = |d: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
            d.extend_from_slice(&tag.to_le_bytes());
            d.extend_from_slice(&kind.to_le_bytes());
            d.extend_from_slice(&count.to_le_bytes());
            d.extend_from_slice(&value.to_le_bytes());
        };
        // IFD0 at 8: 3 entries → ends at 8 + 2 + 36 + 4 = 50
        d.extend_from_slice(&3u16.to_le_bytes());
        entry(&mut d, TAG_ORIENTATION, 3, 1, 6);
        entry(&mut d, TAG_EXIF_IFD, 4, 1, 50);
        entry(&mut d, TAG_GPS_IFD, 4, 1, 80);
        d.extend_from_slice(&120u32.to_le_bytes()); // IFD1
                                                    // Exif IFD at 50: 2 entries → ends at 50 + 2 + 24 + 4 = 80
        d.extend_from_slice(&2u16.to_le_bytes());
        entry(&mut d, TAG_PIXEL_X, 4, 1, 4000);
        entry(&mut d, TAG_PIXEL_Y, 3, 1, 3000);
        d.extend_from_slice(&0u32.to_le_bytes());
        // GPS IFD at 80: 1 entry (latitude, 1 rational at 98) → 98 + 8 = 106
        d.extend_from_slice(&1u16.to_le_bytes());
        entry(&mut d, 0x0002, 5, 1, 98);
        d.extend_from_slice(&0u32.to_le_bytes());
        d.extend_from_slice(&48u32.to_le_bytes());
        d.extend_from_slice(&1u32.to_le_bytes());
        d.resize(120, 0);
        // IFD1 at 120: 2 entries → 120 + 2 + 24 + 4 = 150; thumbnail at 150
        d.extend_from_slice(&2u16.to_le_bytes());
        entry(&mut d, TAG_THUMB_OFFSET, 4, 1, 150);
        entry(&mut d, TAG_THUMB_LENGTH, 4, 1, 16);
        d.extend_from_slice(&0u32.to_le_bytes());
        d.extend_from_slice(&[0xAB; 16]);
        d
    }

    fn tag_value(d: &mut Vec<u8>, ifd: usize, tag: u16) -> Option<u32> {
        let t = Tiff { data: d, le: true };
        let (entries, _) = t.ifd(ifd)?;
        let e = entries.iter().find(|e| e.tag == tag)?;
        if e.kind == 3 {
            t.u16_at(e.at + 8).map(u32::from)
        } else {
            t.u32_at(e.at + 8)
        }
    }

    #[test]
    fn orientation_and_size_follow_the_output_and_the_thumbnail_goes() {
        let mut d = sample();
        let edits = ExifEdits {
            reset_orientation: true,
            size: Some((800, 600)),
            strip_location: false,
        };
        edit_exif(&mut d, &edits).expect("edit");
        assert_eq!(tag_value(&mut d, 8, TAG_ORIENTATION), Some(1));
        assert_eq!(tag_value(&mut d, 50, TAG_PIXEL_X), Some(800));
        assert_eq!(tag_value(&mut d, 50, TAG_PIXEL_Y), Some(600));
        assert_eq!(d.len(), 120, "IFD1 and the thumbnail cut off the end");
        assert_eq!(&d[104..106], &[0, 0]);
        assert_eq!(tag_value(&mut d, 80, 0x0002), Some(98), "GPS kept");
    }

    #[test]
    fn strip_location_zeroes_and_unlinks_gps() {
        let mut d = sample();
        let edits = ExifEdits {
            strip_location: true,
            ..ExifEdits::default()
        };
        edit_exif(&mut d, &edits).expect("edit");
        assert_eq!(tag_value(&mut d, 8, TAG_GPS_IFD), None);
        assert_eq!(tag_value(&mut d, 8, TAG_ORIENTATION), Some(6), "untouched");
        assert!(d[80..106].iter().all(|&b| b == 0), "GPS bytes zeroed");
        assert_eq!(tag_value(&mut d, 50, TAG_PIXEL_X), Some(4000));
    }

    #[test]
    fn malformed_exif_is_refused_not_half_edited() {
        for bad in [&b"nope"[..], b"II*\0\xff\xff\0\0", b"MM\0*\0\0\0\x08\0\x05"] {
            let mut d = bad.to_vec();
            assert!(edit_exif(&mut d, &ExifEdits::default()).is_err(), "{bad:?}");
        }
        // Every truncation of a good stream fails cleanly or succeeds.
        let full = sample();
        for n in 0..full.len() {
            let mut d = full[..n].to_vec();
            let _ = edit_exif(&mut d, &ExifEdits::default());
        }
    }

    #[test]
    fn xmp_positions_are_spotted() {
        assert!(names_a_position(
            b"<exif:GPSLatitude>48,51N</exif:GPSLatitude>"
        ));
        assert!(!names_a_position(b"<dc:rights>me</dc:rights>"));
    }
}
