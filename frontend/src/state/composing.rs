//! What the composer is writing: a new message, a reply to a quoted one,
//! or a new text for one of mine; and sending it, through the outbox. And
//! what others ask to add to it: a mention of a name picked in the online
//! list.

use chat_shared::files::{caption, text_with_links, Attachment};
use chat_shared::{quote_excerpt, ChatMessage, Quote};
use leptos::prelude::*;

use super::attachments::Attachments;
use super::authorship::Authorship;
use super::conversation::Conversation;
use super::outbox::{Act, Outbox};
use super::presence::Presence;
use super::session::Session;
use crate::i18n::Problem;

/// The composer's mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A new message.
    #[default]
    Writing,
    /// A new message answering this one, quoted above the composer.
    Replying(Quote),
    /// A new text for message `id`; `text` is the one it has now (a file
    /// message's caption), `attachments` its files, whose link lines the
    /// new text keeps for clients that know nothing of files.
    Editing {
        id: u64,
        text: String,
        attachments: Vec<Attachment>,
    },
}

impl Mode {
    /// Replying to `message`, quoted as the server will quote it.
    pub(crate) fn reply_to(message: &ChatMessage) -> Self {
        Mode::Replying(Quote {
            id: message.id,
            username: message.username.clone(),
            text: quote_excerpt(caption(&message.text, &message.attachments)),
            deleted: message.deleted,
        })
    }
}

/// `draft` with a mention of `name` (`@name `) added at its end, after a
/// space unless it is empty or already ends in white space, so the caret
/// at the end is ready for the rest of the sentence.
pub(crate) fn with_mention(draft: &str, name: &str) -> String {
    let separator = match draft.chars().next_back() {
        Some(last) if !last.is_whitespace() => " ",
        _ => "",
    };
    format!("{draft}{separator}@{name} ")
}

/// The composer's mode for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct Composing {
    mode: RwSignal<Mode>,
    /// A name to mention, asked for outside the composer (the online
    /// list) and not yet added to its draft, which the composer owns.
    mention: RwSignal<Option<String>>,
}

impl Composing {
    /// Writing a new message.
    pub(crate) fn new() -> Self {
        Self {
            mode: RwSignal::new(Mode::Writing),
            mention: RwSignal::new(None),
        }
    }

    /// Asks the composer to mention `name` in its draft and take the
    /// keyboard.
    pub(crate) fn mention(&self, name: &str) {
        self.mention.set(Some(name.to_owned()));
    }

    /// The name to mention, if one was asked for since the last call
    /// (tracked): the composer's to add, once.
    pub(crate) fn take_mention(&self) -> Option<String> {
        self.mention.track();
        if self.mention.with_untracked(Option::is_none) {
            return None;
        }
        self.mention.try_update(Option::take).flatten()
    }

    /// The mode (tracked).
    pub(crate) fn mode(&self) -> Mode {
        self.mode.get()
    }

    /// The mode (untracked).
    pub(crate) fn mode_untracked(&self) -> Mode {
        self.mode.get_untracked()
    }

    /// Back to a new message (cancelled, sent, or the room left).
    pub(crate) fn reset(&self) {
        if self.mode.with_untracked(|m| *m != Mode::Writing) {
            self.mode.set(Mode::Writing);
        }
    }

    /// Puts `message` (mine) into the composer for editing.
    pub(crate) fn edit(&self, message: &ChatMessage) {
        self.mode.set(Mode::Editing {
            id: message.id,
            text: caption(&message.text, &message.attachments).to_owned(),
            attachments: message.attachments.clone(),
        });
    }

    /// Answers `message`: the composer quotes it.
    pub(crate) fn reply(&self, message: &ChatMessage) {
        self.mode.set(Mode::reply_to(message));
    }

