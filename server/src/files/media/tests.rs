//! Real pictures made here with the `image` crate, and phone-like metadata
//! added with `img-parts` and `kamadak-exif`: nothing from the network.

use super::*;
use exif::{Context, Field, In, Tag, Value};
use image::{Rgb, RgbImage, Rgba, RgbaImage};
use img_parts::jpeg::{Jpeg, JpegSegment};
use img_parts::png::{Png, PngChunk};
use img_parts::{Bytes, ImageEXIF};
use proptest::prelude::*;
use std::time::{Duration, Instant};

/// A gradient, so that resizing and re-encoding have something to keep.
fn gradient(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
    }))
}

/// The left half red, the right half blue: which way is up after turning.
fn red_left_blue_right(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    }))
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).expect("encode");
    bytes.into_inner()
}

fn prepare(bytes: &[u8], format: ImageFormat) -> Result<Prepared, MediaError> {
    prepare_bytes(bytes, format, &DecodeLimits::default())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---- sniff ----

#[test]
fn sniff_names_each_picture_type_from_real_encoded_bytes() {
    let image = gradient(16, 16);
    for (format, expected) in [
        (ImageFormat::Png, "image/png"),
        (ImageFormat::Jpeg, "image/jpeg"),
        (ImageFormat::Gif, "image/gif"),
        (ImageFormat::WebP, "image/webp"),
    ] {
        assert_eq!(sniff(&encode(&image, format)), expected, "{format:?}");
        assert!(is_inline_image(expected));
    }
}

#[test]
fn sniff_names_documents_video_audio_and_archives() {
    let mp4 = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2avc1mp41\0\0\0\x08free";
    let mp4_mp42 = b"\0\0\0\x1cftypmp42\0\0\0\0mp42isom";
    let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\
                 \x42\xf3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02";
    let mkv = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska";
    let cases: [(&[u8], &str); 10] = [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (mp4, "video/mp4"),
        (mp4_mp42, "video/mp4"),
        (webm, "video/webm"),
        (mkv, OCTET_STREAM),
        (b"ID3\x04\0\0\0\0\0\x23TSSE", "audio/mpeg"),
        (b"\xff\xfb\x90\x64\0\0\0\0", "audio/mpeg"),
        (b"OggS\0\x02\0\0\0\0\0\0\0\0", "audio/ogg"),
        (b"PK\x03\x04\x14\0\0\0\x08\0", "application/zip"),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", OCTET_STREAM),
    ];
    for (bytes, expected) in cases {
        assert_eq!(sniff(bytes), expected, "{bytes:?}");
        assert!(!is_inline_image(sniff(bytes)));
    }
}

#[test]
fn html_named_png_is_an_attachment() {
    // The name says .png; only the bytes count.
    let html = b"<html><body><script>alert(document.cookie)</script></body></html>";
    assert_eq!(sniff(html), OCTET_STREAM);
}

#[test]
fn svg_and_xml_are_attachments_never_images() {
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>"#;
    assert_eq!(sniff(svg), OCTET_STREAM);
    assert_eq!(sniff(b"<?xml version=\"1.0\"?><svg/>"), OCTET_STREAM);
    assert!(!is_inline_image("image/svg+xml"));
    assert!(!is_inline_image("text/html"));
}

#[test]
fn doctype_after_bom_and_white_space_is_an_attachment() {
    assert_eq!(
        sniff(b"\xef\xbb\xbf  \n\t<!DOCTYPE html><p>hi"),
        OCTET_STREAM
    );
    assert_eq!(sniff(b"\n\n   <!doctype html>"), OCTET_STREAM);
    // Markup further in, after some innocent text.
    assert_eq!(sniff(b"hello there\n<script src=x></script>"), OCTET_STREAM);
    assert_eq!(sniff(b"notes\n<SVG onload=alert(1)>"), OCTET_STREAM);
}

#[test]
fn utf8_text_is_plain_text() {
    assert_eq!(sniff("Grüße aus Köln, 3 < 4\r\n".as_bytes()), "text/plain");
    // The sample may cut the last character in half.
    let text = "é".repeat(400);
    assert_eq!(sniff(&text.as_bytes()[..SNIFF_LEN]), "text/plain");
    assert_eq!(sniff(&text.as_bytes()[..511]), "text/plain");
    assert_eq!(sniff(b"text with a \0 NUL"), OCTET_STREAM);
    assert_eq!(sniff(b"bell \x07"), OCTET_STREAM);
    assert_eq!(sniff(b""), OCTET_STREAM);
    assert_eq!(sniff(b"\xc3\x28 not utf-8"), OCTET_STREAM);
}

#[test]
fn random_bytes_are_octet_stream() {
    // A fixed xorshift, so the test is the same every run.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..20 {
        let bytes: Vec<u8> = (0..SNIFF_LEN)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect();
        assert_eq!(sniff(&bytes), OCTET_STREAM);
    }
}

