//! How the browser app's files are compressed once, at build time, instead
//! of on every request: shared by `build.rs` (the `embed` feature keeps the
//! variants inside the binary) and by `cargo xtask` (which writes them
//! beside trunk's output as `NAME.br` and `NAME.gz`, for the server's
//! `--static-dir` mode to send as they are). Both include this file with
//! `#[path]`, so the rule lives in one place.

use std::io::Write as _;

/// Brotli's largest standard window (16 MiB): the wasm is several MiB,
/// and every browser that speaks brotli decodes it.
const BROTLI_WINDOW_BITS: i32 = 24;

/// Makes one compressed variant of a file's bytes.
pub(crate) type Compressor = fn(&[u8]) -> std::io::Result<Vec<u8>>;

/// The compressed variants made of each compressible file: the suffix
/// its name takes and how it is made.
pub(crate) const VARIANTS: [(&str, Compressor); 2] = [("br", brotli), ("gz", gzip)];

/// The types trunk's output and the files it copies can have; the same
/// the server's ServeDir mode sends for them.
pub(crate) fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("");
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "ico" => "image/x-icon",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Images and fonts in these formats are compressed already.
pub(crate) fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || matches!(
            content_type,
            "application/wasm"
                | "application/json"
                | "application/manifest+json"
                | "application/xml"
                | "image/svg+xml"
                | "image/x-icon"
        )
}

/// Brotli at its best quality.
fn brotli(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: BROTLI_WINDOW_BITS,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

/// Gzip at its best level, for clients without brotli.
fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Whether `path` is a variant written beside its original (`app.wasm.br`
/// next to `app.wasm`), which is served or embedded as that file's, not as
/// a file of its own.
pub(crate) fn is_variant(path: &std::path::Path) -> bool {
    let is_compressed = path
        .extension()
        .is_some_and(|ext| VARIANTS.iter().any(|(suffix, _)| ext == *suffix));
    is_compressed && path.with_extension("").is_file()
}
