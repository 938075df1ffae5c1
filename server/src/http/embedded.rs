//! Serving the browser app built into the binary (the `embed` feature), so
//! that one copied file is a whole installation.
//!
//! `build.rs` compressed every file once at build time, so each request
//! only picks a variant: brotli, gzip or the original, by the client's
//! `Accept-Encoding`. trunk names its outputs after their content hash, so
//! those are cached for a year; everything else (above all `index.html`,
//! which names the current hashes) is revalidated with its ETag on every
//! load, which costs a 304 and no body.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One file of the trunk build, with its precompressed variants.
#[derive(Debug)]
pub(crate) struct EmbeddedFile {
    /// The path below the site root, without the leading `/`.
    pub path: &'static str,
    /// Decided at build time from the extension, as ServeDir would.
    pub content_type: &'static str,
    /// The file as trunk wrote it, for clients that accept no compression.
    pub identity: &'static [u8],
    /// Brotli (quality 11), only present where it made the file smaller.
    pub br: Option<&'static [u8]>,
    /// Gzip, for clients without brotli; likewise only if smaller.
    pub gz: Option<&'static [u8]>,
    /// Hex of (part of) the SHA-256 of `identity`: the ETag's core, the
    /// same for as long as the content is.
    pub hash: &'static str,
}

#[cfg(feature = "embed")]
mod generated {
    use super::EmbeddedFile;
    include!(concat!(env!("OUT_DIR"), "/embedded_app.rs"));
}

/// The app built into this binary, sorted by path.
#[cfg(feature = "embed")]
pub(crate) fn built_in() -> Option<&'static [EmbeddedFile]> {
    Some(generated::FILES)
}

/// `None`: a build without the `embed` feature serves `--static-dir` only.
#[cfg(not(feature = "embed"))]
pub(crate) fn built_in() -> Option<&'static [EmbeddedFile]> {
    None
}

/// The `index.html` of `files`, whose inline scripts the CSP must allow.
pub(crate) fn index_html(files: &[EmbeddedFile]) -> &str {
    find(files, INDEX)
        .and_then(|file| std::str::from_utf8(file.identity).ok())
        .unwrap_or_default()
}

const INDEX: &str = "index.html";

/// What trunk's content-hashed outputs may be cached as: they never change
/// under their name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The files of `files` by path, and `index.html` for any other path
/// without a file extension, as the `static_dir` mode does.
pub(crate) fn router(files: &'static [EmbeddedFile]) -> Router {
    Router::new().fallback_service(get(move |uri: Uri, headers: HeaderMap| async move {
        serve(files, &uri, &headers)
    }))
}

fn serve(files: &'static [EmbeddedFile], uri: &Uri, request: &HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let last_segment = path.rsplit('/').next().unwrap_or_default();
    let file = match find(files, path) {
        Some(file) => file,
        None if last_segment.contains('.') => {
            return (StatusCode::NOT_FOUND, "Not found").into_response()
        }
        None => match find(files, INDEX) {
            Some(index) => index,
            None => return (StatusCode::NOT_FOUND, "Not found").into_response(),
        },
    };

    let available = Available {
        br: file.br.is_some(),
        gzip: file.gz.is_some(),
    };
    let mut response = match revalidated(header_text(request, header::IF_NONE_MATCH), file.hash) {
        Some(cached) => {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            set(&mut response, header::ETAG, &etag(file.hash, cached));
            response
        }
        None => {
            let coding = negotiate(header_text(request, header::ACCEPT_ENCODING), available);
            let body = match coding {
                Coding::Br => file.br,
                Coding::Gzip => file.gz,
                Coding::Identity => None,
            }
            .unwrap_or(file.identity);
            let mut response = Body::from(body).into_response();
            set(&mut response, header::CONTENT_TYPE, file.content_type);
            if let Some(name) = coding.header_value() {
                set(&mut response, header::CONTENT_ENCODING, name);
            }
            set(&mut response, header::ETAG, &etag(file.hash, coding));
            response
        }
    };
    set(
        &mut response,
        header::CACHE_CONTROL,
        cache_control(file.path),
    );
    if available.br || available.gzip {
        // Caches between us and the client must key on the encoding too.
        set(&mut response, header::VARY, "accept-encoding");
    }
    response
}

/// How long a file of the app may be cached: a year for trunk's
/// content-hashed outputs, revalidated on every use for the rest
/// (`index.html`, `sw.js`, the manifest and icons), so a new version is
/// seen at the next load. Both ways of serving the app use it.
pub(crate) fn cache_control(path: &str) -> &'static str {
    if is_content_hashed(path) {
        IMMUTABLE
    } else {
        "no-cache"
    }
}

fn find<'a>(files: &'a [EmbeddedFile], path: &str) -> Option<&'a EmbeddedFile> {
    files
        .binary_search_by(|file| file.path.cmp(path))
        .ok()
        .map(|i| &files[i])
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn set(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// A content coding the server has a variant in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Br,
    Gzip,
    Identity,
}

