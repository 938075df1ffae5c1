//! Files on messages (issue 25) through the real server: uploads over
//! HTTP with the socket's token, limits, what a file really is, images
//! made small and safe, downloads with their headers and ranges, DM files
//! kept to the DM, deletion, and (in the cluster setup) every node
//! reaching every file in the real S3 bucket. Refusals first; each leaves
//! nothing stored.

mod common;

use chat_server::Config;
use chat_shared::files::{text_with_links, Attachment};
use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::http::{read_answer, request, Answer};
use common::{until, Client, TestServer};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const ALICE: &str = "alice-key-0123456789abcdef01";
const BOB: &str = "bob-key-0123456789abcdef0123";
const CAROL: &str = "carol-key-0123456789abcdef01";

/// A server keeping its files in a fresh folder this test can look into
/// (in the cluster setup, the shared S3 bucket instead: see `common`).
struct Setup {
    server: TestServer,
    folder: PathBuf,
}

impl Setup {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let folder = common::temp_folder("files");
        let mut config = common::unthrottled();
        config.files.files_dir = Some(folder.clone());
        adjust(&mut config);
        Self {
            server: TestServer::start_with(config).await,
            folder,
        }
    }

    /// How many contents are stored (whatever the storage).
    async fn stored(&self) -> usize {
        common::stored_objects(&self.server, &self.folder, "blobs/").await
    }

    /// Nothing is left half-written where uploads arrive (this run's
    /// folder for them is empty).
    fn nothing_incoming(&self) -> bool {
        let Ok(runs) = std::fs::read_dir(self.folder.join("incoming")) else {
            return true;
        };
        runs.flatten()
            .all(|run| std::fs::read_dir(run.path()).map_or(true, |files| files.count() == 0))
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// The caller's upload token and read token for its room.
async fn tokens(client: &mut Client) -> (String, String) {
    client.send(ClientFrame::UploadToken).await;
    until(client, |frame| match frame {
        ServerFrame::UploadToken { token, read, .. } => Some((token, read.expect("read token"))),
        _ => None,
    })
    .await
}

/// `POST /files` of `bytes` as `name`, with the upload id `id`.
async fn upload(addr: SocketAddr, token: &str, id: &str, name: &str, bytes: &[u8]) -> Answer {
    let path = format!("/files?upload={id}&name={name}");
    let bearer = format!("Bearer {token}");
    request(addr, "POST", &path, &[("Authorization", &bearer)], bytes).await
}

/// An upload that must be taken: its attachment.
async fn uploaded(addr: SocketAddr, token: &str, id: &str, name: &str, bytes: &[u8]) -> Attachment {
    let answer = upload(addr, token, id, name, bytes).await;
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).expect("an attachment")
}

/// `GET` of a file path (with the read token, if any) and extra headers.
async fn download(
    addr: SocketAddr,
    path: &str,
    read: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    let path = match read {
        Some(token) => format!("{path}?t={token}"),
        None => path.to_owned(),
    };
    request(addr, "GET", &path, headers, b"").await
}

/// Posts a message with `files` and returns it as the room got it.
async fn post_files(
    client: &mut Client,
    caption: &str,
    files: &[&Attachment],
) -> chat_shared::ChatMessage {
    client
        .send(ClientFrame::Message {
            text: caption.into(),
            client_id: Some(format!(
                "m-{}",
                files.first().map_or("none", |file| file.id.as_str())
            )),
            reply_to: None,
            attachments: files.iter().map(|file| file.id.clone()).collect(),
        })
        .await;
    until(client, |frame| match frame {
        ServerFrame::Message(message) if !message.attachments.is_empty() => Some(message),
        _ => None,
    })
    .await
}

/// A message of `text` (or none) with `file`, answering nothing.
fn message_with(file: &Attachment, text: &str) -> ClientFrame {
    ClientFrame::Message {
        text: text.into(),
        client_id: None,
        reply_to: None,
        attachments: vec![file.id.clone()],
    }
}

