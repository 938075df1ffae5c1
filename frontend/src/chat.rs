//! The chat as this page sees it: who I am, the conversation, who is online
//! and typing, and what I sent that the server has not confirmed yet.
//!
//! [`Chat`] turns server frames into state and user actions into frames;
//! components only read its signals and call its methods.

use chat_shared::{
    normalize_message, normalize_username, ChatMessage, ClientFrame, ErrorCode, ServerFrame,
};
use leptos::prelude::*;
use std::collections::HashMap;
use std::time::Duration;

use crate::i18n::Problem;
use crate::socket::{socket_url, Connection, SocketEvent};
use crate::storage;
use crate::time::{epoch_ms, now_ms};
use crate::typing::{OutgoingTyping, Typists};

/// The conversation keeps this many entries; older ones leave the page so
/// a chat left open for days stays fast.
const MAX_ENTRIES: usize = 500;
/// Messages by one author closer together than this share one header.
const GROUP_WINDOW_MS: f64 = 5.0 * 60.0 * 1000.0;
/// After a reconnect the server may not have noticed our old socket is gone
/// yet, and answer `name_taken` to our own name; we try again this often...
const REJOIN_RETRY: Duration = Duration::from_secs(2);
/// ...this many times before asking the user for a name.
const REJOIN_ATTEMPTS: u32 = 5;

const NAME_KEY: &str = "chat.name";
/// Followed by the lower-cased name: the resume token of that name, so a
/// reload keeps the name through the server's grace period.
const RESUME_KEY_PREFIX: &str = "chat.resume.";

/// One line of the conversation.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Local and unique for the page: server ids restart with a server that
    /// keeps its history in memory.
    pub key: u64,
    /// Shown without the author's name because the previous entry was a
    /// message by the same author a moment earlier.
    pub continues: bool,
    pub kind: EntryKind,
}

/// What a conversation line shows.
#[derive(Clone, Debug)]
pub enum EntryKind {
    Message {
        message: ChatMessage,
        mine: bool,
    },
    Joined(String),
    Left(String),
    /// Heads the history the server sent on joining, so it does not read
    /// as if it had just been said.
    Earlier,
}

/// A message of mine the server has not confirmed.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub key: u64,
    pub text: String,
    /// Sent with the message and echoed in its confirmation; a resend
    /// reuses it so the server never stores the message twice.
    pub client_id: String,
    /// `None` while sent and waiting for the server's copy; why it failed
    /// otherwise.
    pub failed: Option<Problem>,
}

/// The chat state, shared by context.
#[derive(Clone, Copy)]
pub struct Chat {
    pub connection: Connection,
    /// The name to join (and re-join after a reconnect) under; `None` until
    /// the user asks to join.
    pub wanted_name: RwSignal<Option<String>>,
    /// The name the server confirmed on the current socket.
    pub me: RwSignal<Option<String>>,
    /// True once welcomed: the chat view stays up through reconnects.
    pub entered: RwSignal<bool>,
    /// Why the last join failed, shown by the name field.
    pub join_error: RwSignal<Option<Problem>>,
    pub entries: RwSignal<Vec<Entry>>,
    pub outgoing: RwSignal<Vec<Outgoing>>,
    /// Everyone online, sorted like the server sorts: kept from `welcome`
    /// and updated by `user_joined` / `user_left`.
    pub users: RwSignal<Vec<String>>,
    pub typists: Typists,
    typing: StoredValue<OutgoingTyping, LocalStorage>,
    /// Messages from others that arrived while the tab was hidden.
    pub unread: RwSignal<u32>,
    /// The latest message from someone else, for the aria-live region.
    pub announcement: RwSignal<String>,
    /// A refusal not tied to the name field or a message.
    pub notice: RwSignal<Option<Problem>>,
    next_key: StoredValue<u64>,
    rejoin_attempts: StoredValue<u32>,
    /// The messages on the page by server id: the entry key showing each
    /// and its timestamp. A copy (history replay, a resend's original) is
    /// recognised here and never shown twice.
    shown: StoredValue<HashMap<u64, (u64, String)>>,
    /// The last `resume` token the server gave, with the name it is for.
    resume: StoredValue<Option<(String, String)>>,
}