proptest! {
    #[test]
    fn sniff_never_panics_and_never_calls_markup_text(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let found = sniff(&bytes);
        if found == "text/plain" {
            prop_assert!(!bytes.contains(&0));
            prop_assert!(!String::from_utf8_lossy(&bytes).trim_start().starts_with('<'));
        }
    }
}

// ---- size checks before decoding ----

/// A valid 1 × 1 PNG whose header then claims `width` × `height`, with the
/// header's CRC fixed so that the decoder believes it.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = encode(&gradient(1, 1), ImageFormat::Png);
    assert_eq!(&png[12..16], b"IHDR");
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

#[test]
fn png_declaring_100000_square_is_refused_before_decoding() {
    let bomb = png_claiming(100_000, 100_000);
    let started = Instant::now();
    let refused = prepare(&bomb, ImageFormat::Png);
    assert_eq!(
        refused,
        Err(MediaError::TooManyPixels {
            width: 100_000,
            height: 100_000
        })
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn a_side_longer_than_max_side_is_refused_even_with_few_pixels() {
    let strip = png_claiming(30_000, 2);
    assert_eq!(
        prepare(&strip, ImageFormat::Png),
        Err(MediaError::TooManyPixels {
            width: 30_000,
            height: 2
        })
    );
}

#[test]
fn errors_read_as_sentences() {
    let error = MediaError::TooManyPixels {
        width: 100_000,
        height: 100_000,
    };
    assert_eq!(
        error.to_string(),
        "The picture is too large to show: it is 100000 × 100000 pixels."
    );
    assert_eq!(
        MediaError::Undecodable("it is cut short.".to_owned()).to_string(),
        "The picture cannot be shown: it is cut short."
    );
}

#[test]
fn prepare_image_reads_the_file_and_reports_a_missing_one() {
    let dir = std::env::temp_dir().join(format!("chat-media-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("photo.jpg");
    std::fs::write(&path, encode(&gradient(400, 300), ImageFormat::Jpeg)).expect("write");
    let limits = DecodeLimits::default();
    let prepared = prepare_image(&path, "image/jpeg", &limits).expect("prepared");
    assert_eq!((prepared.width, prepared.height), (400, 300));
    assert!(matches!(
        prepare_image(&dir.join("missing.jpg"), "image/jpeg", &limits),
        Err(MediaError::Io(_))
    ));
    assert!(matches!(
        prepare_image(&path, "image/svg+xml", &limits),
        Err(MediaError::Undecodable(_))
    ));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

// ---- thumbnails and placeholder ----

fn decoded_size(thumb: &Thumb) -> (u32, u32) {
    let image = image::load_from_memory(&thumb.bytes).expect("thumb decodes");
    (image.width(), image.height())
}

#[test]
fn wide_picture_gets_both_thumbnails_at_their_sizes() {
    let prepared = prepare(
        &encode(&gradient(2000, 1000), ImageFormat::Jpeg),
        ImageFormat::Jpeg,
    )
    .expect("prepared");
    assert_eq!((prepared.width, prepared.height), (2000, 1000));
    let sizes: Vec<_> = prepared.thumbs.iter().map(|t| t.size).collect();
    assert_eq!(sizes, [320, 1280]);
    assert_eq!(decoded_size(&prepared.thumbs[0]), (320, 160));
    assert_eq!(decoded_size(&prepared.thumbs[1]), (1280, 640));
    assert!(prepared
        .thumbs
        .iter()
        .all(|t| t.content_type == "image/jpeg"));
    assert_eq!(prepared.cleaned, None);
}

#[test]
fn only_thumbnails_smaller_than_the_picture_are_made() {
    let medium = prepare(
        &encode(&gradient(800, 600), ImageFormat::Png),
        ImageFormat::Png,
    )
    .expect("prepared");
    assert_eq!(medium.thumbs.len(), 1);
    assert_eq!(decoded_size(&medium.thumbs[0]), (320, 240));

    let small = prepare(
        &encode(&gradient(100, 100), ImageFormat::Png),
        ImageFormat::Png,
    )
    .expect("prepared");
    assert!(small.thumbs.is_empty());
    assert_eq!((small.width, small.height), (100, 100));
}

#[test]
fn transparent_png_thumbnails_keep_their_alpha() {
    let image = DynamicImage::ImageRgba8(RgbaImage::from_fn(600, 400, |x, y| {
        Rgba([
            200,
            30,
            30,
            if (x / 50 + y / 50) % 2 == 0 { 0 } else { 255 },
        ])
    }));
    let prepared = prepare(&encode(&image, ImageFormat::Png), ImageFormat::Png).expect("prepared");
    let thumb = &prepared.thumbs[0];
    assert_eq!(thumb.content_type, "image/png");
    let decoded = image::load_from_memory(&thumb.bytes).expect("decodes");
    assert!(decoded.color().has_alpha());
    assert!(decoded.to_rgba8().pixels().any(|p| p.0[3] == 0));

    // An alpha channel that is all opaque does not need a PNG thumbnail.
    let opaque = DynamicImage::ImageRgba8(RgbaImage::from_pixel(600, 400, Rgba([9, 9, 9, 255])));
    let prepared = prepare(&encode(&opaque, ImageFormat::Png), ImageFormat::Png).expect("ok");
    assert_eq!(prepared.thumbs[0].content_type, "image/jpeg");
}

#[test]
fn placeholder_is_a_tiny_jpeg_in_base64() {
    for image in [gradient(2000, 1000), gradient(30, 90), gradient(1, 1)] {
        let prepared = prepare(&encode(&image, ImageFormat::Png), ImageFormat::Png).expect("ok");
        assert!(!prepared.preview.is_empty());
        assert!(prepared.preview.len() < 1500, "{}", prepared.preview.len());
        let bytes = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            &prepared.preview,
        )
        .expect("base64");
        assert_eq!(sniff(&bytes), "image/jpeg");
        let small = image::load_from_memory(&bytes).expect("decodes");
        assert!(small.width().max(small.height()) <= 24);
    }
}

#[test]
fn animated_gif_gives_the_first_frame() {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame};
    let frame = |colour: [u8; 4]| {
        Frame::from_parts(
            RgbaImage::from_pixel(400, 200, Rgba(colour)),
            0,
            0,
            Delay::from_numer_denom_ms(100, 1),
        )
    };
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        encoder
            .encode_frames([frame([255, 0, 0, 255]), frame([0, 0, 255, 255])])
            .expect("gif");
    }
    let prepared = prepare(&bytes, ImageFormat::Gif).expect("prepared");
    assert_eq!((prepared.width, prepared.height), (400, 200));
    let thumb = image::load_from_memory(&prepared.thumbs[0].bytes)
        .expect("decodes")
        .to_rgb8();
    let centre = thumb.get_pixel(160, 80).0;
    assert!(centre[0] > 200 && centre[2] < 60, "{centre:?}");
}

// ---- location ----

/// A distinctive latitude seconds numerator, to look for in the output.
const SECRET_SECONDS: u32 = 0x5ec2_e7a1;

/// EXIF as a phone writes it: the orientation, and where the photo was
/// taken in the GPS IFD.
fn phone_exif(orientation: Option<u16>) -> Vec<u8> {
    let mut fields = vec![
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                (52, 1).into(),
                (31, 1).into(),
                (SECRET_SECONDS, 100_000_000).into(),
            ]),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![(13, 1).into(), (24, 1).into(), (5678, 100).into()]),
        },
    ];
    if let Some(orientation) = orientation {
        fields.push(Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![orientation]),
        });
    }
    let mut writer = exif::experimental::Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).expect("exif");
    out.into_inner()
}

