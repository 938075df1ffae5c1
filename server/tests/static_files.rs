//! The server hands out the browser app that trunk built.

mod common;
mod handshake;

use chat_server::Config;
use common::TestServer;
use handshake::{get, header};
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