impl Chat {
    /// Creates the state and starts the connection.
    pub fn start() -> Self {
        let chat_slot: StoredValue<Option<Chat>, LocalStorage> = StoredValue::new_local(None);
        let connection = Connection::start(socket_url(), move |event| {
            if let Some(chat) = chat_slot.get_value() {
                chat.on_socket_event(event);
            }
        });
        let chat = Chat {
            connection,
            wanted_name: RwSignal::new(None),
            me: RwSignal::new(None),
            entered: RwSignal::new(false),
            join_error: RwSignal::new(None),
            entries: RwSignal::new(Vec::new()),
            outgoing: RwSignal::new(Vec::new()),
            users: RwSignal::new(Vec::new()),
            typists: Typists::new(),
            typing: StoredValue::new_local(OutgoingTyping::default()),
            unread: RwSignal::new(0),
            announcement: RwSignal::new(String::new()),
            notice: RwSignal::new(None),
            next_key: StoredValue::new(0),
            rejoin_attempts: StoredValue::new(0),
            shown: StoredValue::new(HashMap::new()),
            resume: StoredValue::new(None),
        };
        chat_slot.set_value(Some(chat));
        chat
    }

    /// The name remembered from the last visit.
    pub fn remembered_name() -> Option<String> {
        storage::get(NAME_KEY)
    }

    /// Joins under `raw` if the shared rules accept it. The join is sent now
    /// if connected, or as soon as the connection opens.
    pub fn join(&self, raw: &str) {
        match normalize_username(raw) {
            Err(error) => self.join_error.set(Some(Problem::Name(error))),
            Ok(name) => {
                self.join_error.set(None);
                self.rejoin_attempts.set_value(0);
                self.wanted_name.set(Some(name.clone()));
                self.connection.send(&self.join_frame(name));
            }
        }
    }

    /// Whether a join was asked for and has no answer yet (tracked).
    pub fn is_joining(&self) -> bool {
        self.wanted_name.with(Option::is_some) && self.me.with(Option::is_none)
    }

    /// Whether a message could be sent right now (tracked).
    pub fn can_send(&self) -> bool {
        self.connection.is_online() && self.me.with(Option::is_some)
    }

    /// Sends a message if the shared rules accept it and we are connected.
    /// Returns whether it went out; the composer keeps the text otherwise.
    pub fn send_message(&self, raw: &str) -> Result<(), Problem> {
        let text = normalize_message(raw).map_err(Problem::Message)?;
        if !self.can_send() {
            return Err(Problem::ConnectionLost);
        }
        self.stop_typing();
        let client_id = new_client_id();
        if !self.connection.send(&message_frame(text, &client_id)) {
            return Err(Problem::ConnectionLost);
        }
        let key = self.next_key();
        self.outgoing.update(|list| {
            list.push(Outgoing {
                key,
                text: text.to_owned(),
                client_id,
                failed: None,
            })
        });
        Ok(())
    }

    /// Sends a message that failed again.
    pub fn resend(&self, key: u64) {
        let Some((text, client_id)) = self.outgoing.with_untracked(|list| {
            list.iter()
                .find(|o| o.key == key)
                .map(|o| (o.text.clone(), o.client_id.clone()))
        }) else {
            return;
        };
        if self.can_send() && self.connection.send(&message_frame(&text, &client_id)) {
            // Move it to the end: the server confirms in sending order.
            self.outgoing.update(|list| {
                if let Some(at) = list.iter().position(|o| o.key == key) {
                    let mut item = list.remove(at);
                    item.failed = None;
                    list.push(item);
                }
            });
        }
    }

    /// Forgets a message that failed.
    pub fn discard(&self, key: u64) {
        self.outgoing.update(|list| list.retain(|o| o.key != key));
    }

    /// The user typed in the composer.
    pub fn typed(&self) {
        if !self.can_send() {
            return;
        }
        let this = *self;
        let send = move |is_typing| this.connection.send(&ClientFrame::Typing { is_typing });
        let stop = move || this.stop_typing();
        self.typing
            .update_value(|typing| typing.keystroke(now_ms(), send, stop));
    }

    /// The user sent, or left the composer: tell the others at once.
    pub fn stop_typing(&self) {
        let this = *self;
        self.typing.update_value(|typing| {
            typing.stop(|is_typing| this.connection.send(&ClientFrame::Typing { is_typing }))
        });
    }

    fn next_key(&self) -> u64 {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        key
    }

    fn on_socket_event(&self, event: SocketEvent) {
        match event {
            SocketEvent::Opened => {
                if let Some(name) = self.wanted_name.get_untracked() {
                    self.connection.send(&self.join_frame(name));
                }
            }
            SocketEvent::Frame(frame, raw) => self.on_frame(frame, &raw),
            SocketEvent::Closed => {
                self.me.set(None);
                self.users.set(Vec::new());
                self.typists.clear();
                self.typing.update_value(OutgoingTyping::reset);
                // Unconfirmed messages may or may not have arrived; say so
                // and let the user resend rather than risk a duplicate.
                self.outgoing.update(|list| {
                    for item in list.iter_mut().filter(|o| o.failed.is_none()) {
                        item.failed = Some(Problem::ConnectionLost);
                    }
                });
            }
        }
    }