const XMP_PACKET: &str = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description \
     xmlns:exif=\"http://ns.adobe.com/exif/1.0/\"><exif:GPSLatitude>52,31.2N</exif:GPSLatitude>\
     </rdf:Description></rdf:RDF></x:xmpmeta>";

/// A JPEG as a phone would send it: EXIF with GPS and the orientation, an
/// XMP packet with the place again, IPTC, and a trailer after the image.
fn phone_jpeg(image: &DynamicImage, orientation: u16) -> Vec<u8> {
    let plain = encode(image, ImageFormat::Jpeg);
    let mut jpeg = Jpeg::from_bytes(Bytes::from(plain)).expect("jpeg");
    jpeg.set_exif(Some(Bytes::from(phone_exif(Some(orientation)))));
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend_from_slice(XMP_PACKET.as_bytes());
    let iptc = b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x0c\x1c\x02\x5a\0\x06Berlin".to_vec();
    let segments = jpeg.segments_mut();
    segments.insert(1, JpegSegment::new_with_contents(0xe1, Bytes::from(xmp)));
    segments.insert(2, JpegSegment::new_with_contents(0xed, Bytes::from(iptc)));
    segments.insert(
        3,
        JpegSegment::new_with_contents(0xfe, Bytes::from_static(b"shot at home")),
    );
    let mut bytes = jpeg.encoder().bytes().to_vec();
    bytes.extend_from_slice(b"TRAILER:GPS 52.5,13.4");
    bytes
}

