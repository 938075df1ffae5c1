//! Security headers on every response, above all a Content-Security-Policy
//! that lets the WebAssembly app run and little else.
//!
//! trunk puts a small inline `<script type="module">` into `index.html` to
//! start the app. Instead of allowing every inline script
//! (`'unsafe-inline'`), the policy names the SHA-256 of each inline script
//! of the `index.html` being served (re-read whenever the file changes;
//! hashed once for the app built into the binary), so an injected script
//! cannot run while a fresh build always can.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// What the header middleware needs: the hashes of the served
/// `index.html`'s inline scripts, or where to read and re-read them.
#[derive(Debug)]
pub(crate) struct SecurityHeaders {
    index: Index,
}

#[derive(Debug)]
enum Index {
    /// A file that a rebuild may replace while the server runs, and its
    /// hashes as last read.
    File {
        path: PathBuf,
        cached: Mutex<Option<InlineScripts>>,
    },
    /// Hashed once: the page built into the binary never changes.
    Fixed(String),
}

#[derive(Debug, Clone)]
struct InlineScripts {
    /// The file's modification time and size when it was hashed, to notice
    /// a rebuild.
    stamp: (Option<SystemTime>, u64),
    /// `'sha256-…'` sources, each preceded by a space.
    sources: String,
}

impl SecurityHeaders {
    /// For the `index.html` in `static_dir`, followed across rebuilds.
    pub(crate) fn new(static_dir: &Path) -> Arc<Self> {
        Arc::new(Self {
            index: Index::File {
                path: static_dir.join("index.html"),
                cached: Mutex::new(None),
            },
        })
    }

    /// For an `index.html` that cannot change while the server runs: the
    /// one built into the binary.
    pub(crate) fn for_fixed_index(html: &str) -> Arc<Self> {
        Arc::new(Self {
            index: Index::Fixed(hash_sources(html)),
        })
    }

    /// The hash sources for `index.html`'s inline scripts; empty if there is
    /// no index.
    async fn inline_script_sources(&self) -> String {
        let (path, cached) = match &self.index {
            Index::Fixed(sources) => return sources.clone(),
            Index::File { path, cached } => (path, cached),
        };
        let lock = || cached.lock().unwrap_or_else(PoisonError::into_inner);
        let Ok(metadata) = tokio::fs::metadata(path).await else {
            return String::new();
        };
        let stamp = (metadata.modified().ok(), metadata.len());
        if let Some(cached) = lock().as_ref().filter(|c| c.stamp == stamp) {
            return cached.sources.clone();
        }
        let Ok(html) = tokio::fs::read_to_string(path).await else {
            return String::new();
        };
        let sources = hash_sources(&html);
        *lock() = Some(InlineScripts {
            stamp,
            sources: sources.clone(),
        });
        sources
    }
}

/// `'sha256-…'` sources for the inline scripts of `html`, each preceded by
/// a space.
fn hash_sources(html: &str) -> String {
    inline_scripts(html)
        .map(|script| format!(" 'sha256-{}'", sha256_base64(script)))
        .collect()
}

/// Tells browsers to use only HTTPS here for a year, so no later visit
/// starts on plain HTTP where it could be intercepted.
pub(crate) fn hsts() -> tower_http::set_header::SetResponseHeaderLayer<HeaderValue> {
    tower_http::set_header::SetResponseHeaderLayer::overriding(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    )
}

/// Middleware: adds the security headers to every response.
pub(crate) async fn add(
    State(policy): State<Arc<SecurityHeaders>>,
    request: Request,
    next: Next,
) -> Response {
    let socket_sources = websocket_sources(request.headers());
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    // A 304 has no Content-Type, but the browser applies its headers to the
    // cached index.html: without the hashes a reload would be a blank page.
    let revalidated = response.status() == StatusCode::NOT_MODIFIED;
    let script_sources = if is_html || revalidated {
        policy.inline_script_sources().await
    } else {
        String::new()
    };
    let csp = format!(
        "default-src 'self'; \
         script-src 'self' 'wasm-unsafe-eval'{script_sources}; \
         style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; media-src 'self' blob:; \
         connect-src 'self'{socket_sources}; \
         manifest-src 'self'; worker-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    let headers = response.headers_mut();
    // A file's answer carries its own, stricter policy (`crate::files`).
    if let (Ok(csp), false) = (
        HeaderValue::from_str(&csp),
        headers.contains_key(header::CONTENT_SECURITY_POLICY),
    ) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // For browsers that predate `frame-ancestors`.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // No banner naming the software or its version.
    headers.remove(header::SERVER);
    response
}

/// ` ws://host wss://host` for the host the page was loaded from, so that
/// browsers whose `'self'` does not cover WebSockets can connect; empty if
/// the `Host` header is missing or holds anything but a host name.
fn websocket_sources(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if plain {
        format!(" ws://{host} wss://{host}")
    } else {
        String::new()
    }
}

/// The text of every `<script>` element without a `src`, as the browser
/// hashes it.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let lower = html.to_ascii_lowercase();
    let mut scripts = Vec::new();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<script").map(|i| i + from) {
        let Some(tag_end) = lower[start..].find('>').map(|i| i + start) else {
            break;
        };
        let Some(close) = lower[tag_end..].find("</script").map(|i| i + tag_end) else {
            break;
        };
        let has_src = lower[start..tag_end].contains(" src=");
        if !has_src {
            scripts.push(&html[tag_end + 1..close]);
        }
        from = close;
    }
    scripts.into_iter()
}

/// Base64 of the SHA-256 of `text`, the form CSP hash sources take.
pub(crate) fn sha256_base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_inline_scripts_only() {
        let html = "<head><script src=\"/a.js\"></script>\
                    <SCRIPT type=\"module\">\nimport init from '/x.js';\n</SCRIPT>\
                    <script>one()</script></head>";
        let scripts: Vec<&str> = inline_scripts(html).collect();
        assert_eq!(scripts, vec!["\nimport init from '/x.js';\n", "one()"]);
    }

    #[test]
    fn hashes_have_the_csp_form() {
        // echo -n "alert('Hello, world.');" | openssl sha256 -binary | base64
        assert_eq!(
            sha256_base64("alert('Hello, world.');"),
            "qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng="
        );
    }

    #[test]
    fn odd_host_headers_add_no_sources() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::HOST,
            HeaderValue::from_static("chat.example.com:8765"),
        );
        assert_eq!(
            websocket_sources(&headers),
            " ws://chat.example.com:8765 wss://chat.example.com:8765"
        );
        headers.insert(header::HOST, HeaderValue::from_static("x; script-src *"));
        assert_eq!(websocket_sources(&headers), "");
    }
}