impl Coding {
    fn header_value(self) -> Option<&'static str> {
        match self {
            Coding::Br => Some("br"),
            Coding::Gzip => Some("gzip"),
            Coding::Identity => None,
        }
    }

    /// What tells this variant's ETag from the others': each encoding is
    /// its own representation, with its own bytes.
    fn etag_suffix(self) -> &'static str {
        match self {
            Coding::Br => "-br",
            Coding::Gzip => "-gz",
            Coding::Identity => "",
        }
    }
}

/// Which compressed variants a file has.
#[derive(Debug, Clone, Copy)]
struct Available {
    br: bool,
    gzip: bool,
}

fn etag(hash: &str, coding: Coding) -> String {
    format!("\"{hash}{}\"", coding.etag_suffix())
}

/// The variant to send for `accept` (an `Accept-Encoding` value): the
/// acceptable one with the highest q, brotli winning ties because it is the
/// smallest; the original when the client names nothing we have, or ranks
/// `identity` above every compressed variant.
fn negotiate(accept: Option<&str>, available: Available) -> Coding {
    let Some(accept) = accept else {
        return Coding::Identity;
    };
    let quality = |names: &[&str]| -> Option<f32> {
        let mut wildcard = None;
        for (coding, q) in accept_entries(accept) {
            if names.iter().any(|name| coding.eq_ignore_ascii_case(name)) {
                return Some(q);
            }
            if coding == "*" {
                wildcard = Some(q);
            }
        }
        wildcard
    };
    let mut best: Option<(Coding, f32)> = None;
    for (coding, names, present) in [
        (Coding::Br, &["br"][..], available.br),
        (Coding::Gzip, &["gzip", "x-gzip"][..], available.gzip),
    ] {
        let q = quality(names).unwrap_or(0.0);
        if present && q > 0.0 && best.is_none_or(|(_, best_q)| q > best_q) {
            best = Some((coding, q));
        }
    }
    let identity = accept_entries(accept)
        .find(|(coding, _)| coding.eq_ignore_ascii_case("identity"))
        .map(|(_, q)| q);
    match (best, identity) {
        (Some((_, q)), Some(identity_q)) if identity_q > q => Coding::Identity,
        (Some((coding, _)), _) => coding,
        (None, _) => Coding::Identity,
    }
}

/// `(coding, q)` for each well-formed element of an `Accept-Encoding`
/// value; an element with a malformed q is left out rather than guessed.
fn accept_entries(accept: &str) -> impl Iterator<Item = (&str, f32)> {
    accept.split(',').filter_map(|element| {
        let mut parts = element.split(';');
        let coding = parts.next()?.trim();
        if coding.is_empty() {
            return None;
        }
        let mut q = 1.0;
        for parameter in parts {
            let (name, value) = parameter.split_once('=')?;
            if name.trim().eq_ignore_ascii_case("q") {
                q = value
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))?;
            }
        }
        Some((coding, q))
    })
}

/// Which of our variants the client already holds, by `If-None-Match`:
/// then it is told 304 and keeps it. Compared weakly, as RFC 9110 says for
/// this header; `*` names whatever it holds.
fn revalidated(if_none_match: Option<&str>, hash: &str) -> Option<Coding> {
    if_none_match?.split(',').find_map(|tag| {
        let tag = tag.trim();
        if tag == "*" {
            return Some(Coding::Identity);
        }
        let opaque = tag
            .strip_prefix("W/")
            .unwrap_or(tag)
            .strip_prefix('"')?
            .strip_suffix('"')?;
        let suffix = opaque.strip_prefix(hash)?;
        [Coding::Br, Coding::Gzip, Coding::Identity]
            .into_iter()
            .find(|coding| coding.etag_suffix() == suffix)
    })
}

/// The fewest hex digits a trunk hash is taken to have. Trunk prints its
/// 64-bit hash without zero padding, so one build in sixteen has 15 digits
/// (`chat-frontend-e0f6530596c7d1a_bg.wasm`), and fewer are possible; eight
/// leaves a real hash out once in four billion builds while a name like
/// `logo-cafe` still does not count.
const MIN_HASH_DIGITS: usize = 8;