    /// Puts my newest message still on the page (one `authorship` says
    /// is mine) into the composer for editing; returns whether there was
    /// one.
    pub(crate) fn edit_last(&self, conversation: Conversation, authorship: Authorship) -> bool {
        let last = conversation
            .with_untracked(|c| c.last_own(|id| authorship.owns_untracked(id)).cloned());
        match last {
            Some(message) => {
                self.edit(&message);
                true
            }
            None => false,
        }
    }

    /// I am deleting message `id`: an edit of it stops.
    pub(crate) fn stop_editing(&self, id: u64) {
        if matches!(self.mode_untracked(), Mode::Editing { id: editing, .. } if editing == id) {
            self.reset();
        }
    }

    /// Message `target` was deleted (by anyone): an edit of it or a reply
    /// to it stops.
    pub(crate) fn message_deleted(&self, target: u64) {
        let composing_on_it = match self.mode_untracked() {
            Mode::Editing { id, .. } => id == target,
            Mode::Replying(quote) => quote.id == target,
            Mode::Writing => false,
        };
        if composing_on_it {
            self.reset();
        }
    }

    /// Sends what the composer holds, as its mode says: a message, a
    /// reply, or a new text for one of mine. Like everything else it is
    /// queued in `outbox` if the `session`'s rules accept it, and goes out
    /// now if joined, or by itself once the connection is back, even after
    /// a reload. My typing notice stops.
    pub(crate) fn submit(
        &self,
        raw: &str,
        session: Session,
        presence: Presence,
        outbox: Outbox,
    ) -> Result<(), Problem> {
        let (text, _author) = session.with_untracked(|s| s.message(raw))?;
        presence.stop_typing();
        let (act, text) = match self.mode_untracked() {
            Mode::Writing => (Act::Post { reply_to: None }, text),
            Mode::Replying(quote) => (
                Act::Post {
                    reply_to: Some(quote.id),
                },
                text,
            ),
            Mode::Editing {
                id,
                text: before,
                attachments,
            } => {
                if before == text {
                    self.reset();
                    return Ok(());
                }
                // A file message keeps its link lines after the new caption.
                (Act::Edit { id }, text_with_links(&text, &attachments))
            }
        };
        outbox.act(act, text);
        self.reset();
        Ok(())
    }

    /// Sends the composer's files with `raw` as their caption (which may
    /// be empty), answering the message quoted if replying: the message
    /// goes once its files are uploaded, even after a reconnect. Not while
    /// editing (an edit changes the caption only).
    pub(crate) fn submit_files(
        &self,
        raw: &str,
        session: Session,
        presence: Presence,
        attachments: Attachments,
    ) -> Result<(), Problem> {
        let caption = match raw.trim().is_empty() {
            true => String::new(),
            false => session.with_untracked(|s| s.message(raw))?.0,
        };
        let reply_to = match self.mode_untracked() {
            Mode::Writing => None,
            Mode::Replying(quote) => Some(quote.id),
            // The composer sends an edit instead: files are not added to one.
            Mode::Editing { .. } => return Ok(()),
        };
        presence.stop_typing();
        if attachments.send(caption, reply_to) {
            self.reset();
        }
        Ok(())
    }
}

impl Default for Composing {
    fn default() -> Self {
        Self::new()
    }
}

/// The composer's mode from context.
pub(crate) fn use_composing() -> Composing {
    expect_context::<Composing>()
}

#[cfg(test)]
mod tests {
    use super::with_mention;

    #[test]
    fn a_mention_goes_at_the_end_of_the_draft_after_a_space_and_leaves_one() {
        assert_eq!(with_mention("", "Bob"), "@Bob ");
        assert_eq!(with_mention("hi", "Bob"), "hi @Bob ");
        assert_eq!(with_mention("hi ", "Bob"), "hi @Bob ");
        assert_eq!(with_mention("hi\n", "Ann Lee"), "hi\n@Ann Lee ");
        assert_eq!(with_mention("@Bob ", "Ann"), "@Bob @Ann ");
    }
}