/// The bytes from the first scan to the end of the image: the pixels.
fn scan_data(jpeg: &[u8]) -> &[u8] {
    let sos = jpeg
        .windows(2)
        .position(|w| w == [0xff, 0xda])
        .expect("SOS");
    let eoi = jpeg
        .windows(2)
        .rposition(|w| w == [0xff, 0xd9])
        .expect("EOI");
    &jpeg[sos..eoi + 2]
}

fn read_exif(container: &[u8]) -> exif::Exif {
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(container))
        .expect("exif")
}

fn has_gps(exif: &exif::Exif) -> bool {
    exif.fields().any(|f| f.tag.context() == Context::Gps)
}

#[test]
fn phone_jpeg_loses_its_location_and_keeps_its_pixels_and_orientation() {
    let original = phone_jpeg(&red_left_blue_right(40, 20), 6);
    assert!(has_gps(&read_exif(&original)));
    assert!(contains(&original, &SECRET_SECONDS.to_be_bytes()));

    let prepared = prepare(&original, ImageFormat::Jpeg).expect("prepared");
    // Orientation 6: turned a quarter clockwise, so 40 × 20 stands up.
    assert_eq!((prepared.width, prepared.height), (20, 40));
    let cleaned = prepared.cleaned.expect("there was metadata to remove");

    let exif = read_exif(&cleaned);
    assert!(!has_gps(&exif));
    let orientation = exif.get_field(Tag::Orientation, In::PRIMARY).expect("kept");
    assert_eq!(orientation.value.get_uint(0), Some(6));
    assert_eq!(exif.fields().count(), 1);

    assert!(!contains(&cleaned, &SECRET_SECONDS.to_be_bytes()));
    assert!(!contains(&cleaned, b"GPSLatitude"));
    assert!(!contains(&cleaned, b"http://ns.adobe.com/xap"));
    assert!(!contains(&cleaned, b"8BIM"));
    assert!(!contains(&cleaned, b"Berlin"));
    assert!(!contains(&cleaned, b"shot at home"));
    assert!(!contains(&cleaned, b"TRAILER"));
    assert!(cleaned.ends_with(&[0xff, 0xd9]));

    // The picture itself was not re-encoded.
    assert_eq!(scan_data(&cleaned), scan_data(&original));
    let before = image::load_from_memory(&original).expect("decodes");
    let after = image::load_from_memory(&cleaned).expect("decodes");
    assert_eq!(before.to_rgb8(), after.to_rgb8());
}