/// Whether trunk put a content hash in this file's name
/// (`chat-frontend-1a2b3c4d5e6f7a8b_bg.wasm`, `main-1a2b3c4d5e6f7a8b.css`):
/// a new build is a new name, so the old one may be cached forever.
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        hash.len() >= MIN_HASH_DIGITS && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Available = Available {
        br: true,
        gzip: true,
    };

    #[test]
    fn brotli_is_preferred_then_gzip_then_the_original() {
        let pick = |accept| negotiate(Some(accept), BOTH);
        assert_eq!(pick("gzip, deflate, br, zstd"), Coding::Br);
        assert_eq!(pick("gzip"), Coding::Gzip);
        assert_eq!(pick("x-gzip"), Coding::Gzip);
        assert_eq!(pick("deflate"), Coding::Identity);
        assert_eq!(pick(""), Coding::Identity);
        assert_eq!(negotiate(None, BOTH), Coding::Identity);
        assert_eq!(pick("*"), Coding::Br);
        assert_eq!(pick("BR;Q=0.5"), Coding::Br);
    }

    #[test]
    fn q_values_rank_and_q_zero_refuses() {
        let pick = |accept| negotiate(Some(accept), BOTH);
        assert_eq!(pick("br;q=0, gzip"), Coding::Gzip);
        assert_eq!(pick("br;q=0.5, gzip;q=0.8"), Coding::Gzip);
        assert_eq!(pick("br;q=0.8, gzip;q=0.8"), Coding::Br);
        assert_eq!(pick("*;q=0"), Coding::Identity);
        assert_eq!(pick("gzip;q=0, *"), Coding::Br);
        assert_eq!(pick("br;q=0, gzip;q=0"), Coding::Identity);
        assert_eq!(pick("gzip;q=0.5, identity"), Coding::Identity);
        assert_eq!(pick("br;q=banana, gzip"), Coding::Gzip);
        assert_eq!(pick("br;q=2, gzip"), Coding::Gzip);
    }

    #[test]
    fn only_variants_that_exist_are_chosen() {
        let gzip_only = Available {
            br: false,
            gzip: true,
        };
        assert_eq!(negotiate(Some("br, gzip"), gzip_only), Coding::Gzip);
        let none = Available {
            br: false,
            gzip: false,
        };
        assert_eq!(negotiate(Some("br, gzip"), none), Coding::Identity);
    }

    #[test]
    fn if_none_match_matches_any_variant_of_the_same_content() {
        let hash = "0123abcd";
        assert_eq!(
            revalidated(Some("\"0123abcd\""), hash),
            Some(Coding::Identity)
        );
        assert_eq!(
            revalidated(Some("W/\"0123abcd-br\""), hash),
            Some(Coding::Br)
        );
        assert_eq!(
            revalidated(Some("\"other\", \"0123abcd-gz\""), hash),
            Some(Coding::Gzip)
        );
        assert_eq!(revalidated(Some("*"), hash), Some(Coding::Identity));
        assert_eq!(revalidated(Some("\"0123abcd-zz\""), hash), None);
        assert_eq!(revalidated(Some("\"0123abc\""), hash), None);
        assert_eq!(revalidated(Some("0123abcd"), hash), None);
        assert_eq!(revalidated(None, hash), None);
    }

    #[test]
    fn trunk_hashed_names_are_recognised() {
        assert!(is_content_hashed("chat-frontend-9f86d081884c7d65_bg.wasm"));
        assert!(is_content_hashed("chat-frontend-9f86d081884c7d65.js"));
        assert!(is_content_hashed("snippets/main-9f86d081884c7d65.css"));
        // A hash that starts with a zero nibble loses it.
        assert!(is_content_hashed("chat-frontend-e0f6530596c7d1a_bg.wasm"));
        assert!(!is_content_hashed("index.html"));
        assert!(!is_content_hashed("chat-frontend_bg.wasm"));
        assert!(!is_content_hashed("chat-frontend.js"));
        assert!(!is_content_hashed("logo-cafe.svg"));
    }

    static FILES: &[EmbeddedFile] = &[
        EmbeddedFile {
            path: "app-9f86d081884c7d65.js",
            content_type: "text/javascript",
            identity: b"the script",
            br: Some(b"br"),
            gz: None,
            hash: "aa",
        },
        EmbeddedFile {
            path: "index.html",
            content_type: "text/html; charset=utf-8",
            identity: b"<html></html>",
            br: None,
            gz: None,
            hash: "bb",
        },
    ];

    #[test]
    fn paths_map_to_files_and_app_routes_to_the_index() {
        let path_of = |uri: &'static str| {
            let response = serve(FILES, &Uri::from_static(uri), &HeaderMap::new());
            let etag = response.headers().get(header::ETAG).cloned();
            (response.status(), etag)
        };
        let index = (StatusCode::OK, Some(HeaderValue::from_static("\"bb\"")));
        assert_eq!(path_of("/"), index);
        assert_eq!(path_of("/r/general"), index);
        assert_eq!(path_of("/index.html"), index);
        assert_eq!(
            path_of("/app-9f86d081884c7d65.js"),
            (StatusCode::OK, Some(HeaderValue::from_static("\"aa\"")))
        );
        assert_eq!(path_of("/missing.js"), (StatusCode::NOT_FOUND, None));
        assert_eq!(index_html(FILES), "<html></html>");
    }
}
