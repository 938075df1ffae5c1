//! The chat controller: it owns the connection, routes each server frame
//! to the state modules in [`crate::state`], and turns the user's intents
//! (join, send, edit, delete, react, reply, jump to a quoted original,
//! switch rooms, page back, leave) into frames. The state
//! lives in those modules; this file only decides which one hears what.

use chat_shared::{
    close, normalize_emoji, username_key, Change, ChatMessage, ClientFrame, ErrorCode, HistoryItem,
    ServerFrame, DEFAULT_ROOM,
};
use futures_util::StreamExt;
use leptos::prelude::*;
use std::rc::Rc;

use crate::i18n::Problem;
use crate::socket::{socket_url, Connection, SocketEvent};
use crate::state::authorship::{disk::author_key, Authorship};
use crate::state::composing::{Composing, Mode};
use crate::state::conversation::{Conversation, EntryKind};
use crate::state::moderation::Moderation;
use crate::state::notices::Notices;
use crate::state::outbox::{Act, Outbox};
use crate::state::presence::Presence;
use crate::state::rooms::Rooms;
use crate::state::session::{Refusal, Session};
use crate::state::Sender;

/// The controller, shared by context; each state module has its own
/// context too, for the views that only read it.
#[derive(Clone, Copy)]
pub struct Chat {
    connection: Connection,
    session: Session,
    rooms: Rooms,
    conversation: Conversation,
    outbox: Outbox,
    presence: Presence,
    notices: Notices,
    moderation: Moderation,
    authorship: Authorship,
    composing: Composing,
}

impl Chat {
    /// Creates the state and provides it; the connection opens once the
    /// user joins (at once if this browser was in the chat before).
    pub fn start() -> Self {
        // Before the rooms read the address: an invitation link becomes
        // the default room's address once its code is kept.
        Session::adopt_invitation();
        let (connection, mut events) = Connection::start(socket_url());
        let session = Session::new();
        // The one rule for sending anything but a join: joined on an open socket.
        let send: Sender = Rc::new(move |frame| {
            session.with_untracked(|s| s.me().is_some()) && connection.send(frame)
        });
        let chat = Chat {
            connection,
            session,
            rooms: Rooms::new(),
            conversation: Conversation::new(),
            outbox: Outbox::new(send.clone()),
            presence: Presence::new(send.clone()),
            notices: Notices::new(),
            moderation: Moderation::new(send.clone()),
            authorship: Authorship::new(),
            composing: Composing::new(),
        };
        provide_context(chat);
        provide_context(chat.session);
        provide_context(chat.rooms);
        provide_context(chat.conversation);
        provide_context(chat.outbox);
        provide_context(chat.presence);
        provide_context(chat.notices);
        provide_context(chat.moderation);
        provide_context(chat.authorship);
        provide_context(chat.composing);
        leptos::task::spawn_local(async move {
            while let Some(event) = events.next().await {
                chat.on_socket_event(event);
            }
        });
        // An invitation link opened in a page already open only changes the
        // hash: keep its code first, so the room listener after this one
        // sees the default room that replaced it in the address.
        let invitations = window_event_listener(leptos::ev::hashchange, |_| {
            Session::adopt_invitation();
        });
        // For the life of the page, like the chat itself.
        std::mem::forget(invitations);
        chat.rooms
            .follow_address(move |room| chat.switch_room(room));
        chat.rooms.refresh_regularly(move || {
            let _ = send(&ClientFrame::ListRooms);
        });
        if let Some(name) = Session::remembered_name().filter(|name| Session::was_in_chat(name)) {
            chat.join(&name);
        }
        chat
    }

    /// The connection, for its status.
    pub fn connection(&self) -> Connection {
        self.connection
    }

    /// Whether frames can go to the server right now (tracked).
    pub fn can_send(&self) -> bool {
        self.connection.is_online() && self.session.is_joined()
    }

    /// Joins under `raw` if the shared rules accept it: now if connected,
    /// or as soon as the connection opens.
    pub fn join(&self, raw: &str) {
        if let Ok(name) = self.session.ask(raw) {
            self.connection.open();
            self.connection.send(&self.join_frame(name));
        }
    }

