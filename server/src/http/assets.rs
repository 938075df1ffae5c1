//! Serving the browser app that `trunk build` wrote.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::path::{Path, PathBuf};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

/// Files from `dir` (`.wasm` as `application/wasm`, compressed for clients
/// that accept it), and `index.html` for any other path without a file
/// extension, so that links into the app's own routes load the app. A file
/// with a `NAME.br` or `NAME.gz` beside it (`cargo xtask` writes them after
/// each trunk build) is sent as that, compressed once at the best setting;
/// any other is compressed on the fly.
pub(crate) fn router(dir: &Path) -> Router {
    let index = dir.join("index.html");
    let fallback = axum::routing::get(move |uri: Uri| serve_index(uri, index.clone()));
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(fallback);
    Router::new()
        .fallback_service(files)
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(cache_headers))
}

/// Cache-Control for a file of the app, as the built-in app has it
/// ([`super::embedded::cache_control`]); `index.html` sets its own.
async fn cache_headers(request: Request, next: Next) -> Response {
    let cache = super::embedded::cache_control(request.uri().path());
    let mut response = next.run(request).await;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    response
}

async fn serve_index(uri: Uri, index: PathBuf) -> Response {
    let last_segment = uri.path().rsplit('/').next().unwrap_or_default();
    if last_segment.contains('.') {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    }
    match tokio::fs::read(&index).await {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            html,
        )
            .into_response(),
        Err(error) => {
            tracing::error!("cannot read {}: {error}", index.display());
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The chat app has not been built: run `trunk build --release`",
            )
                .into_response()
        }
    }
}
