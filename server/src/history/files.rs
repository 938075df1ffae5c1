//! What lasts of files (issue 25): each stored content once, by its
//! SHA-256 (`files`), and each upload of it to a room under a name
//! (`uploads`), by the unguessable id its download path carries, with the
//! message it went out with.
//!
//! The bytes are not here: they are in the blob store
//! ([`crate::files::blobs`]), under keys made from the SHA-256. The rules
//! (who may upload, limits, what an upload's content is) are in
//! [`crate::files`]; the store only stores. A file nothing refers to any
//! more (its messages deleted, or uploaded and never sent) is handed to
//! the caller by [`FilesStore::take_unreferenced`] to delete its bytes.

use crate::history::store::StoreResult;
use chat_shared::files::Attachment;

/// What was learnt of a stored content: the `files` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredFile {
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The thumbnail sizes made.
    pub thumbs: Vec<u32>,
    /// A tiny JPEG, base64, for a blurred placeholder.
    pub preview: Option<String>,
}

/// One upload to be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewUpload {
    /// A fresh unguessable id ([`chat_shared::files::is_valid_file_id`]).
    pub id: String,
    pub room: String,
    /// The name as the uploader gave it, cleaned.
    pub name: String,
    /// The uploader's name key.
    pub uploader: String,
    /// The client's id for this upload: a resend gets the first back.
    pub upload_key: String,
    pub created_ms: u64,
}

/// An upload as a download finds it: its room (to check the reader may
/// read it), its content and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Download {
    pub room: String,
    pub name: String,
    pub file: StoredFile,
}

/// The files half of a store.
pub(crate) trait FilesStore {
    /// The secret upload and read tokens are signed with: the stored one,
    /// or `fresh`, stored, when there is none (every node must check the
    /// tokens every other node hands out).
    fn files_secret(&mut self, fresh: &str) -> StoreResult<String>;

    /// Keeps `file` (unless its content is kept already) and `upload` of
    /// it; a resend (the same uploader, room and `upload_key`) keeps
    /// nothing and gets the first upload back.
    fn add_upload(&mut self, file: &StoredFile, upload: &NewUpload) -> StoreResult<Attachment>;

    /// Whether the content is kept already (its bytes then need no
    /// second copy, and its thumbnails no second making).
    fn stored_file(&mut self, sha256: &str) -> StoreResult<Option<StoredFile>>;

    /// The uploads `ids` by `uploader` to `room` that went out with no
    /// message yet, as attachments, in the order asked; `None` when any
    /// is not such an upload.
    fn unsent_uploads(
        &mut self,
        room: &str,
        uploader: &str,
        ids: &[String],
    ) -> StoreResult<Option<Vec<Attachment>>>;

    /// The upload with this id, for a download.
    fn download(&mut self, id: &str) -> StoreResult<Option<Download>>;

    /// Bytes uploaded by `uploader` since `since_ms` (each upload counted,
    /// resends once): the hourly quota.
    fn uploaded_since(&mut self, uploader: &str, since_ms: u64) -> StoreResult<u64>;

    /// Bytes of every content kept: the storage cap.
    fn stored_bytes(&mut self) -> StoreResult<u64>;

    /// Forgets the uploads never sent that were made before
    /// `unsent_before_ms`, then those of their contents and of the
    /// contents deleted messages referred to that no upload refers to any
    /// more, and returns them: the caller deletes their bytes. Only those
    /// contents are looked at, never every file.
    fn take_unreferenced(&mut self, unsent_before_ms: u64) -> StoreResult<Vec<StoredFile>>;
}

impl StoredFile {
    /// The attachment an upload of this content is, under `id` and `name`.
    pub(crate) fn attachment(&self, id: String, name: String) -> Attachment {
        Attachment {
            id,
            name,
            size: self.size,
            content_type: self.content_type.clone(),
            thumbs: self.thumbs.clone(),
            width: self.width,
            height: self.height,
            preview: self.preview.clone(),
        }
    }
}
