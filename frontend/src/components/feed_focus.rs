//! The conversation as one Tab stop (the ARIA feed pattern, with a roving
//! tabindex, as chat apps do): one message at a time is in the Tab order,
//! the arrow keys move between messages, and only that message's own
//! controls (its actions, quote, links, reactions) are on Tab's way. Without
//! it every message's hidden buttons were, and thirty messages took some
//! seventy Tabs to cross.

use std::collections::HashMap;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::state::conversation::{history::Older, ConversationState, EntryKind};

/// How many messages PageUp and PageDown move.
const PAGE: usize = 5;

/// A key that moves the focus from one message to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Previous,
    Next,
    First,
    Last,
    PageUp,
    PageDown,
}

impl Step {
    /// The step a key (`KeyboardEvent.key`) asks for, if any.
    pub(crate) fn from_key(key: &str) -> Option<Self> {
        match key {
            "ArrowUp" => Some(Self::Previous),
            "ArrowDown" => Some(Self::Next),
            "Home" => Some(Self::First),
            "End" => Some(Self::Last),
            "PageUp" => Some(Self::PageUp),
            "PageDown" => Some(Self::PageDown),
            _ => None,
        }
    }
}

/// Which message is the conversation's Tab stop: the one focused last
/// while it is still on the page, else the newest (where a reader
/// coming into the conversation most likely wants to be).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RovingFocus {
    /// The message the reader last focused, by line key.
    chosen: Option<u64>,
}

impl RovingFocus {
    /// The Tab stop among `messages` (line keys, oldest first).
    pub(crate) fn stop(&self, messages: &[u64]) -> Option<u64> {
        self.chosen
            .filter(|chosen| messages.contains(chosen))
            .or_else(|| messages.last().copied())
    }

    /// Message `key` got the focus (a click, a Tab): it is the stop now.
    pub(crate) fn focused(&mut self, key: u64) {
        self.chosen = Some(key);
    }

    /// Moves the stop by `step` among `messages`, staying at the ends;
    /// returns the message to focus.
    pub(crate) fn step(&mut self, messages: &[u64], step: Step) -> Option<u64> {
        let last = messages.len().checked_sub(1)?;
        let from = self
            .stop(messages)
            .and_then(|stop| messages.iter().position(|k| *k == stop))
            .unwrap_or(last);
        let to = match step {
            Step::Previous => from.saturating_sub(1),
            Step::Next => (from + 1).min(last),
            Step::First => 0,
            Step::Last => last,
            Step::PageUp => from.saturating_sub(PAGE),
            Step::PageDown => (from + PAGE).min(last),
        };
        let key = messages[to];
        self.chosen = Some(key);
        Some(key)
    }
}

/// The line keys of the messages among `state`'s lines (not the joined
/// and left notices), oldest first.
fn message_keys(state: &ConversationState) -> Vec<u64> {
    state
        .entries()
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Message { .. }))
        .map(|e| e.key)
        .collect()
}

/// The roving focus for the views: which message is the Tab stop, each
/// message's place in the feed, and moving between them. Provided by the
/// message list, read by each message.
#[derive(Clone, Copy)]
pub(crate) struct FeedFocus {
    roving: RwSignal<RovingFocus>,
    /// The messages' line keys, oldest first.
    messages: Memo<Vec<u64>>,
    /// Each message's place in the feed, from 1 (`aria-posinset`).
    positions: Memo<HashMap<u64, usize>>,
    stop: Memo<Option<u64>>,
    /// How many messages the conversation has (`aria-setsize`): -1 while
    /// older ones may exist that the page has not loaded.
    size: Memo<i64>,
}

impl FeedFocus {
    /// The roving focus over `conversation`'s messages, provided to the
    /// views below.
    pub(crate) fn provide(conversation: crate::state::conversation::Conversation) -> Self {
        let roving = RwSignal::new(RovingFocus::default());
        let messages = Memo::new(move |_| conversation.with(message_keys));
        let positions = Memo::new(move |_| {
            messages.with(|m| m.iter().enumerate().map(|(i, k)| (*k, i + 1)).collect())
        });
        let stop = Memo::new(move |_| messages.with(|m| roving.with(|r| r.stop(m))));
        let size = Memo::new(move |_| {
            if conversation.with(ConversationState::older) == Older::NoMore {
                messages.with(Vec::len) as i64
            } else {
                -1
            }
        });
        let feed = Self {
            roving,
            messages,
            positions,
            stop,
            size,
        };
        provide_context(feed);
        feed
    }

    /// Whether there is any message, so the list is a feed of them (an
    /// empty feed is an error to a screen reader).
    pub(crate) fn has_messages(&self) -> bool {
        self.messages.with(|m| !m.is_empty())
    }

    /// Whether message `key` is the one in the Tab order (tracked).
    pub(crate) fn is_stop(&self, key: u64) -> bool {
        self.stop.get() == Some(key)
    }

    /// Message `key`'s place in the feed, from 1 (tracked).
    pub(crate) fn position(&self, key: u64) -> Option<usize> {
        self.positions.with(|p| p.get(&key).copied())
    }

    /// The feed's size for `aria-setsize` (tracked).
    pub(crate) fn size(&self) -> i64 {
        self.size.get()
    }

    /// Message `key` got the focus.
    pub(crate) fn focused(&self, key: u64) {
        if untrack(|| self.stop.get()) != Some(key) {
            self.roving.update(|r| r.focused(key));
        }
    }

