//! The chat controller: it owns the connection and routes each server
//! frame to the state modules in [`crate::state`]; this file only decides
//! which one hears what. What the user does to messages (send, edit,
//! reply, react, delete, jump to a quoted original, page back) are
//! commands of those modules; joining, re-joining, switching rooms and
//! leaving need the connection and live in [`joining`]; opening a room
//! at a message (a notification's click, a link to a message, a search
//! result) lives in [`opening`]; the conversation this device keeps for
//! the app opened offline in [`offline`].

mod joining;
mod offline;
mod opening;

use chat_shared::{
    username_key, Change, ChatMessage, ClientFrame, ErrorCode, HistoryItem, ServerFrame, Welcome,
    DEFAULT_ROOM,
};
use futures_util::StreamExt;
use leptos::prelude::*;
use std::rc::Rc;

use crate::i18n::{use_i18n, I18n, Problem};
use crate::socket::{socket_url, Connection, SocketEvent};
use crate::state::attachments::Attachments;
use crate::state::authorship::Authorship;
use crate::state::composing::Composing;
use crate::state::conversation::{Conversation, ConversationState, EntryKind};
use crate::state::moderation::Moderation;
use crate::state::notices::Notices;
use crate::state::outbox::Outbox;
use crate::state::people::People;
use crate::state::presence::Presence;
use crate::state::push::Push;
use crate::state::rooms::Rooms;
use crate::state::search::{Request, Search};
use crate::state::session::Session;
use crate::state::unread::{calls, Unread};
use crate::state::{Sender, Writer};

/// The controller, shared by context; each state module has its own
/// context too, for the views that only read it.
#[derive(Clone, Copy)]
pub(crate) struct Chat {
    connection: Connection,
    session: Session,
    rooms: Rooms,
    conversation: Conversation,
    outbox: Outbox,
    attachments: Attachments,
    presence: Presence,
    notices: Notices,
    moderation: Moderation,
    authorship: Authorship,
    composing: Composing,
    people: People,
    unread: Unread,
    push: Push,
    search: Search,
    /// The interface language, for notifications (shown outside any view).
    i18n: I18n,
    /// A clicked notification's room and message: shown once that room's
    /// `welcome` is in.
    jump_after_join: StoredValue<Option<(String, u64)>>,
}

impl Chat {
    /// Creates the state and provides it; the connection opens once the
    /// user joins (at once if this browser was in the chat before).
    pub(crate) fn start() -> Self {
        // Before the rooms read the address: an invitation link becomes
        // the default room's address once its code is kept.
        Session::adopt_invitation();
        let (connection, mut events) = Connection::start(socket_url());
        let session = Session::new();
        // The one rule for sending anything but a join: joined on an open socket.
        let send: Sender = Rc::new(move |frame| {
            session.with_untracked(|s| s.me().is_some()) && connection.send(frame)
        });
        let rooms = Rooms::new(send.clone());
        // What I write goes to the room shown, under the name I have.
        let writer: Writer = Rc::new(move || {
            let user = session.with_untracked(|s| s.author().map(username_key))?;
            Some((rooms.current_untracked(), user))
        });
        let outbox = Outbox::new(send.clone(), writer.clone());
        let chat = Chat {
            connection,
            session,
            rooms,
            conversation: Conversation::new(send.clone()),
            outbox,
            attachments: Attachments::new(send.clone(), writer, outbox),
            presence: Presence::new(send.clone()),
            notices: Notices::new(),
            moderation: Moderation::new(send.clone()),
            authorship: Authorship::new(),
            composing: Composing::new(),
            people: People::new(send.clone()),
            unread: Unread::new(send.clone()),
            push: Push::new(send.clone()),
            search: Search::new(send.clone()),
            i18n: use_i18n(),
            jump_after_join: StoredValue::new(None),
        };
        provide_context(chat);
        provide_context(chat.session);
        provide_context(chat.rooms);
        provide_context(chat.conversation);
        provide_context(chat.outbox);
        provide_context(chat.attachments);
        provide_context(chat.presence);
        provide_context(chat.notices);
        provide_context(chat.moderation);
        provide_context(chat.authorship);
        provide_context(chat.composing);
        provide_context(chat.people);
        provide_context(chat.unread);
        provide_context(chat.push);
        provide_context(chat.search);
        leptos::task::spawn_local(async move {
            while let Some(event) = events.next().await {
                chat.on_socket_event(event);
            }
        });
        // First, so the room listener after it sees the default room that
        // replaced an invitation in the address.
        Session::follow_invitations();
        chat.rooms
            .follow_address(move |room| chat.switch_room(room));
        chat.rooms.refresh_regularly();
        chat.follow_message_links();
        chat.keep_conversation();
        // A device link joins as its name, with its code; else this
        // browser goes back in under the name it had.
        if let Some((name, code)) = crate::route::take_link().map(|(code, name)| (name, code)) {
            chat.join_linked(&name, code);
        } else if let Some(name) =
            Session::remembered_name().filter(|name| Session::was_in_chat(name))
        {
            chat.go_back_in(&name);
        }
        chat
    }

