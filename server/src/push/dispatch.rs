//! The pusher: one task per node that turns "this message calls person
//! P" into pushes to P's browsers, when P has no connection open anywhere.
//!
//! [`crate::command::attention::Calling`] hands it a [`Call`] for each
//! person a new message calls at their level (on the node that stored the
//! message, so each call is pushed once in a cluster). For each call the
//! task reads the person's subscriptions (one index probe; most people
//! have none), asks the presence whether their held name is online on any
//! node (an open tab got `notify` instead), and sends through the
//! [`PushLimiter`]: a few pushes a window per browser, the rest one
//! summary when the window ends. A push service's 404 or 410 drops the
//! subscription. Sends run beside the task, at most [`IN_FLIGHT`] at once,
//! each bounded by [`SEND_TIMEOUT`].
//!
//! A name whose last connection dropped without a goodbye keeps its place
//! for `--resume-grace`, and counts as online meanwhile: a call then is
//! not pushed (the app shows it as unread when it is back).

use super::{
    message_payload, summary_payload, Admission, PushLimiter, PushOptions, SendOutcome, Sender,
    Subscription, Urgency, PUSHES_PER_WINDOW,
};
use crate::cluster::Presence;
use crate::history::journal::Journal;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Calls waiting for the task; past this, a call is dropped and logged
/// (the push service would be flooded anyway).
const QUEUE: usize = 4096;

/// Pushes being sent at once.
pub(crate) const IN_FLIGHT: usize = 16;

/// How long one push may take, connection included.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait before the one retry of a push the push service
/// asked to be tried later (429, 5xx) without saying when, and the
/// longest wait it may ask for: a later call is old news.
const RETRY_WAIT: Duration = Duration::from_secs(30);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5 * 60);

/// How long a push service keeps a push for a device that is off: after
/// a day, being called is old news.
const TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Someone was called: the message, as a push tells it.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub person: u64,
    pub room: String,
    pub id: u64,
    pub author: String,
    /// The start of the text (what `notify` carries).
    pub text: String,
}

/// The handle on this node's pusher: cheap to clone, and a no-op when
/// push is off.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pusher {
    calls: Option<mpsc::Sender<Call>>,
}

impl Pusher {
    /// No push (`--no-push`): calls are ignored.
    pub(crate) fn off() -> Self {
        Self::default()
    }

    /// Starts the task; it ends when `stop` is cancelled, after the sends
    /// under way (each at most [`SEND_TIMEOUT`]).
    pub(crate) fn start(
        sender: Sender,
        journal: Journal,
        presence: Arc<dyn Presence>,
        window: Duration,
        stop: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        let (calls, queue) = mpsc::channel(QUEUE);
        let (gone, gone_queue) = mpsc::unbounded_channel();
        let task = Task {
            sender,
            journal,
            presence,
            limiter: PushLimiter::new(PUSHES_PER_WINDOW, window),
            held: HashMap::new(),
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
            sends: TaskTracker::new(),
            gone,
            stop: stop.clone(),
        };
        let handle = tokio::spawn(task.run(queue, gone_queue, stop));
        (Self { calls: Some(calls) }, handle)
    }

    /// Whether this server sends push.
    pub(crate) fn is_on(&self) -> bool {
        self.calls.is_some()
    }

    /// Pushes `call` to the person's browsers if they have no connection
    /// open. Never waits.
    pub(crate) fn call(&self, call: Call) {
        let Some(calls) = &self.calls else {
            return;
        };
        if let Err(error) = calls.try_send(call) {
            tracing::warn!("a push was dropped: {error}");
        }
    }
}

/// The pusher's own state.
struct Task {
    sender: Sender,
    journal: Journal,
    presence: Arc<dyn Presence>,
    /// Keyed by endpoint.
    limiter: PushLimiter<String>,
    /// The subscriptions with pushes held for their summary.
    held: HashMap<String, Subscription>,
    in_flight: Arc<Semaphore>,
    sends: TaskTracker,
    /// Where a send tells the task that a subscription is gone.
    gone: mpsc::UnboundedSender<String>,
    /// Ends a send's wait for its retry at shutdown.
    stop: CancellationToken,
}

