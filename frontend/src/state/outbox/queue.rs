//! The outbox's plain state machine, tested on the host: my unconfirmed
//! messages (and changes) in sending order, each with where it is on its
//! way ([`Delivery`]); the pace of a flush, and what a server error does
//! to what is in flight.

use chat_shared::{ClientFrame, ClientLimits, ErrorCode};
use std::time::Duration;

use super::{Act, Unsent};
use crate::i18n::Problem;

/// A `rate_limited` error from a server that does not say how long to wait.
const RATE_LIMIT_FALLBACK: Duration = Duration::from_secs(1);
/// When the server could not store a message: try again after this long.
const SERVER_ERROR_PAUSE: Duration = Duration::from_secs(5);

/// A message of mine the server has not confirmed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Outgoing {
    /// Local and unique for the page: the row's key for its whole life.
    pub(crate) key: u64,
    pub(crate) unsent: Unsent,
    pub(crate) delivery: Delivery,
}

/// Where a message of mine is on its way to the server.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Delivery {
    /// Waiting for a connection (or for the rate limit); sent by itself.
    Queued,
    /// Sent on the current socket; the server's copy has not come back.
    Sending,
    /// The server refused it; the user decides to resend or discard.
    Failed(Problem),
}

impl Delivery {
    /// A stable name, exposed as `data-state` for styling and the tests.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sending => "sending",
            Delivery::Failed(_) => "failed",
        }
    }
}

/// How fast queued messages go out: `batch` at once, then a `pause`, so a
/// long outbox stays under the server's sustained rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct FlushPace {
    pub(crate) batch: usize,
    pub(crate) pause: Duration,
}

impl FlushPace {
    /// The pace the server's announced limits allow: a second's worth of
    /// its rate per batch (never more than its burst), or one message per
    /// `1 / rate` seconds when the rate is below one per second.
    pub(crate) fn from_limits(limits: &ClientLimits) -> Self {
        let rate = if limits.message_rate.is_finite() && limits.message_rate > 0.0 {
            limits.message_rate
        } else {
            // A server announcing no usable rate: go slowly rather than not at all.
            1.0
        };
        let burst = usize::try_from(limits.message_burst.max(1)).unwrap_or(usize::MAX);
        if rate >= 1.0 {
            Self {
                batch: (rate.floor() as usize).clamp(1, burst),
                pause: Duration::from_secs(1),
            }
        } else {
            Self {
                batch: 1,
                pause: Duration::from_secs_f64(1.0 / rate),
            }
        }
    }
}

impl Default for FlushPace {
    fn default() -> Self {
        Self::from_limits(&ClientLimits::default())
    }
}

/// What an `error` frame means for the messages in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorEffect {
    /// Nothing was stored: they go again after the wait, by themselves.
    Retry(Duration),
    /// The server failed to store them: they go again after the wait, and
    /// the user is told.
    RetryAndTell(Duration),
    /// The server refused one message: it fails, for the user to resend
    /// or discard.
    Refuse,
    /// Not about messages.
    Unrelated,
}

/// What an error with `code` does to the outbox; `retry_after_ms` is the
/// wait a `rate_limited` error asks for (absent from older servers).
pub(crate) fn error_effect(code: ErrorCode, retry_after_ms: Option<u64>) -> ErrorEffect {
    match code {
        ErrorCode::RateLimited => {
            ErrorEffect::Retry(retry_after_ms.map_or(RATE_LIMIT_FALLBACK, Duration::from_millis))
        }
        ErrorCode::ServerError => ErrorEffect::RetryAndTell(SERVER_ERROR_PAUSE),
        // `forbidden` with a message's client_id: the room is locked.
        ErrorCode::EmptyMessage
        | ErrorCode::MessageTooLong
        | ErrorCode::BadRequest
        | ErrorCode::Forbidden
        | ErrorCode::AttachmentNotFound
        | ErrorCode::Unknown => ErrorEffect::Refuse,
        _ => ErrorEffect::Unrelated,
    }
}

/// My unconfirmed messages in this room.
#[derive(Debug, Default)]
pub(crate) struct OutboxState {
    items: Vec<Outgoing>,
    next_key: u64,
}

impl OutboxState {
    /// The messages, in sending order.
    pub(crate) fn items(&self) -> &[Outgoing] {
        &self.items
    }

    /// Queues a newly written message; returns its key.
    pub(crate) fn add(&mut self, unsent: Unsent) -> u64 {
        let key = self.next_key();
        self.items.push(Outgoing {
            key,
            unsent,
            delivery: Delivery::Queued,
        });
        key
    }