#[test]
fn sideways_photo_thumbnails_are_upright() {
    let original = phone_jpeg(&red_left_blue_right(800, 400), 6);
    let prepared = prepare(&original, ImageFormat::Jpeg).expect("prepared");
    assert_eq!((prepared.width, prepared.height), (400, 800));
    let thumb = image::load_from_memory(&prepared.thumbs[0].bytes)
        .expect("decodes")
        .to_rgb8();
    assert_eq!(thumb.dimensions(), (160, 320));
    // Turned clockwise, the left (red) half is now on top.
    let top = thumb.get_pixel(80, 40).0;
    let bottom = thumb.get_pixel(80, 280).0;
    assert!(top[0] > 200 && top[2] < 60, "{top:?}");
    assert!(bottom[2] > 200 && bottom[0] < 60, "{bottom:?}");
}

#[test]
fn jpeg_with_only_its_own_segments_is_left_alone() {
    let original = encode(&gradient(300, 200), ImageFormat::Jpeg);
    assert_eq!(
        prepare(&original, ImageFormat::Jpeg).expect("ok").cleaned,
        None
    );
}

/// `png` with extra chunks inserted before its image data.
fn png_with_chunks(png: Vec<u8>, chunks: Vec<PngChunk>) -> Vec<u8> {
    let mut png = Png::from_bytes(Bytes::from(png)).expect("png");
    for chunk in chunks.into_iter().rev() {
        png.chunks_mut().insert(1, chunk);
    }
    png.encoder().bytes().to_vec()
}

#[test]
fn png_loses_exif_and_xmp_chunks() {
    let plain = encode(&gradient(64, 48), ImageFormat::Png);
    let mut itxt = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    itxt.extend_from_slice(XMP_PACKET.as_bytes());
    let original = png_with_chunks(
        plain.clone(),
        vec![
            PngChunk::new(*b"eXIf", Bytes::from(phone_exif(None))),
            PngChunk::new(*b"iTXt", Bytes::from(itxt)),
            PngChunk::new(*b"tEXt", Bytes::from_static(b"Comment\0at home")),
        ],
    );
    let prepared = prepare(&original, ImageFormat::Png).expect("prepared");
    let cleaned = prepared.cleaned.expect("there was metadata to remove");
    assert!(!contains(&cleaned, b"eXIf"));
    assert!(!contains(&cleaned, b"iTXt"));
    assert!(!contains(&cleaned, b"GPSLatitude"));
    assert!(!contains(&cleaned, &SECRET_SECONDS.to_be_bytes()));
    assert_eq!(cleaned, plain, "only the added chunks go");

    assert_eq!(prepare(&plain, ImageFormat::Png).expect("ok").cleaned, None);
}

#[test]
fn png_keeps_only_the_orientation_of_its_exif() {
    let plain = encode(&red_left_blue_right(40, 20), ImageFormat::Png);
    let original = png_with_chunks(
        plain,
        vec![PngChunk::new(*b"eXIf", Bytes::from(phone_exif(Some(6))))],
    );
    let prepared = prepare(&original, ImageFormat::Png).expect("prepared");
    assert_eq!((prepared.width, prepared.height), (20, 40));
    let cleaned = prepared.cleaned.expect("GPS removed");
    let exif = read_exif(&cleaned);
    assert!(!has_gps(&exif));
    let orientation = exif.get_field(Tag::Orientation, In::PRIMARY).expect("kept");
    assert_eq!(orientation.value.get_uint(0), Some(6));
    // The chunk we wrote has a correct CRC: the decoder takes the file.
    let decoded = image::load_from_memory(&cleaned).expect("decodes");
    assert_eq!(decoded.width(), 40);
}

