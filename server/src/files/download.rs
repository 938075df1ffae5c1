//! `GET /files/{id}/{name}` and `GET /files/{id}/thumb/{size}`: a file or
//! its thumbnail, to whoever may read its room.
//!
//! A DM's files, and every file on an invite-only server, need the room's
//! read token (`?t=`, from `upload_token`); a public room's file on an
//! open server needs only its unguessable path, as anyone may join and
//! read it anyway. The answer is safe whatever the bytes are: only the
//! raster image types are shown inline, everything else is an
//! attachment; `nosniff`; and a CSP that sandboxes the file and lets it
//! load nothing. It is cached for good (a path's content never changes)
//! and answers byte ranges, so video seeks and downloads resume.

use super::refusal::{files_off, not_found, Refusal};
use super::tokens::TokenError;
use super::{blob_key, thumb_key, Files};
use crate::history::files::Download;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chat_shared::files::{is_inline_image, is_valid_file_id, UploadErrorCode};
use chat_shared::is_dm_room;
use futures_util::StreamExt;
use std::ops::Range;
use std::sync::Arc;
use std::time::SystemTime;

/// What a file's answer may do in the browser: nothing.
const FILE_CSP: &str = "default-src 'none'; sandbox";

/// The handler of `GET /files/{id}/{*rest}`: `rest` is the file's name
/// (only for people and the saved file's name; any name works) or
/// `thumb/{size}`.
pub(crate) async fn download(
    State(state): State<Arc<AppState>>,
    Path((id, rest)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match answer(
        &state,
        &id,
        &rest,
        query.as_deref().unwrap_or_default(),
        &headers,
    )
    .await
    {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    }
}

async fn answer(
    state: &AppState,
    id: &str,
    rest: &str,
    query: &str,
    headers: &HeaderMap,
) -> Result<Response, Refusal> {
    let files = state.files.as_deref().ok_or_else(files_off)?;
    if !is_valid_file_id(id) {
        return Err(not_found());
    }
    let owned = id.to_owned();
    // The file and whether the server is open, in one trip to the store.
    let (found, open) = state
        .journal
        .people(move |store| Ok((store.download(&owned)?, store.join_code_admits(None)?)))
        .await
        .map_err(|_| Refusal::server_error())?;
    let found = found.ok_or_else(not_found)?;
    check_reader(files, &found, open, query)?;
    let thumb = match rest.strip_prefix("thumb/") {
        Some(size) => Some(
            size.parse::<u32>()
                .ok()
                .filter(|size| found.file.thumbs.contains(size))
                .ok_or_else(not_found)?,
        ),
        None => None,
    };
    let etag = format!(
        "\"{}{}\"",
        found.file.sha256,
        thumb.map(|size| format!("-{size}")).unwrap_or_default()
    );
    let mut response_headers = file_headers(&found, thumb, &etag);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag))
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().extend(response_headers);
        return Ok(response);
    }
    if let Some(size) = thumb {
        return thumbnail(files, &found, size, response_headers).await;
    }
    let key = blob_key(&found.file.sha256);
    let size = found.file.size;
    let range = match headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
    {
        Some(asked) => match parse_range(asked, size) {
            Ok(range) => range,
            Err(()) => {
                let mut response = Refusal::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    UploadErrorCode::BadRequest,
                    format!("That range is not within the file's {size} bytes"),
                )
                .into_response();
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return Ok(response);
            }
        },
        None => None,
    };
    let (_, stream) = files
        .blobs
        .get(&key, range.clone())
        .await
        .map_err(|error| {
            tracing::error!(%key, %error, "a stored file could not be read");
            match error {
                super::blobs::BlobError::NotFound => not_found(),
                _ => Refusal::server_error(),
            }
        })?;
    let body = Body::from_stream(
        stream.map(|chunk| chunk.map_err(|error| std::io::Error::other(error.to_string()))),
    );
    let status = match &range {
        Some(range) => {
            let value = format!("bytes {}-{}/{size}", range.start, range.end - 1);
            if let Ok(value) = HeaderValue::from_str(&value) {
                response_headers.insert(header::CONTENT_RANGE, value);
            }
            StatusCode::PARTIAL_CONTENT
        }
        None => StatusCode::OK,
    };
    let length = range.map_or(size, |range| range.end - range.start);
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    let mut response = (status, body).into_response();
    response.headers_mut().extend(response_headers);
    Ok(response)
}

