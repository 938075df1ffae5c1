//! My messages (and edits, deletions, reactions) the server has not
//! confirmed, in sending order, and how
//! they go out: queued until joined on an open socket, sent a batch at a
//! time under the server's rate limit, requeued when the socket closes,
//! failed when the server refuses one.
//!
//! Edits, deletions and reactions wait here too, as [`Act`]s: done
//! offline, they go out once, after the reconnect, like messages.
//!
//! - [`queue`]: the plain state machine ([`queue::OutboxState`]).
//! - [`disk`]: every message kept in localStorage until confirmed.
//! - [`Outbox`] (here) holds the state in a signal for the views (one
//!   signal per message for its delivery state), keeps every message on
//!   disk until confirmed, and plans the later flushes.

mod disk;
pub(crate) mod queue;

use chat_shared::{normalize_emoji, ClientLimits, ErrorCode};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use queue::{error_effect, Delivery, ErrorEffect, FlushPace, OutboxState, Outgoing};

use super::rows::RowSignals;
use super::{Sender, Writer};
use crate::i18n::Problem;
use crate::time::now_ms;

/// One unconfirmed message (or change to a message) as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Unsent {
    /// The room it was written in: it is only ever sent there.
    pub(crate) room: String,
    /// The author's name key (`username_key`): only that user sends it.
    pub(crate) user: String,
    /// A message's or an edit's text; empty for the other acts.
    pub(crate) text: String,
    pub(crate) client_id: String,
    /// When it was written (ms since the epoch): the sending order.
    pub(crate) written_ms: f64,
    /// What it does; absent from what older builds stored: a message.
    #[serde(default)]
    pub(crate) act: Act,
    /// A message's files (ids from their uploads), already uploaded: the
    /// text is their caption. Kept on disk like the rest, as the files
    /// themselves are on the server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) attachments: Vec<String>,
}

impl Unsent {
    /// Whether it is a new message, shown in the pending list (the other
    /// acts change a message already on the page).
    pub(crate) fn is_post(&self) -> bool {
        matches!(self.act, Act::Post { .. })
    }
}

/// What an unsent entry asks the server to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Act {
    /// Post a message, answering `reply_to` if set.
    Post {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
    },
    /// Change message `id`'s text to the entry's text.
    Edit { id: u64 },
    /// Delete message `id`.
    Delete { id: u64 },
    /// Put a reaction on message `id` or take mine off.
    React { id: u64, emoji: String, on: bool },
}

impl Default for Act {
    fn default() -> Self {
        Act::Post { reply_to: None }
    }
}