    fn on_frame(&self, frame: ServerFrame, raw: &str) {
        match frame {
            ServerFrame::Welcome {
                username,
                users,
                history,
                history_gap,
                resume,
                ..
            } => {
                storage::set(NAME_KEY, &username);
                storage::set(&resume_key(&username), &resume);
                self.resume.set_value(Some((username.clone(), resume)));
                self.rejoin_attempts.set_value(0);
                self.join_error.set(None);
                self.wanted_name.set(Some(username.clone()));
                self.users.set(users);
                self.me.set(Some(username));
                self.entered.set(true);
                if history_gap {
                    // What we had and what follows are not continuous.
                    self.entries.set(Vec::new());
                    self.shown.update_value(HashMap::clear);
                }
                let fresh_page = self.shown.with_value(HashMap::is_empty);
                if fresh_page && !history.is_empty() {
                    self.push_entry(EntryKind::Earlier);
                }
                for message in history {
                    self.show_message(message, false);
                }
            }
            ServerFrame::Message(message) => self.show_message(message, true),
            ServerFrame::Typing {
                username,
                is_typing,
            } => {
                if is_typing {
                    self.typists.started(username);
                } else {
                    self.typists.stopped(&username);
                }
            }
            ServerFrame::UserJoined { username, .. } => {
                self.users.update(|users| {
                    if let Err(at) = users.binary_search(&username) {
                        users.insert(at, username.clone());
                    }
                });
                self.push_entry(EntryKind::Joined(username));
            }
            ServerFrame::UserLeft { username, .. } => {
                self.users.update(|users| users.retain(|u| *u != username));
                self.typists.stopped(&username);
                self.push_entry(EntryKind::Left(username));
            }
            ServerFrame::Error { code, message } => {
                let problem = Problem::server(code, raw_error_code(code, raw), message);
                self.on_error(code, problem);
            }
            // Rooms and history paging are not shown yet.
            ServerFrame::History { .. }
            | ServerFrame::Rooms { .. }
            | ServerFrame::Heartbeat
            | ServerFrame::Unknown => {}
        }
    }

    /// The join for `name`: with the newest message we have, so the server
    /// replays exactly what we missed, and the name's resume token.
    fn join_frame(&self, name: String) -> ClientFrame {
        let since = self.shown.with_value(|shown| shown.keys().max().copied());
        let resume = self
            .resume
            .get_value()
            .filter(|(for_name, _)| for_name.to_lowercase() == name.to_lowercase())
            .map(|(_, token)| token)
            .or_else(|| storage::get(&resume_key(&name)));
        ClientFrame::Join {
            username: name,
            room: None,
            since,
            resume,
        }
    }

    /// Shows a message from the server once, in id order; `live` ones (not
    /// replayed history) also notify.
    fn show_message(&self, message: ChatMessage, live: bool) {
        let mine = self
            .me
            .with_untracked(|me| me.as_deref() == Some(message.username.as_str()));
        if let Some(client_id) = message.client_id.as_deref().filter(|_| mine) {
            self.outgoing
                .update(|list| list.retain(|o| o.client_id != client_id));
        }
        let seen = self
            .shown
            .with_value(|shown| shown.get(&message.id).cloned());
        match seen {
            Some((_, timestamp)) if timestamp == message.timestamp => return,
            // The same id for another message: the server lost its history
            // and counts from 1 again. What is on the page stays, but no
            // longer orders or filters the new numbering.
            Some(_) => self.shown.update_value(HashMap::clear),
            None => {}
        }
        if live && !mine {
            self.typists.stopped(&message.username);
            self.announcement
                .set(format!("{}: {}", message.username, message.text));
            if document().hidden() {
                self.unread.update(|n| *n += 1);
            }
        }
        self.push_entry(EntryKind::Message { message, mine });
    }

    fn on_error(&self, code: ErrorCode, problem: Problem) {
        let is_join_error = matches!(code, ErrorCode::NameTaken | ErrorCode::InvalidUsername);
        if is_join_error && self.me.with_untracked(Option::is_none) {
            let rejoining = self.entered.get_untracked();
            let attempts = self.rejoin_attempts.get_value();
            if rejoining && code == ErrorCode::NameTaken && attempts < REJOIN_ATTEMPTS {
                self.rejoin_attempts.set_value(attempts + 1);
                let this = *self;
                set_timeout(
                    move || {
                        if let (None, Some(name)) =
                            (this.me.get_untracked(), this.wanted_name.get_untracked())
                        {
                            this.connection.send(&this.join_frame(name));
                        }
                    },
                    REJOIN_RETRY,
                );
                return;
            }
            self.wanted_name.set(None);
            self.entered.set(false);
            self.join_error.set(Some(problem));
            return;
        }
        let about_a_message = matches!(
            code,
            ErrorCode::EmptyMessage | ErrorCode::MessageTooLong | ErrorCode::Unknown
        );
        let mut blamed = false;
        if about_a_message {
            self.outgoing.update(|list| {
                if let Some(item) = list.iter_mut().find(|o| o.failed.is_none()) {
                    item.failed = Some(problem.clone());
                    blamed = true;
                }
            });
        }
        if !blamed && code != ErrorCode::AlreadyJoined {
            self.notice.set(Some(problem));
        }
    }