/// A thumbnail, whole (they are small, and no one seeks in one), with
/// its type read from its bytes.
async fn thumbnail(
    files: &super::Files,
    found: &Download,
    size: u32,
    mut headers: HeaderMap,
) -> Result<Response, Refusal> {
    let key = thumb_key(&found.file.sha256, size);
    let (_, mut stream) = files.blobs.get(&key, None).await.map_err(|error| {
        tracing::error!(%key, %error, "a thumbnail could not be read");
        not_found()
    })?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.map_err(|_| Refusal::server_error())?);
    }
    if let Ok(value) = HeaderValue::from_str(super::media::sniff(&bytes)) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.remove(header::ACCEPT_RANGES);
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().extend(headers);
    Ok(response)
}

/// Refuses a reader who may not read the file's room: a DM's file, or
/// any on a server that is not `open` (invite-only), needs the room's
/// read token.
fn check_reader(files: &Files, found: &Download, open: bool, query: &str) -> Result<(), Refusal> {
    if open && !is_dm_room(&found.room) {
        return Ok(());
    }
    let token = url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "t")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let now = super::tokens::unix_secs(SystemTime::now());
    match files.tokens.check_read(&token, now) {
        Ok(room) if room == found.room => Ok(()),
        Ok(_) => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            UploadErrorCode::WrongRoom,
            "That read token is for another room",
        )),
        Err(TokenError::Expired) => Err(Refusal::token(TokenError::Expired)),
        Err(TokenError::Bad) => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            UploadErrorCode::BadToken,
            "This file's room needs its read token (?t=, from upload_token)",
        )),
    }
}

/// The headers every answer with the file carries.
fn file_headers(found: &Download, thumb: Option<u32>, etag: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let content_type = match thumb {
        Some(_) => "image/jpeg".to_owned(), // replaced by the thumbnail's own
        None if found.file.content_type == "text/plain" => "text/plain; charset=utf-8".to_owned(),
        None => found.file.content_type.clone(),
    };
    let inline = thumb.is_some() || is_inline_image(&found.file.content_type);
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        percent(&found.name)
    );
    for (name, value) in [
        (header::CONTENT_TYPE, content_type.as_str()),
        (header::CONTENT_DISPOSITION, disposition.as_str()),
        (header::CONTENT_SECURITY_POLICY, FILE_CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        ),
        (header::ACCEPT_RANGES, "bytes"),
        (header::ETAG, etag),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    headers
}

/// One `Range: bytes=…` of a file of `size` bytes: `Ok(None)` to send it
/// whole (several ranges, or a unit we do not serve, may be answered
/// with the whole file), `Err` when it lies outside the file.
fn parse_range(asked: &str, size: u64) -> Result<Option<Range<u64>>, ()> {
    let Some(spec) = asked.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(())?;
    let (start, end) = (start.trim(), end.trim());
    let range = if start.is_empty() {
        let suffix: u64 = end.parse().map_err(|_| ())?;
        if suffix == 0 {
            return Err(());
        }
        size.saturating_sub(suffix)..size
    } else {
        let start: u64 = start.parse().map_err(|_| ())?;
        let end = match end {
            "" => size,
            end => end
                .parse::<u64>()
                .map_err(|_| ())?
                .saturating_add(1)
                .min(size),
        };
        start..end
    };
    if range.start >= range.end || range.start >= size {
        return Err(());
    }
    Ok(Some(range))
}

/// RFC 5987 percent-encoding for `filename*`.
fn percent(name: &str) -> String {
    name.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_as_browsers_ask_for_them() {
        assert_eq!(parse_range("bytes=0-99", 1000), Ok(Some(0..100)));
        assert_eq!(parse_range("bytes=900-", 1000), Ok(Some(900..1000)));
        assert_eq!(parse_range("bytes=-10", 1000), Ok(Some(990..1000)));
        assert_eq!(parse_range("bytes=990-5000", 1000), Ok(Some(990..1000)));
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ok(None));
        assert_eq!(parse_range("items=0-1", 1000), Ok(None));
        assert_eq!(parse_range("bytes=1000-", 1000), Err(()));
        assert_eq!(parse_range("bytes=5-2", 1000), Err(()));
        assert_eq!(parse_range("bytes=-0", 1000), Err(()));
        assert_eq!(parse_range("bytes=x-", 1000), Err(()));
    }
}
