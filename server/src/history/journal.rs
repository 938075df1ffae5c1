//! The journal: one thread that owns the database and puts every message,
//! join and history read in a single order.
//!
//! A message is committed before anyone sees it, so a confirmed message is
//! never lost. Messages that arrive together are committed together (one
//! disk sync for a batch), so persistence does not cap throughput. Joins go
//! through the same thread: the history a joiner receives and the live
//! messages that follow it meet exactly, with no gap and no repeat.
//!
//! The journal only sequences store calls. What it committed goes to a
//! [`Delivery`] (the hub and the bus, in `chat`); how each request ended
//! goes back to whoever asked as a typed outcome, through a [`Reply`] or a
//! oneshot answer. Wording an outcome for a client happens up there too.

use crate::history::attention::Called;
use crate::history::changes::{ChangeRequest, Changed, Refusal};
use crate::history::moderation::StoredBan;
use crate::history::pages::{self, Replay};
use crate::history::store::{Appended, NewMessage, Store, StoreResult};
use crate::telemetry::Metrics;
use chat_shared::{AuditEntry, Change, ChatMessage, HistoryItem, ServerFrame};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// How many messages one transaction may hold. A batch reaches every
/// member at once, so this must stay well below the per-connection outbox
/// (`--outbox-frames`, and `--outbox-bytes`: 128 ordinary messages are
/// some 32 KB), or a burst alone would look like a slow reader.
const MAX_BATCH: usize = 128;
/// Requests waiting for the journal; senders wait when it is full.
const QUEUE_DEPTH: usize = 1024;

/// How much history to hand out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistoryLimits {
    /// Messages in a `welcome` without `since`.
    pub(crate) on_join: usize,
    /// The most messages a reconnect with `since` replays.
    pub(crate) replay: usize,
    /// The most bytes the list of a `welcome`, a `history` page or an
    /// `audit` answer encodes to (`Config::page_bytes`).
    pub(crate) page_bytes: usize,
}

/// The most messages one `history` request returns.
pub(crate) const MAX_HISTORY_PAGE: usize = 100;

/// Committed events a node has not delivered yet, to be read from the
/// store: every event of `room` with `after < id <= through`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gap {
    pub(crate) room: String,
    pub(crate) after: u64,
    pub(crate) through: u64,
}

/// Where the journal hands what it committed, so that it reaches every
/// member: implemented above the history (the hub and the bus, in
/// `chat::delivery`). Called on the journal's thread; never waits.
pub(crate) trait Delivery: Send + Sync {
    /// A newly committed event of `room`, whose previous event is `prev`:
    /// delivered here and told to the other nodes. A returned gap is the
    /// events before it this node has not delivered yet: the journal reads
    /// them and hands them to [`Delivery::fill`].
    fn committed(&self, room: &str, event: HistoryItem, prev: u64, at: Instant) -> Option<Gap>;
    /// Events of `room` read from the store for a gap, in id order: the
    /// room is delivered through `through` once they are.
    fn fill(&self, room: &str, events: Vec<HistoryItem>, through: u64, at: Instant);
}

/// Whoever asked the journal for something without waiting for it: told
/// how the request ended, on the journal's thread. Implemented above the
/// history (by the commands, which word the outcome for their client).
pub(crate) trait Reply<T>: Send {
    /// Hands over the outcome; must not wait.
    fn send(self: Box<Self>, outcome: T);
    /// Whether anyone still wants the outcome: a read for a client that
    /// has gone costs nothing.
    fn wanted(&self) -> bool {
        true
    }
}

/// The store failed (the journal logged why), or the journal stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed;

