//! Joining, and joining again: the join frame (with what the page has
//! seen, the resume token, the invitation code and the author key), the
//! re-join on every new socket, what a refused join means (ask for another
//! name, try our own name again soon, or go to the default room), moving
//! to another room, and leaving.

use chat_shared::{close, ClientFrame, ErrorCode, ForbiddenReason, DEFAULT_ROOM};
use leptos::prelude::*;

use super::Chat;
use crate::device::device_label;
use crate::i18n::Problem;
use crate::state::authorship::disk::author_key;
use crate::state::conversation::ConversationState;
use crate::state::session::{Refusal, Session};

impl Chat {
    /// Joins under `raw` if the shared rules accept it: now if connected,
    /// or as soon as the connection opens.
    pub(crate) fn join(&self, raw: &str) {
        if let Ok(name) = self.session.ask(raw) {
            self.show_kept_conversation();
            self.connection.open();
            self.connection.send(&self.join_frame(name));
        }
    }

    /// Goes back in under `name`, the name this browser was in the chat
    /// as: the chat shows at once with the conversation this device kept
    /// (the app opened offline), and joins when the connection opens.
    pub(super) fn go_back_in(&self, name: &str) {
        if let Ok(name) = self.session.go_back_in(name) {
            self.show_kept_conversation();
            self.connection.open();
            self.connection.send(&self.join_frame(name));
        }
    }

    /// Joins under `name` with a device link's `code`, which makes this
    /// browser's author key one more device of that name.
    pub(crate) fn join_linked(&self, name: &str, code: String) {
        if let Ok(name) = self.session.link(name, code) {
            self.connection.open();
            self.connection.send(&self.join_frame(name));
        }
    }

    /// Goes to another room: a socket joins one room for its life, so the
    /// page leaves this one (others see it go) and joins on a fresh socket.
    pub(crate) fn switch_room(&self, room: String) {
        if !self.rooms.enter(&room) {
            return;
        }
        self.forget_room();
        if self.session.with_untracked(|s| s.wanted().is_some()) {
            self.show_kept_conversation();
            self.session.socket_closed();
            self.connection.reconnect(close::NORMAL, "switching rooms");
        }
    }

    /// Leaves on purpose: the others see me go at once, and what this
    /// device kept of the conversation for me goes.
    pub(crate) fn leave(&self) {
        if let Some(name) = self
            .session
            .with_untracked(|s| s.wanted().map(str::to_owned))
        {
            self.forget_kept_conversations(&name);
        }
        self.session.leave();
        self.forget_room();
        self.connection.close(close::NORMAL, "left");
    }

    /// Sends the join for the wanted name, if the user asked to be in.
    pub(super) fn send_join(&self) {
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
            since: self
                .conversation
                .with_untracked(ConversationState::newest_id),
            join_code: Session::join_code(),
            author_key: Some(author_key()),
            link_code: self.session.link_code(),
            device: Some(device_label()),
        }
    }

    /// Handles an error that refuses the join; returns whether it was one.
    pub(super) fn joining_refused(&self, code: ErrorCode, problem: &Problem) -> bool {
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
            Refusal::NotAJoin
                if !self.is_joined()
                    && (code == ErrorCode::InvalidRoom
                        || problem.forbidden_reason() == Some(ForbiddenReason::NotMember)) =>
            {
                // The address named a room the server will not open (its
                // room limit), or a DM that is not mine: say so and go to
                // the default room instead.
                self.notices.show(problem.clone());
                self.switch_room(DEFAULT_ROOM.to_owned());
                true
            }
            Refusal::NotAJoin => false,
        }
    }

    /// Whether the server welcomed us on the current socket.
    fn is_joined(&self) -> bool {
        self.session.with_untracked(|s| s.me().is_some())
    }

    /// Clears the room being left; its outbox stays on disk for the next
    /// visit. Who was online there is no news here (a lost connection
    /// keeps the list, stale, instead).
    pub(super) fn forget_room(&self) {
        self.conversation.change(ConversationState::clear);
        self.outbox.clear();
        self.composing.reset();
        self.presence.forget();
    }
}
