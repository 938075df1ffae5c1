//! Issue 25 in a real browser, the app's half: Alice attaches a picture
//! with the paper clip (the file input's files set through CDP
//! `DOM.setFileInputFiles`, a PNG written to a temporary file), its chip
//! shows the upload's progress (her upload throttled so it can be seen),
//! she sends it with a caption while it is still uploading, and both she
//! and Bob see the thumbnail under the caption (not the link lines old
//! clients read). A second picture comes by a paste into the message box
//! (a real `paste` event carrying the PNG, as a copied screenshot does).
//! Bob opens them in the lightbox: the focus is inside, arrow keys and a
//! horizontal swipe go through the conversation's pictures, Escape and the
//! close button close it and the focus goes back to the thumbnail. A file
//! chosen and sent while Alice's browser is offline goes once the network
//! is back, uploaded once and sent once. Then on a phone: nothing wider
//! than the screen, with the pictures and with the lightbox open.

use std::time::{Duration, Instant};

use chat_e2e::{
    alice_and_bob, browser_test, message_line, screenshot_dir, ChatClient, Device, Driver, Options,
    Page, TestServer,
};
use chat_shared::{ClientFrame, HistoryItem, ServerFrame};
use fantoccini::key::Key;
use serde_json::json;

/// A `width` x `height` PNG of one colour, uncompressed (stored deflate
/// blocks): a real image the server decodes and makes thumbnails of, with
/// no image crate in the tests.
fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    // Each row: filter type 0 (none), then its pixels: `rgb` lit from
    // above and a little from the left, so a screenshot shows a picture
    // rather than a flat block.
    let mut raw = Vec::with_capacity((width as usize * 3 + 1) * height as usize);
    for y in 0..height {
        raw.push(0);
        for x in 0..width {
            let light = 70 + 30 * (height - y) / height + 10 * (width - x) / width;
            for channel in rgb {
                raw.push((u32::from(channel) * light / 100).min(255) as u8);
            }
        }
    }
    // zlib: header, stored blocks of at most 65535 bytes, Adler-32.
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (n, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(n + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Chooses the file at `path` in `page`'s paper-clip input, as the
/// picker would.
async fn pick_file(page: &Page, path: &std::path::Path) {
    let found = page
        .cdp(
            "Runtime.evaluate",
            json!({ "expression": "document.getElementById('attach-input')" }),
        )
        .await;
    let object_id = found["result"]["objectId"]
        .as_str()
        .expect("the composer has its file input")
        .to_owned();
    page.cdp(
        "DOM.setFileInputFiles",
        json!({ "files": [path.to_string_lossy()], "objectId": object_id }),
    )
    .await;
}

/// Pastes a file named `name` of type `type_` with `bytes` into `page`'s
/// message box: a real `paste` event whose clipboard data carries the
/// file, as a copied screenshot does. Returns whether the page took it
/// (prevented the paste's default).
async fn paste_file(page: &Page, name: &str, type_: &str, bytes: &[u8]) -> serde_json::Value {
    // One char per byte (U+0000 to U+00FF): JSON carries it as it is.
    let latin1: String = bytes.iter().copied().map(char::from).collect();
    page.js_with(
        "const [name, type, latin1] = arguments; \
         const data = new DataTransfer(); \
         data.items.add(new File([Uint8Array.from(latin1, c => c.charCodeAt(0))], name, { type })); \
         const box = document.getElementById('composer-input'); \
         box.focus(); \
         const paste = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }); \
         box.dispatchEvent(paste); \
         return paste.defaultPrevented;",
        vec![json!(name), json!(type_), json!(latin1)],
    )
    .await
}

/// Notes every `POST /files` the page makes from now on in
/// `window.__uploads`: its upload id, and once it ends, its status and
/// the attachment id answered.
const COUNT_UPLOADS: &str = "if (window.__uploads) return true; \
     const log = []; \
     Object.defineProperty(window, '__uploads', { value: log }); \
     const open = XMLHttpRequest.prototype.open; \
     XMLHttpRequest.prototype.open = function (method, url, ...rest) { \
       const u = new URL(url, location.href); \
       if (u.pathname === '/files') { \
         const entry = { upload: u.searchParams.get('upload'), status: null, id: null }; \
         log.push(entry); \
         this.addEventListener('loadend', () => { \
           entry.status = this.status; \
           try { entry.id = JSON.parse(this.responseText).id; } catch (_) {} \
         }); \
       } \
       return open.call(this, method, url, ...rest); \
     }; \
     return true;";

/// Alice's browser goes offline; she chooses a file with the paper clip
/// and sends it with a caption. Nothing reaches Bob until the network is
/// back; then the message arrives once, with its one file, uploaded once
/// (every try with the same upload id, one stored) and in the server's
/// history once.
async fn a_file_chosen_offline_goes_once_after_the_reconnect(
    alice: &Page,
    bob: &Page,
    server: &TestServer,
) {
    const CAPTION: &str = "notes from the train";
    const NOTES: &str = "1. tickets\n2. the sea\n3. sand\n";
    let folder = tempfile::tempdir().expect("a folder for the notes");
    let notes = folder.path().join("notes.txt");
    std::fs::write(&notes, NOTES).expect("the notes are written");
    alice.js(COUNT_UPLOADS).await;

    alice.set_network_offline(true).await;
    alice
        .wait_until(
            "Alice's page knows it is offline",
            "const s = document.querySelector('#composer-status'); \
             return s !== null && s.classList.contains('offline');",
        )
        .await;
    let chosen = Instant::now();
    pick_file(alice, &notes).await;
    alice
        .wait_until(
            "the chip shows, not uploaded",
            "const c = document.querySelector('#file-chips .file-chip'); \
             return !!c && c.textContent.includes('notes.txt') && c.dataset.stage !== 'done';",
        )
        .await;
    alice.type_in_composer(CAPTION).await;
    alice.click("#send-button").await;
    alice
        .wait_until(
            "the message waits for its file",
            "const w = document.querySelectorAll('.file-chips.waiting .file-chip'); \
             return w.length === 1 && w[0].dataset.stage !== 'done' \
               && !document.querySelector('#file-chips');",
        )
        .await;
    // A while offline: nothing went anywhere.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let uploads = alice.js("return window.__uploads").await;
    let tries = uploads.as_array().expect("the upload log");
    assert!(
        tries.iter().all(|e| e["status"] != json!(201)),
        "an upload was stored while offline: {uploads}"
    );
    // An offline page does not spin: a try, then one every few seconds.
    let allowed = 2 + chosen.elapsed().as_secs() / 5;
    assert!(
        tries.len() as u64 <= allowed,
        "{} tries in {:?} offline (at most {allowed})",
        tries.len(),
        chosen.elapsed()
    );
    let copies = format!(
        "return [...document.querySelectorAll('#timeline li.msg .text')] \
           .filter(t => t.textContent === {}).length",
        json!(CAPTION)
    );
    assert_eq!(
        bob.js(&copies).await,
        json!(0),
        "Bob got the message while Alice was offline"
    );

    alice.set_network_offline(false).await;
    let line = message_line(CAPTION);
    for page in [alice, bob] {
        page.wait_until_for(
            "the message arrives with its file once the network is back",
            &format!("const li = {line}; return !!li && !!li.querySelector('.file-card a.file-download');"),
            Duration::from_secs(30),
        )
        .await;
    }
    alice
        .wait_until(
            "Alice's waiting chip went with the message",
            "return document.querySelectorAll('.file-chip').length === 0",
        )
        .await;
    // Time for a second copy to arrive, if one were coming.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(bob.js(&copies).await, json!(1), "Bob sees the message once");
    assert_eq!(
        bob.js(
            "return [...document.querySelectorAll('#timeline .file-card')] \
                  .map(c => c.querySelector('.file-name').textContent)"
        )
        .await,
        json!(["notes.txt"]),
        "Bob sees one file card, the notes"
    );
    // The link downloads what Alice chose.
    let downloaded = bob
        .js(&format!(
            "const a = {line}.querySelector('a.file-download'); \
             return fetch(a.href).then(r => r.text());"
        ))
        .await;
    assert_eq!(downloaded, json!(NOTES), "the link downloads the notes");

    // Uploaded once: every try had the one upload id, one was stored.
    let uploads = alice.js("return window.__uploads").await;
    let tries = uploads.as_array().expect("the upload log");
    let ids: std::collections::BTreeSet<&str> =
        tries.iter().filter_map(|e| e["upload"].as_str()).collect();
    assert_eq!(
        ids.len(),
        1,
        "the tries had different upload ids: {uploads}"
    );
    let stored: Vec<_> = tries.iter().filter(|e| e["status"] == json!(201)).collect();
    assert_eq!(stored.len(), 1, "not stored exactly once: {uploads}");

    // The server's history holds it once, with that one attachment.
    let (auditor, welcome) = ChatClient::join_with(server, &ClientFrame::join("Auditor")).await;
    let ServerFrame::Welcome(chat_shared::Welcome { history, .. }) = welcome else {
        panic!("not a welcome: {welcome:?}");
    };
    let kept: Vec<Vec<String>> = history
        .iter()
        .filter_map(|item| match item {
            HistoryItem::Message(m) if m.text.starts_with(CAPTION) => {
                Some(m.attachments.iter().map(|a| a.id.clone()).collect())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        kept,
        [vec![stored[0]["id"]
            .as_str()
            .expect("the stored upload's id")
            .to_owned()]],
        "the server's history does not hold the message once with its one file"
    );
    auditor.leave().await;
}

/// Whether the message with caption `caption` shows `count` loaded
/// thumbnails.
fn thumbnails_loaded(caption: &str, count: usize) -> String {
    format!(
        "const li = [...document.querySelectorAll('#timeline li.msg')] \
           .find(li => li.querySelector('.text') && li.querySelector('.text').textContent === {}); \
         if (!li) return false; \
         const imgs = [...li.querySelectorAll('.file-image img')]; \
         return imgs.length === {count} && imgs.every(i => i.complete && i.naturalWidth > 0);",
        json!(caption)
    )
}

/// The lightbox's "n of m".
const POSITION: &str = "const p = document.querySelector('#lightbox .lightbox-position'); \
     return p ? p.textContent : null;";

/// Presses `key` on whatever has the focus, through WebDriver (real key
/// events).
async fn press(page: &Page, key: Key) {
    let focused = page
        .client()
        .active_element()
        .await
        .expect("something has the focus");
    focused
        .send_keys(&key.to_string())
        .await
        .expect("the key is pressed");
}

/// A horizontal swipe across the lightbox's picture, `dx` pixels.
async fn swipe(page: &Page, dx: i32) {
    page.js(&format!(
        "const s = document.querySelector('#lightbox .lightbox-stage'); \
         const r = s.getBoundingClientRect(); const x = r.left + r.width / 2, y = r.top + r.height / 2; \
         const ev = (type, cx) => new PointerEvent(type, {{ clientX: cx, clientY: y, bubbles: true, \
           pointerType: 'touch', isPrimary: true }}); \
         s.dispatchEvent(ev('pointerdown', x)); s.dispatchEvent(ev('pointerup', x + ({dx}))); \
         return true;"
    ))
    .await;
}

/// Nothing on the page is wider than the screen.
const NO_SIDEWAYS_SCROLL: &str =
    "return document.documentElement.scrollWidth <= window.innerWidth + 1;";

#[test]
fn pictures_picked_or_pasted_reach_both_and_the_lightbox_and_a_file_sent_offline_goes_once() {
    browser_test(|| async {
        let files = tempfile::tempdir().expect("a folder for the server's files");
        let dir = files.path().to_path_buf();
        let driver = Driver::start();
        let server = TestServer::start_tuned(move |config| {
            config.files.files_dir = Some(dir);
        })
        .await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;

        let pictures = tempfile::tempdir().expect("a folder for the pictures");
        let sea = pictures.path().join("sea view.png");
        std::fs::write(&sea, png(800, 600, [40, 120, 200])).expect("the PNG is written");

        // A slow uplink, so the upload's progress can be seen.
        alice.cdp("Network.enable", json!({})).await;
        alice
            .cdp(
                "Network.emulateNetworkConditions",
                json!({ "offline": false, "latency": 20, "downloadThroughput": -1,
                        "uploadThroughput": 300_000 }),
            )
            .await;
        pick_file(&alice, &sea).await;
        alice
            .wait_until(
                "Alice's chip shows the upload going",
                "const c = document.querySelector('#file-chips .file-chip'); \
                 return !!c && c.dataset.stage === 'uploading' \
                   && !!c.querySelector('progress') \
                   && c.textContent.includes('sea view.png');",
            )
            .await;
        alice
            .screenshot(&screenshot_dir().join("files-chip-uploading.png"))
            .await;
        // Sent while still uploading: it goes once the file is up.
        alice.type_in_composer("the sea").await;
        alice.click("#send-button").await;
        alice
            .cdp(
                "Network.emulateNetworkConditions",
                json!({ "offline": false, "latency": 0, "downloadThroughput": -1,
                        "uploadThroughput": -1 }),
            )
            .await;
        for page in [&alice, &bob] {
            page.wait_until("the picture is shown", &thumbnails_loaded("the sea", 1))
                .await;
        }
        // The caption alone: the link lines are for clients without files.
        let text = bob
            .js("return [...document.querySelectorAll('#timeline li.msg .text')].map(t => t.textContent).join('|')")
            .await;
        assert!(
            !text.as_str().unwrap_or_default().contains("📎"),
            "the link lines show: {text}"
        );
        assert_eq!(
            alice
                .js("return document.querySelectorAll('.file-chip').length")
                .await,
            json!(0),
            "the chips went with the message"
        );

        // A second picture, pasted into the message box (a copied
        // screenshot), without a caption.
        assert_eq!(
            paste_file(
                &alice,
                "sand.png",
                "image/png",
                &png(600, 800, [220, 190, 120])
            )
            .await,
            json!(true),
            "the app did not take the pasted file (the paste was not prevented)"
        );
        alice
            .wait_until(
                "the pasted picture's chip shows with its preview, and is uploaded",
                "const c = document.querySelector('#file-chips .file-chip'); \
                 return !!c && c.textContent.includes('sand.png') \
                   && !!c.querySelector('img.chip-thumb') && c.dataset.stage === 'done';",
            )
            .await;
        assert_eq!(
            alice
                .js("return document.querySelector('#composer-input').value")
                .await,
            json!(""),
            "the pasted file went into the box as text"
        );
        alice.click("#send-button").await;
        bob.wait_until(
            "Bob sees two pictures, the pasted one second",
            "const imgs = [...document.querySelectorAll('#timeline .file-image img')]; \
             return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0) \
               && imgs[1].alt === 'sand.png' && imgs[1].naturalHeight > imgs[1].naturalWidth;",
        )
        .await;

        // The lightbox, by keyboard.
        bob.click("#timeline .file-image").await;
        bob.wait_until(
            "the lightbox is open with the focus inside",
            "const d = document.querySelector('#lightbox[role=dialog][aria-modal=true]'); \
             return !!d && d.contains(document.activeElement) \
               && d.querySelector('.lightbox-image').complete;",
        )
        .await;
        assert_eq!(bob.js(POSITION).await, json!("1 of 2"));
        bob.screenshot(&screenshot_dir().join("files-lightbox.png"))
            .await;
        press(&bob, Key::Right).await;
        bob.wait_until(
            "the arrow shows the next picture",
            "const p = document.querySelector('#lightbox .lightbox-position'); \
             return !!p && p.textContent === '2 of 2';",
        )
        .await;
        // Tab stays inside the dialog.
        for _ in 0..4 {
            press(&bob, Key::Tab).await;
        }
        assert_eq!(
            bob.js("return document.querySelector('#lightbox').contains(document.activeElement)")
                .await,
            json!(true),
            "Tab left the lightbox"
        );
        press(&bob, Key::Escape).await;
        bob.wait_until(
            "Escape closes it and the focus is back on the thumbnail",
            "return !document.querySelector('#lightbox') \
               && document.activeElement.classList.contains('file-image');",
        )
        .await;

        // By swipes, and the close button.
        bob.click("#timeline .file-image").await;
        bob.wait_until(
            "the lightbox is open",
            "return !!document.querySelector('#lightbox')",
        )
        .await;
        swipe(&bob, -200).await;
        bob.wait_until(
            "a swipe to the left shows the next picture",
            "const p = document.querySelector('#lightbox .lightbox-position'); \
             return !!p && p.textContent === '2 of 2';",
        )
        .await;
        swipe(&bob, 200).await;
        bob.wait_until(
            "a swipe to the right shows the previous one",
            "const p = document.querySelector('#lightbox .lightbox-position'); \
             return !!p && p.textContent === '1 of 2';",
        )
        .await;
        bob.click("#lightbox .lightbox-close").await;
        bob.wait_until(
            "the close button closes it, the focus back on the thumbnail",
            "return !document.querySelector('#lightbox') \
               && document.activeElement.classList.contains('file-image');",
        )
        .await;

        a_file_chosen_offline_goes_once_after_the_reconnect(&alice, &bob, &server).await;

        // A phone: the pictures and the lightbox fit the screen.
        let phone = driver
            .browser(Options {
                device: Device::Phone,
                ..Options::default()
            })
            .await;
        phone.emulate(Device::Phone).await;
        phone.open(&server.url()).await;
        phone.join("Carol").await;
        phone
            .wait_until("Carol sees the pictures", &thumbnails_loaded("the sea", 1))
            .await;
        phone
            .wait_until("no sideways scroll", NO_SIDEWAYS_SCROLL)
            .await;
        phone.click("#timeline .file-image").await;
        phone
            .wait_until(
                "the lightbox fills the phone's screen",
                "const d = document.querySelector('#lightbox'); if (!d) return false; \
                 const r = d.getBoundingClientRect(); \
                 return r.left === 0 && r.top === 0 && r.width === window.innerWidth \
                   && document.documentElement.scrollWidth <= window.innerWidth + 1;",
            )
            .await;
        phone
            .screenshot(&screenshot_dir().join("files-lightbox-phone.png"))
            .await;
        press(&phone, Key::Escape).await;
        phone
            .wait_until("closed", "return !document.querySelector('#lightbox')")
            .await;
        bob.screenshot(&screenshot_dir().join("files-desktop.png"))
            .await;

        phone.close().await;
        bob.close().await;
        alice.close().await;
        server.stop().await;
    });
}