/// How storing a message ended.
#[derive(Debug)]
pub(crate) enum Posted {
    /// Stored and handed to the [`Delivery`]: its sender sees it with
    /// everyone else, and that is the confirmation. The message's id and
    /// whom it may call ([`crate::command::attention`]), read right after
    /// the commit on the journal's thread: asking for them with a request
    /// of their own would split the journal's batches of posts.
    Delivered { id: u64, called: Vec<Called> },
    /// A resend of a stored `client_id`: nothing was stored, and this is
    /// the original.
    Duplicate(Box<ChatMessage>),
    /// The `client_id` already names something else in the room.
    ClientIdTaken,
    /// `reply_to` names no message of the room that is not deleted.
    ReplyNotFound,
    /// An attachment was not the author's unsent upload to the room.
    AttachmentNotFound,
    /// Not stored: the store failed.
    Failed,
}

/// How an edit, a deletion or a reaction ended.
#[derive(Debug)]
pub(crate) enum ChangeOutcome {
    /// Stored and handed to the [`Delivery`].
    Delivered,
    /// Nothing new was stored, and this earlier event is what the state
    /// of the message comes from (a resend, or a request that changes
    /// nothing): for the sender alone.
    Original(Change),
    /// Nothing to store and nothing to tell.
    Unchanged,
    /// Refused by the rules, nothing stored.
    Refused(Refusal),
    /// Not stored: the store failed.
    Failed,
}

/// A message on its way to the store, with whoever sent it.
struct PendingPost {
    message: NewMessage,
    reply: Box<dyn Reply<Posted>>,
}

/// Which messages a `history` request wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Page {
    /// The ones just older than this id.
    Before(u64),
    /// The ones centred on this id: half older, it, the rest newer.
    Around(u64),
}

/// What a moderator asks the journal to store (with its log entry) in
/// the moderator's room; putting it in force is the caller's part, once
/// it is stored.
#[derive(Debug)]
pub(crate) enum ModeratorAction {
    /// Keep a name, and these addresses, out for `duration_secs`.
    Ban {
        ban: StoredBan,
        /// The name as the moderator wrote it (normalised), for the log.
        name: String,
        duration_secs: u64,
    },
    /// Lock (read-only) or unlock the room.
    Lock(bool),
    /// Set the room's topic (normalised; empty clears it).
    Topic(String),
}

/// A piece of work on the store that answers its asker itself.
type StoreWork = Box<dyn FnOnce(&mut dyn Store) + Send>;

/// Work for the journal's thread, in the order it arrived.
enum Request {
    Post(PendingPost),
    Change {
        request: ChangeRequest,
        reply: Box<dyn Reply<ChangeOutcome>>,
    },
    Moderate {
        room: String,
        by: String,
        action: ModeratorAction,
        reply: oneshot::Sender<Result<(), Failed>>,
    },
    /// The newest `limit` entries of the moderation log.
    Audit {
        limit: usize,
        reply: oneshot::Sender<Result<Vec<AuditEntry>, Failed>>,
    },
    /// Whether a join code lets a joiner in (`None`: whether the chat
    /// is open).
    Admits {
        join_code: Option<String>,
        reply: oneshot::Sender<Result<bool, Failed>>,
    },
    /// A joiner's history, read up to at least `through`.
    ReadForJoin {
        room: String,
        since: Option<u64>,
        through: u64,
        reply: oneshot::Sender<Result<Replay, Failed>>,
    },
    /// Committed events a room here has not delivered: read and deliver.
    Fill(Gap),
    /// Everything a room has committed after `after`, up to its newest
    /// event: for a node that may have missed some.
    CatchUp {
        room: String,
        after: u64,
    },
    History {
        room: String,
        page: Page,
        limit: usize,
        reply: Box<dyn Reply<Result<ServerFrame, Failed>>>,
    },
    /// Work on who holds which name ([`crate::history::people`]): the
    /// closure reads or writes the store and answers its asker itself.
    People(StoreWork),
    /// A readiness probe: answered once the store has taken its write lock
    /// and read a table, i.e. once a message could be stored right now.
    Probe {
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// A handle for sending work to the journal thread.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    requests: mpsc::Sender<Request>,
}

/// A [`Journal`] handle that lets the thread end when every strong one is
/// gone.
#[derive(Debug, Clone)]
pub(crate) struct WeakJournal {
    requests: mpsc::WeakSender<Request>,
}

impl WeakJournal {
    /// The journal, while it runs.
    pub(crate) fn upgrade(&self) -> Option<Journal> {
        self.requests.upgrade().map(|requests| Journal { requests })
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Post(_) => "Post",
            Self::Change { .. } => "Change",
            Self::Moderate { .. } => "Moderate",
            Self::Audit { .. } => "Audit",
            Self::Admits { .. } => "Admits",
            Self::ReadForJoin { .. } => "ReadForJoin",
            Self::Fill(_) => "Fill",
            Self::CatchUp { .. } => "CatchUp",
            Self::History { .. } => "History",
            Self::People(_) => "People",
            Self::Probe { .. } => "Probe",
        })
    }
}