/// A random UUID v4 for a new message's `client_id`.
pub(crate) fn new_client_id() -> String {
    let mut bytes = crate::random::bytes::<16>();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = crate::random::hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The outbox for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct Outbox {
    state: RwSignal<OutboxState>,
    deliveries: StoredValue<RowSignals<Delivery>>,
    pace: StoredValue<FlushPace>,
    /// A later flush is already planned.
    flush_planned: StoredValue<bool>,
    send: StoredValue<Sender, LocalStorage>,
    /// Who writes where, for what the user does.
    writer: StoredValue<Writer, LocalStorage>,
}

impl Outbox {
    /// An empty outbox sending through `send`, filing what the user does
    /// under `writer`.
    pub(crate) fn new(send: Sender, writer: Writer) -> Self {
        let state = RwSignal::new(OutboxState::default());
        Self {
            state,
            deliveries: StoredValue::new(RowSignals::new()),
            pace: StoredValue::new(FlushPace::default()),
            flush_planned: StoredValue::new(false),
            send: StoredValue::new_local(send),
            writer: StoredValue::new_local(writer),
        }
    }

    /// The new messages' keys in sending order (tracked): what the list
    /// renders. Edits, deletions and reactions wait unseen.
    pub(crate) fn keys(&self) -> Vec<u64> {
        self.state.with(|s| {
            s.items()
                .iter()
                .filter(|o| o.unsent.is_post())
                .map(|o| o.key)
                .collect()
        })
    }

    /// How many new messages wait (tracked).
    pub(crate) fn len(&self) -> usize {
        self.state
            .with(|s| s.items().iter().filter(|o| o.unsent.is_post()).count())
    }

    /// Whether no new messages wait (tracked).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The message `key` as it is now (untracked): its delivery state is
    /// read from [`Outbox::delivery`].
    pub(crate) fn item(&self, key: u64) -> Option<Outgoing> {
        self.state
            .with_untracked(|s| s.items().iter().find(|o| o.key == key).cloned())
    }

    /// The delivery state of message `key`, as a signal of that row alone.
    pub(crate) fn delivery(&self, key: u64) -> ArcReadSignal<Delivery> {
        self.deliveries
            .with_value(|rows| rows.get(key))
            .unwrap_or_else(|| ArcRwSignal::new(Delivery::Queued).read_only())
    }

    /// The server announced its limits: flush at the pace they allow.
    pub(crate) fn set_limits(&self, limits: &ClientLimits) {
        self.pace.set_value(FlushPace::from_limits(limits));
    }

    /// Queues what `user` (a name key) did in `room` (a message, or a
    /// change to one, with its text), keeps it on disk, and sends it if
    /// it can.
    fn write(&self, room: String, user: String, text: String, act: Act) {
        let unsent = Unsent {
            room,
            user,
            text,
            client_id: new_client_id(),
            written_ms: now_ms(),
            act,
            attachments: Vec::new(),
        };
        self.queue(unsent);
    }

    /// Keeps `unsent` on disk, queues it and sends it if it can.
    fn queue(&self, unsent: Unsent) {
        disk::keep(&unsent);
        self.change(|s| s.add(unsent));
        self.flush();
    }

    /// Queues a message with files, all uploaded (`attachments` are their
    /// ids), with the `client_id` it was given when the user sent it: it
    /// waited for its uploads, and goes now as any message does.
    pub(crate) fn post_files(
        &self,
        room: String,
        user: String,
        caption: String,
        reply_to: Option<u64>,
        client_id: String,
        attachments: Vec<String>,
    ) {
        self.queue(Unsent {
            room,
            user,
            text: caption,
            client_id,
            written_ms: now_ms(),
            act: Act::Post { reply_to },
            attachments,
        });
    }

    /// Queues what I did in the room shown (a message, or a change to one,
    /// with its text) under my name, as [`Outbox::write`] does; nothing
    /// before I have a name.
    pub(crate) fn act(&self, act: Act, text: String) {
        if let Some((room, user)) = (self.writer.get_value())() {
            self.write(room, user, text, act);
        }
    }

    /// Deletes message `id` (mine) for everyone.
    pub(crate) fn delete(&self, id: u64) {
        self.act(Act::Delete { id }, String::new());
    }

    /// Puts my reaction `emoji` on message `id`, or takes it off if it is
    /// there (`on` is what it becomes).
    pub(crate) fn react(&self, id: u64, emoji: &str, on: bool) {
        if let Some(emoji) = normalize_emoji(emoji) {
            let emoji = emoji.to_owned();
            self.act(Act::React { id, emoji, on }, String::new());
        }
    }

    /// Queues a refused message once more.
    pub(crate) fn resend(&self, key: u64) {
        self.change(|s| s.resend(key));
        self.flush();
    }

    /// Forgets a refused message, on disk too.
    pub(crate) fn discard(&self, key: u64) {
        if let Some(client_id) = self.change(|s| s.discard(key)).flatten() {
            disk::forget(&client_id);
        }
    }

    /// The server stored the message (or change) `client_id` of mine.
    /// Returns whether this browser sent it (it was here or on disk).
    pub(crate) fn confirmed(&self, client_id: &str) -> bool {
        let on_disk = disk::contains(client_id);
        disk::forget(client_id);
        let here = self
            .state
            .with_untracked(|s| s.items().iter().any(|o| o.unsent.client_id == client_id));
        if here {
            self.change(|s| s.confirmed(client_id));
        }
        here || on_disk
    }

    /// The server answered with an error (see [`error_effect`]); the
    /// refused message is the one `client_id` names. Returns whether the
    /// outbox dealt with it, so the user need not be told otherwise.
    pub(crate) fn server_error(
        &self,
        code: ErrorCode,
        retry_after_ms: Option<u64>,
        client_id: Option<&str>,
        problem: &Problem,
    ) -> bool {
        let effect = error_effect(code, retry_after_ms);
        let act = self.state.with_untracked(|s| s.act_named(client_id));
        match (effect, act) {
            (ErrorEffect::Retry(_) | ErrorEffect::RetryAndTell(_), _) | (_, None) => {}
            (ErrorEffect::Refuse | ErrorEffect::Unrelated, Some(key)) => {
                // An edit too late, a reaction on a message deleted since:
                // nothing to retry, only to tell.
                self.discard(key);
                return false;
            }
        }
        match effect {
            ErrorEffect::Retry(wait) => {
                self.retry_after(client_id, wait);
                true
            }
            ErrorEffect::RetryAndTell(wait) => {
                self.retry_after(client_id, wait);
                false
            }
            ErrorEffect::Refuse => self
                .change(|s| s.refused(client_id, problem.clone()))
                .unwrap_or(false),
            ErrorEffect::Unrelated => false,
        }
    }

    /// The socket closed: what was in flight goes again on the next one.
    pub(crate) fn socket_closed(&self) {
        self.change(OutboxState::requeue_sent);
    }

    /// The server stored nothing of the message `client_id` (or, if it
    /// names none, of any in flight): it goes again after `wait`.
    fn retry_after(&self, client_id: Option<&str>, wait: Duration) {
        self.change(|s| s.requeue(client_id));
        self.plan_flush(wait);
    }

    /// Joined in a room as `user`: takes in what the disk holds for it and
    /// sends what is queued.
    pub(crate) fn joined(&self, room: &str, user: &str) {
        let stored = disk::load(room, user);
        self.change(|s| s.adopt(stored));
        self.flush();
    }

    /// Forgets the messages of the room being left; the disk keeps them
    /// for the next visit.
    pub(crate) fn clear(&self) {
        self.change(OutboxState::clear);
    }

    /// Sends a batch of queued messages, and plans the next batch.
    pub(crate) fn flush(&self) {
        let pace = self.pace.get_value();
        let send = self.send.get_value();
        let more = self.change(|s| s.flush(pace, |frame| send(frame)));
        if more == Some(true) {
            self.plan_flush(pace.pause);
        }
    }

    /// Flushes after `wait`, once however often it is asked.
    fn plan_flush(&self, wait: Duration) {
        if self.flush_planned.get_value() {
            return;
        }
        self.flush_planned.set_value(true);
        let this = *self;
        set_timeout(
            move || {
                this.flush_planned.set_value(false);
                this.flush();
            },
            wait,
        );
    }

    /// Changes the state, then tells each row whose delivery changed.
    fn change<R>(&self, f: impl FnOnce(&mut OutboxState) -> R) -> Option<R> {
        let result = self.state.try_update(f);
        self.state.with_untracked(|s| {
            self.deliveries.update_value(|rows| {
                rows.sync(s.items().iter().map(|o| (o.key, o.delivery.clone())));
            });
        });
        result
    }
}

/// The outbox from context.
pub(crate) fn use_outbox() -> Outbox {
    expect_context::<Outbox>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_stored_by_an_older_build_is_a_message() {
        let old = r#"{"room":"general","user":"a","text":"hi","client_id":"c","written_ms":1.0}"#;
        let unsent: Unsent = serde_json::from_str(old).expect("parses");
        assert!(unsent.is_post());
        let edit = Unsent {
            act: Act::Edit { id: 4 },
            ..unsent
        };
        let json = serde_json::to_string(&edit).expect("serialises");
        assert_eq!(serde_json::from_str::<Unsent>(&json).ok(), Some(edit));
    }
}
