//! The conversation this device keeps
//! ([`crate::state::conversation::cache`]): shown when a room opens, before
//! its `welcome` (so the app opened offline shows what it had), kept as it
//! changes while joined, and dropped when the name, the device's place on
//! it, the chat or the room is given up.

use chat_shared::username_key;
use leptos::prelude::*;

use super::Chat;
use crate::state::conversation::{cache, disk};
use crate::state::session::Session;

impl Chat {
    /// Shows what this device kept for the wanted name in the room shown,
    /// until its `welcome` replaces it. Only a name this browser is in the
    /// chat as (it holds the name's session) has a copy shown: a name
    /// typed in the form sees none, and no other name's copy stays.
    pub(super) fn show_kept_conversation(&self) {
        let name = self
            .session
            .with_untracked(|s| s.wanted().map(str::to_owned));
        let me = name
            .filter(|name| Session::was_in_chat(name))
            .map(|name| username_key(&name));
        let messages = me
            .as_deref()
            .and_then(|me| disk::load(me, &self.rooms.current_untracked()))
            .map(|json| cache::decode(&json))
            .unwrap_or_default();
        self.conversation.change(|c| {
            c.show_kept(messages, |m| {
                me.as_deref() == Some(username_key(&m.username).as_str())
            })
        });
    }

    /// Keeps the room's newest messages on disk whenever the conversation
    /// changes while joined (the server's version, never the copy itself).
    /// Once per batch of changes: a `welcome`'s whole history is one write.
    pub(super) fn keep_conversation(&self) {
        let chat = *self;
        Effect::new(move || {
            // Tracked first, so the effect runs again on every change.
            chat.conversation.with(|_| ());
            let Some(me) = chat.session.with_untracked(|s| s.me().map(username_key)) else {
                return;
            };
            if let Some(json) = chat.conversation.with_untracked(|c| c.to_keep()) {
                disk::keep(&me, &chat.rooms.current_untracked(), &json);
            }
        });
    }

    /// Drops every copy kept for `name`: given up, this device removed
    /// from it, or the chat left.
    pub(super) fn forget_kept_conversations(&self, name: &str) {
        disk::forget_name(&username_key(name));
    }

    /// Drops my copy of `room`: I left it (a room, or a DM).
    pub(super) fn forget_kept_room(&self, room: &str) {
        let me = self
            .session
            .with_untracked(|s| s.author().map(username_key));
        if let Some(me) = me {
            disk::forget_room(&me, room);
        }
    }
}
