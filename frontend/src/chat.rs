//! The chat as this page sees it: who I am, the room I am in, the
//! conversation, who is online and typing, and what I wrote that the server
//! has not confirmed yet.
//!
//! [`Chat`] turns server frames into state and user actions into frames;
//! components only read its signals and call its methods.

use chat_shared::{
    normalize_message, normalize_username, username_key, ChatMessage, ClientFrame, ErrorCode,
    RoomInfo, ServerFrame, DEFAULT_ROOM,
};
use futures_util::StreamExt;
use leptos::prelude::*;
use std::collections::HashMap;
use std::time::Duration;

use crate::i18n::Problem;
use crate::outbox::{self, Unsent};
use crate::route;
use crate::socket::{socket_url, Connection, SocketEvent, CLOSE_NORMAL};
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
/// Messages asked for per scroll to the top.
const OLDER_PAGE: u32 = 50;
/// Queued messages sent at once; more wait a second per batch, so a long
/// outbox stays under the server's rate limit (5 per second, bursts of 10).
const FLUSH_BATCH: usize = 5;
const FLUSH_PAUSE: Duration = Duration::from_secs(1);
/// When the server could not store a message: try again after this long.
const SERVER_ERROR_PAUSE: Duration = Duration::from_secs(5);
/// The room list is refreshed this often while connected and visible:
/// every open page asks, so this is what it costs the server.
const ROOMS_REFRESH: Duration = Duration::from_secs(10);

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
    pub unsent: Unsent,
    pub delivery: Delivery,
}

/// Where a message of mine is on its way to the server.
#[derive(Clone, Debug, PartialEq)]
pub enum Delivery {
    /// Waiting for a connection (or for the rate limit); sent by itself.
    Queued,
    /// Sent on the current socket; the server's copy has not come back.
    Sending,
    /// The server refused it; the user decides to resend or discard.
    Failed(Problem),
}

impl Delivery {
    /// A stable name, exposed as `data-state` for styling and the tests.
    pub fn name(&self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sending => "sending",
            Delivery::Failed(_) => "failed",
        }
    }
}

/// Whether the messages before the oldest one on the page can be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Older {
    MayExist,
    Loading,
    /// The page shows the room from its first message.
    NoMore,
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
    /// The room joined (or to join): the address bar names it too.
    pub room: RwSignal<String>,
    /// Every room with how many are online, as the server last listed them.
    pub rooms: RwSignal<Vec<RoomInfo>>,
    pub entries: RwSignal<Vec<Entry>>,
    /// Whether scrolling up can show more.
    pub older: RwSignal<Older>,
    /// My unconfirmed messages in this room, in sending order; kept on disk
    /// by [`outbox`] as well.
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
    /// A later outbox flush is already planned.
    flush_planned: StoredValue<bool>,
}

