//! Where a photo was taken, taken out of the file before anyone else can
//! download it.
//!
//! Phones write the place into EXIF (the GPS IFD), into XMP packets, and
//! into IPTC; some add it to trailers after the image or to second images
//! (MPF). Rather than hunt for each, every container is walked and only
//! what draws the picture is kept (an allow-list): the pixels' own bytes
//! are copied unchanged, never re-encoded. EXIF is replaced by a minimal
//! block holding only the orientation, so a sideways photo stays upright.

use super::MediaError;
use image::ImageFormat;

/// The container with its location metadata removed, or `None` when
/// walking it changed nothing (the original is already clean).
pub(super) fn strip_location(
    bytes: &[u8],
    format: ImageFormat,
    orientation: u8,
) -> Result<Option<Vec<u8>>, MediaError> {
    let exif = minimal_exif(orientation);
    let cleaned = match format {
        ImageFormat::Jpeg => clean_jpeg(bytes, exif.as_deref()),
        ImageFormat::Png => clean_png(bytes, exif.as_deref()),
        ImageFormat::WebP => clean_webp(bytes, exif.as_deref()),
        ImageFormat::Gif => clean_gif(bytes),
        _ => None,
    }
    .ok_or_else(|| MediaError::Undecodable("its metadata could not be read safely".to_owned()))?;
    Ok((cleaned != bytes).then_some(cleaned))
}

/// A TIFF-structured EXIF block (big-endian, no `Exif\0\0` prefix) with one
/// entry, Orientation; `None` for the upright orientation, which needs no
/// EXIF at all.
fn minimal_exif(orientation: u8) -> Option<Vec<u8>> {
    if !(2..=8).contains(&orientation) {
        return None;
    }
    let mut tiff = Vec::with_capacity(26);
    tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // header, IFD0 at offset 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // one value
    tiff.extend_from_slice(&[0, orientation, 0, 0]); // the value, left-aligned
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    Some(tiff)
}

/// A JPEG with only the segments that draw the picture; `None` when it is
/// cut short inside a segment. The frame, tables and scans are copied as
/// they are; anything after the end-of-image marker is dropped.
fn clean_jpeg(bytes: &[u8], exif: Option<&[u8]>) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xff, 0xd8]) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xff, 0xd8]);
    let mut exif_written = false;
    let mut pos = 2;
    while pos < bytes.len() {
        // Between segments only 0xFF fill bytes belong; skip anything else.
        if bytes[pos] != 0xff {
            pos += 1;
            continue;
        }
        while bytes.get(pos) == Some(&0xff) {
            pos += 1;
        }
        let marker = *bytes.get(pos)?;
        pos += 1;
        match marker {
            0xd9 => {
                out.extend_from_slice(&[0xff, 0xd9]);
                break;
            }
            // Markers without a payload (restart markers, TEM).
            0x01 | 0xd0..=0xd7 => out.extend_from_slice(&[0xff, marker]),
            _ => {
                let len = usize::from(u16::from_be_bytes([*bytes.get(pos)?, *bytes.get(pos + 1)?]));
                let segment = bytes.get(pos..pos.checked_add(len)?)?;
                let payload = segment.get(2..)?;
                pos += len;
                if is_exif_segment(marker, payload) {
                    if let (Some(exif), false) = (exif, exif_written) {
                        let mut app1 = b"Exif\0\0".to_vec();
                        app1.extend_from_slice(exif);
                        out.extend_from_slice(&[0xff, 0xe1]);
                        out.extend_from_slice(&u16::try_from(app1.len() + 2).ok()?.to_be_bytes());
                        out.extend_from_slice(&app1);
                        exif_written = true;
                    }
                } else if keeps_jpeg_segment(marker, payload) {
                    out.extend_from_slice(&[0xff, marker]);
                    out.extend_from_slice(segment);
                }
                if marker == 0xda {
                    // The entropy-coded scan: copied up to the next marker.
                    let end = scan_end(bytes, pos);
                    out.extend_from_slice(&bytes[pos..end]);
                    pos = end;
                }
            }
        }
    }
    Some(out)
}