/// Message `id` as the newest history page shows it to `client`.
async fn history_message(client: &mut Client, id: u64) -> chat_shared::ChatMessage {
    client
        .send(ClientFrame::History {
            before: None,
            limit: Some(10),
            around: None,
        })
        .await;
    let page = until(client, |frame| match frame {
        ServerFrame::History { messages, .. } => Some(messages),
        _ => None,
    })
    .await;
    page.into_iter()
        .find(|message| message.id == id)
        .expect("in the history")
}

/// The error `client` is answered with next.
async fn error(client: &mut Client) -> ErrorCode {
    until(client, |frame| match frame {
        ServerFrame::Error { code, .. } => Some(code),
        _ => None,
    })
    .await
}

/// A PNG of `width`×`height`, a gradient (so it does not compress away).
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode a png");
    out.into_inner()
}

/// A JPEG of `width`×`height` whose EXIF says where it was taken, with
/// latitude rationals that are easy to find in the bytes.
fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode a jpeg");
    let jpeg = out.into_inner();
    let mut with = jpeg[..2].to_vec(); // SOI
    with.extend_from_slice(&exif_app1());
    with.extend_from_slice(&jpeg[2..]);
    with
}

/// The latitude's degrees numerator in the EXIF below: 0x0BADC0DE.
const GPS_MARK: [u8; 4] = [0xDE, 0xC0, 0xAD, 0x0B];

/// An APP1 EXIF segment (little-endian TIFF): IFD0 with a GPS IFD
/// pointer; the GPS IFD with GPSLatitudeRef "N" and GPSLatitude.
fn exif_app1() -> Vec<u8> {
    let mut tiff: Vec<u8> = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    // IFD0 at 8: one entry, GPSInfo (0x8825, LONG) -> 26.
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x8825u16.to_le_bytes());
    tiff.extend_from_slice(&4u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&26u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
                                                 // GPS IFD at 26: two entries, then the rationals at 26 + 2 + 24 + 4 = 56.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes()); // GPSLatitudeRef, ASCII, 2
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&2u32.to_le_bytes());
    tiff.extend_from_slice(b"N\0\0\0");
    tiff.extend_from_slice(&2u16.to_le_bytes()); // GPSLatitude, RATIONAL, 3
    tiff.extend_from_slice(&5u16.to_le_bytes());
    tiff.extend_from_slice(&3u32.to_le_bytes());
    tiff.extend_from_slice(&56u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for (numerator, denominator) in [(u32::from_le_bytes(GPS_MARK), 1u32), (30, 1), (15, 1)] {
        tiff.extend_from_slice(&numerator.to_le_bytes());
        tiff.extend_from_slice(&denominator.to_le_bytes());
    }
    let mut segment = vec![0xFF, 0xE1];
    let length = u16::try_from(2 + 6 + tiff.len()).expect("small");
    segment.extend_from_slice(&length.to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    segment
}

/// A PNG that says it is 100000×100000: a decompression bomb.
fn png_bomb() -> Vec<u8> {
    let mut bytes = png(8, 8);
    // IHDR's width and height are at 16..24; its CRC at 29..33.
    bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn uploads_without_a_good_token_or_within_limits_are_refused_and_leave_nothing() {
    let setup = Setup::start_with(|config| {
        config.files.max_upload = 4000;
        config.files.upload_quota = 7000;
    })
    .await;
    let addr = setup.server.addr;
    let mut alice = setup.server.joined("alice", "general", Some(ALICE)).await;
    let (token, _) = tokens(&mut alice).await;
    let small = vec![7u8; 3000];
    // No token, a forged one, one for nothing.
    for bad in ["", "not-a-token", "eyJ4Ijoi.AAAA"] {
        let answer = upload(addr, bad, "u-1", "a.bin", &small).await;
        assert_eq!(
            (answer.status, answer.error_code().as_str()),
            (401, "bad_token"),
            "{bad:?}"
        );
    }
    // Too big: refused before a byte is read.
    let answer = upload(addr, &token, "u-2", "big.bin", &vec![1u8; 4001]).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (413, "too_large")
    );
    // The hourly quota: 3000 + 3000 fit, 1001 more does not.
    uploaded(addr, &token, "u-3", "one.bin", &small).await;
    uploaded(addr, &token, "u-4", "two.bin", &[8u8; 3000]).await;
    let answer = upload(addr, &token, "u-5", "three.bin", &[9u8; 1001]).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (429, "over_quota")
    );
    assert!(answer.json()["message"]
        .as_str()
        .unwrap_or_default()
        .contains("hour"));
    // A bad upload id.
    let answer = upload(addr, &token, "bad%20id!", "x.bin", &small).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (400, "bad_request")
    );
    assert_eq!(setup.stored().await, 2);
    assert!(setup.nothing_incoming());
}

