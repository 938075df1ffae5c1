//! What the composer is writing: a new message, a reply to a quoted one,
//! or a new text for one of mine.

use chat_shared::{quote_excerpt, ChatMessage, Quote};
use leptos::prelude::*;

/// The composer's mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// A new message.
    #[default]
    Writing,
    /// A new message answering this one, quoted above the composer.
    Replying(Quote),
    /// A new text for message `id`; `text` is the one it has now.
    Editing { id: u64, text: String },
}

impl Mode {
    /// Replying to `message`, quoted as the server will quote it.
    pub fn reply_to(message: &ChatMessage) -> Self {
        Mode::Replying(Quote {
            id: message.id,
            username: message.username.clone(),
            text: quote_excerpt(&message.text),
            deleted: message.deleted,
        })
    }
}

/// The composer's mode for the views and the chat.
#[derive(Clone, Copy)]
pub struct Composing {
    mode: RwSignal<Mode>,
}

impl Composing {
    /// Writing a new message.
    pub fn new() -> Self {
        Self {
            mode: RwSignal::new(Mode::Writing),
        }
    }

    /// The mode (tracked).
    pub fn mode(&self) -> Mode {
        self.mode.get()
    }

    /// The mode (untracked).
    pub fn mode_untracked(&self) -> Mode {
        self.mode.get_untracked()
    }

    /// Switches to `mode`.
    pub fn set(&self, mode: Mode) {
        self.mode.set(mode);
    }

    /// Back to a new message (cancelled, sent, or the room left).
    pub fn reset(&self) {
        if self.mode.with_untracked(|m| *m != Mode::Writing) {
            self.mode.set(Mode::Writing);
        }
    }
}

impl Default for Composing {
    fn default() -> Self {
        Self::new()
    }
}

/// The composer's mode from context.
pub fn use_composing() -> Composing {
    expect_context::<Composing>()
}
