//! Smaller copies of a picture for the conversation view, and the tiny
//! placeholder shown while they load.

use super::{MediaError, Thumb};
use base64::Engine as _;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView, ImageEncoder, Rgba, RgbaImage};

/// The longer side of each thumbnail, smallest first: one for the message
/// list, one for the full-screen viewer on a phone (the app picks by them).
pub(crate) use chat_shared::files::THUMB_SIZES;

/// The longer side of the placeholder: enough to hint at the colours, small
/// enough to travel inside the message itself.
const PREVIEW_SIZE: u32 = 24;

/// The largest placeholder we send, as base64 text; a bigger one is left
/// out rather than slow every message list down.
pub(super) const PREVIEW_MAX_LEN: usize = 1500;

/// JPEG quality for opaque thumbnails: artefacts are invisible at these
/// sizes and the files stay a few tens of kilobytes.
const JPEG_QUALITY: u8 = 80;

/// The thumbnails of `image` (already upright) at each of [`THUMB_SIZES`]
/// smaller than its longer side, smallest first.
pub(super) fn make_thumbs(image: &DynamicImage) -> Result<Vec<Thumb>, MediaError> {
    let longer = image.width().max(image.height());
    let transparent = has_transparency(image);
    let mut thumbs = Vec::new();
    // The larger thumbnail first, then the smaller from it: the second
    // resize reads ~1.6 megapixels instead of the whole photo.
    let mut larger: Option<DynamicImage> = None;
    for &size in THUMB_SIZES.iter().rev().filter(|&&size| size < longer) {
        let source = larger.as_ref().unwrap_or(image);
        let resized = source.resize(size, size, FilterType::Triangle);
        let (bytes, content_type) = encode(&resized, transparent)?;
        thumbs.push(Thumb {
            size,
            bytes,
            content_type,
        });
        larger = Some(resized);
    }
    thumbs.reverse();
    Ok(thumbs)
}

/// Whether any pixel is not fully opaque: many PNGs carry an alpha channel
/// they never use, and those can be JPEG thumbnails.
fn has_transparency(image: &DynamicImage) -> bool {
    image.color().has_alpha() && image.pixels().any(|(_, _, Rgba([.., alpha]))| alpha < 255)
}

/// One thumbnail, encoded. Opaque pictures become JPEG; transparent ones
/// become PNG, which keeps the alpha channel and which every browser,
/// mail client and notification shows (lossless WebP would be a little
/// smaller, but `image`'s WebP encoder is a simple one and gains little).
fn encode(image: &DynamicImage, transparent: bool) -> Result<(Vec<u8>, &'static str), MediaError> {
    let mut bytes = Vec::new();
    if transparent {
        let rgba = image.to_rgba8();
        PngEncoder::new_with_quality(&mut bytes, CompressionType::Default, PngFilter::Adaptive)
            .write_image(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )
            .map_err(encode_error)?;
        Ok((bytes, "image/png"))
    } else {
        let rgb = image.to_rgb8();
        JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
            .write_image(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )
            .map_err(encode_error)?;
        Ok((bytes, "image/jpeg"))
    }
}

/// A thumbnail that could not be written is the server's failure, but it
/// is reported like a picture we cannot handle.
fn encode_error(error: image::ImageError) -> MediaError {
    MediaError::Undecodable(format!("its thumbnail could not be written ({error})"))
}

/// The placeholder: a JPEG at most [`PREVIEW_SIZE`] pixels on its longer
/// side, blurred a little, as base64 (no `data:` prefix); transparent
/// parts are laid on white. Empty when it would exceed
/// [`PREVIEW_MAX_LEN`] or could not be made: the placeholder is optional.
pub(super) fn preview(image: &DynamicImage) -> String {
    let small = image.resize(PREVIEW_SIZE, PREVIEW_SIZE, FilterType::Triangle);
    let mut flat = RgbaImage::from_pixel(small.width(), small.height(), Rgba([255; 4]));
    image::imageops::overlay(&mut flat, &small.to_rgba8(), 0, 0);
    let blurred = DynamicImage::ImageRgba8(flat).blur(1.0).to_rgb8();
    let mut bytes = Vec::new();
    let written = JpegEncoder::new_with_quality(&mut bytes, 50).write_image(
        blurred.as_raw(),
        blurred.width(),
        blurred.height(),
        image::ExtendedColorType::Rgb8,
    );
    let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
    if written.is_err() || text.len() > PREVIEW_MAX_LEN {
        return String::new();
    }
    text
}
