//! Files on messages (issue 25), from choosing them to handing the message
//! to the outbox: the upload token of the room shown, each file's upload
//! (started as soon as it is chosen, so sending is quick), and the
//! messages that wait for their files.
//!
//! - [`tray`]: the plain state machine ([`tray::Tray`]): files, their
//!   stages, messages waiting for them.
//! - [`grant`]: the upload token held and when to ask for another.
//! - [`xhr`]: one upload through `XMLHttpRequest`.
//! - [`Attachments`] (here) holds them in signals for the views, keeps
//!   the browser's `File` objects and object URLs beside them (a file
//!   cannot go to localStorage, so files not yet uploaded live only while
//!   the tab is open), and drives the uploads.

pub(crate) mod grant;
pub(crate) mod tray;
mod xhr;

use chat_shared::files::{UploadErrorCode, DEFAULT_MAX_UPLOAD_BYTES};
use chat_shared::ClientFrame;
use leptos::prelude::*;
use std::collections::HashMap;
use std::time::Duration;
use web_sys::{File, Url};

use grant::{Grant, Grants};
use tray::{FileInfo, Outcome, Parcel, PendingFile, Refusal, Tray};
use xhr::Upload;

use super::outbox::{new_client_id, Outbox};
use super::{Sender, Writer};
use crate::time::now_ms;

/// After an upload found no network: try again after this long (a
/// reconnect tries at once).
const NETWORK_RETRY: Duration = Duration::from_secs(5);

/// The browser objects of the files in the tray, by key.
#[derive(Default)]
struct Browser {
    /// The chosen files, until uploaded and sent (or removed).
    files: HashMap<u64, File>,
    /// An image file's object URL, for its chip.
    previews: HashMap<u64, String>,
    /// The uploads going.
    uploads: HashMap<u64, Upload>,
}

/// The files I attach, for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct Attachments {
    tray: RwSignal<Tray>,
    grants: RwSignal<Grants>,
    browser: StoredValue<Browser, LocalStorage>,
    /// An upload found no network: none starts until the planned later
    /// try (or a reconnect), so an offline page does not spin.
    backing_off: StoredValue<bool>,
    send: StoredValue<Sender, LocalStorage>,
    writer: StoredValue<Writer, LocalStorage>,
    outbox: Outbox,
}

impl Attachments {
    /// Nothing attached; tokens are asked for through `send`, files are
    /// filed under `writer`'s room and name, and messages go to `outbox`.
    pub(crate) fn new(send: Sender, writer: Writer, outbox: Outbox) -> Self {
        Self {
            tray: RwSignal::new(Tray::default()),
            grants: RwSignal::new(Grants::default()),
            browser: StoredValue::new_local(Browser::default()),
            backing_off: StoredValue::new(false),
            send: StoredValue::new_local(send),
            writer: StoredValue::new_local(writer),
            outbox,
        }
    }

    /// The keys of the room shown's composer files (tracked).
    pub(crate) fn draft_keys(&self, room: &str) -> Vec<u64> {
        self.tray.with(|t| t.draft(room).map(|f| f.key).collect())
    }

    /// The keys of the files of messages sent and waiting for them
    /// (tracked), in `room`.
    pub(crate) fn waiting_keys(&self, room: &str) -> Vec<u64> {
        self.tray.with(|t| {
            t.files()
                .iter()
                .filter(|f| f.room == room && f.parcel.is_some())
                .map(|f| f.key)
                .collect()
        })
    }

    /// File `key` as it is now (tracked).
    pub(crate) fn file(&self, key: u64) -> Option<PendingFile> {
        self.tray.with(|t| t.file(key).cloned())
    }

    /// The object URL showing image file `key`, if it is one.
    pub(crate) fn preview(&self, key: u64) -> Option<String> {
        self.browser.with_value(|b| b.previews.get(&key).cloned())
    }

    /// `?t=…` for the file URLs of `room`, when its files need a read
    /// token (tracked); empty otherwise.
    pub(crate) fn read_query(&self, room: &str) -> String {
        self.grants.with(|g| {
            g.read_token(room)
                .map(|t| format!("?t={}", js_sys::encode_uri_component(t)))
                .unwrap_or_default()
        })
    }

