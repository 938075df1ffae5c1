//! What an upload is, and what a picture needs before it is shown.
//!
//! [`sniff`] names the type of any upload from its bytes; [`prepare_image`]
//! takes a picture of one of the [inline types](chat_shared::files::is_inline_image) and, on a
//! blocking thread, checks its size before decoding it, turns it upright,
//! makes its thumbnails and placeholder, and removes where it was taken.
//! Nothing here panics on any input: every failure is a [`MediaError`].
//!
//! - `sniff`: the content type from the first bytes;
//! - `thumbs`: thumbnails and the blurred placeholder;
//! - `location`: the container walk that keeps only what draws the
//!   picture.

mod location;
mod sniff;
#[cfg(test)]
mod tests;
mod thumbs;

#[cfg(test)]
use chat_shared::files::is_inline_image;
pub(crate) use sniff::sniff;
#[cfg(test)]
use sniff::{OCTET_STREAM, SNIFF_LEN};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use std::fmt;
use std::io::Cursor;
use std::path::Path;

/// How big a picture we agree to decode. A small file can declare an
/// enormous canvas (a decompression bomb); these bounds are checked against
/// the header before any pixel is decoded, and `max_alloc` also bounds the
/// decoder itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeLimits {
    /// Width times height: the decoded image costs up to 8 bytes a pixel,
    /// and every thumbnail pass reads them all.
    pub(crate) max_pixels: u64,
    /// Bytes the decoder may allocate at once (`image::Limits::max_alloc`).
    pub(crate) max_alloc: u64,
    /// The longest side: a 1 × 50 000 000 strip is within `max_pixels` but
    /// no picture anyone means to share.
    pub(crate) max_side: u32,
}

impl Default for DecodeLimits {
    /// 50 megapixels (a large phone photo is 12 to 48), 512 MiB, 20 000 px.
    fn default() -> Self {
        DecodeLimits {
            max_pixels: 50_000_000,
            max_alloc: 512 * 1024 * 1024,
            max_side: 20_000,
        }
    }
}

/// One thumbnail of a picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thumb {
    /// Its longer side, one of [`chat_shared::files::THUMB_SIZES`]: how the caller names and
    /// picks it.
    pub(crate) size: u32,
    /// The encoded file, ready to store and serve.
    pub(crate) bytes: Vec<u8>,
    /// `image/jpeg`, or `image/png` when the picture has transparency.
    pub(crate) content_type: &'static str,
}

/// What [`prepare_image`] learnt and made from one picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prepared {
    /// The upright width (after the EXIF orientation), so the browser can
    /// reserve the space before the picture loads.
    pub(crate) width: u32,
    /// The upright height.
    pub(crate) height: u32,
    /// The thumbnails smaller than the picture, smallest first; empty for
    /// a picture already smaller than the smallest size.
    pub(crate) thumbs: Vec<Thumb>,
    /// A blurred placeholder of at most 24 px, as the base64 of a JPEG
    /// (no `data:` prefix), small enough to travel with the message; empty
    /// when it could not be made small enough.
    pub(crate) preview: String,
    /// The original file without its location metadata, the pixels' bytes
    /// untouched; `None` when there was nothing to remove, so the caller
    /// keeps the upload as it is.
    pub(crate) cleaned: Option<Vec<u8>>,
}

/// Why a picture could not be prepared. The caller reports it to the
/// uploader (it may still keep the file as an attachment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MediaError {
    /// The header declares more pixels, or a longer side, than
    /// [`DecodeLimits`] allows; nothing was decoded.
    TooManyPixels { width: u32, height: u32 },
    /// The bytes are not a picture of the type claimed, are damaged, or
    /// exceed the decoder's memory limit.
    Undecodable(String),
    /// The stored upload could not be read.
    Io(String),
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaError::TooManyPixels { width, height } => write!(
                f,
                "The picture is too large to show: it is {width} × {height} pixels."
            ),
            MediaError::Undecodable(why) => write!(
                f,
                "The picture cannot be shown: {}.",
                why.trim_end_matches('.')
            ),
            MediaError::Io(why) => write!(
                f,
                "The uploaded file could not be read: {}.",
                why.trim_end_matches('.')
            ),
        }
    }
}

impl std::error::Error for MediaError {}

/// Checks, turns upright, thumbnails and cleans the picture stored at
/// `path`, whose type [`sniff`] found to be `content_type`. Slow and
/// blocking: the caller runs it in `spawn_blocking`.
pub(crate) fn prepare_image(
    path: &Path,
    content_type: &str,
    limits: &DecodeLimits,
) -> Result<Prepared, MediaError> {
    let format = inline_format(content_type).ok_or_else(|| {
        MediaError::Undecodable(format!("{content_type} is not a type shown inline"))
    })?;
    let bytes = std::fs::read(path).map_err(|error| MediaError::Io(error.to_string()))?;
    prepare_bytes(&bytes, format, limits)
}

/// [`prepare_image`] on a file already in memory.
fn prepare_bytes(
    bytes: &[u8],
    format: ImageFormat,
    limits: &DecodeLimits,
) -> Result<Prepared, MediaError> {
    let (image, orientation) = decode(bytes, format, limits)?;
    Ok(Prepared {
        width: image.width(),
        height: image.height(),
        thumbs: thumbs::make_thumbs(&image)?,
        preview: thumbs::preview(&image),
        cleaned: location::strip_location(bytes, format, orientation)?,
    })
}

/// The `image` format for each inline content type.
fn inline_format(content_type: &str) -> Option<ImageFormat> {
    match content_type {
        "image/png" => Some(ImageFormat::Png),
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// The picture decoded and turned upright (the first frame of an
/// animation), with the EXIF orientation that was applied (1 to 8). The
/// size is checked on the header alone before any pixel is decoded.
fn decode(
    bytes: &[u8],
    format: ImageFormat,
    limits: &DecodeLimits,
) -> Result<(DynamicImage, u8), MediaError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels
        || width.max(height) > limits.max_side
        || decoder.total_bytes() > limits.max_alloc
    {
        return Err(MediaError::TooManyPixels { width, height });
    }
    // A damaged EXIF block should not cost the picture: it is then shown
    // as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    image.apply_orientation(orientation);
    Ok((image, orientation.to_exif()))
}

/// The decoder's reason, for [`MediaError::Undecodable`].
fn undecodable(error: image::ImageError) -> MediaError {
    match error {
        image::ImageError::Limits(_) => {
            MediaError::Undecodable("decoding it would take too much memory".to_owned())
        }
        other => MediaError::Undecodable(other.to_string()),
    }
}