impl Chat {
    /// Creates the state; the connection opens once the user joins (at
    /// once if this browser was in the chat before).
    pub fn start() -> Self {
        let (connection, mut events) = Connection::start(socket_url());
        let chat = Chat {
            connection,
            wanted_name: RwSignal::new(None),
            me: RwSignal::new(None),
            entered: RwSignal::new(false),
            join_error: RwSignal::new(None),
            room: RwSignal::new(route::current_room()),
            rooms: RwSignal::new(Vec::new()),
            entries: RwSignal::new(Vec::new()),
            older: RwSignal::new(Older::MayExist),
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
            flush_planned: StoredValue::new(false),
        };
        leptos::task::spawn_local(async move {
            while let Some(event) = events.next().await {
                chat.on_socket_event(event);
            }
        });
        chat.follow_address();
        chat.refresh_rooms_regularly();
        // Someone who was in the chat (the page kept a resume token for the
        // name) comes back to it on a reload instead of to the name form.
        if let Some(name) = Self::remembered_name() {
            if storage::get(&resume_key(&name)).is_some() {
                chat.join(&name);
            }
        }
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
                // Sent once the socket opens, if it is not open yet.
                self.connection.open();
                self.connection.send(&self.join_frame(name));
            }
        }
    }

    /// Whether a join was asked for and has no answer yet (tracked).
    pub fn is_joining(&self) -> bool {
        self.wanted_name.with(Option::is_some) && self.me.with(Option::is_none)
    }

    /// Whether frames can go to the server right now: connected and
    /// joined (tracked).
    pub fn can_send(&self) -> bool {
        self.connection.is_online() && self.me.with(Option::is_some)
    }

    /// Queues a message if the shared rules accept it, and sends it now if
    /// connected; otherwise it goes out by itself once the connection is
    /// back, even after a reload.
    pub fn send_message(&self, raw: &str) -> Result<(), Problem> {
        let text = normalize_message(raw).map_err(Problem::Message)?;
        let Some(name) = self.me.get_untracked().or(self.wanted_name.get_untracked()) else {
            return Err(Problem::ConnectionLost);
        };
        self.stop_typing();
        let unsent = Unsent {
            room: self.room.get_untracked(),
            user: username_key(&name),
            text: text.to_owned(),
            client_id: new_client_id(),
            written_ms: now_ms(),
        };
        outbox::keep(&unsent);
        let key = self.next_key();
        self.outgoing.update(|list| {
            list.push(Outgoing {
                key,
                unsent,
                delivery: Delivery::Queued,
            })
        });
        self.flush_outbox();
        Ok(())
    }

    /// Queues a message the server refused once more.
    pub fn resend(&self, key: u64) {
        self.outgoing.update(|list| {
            if let Some(at) = list.iter().position(|o| o.key == key) {
                // To the end: the server confirms in sending order.
                let mut item = list.remove(at);
                item.delivery = Delivery::Queued;
                list.push(item);
            }
        });
        self.flush_outbox();
    }

    /// Forgets a message the server refused.
    pub fn discard(&self, key: u64) {
        self.outgoing.update(|list| {
            list.retain(|o| {
                let keep = o.key != key;
                if !keep {
                    outbox::forget(&o.unsent.client_id);
                }
                keep
            })
        });
    }

    /// Goes to another room: a socket is joined to one room for its life,
    /// so the page leaves this one (others see it go) and joins there on a
    /// fresh socket. The address bar follows.
    pub fn switch_room(&self, room: String) {
        route::show_room(&room);
        if room == self.room.get_untracked() {
            return;
        }
        self.room.set(room);
        self.forget_room();
        if self.wanted_name.with_untracked(Option::is_some) {
            self.me.set(None);
            self.connection.reconnect(CLOSE_NORMAL, "switching rooms");
        }
    }

    /// Asks for the messages before the oldest one on the page, unless a
    /// request is out or the page already starts at the first message.
    pub fn load_older(&self) {
        if self.older.get_untracked() != Older::MayExist || !untrack(|| self.can_send()) {
            return;
        }
        let Some(oldest) = self.shown.with_value(|shown| shown.keys().min().copied()) else {
            self.older.set(Older::NoMore);
            return;
        };
        let request = ClientFrame::History {
            before: oldest,
            limit: Some(OLDER_PAGE),
        };
        if self.connection.send(&request) {
            self.older.set(Older::Loading);
        }
    }

    /// Leaves the chat on purpose: the others see me go at once, and this
    /// browser forgets the name's session so a reload shows the name form.
    pub fn leave(&self) {
        if let Some(name) = self.wanted_name.get_untracked() {
            storage::remove(&resume_key(&name));
        }
        self.resume.set_value(None);
        self.wanted_name.set(None);
        self.me.set(None);
        self.entered.set(false);
        self.forget_room();
        self.connection.close(CLOSE_NORMAL, "left");
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
                // Whether they arrived or not, they go again on the next
                // socket: the server keeps one message per client_id.
                self.requeue_sent();
                if self.older.get_untracked() == Older::Loading {
                    self.older.set(Older::MayExist);
                }
            }
        }
    }

    fn on_frame(&self, frame: ServerFrame, raw: &str) {
        match frame {
            ServerFrame::Welcome {
                username,
                users,
                room,
                history,
                history_gap,
                resume,
                heartbeat_ms,
                ..
            } => {
                if let Some(interval) = heartbeat_ms {
                    self.connection.expect_heartbeats(
                        interval,
                        chat_shared::ClientLimits::default().missed_heartbeats,
                    );
                }
                // An older server has no rooms and says none.
                let room = if room.is_empty() {
                    DEFAULT_ROOM.to_owned()
                } else {
                    room
                };
                if room != self.room.get_untracked() {
                    self.room.set(room.clone());
                }
                route::show_room(&room);
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
                if fresh_page {
                    self.older.set(if history.is_empty() {
                        Older::NoMore
                    } else {
                        Older::MayExist
                    });
                    if !history.is_empty() {
                        self.push_entry(EntryKind::Earlier);
                    }
                }
                for message in history {
                    self.show_message(message, false);
                }
                self.adopt_outbox();
                self.flush_outbox();
                self.connection.send(&ClientFrame::ListRooms);
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
            ServerFrame::Error { code, message, .. } => {
                let problem = Problem::server(code, raw_error_code(code, raw), message);
                self.on_error(code, problem);
            }
            // Rooms and history paging are not shown yet.
            ServerFrame::History {
                room,
                messages,
                has_more,
            } => {
                if room == self.room.get_untracked() {
                    self.prepend_history(messages);
                    self.older.set(if has_more {
                        Older::MayExist
                    } else {
                        Older::NoMore
                    });
                }
            }
            ServerFrame::Rooms { rooms } => self.rooms.set(rooms),
            // Heartbeats only prove the connection is alive; the socket
            // already noted that.
            ServerFrame::Heartbeat | ServerFrame::Unknown => {}
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
            room: Some(self.room.get_untracked()),
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
            outbox::forget(client_id);
            self.outgoing
                .update(|list| list.retain(|o| o.unsent.client_id != client_id));
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
        if code == ErrorCode::InvalidRoom && self.me.with_untracked(Option::is_none) {
            // The address named a room the server will not open (its room
            // limit): say so and go to the default room instead.
            self.notice.set(Some(problem));
            self.switch_room(DEFAULT_ROOM.to_owned());
            return;
        }
        match code {
            // Nothing was stored: the messages in flight go again later,
            // by themselves.
            ErrorCode::RateLimited => {
                let wait = retry_after(&problem).unwrap_or(FLUSH_PAUSE);
                self.requeue_sent();
                self.plan_flush(wait);
                return;
            }
            ErrorCode::ServerError => {
                self.requeue_sent();
                self.plan_flush(SERVER_ERROR_PAUSE);
            }
            _ => {}
        }
        let about_a_message = matches!(
            code,
            ErrorCode::EmptyMessage
                | ErrorCode::MessageTooLong
                | ErrorCode::BadRequest
                | ErrorCode::Unknown
        );
        let mut blamed = false;
        if about_a_message {
            self.outgoing.update(|list| {
                if let Some(item) = list.iter_mut().find(|o| o.delivery == Delivery::Sending) {
                    item.delivery = Delivery::Failed(problem.clone());
                    blamed = true;
                }
            });
        }
        if !blamed && code != ErrorCode::AlreadyJoined {
            self.notice.set(Some(problem));
        }
    }

    /// Sends queued messages of this room, a batch at a time, if joined.
    fn flush_outbox(&self) {
        if !untrack(|| self.can_send()) {
            return;
        }
        let queued: Vec<(u64, ClientFrame)> = self.outgoing.with_untracked(|list| {
            list.iter()
                .filter(|o| o.delivery == Delivery::Queued)
                .map(|o| (o.key, message_frame(&o.unsent.text, &o.unsent.client_id)))
                .collect()
        });
        let mut sent = Vec::new();
        for (key, frame) in queued.iter().take(FLUSH_BATCH) {
            if !self.connection.send(frame) {
                break;
            }
            sent.push(*key);
        }
        if !sent.is_empty() {
            self.outgoing.update(|list| {
                for item in list.iter_mut().filter(|o| sent.contains(&o.key)) {
                    item.delivery = Delivery::Sending;
                }
            });
        }
        if queued.len() > sent.len() && sent.len() == FLUSH_BATCH {
            self.plan_flush(FLUSH_PAUSE);
        }
    }

    /// Flushes the outbox after `wait`, once however often it is asked.
    fn plan_flush(&self, wait: Duration) {
        if self.flush_planned.get_value() {
            return;
        }
        self.flush_planned.set_value(true);
        let this = *self;
        set_timeout(
            move || {
                this.flush_planned.set_value(false);
                this.flush_outbox();
            },
            wait,
        );
    }

    /// Messages sent but not confirmed go back to the queue.
    fn requeue_sent(&self) {
        self.outgoing.update(|list| {
            for item in list.iter_mut().filter(|o| o.delivery == Delivery::Sending) {
                item.delivery = Delivery::Queued;
            }
        });
    }

    /// Takes in what the outbox on disk holds for this user and room (left
    /// by a reload, or by another tab), keeping what the page already has.
    fn adopt_outbox(&self) {
        let Some(name) = self.me.get_untracked() else {
            return;
        };
        let stored = outbox::load(&self.room.get_untracked(), &username_key(&name));
        let known: Vec<String> = self
            .outgoing
            .with_untracked(|list| list.iter().map(|o| o.unsent.client_id.clone()).collect());
        let new: Vec<Outgoing> = stored
            .into_iter()
            .filter(|unsent| !known.contains(&unsent.client_id))
            .map(|unsent| Outgoing {
                key: self.next_key(),
                unsent,
                delivery: Delivery::Queued,
            })
            .collect();
        if !new.is_empty() {
            self.outgoing.update(|list| {
                list.extend(new);
                list.sort_by(|a, b| a.unsent.written_ms.total_cmp(&b.unsent.written_ms));
            });
        }
    }

    /// Clears the conversation of the room being left; its outbox stays on
    /// disk for the next visit. Who is online and typing goes with the
    /// socket (`SocketEvent::Closed`).
    fn forget_room(&self) {
        self.entries.set(Vec::new());
        self.shown.update_value(HashMap::clear);
        self.outgoing.set(Vec::new());
        self.older.set(Older::MayExist);
    }

    /// Follows the address bar: a room link, Back, or an edited address
    /// switches rooms.
    fn follow_address(&self) {
        let this = *self;
        let listener = window_event_listener(leptos::ev::hashchange, move |_| {
            this.switch_room(route::current_room());
        });
        // For the life of the page, like the chat itself.
        std::mem::forget(listener);
    }

    /// Keeps the online counts of the room list fresh while someone can
    /// see them: a hidden tab does not ask, and asks at once on coming back.
    fn refresh_rooms_regularly(&self) {
        let this = *self;
        let refresh = move || {
            if untrack(|| this.can_send()) && !document().hidden() {
                this.connection.send(&ClientFrame::ListRooms);
            }
        };
        // Both for the life of the page.
        let _ = set_interval_with_handle(refresh, ROOMS_REFRESH);
        std::mem::forget(window_event_listener(
            leptos::ev::visibilitychange,
            move |_| refresh(),
        ));
    }

    /// Puts older messages (oldest first) above everything on the page,
    /// below the "earlier messages" divider; ones already shown are skipped.
    fn prepend_history(&self, messages: Vec<ChatMessage>) {
        let me = self.me.get_untracked();
        let fresh: Vec<ChatMessage> = self.shown.with_value(|shown| {
            messages
                .into_iter()
                .filter(|m| !shown.contains_key(&m.id))
                .collect()
        });
        if fresh.is_empty() {
            return;
        }
        let mut block: Vec<Entry> = Vec::with_capacity(fresh.len());
        for message in fresh {
            let key = self.next_key();
            self.shown.update_value(|shown| {
                shown.insert(message.id, (key, message.timestamp.clone()));
            });
            let mine = me.as_deref() == Some(message.username.as_str());
            let kind = EntryKind::Message { message, mine };
            let continues = block
                .last()
                .is_some_and(|previous| continues_after(&previous.kind, &kind));
            block.push(Entry {
                key,
                continues,
                kind,
            });
        }
        self.entries.update(|entries| {
            let at = usize::from(matches!(
                entries.first(),
                Some(Entry {
                    kind: EntryKind::Earlier,
                    ..
                })
            ));
            if let (Some(last), Some(next)) = (block.last(), entries.get_mut(at)) {
                next.continues = continues_after(&last.kind, &next.kind);
            }
            entries.splice(at..at, block);
        });
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
                // What left the page can be loaded again by scrolling up.
                if self.older.get_untracked() == Older::NoMore {
                    self.older.set(Older::MayExist);
                }
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

/// The wait a `rate_limited` error asks for: its text always ends in
/// "retry in N ms".
fn retry_after(problem: &Problem) -> Option<Duration> {
    let Problem::Server { message, .. } = problem else {
        return None;
    };
    let after = message.split("retry in ").nth(1)?;
    let millis: u64 = after.split(' ').next()?.parse().ok()?;
    Some(Duration::from_millis(millis))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rate_limited(message: &str) -> Problem {
        Problem::Server {
            code: "rate_limited".into(),
            message: message.into(),
        }
    }

    #[test]
    fn the_wait_comes_from_the_servers_words() {
        let problem =
            rate_limited("Too many messages: retry in 180 ms (at most 5 per second, bursts of 10)");
        assert_eq!(retry_after(&problem), Some(Duration::from_millis(180)));
        assert_eq!(retry_after(&rate_limited("slow down")), None);
        assert_eq!(retry_after(&Problem::ConnectionLost), None);
    }
}
