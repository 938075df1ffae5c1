//! Opening a room at a message: the click on one of the page's own
//! notifications, the service worker's "open" after a click on a push
//! notification, and a page opened at a link to a message
//! (`/#/r/<room>/<id>`, what the worker opens when no tab is open). Each
//! goes to the room and, once its `welcome` is in, shows the message.

use leptos::prelude::*;

use super::Chat;
use crate::state::push::browser::follow_open_requests;

impl Chat {
    /// A message calls me while the tab is hidden: a notification (where
    /// permitted), whose click brings this tab to that room and message.
    pub(super) fn notify_if_hidden(&self, room: &str, id: u64, author: &str, text: &str) {
        if !document().hidden() {
            return;
        }
        let strings = self.i18n.lang_untracked().strings();
        let title = (strings.notify_title)(author, &self.room_title(room));
        let chat = *self;
        let target = room.to_owned();
        crate::attention::show_notification(&title, text, room, move || {
            chat.open_message(target.clone(), id);
        });
    }

    /// A page opened at a link to a message shows it once joined; the
    /// service worker's requests to show one are heard for the page's
    /// life. Call before the first join.
    pub(super) fn follow_message_links(&self) {
        if let Some(asked) = crate::route::take_message() {
            self.jump_after_join.set_value(Some(asked));
        }
        let chat = *self;
        follow_open_requests(move |room, id| match id {
            Some(id) => chat.open_message(room, id),
            None => chat.switch_room(room),
        });
    }

    /// Goes to `room` and shows message `id` there (scrolled to and
    /// highlighted, its page of history loaded `around` it if it is not
    /// on the page): at once if this page is joined there already, else
    /// once the room's `welcome` is in. A notification's click, a link to
    /// a message, a search result.
    pub(crate) fn open_message(&self, room: String, id: u64) {
        self.jump_after_join.set_value(Some((room.clone(), id)));
        if self.rooms.current_untracked() != room {
            self.switch_room(room);
        } else if self.session.with_untracked(|s| s.me().is_some()) {
            self.jump_if_asked(&room);
        }
    }

    /// How a notification names `room`: "#rust", or a DM by its others.
    fn room_title(&self, room: &str) -> String {
        let me = self.session.with_untracked(|s| s.me().map(str::to_owned));
        me.and_then(|me| self.rooms.dm_names_untracked(room, &me))
            .unwrap_or_else(|| format!("#{room}"))
    }

    /// Shows the message a notification or link named, once in its room.
    pub(super) fn jump_if_asked(&self, room: &str) {
        let asked = self.jump_after_join.get_value();
        if let Some((_, id)) = asked.filter(|(target, _)| target == room) {
            self.jump_after_join.set_value(None);
            self.conversation.jump_to(id);
        }
    }
}