    /// Takes files chosen (picked, pasted or dropped) in the composer of
    /// the room shown, and starts their uploads. Returns the files refused
    /// (too large, too many): they are never uploaded.
    pub(crate) fn choose(&self, files: Vec<File>) -> Vec<Refusal> {
        let Some((room, _)) = (self.writer.get_value())() else {
            return Vec::new();
        };
        let max = self
            .grants
            .with_untracked(Grants::max_bytes)
            .unwrap_or(DEFAULT_MAX_UPLOAD_BYTES);
        let mut refused = Vec::new();
        for file in files {
            let info = FileInfo {
                name: file.name(),
                size: file.size() as u64,
                mime: file.type_(),
            };
            let image = info.mime.starts_with("image/");
            // Made once: every retry of this file sends the same id.
            let upload_id = new_client_id();
            match self.tray.try_update(|t| t.add(&room, info, upload_id, max)) {
                Some(Ok(key)) => {
                    let preview = image
                        .then(|| Url::create_object_url_with_blob(&file).ok())
                        .flatten();
                    self.browser.update_value(|b| {
                        b.files.insert(key, file);
                        if let Some(url) = preview {
                            b.previews.insert(key, url);
                        }
                    });
                }
                Some(Err(refusal)) => refused.push(refusal),
                None => {}
            }
        }
        self.pump();
        refused
    }

    /// Removes file `key` (from the composer, or from a message waiting
    /// for it), cancelling its upload.
    pub(crate) fn remove(&self, key: u64) {
        self.tray.update(|t| {
            t.remove(key);
        });
        self.forget(key);
        self.deliver();
        self.pump();
    }

    /// Tries the refused file `key` again, with the same upload id.
    pub(crate) fn retry(&self, key: u64) {
        if self.tray.try_update(|t| t.retry(key)) == Some(true) {
            self.pump();
        }
    }

    /// Whether the composer of `room` holds files (tracked).
    pub(crate) fn has_draft(&self, room: &str) -> bool {
        self.tray.with(|t| t.draft(room).next().is_some())
    }

    /// Sends the composer's files with `caption` (answering `reply_to`):
    /// the message gets its `client_id` now and goes once they are all
    /// uploaded. Returns whether there were files to send.
    pub(crate) fn send(&self, caption: String, reply_to: Option<u64>) -> bool {
        let Some((room, user)) = (self.writer.get_value())() else {
            return false;
        };
        let parcel = Parcel {
            client_id: new_client_id(),
            room,
            user,
            caption,
            reply_to,
        };
        let sealed = self.tray.try_update(|t| t.seal(parcel)) == Some(true);
        self.deliver();
        self.pump();
        sealed
    }

    /// Joined a room (first, again, or another): its token is asked for
    /// (its file URLs may need its read token), and its files go on
    /// uploading once it comes.
    pub(crate) fn joined(&self) {
        self.grants.update(Grants::joined);
        self.backing_off.set_value(false);
        self.ask_token();
        self.pump();
    }

    /// Asks for the room shown's token unless one is good or on its way.
    fn ask_token(&self) {
        let Some((room, _)) = (self.writer.get_value())() else {
            return;
        };
        if self.grants.try_update(|g| g.should_ask(&room, now_ms())) == Some(true) {
            (self.send.get_value())(&ClientFrame::UploadToken);
        }
    }

    /// The server's `upload_token` for `room`.
    pub(crate) fn token_arrived(
        &self,
        room: String,
        token: String,
        expires_in_secs: u64,
        read: Option<String>,
        max_bytes: u64,
    ) {
        let grant = Grant {
            room,
            token,
            read,
            max_bytes,
            expires_ms: now_ms() + expires_in_secs as f64 * 1000.0,
        };
        self.grants.update(|g| g.arrived(grant));
        // A new one before this one runs out, while the room is shown.
        let renew = (expires_in_secs as f64 * 1000.0 - grant::RENEW_BEFORE_MS).max(1000.0);
        let this = *self;
        set_timeout(
            move || this.ask_token(),
            Duration::from_millis(renew as u64),
        );
        self.pump();
    }

