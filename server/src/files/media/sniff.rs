//! The content type of an upload, decided from its first bytes only.
//!
//! The name and the type the browser claims are the uploader's words; the
//! bytes are what a viewer's browser will parse. So only the bytes decide,
//! and anything a browser could run as a page (HTML, SVG, XML, scripts) is
//! never given a type that renders: it comes out as
//! `application/octet-stream`, which we serve as an attachment.

/// How many leading bytes [`sniff`] looks at; callers read this much.
pub(crate) const SNIFF_LEN: usize = 512;

/// The type for everything we do not recognise, and for anything active:
/// served as a download, never rendered.
pub(crate) const OCTET_STREAM: &str = "application/octet-stream";

/// The content type of a file, from its first bytes (up to [`SNIFF_LEN`]
/// are used): a known binary signature, else `text/plain` for plain
/// UTF-8 text that does not look like markup, else
/// [`OCTET_STREAM`].
pub(crate) fn sniff(head: &[u8]) -> &'static str {
    let head = &head[..head.len().min(SNIFF_LEN)];
    if let Some(binary) = binary_type(head) {
        return binary;
    }
    if is_plain_text(head) {
        return "text/plain";
    }
    OCTET_STREAM
}

/// The type of a file that starts with a binary signature we know.
fn binary_type(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if head.starts_with(b"\xff\xd8\xff") {
        return Some("image/jpeg");
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        return Some("image/webp");
    }
    if head.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    if is_mp4(head) {
        return Some("video/mp4");
    }
    if is_webm(head) {
        return Some("video/webm");
    }
    if head.starts_with(b"OggS\0") {
        return Some("audio/ogg");
    }
    if head.starts_with(b"ID3") || is_mpeg_audio_frame(head) {
        return Some("audio/mpeg");
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some("application/zip");
    }
    None
}

/// An ISO base media file (`ftyp` box first) whose major brand is one of
/// the MP4 video brands browsers play. HEIF, QuickTime and the rest are
/// left to [`OCTET_STREAM`].
fn is_mp4(head: &[u8]) -> bool {
    const BRANDS: [&[u8; 4]; 10] = [
        b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash",
    ];
    head.get(4..8) == Some(b"ftyp")
        && head
            .get(8..12)
            .is_some_and(|brand| BRANDS.iter().any(|known| brand == known.as_slice()))
}

/// An EBML document (the Matroska container) whose DocType is `webm`,
/// which sits in the EBML header at the very start.
fn is_webm(head: &[u8]) -> bool {
    head.starts_with(b"\x1a\x45\xdf\xa3")
        && head
            .get(..head.len().min(64))
            .is_some_and(|start| start.windows(4).any(|w| w == b"webm"))
}

/// An MPEG audio frame header with no ID3 tag before it: the 11-bit frame
/// sync, a real layer, and bitrate and sample-rate fields that are not the
/// reserved values (so that a random 0xFF byte is not enough).
fn is_mpeg_audio_frame(head: &[u8]) -> bool {
    let [a, b, c, ..] = *head else {
        return false;
    };
    let sync = a == 0xff && b & 0xe0 == 0xe0;
    let version_ok = (b >> 3) & 0b11 != 0b01;
    let layer_ok = (b >> 1) & 0b11 != 0b00;
    let bitrate_ok = c >> 4 != 0b1111;
    let rate_ok = (c >> 2) & 0b11 != 0b11;
    sync && version_ok && layer_ok && bitrate_ok && rate_ok
}

/// UTF-8 text (a character cut by the end of `head` is fine), with no NUL
/// or other control characters but tab, line breaks and form feed, that
/// does not look like markup a browser would render.
fn is_plain_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Only a character cut short at the end of the sample is allowed.
        Err(error) if error.error_len().is_none() => {
            match head.get(..error.valid_up_to()).map(std::str::from_utf8) {
                Some(Ok(text)) => text,
                _ => return false,
            }
        }
        Err(_) => return false,
    };
    let controls = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'));
    !controls && !looks_like_markup(text)
}

/// Whether text could be taken for HTML, XML or SVG by a browser or a
/// later sniffer: it starts with `<` (after a BOM and white space), or
/// names a tag that runs scripts or opens a document anywhere in the
/// sample.
fn looks_like_markup(text: &str) -> bool {
    const TAGS: [&str; 10] = [
        "<!doctype",
        "<html",
        "<head",
        "<body",
        "<script",
        "<svg",
        "<?xml",
        "<iframe",
        "<object",
        "<embed",
    ];
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('<') {
        return true;
    }
    let lower = text.to_ascii_lowercase();
    TAGS.iter().any(|tag| lower.contains(tag))
}