    /// Sends up to `pace.batch` queued messages through `send`, stopping at
    /// the first it refuses, and marks the sent ones `Sending`. Returns
    /// whether queued ones are left for a later flush after `pace.pause`
    /// (a refused send waits for the socket instead).
    pub(crate) fn flush(
        &mut self,
        pace: FlushPace,
        mut send: impl FnMut(&ClientFrame) -> bool,
    ) -> bool {
        let queued = self
            .items
            .iter_mut()
            .filter(|o| o.delivery == Delivery::Queued);
        for (sent, item) in queued.enumerate() {
            if sent == pace.batch {
                return true;
            }
            if !send(&frame(&item.unsent)) {
                return false;
            }
            item.delivery = Delivery::Sending;
        }
        false
    }

    /// The server's copy of the message `client_id` came back: it is
    /// stored. Returns whether it was one of these.
    pub(crate) fn confirmed(&mut self, client_id: &str) -> bool {
        let before = self.items.len();
        self.items.retain(|o| o.unsent.client_id != client_id);
        self.items.len() != before
    }

    /// Messages sent but not confirmed go back to the queue: the socket
    /// closed, or the server stored nothing (rate limit, its own error).
    /// Whether they arrived or not, they go again: the server keeps one
    /// message per `client_id`.
    pub(crate) fn requeue_sent(&mut self) {
        self.requeue(None);
    }

    /// The message in flight `client_id` names goes back to the queue; from
    /// a server that names none, every message in flight does.
    pub(crate) fn requeue(&mut self, client_id: Option<&str>) {
        let named = |o: &Outgoing| client_id.is_none_or(|id| o.unsent.client_id == id);
        for item in self
            .items
            .iter_mut()
            .filter(|o| o.delivery == Delivery::Sending && named(o))
        {
            item.delivery = Delivery::Queued;
        }
    }

    /// The act (not a message) `client_id` names, if it is here: a refusal
    /// of one is told and forgotten, as there is no row to resend it from.
    pub(crate) fn act_named(&self, client_id: Option<&str>) -> Option<u64> {
        let id = client_id?;
        self.items
            .iter()
            .find(|o| o.unsent.client_id == id && !o.unsent.is_post())
            .map(|o| o.key)
    }

    /// The server refused a message: the one named by `client_id`, or, from
    /// a server that does not say, the first one in flight. Returns whether
    /// a message took the blame.
    pub(crate) fn refused(&mut self, client_id: Option<&str>, problem: Problem) -> bool {
        let blamed = match client_id {
            Some(id) => self.items.iter_mut().find(|o| o.unsent.client_id == id),
            None => self
                .items
                .iter_mut()
                .find(|o| o.delivery == Delivery::Sending),
        };
        match blamed {
            Some(item) => {
                item.delivery = Delivery::Failed(problem);
                true
            }
            None => false,
        }
    }

    /// Queues a refused message once more, at the end: the server confirms
    /// in sending order.
    pub(crate) fn resend(&mut self, key: u64) {
        if let Some(at) = self.items.iter().position(|o| o.key == key) {
            let mut item = self.items.remove(at);
            item.delivery = Delivery::Queued;
            self.items.push(item);
        }
    }

    /// Forgets a message; returns its `client_id` if it was here.
    pub(crate) fn discard(&mut self, key: u64) -> Option<String> {
        let at = self.items.iter().position(|o| o.key == key)?;
        Some(self.items.remove(at).unsent.client_id)
    }

    /// Takes in messages kept on disk (by a reload, or another tab),
    /// keeping the ones already here, all in writing order.
    pub(crate) fn adopt(&mut self, stored: Vec<Unsent>) {
        let mut added = false;
        for unsent in stored {
            if self
                .items
                .iter()
                .all(|o| o.unsent.client_id != unsent.client_id)
            {
                self.add(unsent);
                added = true;
            }
        }
        if added {
            self.items
                .sort_by(|a, b| a.unsent.written_ms.total_cmp(&b.unsent.written_ms));
        }
    }

    /// Forgets the messages of the room being left (the disk keeps them).
    pub(crate) fn clear(&mut self) {
        self.items.clear();
    }

    fn next_key(&mut self) -> u64 {
        let key = self.next_key;
        self.next_key += 1;
        key
    }
}

