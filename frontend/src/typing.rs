//! The typing indicator, both ways.
//!
//! Outgoing: `true` on the first keystroke and then at most every 3 s while
//! typing goes on; `false` 2 s after the last keystroke, on send and on blur.
//! Incoming: each typist expires by itself 6 s after their last `true`, so a
//! lost `false` (a dropped connection) never leaves someone "typing" forever.

use chat_shared::username_key;
use leptos::prelude::*;
use std::time::Duration;

use crate::time::now_ms;

/// While typing goes on, `true` is repeated this often (and no more often),
/// which keeps the others' 6 s expiry from firing mid-sentence.
pub(crate) const TYPING_REPEAT_MS: f64 = 3_000.0;
/// Typing counts as stopped this long after the last keystroke.
pub(crate) const TYPING_IDLE: Duration = Duration::from_secs(2);
/// Someone else's "typing" disappears this long after their last `true`.
pub(crate) const TYPIST_EXPIRY_MS: f64 = 6_000.0;

/// The debounce state for this user's own typing notices.
#[derive(Default)]
pub(crate) struct OutgoingTyping {
    /// Whether the others were last told "typing".
    typing: bool,
    last_true_at: f64,
    idle_timer: Option<TimeoutHandle>,
}

impl OutgoingTyping {
    /// A keystroke at `now`: maybe send `true`, and (re)arm the idle timer
    /// that calls `stop`. `send` returns whether the frame went out.
    pub(crate) fn keystroke(
        &mut self,
        now: f64,
        send: impl Fn(bool) -> bool,
        stop: impl Fn() + 'static,
    ) {
        if should_send_typing(self.typing, self.last_true_at, now) && send(true) {
            self.typing = true;
            self.last_true_at = now;
        }
        if let Some(timer) = self.idle_timer.take() {
            timer.clear();
        }
        self.idle_timer = set_timeout_with_handle(stop, TYPING_IDLE).ok();
    }

    /// Typing ended: send `false` if the others think we are typing.
    pub(crate) fn stop(&mut self, send: impl Fn(bool) -> bool) {
        if let Some(timer) = self.idle_timer.take() {
            timer.clear();
        }
        if self.typing {
            send(false);
            self.typing = false;
        }
    }

    /// The connection closed: the server has forgotten us, start afresh.
    pub(crate) fn reset(&mut self) {
        if let Some(timer) = self.idle_timer.take() {
            timer.clear();
        }
        self.typing = false;
    }
}

/// Whether a keystroke at `now` should send `is_typing: true`.
pub(crate) fn should_send_typing(typing: bool, last_true_at: f64, now: f64) -> bool {
    !typing || now - last_true_at >= TYPING_REPEAT_MS
}

/// Who else is typing, each with the time their entry expires.
#[derive(Clone, Copy)]
pub(crate) struct Typists {
    list: RwSignal<Vec<(String, f64)>>,
}

impl Typists {
    /// Nobody typing.
    pub(crate) fn new() -> Self {
        Self {
            list: RwSignal::new(Vec::new()),
        }
    }

    /// The names typing now, in the order they started (tracked).
    pub(crate) fn names(&self) -> Vec<String> {
        self.list
            .with(|list| list.iter().map(|(name, _)| name.clone()).collect())
    }

    /// `name` sent `true`: show them, and forget them 6 s from now unless
    /// another `true` comes.
    pub(crate) fn started(&self, name: String) {
        let expires = now_ms() + TYPIST_EXPIRY_MS;
        let key = username_key(&name);
        self.list.update(
            |list| match list.iter_mut().find(|(n, _)| username_key(n) == key) {
                Some(entry) => entry.1 = expires,
                None => list.push((name, expires)),
            },
        );
        let list = self.list;
        set_timeout(
            move || {
                let now = now_ms();
                if list.with_untracked(|l| l.iter().any(|(_, at)| *at <= now)) {
                    list.update(|l| l.retain(|(_, at)| *at > now));
                }
            },
            // A little after the expiry, so the entry is surely due.
            Duration::from_millis(TYPIST_EXPIRY_MS as u64 + 50),
        );
    }

    /// `name` stopped typing, sent a message or left.
    pub(crate) fn stopped(&self, name: &str) {
        let key = username_key(name);
        let is_key = move |n: &String| username_key(n) == key;
        if self
            .list
            .with_untracked(|l| l.iter().any(|(n, _)| is_key(n)))
        {
            self.list.update(|l| l.retain(|(n, _)| !is_key(n)));
        }
    }

    /// Everyone is forgotten, as when the connection drops.
    pub(crate) fn clear(&self) {
        self.list.set(Vec::new());
    }
}

impl Default for Typists {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_true_goes_out_first_then_at_most_every_three_seconds() {
        assert!(should_send_typing(false, 0.0, 10.0));
        assert!(!should_send_typing(true, 1_000.0, 1_500.0));
        assert!(!should_send_typing(true, 1_000.0, 3_999.0));
        assert!(should_send_typing(true, 1_000.0, 4_000.0));
    }
}