#[tokio::test]
async fn uploads_of_one_name_at_once_share_its_quota() {
    let setup = Setup::start_with(|config| config.files.upload_quota = 5000).await;
    let addr = setup.server.addr;
    let mut alice = setup.server.joined("alice", "general", Some(ALICE)).await;
    let (token, _) = tokens(&mut alice).await;
    // The first is on its way in: half its body sent.
    let mut first = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /files?upload=u-1&name=first.bin HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 3000\r\nConnection: close\r\n\r\n"
    );
    first.write_all(head.as_bytes()).await.expect("head");
    first.write_all(&[1u8; 1500]).await.expect("half");
    // A second of the same name: its bytes would not fit beside the
    // first's, which nothing has stored yet. (Until the server has read
    // the first's head the second would fit, so the second is sent cut
    // short, which keeps nothing, until it is refused for the quota.)
    until_true(|| async {
        let mut second = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "POST /files?upload=u-2&name=second.bin HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 3000\r\nConnection: close\r\n\r\n"
        );
        second.write_all(head.as_bytes()).await.expect("head");
        let _ = second.write_all(&[2u8; 10]).await;
        let _ = second.shutdown().await;
        let answer = read_answer(second).await;
        answer.status == 429 && answer.error_code() == "over_quota"
    })
    .await;
    // The first ends and is kept; the second was not.
    first.write_all(&[1u8; 1500]).await.expect("rest");
    let answer = read_answer(first).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(setup.stored().await, 1);
    // A small one still fits beside it.
    uploaded(addr, &token, "u-3", "small.bin", &[3u8; 1000]).await;
}

#[tokio::test]
async fn an_upload_token_runs_out() {
    let setup = Setup::start_with(|config| {
        config.files.upload_token_lifetime = Duration::from_secs(1);
    })
    .await;
    let mut alice = setup.server.joined("alice", "general", Some(ALICE)).await;
    let (token, _) = tokens(&mut alice).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let answer = upload(setup.server.addr, &token, "u-1", "late.bin", &[1u8; 10]).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (401, "expired_token")
    );
    // A new one works.
    let (token, _) = tokens(&mut alice).await;
    uploaded(setup.server.addr, &token, "u-1", "late.bin", &[1u8; 10]).await;
}

#[tokio::test]
async fn past_the_storage_cap_uploads_are_refused() {
    let setup = Setup::start_with(|config| config.files.files_quota = 5000).await;
    let addr = setup.server.addr;
    let mut alice = setup.server.joined("alice", "general", Some(ALICE)).await;
    let (token, _) = tokens(&mut alice).await;
    uploaded(addr, &token, "u-1", "one.bin", &[1u8; 3000]).await;
    let answer = upload(addr, &token, "u-2", "two.bin", &[2u8; 3000]).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (507, "storage_full")
    );
    assert_eq!(setup.stored().await, 1);
}

