//! `POST /files?upload=ID&name=NAME`, with `Authorization: Bearer TOKEN`
//! and the file as the body: one upload, answered with its attachment
//! (201) or a JSON error (docs/protocol.md, "Files").
//!
//! The body is streamed to a temporary file while its SHA-256 is worked
//! out and its length counted; nothing holds it whole in memory. Only a
//! complete, checked file is stored: a refusal or a cut-off upload leaves
//! nothing behind (the temporary file goes with [`Incoming`]).

use super::media::{self, DecodeLimits};
use super::refusal::{files_off, Refusal};
use super::tokens::TokenError;
use super::{blob_key, thumb_key, Files};
use crate::history::files::{NewUpload, StoredFile};
use crate::AppState;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chat_shared::files::{clean_file_name, is_inline_image, UploadErrorCode};
use chat_shared::is_valid_client_id;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The longest an image may take to check and make thumbnails of.
const PREPARE_TIMEOUT: Duration = Duration::from_secs(30);
/// The bytes content sniffing looks at.
const SNIFF_BYTES: usize = 512;

/// The handler of `POST /files`.
pub(crate) async fn upload(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match receive(&state, query.as_deref().unwrap_or_default(), &headers, body).await {
        Ok(attachment) => (StatusCode::CREATED, axum::Json(attachment)).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn receive(
    state: &AppState,
    query: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<chat_shared::files::Attachment, Refusal> {
    let files = state.files.as_deref().ok_or_else(files_off)?;
    let now = SystemTime::now();
    let grant = bearer(headers)
        .ok_or(TokenError::Bad)
        .and_then(|token| {
            files
                .tokens
                .check_upload(token, super::tokens::unix_secs(now))
        })
        .map_err(Refusal::token)?;
    let (upload_key, name) = upload_fields(query)?;
    let length = content_length(headers)?;
    if length > files.config.max_upload {
        return Err(too_large(files.config.max_upload));
    }
    let _reserved = super::quota::reserve(state, files, &grant.uploader, length, now).await?;
    let mut incoming = Incoming::receive(files, body, length).await?;
    // The same bytes kept already (a file shared twice) need no second
    // look, no thumbnails and no second copy.
    let sha256 = incoming.sha256.clone();
    let known = state
        .journal
        .people(move |store| store.stored_file(&sha256))
        .await
        .map_err(|_| Refusal::server_error())?;
    let file = match known {
        Some(file) => file,
        None => {
            let file = prepare(&mut incoming).await?;
            store_bytes(files, &incoming, &file).await?;
            file
        }
    };
    let upload = NewUpload {
        id: random_id().map_err(|_| Refusal::server_error())?,
        room: grant.room.clone(),
        name,
        uploader: grant.uploader.clone(),
        upload_key,
        created_ms: crate::chat::moderation::unix_ms(now),
    };
    let stored = file.clone();
    let attachment = state
        .journal
        .people(move |store| store.add_upload(&stored, &upload))
        .await
        .map_err(|_| Refusal::server_error())?;
    // A sweep may have taken the same content's bytes while these were
    // on their way (its last message deleted a moment ago): put them back.
    if matches!(files.blobs.exists(&blob_key(&file.sha256)).await, Ok(None)) {
        store_bytes(files, &incoming, &file).await?;
    }
    tracing::info!(room = %grant.room, size = file.size, r#type = %file.content_type, "file uploaded");
    Ok(attachment)
}

/// The `upload` id and the file `name` from the query.
fn upload_fields(query: &str) -> Result<(String, String), Refusal> {
    let (mut upload, mut name) = (None, None);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "upload" => upload = Some(value.into_owned()),
            "name" => name = Some(value.into_owned()),
            _ => {}
        }
    }
    let upload = upload.filter(|id| is_valid_client_id(id)).ok_or_else(|| {
        bad_request(
            "An upload needs ?upload= with the client's id for it (letters, digits, dashes)",
        )
    })?;
    Ok((upload, clean_file_name(&name.unwrap_or_default())))
}

/// The announced length of the body; an upload must say it, so limits
/// are checked before a byte is read.
fn content_length(headers: &HeaderMap) -> Result<u64, Refusal> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::LENGTH_REQUIRED,
                UploadErrorCode::BadRequest,
                "An upload must say its length (Content-Length)",
            )
        })
}

/// Chunks of a body waiting for the writer thread: a few of hyper's
/// chunks (each at most a few hundred KB) per upload.
const WRITE_QUEUE: usize = 4;

/// Writes the chunks from `queue` to a new file at `path` until the queue
/// closes, and returns their SHA-256 (hex).
fn write_hashed(
    path: &Path,
    queue: &mut tokio::sync::mpsc::Receiver<bytes::Bytes>,
) -> std::io::Result<String> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(path)?);
    let mut hasher = Sha256::new();
    while let Some(chunk) = queue.blocking_recv() {
        hasher.update(&chunk);
        out.write_all(&chunk)?;
    }
    out.flush()?;
    Ok(hex(&hasher.finalize()))
}

/// An upload on its way in: a temporary file, deleted when this goes.
struct Incoming {
    path: PathBuf,
    sha256: String,
    size: u64,
    head: Vec<u8>,
    /// The same content with location metadata removed, when there was
    /// any: what is stored instead.
    cleaned: Option<PathBuf>,
    /// The thumbnails made of an image: size and bytes.
    thumbs: Vec<(u32, Vec<u8>)>,
}