    /// Starts the uploads the room shown has room for, asking for a token
    /// first when none is good; none while backing off after an upload
    /// found no network (offline, every try fails at once: without this
    /// the page would start the next one straight away, hundreds a second).
    fn pump(&self) {
        if self.backing_off.get_value() {
            return;
        }
        let Some((room, _)) = (self.writer.get_value())() else {
            return;
        };
        let now = now_ms();
        let grant = self
            .grants
            .with_untracked(|g| g.usable(&room, now).cloned());
        let Some(grant) = grant else {
            let waiting = self
                .tray
                .with_untracked(|t| t.files().iter().any(|f| f.room == room));
            if waiting && self.grants.try_update(|g| g.should_ask(&room, now)) == Some(true) {
                (self.send.get_value())(&ClientFrame::UploadToken);
            }
            return;
        };
        while let Some(file) = self.tray.try_update(|t| t.start_next(&room)).flatten() {
            self.start(file, &grant.token);
        }
    }

    /// Starts the upload of `file` with `token`.
    fn start(&self, file: PendingFile, token: &str) {
        let key = file.key;
        let Some(blob) = self.browser.with_value(|b| b.files.get(&key).cloned()) else {
            // Its bytes are gone (cannot happen while the tab is open).
            self.tray.update(|t| {
                t.remove(key);
            });
            return;
        };
        let this = *self;
        let upload = xhr::start(
            &blob,
            &file.upload_id,
            &file.info.name,
            token,
            move |sent| this.tray.update(|t| t.progress(key, sent)),
            move |outcome| this.ended(key, outcome),
        );
        match upload {
            Some(upload) => self.browser.update_value(|b| {
                b.uploads.insert(key, upload);
            }),
            // The browser would not even start it: the user may retry.
            None => self.ended(key, Outcome::Refused(UploadErrorCode::ServerError)),
        }
    }

    /// File `key`'s upload ended with `outcome`.
    fn ended(&self, key: u64, outcome: Outcome) {
        self.browser.update_value(|b| {
            b.uploads.remove(&key);
        });
        // A file removed (its upload aborted) says nothing of the network.
        if self.tray.with_untracked(|t| t.file(key).is_none()) {
            return;
        }
        match outcome {
            Outcome::ExpiredToken => self.grants.update(Grants::expired),
            Outcome::Network => self.retry_later(),
            _ => {}
        }
        self.tray.update(|t| t.finished(key, outcome));
        self.deliver();
        self.pump();
    }

    /// Hands the messages whose files are all uploaded to the outbox, and
    /// lets go of their files.
    fn deliver(&self) {
        let ready = self.tray.try_update(Tray::take_ready).unwrap_or_default();
        for done in ready {
            let ids = done.attachments.iter().map(|a| a.id.clone()).collect();
            self.outbox.post_files(
                done.parcel.room,
                done.parcel.user,
                done.parcel.caption,
                done.parcel.reply_to,
                done.parcel.client_id,
                ids,
            );
        }
        let kept: Vec<u64> = self
            .tray
            .with_untracked(|t| t.files().iter().map(|f| f.key).collect());
        let gone: Vec<u64> = self.browser.with_value(|b| {
            b.files
                .keys()
                .copied()
                .filter(|key| !kept.contains(key))
                .collect()
        });
        for key in gone {
            self.forget(key);
        }
    }

    /// Lets go of file `key`'s browser objects, cancelling its upload.
    fn forget(&self, key: u64) {
        self.browser.update_value(|b| {
            b.files.remove(&key);
            if let Some(upload) = b.uploads.remove(&key) {
                upload.abort();
            }
            if let Some(url) = b.previews.remove(&key) {
                let _ = Url::revoke_object_url(&url);
            }
        });
    }

    /// Holds the uploads back, and tries again after [`NETWORK_RETRY`],
    /// once however often it is asked.
    fn retry_later(&self) {
        if self.backing_off.get_value() {
            return;
        }
        self.backing_off.set_value(true);
        let this = *self;
        set_timeout(
            move || {
                if this.backing_off.get_value() {
                    this.backing_off.set_value(false);
                    this.pump();
                }
            },
            NETWORK_RETRY,
        );
    }
}

/// The attachments from context.
pub(crate) fn use_attachments() -> Attachments {
    expect_context::<Attachments>()
}