impl Journal {
    /// Starts the thread. It ends, after finishing queued work, once every
    /// `Journal` handle is dropped; join the handle to wait for that.
    pub(crate) fn start(
        store: Box<dyn Store>,
        delivery: Arc<dyn Delivery>,
        limits: HistoryLimits,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(Self, JoinHandle<()>)> {
        let (requests, queue) = mpsc::channel(QUEUE_DEPTH);
        let worker = Worker {
            store,
            delivery,
            limits,
            metrics,
        };
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || worker.run(queue))?;
        Ok((Self { requests }, thread))
    }

    /// A handle that does not keep the thread running: for the node, which
    /// the presence and the bus hold, and which the thread holds in turn.
    pub(crate) fn downgrade(&self) -> WeakJournal {
        WeakJournal {
            requests: self.requests.downgrade(),
        }
    }

    /// Requests waiting for the thread: near [`QUEUE_DEPTH`], senders wait.
    pub(crate) fn queue_depth(&self) -> usize {
        self.requests.max_capacity() - self.requests.capacity()
    }

    /// Stores a message and then delivers it to the room; `reply` hears
    /// how it ended.
    pub(crate) async fn post(&self, message: NewMessage, reply: Box<dyn Reply<Posted>>) {
        self.submit(Request::Post(PendingPost { message, reply }))
            .await;
    }

    /// Edits, deletes or reacts to a message (stored first, then delivered
    /// to the room); `reply` hears how it ended.
    pub(crate) async fn change(
        &self,
        request: ChangeRequest,
        reply: Box<dyn Reply<ChangeOutcome>>,
    ) {
        self.submit(Request::Change { request, reply }).await;
    }

    /// Stores a moderator's action in `room`, with its log entry naming
    /// `by`. The caller puts it in force once this answers.
    pub(crate) async fn moderate(
        &self,
        room: &str,
        by: &str,
        action: ModeratorAction,
    ) -> Result<(), Failed> {
        let (reply, answer) = oneshot::channel();
        self.submit(Request::Moderate {
            room: room.to_owned(),
            by: by.to_owned(),
            action,
            reply,
        })
        .await;
        answer.await.unwrap_or(Err(Failed))
    }

    /// The newest `limit` entries of the moderation log, newest first, cut
    /// to the page's byte budget.
    pub(crate) async fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, Failed> {
        let (reply, answer) = oneshot::channel();
        self.submit(Request::Audit { limit, reply }).await;
        answer.await.unwrap_or(Err(Failed))
    }

