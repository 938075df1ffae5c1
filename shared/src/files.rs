//! Files on messages (issue 25): what an attachment is on the wire, the
//! rules for its name, where it is downloaded from, and how a file message
//! reads to a client that knows nothing of attachments (its caption plus a
//! link per file). The server and the app both call these, so the rules
//! are written once.

use serde::{Deserialize, Serialize};

/// The most files one message carries.
pub const MAX_ATTACHMENTS: usize = 10;
/// The longest file name kept, in characters; longer names are cut (the
/// extension kept).
pub const MAX_FILE_NAME_CHARS: usize = 120;
/// The default size limit of one file (`--max-upload`): 25 MB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;
/// The thumbnail sizes the server makes, in pixels on the longer side;
/// only those smaller than the image are made.
pub const THUMB_SIZES: [u32; 2] = [320, 1280];
/// What the link lines of a file message start with (each on a line of
/// its own after the caption).
pub const LINK_MARK: &str = "📎 ";

/// One file of a message, as the server stored it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file's id: unguessable, part of its download path.
    pub id: String,
    /// The file's name as the sender gave it, cleaned ([`clean_file_name`]).
    pub name: String,
    /// Bytes, as stored (location metadata removed from images).
    pub size: u64,
    /// The content type, decided by the server from the bytes.
    #[serde(rename = "type")]
    pub content_type: String,
    /// The thumbnail sizes there are ([`THUMB_SIZES`] smaller than the
    /// image), at [`thumb_path`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thumbs: Vec<u32>,
    /// An image's width and height in pixels, upright.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A tiny JPEG of an image (base64), shown blurred until the
    /// thumbnail has loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
}

impl Attachment {
    /// Whether browsers may show it inline: only these raster types, never
    /// SVG (which can carry script).
    pub fn is_image(&self) -> bool {
        is_inline_image(&self.content_type)
    }

    /// Where the file is downloaded from (relative to the server).
    pub fn path(&self) -> String {
        format!("/files/{}/{}", self.id, encode_path_segment(&self.name))
    }

    /// The thumbnail to show at `want` pixels: the smallest at least that
    /// large; else the largest size the server makes, when the image has it
    /// (the original may be huge); else `None`: the original is the best
    /// there is and not much larger than its largest thumbnail.
    pub fn thumb_for(&self, want: u32) -> Option<u32> {
        let mut sizes = self.thumbs.clone();
        sizes.sort_unstable();
        let largest_made = THUMB_SIZES.iter().max().copied();
        sizes.iter().copied().find(|size| *size >= want).or(sizes
            .last()
            .copied()
            .filter(|size| Some(*size) == largest_made))
    }
}

/// Whether a content type is a raster image browsers may show inline.
pub fn is_inline_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// Where thumbnail `size` of file `id` is downloaded from.
pub fn thumb_path(id: &str, size: u32) -> String {
    format!("/files/{id}/thumb/{size}")
}

/// Whether `id` can be a file id: 32 lowercase hex digits (128 random bits).
pub fn is_valid_file_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The name a file is kept under: the last path component of what the
/// sender gave, without control characters, trimmed, at most
/// [`MAX_FILE_NAME_CHARS`] (the extension kept); `file` when nothing is left.
pub fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return "file".to_owned();
    }
    if cleaned.chars().count() <= MAX_FILE_NAME_CHARS {
        return cleaned.to_owned();
    }
    let extension = cleaned
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| ext.chars().count() <= 10)
        .unwrap_or_default();
    let keep = MAX_FILE_NAME_CHARS - extension.chars().count() - usize::from(!extension.is_empty());
    let stem: String = cleaned.chars().take(keep).collect();
    match extension.is_empty() {
        true => stem,
        false => format!("{stem}.{extension}"),
    }
}

/// A size for people: `812 B`, `1.4 KB`, `23.0 MB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The text a file message is stored and sent with: the caption, then a
/// line per file with its name, size and download path, so a client that
/// knows nothing of `attachments` still shows something useful.
pub fn text_with_links(caption: &str, attachments: &[Attachment]) -> String {
    let mut text = caption.trim_end().to_owned();
    for attachment in attachments {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&link_line(attachment));
    }
    text
}

/// The caption of a file message: its text without the trailing link
/// lines [`text_with_links`] added for these attachments.
pub fn caption<'a>(text: &'a str, attachments: &[Attachment]) -> &'a str {
    let mut rest = text;
    for attachment in attachments.iter().rev() {
        let line = link_line(attachment);
        match rest.strip_suffix(line.as_str()) {
            Some(before) => rest = before.strip_suffix('\n').unwrap_or(before),
            None => return text,
        }
    }
    rest
}