/// Whether an APP1 segment is EXIF.
fn is_exif_segment(marker: u8, payload: &[u8]) -> bool {
    marker == 0xe1 && payload.starts_with(b"Exif\0")
}

/// The JPEG segments that are kept: everything that is not an application
/// segment or a comment, plus the application segments that change how
/// the pixels look: JFIF (APP0), the ICC profile (APP2) and Adobe's colour
/// transform (APP14). XMP, IPTC (APP13), MPF, comments and the rest go.
fn keeps_jpeg_segment(marker: u8, payload: &[u8]) -> bool {
    match marker {
        0xe0 => payload.starts_with(b"JFIF\0") || payload.starts_with(b"JFXX\0"),
        0xe2 => payload.starts_with(b"ICC_PROFILE\0"),
        0xee => payload.starts_with(b"Adobe"),
        0xe1..=0xef | 0xfe => false,
        _ => true,
    }
}

/// Where an entropy-coded scan starting at `start` ends: at the 0xFF of the
/// next marker that is not a stuffed byte or a restart marker, or at the
/// end of the file.
fn scan_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while i + 1 < bytes.len() {
        if bytes[i] == 0xff {
            match bytes[i + 1] {
                0x00 | 0xd0..=0xd7 => i += 2,
                // A fill byte: the marker starts at a later 0xFF.
                0xff => i += 1,
                _ => return i,
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// A PNG with only the chunks that draw the picture; `None` when a chunk
/// is cut short. Text chunks (`tEXt`, `zTXt`, `iTXt`, which carry XMP and
/// ImageMagick's copies of EXIF), `eXIf`, `tIME` and unknown ancillary
/// chunks go; nothing after `IEND` is kept.
fn clean_png(bytes: &[u8], exif: Option<&[u8]>) -> Option<Vec<u8>> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    /// Ancillary chunks that change how the image looks or animates.
    const KEPT: [&[u8; 4]; 17] = [
        b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs", b"hIST", b"sPLT",
        b"acTL", b"fcTL", b"fdAT", b"cICP", b"mDCV", b"cLLI", b"mDCv",
    ];
    if !bytes.starts_with(SIGNATURE) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(SIGNATURE);
    let mut pos = SIGNATURE.len();
    let mut exif_written = false;
    while pos < bytes.len() {
        let len = usize::try_from(u32::from_be_bytes(
            bytes.get(pos..pos + 4)?.try_into().ok()?,
        ))
        .ok()?;
        let end = pos.checked_add(12)?.checked_add(len)?;
        let chunk = bytes.get(pos..end)?;
        let kind = chunk.get(4..8)?;
        pos = end;
        let critical = kind[0].is_ascii_uppercase();
        if kind == b"eXIf" {
            if let (Some(exif), false) = (exif, exif_written) {
                write_png_chunk(&mut out, b"eXIf", exif)?;
                exif_written = true;
            }
        } else if critical || KEPT.iter().any(|k| kind == k.as_slice()) {
            out.extend_from_slice(chunk);
        }
        if kind == b"IEND" {
            break;
        }
    }
    Some(out)
}

/// Appends one PNG chunk: length, type, data and CRC.
fn write_png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) -> Option<()> {
    out.extend_from_slice(&u32::try_from(data.len()).ok()?.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    Some(())
}

/// A WebP with only the chunks that draw the picture; `None` when a chunk
/// is cut short. `EXIF` (replaced by the minimal one), `XMP ` and unknown
/// chunks go, and the VP8X flags are made to match what is left.
fn clean_webp(bytes: &[u8], exif: Option<&[u8]>) -> Option<Vec<u8>> {
    /// The VP8X flag bits that announce EXIF and XMP chunks.
    const EXIF_FLAG: u8 = 0x08;
    const XMP_FLAG: u8 = 0x04;
    const KEPT: [&[u8; 4]; 7] = [
        b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
    ];
    if !bytes.starts_with(b"RIFF") || bytes.get(8..12) != Some(b"WEBP") {
        return None;
    }
    let riff_len = usize::try_from(u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?)).ok()?;
    // Anything after the RIFF chunk is not part of the picture.
    let body_end = riff_len.checked_add(8)?.min(bytes.len());
    let mut body = Vec::with_capacity(body_end);
    body.extend_from_slice(b"WEBP");
    let mut pos = 12;
    let mut exif_written = false;
    let mut vp8x_at = None;
    while pos + 8 <= body_end {
        let kind = bytes.get(pos..pos + 4)?;
        let len = usize::try_from(u32::from_le_bytes(
            bytes.get(pos + 4..pos + 8)?.try_into().ok()?,
        ))
        .ok()?;
        // Chunks are padded to an even length.
        let end = pos.checked_add(8)?.checked_add(len)?.checked_add(len % 2)?;
        let chunk = bytes.get(pos..end.min(body_end))?;
        if chunk.len() < 8 + len {
            return None;
        }
        pos = end;
        if kind == b"EXIF" {
            if let (Some(exif), false) = (exif, exif_written) {
                body.extend_from_slice(b"EXIF");
                body.extend_from_slice(&u32::try_from(exif.len()).ok()?.to_le_bytes());
                body.extend_from_slice(exif);
                if exif.len() % 2 == 1 {
                    body.push(0);
                }
                exif_written = true;
            }
        } else if KEPT.iter().any(|k| kind == k.as_slice()) {
            if kind == b"VP8X" {
                vp8x_at = Some(body.len() + 8);
            }
            body.extend_from_slice(chunk);
        }
    }
    if let Some(flags) = vp8x_at.and_then(|at| body.get_mut(at)) {
        *flags &= !(EXIF_FLAG | XMP_FLAG);
        if exif_written {
            *flags |= EXIF_FLAG;
        }
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&u32::try_from(body.len()).ok()?.to_le_bytes());
    out.extend_from_slice(&body);
    Some(out)
}

/// A GIF without comment extensions and without application extensions
/// other than the looping ones (XMP travels in an application extension);
/// `None` when a block is cut short. Nothing after the trailer is kept.
fn clean_gif(bytes: &[u8]) -> Option<Vec<u8>> {
    /// The application extensions that only say how an animation loops.
    const LOOPING: [&[u8; 11]; 2] = [b"NETSCAPE2.0", b"ANIMEXTS1.0"];
    let screen = bytes.get(..13)?;
    if !(screen.starts_with(b"GIF87a") || screen.starts_with(b"GIF89a")) {
        return None;
    }
    let mut pos = 13 + color_table_len(screen[10]);
    let mut out = bytes.get(..pos)?.to_vec();
    loop {
        let start = pos;
        match *bytes.get(pos)? {
            0x3b => {
                out.push(0x3b);
                return Some(out);
            }
            0x21 => {
                let label = *bytes.get(pos + 1)?;
                let first_block = bytes.get(pos + 3..pos + 14);
                pos = skip_sub_blocks(bytes, pos + 2)?;
                let keep = match label {
                    0xfe => false,
                    0xff => {
                        first_block.is_some_and(|id| LOOPING.iter().any(|l| id == l.as_slice()))
                    }
                    _ => true,
                };
                if keep {
                    out.extend_from_slice(bytes.get(start..pos)?);
                }
            }
            0x2c => {
                let packed = *bytes.get(pos + 9)?;
                // Descriptor, local colour table, LZW code size, data.
                pos = skip_sub_blocks(bytes, pos + 10 + color_table_len(packed) + 1)?;
                out.extend_from_slice(bytes.get(start..pos)?);
            }
            _ => return None,
        }
    }
}

/// The length of the colour table a GIF packed-fields byte announces.
fn color_table_len(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

/// The position after a chain of GIF data sub-blocks starting at `pos`
/// (each a length byte and that many bytes, ended by a zero length).
fn skip_sub_blocks(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = usize::from(*bytes.get(pos)?);
        pos += 1;
        if len == 0 {
            return Some(pos);
        }
        pos += len;
    }
}
