//! Files on messages (issue 25): uploads over HTTP with a token the socket
//! hands out, limits, what a file is (decided from its bytes), images
//! made safe and small, storage by content, and downloads only to whoever
//! may read the room. docs/protocol.md ("Files") is the contract.
//!
//! - [`tokens`]: the upload and read tokens, signed with a secret every
//!   node shares.
//! - [`media`]: content sniffing, bounded image decoding, thumbnails, and
//!   location metadata removed.
//! - [`blobs`]: the bytes, in a folder or an S3-compatible bucket, under
//!   their SHA-256.
//! - [`upload`]: `POST /files`, streamed to a temporary file, checked,
//!   then stored.
//! - [`budget`]: the node's upload bytes a second, shared by all.
//! - [`download`]: `GET /files/{id}/…`, with Range and safe headers.
//! - [`quota`]: the hourly quota and the storage cap, uploads in flight
//!   included.
//! - [`refusal`]: how an upload or a download is refused.
//! - [`settings`]: the operator's flags.
//!
//! What was uploaded to which room, and which message a file went out
//! with, is the store's ([`crate::history::files`]).

pub(crate) mod blobs;
pub(crate) mod budget;
pub(crate) mod download;
pub(crate) mod media;
pub(crate) mod quota;
pub(crate) mod refusal;
pub(crate) mod settings;
pub(crate) mod tokens;
pub(crate) mod upload;

pub use settings::FilesConfig;

use crate::config::Database;
use crate::history::files::StoredFile;
use crate::history::journal::Journal;
use blobs::Blobs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokens::Tokens;

/// How long an upload may wait for the message it goes out with before
/// it is forgotten (a tab closed mid-message).
const UNSENT_KEPT: Duration = Duration::from_secs(24 * 60 * 60);

/// This node's files: where the bytes are, the token signer, the limits.
#[derive(Debug)]
pub(crate) struct Files {
    pub(crate) blobs: Blobs,
    pub(crate) tokens: Tokens,
    pub(crate) config: FilesConfig,
    /// Upload bytes a second, every upload on this node together.
    pub(crate) budget: budget::Budget,
    /// The bytes of uploads on their way in, held against the quotas.
    pub(crate) in_flight: quota::InFlight,
    /// Where uploads are written while they arrive and are checked.
    pub(crate) temp: PathBuf,
    /// The folder is this run's alone (a history in memory, or the
    /// scratch folder of a bucket's uploads): deleted when it stops.
    ephemeral: bool,
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.temp);
        // `temp` is `ROOT/incoming/RUN`.
        if let (true, Some(root)) = (self.ephemeral, self.temp.ancestors().nth(2)) {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

/// Removes what runs that stopped without cleaning up left in `incoming`:
/// their folders, once a day old (no upload takes that long).
fn clear_stale(incoming: &Path) {
    let Ok(entries) = std::fs::read_dir(incoming) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > UNSENT_KEPT);
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Files {
    /// The files of a server with this configuration, `None` with
    /// `--no-files`. `secret` is the store's shared token secret.
    pub(crate) fn open(
        config: &FilesConfig,
        database: &Database,
        secret: &[u8],
    ) -> Result<Option<Self>, String> {
        if config.no_files {
            return Ok(None);
        }
        let run = upload::random_id().map_err(|error| error.to_string())?;
        let scratch = || std::env::temp_dir().join(format!("chat-files-{run}"));
        let (blobs, root, ephemeral) = match (&config.files_s3, &config.files_dir, database) {
            (Some(url), _, _) => {
                let blobs = Blobs::s3(url).map_err(|error| format!("--files-s3: {error}"))?;
                (blobs, scratch(), true)
            }
            (None, dir, database) => {
                let (dir, ephemeral) = match (dir, default_dir(database)) {
                    (Some(dir), _) => (dir.clone(), false),
                    (None, Some(dir)) => (dir, false),
                    // A history in memory keeps its files in a folder of
                    // its own, gone with it.
                    (None, None) => {
                        if matches!(database, Database::Postgres(_)) {
                            tracing::warn!(
                                "files are kept in a temporary folder of this node's: give \
                                 --files-s3 (or a --files-dir every node shares)"
                            );
                        }
                        (scratch(), true)
                    }
                };
                let blobs = Blobs::folder(&dir)
                    .map_err(|error| format!("--files-dir {}: {error}", dir.display()))?;
                (blobs, dir, ephemeral)
            }
        };
        tracing::info!(files = %blobs.label(), "files are kept here");
        // Each run has its own folder for uploads on their way in (nodes
        // may share the folder); what a run that died left is cleared.
        let incoming = root.join("incoming");
        clear_stale(&incoming);
        let temp = incoming.join(&run);
        std::fs::create_dir_all(&temp)
            .map_err(|error| format!("cannot make {}: {error}", temp.display()))?;
        Ok(Some(Self {
            blobs,
            tokens: Tokens::new(secret),
            config: config.clone(),
            budget: budget::Budget::new(config.upload_rate),
            in_flight: quota::InFlight::default(),
            temp,
            ephemeral,
        }))
    }

    /// Deletes the bytes of every file nothing refers to any more: after
    /// a message with files is deleted, and at start.
    pub(crate) async fn sweep(&self, journal: &Journal) {
        let before = crate::chat::moderation::unix_ms(SystemTime::now() - UNSENT_KEPT);
        let gone = match journal
            .people(move |store| store.take_unreferenced(before))
            .await
        {
            Ok(gone) => gone,
            Err(_) => return,
        };
        for file in gone {
            for key in keys_of(&file) {
                if let Err(error) = self.blobs.delete(&key).await {
                    tracing::warn!(%key, %error, "an unreferenced file's bytes were not deleted");
                }
            }
        }
    }
}

/// The folder beside the SQLite file: `chat.db` keeps its files in
/// `chat-files/`. None for a history in memory, or in PostgreSQL (whose
/// nodes should share a bucket: `--files-s3`, or name a shared folder).
fn default_dir(database: &Database) -> Option<PathBuf> {
    match database {
        Database::Sqlite(path) if path != Path::new(":memory:") => {
            let stem = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_else(|| "chat".to_owned());
            Some(path.with_file_name(format!("{stem}-files")))
        }
        _ => None,
    }
}

/// Where a content's bytes are kept.
pub(crate) fn blob_key(sha256: &str) -> String {
    format!("blobs/{}/{sha256}", &sha256[..2.min(sha256.len())])
}

/// Where a content's thumbnail of `size` is kept.
pub(crate) fn thumb_key(sha256: &str, size: u32) -> String {
    format!("thumbs/{}/{sha256}/{size}", &sha256[..2.min(sha256.len())])
}

/// Every key a content's bytes are kept under.
fn keys_of(file: &StoredFile) -> Vec<String> {
    let mut keys = vec![blob_key(&file.sha256)];
    keys.extend(
        file.thumbs
            .iter()
            .map(|size| thumb_key(&file.sha256, *size)),
    );
    keys
}