    /// Runs `work` on the store in the journal's order: the people half
    /// ([`crate::history::people::People`]) has one request for all its
    /// methods, each a call on the store and nothing else.
    pub(crate) async fn people<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn Store) -> StoreResult<T> + Send + 'static,
    ) -> Result<T, Failed> {
        let (reply, answer_to) = oneshot::channel();
        self.submit(Request::People(Box::new(move |store| {
            answer(
                reply,
                logged(work(store), format_args!("cannot read or store people")),
            );
        })))
        .await;
        answer_to.await.unwrap_or(Err(Failed))
    }

    /// Whether `join_code` lets a joiner in; with `None`, whether the
    /// chat is open. Read from the store each time, so a code rotated by
    /// `rotate-join-code` in another process is in force at once.
    pub(crate) async fn admits(&self, join_code: Option<String>) -> Result<bool, Failed> {
        let (reply, answer) = oneshot::channel();
        self.submit(Request::Admits { join_code, reply }).await;
        answer.await.unwrap_or(Err(Failed))
    }

    /// The room's history for a joiner (with `since`, what it missed),
    /// read up to at least `through`. Only for a join already let in: a
    /// refused one costs no read.
    pub(crate) async fn read_for_join(
        &self,
        room: &str,
        since: Option<u64>,
        through: u64,
    ) -> Result<Replay, Failed> {
        let (reply, answer) = oneshot::channel();
        self.submit(Request::ReadForJoin {
            room: room.to_owned(),
            since,
            through,
            reply,
        })
        .await;
        answer.await.unwrap_or(Err(Failed))
    }

    /// Reads a room's undelivered events from the store and delivers
    /// them. Never waits: when the queue is full the fill is queued by a
    /// task of its own.
    pub(crate) fn fill(&self, gap: Gap) {
        self.submit_soon(Request::Fill(gap));
    }

    /// Delivers whatever the room committed after `after` (to its newest
    /// event), like [`Journal::fill`].
    pub(crate) fn catch_up(&self, room: &str, after: u64) {
        self.submit_soon(Request::CatchUp {
            room: room.to_owned(),
            after,
        });
    }

    /// Queues a request without waiting: when the queue is full, a task
    /// of its own waits for room.
    fn submit_soon(&self, request: Request) {
        if let Err(mpsc::error::TrySendError::Full(request)) = self.requests.try_send(request) {
            let journal = self.clone();
            tokio::spawn(async move { journal.submit(request).await });
        }
    }

    /// Reads a page of messages in their current state (a `history`
    /// frame) for `reply`.
    pub(crate) async fn history(
        &self,
        room: &str,
        page: Page,
        limit: usize,
        reply: Box<dyn Reply<Result<ServerFrame, Failed>>>,
    ) {
        self.submit(Request::History {
            room: room.to_owned(),
            page,
            limit: limit.clamp(1, MAX_HISTORY_PAGE),
            reply,
        })
        .await;
    }

    /// Whether the store can take a message now: `Err` names why not (the
    /// journal has stopped, or the database refused). The caller bounds
    /// how long it waits; a stuck journal simply never answers.
    pub(crate) async fn probe(&self) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Probe { reply })
            .await
            .map_err(|_| "the journal has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the journal stopped before answering".to_owned())?
    }

    async fn submit(&self, request: Request) {
        if let Err(error) = self.requests.send(request).await {
            tracing::error!("journal is gone, {:?} dropped", error.0);
        }
    }
}

/// The journal's thread: the store, and where what it commits goes.
struct Worker {
    store: Box<dyn Store>,
    /// Where committed events go: this node's members and the other nodes.
    delivery: Arc<dyn Delivery>,
    limits: HistoryLimits,
    metrics: Arc<Metrics>,
}

/// Answers a oneshot; the asker may have gone meanwhile.
fn answer<T>(reply: oneshot::Sender<T>, outcome: T) {
    if reply.send(outcome).is_err() {
        tracing::debug!("the asker left before its answer");
    }
}