    /// Sends what the composer holds, as its mode says: a message, a
    /// reply, or a new text for one of mine. Like everything else it is
    /// queued if the rules accept it, and goes out now if joined, or by
    /// itself once the connection is back, even after a reload.
    pub fn submit(&self, raw: &str) -> Result<(), Problem> {
        let (text, user) = self.session.with_untracked(|s| s.message(raw))?;
        self.presence.stop_typing();
        let act = match self.composing.mode_untracked() {
            Mode::Writing => Act::Post { reply_to: None },
            Mode::Replying(quote) => Act::Post {
                reply_to: Some(quote.id),
            },
            Mode::Editing { id, text: before } => {
                if before == text {
                    self.composing.reset();
                    return Ok(());
                }
                Act::Edit { id }
            }
        };
        self.outbox
            .write(self.rooms.current_untracked(), user, text, act);
        self.composing.reset();
        Ok(())
    }

    /// Puts my newest message still on the page into the composer for
    /// editing; returns whether there was one.
    pub fn edit_last(&self) -> bool {
        let authorship = self.authorship;
        match self
            .conversation
            .last_own(|id| authorship.owns_untracked(id))
        {
            Some(message) => {
                self.edit(&message);
                true
            }
            None => false,
        }
    }

    /// Puts `message` (mine) into the composer for editing.
    pub fn edit(&self, message: &ChatMessage) {
        self.composing.set(Mode::Editing {
            id: message.id,
            text: message.text.clone(),
        });
    }

    /// Answers `message`: the composer quotes it.
    pub fn reply(&self, message: &ChatMessage) {
        self.composing.set(Mode::reply_to(message));
    }

    /// Deletes message `id` (mine) for everyone, through the outbox.
    pub fn delete(&self, id: u64) {
        if let Some(user) = self.user_key() {
            let room = self.rooms.current_untracked();
            self.outbox
                .write(room, user, String::new(), Act::Delete { id });
        }
        if matches!(self.composing.mode_untracked(), Mode::Editing { id: editing, .. } if editing == id)
        {
            self.composing.reset();
        }
    }

    /// Puts my reaction `emoji` on message `id`, or takes it off if it is
    /// there (`on` is what it becomes), through the outbox.
    pub fn react(&self, id: u64, emoji: &str, on: bool) {
        let (Some(user), Some(emoji)) = (self.user_key(), normalize_emoji(emoji)) else {
            return;
        };
        let act = Act::React {
            id,
            emoji: emoji.to_owned(),
            on,
        };
        self.outbox
            .write(self.rooms.current_untracked(), user, String::new(), act);
    }

    /// Shows message `id` (a reply's original): scrolls to it and
    /// highlights it, after loading the page around it if it is not on
    /// the page.
    pub fn jump_to(&self, id: u64) {
        if self.conversation.contains(id) {
            self.conversation.show_in_spotlight(id);
            return;
        }
        let limit = self.session.with_untracked(|s| s.limits().history_page);
        let request = ClientFrame::History {
            before: None,
            limit: Some(limit),
            around: Some(id),
        };
        if untrack(|| self.can_send()) && self.connection.send(&request) {
            self.conversation.loading_around(id);
        }
    }

    /// Whether `name` is mine (for my reactions).
    pub fn is_me(&self, name: &str) -> bool {
        self.session.with_untracked(|s| s.is_mine(name))
    }

    /// My name key, the outbox's owner of what I do; none before a name.
    fn user_key(&self) -> Option<String> {
        self.session
            .with_untracked(|s| s.author().map(username_key))
    }

    /// Goes to another room: a socket joins one room for its life, so the
    /// page leaves this one (others see it go) and joins on a fresh socket.
    pub fn switch_room(&self, room: String) {
        if !self.rooms.enter(&room) {
            return;
        }
        self.forget_room();
        if self.session.with_untracked(|s| s.wanted().is_some()) {
            self.session.socket_closed();
            self.connection.reconnect(close::NORMAL, "switching rooms");
        }
    }

    /// Asks for a page of messages before the oldest one shown.
    pub fn load_older(&self) {
        if !untrack(|| self.can_send()) {
            return;
        }
        let Some(before) = self.conversation.older_page_start() else {
            return;
        };
        let limit = self.session.with_untracked(|s| s.limits().history_page);
        let request = ClientFrame::History {
            before: Some(before),
            limit: Some(limit),
            around: None,
        };
        if self.connection.send(&request) {
            self.conversation.loading_older();
        }
    }

