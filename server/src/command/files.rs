//! `upload_token`, and what a `message` with files needs checked: the
//! socket's side of files ([`crate::files`] has the HTTP side).

use super::{server_error, Caller};
use crate::chat::hub::encode;
use crate::error::Rejection;
use crate::AppState;
use chat_shared::files::{text_with_links, Attachment};
use chat_shared::{ErrorCode, ServerFrame};
use std::time::SystemTime;

/// `upload_token`: the joined caller may upload to its room under its
/// name for a while, and read the room's files; answered with
/// `upload_token`.
pub(crate) fn upload_token(state: &AppState, caller: &Caller) -> Result<(), Rejection> {
    let member = caller.joined()?;
    let files = state.files.as_deref().ok_or_else(files_off)?;
    let now = crate::files::tokens::unix_secs(SystemTime::now());
    let lifetime = files.config.upload_token_lifetime.as_secs().max(1);
    caller.peer.send(encode(&ServerFrame::UploadToken {
        room: member.room.clone(),
        token: files
            .tokens
            .upload(&member.room, &member.key, now, lifetime),
        expires_in_secs: lifetime,
        read: Some(files.tokens.read(&member.room, now)),
        max_bytes: files.config.max_upload,
    }));
    Ok(())
}

/// The files a message by `uploader` in `room` carries, checked (each an
/// upload of theirs to the room not yet sent), and the text it goes out
/// with: the caption and a link line per file.
pub(crate) async fn attach(
    state: &AppState,
    room: &str,
    uploader: &str,
    ids: Vec<String>,
    caption: &str,
) -> Result<(Vec<Attachment>, String), Rejection> {
    if ids.is_empty() {
        return Ok((Vec::new(), caption.to_owned()));
    }
    if state.files.is_none() {
        return Err(files_off());
    }
    let (room, uploader) = (room.to_owned(), uploader.to_owned());
    let found = state
        .journal
        .people(move |store| store.unsent_uploads(&room, &uploader, &ids))
        .await
        .map_err(server_error)?
        .ok_or_else(|| Rejection::from(ErrorCode::AttachmentNotFound))?;
    let text = text_with_links(caption, &found);
    Ok((found, text))
}

/// The refusal while the server keeps no files (`--no-files`).
fn files_off() -> Rejection {
    Rejection::new(
        ErrorCode::AttachmentNotFound,
        "This server keeps no files (--no-files)",
    )
}