impl Incoming {
    /// Streams `body` to a temporary file: exactly `length` bytes, or a
    /// refusal.
    async fn receive(files: &Files, body: Body, length: u64) -> Result<Self, Refusal> {
        let path = files
            .temp
            .join(random_id().map_err(|_| Refusal::server_error())?);
        let mut incoming = Self {
            path,
            sha256: String::new(),
            size: 0,
            head: Vec::with_capacity(SNIFF_BYTES),
            cleaned: None,
            thumbs: Vec::new(),
        };
        // Hashing and writing happen on a thread of the blocking pool, fed
        // through a short queue: the runtime's threads, which carry every
        // chat message, only move the body's chunks along, and a slow disk
        // slows the sender (no chunk piles up in memory).
        let (chunks, mut queue) = tokio::sync::mpsc::channel::<bytes::Bytes>(WRITE_QUEUE);
        let path = incoming.path.clone();
        let writer = tokio::task::spawn_blocking(move || write_hashed(&path, &mut queue));
        let mut stream = body.into_data_stream();
        let mut received = Ok(());
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else {
                received = Err(incomplete());
                break;
            };
            incoming.size += chunk.len() as u64;
            if incoming.size > length {
                received = Err(bad_request(
                    "The body is longer than its Content-Length: nothing was kept",
                ));
                break;
            }
            let room = SNIFF_BYTES.saturating_sub(incoming.head.len());
            incoming
                .head
                .extend_from_slice(&chunk[..room.min(chunk.len())]);
            files.budget.spend(chunk.len()).await;
            // The writer stopped: its error is the answer.
            if chunks.send(chunk).await.is_err() {
                break;
            }
        }
        drop(chunks);
        let written = writer.await.map_err(|_| Refusal::server_error())?;
        received?;
        incoming.sha256 = written.map_err(|error| io_failed(&error))?;
        if incoming.size < length {
            return Err(incomplete());
        }
        Ok(incoming)
    }

    /// The file whose bytes are stored.
    fn stored_path(&self) -> &Path {
        self.cleaned.as_deref().unwrap_or(&self.path)
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(cleaned) = &self.cleaned {
            let _ = std::fs::remove_file(cleaned);
        }
    }
}

/// Decides what the upload is, and for an image checks it, makes its
/// thumbnails and takes its location out.
async fn prepare(incoming: &mut Incoming) -> Result<StoredFile, Refusal> {
    let content_type = media::sniff(&incoming.head);
    let mut file = StoredFile {
        sha256: incoming.sha256.clone(),
        size: incoming.size,
        content_type: content_type.to_owned(),
        width: None,
        height: None,
        thumbs: Vec::new(),
        preview: None,
    };
    if !is_inline_image(content_type) {
        return Ok(file);
    }
    let path = incoming.path.clone();
    let work = tokio::task::spawn_blocking(move || {
        media::prepare_image(&path, content_type, &DecodeLimits::default())
    });
    let prepared = match tokio::time::timeout(PREPARE_TIMEOUT, work).await {
        Ok(Ok(Ok(prepared))) => prepared,
        Ok(Ok(Err(error))) => {
            return Err(Refusal::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                UploadErrorCode::BadImage,
                format!("That image was not taken: {error}"),
            ))
        }
        Ok(Err(_)) => return Err(Refusal::server_error()),
        Err(_) => {
            return Err(Refusal::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                UploadErrorCode::BadImage,
                "That image took too long to read: it was not taken",
            ))
        }
    };
    file.width = Some(prepared.width);
    file.height = Some(prepared.height);
    file.preview = (!prepared.preview.is_empty()).then_some(prepared.preview);
    if let Some(cleaned) = prepared.cleaned {
        let path = incoming.path.with_extension("clean");
        tokio::fs::write(&path, &cleaned)
            .await
            .map_err(|error| io_failed(&error))?;
        incoming.cleaned = Some(path);
        file.sha256 = hex(&Sha256::digest(&cleaned));
        file.size = cleaned.len() as u64;
    }
    file.thumbs = prepared.thumbs.iter().map(|thumb| thumb.size).collect();
    incoming.thumbs = prepared
        .thumbs
        .into_iter()
        .map(|thumb| (thumb.size, thumb.bytes))
        .collect();
    Ok(file)
}

/// Puts the content's bytes and thumbnails where they are kept, unless
/// they are there already (the same file uploaded before).
async fn store_bytes(files: &Files, incoming: &Incoming, file: &StoredFile) -> Result<(), Refusal> {
    let failed = |error: super::blobs::BlobError| {
        tracing::error!(%error, "an upload's bytes could not be stored");
        Refusal::server_error()
    };
    files
        .blobs
        .put_file(&blob_key(&file.sha256), incoming.stored_path())
        .await
        .map_err(failed)?;
    for (size, bytes) in &incoming.thumbs {
        files
            .blobs
            .put_bytes(
                &thumb_key(&file.sha256, *size),
                bytes::Bytes::from(bytes.clone()),
            )
            .await
            .map_err(failed)?;
    }
    Ok(())
}

/// The token of `Authorization: Bearer TOKEN`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// 128 random bits as 32 lowercase hex digits: a file id, a temporary
/// file's name.
pub(crate) fn random_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn bad_request(message: &str) -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        UploadErrorCode::BadRequest,
        message,
    )
}

fn too_large(limit: u64) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        UploadErrorCode::TooLarge,
        format!(
            "That file is larger than this server takes ({}): nothing was kept",
            chat_shared::files::human_size(limit)
        ),
    )
}

fn incomplete() -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        UploadErrorCode::Incomplete,
        "The upload ended before the whole file arrived: nothing was kept. Try again",
    )
}

fn io_failed(error: &std::io::Error) -> Refusal {
    tracing::error!(%error, "an upload could not be written to its temporary file");
    Refusal::server_error()
}