    /// Leaves on purpose: the others see me go at once.
    pub fn leave(&self) {
        self.session.leave();
        self.forget_room();
        self.connection.close(close::NORMAL, "left");
    }

    fn on_socket_event(&self, event: SocketEvent) {
        match event {
            SocketEvent::Opened => self.send_join(),
            SocketEvent::Frame(frame, raw) => self.on_frame(frame, &raw),
            SocketEvent::Closed => {
                self.session.socket_closed();
                self.presence.socket_closed();
                self.outbox.socket_closed();
                self.conversation.socket_closed();
                self.moderation.socket_closed();
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
                limits,
                topic,
                locked,
                online,
            } => {
                // An older server announces no limits: it has the defaults.
                let announced = limits.unwrap_or_default();
                if let Some(interval) = heartbeat_ms {
                    self.connection
                        .expect_heartbeats(interval, announced.missed_heartbeats);
                }
                // An older server has no rooms and says none.
                let room = Some(room).filter(|r| !r.is_empty());
                let room = room.unwrap_or_else(|| DEFAULT_ROOM.to_owned());
                self.rooms.enter(&room);
                self.authorship.joined(&room);
                self.outbox.set_limits(&announced);
                self.session.welcomed(username.clone(), resume, announced);
                self.presence.welcome(users, online);
                self.conversation.welcome(!history.is_empty(), history_gap);
                for item in history {
                    match item {
                        HistoryItem::Message(message) => self.show_message(message, false),
                        HistoryItem::Change(change) => self.on_change(change),
                    }
                }
                self.outbox.joined(&room, &username_key(&username));
                self.moderation.welcome(topic, locked);
                self.moderation.present();
                self.connection.send(&ClientFrame::ListRooms);
            }
            ServerFrame::Message(message) => self.show_message(message, true),
            ServerFrame::Typing {
                username,
                is_typing,
            } => self.presence.typing(username, is_typing),
            ServerFrame::UserJoined { username, .. } => {
                if self.presence.joined(username.clone()) {
                    self.conversation.notice(EntryKind::Joined(username));
                }
            }
            ServerFrame::Online { count } => self.presence.counted(count),
            ServerFrame::Users {
                users,
                online,
                next,
            } => self.presence.listed(users, online, next),
            ServerFrame::UserLeft { username, .. } => {
                if self.presence.left(&username) {
                    self.conversation.notice(EntryKind::Left(username));
                }
            }
            ServerFrame::Error {
                code,
                message,
                retry_after_ms,
                client_id,
            } => {
                if self.moderation.refused(code) {
                    return;
                }
                let problem = Problem::from_error(code, message, raw);
                // `forbidden` names no reason a program can read; this
                // page knows when its room is read-only, and which of its
                // frames was a change to a message.
                let problem = match code {
                    ErrorCode::Forbidden if self.outbox.is_act(client_id.as_deref()) => {
                        Problem::NotYours
                    }
                    ErrorCode::Forbidden if self.moderation.locked_untracked() => {
                        Problem::RoomLocked
                    }
                    _ => problem,
                };
                if !self.joining_refused(code, &problem) {
                    let id = client_id.as_deref();
                    let handled = self.outbox.server_error(code, retry_after_ms, id, &problem);
                    if !handled && code != ErrorCode::AlreadyJoined {
                        self.notices.show(problem);
                    }
                }
            }
            ServerFrame::History {
                room,
                messages,
                has_more,
                has_newer,
            } => self.on_history(&room, messages, has_more, has_newer),
            ServerFrame::Rooms { rooms } => self.rooms.listed(rooms),
            // Heartbeats only prove the connection is alive; the socket
            // already noted that.
            ServerFrame::Heartbeat | ServerFrame::Unknown => {}
            ServerFrame::Moderator => self.moderation.accepted(),
            ServerFrame::MessageEdited(edit) => self.on_change(Change::MessageEdited(edit)),
            ServerFrame::MessageDeleted(deletion) => {
                self.on_change(Change::MessageDeleted(deletion));
                self.moderation.refresh_audit();
            }
            ServerFrame::Reaction(reaction) => self.on_change(Change::Reaction(reaction)),
            ServerFrame::UserBanned { .. } => self.moderation.refresh_audit(),
            ServerFrame::RoomLocked { locked, .. } => self.moderation.lock_changed(locked),
            ServerFrame::Topic { topic, .. } => self.moderation.topic_changed(topic),
            ServerFrame::Audit { entries } => self.moderation.audit_arrived(entries),
        }
    }