#[tokio::test]
async fn what_a_file_is_comes_from_its_bytes_and_bombs_and_cut_uploads_are_refused() {
    let setup = Setup::start().await;
    let addr = setup.server.addr;
    let mut alice = setup.server.joined("alice", "general", Some(ALICE)).await;
    let (token, _) = tokens(&mut alice).await;
    // HTML named like a PNG is stored as bytes to download, never shown.
    let html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>";
    let file = uploaded(addr, &token, "u-1", "cat.png", html).await;
    assert_eq!(file.content_type, "application/octet-stream");
    assert!(file.thumbs.is_empty() && file.width.is_none());
    let answer = download(addr, &file.path(), None, &[]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, html);
    assert_eq!(answer.header("content-type"), "application/octet-stream");
    assert!(answer
        .header("content-disposition")
        .starts_with("attachment;"));
    assert_eq!(answer.header("x-content-type-options"), "nosniff");
    assert_eq!(
        answer.header("content-security-policy"),
        "default-src 'none'; sandbox"
    );
    // A decompression bomb: refused, not decoded.
    let answer = upload(addr, &token, "u-2", "bomb.png", &png_bomb()).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (422, "bad_image")
    );
    // Garbage that starts like a PNG.
    let mut broken = png(64, 64);
    broken.truncate(60);
    let answer = upload(addr, &token, "u-3", "broken.png", &broken).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (422, "bad_image")
    );
    // An upload cut off halfway: nothing is kept.
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /files?upload=u-4&name=cut.bin HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 200000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&[5u8; 100_000]).await.expect("half");
    stream.shutdown().await.expect("cut");
    let answer = read_answer(stream).await;
    assert!(answer.status == 400 || answer.status == 0, "{answer:?}");
    // The others are not disturbed, and only the HTML file is stored.
    uploaded(addr, &token, "u-5", "after.bin", b"still here").await;
    until_true(|| async { setup.nothing_incoming() }).await;
    assert_eq!(setup.stored().await, 2);
}

/// Waits until `check` holds.
async fn until_true<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened");
}

#[tokio::test]
async fn images_get_thumbnails_lose_their_location_and_are_stored_once() {
    let setup = Setup::start().await;
    let addr = setup.server.addr;
    let mut alice = setup.server.joined("alice", "general", Some(ALICE)).await;
    let (token, _) = tokens(&mut alice).await;
    let wide = png(2000, 1000);
    let photo = uploaded(addr, &token, "u-1", "wide.png", &wide).await;
    assert_eq!(photo.content_type, "image/png");
    assert_eq!((photo.width, photo.height), (Some(2000), Some(1000)));
    assert_eq!(photo.thumbs, [320, 1280]);
    assert!(photo.preview.is_some());
    for (size, height) in [(320, 160), (1280, 640)] {
        let answer = download(
            addr,
            &chat_shared::files::thumb_path(&photo.id, size),
            None,
            &[],
        )
        .await;
        assert_eq!(answer.status, 200);
        let thumb = image::load_from_memory(&answer.body).expect("a thumbnail");
        assert_eq!((thumb.width(), thumb.height()), (size, height));
        assert!(answer.header("content-type").starts_with("image/"));
        assert!(answer.header("content-disposition").starts_with("inline;"));
    }
    // The same bytes again: a second upload, one stored content.
    let again = uploaded(addr, &token, "u-2", "copy.png", &wide).await;
    assert_ne!(again.id, photo.id);
    assert_eq!(again.thumbs, photo.thumbs);
    // A resend of the same upload is the first one.
    let resent = uploaded(addr, &token, "u-2", "copy.png", &wide).await;
    assert_eq!(resent, again);
    assert_eq!(setup.stored().await, 1);
    // Where a photo was taken is gone before anyone can download it.
    let located = jpeg_with_gps(40, 20);
    assert!(located.windows(4).any(|window| window == GPS_MARK));
    let clean = uploaded(addr, &token, "u-3", "beach.jpg", &located).await;
    let answer = download(addr, &clean.path(), None, &[]).await;
    assert_eq!(answer.status, 200);
    assert!(
        !answer.body.windows(4).any(|window| window == GPS_MARK),
        "GPS left in the file"
    );
    assert_eq!(clean.size, answer.body.len() as u64);
    let decoded = image::load_from_memory(&answer.body).expect("still a JPEG");
    assert_eq!((decoded.width(), decoded.height()), (40, 20));
    assert_eq!(answer.header("content-type"), "image/jpeg");
    assert!(answer.header("cache-control").contains("immutable"));
    assert!(!answer.header("etag").is_empty());
    // Revalidation.
    let etag = answer.header("etag").to_owned();
    let answer = download(addr, &clean.path(), None, &[("If-None-Match", &etag)]).await;
    assert_eq!(answer.status, 304);
}