    /// Moves the stop by `step`; returns the message to focus.
    pub(crate) fn step(&self, step: Step) -> Option<u64> {
        let messages = self.messages.get_untracked();
        self.roving
            .try_update(|r| r.step(&messages, step))
            .flatten()
    }
}

/// The message list's roving focus.
pub(crate) fn use_feed_focus() -> FeedFocus {
    expect_context()
}

/// What a message's controls know of the message they are in: whether
/// it is the conversation's Tab stop (its controls are in the Tab order
/// only then), and when the pointer left it (an armed delete disarms).
#[derive(Clone, Copy)]
pub(crate) struct InMessage {
    pub(crate) tab_stop: Signal<bool>,
    pub(crate) left: Trigger,
}

/// The `tabindex` for a control: in the Tab order when it is not in a
/// message, or in the message that is the Tab stop; reached by Enter on
/// its message otherwise.
pub(crate) fn tab_index() -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let tab_stop = use_context::<InMessage>().map(|m| m.tab_stop);
    move || {
        if tab_stop.is_none_or(|s| s.get()) {
            "0"
        } else {
            "-1"
        }
    }
}

/// The message line (and its key) that `target` is in, if any.
pub(crate) fn message_of(
    target: Option<web_sys::EventTarget>,
) -> Option<(web_sys::HtmlElement, Option<u64>)> {
    let element = target?.dyn_into::<web_sys::Element>().ok()?;
    let line = element.closest("#timeline li.msg").ok()??;
    let key = line.get_attribute("data-key").and_then(|k| k.parse().ok());
    Some((line.dyn_into().ok()?, key))
}

/// The keyboard in the conversation: on a message, the arrows (and Home,
/// End, PageUp, PageDown) move to another and Enter goes to its actions;
/// in a message's controls, Escape goes back to the message.
pub(crate) fn on_feed_key(feed: FeedFocus, ev: &leptos::ev::KeyboardEvent) {
    if ev.default_prevented() || ev.alt_key() || ev.ctrl_key() || ev.meta_key() || ev.shift_key() {
        return;
    }
    let Some((line, _)) = message_of(ev.target()) else {
        return;
    };
    let on_line = ev
        .target()
        .is_some_and(|t| t == *line.unchecked_ref::<web_sys::EventTarget>());
    let key = ev.key();
    if !on_line {
        if key == "Escape" {
            ev.prevent_default();
            let _ = line.focus();
        }
        return;
    }
    if key == "Enter" {
        let first_action = line
            .query_selector(".msg-actions .action")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(action) = first_action {
            ev.prevent_default();
            let _ = action.focus();
        }
        return;
    }
    let Some(step) = Step::from_key(&key) else {
        return;
    };
    ev.prevent_default();
    let target = feed.step(step).and_then(|key| {
        document()
            .query_selector(&format!("#timeline li.msg[data-key=\"{key}\"]"))
            .ok()
            .flatten()
    });
    if let Some(target) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = target.focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [u64; 4] = [3, 7, 9, 12];

    #[test]
    fn the_stop_is_the_newest_message_until_one_is_focused() {
        let mut roving = RovingFocus::default();
        assert_eq!(roving.stop(&KEYS), Some(12));
        assert_eq!(roving.stop(&[]), None);
        roving.focused(7);
        assert_eq!(roving.stop(&KEYS), Some(7));
    }

    #[test]
    fn a_focused_message_that_left_the_page_gives_the_stop_back_to_the_newest() {
        let mut roving = RovingFocus::default();
        roving.focused(3);
        assert_eq!(roving.stop(&[7, 9, 12, 15]), Some(15));
    }

    #[test]
    fn the_arrows_move_one_message_and_stay_at_the_ends() {
        let mut roving = RovingFocus::default();
        assert_eq!(roving.step(&KEYS, Step::Previous), Some(9));
        assert_eq!(roving.step(&KEYS, Step::Previous), Some(7));
        assert_eq!(roving.step(&KEYS, Step::Next), Some(9));
        assert_eq!(roving.step(&KEYS, Step::First), Some(3));
        assert_eq!(roving.step(&KEYS, Step::Previous), Some(3));
        assert_eq!(roving.step(&KEYS, Step::Last), Some(12));
        assert_eq!(roving.step(&KEYS, Step::Next), Some(12));
        assert_eq!(roving.stop(&KEYS), Some(12));
    }

    #[test]
    fn page_keys_move_a_few_messages_and_stay_at_the_ends() {
        let keys: Vec<u64> = (0..20).collect();
        let mut roving = RovingFocus::default();
        assert_eq!(roving.step(&keys, Step::PageUp), Some(14));
        assert_eq!(roving.step(&keys, Step::PageDown), Some(19));
        roving.focused(2);
        assert_eq!(roving.step(&keys, Step::PageUp), Some(0));
    }

    #[test]
    fn no_messages_no_step() {
        let mut roving = RovingFocus::default();
        assert_eq!(roving.step(&[], Step::Next), None);
    }

    #[test]
    fn keys_name_their_steps() {
        assert_eq!(Step::from_key("ArrowUp"), Some(Step::Previous));
        assert_eq!(Step::from_key("End"), Some(Step::Last));
        assert_eq!(Step::from_key("ArrowLeft"), None);
    }
}