fn link_line(attachment: &Attachment) -> String {
    format!(
        "{LINK_MARK}{} ({}) {}",
        attachment.name,
        human_size(attachment.size),
        attachment.path()
    )
}

/// Percent-encodes one path segment (everything but unreserved ASCII).
fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Why an upload (`POST /files`) or a download was refused: the `error`
/// of the JSON answer, stable, for clients to translate by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadErrorCode {
    /// The request is not an upload this server takes (no length, a bad
    /// upload id, a bad query).
    BadRequest,
    /// No upload token, or not one this server made.
    BadToken,
    /// The token is out of date: ask for a new one.
    ExpiredToken,
    /// The token is for another room or name.
    WrongRoom,
    /// Larger than `--max-upload`.
    TooLarge,
    /// The name's hourly quota is used up.
    OverQuota,
    /// The server's storage cap (`--files-quota`) is reached.
    StorageFull,
    /// An image that cannot be decoded, or a decompression bomb.
    BadImage,
    /// The body ended before its announced length.
    Incomplete,
    /// This server keeps no files.
    FilesOff,
    /// No such file (or not one the asker may read).
    NotFound,
    /// The server failed; nothing was kept.
    ServerError,
    /// A code this build does not know yet.
    #[serde(other)]
    Unknown,
}

/// The JSON body of a refused upload or download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadError {
    pub error: UploadErrorCode,
    /// A sentence for people, in English.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> Attachment {
        Attachment {
            id: "0123456789abcdef0123456789abcdef".into(),
            name: "Sea view 1.jpg".into(),
            size: 2_400_000,
            content_type: "image/jpeg".into(),
            thumbs: vec![320, 1280],
            width: Some(4000),
            height: Some(3000),
            preview: None,
        }
    }

    #[test]
    fn a_caption_survives_its_links() {
        let files = [
            photo(),
            Attachment {
                name: "b.pdf".into(),
                ..photo()
            },
        ];
        let text = text_with_links("look at this", &files);
        assert_eq!(
            text,
            "look at this\n📎 Sea view 1.jpg (2.3 MB) /files/0123456789abcdef0123456789abcdef/Sea%20view%201.jpg\n📎 b.pdf (2.3 MB) /files/0123456789abcdef0123456789abcdef/b.pdf"
        );
        assert_eq!(caption(&text, &files), "look at this");
        let bare = text_with_links("", &files);
        assert!(bare.starts_with(LINK_MARK));
        assert_eq!(caption(&bare, &files), "");
        // Text that does not end with the links is all caption.
        assert_eq!(caption("edited away", &files), "edited away");
    }

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\Users\\me\\cat.png"), "cat.png");
        assert_eq!(clean_file_name("  .hidden  "), "hidden");
        assert_eq!(clean_file_name("a\u{202e}gpj.exe"), "agpj.exe");
        assert_eq!(clean_file_name("\n"), "file");
        let long = format!("{}.jpeg", "я".repeat(300));
        let cut = clean_file_name(&long);
        assert_eq!(cut.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(cut.ends_with(".jpeg"));
    }

    #[test]
    fn ids_sizes_and_thumbs() {
        assert!(is_valid_file_id(&photo().id));
        assert!(!is_valid_file_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_valid_file_id("../"));
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(1434), "1.4 KB");
        assert_eq!(photo().thumb_for(300), Some(320));
        assert_eq!(photo().thumb_for(900), Some(1280));
        assert_eq!(photo().thumb_for(4000), Some(1280));
        assert_eq!(Attachment::default().thumb_for(300), None);
        // An 800-pixel image has only the small one: the original beats it.
        let medium = Attachment {
            thumbs: vec![320],
            ..photo()
        };
        assert_eq!(medium.thumb_for(1280), None);
        assert_eq!(medium.thumb_for(200), Some(320));
        assert!(photo().is_image());
        assert!(!is_inline_image("image/svg+xml"));
    }

    #[test]
    fn attachments_on_the_wire() {
        let json = serde_json::to_value(photo()).unwrap_or_default();
        assert_eq!(json["type"], "image/jpeg");
        assert_eq!(json["thumbs"], serde_json::json!([320, 1280]));
        assert!(json.get("preview").is_none());
        let code: UploadErrorCode =
            serde_json::from_str("\"something_new\"").unwrap_or(UploadErrorCode::BadRequest);
        assert_eq!(code, UploadErrorCode::Unknown);
    }
}