/// The frame that sends `unsent`, with its `client_id`.
fn frame(unsent: &Unsent) -> ClientFrame {
    let client_id = Some(unsent.client_id.clone());
    match &unsent.act {
        Act::Post { reply_to } => ClientFrame::Message {
            text: unsent.text.clone(),
            client_id,
            reply_to: *reply_to,
            attachments: unsent.attachments.clone(),
        },
        Act::Edit { id } => ClientFrame::Edit {
            id: *id,
            text: unsent.text.clone(),
            client_id,
        },
        Act::Delete { id } => ClientFrame::Delete { id: *id, client_id },
        Act::React { id, emoji, on } => ClientFrame::React {
            id: *id,
            emoji: emoji.clone(),
            on: *on,
            client_id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsent(text: &str, written_ms: f64) -> Unsent {
        Unsent {
            room: "general".into(),
            user: "alice".into(),
            text: text.into(),
            client_id: format!("id-{text}"),
            written_ms,
            act: Act::default(),
            attachments: Vec::new(),
        }
    }

    fn states(state: &OutboxState) -> Vec<(&str, &'static str)> {
        state
            .items()
            .iter()
            .map(|o| (o.unsent.text.as_str(), o.delivery.name()))
            .collect()
    }

    fn sent_texts(frames: &[ClientFrame]) -> Vec<String> {
        frames
            .iter()
            .map(|frame| match frame {
                ClientFrame::Message { text, .. } => text.clone(),
                other => panic!("not a message: {other:?}"),
            })
            .collect()
    }

    const PACE: FlushPace = FlushPace {
        batch: 2,
        pause: Duration::from_secs(1),
    };

    fn refusal() -> Problem {
        Problem::server(ErrorCode::MessageTooLong, None, "too long".into())
    }

    #[test]
    fn a_message_is_queued_then_sending_then_confirmed() {
        let mut state = OutboxState::default();
        state.add(unsent("hi", 1.0));
        assert_eq!(states(&state), [("hi", "queued")]);
        let mut frames = Vec::new();
        assert!(!state.flush(PACE, |f| {
            frames.push(f.clone());
            true
        }));
        assert_eq!(
            frames,
            [ClientFrame::Message {
                text: "hi".into(),
                client_id: Some("id-hi".into()),
                reply_to: None,
                attachments: Vec::new(),
            }]
        );
        assert_eq!(states(&state), [("hi", "sending")]);
        assert!(!state.flush(PACE, |_| panic!("nothing is queued")));
        assert!(state.confirmed("id-hi"));
        assert!(state.items().is_empty());
        assert!(!state.confirmed("id-hi"));
    }

    #[test]
    fn changes_go_out_as_their_own_frames_and_are_named_on_refusal() {
        let mut state = OutboxState::default();
        state.add(unsent("post", 1.0));
        let edit = state.add(Unsent {
            act: Act::Edit { id: 7 },
            ..unsent("fixed", 2.0)
        });
        state.add(Unsent {
            text: String::new(),
            act: Act::React {
                id: 7,
                emoji: "👍".into(),
                on: true,
            },
            ..unsent("react", 3.0)
        });
        let mut frames = Vec::new();
        state.flush(FlushPace { batch: 3, ..PACE }, |f| {
            frames.push(f.clone());
            true
        });
        assert_eq!(
            frames[1..],
            [
                ClientFrame::Edit {
                    id: 7,
                    text: "fixed".into(),
                    client_id: Some("id-fixed".into())
                },
                ClientFrame::React {
                    id: 7,
                    emoji: "👍".into(),
                    on: true,
                    client_id: Some("id-react".into())
                }
            ]
        );
        assert_eq!(state.act_named(Some("id-fixed")), Some(edit));
        assert_eq!(
            state.act_named(Some("id-post")),
            None,
            "a message has its row"
        );
        assert!(state.confirmed("id-react"));
    }

    #[test]
    fn without_a_socket_messages_stay_queued() {
        let mut state = OutboxState::default();
        state.add(unsent("a", 1.0));
        assert!(!state.flush(PACE, |_| false));
        assert_eq!(states(&state), [("a", "queued")]);
    }

    #[test]
    fn a_flush_sends_one_batch_and_asks_for_another() {
        let mut state = OutboxState::default();
        for (i, text) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            state.add(unsent(text, i as f64));
        }
        let mut frames = Vec::new();
        assert!(state.flush(PACE, |f| {
            frames.push(f.clone());
            true
        }));
        assert_eq!(sent_texts(&frames), ["a", "b"]);
        assert!(state.flush(PACE, |f| {
            frames.push(f.clone());
            true
        }));
        assert!(!state.flush(PACE, |f| {
            frames.push(f.clone());
            true
        }));
        assert_eq!(sent_texts(&frames), ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn a_closed_socket_requeues_what_was_in_flight() {
        let mut state = OutboxState::default();
        state.add(unsent("a", 1.0));
        state.add(unsent("b", 2.0));
        state.flush(PACE, |_| true);
        state.refused(Some("id-b"), refusal());
        state.requeue_sent();
        assert_eq!(states(&state), [("a", "queued"), ("b", "failed")]);
    }

    #[test]
    fn a_rate_limited_message_named_by_the_server_alone_goes_back_to_the_queue() {
        let mut state = OutboxState::default();
        for text in ["a", "b", "c"] {
            state.add(unsent(text, 1.0));
        }
        state.flush(FlushPace { batch: 3, ..PACE }, |_| true);
        state.requeue(Some("id-b"));
        assert_eq!(
            states(&state),
            [("a", "sending"), ("b", "queued"), ("c", "sending")]
        );
        state.requeue(None);
        assert_eq!(
            states(&state),
            [("a", "queued"), ("b", "queued"), ("c", "queued")]
        );
    }

    #[test]
    fn the_refused_message_is_the_one_the_server_names() {
        let mut state = OutboxState::default();
        for text in ["a", "b", "c"] {
            state.add(unsent(text, 1.0));
        }
        state.flush(FlushPace { batch: 3, ..PACE }, |_| true);
        assert!(state.refused(Some("id-b"), refusal()));
        assert_eq!(
            states(&state),
            [("a", "sending"), ("b", "failed"), ("c", "sending")]
        );
        // An older server names none: the first in flight is blamed.
        assert!(state.refused(None, refusal()));
        assert_eq!(
            states(&state),
            [("a", "failed"), ("b", "failed"), ("c", "sending")]
        );
        assert!(!state.refused(Some("id-unknown"), refusal()));
    }

    #[test]
    fn a_resent_message_goes_to_the_end_of_the_queue() {
        let mut state = OutboxState::default();
        let first = state.add(unsent("a", 1.0));
        state.add(unsent("b", 2.0));
        state.flush(PACE, |_| true);
        state.refused(Some("id-a"), refusal());
        state.resend(first);
        assert_eq!(states(&state), [("b", "sending"), ("a", "queued")]);
        assert_eq!(state.items()[1].key, first, "the row keeps its key");
        assert_eq!(state.discard(first), Some("id-a".into()));
        assert_eq!(state.discard(first), None);
        assert_eq!(states(&state), [("b", "sending")]);
    }

    #[test]
    fn adopting_from_disk_keeps_writing_order_and_skips_known_ones() {
        let mut state = OutboxState::default();
        state.add(unsent("b", 2.0));
        state.adopt(vec![unsent("a", 1.0), unsent("b", 2.0), unsent("c", 3.0)]);
        assert_eq!(
            states(&state),
            [("a", "queued"), ("b", "queued"), ("c", "queued")]
        );
    }

    #[test]
    fn a_rate_limit_waits_as_long_as_the_server_says() {
        assert_eq!(
            error_effect(ErrorCode::RateLimited, Some(180)),
            ErrorEffect::Retry(Duration::from_millis(180))
        );
        // An older server says nothing: one second.
        assert_eq!(
            error_effect(ErrorCode::RateLimited, None),
            ErrorEffect::Retry(Duration::from_secs(1))
        );
        assert_eq!(
            error_effect(ErrorCode::ServerError, None),
            ErrorEffect::RetryAndTell(SERVER_ERROR_PAUSE)
        );
        assert_eq!(
            error_effect(ErrorCode::MessageTooLong, None),
            ErrorEffect::Refuse
        );
        assert_eq!(
            error_effect(ErrorCode::NameTaken, None),
            ErrorEffect::Unrelated
        );
    }

    #[test]
    fn the_pace_follows_the_servers_limits() {
        assert_eq!(
            FlushPace::from_limits(&ClientLimits::default()),
            FlushPace {
                batch: 5,
                pause: Duration::from_secs(1)
            }
        );
        let limits = |message_rate, message_burst| ClientLimits {
            message_rate,
            message_burst,
            ..ClientLimits::default()
        };
        assert_eq!(FlushPace::from_limits(&limits(20.0, 8)).batch, 8);
        assert_eq!(
            FlushPace::from_limits(&limits(0.5, 1)),
            FlushPace {
                batch: 1,
                pause: Duration::from_secs(2)
            }
        );
        assert_eq!(FlushPace::from_limits(&limits(0.0, 0)).batch, 1);
    }

    #[test]
    fn a_message_with_files_goes_out_with_their_ids_and_its_own_client_id() {
        let mut state = OutboxState::default();
        state.add(Unsent {
            attachments: vec!["f1".into(), "f2".into()],
            client_id: "made-once".into(),
            ..unsent("", 1.0)
        });
        let mut frames = Vec::new();
        state.flush(PACE, |f| {
            frames.push(f.clone());
            true
        });
        match &frames[..] {
            [ClientFrame::Message {
                text,
                client_id,
                attachments,
                ..
            }] => {
                assert_eq!(text, "");
                assert_eq!(client_id.as_deref(), Some("made-once"));
                assert_eq!(attachments, &["f1", "f2"]);
            }
            other => panic!("not one message: {other:?}"),
        }
        // A file that is gone fails the message, for the user to decide.
        assert_eq!(
            error_effect(ErrorCode::AttachmentNotFound, None),
            ErrorEffect::Refuse
        );
    }
}
