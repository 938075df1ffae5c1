//! The files I attach, as a plain state machine tested on the host: each
//! file chosen gets its upload id once and keeps it through every retry
//! (the server answers a second `POST` with the same id with the same
//! attachment, so a retry after a lost answer never stores twice); a
//! message with files (a [`Parcel`]) gets its `client_id` once and waits
//! here until all its files are uploaded, then goes to the outbox.
//!
//! The file bytes themselves are not here (they are browser objects, see
//! the handle in `mod.rs`), and nothing here is kept on disk: a browser
//! cannot put a file in localStorage, so files chosen and not yet uploaded
//! live only while the tab is open.

use chat_shared::files::{Attachment, UploadErrorCode, MAX_ATTACHMENTS};

/// How many files upload at once: two keep the line busy without one
/// large file holding the others back for long.
pub(crate) const PARALLEL_UPLOADS: usize = 2;

/// What the user knows of a chosen file before it is uploaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileInfo {
    /// The name the browser gave it.
    pub(crate) name: String,
    /// Bytes: checked against the server's limit before anything is sent.
    pub(crate) size: u64,
    /// The browser's guess at its type: only to show an image chip.
    pub(crate) mime: String,
}

/// Where one file is on its way to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Waiting for its turn, a token or the network; goes by itself.
    Waiting,
    /// Being sent: `sent` bytes of its size so far.
    Uploading { sent: u64 },
    /// Stored by the server as this attachment.
    Done(Attachment),
    /// Refused by the server; the user retries or removes it.
    Failed(UploadErrorCode),
}

impl Stage {
    /// A stable name, exposed as `data-stage` for styling and the tests.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Stage::Waiting => "waiting",
            Stage::Uploading { .. } => "uploading",
            Stage::Done(_) => "done",
            Stage::Failed(_) => "failed",
        }
    }
}

/// How an upload ended, as the XHR saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `201`: stored.
    Uploaded(Attachment),
    /// No answer (offline, the connection dropped): tried again later
    /// with the same upload id.
    Network,
    /// The token ran out: tried again with a new one.
    ExpiredToken,
    /// Any other refusal: the user decides.
    Refused(UploadErrorCode),
}

/// One chosen file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PendingFile {
    /// Local and unique for the page: the chip's key and the handle's key
    /// for the browser's `File`.
    pub(crate) key: u64,
    /// The `upload` id of every `POST` of this file, made once.
    pub(crate) upload_id: String,
    /// The room it is uploaded to (tokens are per room).
    pub(crate) room: String,
    pub(crate) info: FileInfo,
    pub(crate) stage: Stage,
    /// The `client_id` of the message it was sent with; none while it is
    /// still in the composer.
    pub(crate) parcel: Option<String>,
}

impl PendingFile {
    /// How far its upload is, 0 to 100.
    pub(crate) fn percent(&self) -> u8 {
        match &self.stage {
            Stage::Waiting | Stage::Failed(_) => 0,
            Stage::Done(_) => 100,
            Stage::Uploading { sent } if self.info.size == 0 => u8::from(*sent > 0) * 100,
            Stage::Uploading { sent } => ((sent.min(&self.info.size) * 100) / self.info.size) as u8,
        }
    }
}

/// A message with files, sent by the user, waiting for its uploads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Parcel {
    /// The message's `client_id`, made once when it was sent.
    pub(crate) client_id: String,
    pub(crate) room: String,
    /// The author's name key, as the outbox files it.
    pub(crate) user: String,
    /// The text, the files' caption; may be empty.
    pub(crate) caption: String,
    pub(crate) reply_to: Option<u64>,
}

/// A parcel whose files are all uploaded: the outbox's from now on.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ready {
    pub(crate) parcel: Parcel,
    /// Its attachments in the order chosen.
    pub(crate) attachments: Vec<Attachment>,
}

/// Why a file was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Larger than the server takes (`max` bytes): never uploaded.
    TooLarge { name: String, max: u64 },
    /// The message already has [`MAX_ATTACHMENTS`] files.
    TooMany,
}

/// The files I attached, in the composer and in messages on their way.
#[derive(Debug, Default)]
pub(crate) struct Tray {
    files: Vec<PendingFile>,
    parcels: Vec<Parcel>,
    next_key: u64,
}

