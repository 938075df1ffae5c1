//! The served app carries a Content-Security-Policy that lets the wasm app
//! run and nothing injected, plus the other security headers, and no
//! version banner.

mod common;
mod handshake;

use chat_server::Config;
use common::TestServer;
use handshake::{get, header};
use std::path::PathBuf;

/// trunk's loader script, as it appears inline in index.html.
const LOADER: &str = "\nimport init from '/app.js';\nawait init('/app_bg.wasm');\n";
/// `printf '%s' "$LOADER" | openssl sha256 -binary | base64`
const LOADER_SHA256: &str = "d8WH59M9YyBVZVs5Fj52uKuTiQOCuB6xIjeX3EZDV4A=";

fn app_dir(name: &str, index: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chat-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("index.html"), index).expect("write index");
    std::fs::write(dir.join("app.js"), "export default function(){}").expect("write js");
    dir
}

#[tokio::test]
async fn the_app_gets_a_csp_that_lets_only_its_own_code_run() {
    let index = format!(
        "<html><head><script src=\"/other.js\"></script>\
         <script type=\"module\">{LOADER}</script></head></html>"
    );
    let dir = app_dir("csp", &index);
    let server = TestServer::start_with(Config {
        static_dir: dir.clone(),
        ..Config::default()
    })
    .await;

    for path in ["/", "/some/app/route"] {
        let (status, headers, _) = get(&server, path).await;
        assert_eq!(status, 200, "{path}");
        let csp = header(&headers, "content-security-policy");
        for directive in [
            "default-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(
                csp.contains(directive),
                "{path}: {directive} missing in {csp}"
            );
        }
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src "))
            .expect("a script-src directive");
        assert_eq!(
            script_src,
            format!("script-src 'self' 'wasm-unsafe-eval' 'sha256-{LOADER_SHA256}'"),
            "only the loader may run inline, and no 'unsafe-inline' or 'unsafe-eval'"
        );
        let connect_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("connect-src "))
            .expect("a connect-src directive");
        assert_eq!(
            connect_src,
            format!("connect-src 'self' ws://{0} wss://{0}", server.addr)
        );
        // The installable app: its manifest and its service worker, from
        // here only.
        for directive in ["manifest-src 'self'", "worker-src 'self'"] {
            assert!(
                csp.split(';').map(str::trim).any(|d| d == directive),
                "{directive} in {csp}"
            );
        }
    }

    // A rebuilt app gets a policy for its new loader at once.
    std::fs::write(
        dir.join("index.html"),
        "<html><head><script>x</script></head><body>rebuilt</body></html>",
    )
    .expect("rewrite index");
    let (_, headers, _) = get(&server, "/").await;
    let csp = header(&headers, "content-security-policy");
    // printf 'x' | openssl sha256 -binary | base64
    assert!(
        csp.contains("'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE='"),
        "{csp}"
    );
    assert!(!csp.contains(LOADER_SHA256), "{csp}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn every_response_has_the_other_security_headers_and_no_banner() {
    let dir = app_dir("headers", "<html>app</html>");
    let server = TestServer::start_with(Config {
        static_dir: dir.clone(),
        ..Config::default()
    })
    .await;
    for path in ["/", "/app.js", "/missing.js", "/ws"] {
        let (_, headers, _) = get(&server, path).await;
        assert_eq!(
            header(&headers, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(header(&headers, "referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header(&headers, "x-frame-options"), "DENY", "{path}");
        assert!(
            !header(&headers, "content-security-policy").is_empty(),
            "{path}"
        );
        assert!(
            headers
                .iter()
                .all(|(name, _)| name != "server" && name != "x-powered-by"),
            "{path}: {headers:?}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A reload revalidates index.html: the browser keeps its cached copy and
/// applies the 304's headers, so the 304 must allow the loader too.
#[tokio::test]
async fn a_revalidated_index_keeps_the_loader_allowed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = app_dir(
        "csp-304",
        &format!("<script type=\"module\">{LOADER}</script>"),
    );
    let server = TestServer::start_with(Config {
        static_dir: dir.clone(),
        ..Config::default()
    })
    .await;
    let (_, headers, _) = get(&server, "/").await;
    let last_modified = header(&headers, "last-modified").to_owned();
    assert!(!last_modified.is_empty());

    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nIf-Modified-Since: {last_modified}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    assert!(response.starts_with("HTTP/1.1 304"), "{response}");
    assert!(
        response.contains(&format!("'sha256-{LOADER_SHA256}'")),
        "{response}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
