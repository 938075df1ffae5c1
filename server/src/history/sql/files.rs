//! The files half of every store ([`FilesStore`]), written once over a
//! [`Driver`]; see [`crate::history::files`].

use super::messages::setting_or_insert;
use super::{args, sql_id, Driver, Row, Sql};
use crate::history::files::{Download, FilesStore, NewUpload, StoredFile};
use crate::history::store::StoreResult;
use chat_shared::files::Attachment;

/// The `settings` row that keeps the token secret.
const FILES_SECRET_SETTING: &str = "files_secret";

/// The columns of a `files` row `f`, as [`stored_file`] reads them.
const FILE_COLUMNS: &str =
    "f.sha256, f.size, f.content_type, f.width, f.height, f.thumbs, f.preview";

impl<D: Driver> FilesStore for D {
    fn files_secret(&mut self, fresh: &str) -> StoreResult<String> {
        self.write(
            |db| setting_or_insert(db, FILES_SECRET_SETTING, fresh),
            |_| true,
        )
    }

    fn add_upload(&mut self, file: &StoredFile, upload: &NewUpload) -> StoreResult<Attachment> {
        self.write(
            |db| {
                let thumbs = thumbs_text(&file.thumbs);
                db.execute(
                    "INSERT INTO files (sha256, size, content_type, width, height, thumbs, preview)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (sha256) DO NOTHING",
                    args![
                        file.sha256.as_str(),
                        sql_id(file.size),
                        file.content_type.as_str(),
                        file.width.map(i64::from),
                        file.height.map(i64::from),
                        thumbs.as_str(),
                        &file.preview
                    ],
                )?;
                db.execute(
                    "INSERT INTO uploads (id, sha256, room, name, uploader, upload_key, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (uploader, room, upload_key) DO NOTHING",
                    args![
                        upload.id.as_str(),
                        file.sha256.as_str(),
                        upload.room.as_str(),
                        upload.name.as_str(),
                        upload.uploader.as_str(),
                        upload.upload_key.as_str(),
                        sql_id(upload.created_ms)
                    ],
                )?;
                let sql = format!(
                    "SELECT u.id, u.name, {FILE_COLUMNS} FROM uploads u
                     JOIN files f ON f.sha256 = u.sha256
                     WHERE u.uploader = ?1 AND u.room = ?2 AND u.upload_key = ?3"
                );
                db.one_row(
                    &sql,
                    args![
                        upload.uploader.as_str(),
                        upload.room.as_str(),
                        upload.upload_key.as_str()
                    ],
                    attachment,
                )
            },
            |_| true,
        )
    }

    fn stored_file(&mut self, sha256: &str) -> StoreResult<Option<StoredFile>> {
        self.read(|db| {
            db.opt_row(
                &format!("SELECT {FILE_COLUMNS} FROM files f WHERE f.sha256 = ?1"),
                args![sha256],
                stored_file,
            )
        })
    }

    fn unsent_uploads(
        &mut self,
        room: &str,
        uploader: &str,
        ids: &[String],
    ) -> StoreResult<Option<Vec<Attachment>>> {
        self.read(|db| unsent(db, room, uploader, ids))
    }

    fn download(&mut self, id: &str) -> StoreResult<Option<Download>> {
        self.read(|db| {
            db.opt_row(
                &format!(
                    "SELECT u.room, u.name, {FILE_COLUMNS} FROM uploads u
                     JOIN files f ON f.sha256 = u.sha256 WHERE u.id = ?1"
                ),
                args![id],
                |row| {
                    Ok(Download {
                        room: row.text("room")?,
                        name: row.text("name")?,
                        file: stored_file(row)?,
                    })
                },
            )
        })
    }

    fn uploaded_since(&mut self, uploader: &str, since_ms: u64) -> StoreResult<u64> {
        self.read(|db| {
            db.one_row(
                "SELECT CAST(coalesce(sum(f.size), 0) AS BIGINT) AS bytes
                 FROM uploads u JOIN files f ON f.sha256 = u.sha256
                 WHERE u.uploader = ?1 AND u.created_ms >= ?2",
                args![uploader, sql_id(since_ms)],
                |row| Ok(super::to_id(row.int("bytes")?)),
            )
        })
    }

    fn stored_bytes(&mut self) -> StoreResult<u64> {
        self.read(|db| {
            db.one_row(
                "SELECT CAST(coalesce(sum(size), 0) AS BIGINT) AS bytes FROM files",
                &[],
                |row| Ok(super::to_id(row.int("bytes")?)),
            )
        })
    }