impl Tray {
    /// Every file, in the order chosen.
    pub(crate) fn files(&self) -> &[PendingFile] {
        &self.files
    }

    /// File `key`, if it is here.
    pub(crate) fn file(&self, key: u64) -> Option<&PendingFile> {
        self.files.iter().find(|f| f.key == key)
    }

    /// The messages waiting for their uploads, in sending order.
    #[cfg(test)]
    pub(crate) fn parcels(&self) -> &[Parcel] {
        &self.parcels
    }

    /// The files in the composer of `room` (not sent yet).
    pub(crate) fn draft<'a>(&'a self, room: &'a str) -> impl Iterator<Item = &'a PendingFile> {
        self.files
            .iter()
            .filter(move |f| f.room == room && f.parcel.is_none())
    }

    /// The files of the message `client_id`.
    pub(crate) fn of_parcel<'a>(
        &'a self,
        client_id: &'a str,
    ) -> impl Iterator<Item = &'a PendingFile> {
        self.files
            .iter()
            .filter(move |f| f.parcel.as_deref() == Some(client_id))
    }

    /// Takes a file chosen in `room`'s composer, with its `upload_id`
    /// (made once, by the caller), unless it is larger than `max_bytes`
    /// or the composer has [`MAX_ATTACHMENTS`] already. Returns its key.
    pub(crate) fn add(
        &mut self,
        room: &str,
        info: FileInfo,
        upload_id: String,
        max_bytes: u64,
    ) -> Result<u64, Refusal> {
        if info.size > max_bytes {
            return Err(Refusal::TooLarge {
                name: info.name,
                max: max_bytes,
            });
        }
        if self.draft(room).count() >= MAX_ATTACHMENTS {
            return Err(Refusal::TooMany);
        }
        let key = self.next_key;
        self.next_key += 1;
        self.files.push(PendingFile {
            key,
            upload_id,
            room: room.to_owned(),
            info,
            stage: Stage::Waiting,
            parcel: None,
        });
        Ok(key)
    }

    /// The next file of `room` to upload, if fewer than
    /// [`PARALLEL_UPLOADS`] are going: it is marked uploading. Only the
    /// room shown uploads, as its token is the one held.
    pub(crate) fn start_next(&mut self, room: &str) -> Option<PendingFile> {
        let going = self
            .files
            .iter()
            .filter(|f| matches!(f.stage, Stage::Uploading { .. }))
            .count();
        if going >= PARALLEL_UPLOADS {
            return None;
        }
        let next = self
            .files
            .iter_mut()
            .find(|f| f.room == room && f.stage == Stage::Waiting)?;
        next.stage = Stage::Uploading { sent: 0 };
        Some(next.clone())
    }

    /// File `key` has sent `sent` bytes.
    pub(crate) fn progress(&mut self, key: u64, sent: u64) {
        if let Some(file) = self.file_mut(key) {
            if matches!(file.stage, Stage::Uploading { .. }) {
                file.stage = Stage::Uploading { sent };
            }
        }
    }

    /// File `key`'s upload ended so. A lost connection or an old token
    /// puts it back in line (same upload id); a refusal waits for the user.
    pub(crate) fn finished(&mut self, key: u64, outcome: Outcome) {
        let Some(file) = self.file_mut(key) else {
            return;
        };
        file.stage = match outcome {
            Outcome::Uploaded(attachment) => Stage::Done(attachment),
            Outcome::Network | Outcome::ExpiredToken => Stage::Waiting,
            Outcome::Refused(code) => Stage::Failed(code),
        };
    }

    /// The user retries the refused file `key`: it goes in line again
    /// with the same upload id. Returns whether it was refused.
    pub(crate) fn retry(&mut self, key: u64) -> bool {
        match self.file_mut(key) {
            Some(file) if matches!(file.stage, Stage::Failed(_)) => {
                file.stage = Stage::Waiting;
                true
            }
            _ => false,
        }
    }

    /// The user removes (or cancels) file `key`. Returns it, so the caller
    /// can abort its upload and free its preview. A message left with no
    /// file and no caption goes too.
    pub(crate) fn remove(&mut self, key: u64) -> Option<PendingFile> {
        let at = self.files.iter().position(|f| f.key == key)?;
        let file = self.files.remove(at);
        if let Some(client_id) = &file.parcel {
            let empty = self.of_parcel(client_id).next().is_none();
            self.parcels
                .retain(|p| !(p.client_id == *client_id && empty && p.caption.is_empty()));
        }
        Some(file)
    }

    /// Sends the composer's files of `parcel.room` with `parcel`'s caption:
    /// they wait here together until all are uploaded. Returns whether
    /// there were any.
    pub(crate) fn seal(&mut self, parcel: Parcel) -> bool {
        let mut any = false;
        for file in self
            .files
            .iter_mut()
            .filter(|f| f.room == parcel.room && f.parcel.is_none())
        {
            file.parcel = Some(parcel.client_id.clone());
            any = true;
        }
        if any {
            self.parcels.push(parcel);
        }
        any
    }

    /// Takes out the messages whose files are all uploaded (in sending
    /// order), with their files: each is handed on once.
    pub(crate) fn take_ready(&mut self) -> Vec<Ready> {
        let mut ready = Vec::new();
        let mut waiting = Vec::new();
        for parcel in std::mem::take(&mut self.parcels) {
            let attachments: Option<Vec<Attachment>> = self
                .of_parcel(&parcel.client_id)
                .map(|f| match &f.stage {
                    Stage::Done(attachment) => Some(attachment.clone()),
                    _ => None,
                })
                .collect();
            match attachments {
                Some(attachments) => {
                    let client_id = parcel.client_id.clone();
                    self.files
                        .retain(|f| f.parcel.as_deref() != Some(client_id.as_str()));
                    ready.push(Ready {
                        parcel,
                        attachments,
                    });
                }
                None => waiting.push(parcel),
            }
        }
        self.parcels = waiting;
        ready
    }

    fn file_mut(&mut self, key: u64) -> Option<&mut PendingFile> {
        self.files.iter_mut().find(|f| f.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 1000;

    fn info(name: &str, size: u64) -> FileInfo {
        FileInfo {
            name: name.into(),
            size,
            mime: "image/png".into(),
        }
    }

    fn stored(id: &str) -> Attachment {
        Attachment {
            id: id.into(),
            name: format!("{id}.png"),
            size: 10,
            content_type: "image/png".into(),
            ..Attachment::default()
        }
    }

    fn parcel(client_id: &str, caption: &str) -> Parcel {
        Parcel {
            client_id: client_id.into(),
            room: "general".into(),
            user: "alice".into(),
            caption: caption.into(),
            reply_to: None,
        }
    }

    fn stages(tray: &Tray) -> Vec<&'static str> {
        tray.files().iter().map(|f| f.stage.name()).collect()
    }

    #[test]
    fn too_large_and_too_many_files_are_refused_before_any_upload() {
        let mut tray = Tray::default();
        assert_eq!(
            tray.add("general", info("big.mov", MAX + 1), "u0".into(), MAX),
            Err(Refusal::TooLarge {
                name: "big.mov".into(),
                max: MAX
            })
        );
        for n in 0..MAX_ATTACHMENTS {
            assert!(tray
                .add("general", info("a.png", 5), format!("u{n}"), MAX)
                .is_ok());
        }
        assert_eq!(
            tray.add("general", info("b.png", 5), "x".into(), MAX),
            Err(Refusal::TooMany)
        );
        // Another room's composer has its own ten.
        assert!(tray.add("other", info("b.png", 5), "y".into(), MAX).is_ok());
        assert_eq!(tray.files().len(), MAX_ATTACHMENTS + 1);
    }

    #[test]
    fn uploads_go_two_at_a_time_with_progress_in_the_room_shown() {
        let mut tray = Tray::default();
        for name in ["a", "b", "c"] {
            tray.add("general", info(name, 200), format!("u-{name}"), MAX)
                .ok();
        }
        tray.add("other", info("d", 200), "u-d".into(), MAX).ok();
        let first = tray.start_next("general").map(|f| f.upload_id);
        let second = tray.start_next("general").map(|f| f.upload_id);
        assert_eq!(
            (first.as_deref(), second.as_deref()),
            (Some("u-a"), Some("u-b"))
        );
        assert_eq!(tray.start_next("general"), None);
        tray.progress(0, 50);
        assert_eq!(tray.file(0).map(PendingFile::percent), Some(25));
        tray.finished(0, Outcome::Uploaded(stored("f0")));
        assert_eq!(tray.file(0).map(PendingFile::percent), Some(100));
        assert_eq!(tray.start_next("general").map(|f| f.key), Some(2));
        assert_eq!(stages(&tray), ["done", "uploading", "uploading", "waiting"]);
        // The other room's file waits for its own token.
        tray.finished(1, Outcome::Uploaded(stored("f1")));
        assert_eq!(tray.start_next("general"), None);
        assert_eq!(tray.start_next("other").map(|f| f.key), Some(3));
    }

    #[test]
    fn a_retry_reuses_the_upload_id_after_a_lost_answer_a_refusal_or_an_old_token() {
        let mut tray = Tray::default();
        tray.add("general", info("a", 10), "same-id".into(), MAX)
            .ok();
        let ids = |tray: &mut Tray| tray.start_next("general").map(|f| f.upload_id);
        assert_eq!(ids(&mut tray).as_deref(), Some("same-id"));
        tray.finished(0, Outcome::Network);
        assert_eq!(stages(&tray), ["waiting"]);
        assert_eq!(ids(&mut tray).as_deref(), Some("same-id"));
        tray.finished(0, Outcome::ExpiredToken);
        assert_eq!(ids(&mut tray).as_deref(), Some("same-id"));
        tray.finished(0, Outcome::Refused(UploadErrorCode::OverQuota));
        assert_eq!(stages(&tray), ["failed"]);
        // A refused file waits for the user.
        assert_eq!(tray.start_next("general"), None);
        assert!(tray.retry(0));
        assert!(!tray.retry(0));
        assert_eq!(ids(&mut tray).as_deref(), Some("same-id"));
    }

    #[test]
    fn a_message_goes_once_when_all_its_files_are_uploaded() {
        let mut tray = Tray::default();
        tray.add("general", info("a", 10), "ua".into(), MAX).ok();
        tray.add("general", info("b", 10), "ub".into(), MAX).ok();
        assert!(tray.seal(parcel("m1", "look")));
        // The composer is empty again; a new file is the next message's.
        assert_eq!(tray.draft("general").count(), 0);
        tray.add("general", info("c", 10), "uc".into(), MAX).ok();
        tray.start_next("general");
        tray.start_next("general");
        tray.finished(0, Outcome::Uploaded(stored("f0")));
        assert!(tray.take_ready().is_empty());
        tray.finished(1, Outcome::Uploaded(stored("f1")));
        let ready = tray.take_ready();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].parcel.client_id, "m1");
        assert_eq!(ready[0].parcel.caption, "look");
        let ids: Vec<&str> = ready[0].attachments.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["f0", "f1"]);
        // Handed on once; the draft file stays.
        assert!(tray.take_ready().is_empty());
        assert!(tray.parcels().is_empty());
        assert_eq!(tray.draft("general").count(), 1);
        // Nothing to seal in a room with no files.
        assert!(!tray.seal(Parcel {
            room: "empty".into(),
            ..parcel("m2", "")
        }));
    }

    #[test]
    fn cancelling_a_file_drops_it_and_an_empty_message_with_it() {
        let mut tray = Tray::default();
        tray.add("general", info("a", 10), "ua".into(), MAX).ok();
        tray.add("general", info("b", 10), "ub".into(), MAX).ok();
        tray.start_next("general");
        let removed = tray.remove(0);
        assert_eq!(removed.map(|f| f.stage.name()), Some("uploading"));
        assert_eq!(tray.remove(0), None);
        tray.seal(parcel("m1", ""));
        tray.remove(1);
        assert!(tray.parcels().is_empty());
        // A caption alone is still a message: it stays, and goes once its
        // (no longer any) files are all uploaded.
        tray.add("general", info("c", 10), "uc".into(), MAX).ok();
        tray.seal(parcel("m2", "words"));
        tray.remove(2);
        let ready = tray.take_ready();
        assert_eq!(ready.len(), 1);
        assert!(ready[0].attachments.is_empty());
    }
}
