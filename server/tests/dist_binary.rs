//! The one-file release: the binary `cargo xtask dist` builds (release, the
//! `embed` feature), copied alone into an empty folder and started there,
//! is a whole installation: the app with its CSP, compressed and cached
//! right, and the chat; and a `--static-dir` given on purpose still
//! overrides the app inside.
//!
//! It needs that release build, which the ordinary `cargo test` should not
//! wait for, so the test is ignored there; `cargo xtask test` builds the
//! binary and runs it with `--ignored` and `CHAT_DIST_BINARY` set, and then
//! a missing binary fails the test instead of skipping it.

mod common;
mod handshake;

use base64::Engine;
use common::process::ServerProcess;
use common::Client;
use handshake::{get_from, header};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The copied server, killed when dropped, and its folder, removed after
/// it (the server first), also when the test fails.
struct Installation {
    server: ServerProcess,
    dir: PathBuf,
}

impl Drop for Installation {
    fn drop(&mut self) {
        self.server.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The binary `cargo xtask dist` built, which `cargo xtask test` names.
fn dist_binary() -> PathBuf {
    let binary = std::env::var_os("CHAT_DIST_BINARY").map(PathBuf::from).expect(
        "CHAT_DIST_BINARY names the binary from `cargo xtask dist`; run this through `cargo xtask test`",
    );
    assert!(binary.is_file(), "{} is missing", binary.display());
    binary
}

/// A fresh, empty folder for one test.
fn empty_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chat-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the install folder");
    dir
}

/// Copies `binary` into the empty `dir` and starts it there, as a
/// self-hoster would: no `dist/` anywhere near, nothing but its database.
fn install_and_start(binary: &Path, dir: PathBuf, args: &[&str]) -> (Installation, SocketAddr) {
    let installed = dir.join("chat-server");
    // The tests run in parallel threads: a copy still open for writing in
    // one thread is inherited by another thread's fork, and exec then fails
    // with "Text file busy". One copy-and-start at a time avoids that.
    static COPY_AND_START: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let one_at_a_time = COPY_AND_START
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    std::fs::copy(binary, &installed).expect("copy the binary");
    let mut command = Command::new(&installed);
    command
        .current_dir(&dir)
        .args(["--addr", "127.0.0.1:0", "--db"])
        .arg(dir.join("chat.db"))
        .args(args)
        .env_remove("CHAT_STATIC_DIR")
        .env_remove("CHAT_DB")
        .env("CHAT_LOG", "info")
        .stderr(Stdio::inherit());
    let server = ServerProcess::start(command);
    drop(one_at_a_time);
    let addr = server.addr;
    (Installation { server, dir }, addr)
}

/// The text of the inline loader script trunk wrote into index.html.
fn inline_loader(html: &str) -> &str {
    let start = html
        .find("<script type=\"module\">")
        .expect("index.html has trunk's inline loader")
        + "<script type=\"module\">".len();
    let end = html[start..].find("</script>").expect("the loader ends") + start;
    &html[start..end]
}

/// The `/…_bg.wasm` path index.html loads.
fn wasm_path(html: &str) -> &str {
    let end = html.find("_bg.wasm").expect("index.html names the wasm") + "_bg.wasm".len();
    let start = html[..end].rfind('/').expect("an absolute path");
    &html[start..end]
}

#[tokio::test]
#[ignore = "needs the release binary with the app built in: `cargo xtask test` builds and runs it"]
async fn the_binary_alone_serves_the_app_and_the_chat() {
    let dir = empty_dir("one-binary");
    let (_installation, addr) = install_and_start(&dist_binary(), dir, &[]);

    // The page, with a CSP that lets its own loader run.
    let (status, headers, body) = get_from(addr, "/", &[]).await;
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type").starts_with("text/html"));
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    let html = String::from_utf8(body).expect("utf-8 html");
    let loader_hash = base64::engine::general_purpose::STANDARD
        .encode(Sha256::digest(inline_loader(&html).as_bytes()));
    let csp = header(&headers, "content-security-policy");
    assert!(
        csp.contains(&format!("'sha256-{loader_hash}'")),
        "the CSP allows the loader: {csp}"
    );

    // A reload revalidates index.html: 304, and still the loader's hash.
    let etag = header(&headers, "etag").to_owned();
    assert!(etag.starts_with('"'), "a strong ETag: {etag:?}");
    let (status, headers, body) = get_from(addr, "/", &[("If-None-Match", &etag)]).await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert!(header(&headers, "content-security-policy").contains(&loader_hash));
    // A route inside the app is the same page.
    let (status, _, routed) = get_from(addr, "/r/general", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(routed, html.as_bytes());

    // The wasm, in each encoding.
    let wasm = wasm_path(&html);
    let (status, headers, identity) = get_from(addr, wasm, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "application/wasm");
    assert_eq!(header(&headers, "content-encoding"), "");
    assert!(identity.starts_with(b"\0asm"), "an uncompressed module");
    let mut sizes = Vec::new();
    for (accept, encoding) in [
        ("br", "br"),
        ("gzip", "gzip"),
        ("gzip, deflate, br, zstd", "br"),
        ("br;q=0, gzip", "gzip"),
        ("deflate", ""),
    ] {
        let (status, headers, body) = get_from(addr, wasm, &[("Accept-Encoding", accept)]).await;
        assert_eq!(status, 200, "{accept}");
        assert_eq!(
            header(&headers, "content-type"),
            "application/wasm",
            "{accept}"
        );
        assert_eq!(header(&headers, "content-encoding"), encoding, "{accept}");
        assert_eq!(
            header(&headers, "vary").to_ascii_lowercase(),
            "accept-encoding",
            "{accept}"
        );
        assert_eq!(
            header(&headers, "cache-control"),
            "public, max-age=31536000, immutable",
            "{accept}"
        );
        match encoding {
            "gzip" => assert!(body.starts_with(&[0x1f, 0x8b]), "gzip magic"),
            "" => assert_eq!(body, identity),
            _ => assert!(
                body.len() < identity.len() && !body.starts_with(b"\0asm"),
                "br is compressed"
            ),
        }
        sizes.push((accept, body.len()));
    }
    eprintln!("wasm bytes by Accept-Encoding: {sizes:?}");

    // And the chat itself.
    let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("websocket handshake");
    let mut alice = Client { socket };
    assert_eq!(alice.join("alice").await, vec!["alice"]);
    alice.say("one file is enough").await;
    let message = alice.recv_message().await;
    assert_eq!(message.username, "alice");
    assert_eq!(message.text, "one file is enough");
}

#[tokio::test]
#[ignore = "needs the release binary with the app built in: `cargo xtask test` builds and runs it"]
async fn an_explicit_static_dir_still_wins_over_the_built_in_app() {
    let dir = empty_dir("one-binary-override");
    let app = dir.join("other-app");
    std::fs::create_dir_all(&app).expect("create the app folder");
    std::fs::write(app.join("index.html"), "<html>another build</html>").expect("write index");
    let app = app.to_str().expect("a UTF-8 temp path").to_owned();
    let (_installation, addr) = install_and_start(&dist_binary(), dir, &["--static-dir", &app]);

    let (status, _, body) = get_from(addr, "/", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body, b"<html>another build</html>");
}