#[tokio::test]
async fn downloads_answer_byte_ranges() {
    let setup = Setup::start().await;
    let addr = setup.server.addr;
    let mut alice = setup.server.joined("alice", "general", Some(ALICE)).await;
    let (token, _) = tokens(&mut alice).await;
    let bytes: Vec<u8> = (0..100_000u32).map(|n| (n % 253) as u8).collect();
    let file = uploaded(addr, &token, "u-1", "video.bin", &bytes).await;
    let whole = download(addr, &file.path(), None, &[]).await;
    assert_eq!((whole.status, whole.body.len()), (200, bytes.len()));
    assert_eq!(whole.header("accept-ranges"), "bytes");
    for (asked, range) in [
        ("bytes=0-9", 0..10),
        ("bytes=50000-50099", 50_000..50_100),
        ("bytes=99990-", 99_990..100_000),
        ("bytes=-5", 99_995..100_000),
    ] {
        let answer = download(addr, &file.path(), None, &[("Range", asked)]).await;
        assert_eq!(answer.status, 206, "{asked}");
        assert_eq!(answer.body, bytes[range.start..range.end], "{asked}");
        assert_eq!(
            answer.header("content-range"),
            format!("bytes {}-{}/100000", range.start, range.end - 1)
        );
    }
    let answer = download(addr, &file.path(), None, &[("Range", "bytes=100000-")]).await;
    assert_eq!(
        (answer.status, answer.header("content-range")),
        (416, "bytes */100000")
    );
    let answer = download(addr, &format!("/files/{}/x", "0".repeat(32)), None, &[]).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (404, "not_found")
    );
    let answer = download(addr, "/files/../../etc/passwd", None, &[]).await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn a_file_goes_out_with_its_message_once_and_old_clients_get_a_link() {
    let setup = Setup::start().await;
    let addr = setup.server.addr;
    let mut alice = setup.server.joined("alice", "general", Some(ALICE)).await;
    let mut bob = setup.server.joined("bob", "general", Some(BOB)).await;
    let (token, _) = tokens(&mut alice).await;
    let photo = uploaded(addr, &token, "u-1", "sea.png", &png(400, 300)).await;
    let doc = uploaded(addr, &token, "u-2", "notes.txt", b"plain notes").await;
    assert_eq!(doc.content_type, "text/plain");
    let sent = post_files(&mut alice, "look", &[&photo, &doc]).await;
    assert_eq!(sent.attachments, [photo.clone(), doc.clone()]);
    assert_eq!(sent.text, text_with_links("look", &sent.attachments));
    assert!(sent.text.contains(&photo.path()));
    let seen = until(&mut bob, |frame| match frame {
        ServerFrame::Message(message) if !message.attachments.is_empty() => Some(message),
        _ => None,
    })
    .await;
    assert_eq!(seen.attachments, sent.attachments);
    assert_eq!(
        chat_shared::files::caption(&seen.text, &seen.attachments),
        "look"
    );
    // A file goes out once; bob cannot send alice's upload.
    alice.send(message_with(&photo, "")).await;
    assert_eq!(error(&mut alice).await, ErrorCode::AttachmentNotFound);
    let mine = uploaded(addr, &token, "u-3", "mine.png", &png(10, 10)).await;
    bob.send(message_with(&mine, "stolen")).await;
    assert_eq!(error(&mut bob).await, ErrorCode::AttachmentNotFound);
    // Nor from another room: the upload was to general.
    let mut elsewhere = setup.server.joined("alice", "random", Some(ALICE)).await;
    elsewhere.send(message_with(&mine, "")).await;
    assert_eq!(error(&mut elsewhere).await, ErrorCode::AttachmentNotFound);
    // The history shows the files too.
    let stored = history_message(&mut bob, sent.id).await;
    assert_eq!(stored.attachments, sent.attachments);
}