    fn push_entry(&self, kind: EntryKind) {
        let key = self.next_key();
        let shown = self.shown;
        if let EntryKind::Message { message, .. } = &kind {
            shown.update_value(|shown| {
                shown.insert(message.id, (key, message.timestamp.clone()));
            });
        }
        self.entries.update(|entries| {
            // Messages stay in id order: one older than the newest lines
            // (a late replay) goes before them.
            let at = match &kind {
                EntryKind::Message { message, .. } => shown.with_value(|shown| {
                    let mut at = entries.len();
                    while let Some(Entry {
                        key: before_key,
                        kind:
                            EntryKind::Message {
                                message: before, ..
                            },
                        ..
                    }) = at.checked_sub(1).and_then(|i| entries.get(i))
                    {
                        let current = shown.get(&before.id).map(|s| s.0) == Some(*before_key);
                        if !current || before.id < message.id {
                            break;
                        }
                        at -= 1;
                    }
                    at
                }),
                _ => entries.len(),
            };
            let continues = at
                .checked_sub(1)
                .and_then(|i| entries.get(i))
                .is_some_and(|previous| continues_after(&previous.kind, &kind));
            if let Some(next) = entries.get_mut(at) {
                next.continues = continues_after(&kind, &next.kind);
            }
            entries.insert(
                at,
                Entry {
                    key,
                    continues,
                    kind,
                },
            );
            if entries.len() > MAX_ENTRIES {
                let dropped: Vec<(u64, u64)> = entries[..entries.len() - MAX_ENTRIES]
                    .iter()
                    .filter_map(|entry| match &entry.kind {
                        EntryKind::Message { message, .. } => Some((message.id, entry.key)),
                        _ => None,
                    })
                    .collect();
                shown.update_value(|shown| {
                    for (id, key) in dropped {
                        if shown.get(&id).is_some_and(|s| s.0 == key) {
                            shown.remove(&id);
                        }
                    }
                });
                entries.drain(..entries.len() - MAX_ENTRIES);
                // The new first line has lost the header it continued.
                if let Some(first) = entries.first_mut() {
                    first.continues = false;
                }
            }
        });
    }
}

/// Whether `next` is shown without a header, continuing `previous`: the
/// same author a moment later.
fn continues_after(previous: &EntryKind, next: &EntryKind) -> bool {
    match (previous, next) {
        (
            EntryKind::Message {
                message: previous, ..
            },
            EntryKind::Message { message, .. },
        ) => {
            previous.username == message.username
                && epoch_ms(&message.timestamp) - epoch_ms(&previous.timestamp) < GROUP_WINDOW_MS
        }
        _ => false,
    }
}

/// Where the resume token for `name` is stored: names differing only in
/// case are one name to the server.
fn resume_key(name: &str) -> String {
    format!("{RESUME_KEY_PREFIX}{}", name.to_lowercase())
}

fn message_frame(text: &str, client_id: &str) -> ClientFrame {
    ClientFrame::Message {
        text: text.to_owned(),
        client_id: Some(client_id.to_owned()),
    }
}

/// A random UUID v4 for a message's `client_id`. `crypto.getRandomValues`
/// works on plain `http://` too (unlike `crypto.randomUUID`); should it
/// fail, `Math.random` still makes ids unique enough for one user's outbox.
fn new_client_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = window()
        .crypto()
        .and_then(|crypto| crypto.get_random_values_with_u8_array(&mut bytes))
        .is_ok();
    if !filled {
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The wire code of an error this build does not know (e.g. a newer
/// server's `rate_limited`), read from the raw frame so it can still be
/// translated.
fn raw_error_code(code: ErrorCode, raw: &str) -> Option<String> {
    if code != ErrorCode::Unknown {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct RawError {
        code: String,
    }
    serde_json::from_str::<RawError>(raw).ok().map(|e| e.code)
}

/// The chat from context.
pub fn use_chat() -> Chat {
    expect_context::<Chat>()
}
