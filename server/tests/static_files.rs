//! The server hands out the browser app that trunk built.

mod common;
mod handshake;

use chat_server::Config;
use common::TestServer;
use handshake::{get, get_from, header};
use std::path::{Path, PathBuf};

fn dist_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist");
    assert!(
        dir.join("index.html").is_file(),
        "{} has no trunk build: run `cargo xtask test` (it builds the app first) or `trunk build --release`",
        dir.display()
    );
    dir
}

#[tokio::test]
async fn serves_the_real_trunk_build_with_the_right_types() {
    let dist = dist_dir();
    let server = TestServer::start_with(Config {
        static_dir: dist.clone(),
        ..Config::default()
    })
    .await;

    let (status, headers, body) = get(&server, "/").await;
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type").starts_with("text/html"));
    let html = String::from_utf8(body).expect("utf-8 html");
    assert!(html.contains("<html"), "{html}");

    let mut seen_wasm = false;
    let mut seen_js = false;
    for entry in std::fs::read_dir(&dist).expect("read dist") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        let expected = if name.ends_with(".wasm") {
            seen_wasm = true;
            "application/wasm"
        } else if name.ends_with(".js") {
            seen_js = true;
            "text/javascript"
        } else {
            continue;
        };
        let (status, headers, body) = get(&server, &format!("/{name}")).await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(header(&headers, "content-type"), expected, "{name}");
        assert_eq!(
            body.len() as u64,
            std::fs::metadata(dist.join(&name)).expect("size").len()
        );
        assert!(html.contains(&name), "index.html refers to {name}");
    }
    assert!(
        seen_wasm && seen_js,
        "the build has a .wasm and its .js glue"
    );
}

/// The installable app's files (issue 24): the manifest as a manifest, the
/// service worker as a script, both revalidated at every load so a new
/// version is seen; trunk's hashed files cached for a year.
#[tokio::test]
async fn the_manifest_worker_and_icons_are_served_for_an_installable_app() {
    let dist = dist_dir();
    let server = TestServer::start_with(Config {
        static_dir: dist.clone(),
        ..Config::default()
    })
    .await;
    let (_, _, body) = get(&server, "/").await;
    let html = String::from_utf8(body).expect("utf-8 html");
    assert!(
        html.contains(r#"<link rel="manifest" href="/manifest.webmanifest""#),
        "{html}"
    );

    let (status, headers, body) = get(&server, "/manifest.webmanifest").await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        "application/manifest+json"
    );
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    let manifest: serde_json::Value = serde_json::from_slice(&body).expect("manifest is JSON");
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["start_url"], "/");
    let icons = manifest["icons"].as_array().expect("icons");
    for (size, purpose) in [
        ("192x192", "any"),
        ("512x512", "any"),
        ("192x192", "maskable"),
        ("512x512", "maskable"),
    ] {
        let icon = icons
            .iter()
            .find(|icon| icon["sizes"] == size && icon["purpose"] == purpose)
            .unwrap_or_else(|| panic!("a {purpose} icon of {size}"));
        let src = icon["src"].as_str().expect("src");
        let (status, headers, png) = get(&server, src).await;
        assert_eq!(status, 200, "{src}");
        assert_eq!(header(&headers, "content-type"), "image/png", "{src}");
        // The PNG's own header says its size.
        let width = u32::from_be_bytes(png[16..20].try_into().expect("IHDR width"));
        assert_eq!(format!("{width}x{width}"), size, "{src}");
    }

    let (status, headers, body) = get(&server, "/sw.js").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "text/javascript");
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    assert!(String::from_utf8_lossy(&body).contains("addEventListener(\"fetch\""));

    let hashed = std::fs::read_dir(&dist)
        .expect("read dist")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().to_string())
        .find(|name| name.ends_with("_bg.wasm"))
        .expect("a hashed wasm");
    let (_, headers, _) = get(&server, &format!("/{hashed}")).await;
    assert_eq!(
        header(&headers, "cache-control"),
        "public, max-age=31536000, immutable"
    );
}

#[tokio::test]
async fn the_wasm_goes_out_as_the_brotli_file_written_beside_it() {
    let dist = dist_dir();
    let wasm = std::fs::read_dir(&dist)
        .expect("read dist")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().to_string())
        .find(|name| name.ends_with(".wasm"))
        .expect("the build has a .wasm");
    let brotli = std::fs::read(dist.join(format!("{wasm}.br"))).unwrap_or_else(|_| {
        panic!("no {wasm}.br beside the wasm: `cargo xtask test` writes it after trunk's build")
    });
    let server = TestServer::start_with(Config {
        static_dir: dist.clone(),
        ..Config::default()
    })
    .await;

    let path = format!("/{wasm}");
    let accepts = [("accept-encoding", "gzip, deflate, br")];
    let (status, headers, body) = get_from(server.addr, &path, &accepts).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), "br");
    assert_eq!(header(&headers, "content-type"), "application/wasm");
    assert!(body == brotli, "the wasm was not sent as {wasm}.br");
}

#[tokio::test]
async fn each_client_gets_the_variant_it_accepts_or_the_plain_file() {
    let dir = std::env::temp_dir().join(format!("chat-variants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let plain = "body { color: red }\n".repeat(200);
    std::fs::write(dir.join("index.html"), "<html>the app</html>").expect("write index");
    std::fs::write(dir.join("app.css"), &plain).expect("write css");
    // Not real gzip: the bytes show which file was sent.
    std::fs::write(dir.join("app.css.gz"), "the gzip variant").expect("write gz");
    let server = TestServer::start_with(Config {
        static_dir: dir.clone(),
        ..Config::default()
    })
    .await;

    let (_, headers, body) =
        get_from(server.addr, "/app.css", &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&headers, "content-encoding"), "gzip");
    assert_eq!(body, b"the gzip variant");
    assert_eq!(header(&headers, "content-type"), "text/css");

    let (_, headers, body) = get_from(server.addr, "/app.css", &[]).await;
    assert_eq!(header(&headers, "content-encoding"), "");
    assert_eq!(body, plain.as_bytes());

    // No brotli file: compressed on the fly, not the gzip file mislabelled.
    let (_, headers, body) = get_from(server.addr, "/app.css", &[("accept-encoding", "br")]).await;
    assert_eq!(header(&headers, "content-encoding"), "br");
    assert!(body.len() < plain.len() && body != b"the gzip variant");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn unknown_app_paths_get_index_html_and_missing_assets_get_404() {
    let dir = std::env::temp_dir().join(format!("chat-static-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("index.html"), "<html>the app</html>").expect("write index");
    std::fs::write(dir.join("app.css"), "body{}").expect("write css");
    let server = TestServer::start_with(Config {
        static_dir: dir.clone(),
        ..Config::default()
    })
    .await;

    for path in ["/", "/r/general", "/some/deep/route"] {
        let (status, headers, body) = get(&server, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            header(&headers, "content-type").starts_with("text/html"),
            "{path}"
        );
        assert_eq!(body, b"<html>the app</html>", "{path}");
    }
    let (status, headers, _) = get(&server, "/app.css").await;
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type").starts_with("text/css"));
    let (status, _, _) = get(&server, "/missing.js").await;
    assert_eq!(status, 404);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_plain_request_to_the_socket_address_is_told_to_upgrade() {
    let server = TestServer::start().await;
    let (status, _, body) = get(&server, "/ws").await;
    assert_eq!(status, 426);
    assert_eq!(body, b"This address is for WebSocket connections");
}