impl Task {
    async fn run(
        mut self,
        mut queue: mpsc::Receiver<Call>,
        mut gone: mpsc::UnboundedReceiver<String>,
        stop: CancellationToken,
    ) {
        loop {
            let due = self.limiter.next_due();
            let wake = tokio::time::Instant::from_std(due.unwrap_or_else(Instant::now));
            tokio::select! {
                () = stop.cancelled() => break,
                call = queue.recv() => match call {
                    Some(call) => self.push(call).await,
                    None => break,
                },
                Some(endpoint) = gone.recv() => {
                    self.limiter.forget(&endpoint);
                    self.held.remove(&endpoint);
                }
                () = tokio::time::sleep_until(wake), if due.is_some() => {}
            }
            self.summaries(Instant::now());
        }
        self.sends.close();
        self.sends.wait().await;
    }

    /// Pushes one call to each of the person's browsers, unless they have
    /// a connection open or no subscription.
    async fn push(&mut self, call: Call) {
        let person = call.person;
        let target = match self
            .journal
            .people(move |store| store.push_target(person))
            .await
        {
            Ok(Some(target)) => target,
            // None, or a failure the journal logged.
            _ => return,
        };
        if !self.presence.addresses(&target.name_key).await.is_empty() {
            return;
        }
        let now = Instant::now();
        for stored in target.subscriptions {
            let subscription =
                match Subscription::parse(&stored.endpoint, &stored.p256dh, &stored.auth) {
                    Ok(subscription) => subscription,
                    Err(error) => {
                        tracing::warn!("dropping a stored push subscription: {error}");
                        self.drop_subscription(stored.endpoint);
                        continue;
                    }
                };
            match self.limiter.admit(&stored.endpoint, &call.room, now) {
                Admission::Send => {
                    match message_payload(&call.room, call.id, &call.author, &call.text) {
                        Ok(payload) => self.send(subscription, payload),
                        Err(error) => tracing::warn!("no push for message {}: {error}", call.id),
                    }
                }
                Admission::Held => {
                    self.held.insert(stored.endpoint, subscription);
                }
            }
        }
    }

    /// Sends the summaries whose windows have ended.
    fn summaries(&mut self, now: Instant) {
        for summary in self.limiter.due(now) {
            let Some(subscription) = self.held.remove(&summary.subscription) else {
                continue;
            };
            match summary_payload(&summary.room, summary.count) {
                Ok(payload) => self.send(subscription, payload),
                Err(error) => tracing::warn!("no summary push: {error}"),
            }
        }
    }

    /// Drops a subscription from the store, beside the task.
    fn drop_subscription(&self, endpoint: String) {
        let journal = self.journal.clone();
        self.sends.spawn(async move {
            // A failure is logged by the journal.
            let _ = journal
                .people(move |store| store.drop_push(&endpoint))
                .await;
        });
    }

    /// Sends one push beside the task and acts on the answer: a gone
    /// subscription is dropped, and a push the service asked to have
    /// tried later is tried once more (not before its `Retry-After`).
    fn send(&self, subscription: Subscription, payload: Vec<u8>) {
        let (sender, journal, gone) =
            (self.sender.clone(), self.journal.clone(), self.gone.clone());
        let (in_flight, stop) = (self.in_flight.clone(), self.stop.clone());
        self.sends.spawn(async move {
            let options = PushOptions {
                ttl: TTL,
                urgency: Urgency::High,
            };
            for attempt in 0..2 {
                let outcome = {
                    let Ok(_permit) = in_flight.acquire().await else {
                        return;
                    };
                    sender.send(&subscription, &payload, options).await
                };
                match outcome {
                    SendOutcome::Delivered { .. } => {}
                    SendOutcome::Gone { status } => {
                        tracing::info!(
                            "a push service answered {status}: dropping that push subscription"
                        );
                        let endpoint = subscription.endpoint().to_owned();
                        let dropped = endpoint.clone();
                        let _ = journal.people(move |store| store.drop_push(&dropped)).await;
                        let _ = gone.send(endpoint);
                    }
                    SendOutcome::RetryLater {
                        status,
                        retry_after,
                    } if attempt == 0 => {
                        let wait = retry_after.unwrap_or(RETRY_WAIT).min(MAX_RETRY_WAIT);
                        tracing::info!(
                            "a push service answered {status}: trying again in {wait:?}"
                        );
                        tokio::select! {
                            () = tokio::time::sleep(wait) => continue,
                            () = stop.cancelled() => {}
                        }
                    }
                    SendOutcome::RetryLater { status, .. } => {
                        tracing::warn!(
                            "a push service answered {status} twice: that push is dropped"
                        );
                    }
                    SendOutcome::Refused { status } => {
                        tracing::warn!("a push service refused a push with {status}");
                    }
                    SendOutcome::Failed(failure) => {
                        tracing::warn!("a push failed: {failure}");
                    }
                }
                return;
            }
        });
    }
}