/// A lossless WebP in the extended format, with EXIF (GPS) and XMP.
fn phone_webp(image: &DynamicImage) -> Vec<u8> {
    let simple = encode(image, ImageFormat::WebP);
    assert_eq!(&simple[12..16], b"VP8L");
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut out = kind.to_vec();
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
        out
    };
    let (w, h) = (image.width() - 1, image.height() - 1);
    let mut vp8x = vec![0x08 | 0x04, 0, 0, 0];
    vp8x.extend_from_slice(&w.to_le_bytes()[..3]);
    vp8x.extend_from_slice(&h.to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(chunk(b"VP8X", &vp8x));
    body.extend_from_slice(&simple[12..]);
    body.extend(chunk(b"EXIF", &phone_exif(None)));
    body.extend(chunk(b"XMP ", XMP_PACKET.as_bytes()));
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

#[test]
fn webp_loses_exif_and_xmp_and_its_flags_say_so() {
    let image = gradient(50, 30);
    let original = phone_webp(&image);
    image::load_from_memory(&original).expect("the test file is valid");
    let prepared = prepare(&original, ImageFormat::WebP).expect("prepared");
    let cleaned = prepared.cleaned.expect("there was metadata to remove");
    assert!(!contains(&cleaned, b"EXIF"));
    assert!(!contains(&cleaned, b"XMP "));
    assert!(!contains(&cleaned, &SECRET_SECONDS.to_be_bytes()));
    assert_eq!(&cleaned[12..16], b"VP8X");
    assert_eq!(cleaned[20] & (0x08 | 0x04), 0, "EXIF and XMP flags cleared");
    let riff_len = u32::from_le_bytes(cleaned[4..8].try_into().expect("4 bytes"));
    assert_eq!(riff_len as usize, cleaned.len() - 8);
    let after = image::load_from_memory(&cleaned).expect("decodes");
    assert_eq!(after.to_rgb8(), image.to_rgb8());
}

#[test]
fn gif_loses_comments_and_xmp_but_keeps_looping() {
    let plain = encode(&gradient(30, 20), ImageFormat::Gif);
    assert_eq!(plain.last(), Some(&0x3b));
    let mut original = plain[..plain.len() - 1].to_vec();
    original.extend_from_slice(b"\x21\xfe\x0cshot at home\x00");
    original.extend_from_slice(b"\x21\xff\x0bXMP DataXMP");
    for piece in XMP_PACKET.as_bytes().chunks(255) {
        original.push(piece.len() as u8);
        original.extend_from_slice(piece);
    }
    original.extend_from_slice(b"\x00\x3b");
    let prepared = prepare(&original, ImageFormat::Gif).expect("prepared");
    let cleaned = prepared.cleaned.expect("there was metadata to remove");
    assert_eq!(cleaned, plain);
}

// ---- no panic on any input ----

#[test]
fn every_prefix_of_real_pictures_returns_without_panicking() {
    let photo = phone_jpeg(&gradient(64, 48), 6);
    let png = png_with_chunks(
        encode(&gradient(64, 48), ImageFormat::Png),
        vec![PngChunk::new(*b"eXIf", Bytes::from(phone_exif(Some(3))))],
    );
    let webp = phone_webp(&gradient(64, 48));
    let gif = encode(&gradient(64, 48), ImageFormat::Gif);
    for (bytes, format) in [
        (&photo, ImageFormat::Jpeg),
        (&png, ImageFormat::Png),
        (&webp, ImageFormat::WebP),
        (&gif, ImageFormat::Gif),
    ] {
        for end in 0..bytes.len() {
            let _ = prepare(&bytes[..end], format);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn damaged_pictures_return_without_panicking(
        format in prop_oneof![
            Just(ImageFormat::Jpeg),
            Just(ImageFormat::Png),
            Just(ImageFormat::WebP),
            Just(ImageFormat::Gif),
        ],
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = match format {
            ImageFormat::Jpeg => phone_jpeg(&gradient(48, 32), 6),
            ImageFormat::WebP => phone_webp(&gradient(48, 32)),
            other => encode(&gradient(48, 32), other),
        };
        for (at, value) in damage {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        let _ = prepare(&bytes, format);
    }

    #[test]
    fn arbitrary_bytes_return_without_panicking(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP, ImageFormat::Gif] {
            let _ = prepare(&bytes, format);
        }
    }
}
