//! Edits, deletions and reactions, live or replayed, applied to the
//! messages on the page: each changes its message in place, once, and a
//! deleted message stays as a tombstone that its quotes point to.

use chat_shared::{normalize_emoji, Change, ChatMessage, Reactions};

use super::{ConversationState, EntryKind};

impl ConversationState {
    /// Applies an edit, deletion or reaction (live or replayed) to its
    /// message, if that is on the page; returns whether anything changed.
    /// Applying one twice changes nothing the second time.
    pub(crate) fn apply(&mut self, change: &Change) -> bool {
        self.newest_change = self.newest_change.max(Some(change.id()));
        let target = change.target();
        let mut changed = false;
        if let Some(&(key, _)) = self.shown.get(&target) {
            for entry in self.entries.iter_mut().filter(|e| e.key == key) {
                if let EntryKind::Message { message, .. } = &mut entry.kind {
                    if apply_change(message, change) {
                        changed = true;
                        self.dirty.push(key);
                    }
                }
            }
        }
        // Replies quoting a deleted original say so.
        if matches!(change, Change::MessageDeleted(_)) {
            for entry in &mut self.entries {
                if let EntryKind::Message { message, .. } = &mut entry.kind {
                    if let Some(quote) = message.reply.as_mut().filter(|q| q.id == target) {
                        if !quote.deleted {
                            quote.deleted = true;
                            quote.text.clear();
                            self.dirty.push(entry.key);
                            changed = true;
                        }
                    }
                }
            }
        }
        changed
    }
}

/// Applies `change` to `message` (its target); returns whether it changed.
/// Idempotent, so a replay of what was seen live changes nothing: an edit
/// sets the text, a reaction adds or removes one user once, a deletion
/// leaves a tombstone that nothing changes any more.
pub(crate) fn apply_change(message: &mut ChatMessage, change: &Change) -> bool {
    if message.deleted {
        return false;
    }
    match change {
        Change::MessageEdited(edit) => {
            // Without text: deleted since, which a later item says.
            let Some(text) = &edit.text else {
                return false;
            };
            let edited_at = Some(edit.edited_at.clone());
            if message.text == *text && message.edited_at == edited_at {
                return false;
            }
            message.text.clone_from(text);
            message.edited_at = edited_at;
            true
        }
        Change::MessageDeleted(_) => {
            message.deleted = true;
            message.text.clear();
            message.reactions.clear();
            message.edited_at = None;
            true
        }
        Change::Reaction(reaction) => {
            let Some(emoji) = normalize_emoji(&reaction.emoji) else {
                return false;
            };
            let user = &reaction.username;
            let group = message.reactions.iter().position(|r| r.emoji == emoji);
            match (reaction.on, group) {
                (true, Some(at)) => {
                    let users = &mut message.reactions[at].users;
                    if users.contains(user) {
                        return false;
                    }
                    users.push(user.clone());
                }
                (true, None) => message.reactions.push(Reactions {
                    emoji: emoji.to_owned(),
                    users: vec![user.clone()],
                }),
                (false, Some(at)) => {
                    let users = &mut message.reactions[at].users;
                    let before = users.len();
                    users.retain(|u| u != user);
                    if users.len() == before {
                        return false;
                    }
                    if users.is_empty() {
                        message.reactions.remove(at);
                    }
                }
                (false, None) => return false,
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::conversation::tests::{ids, message};
    use chat_shared::{Deletion, Edit, Quote, Reaction};

    fn deletion(id: u64, target: u64) -> Change {
        Change::MessageDeleted(Deletion {
            id,
            target,
            username: "a".into(),
            client_id: None,
        })
    }

    fn reaction(id: u64, target: u64, user: &str, on: bool) -> Change {
        Change::Reaction(Reaction {
            id,
            target,
            emoji: "👍".into(),
            on,
            username: user.into(),
            client_id: None,
        })
    }

    fn shown(state: &ConversationState, id: u64) -> ChatMessage {
        state.message(id).cloned().expect("on the page")
    }

    #[test]
    fn a_deleted_message_stays_as_a_tombstone_and_its_quotes_say_so() {
        let mut state = ConversationState::default();
        state.show(message(1, "a", 0), false);
        let mut reply = message(2, "b", 0);
        reply.reply_to = Some(1);
        reply.reply = Some(Quote {
            id: 1,
            username: "a".into(),
            text: "text 1".into(),
            deleted: false,
        });
        state.show(reply, false);
        state.take_dirty();
        assert!(state.apply(&deletion(3, 1)));
        let tombstone = shown(&state, 1);
        assert!(tombstone.deleted && tombstone.text.is_empty());
        let quote = shown(&state, 2).reply.expect("a quote");
        assert!(quote.deleted && quote.text.is_empty());
        assert_eq!(state.take_dirty(), [0, 1], "both lines are patched");
        // Again (a replay): nothing changes, but the id is counted.
        assert!(!state.apply(&deletion(3, 1)));
        assert_eq!(ids(&state), [1, 2]);
        assert_eq!(state.newest_id(), Some(3));
    }

    #[test]
    fn edits_and_reactions_apply_once_and_only_to_messages_shown() {
        let mut state = ConversationState::default();
        state.show(message(1, "a", 0), false);
        let edit = Change::MessageEdited(Edit {
            id: 2,
            target: 1,
            text: Some("fixed".into()),
            edited_at: "2026-11-25T00:01:00.000Z".into(),
            username: "a".into(),
            client_id: None,
        });
        assert!(state.apply(&edit));
        assert!(!state.apply(&edit));
        assert_eq!(shown(&state, 1).text, "fixed");
        assert!(state.apply(&reaction(3, 1, "b", true)));
        assert!(!state.apply(&reaction(3, 1, "b", true)));
        assert!(state.apply(&reaction(4, 1, "c", true)));
        assert_eq!(shown(&state, 1).reactions[0].users, ["b", "c"]);
        assert!(state.apply(&reaction(5, 1, "b", false)));
        assert!(state.apply(&reaction(6, 1, "c", false)));
        assert!(shown(&state, 1).reactions.is_empty(), "no empty chip");
        assert!(!state.apply(&reaction(7, 1, "c", false)));
        // A change for a message not loaded is no news, but counts for `since`.
        assert!(!state.apply(&reaction(9, 99, "b", true)));
        assert_eq!(state.newest_id(), Some(9));
        // A deleted message takes no more changes.
        state.apply(&deletion(10, 1));
        assert!(!state.apply(&edit));
        assert!(!state.apply(&reaction(11, 1, "b", true)));
        // A replayed edit of a message deleted since carries no text.
        let mut other = message(12, "a", 0);
        let blank = Change::MessageEdited(Edit {
            id: 13,
            target: 12,
            text: None,
            edited_at: "2026-11-25T00:01:00.000Z".into(),
            username: "a".into(),
            client_id: None,
        });
        assert!(!apply_change(&mut other, &blank));
        assert_eq!(other.text, "text 12");
    }

    #[test]
    fn my_last_message_is_the_newest_one_i_own_that_is_not_deleted() {
        let mut state = ConversationState::default();
        state.show(message(1, "me", 0), true);
        state.show(message(2, "me", 0), true);
        state.show(message(3, "b", 0), false);
        assert_eq!(state.last_own(|id| id != 3).map(|m| m.id), Some(2));
        state.apply(&deletion(4, 2));
        assert_eq!(state.last_own(|id| id != 3).map(|m| m.id), Some(1));
    }
}