    fn take_unreferenced(&mut self, unsent_before_ms: u64) -> StoreResult<Vec<StoredFile>> {
        self.write(
            |db| {
                let text = |row: &dyn Row| row.text("sha256");
                let mut looked_at = db.rows(
                    "DELETE FROM uploads WHERE message_id IS NULL AND created_ms < ?1
                     RETURNING sha256",
                    args![sql_id(unsent_before_ms)],
                    text,
                )?;
                looked_at.extend(db.rows("DELETE FROM freed_files RETURNING sha256", &[], text)?);
                looked_at.sort_unstable();
                looked_at.dedup();
                let sql = format!(
                    "DELETE FROM files WHERE sha256 = ?1 AND NOT EXISTS
                         (SELECT 1 FROM uploads u WHERE u.sha256 = ?1)
                     RETURNING {}",
                    FILE_COLUMNS.replace("f.", "")
                );
                let mut gone = Vec::new();
                for sha256 in &looked_at {
                    gone.extend(db.opt_row(&sql, args![sha256.as_str()], stored_file)?);
                }
                Ok(gone)
            },
            |_| true,
        )
    }
}

/// The uploads `ids` of [`FilesStore::unsent_uploads`], in the caller's
/// read or transaction.
pub(super) fn unsent(
    db: &mut dyn Sql,
    room: &str,
    uploader: &str,
    ids: &[String],
) -> StoreResult<Option<Vec<Attachment>>> {
    let sql = format!(
        "SELECT u.id, u.name, {FILE_COLUMNS} FROM uploads u JOIN files f ON f.sha256 = u.sha256
         WHERE u.id = ?1 AND u.room = ?2 AND u.uploader = ?3 AND u.message_id IS NULL"
    );
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        match db.opt_row(&sql, args![id.as_str(), room, uploader], attachment)? {
            Some(one) => found.push(one),
            None => return Ok(None),
        }
    }
    Ok(Some(found))
}

/// Sends the uploads `ids` out with message `message_id`, in order.
pub(super) fn attach(db: &mut dyn Sql, message_id: i64, ids: &[String]) -> StoreResult<()> {
    for (position, id) in ids.iter().enumerate() {
        db.execute(
            "UPDATE uploads SET message_id = ?1, position = ?2 WHERE id = ?3",
            args![message_id, super::sql_limit(position), id.as_str()],
        )?;
    }
    Ok(())
}

/// The statement reading the files of the messages `$uploads` picks (a
/// condition on `u`), as [`attachment`] reads them, in their order on
/// each message: a string literal, for `format!` too.
macro_rules! files_of {
    ($uploads:literal) => {
        concat!(
            "SELECT u.message_id, u.id, u.name, f.sha256, f.size,
                f.content_type, f.width, f.height, f.thumbs, f.preview
             FROM uploads u JOIN files f ON f.sha256 = u.sha256
             WHERE ",
            $uploads,
            " ORDER BY u.message_id, u.position"
        )
    };
}
pub(super) use files_of;

/// The files of a room's messages with ids from `?2` to `?3`: the page's
/// reads add them to its messages.
pub(super) const PAGE_FILES: &str = files_of!("u.room = ?1 AND u.message_id BETWEEN ?2 AND ?3");

/// A `files` row.
fn stored_file(row: &dyn Row) -> StoreResult<StoredFile> {
    let dimension = |column: &str| -> StoreResult<Option<u32>> {
        Ok(row
            .opt_int(column)?
            .and_then(|value| u32::try_from(value).ok()))
    };
    Ok(StoredFile {
        sha256: row.text("sha256")?,
        size: super::to_id(row.int("size")?),
        content_type: row.text("content_type")?,
        width: dimension("width")?,
        height: dimension("height")?,
        thumbs: row
            .text("thumbs")?
            .split(',')
            .filter_map(|size| size.parse().ok())
            .collect(),
        preview: row.opt_text("preview")?,
    })
}

/// An upload row joined with its `files` row, as an attachment.
pub(super) fn attachment(row: &dyn Row) -> StoreResult<Attachment> {
    Ok(stored_file(row)?.attachment(row.text("id")?, row.text("name")?))
}

/// Thumbnail sizes as the `thumbs` column keeps them: `320,1280`.
fn thumbs_text(sizes: &[u32]) -> String {
    let sizes: Vec<String> = sizes.iter().map(u32::to_string).collect();
    sizes.join(",")
}