impl Worker {
    fn run(mut self, mut queue: mpsc::Receiver<Request>) {
        let mut pending = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = queue.blocking_recv() {
            pending.push(first);
            while pending.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(next) => pending.push(next),
                    Err(_) => break,
                }
            }
            self.handle(pending.drain(..));
        }
        tracing::debug!("journal stopped");
    }

    /// Handles requests in arrival order, committing runs of posts together.
    fn handle(&mut self, requests: impl Iterator<Item = Request>) {
        let mut posts = Vec::new();
        for request in requests {
            let request = match request {
                Request::Post(post) => {
                    posts.push(post);
                    continue;
                }
                // Reads no message: it need not wait for the posts.
                Request::Admits { join_code, reply } => {
                    let admits = self.store.join_code_admits(join_code.as_deref());
                    answer(
                        reply,
                        logged(admits, format_args!("cannot read the join code")),
                    );
                    continue;
                }
                request => request,
            };
            // Everything else comes after the posts that arrived before it.
            self.commit(std::mem::take(&mut posts));
            match request {
                Request::Post(_) | Request::Admits { .. } => {}
                Request::ReadForJoin {
                    room,
                    since,
                    through,
                    reply,
                } => {
                    let limits = &self.limits;
                    let replay = pages::replay(self.store.as_mut(), limits, &room, since, through);
                    answer(
                        reply,
                        logged(replay, format_args!("cannot read history of {room}")),
                    );
                }
                Request::Fill(gap) => self.fill(&gap),
                Request::CatchUp { room, after } => match self.store.last_event(&room) {
                    Ok(through) => self.fill(&Gap {
                        room,
                        after,
                        through,
                    }),
                    Err(error) => tracing::error!("cannot catch up on {room}: {error}"),
                },
                Request::History {
                    room,
                    page,
                    limit,
                    reply,
                } => {
                    // A client already closed (too slow, most likely)
                    // costs no read.
                    if reply.wanted() {
                        let bytes = self.limits.page_bytes;
                        let read = pages::read_page(self.store.as_mut(), &room, page, limit, bytes);
                        reply.send(logged(read, format_args!("cannot read history of {room}")));
                    }
                }
                Request::Change { request, reply } => reply.send(self.change(&request)),
                Request::Moderate {
                    room,
                    by,
                    action,
                    reply,
                } => {
                    let stored = self.moderate(&room, &by, action);
                    answer(
                        reply,
                        logged(stored, format_args!("cannot store a moderator's action")),
                    );
                }
                Request::Audit { limit, reply } => {
                    let entries = self.store.audit(limit).map(|mut entries| {
                        // Newest first: what is cut is the oldest.
                        pages::keep_first(&mut entries, self.limits.page_bytes);
                        entries
                    });
                    answer(
                        reply,
                        logged(entries, format_args!("cannot read the moderation log")),
                    );
                }
                Request::Probe { reply } => {
                    answer(reply, self.store.probe().map_err(|error| error.to_string()));
                }
                Request::People(work) => work(self.store.as_mut()),
            }
        }
        self.commit(posts);
    }

    fn commit(&mut self, posts: Vec<PendingPost>) {
        if posts.is_empty() {
            return;
        }
        let (batch, replies): (Vec<NewMessage>, Vec<_>) = posts
            .into_iter()
            .map(|post| (post.message, post.reply))
            .unzip();
        let started = Instant::now();
        let appended = self.store.append(&batch);
        let committed = Instant::now();
        self.metrics
            .journal_commit_seconds
            .record(committed - started);
        let results = match appended {
            Ok(results) => results,
            Err(error) => {
                tracing::error!("cannot store {} messages: {error}", batch.len());
                for reply in replies {
                    reply.send(Posted::Failed);
                }
                return;
            }
        };
        // Every new message is delivered first; only then is each asked
        // whom it calls, so no delivery waits on those reads. `Ok` holds a
        // delivered message, `Err` the answer to one that was not stored.
        let mut answers = Vec::with_capacity(replies.len());
        for ((sent, reply), result) in batch.iter().zip(replies).zip(results) {
            let outcome = match result {
                Appended::New { message, prev } => {
                    self.metrics.messages_stored.increment(1);
                    let id = message.id;
                    let event = HistoryItem::Message(message);
                    self.deliver(&sent.room, event, prev, committed);
                    answers.push((reply, Ok((sent, id))));
                    continue;
                }
                Appended::Duplicate(original) => Posted::Duplicate(Box::new(original)),
                Appended::ClientIdTaken => Posted::ClientIdTaken,
                Appended::ReplyNotFound => Posted::ReplyNotFound,
                Appended::AttachmentNotFound => Posted::AttachmentNotFound,
            };
            answers.push((reply, Err(outcome)));
        }
        for (reply, answer) in answers {
            let outcome = match answer {
                Ok((sent, id)) => {
                    let called = self
                        .store
                        .called(&sent.room, &sent.mentions, sent.reply_to)
                        .unwrap_or_else(|error| {
                            tracing::error!("cannot read whom message {id} calls: {error}");
                            Vec::new()
                        });
                    Posted::Delivered { id, called }
                }
                Err(outcome) => outcome,
            };
            reply.send(outcome);
        }
    }

    /// Applies one change: stored first, then delivered to the room.
    fn change(&mut self, request: &ChangeRequest) -> ChangeOutcome {
        match self.store.change(request) {
            Ok(Changed::New { change, prev }) => {
                self.metrics.changes_stored.increment(1);
                let committed = Instant::now();
                self.deliver(&request.room, HistoryItem::Change(change), prev, committed);
                ChangeOutcome::Delivered
            }
            Ok(Changed::Duplicate(original) | Changed::Unchanged(Some(original))) => {
                ChangeOutcome::Original(original)
            }
            Ok(Changed::Unchanged(None)) => ChangeOutcome::Unchanged,
            Ok(Changed::Refused(refusal)) => ChangeOutcome::Refused(refusal),
            Err(error) => {
                tracing::error!("cannot change message {}: {error}", request.target);
                ChangeOutcome::Failed
            }
        }
    }

    /// Stores a moderator's action and its log entry.
    fn moderate(&mut self, room: &str, by: &str, action: ModeratorAction) -> StoreResult<()> {
        match action {
            ModeratorAction::Ban {
                ban,
                name,
                duration_secs,
            } => self.store.add_ban(&ban, by, &name, duration_secs),
            ModeratorAction::Lock(locked) => self.store.set_room_locked(room, locked, by),
            ModeratorAction::Topic(topic) => self.store.set_room_topic(room, &topic, by),
        }
    }

    /// Hands a committed event to the delivery (after any earlier one
    /// this node has not delivered yet, read from the store).
    fn deliver(&mut self, room: &str, event: HistoryItem, prev: u64, committed: Instant) {
        if let Some(gap) = self.delivery.committed(room, event, prev, committed) {
            self.fill(&gap);
        }
    }

    /// Reads the events of a gap from the store and delivers them.
    fn fill(&mut self, gap: &Gap) {
        let mut after = gap.after;
        while after < gap.through {
            let events = match self.store.after(&gap.room, after, gap.through, FILL_CHUNK) {
                Ok(events) => events,
                Err(error) => {
                    tracing::error!("cannot read {} to fill a gap: {error}", gap.room);
                    return;
                }
            };
            // A read that stopped at its limit may have more after its
            // last id: this round delivers up to there.
            let upto = match (events.len(), events.last()) {
                (FILL_CHUNK, Some(last)) => last.id(),
                _ => gap.through,
            };
            self.delivery.fill(&gap.room, events, upto, Instant::now());
            after = upto;
        }
    }
}

/// How many events one read of a gap takes.
const FILL_CHUNK: usize = 500;

/// A store result with its error logged under `what`, as the asker sees
/// it.
fn logged<T>(result: StoreResult<T>, what: std::fmt::Arguments<'_>) -> Result<T, Failed> {
    result.map_err(|error| {
        tracing::error!("{what}: {error}");
        Failed
    })
}