    /// The connection, for its status.
    pub(crate) fn connection(&self) -> Connection {
        self.connection
    }

    /// Whether frames can go to the server right now (tracked).
    pub(crate) fn can_send(&self) -> bool {
        self.connection.is_online() && self.session.is_joined()
    }

    fn on_socket_event(&self, event: SocketEvent) {
        match event {
            SocketEvent::Opened => self.send_join(),
            SocketEvent::Frame(frame) => self.on_frame(frame),
            SocketEvent::Closed => self.socket_closed(),
            SocketEvent::Revoked => {
                let name = self
                    .session
                    .with_untracked(|s| s.author().map(str::to_owned));
                if let Some(name) = name {
                    self.forget_kept_conversations(&name);
                }
                self.socket_closed();
                self.session.revoked();
                self.people.welcomed(false);
                self.forget_room();
            }
        }
    }

    /// Whatever the chat knew through the socket is stale.
    fn socket_closed(&self) {
        self.session.socket_closed();
        self.presence.socket_closed();
        self.outbox.socket_closed();
        self.conversation.change(ConversationState::socket_closed);
        self.moderation.socket_closed();
        self.search.socket_closed();
    }

    fn on_frame(&self, frame: ServerFrame) {
        match frame {
            ServerFrame::Welcome(Welcome {
                username,
                users,
                room,
                history,
                history_gap,
                resume,
                heartbeat_ms,
                answers_ping,
                limits,
                topic,
                locked,
                online,
                held,
                push_key,
                ..
            }) => {
                // An older server announces no limits: it has the defaults.
                let announced = limits.unwrap_or_default();
                if let Some(interval) = heartbeat_ms {
                    self.connection.expect_heartbeats(
                        interval,
                        announced.missed_heartbeats,
                        answers_ping,
                    );
                }
                // An older server has no rooms and says none.
                let room = Some(room).filter(|r| !r.is_empty());
                let room = room.unwrap_or_else(|| DEFAULT_ROOM.to_owned());
                self.rooms.enter(&room);
                self.authorship.joined(&room);
                self.outbox.set_limits(&announced);
                self.conversation.set_limits(&announced);
                self.session.welcomed(username.clone(), resume, announced);
                self.people.welcomed(held);
                self.unread.welcomed(&room, &username_key(&username), held);
                self.push.welcomed(held, push_key);
                self.presence.welcome(users, online);
                let has_history = !history.is_empty();
                self.conversation
                    .change(|c| c.welcome(has_history, history_gap));
                for item in history {
                    match item {
                        HistoryItem::Message(message) => self.show_message(message, false),
                        HistoryItem::Change(change) => self.on_change(change),
                    }
                }
                self.outbox.joined(&room, &username_key(&username));
                self.attachments.joined();
                self.moderation.welcome(topic, locked);
                self.moderation.present();
                self.connection.send(&ClientFrame::ListRooms);
                self.jump_if_asked(&room);
            }
            ServerFrame::Message(message) => self.show_message(message, true),
            ServerFrame::Typing {
                username,
                is_typing,
            } => self.presence.typing(username, is_typing),
            ServerFrame::UserJoined { username, .. } => {
                if self.presence.joined(username.clone()) {
                    let joined = EntryKind::Joined(username);
                    self.conversation.change(|c| c.notice(joined));
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
                    let left = EntryKind::Left(username);
                    self.conversation.change(|c| c.notice(left));
                }
            }
            ServerFrame::Error {
                code,
                message,
                retry_after_ms,
                client_id,
                reason,
            } => {
                if self.moderation.refused(code, reason) {
                    return;
                }
                // A search carries no id: a refusal without one while a
                // search is awaited is the search panel's to show.
                if client_id.is_none() && self.search.refused(code, &message, retry_after_ms) {
                    return;
                }
                if code == ErrorCode::InvalidSubscription {
                    // The notice bar below says so.
                    self.push.refused();
                }
                let problem = Problem::server(code, reason, message);
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
            } => {
                if self.rooms.current_untracked() == room {
                    let me = self.session.with_untracked(|s| s.me().map(str::to_owned));
                    for message in &messages {
                        let mine = self
                            .session
                            .with_untracked(|s| s.is_mine(&message.username));
                        let calls = me.as_deref().is_some_and(|me| calls(message, me));
                        self.unread.change(|u| u.shown(message.id, mine, calls));
                    }
                    let session = self.session;
                    let is_mine =
                        move |m: &ChatMessage| session.with_untracked(|s| s.is_mine(&m.username));
                    self.conversation
                        .history_arrived(messages, has_more, has_newer, is_mine);
                }
            }
            ServerFrame::Rooms { rooms } => {
                self.unread.change(|u| u.listed(&rooms));
                self.rooms.listed(rooms);
            }
            ServerFrame::DeviceLink { code, expires_at } => {
                self.people.link_arrived(code, &expires_at)
            }
            ServerFrame::Devices { devices } => self.people.devices_listed(devices),
            ServerFrame::NameReleased { username } => {
                // Mine given up; a moderator's freeing of another name
                // shows in the moderation log.
                if self.session.with_untracked(|s| s.is_mine(&username)) {
                    self.forget_kept_conversations(&username);
                    self.people.released();
                    self.push.released();
                    self.notices.show(Problem::NameReleased);
                }
                self.moderation.refresh_audit();
            }
            // The answer to my `open_dm`: go there, as a room link would.
            ServerFrame::Dm { room, with } => {
                self.rooms.dm_opened(&room, with);
                self.switch_room(room);
            }
            ServerFrame::Activity { room, latest } => {
                self.unread.change(|u| u.activity(&room, latest));
                self.rooms.activity(&room, latest);
            }
            ServerFrame::RoomLeft { room } => {
                self.forget_kept_room(&room);
                self.unread.change(|u| u.left(&room));
                self.rooms.left(&room);
            }
            ServerFrame::Reported { .. } => self.notices.show(Problem::Reported),
            ServerFrame::Read { room, id } => self.unread.change(|u| u.read(&room, id)),
            ServerFrame::Level { room, level } => self.unread.change(|u| u.set_level(&room, level)),
            ServerFrame::Notify {
                room,
                id,
                author,
                text,
                mention,
            } => {
                self.unread.change(|u| u.notify(&room, id, mention));
                self.notify_if_hidden(&room, id, &author, &text);
            }
            ServerFrame::UploadToken {
                room,
                token,
                expires_in_secs,
                read,
                max_bytes,
            } => self
                .attachments
                .token_arrived(room, token, expires_in_secs, read, max_bytes),
            ServerFrame::SearchResults {
                query,
                room,
                order,
                page,
                hits,
                next,
            } => {
                let answer = Request {
                    query,
                    room,
                    order,
                    page,
                };
                self.search.results_arrived(&answer, hits, next);
            }
            ServerFrame::PushSubscribed { endpoint } => self.push.subscribed(&endpoint),
            ServerFrame::PushUnsubscribed { endpoint } => self.push.unsubscribed(&endpoint),
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
            self.composing.message_deleted(deletion.target);
        }
        self.conversation.change(|c| c.apply(&change));
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
        let me = self.session.with_untracked(|s| s.me().map(str::to_owned));
        let calls_me = me.as_deref().is_some_and(|me| calls(&message, me));
        let id = message.id;
        if self.conversation.change(|c| c.show(message, mine)) == Some(true) {
            self.unread.change(|u| u.shown(id, mine, calls_me));
            let room = self.rooms.current_untracked();
            let level = self.unread.with_untracked(|u| u.level(&room));
            if let Some((author, text)) = news.as_ref().filter(|_| level.calls(calls_me)) {
                self.notify_if_hidden(&room, id, author, text);
            }
            if let Some((author, text)) = news {
                self.presence.spoke(&author);
                self.notices
                    .message_from(&author, &text, document().hidden());
            }
        }
    }
}

/// The chat from context.
pub(crate) fn use_chat() -> Chat {
    expect_context::<Chat>()
}