#[tokio::test]
async fn a_dms_files_are_the_members_alone() {
    let setup = Setup::start().await;
    let addr = setup.server.addr;
    let mut alice = setup.server.joined("alice", "general", Some(ALICE)).await;
    let mut bob = setup.server.joined("bob", "general", Some(BOB)).await;
    let mut carol = setup.server.joined("carol", "general", Some(CAROL)).await;
    alice
        .send(ClientFrame::OpenDm {
            with: vec!["bob".into()],
        })
        .await;
    let dm = until(&mut alice, |frame| match frame {
        ServerFrame::Dm { room, .. } => Some(room),
        _ => None,
    })
    .await;
    let mut alice_dm = setup.server.joined("alice", &dm, Some(ALICE)).await;
    let (token, alice_read) = tokens(&mut alice_dm).await;
    let secret = uploaded(addr, &token, "u-1", "secret.png", &png(50, 50)).await;
    post_files(&mut alice_dm, "for bob", &[&secret]).await;
    // Without a token, with another room's, with a forged one: refused.
    let (_, carol_read) = tokens(&mut carol).await;
    for (read, code) in [
        (None, "bad_token"),
        (Some(carol_read.as_str()), "wrong_room"),
        (Some("x.y"), "bad_token"),
    ] {
        for path in [
            secret.path(),
            chat_shared::files::thumb_path(&secret.id, 320),
        ] {
            let answer = download(addr, &path, read, &[]).await;
            assert_eq!(
                (answer.status, answer.error_code().as_str()),
                (403, code),
                "{path} {read:?}"
            );
        }
    }
    // carol cannot get into the DM to get its token.
    let mut intruder = setup.server.connect().await;
    intruder
        .send(ClientFrame::Join {
            username: "carol".into(),
            room: Some(dm.clone()),
            since: None,
            resume: None,
            join_code: None,
            author_key: Some(CAROL.into()),
            link_code: None,
            device: None,
        })
        .await;
    assert_eq!(error(&mut intruder).await, ErrorCode::Forbidden);
    // The members can, each with the DM's token.
    let mut bob_dm = setup.server.joined("bob", &dm, Some(BOB)).await;
    let (_, bob_read) = tokens(&mut bob_dm).await;
    for read in [&alice_read, &bob_read] {
        let answer = download(addr, &secret.path(), Some(read), &[]).await;
        assert_eq!(answer.status, 200);
    }
    let _ = &mut bob;
}

#[tokio::test]
async fn deleting_a_message_deletes_the_files_nothing_else_has() {
    let setup = Setup::start().await;
    let addr = setup.server.addr;
    let mut alice = setup.server.joined("alice", "general", Some(ALICE)).await;
    let (token, _) = tokens(&mut alice).await;
    let shared_bytes = png(30, 30);
    let first = uploaded(addr, &token, "u-1", "a.png", &shared_bytes).await;
    let second = uploaded(addr, &token, "u-2", "b.png", &shared_bytes).await;
    let own = uploaded(addr, &token, "u-3", "c.txt", b"only here").await;
    let one = post_files(&mut alice, "one", &[&first, &own]).await;
    post_files(&mut alice, "two", &[&second]).await;
    assert_eq!(setup.stored().await, 2);
    alice
        .send(ClientFrame::Delete {
            id: one.id,
            client_id: None,
        })
        .await;
    until(&mut alice, |frame| match frame {
        ServerFrame::MessageDeleted(deleted) if deleted.target == one.id => Some(()),
        _ => None,
    })
    .await;
    for gone in [&first, &own] {
        let answer = download(addr, &gone.path(), None, &[]).await;
        assert_eq!(answer.status, 404, "{}", gone.name);
    }
    let kept = download(addr, &second.path(), None, &[]).await;
    assert_eq!((kept.status, kept.body), (200, shared_bytes));
    // The text file's bytes are deleted.
    until_true(|| async { setup.stored().await == 1 }).await;
}

