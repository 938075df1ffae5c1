//! What the page tells the user besides the conversation: the unread count
//! in the title while the tab is hidden, the latest message for screen
//! readers, and a refusal that concerns no message on screen.

use leptos::prelude::*;

use crate::i18n::Problem;

/// The notices for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct Notices {
    unread: RwSignal<u32>,
    announcement: RwSignal<String>,
    notice: RwSignal<Option<Problem>>,
}

impl Notices {
    /// Nothing to tell.
    pub(crate) fn new() -> Self {
        Self {
            unread: RwSignal::new(0),
            announcement: RwSignal::new(String::new()),
            notice: RwSignal::new(None),
        }
    }

    /// Messages from others that arrived while the tab was hidden (tracked).
    pub(crate) fn unread(&self) -> u32 {
        self.unread.get()
    }

    /// The latest message from someone else, for the aria-live region
    /// (tracked).
    pub(crate) fn announcement(&self) -> String {
        self.announcement.get()
    }

    /// The notice bar's problem (tracked).
    pub(crate) fn notice(&self) -> Option<Problem> {
        self.notice.get()
    }

    /// A message from someone else arrived: announce it, and count it as
    /// unread if the tab is hidden.
    pub(crate) fn message_from(&self, author: &str, text: &str, hidden: bool) {
        self.announcement.set(format!("{author}: {text}"));
        if hidden {
            self.unread.update(|n| *n += 1);
        }
    }

    /// The reader is back on the tab.
    pub(crate) fn seen(&self) {
        if self.unread.get_untracked() != 0 {
            self.unread.set(0);
        }
    }

    /// Shows a problem in the notice bar.
    pub(crate) fn show(&self, problem: Problem) {
        self.notice.set(Some(problem));
    }

    /// The reader closed the notice bar.
    pub(crate) fn dismiss(&self) {
        self.notice.set(None);
    }
}

impl Default for Notices {
    fn default() -> Self {
        Self::new()
    }
}

/// The notices from context.
pub(crate) fn use_notices() -> Notices {
    expect_context::<Notices>()
}