    /// Sends the join for the wanted name, if the user asked to be in.
    fn send_join(&self) {
        if let Some(name) = self
            .session
            .with_untracked(|s| s.wanted().map(str::to_owned))
        {
            self.connection.send(&self.join_frame(name));
        }
    }

    /// The join for `name`: with the newest message shown, so the server
    /// replays exactly what we missed, the name's resume token, and the
    /// invitation code if a link gave one.
    fn join_frame(&self, name: String) -> ClientFrame {
        ClientFrame::Join {
            resume: self.session.resume_for(&name),
            username: name,
            room: Some(self.rooms.current_untracked()),
            since: self.conversation.newest_id(),
            join_code: Session::join_code(),
            author_key: Some(author_key()),
        }
    }

    /// An edit, deletion or reaction, live or replayed: mine lets go of
    /// its outbox entry; every one changes its message if it is shown.
    fn on_change(&self, change: Change) {
        let client_id = match &change {
            Change::MessageEdited(edit) => edit.client_id.as_deref(),
            Change::MessageDeleted(deletion) => deletion.client_id.as_deref(),
            Change::Reaction(reaction) => reaction.client_id.as_deref(),
        };
        if let Some(client_id) = client_id {
            self.outbox.confirmed(client_id);
        }
        if let Change::MessageDeleted(deletion) = &change {
            let target = deletion.target;
            let composing_on_it = match self.composing.mode_untracked() {
                Mode::Editing { id, .. } => id == target,
                Mode::Replying(quote) => quote.id == target,
                Mode::Writing => false,
            };
            if composing_on_it {
                self.composing.reset();
            }
        }
        self.conversation.apply(&change);
    }

    /// Shows a message once; one of mine confirms the outbox's copy, and a
    /// `live` one (not replayed history) from someone else notifies.
    fn show_message(&self, message: ChatMessage, live: bool) {
        let mine = self
            .session
            .with_untracked(|s| s.is_mine(&message.username));
        if let Some(client_id) = message.client_id.as_deref().filter(|_| mine) {
            // Posted from this browser, with its author key: mine to edit.
            if self.outbox.confirmed(client_id) {
                self.authorship.posted(message.id);
            }
        }
        let news = (live && !mine).then(|| (message.username.clone(), message.text.clone()));
        if self.conversation.show(message, mine) {
            if let Some((author, text)) = news {
                self.presence.spoke(&author);
                self.notices
                    .message_from(&author, &text, document().hidden());
            }
        }
    }

    fn on_history(&self, room: &str, messages: Vec<ChatMessage>, has_more: bool, has_newer: bool) {
        if self.rooms.current_untracked() == room {
            let session = self.session;
            let is_mine = move |m: &ChatMessage| session.with_untracked(|s| s.is_mine(&m.username));
            let jump = self
                .conversation
                .history(messages, has_more, has_newer, is_mine);
            if let Some(id) = jump.filter(|id| self.conversation.contains(*id)) {
                self.conversation.show_in_spotlight(id);
            }
        }
    }

    /// Handles an error that refuses the join; returns whether it was one.
    fn joining_refused(&self, code: ErrorCode, problem: &Problem) -> bool {
        match self.session.refused(code, problem.clone()) {
            Refusal::AskForName => true,
            Refusal::RetryLater => {
                let this = *self;
                let rejoin = move || {
                    if !this.is_joined() {
                        this.send_join();
                    }
                };
                set_timeout(rejoin, Session::REJOIN_RETRY);
                true
            }
            Refusal::NotAJoin if code == ErrorCode::InvalidRoom && !self.is_joined() => {
                // The address named a room the server will not open (its
                // room limit): say so and go to the default room instead.
                self.notices.show(problem.clone());
                self.switch_room(DEFAULT_ROOM.to_owned());
                true
            }
            Refusal::NotAJoin => false,
        }
    }

    fn is_joined(&self) -> bool {
        self.session.with_untracked(|s| s.me().is_some())
    }

    /// Clears the room being left; its outbox stays on disk for the next
    /// visit, and who is online goes with the socket.
    fn forget_room(&self) {
        self.conversation.clear();
        self.outbox.clear();
        self.composing.reset();
    }
}

/// The chat from context.
pub fn use_chat() -> Chat {
    expect_context::<Chat>()
}