#[tokio::test]
async fn every_node_reaches_every_file() {
    let setup = Setup::start().await;
    let mut alice = setup.server.joined("alice", "general", Some(ALICE)).await;
    let (token, _) = tokens(&mut alice).await;
    let bytes = png(700, 500);
    let first = setup.server.next_addr();
    let second = setup.server.next_addr();
    let file = uploaded(first, &token, "u-1", "both.png", &bytes).await;
    for node in [first, second] {
        let answer = download(node, &file.path(), None, &[]).await;
        assert_eq!((answer.status, &answer.body), (200, &bytes));
        let thumb = download(
            node,
            &chat_shared::files::thumb_path(&file.id, 320),
            None,
            &[],
        )
        .await;
        assert_eq!(thumb.status, 200);
    }
}

/// Copies a folder as `rsync -a --exclude incoming/` would.
fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("make the copy");
    for entry in std::fs::read_dir(from).expect("read the folder").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            if entry.file_name() != "incoming" {
                copy_folder(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

#[tokio::test]
async fn a_backup_and_its_files_folder_restore_the_files() {
    let db = common::temp_db("files-backup.db");
    let folder = db.with_file_name(format!(
        "{}-files",
        db.file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default()
    ));
    let _ = std::fs::remove_dir_all(&folder);
    let config = Config {
        db: db.clone(),
        ..common::unthrottled()
    };
    let server = TestServer::start_with(config.clone()).await;
    let mut alice = server.joined("alice", "general", Some(ALICE)).await;
    let (token, _) = tokens(&mut alice).await;
    let bytes = png(500, 300);
    let photo = uploaded(server.addr, &token, "u-1", "kept.png", &bytes).await;
    let sent = post_files(&mut alice, "keep this", &[&photo]).await;
    // The files are beside the database by default.
    assert!(folder.join("blobs").is_dir(), "no {}", folder.display());
    let backup = db.with_file_name(format!(
        "{}-copy.db",
        db.file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default()
    ));
    let _ = std::fs::remove_file(&backup);
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .arg("backup")
        .arg(&backup)
        .env("CHAT_DB", &db)
        .env("CHAT_LOG", "warn")
        .output()
        .await
        .expect("run chat-server backup");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let copied = backup.with_extension("files");
    let _ = std::fs::remove_dir_all(&copied);
    copy_folder(&folder, &copied);
    drop(alice);
    server.stop().await.expect("stop");
    // The original folder is gone: only the copies are left.
    std::fs::remove_dir_all(&folder).expect("remove the files");
    let mut restored_config = Config {
        db: backup.clone(),
        ..common::unthrottled()
    };
    restored_config.files.files_dir = Some(copied.clone());
    let restored = TestServer::start_with(restored_config).await;
    let mut bob = restored.joined("bob", "general", Some(BOB)).await;
    let message = history_message(&mut bob, sent.id).await;
    assert_eq!(message.attachments, std::slice::from_ref(&photo));
    let answer = download(restored.addr, &photo.path(), None, &[]).await;
    assert_eq!((answer.status, answer.body), (200, bytes));
    let thumb = download(
        restored.addr,
        &chat_shared::files::thumb_path(&photo.id, 320),
        None,
        &[],
    )
    .await;
    assert_eq!(thumb.status, 200);
    restored.stop().await.expect("stop");
    let _ = std::fs::remove_dir_all(&copied);
    for path in [&db, &backup] {
        let _ = std::fs::remove_file(path);
    }
}
