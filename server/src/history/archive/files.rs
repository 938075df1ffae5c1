//! An export's files: the uploads each message went out with and what was
//! learnt of their content, so `import` restores the attachments. The
//! bytes are not in the export: they stay in the files folder (or
//! bucket), which is copied beside (docs/operations.md, "Files").

use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One file of a message: its `uploads` row and its `files` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedFile {
    /// The upload's id, which its download path carries.
    pub id: String,
    /// The name it was sent under.
    pub name: String,
    /// The uploader's name key, and the client's id for the upload.
    pub uploader: String,
    pub upload_key: String,
    /// When it was uploaded (ms since the epoch).
    pub created_ms: i64,
    /// Its content: SHA-256 (the bytes' name in the folder), size, type.
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    /// An image's size and thumbnails (`320,1280`) and tiny preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thumbs: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
}

/// The files of `room`'s messages, by message id, in their order on it.
pub(super) fn read(
    tx: &Transaction<'_>,
    room: &str,
) -> rusqlite::Result<HashMap<i64, Vec<ExportedFile>>> {
    let mut query = tx.prepare_cached(
        "SELECT u.message_id, u.id, u.name, u.uploader, u.upload_key, u.created_ms,
             f.sha256, f.size, f.content_type, f.width, f.height, f.thumbs, f.preview
         FROM uploads u JOIN files f ON f.sha256 = u.sha256
         WHERE u.room = ?1 AND u.message_id IS NOT NULL
         ORDER BY u.message_id, u.position",
    )?;
    let rows = query.query_map([room], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            ExportedFile {
                id: row.get(1)?,
                name: row.get(2)?,
                uploader: row.get(3)?,
                upload_key: row.get(4)?,
                created_ms: row.get(5)?,
                sha256: row.get(6)?,
                size: row.get(7)?,
                content_type: row.get(8)?,
                width: row.get(9)?,
                height: row.get(10)?,
                thumbs: row.get(11)?,
                preview: row.get(12)?,
            },
        ))
    })?;
    let mut by_message: HashMap<i64, Vec<ExportedFile>> = HashMap::new();
    for row in rows {
        let (message_id, file) = row?;
        by_message.entry(message_id).or_default().push(file);
    }
    Ok(by_message)
}

/// Restores message `message_id`'s `files` in `room`, in order (a content
/// two messages share is one `files` row).
pub(super) fn add(
    tx: &Transaction<'_>,
    room: &str,
    message_id: i64,
    files: &[ExportedFile],
) -> rusqlite::Result<()> {
    for (position, file) in (0_i64..).zip(files) {
        tx.prepare_cached(
            "INSERT INTO files (sha256, size, content_type, width, height, thumbs, preview)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (sha256) DO NOTHING",
        )?
        .execute(params![
            file.sha256,
            file.size,
            file.content_type,
            file.width,
            file.height,
            file.thumbs,
            file.preview
        ])?;
        tx.prepare_cached(
            "INSERT INTO uploads (id, sha256, room, name, uploader, upload_key, message_id,
                 position, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            file.id,
            file.sha256,
            room,
            file.name,
            file.uploader,
            file.upload_key,
            message_id,
            position,
            file.created_ms
        ])?;
    }
    Ok(())
}
