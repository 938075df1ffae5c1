//! The journal: one thread that owns the database and puts every message,
//! join and history read in a single order.
//!
//! A message is committed before anyone sees it, so a confirmed message is
//! never lost. Messages that arrive together are committed together (one
//! disk sync for a batch), so persistence does not cap throughput. Joins go
//! through the same thread: the history a joiner receives and the live
//! messages that follow it meet exactly, with no gap and no repeat.

use crate::chat::hub::{encode, Gap, Membership, Replay};
use crate::chat::moderation::Ban;
use crate::chat::peer::Peer;
use crate::cluster::{BusEvent, Cluster};
use crate::error::Rejection;
use crate::history::changes::{ChangeRequest, Changed, Refusal, MAX_EMOJI_PER_MESSAGE};
use crate::history::pages;
use crate::history::store::{Appended, NewMessage, Store, StoreResult};
use crate::telemetry::Metrics;
use chat_shared::{ErrorCode, HistoryItem, ServerFrame};
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
pub struct HistoryLimits {
    /// Messages in a `welcome` without `since`.
    pub on_join: usize,
    /// The most messages a reconnect with `since` replays.
    pub replay: usize,
    /// The most bytes the list of a `welcome`, a `history` page or an
    /// `audit` answer encodes to (`Config::page_bytes`).
    pub page_bytes: usize,
}

/// The most messages one `history` request returns.
pub const MAX_HISTORY_PAGE: usize = 100;

/// A message to store, then deliver to its room (or, for a resend, return
/// the original to its sender).
struct Post {
    membership: Membership,
    message: Message,
    peer: Peer,
}

/// What a post says, as the connection accepted it.
#[derive(Debug, Clone)]
pub struct Message {
    /// Normalised by the message rules.
    pub text: String,
    pub client_id: Option<String>,
    /// The hash of the author key the sender joined with
    /// ([`crate::history::changes::owner_hash`]).
    pub owner: Option<String>,
    /// The message it answers.
    pub reply_to: Option<u64>,
}

/// A request to edit, delete or react, as the connection accepted it.
#[derive(Debug)]
pub struct ChangeOrder {
    pub request: ChangeRequest,
    /// Why the edit's text broke the message rules, told when the store
    /// gets to that rule (after the ones that come first).
    pub bad_text: Option<Rejection>,
}

/// Which messages a `history` request wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The ones just older than this id.
    Before(u64),
    /// The ones centred on this id: half older, it, the rest newer.
    Around(u64),
}

/// What a moderator asks the journal to store and then apply.
#[derive(Debug)]
pub enum ModeratorAction {
    /// Keep a name, and the addresses it is connected from, out this long.
    Ban {
        name: String,
        key: String,
        duration_secs: u64,
    },
    /// Lock (read-only) or unlock the moderator's room.
    Lock(bool),
    /// Set the moderator's room's topic (normalised; empty clears it).
    Topic(String),
    /// Send the newest entries of the moderation log.
    Audit(usize),
}

enum Command {
    Post(Post),
    Change {
        order: ChangeOrder,
        peer: Peer,
    },
    Moderate {
        moderator: Membership,
        action: ModeratorAction,
        peer: Peer,
    },
    /// Whether a join code lets a joiner in (`None`: whether the chat
    /// is open).
    Admits {
        join_code: Option<String>,
        reply: oneshot::Sender<Result<bool, Rejection>>,
    },
    /// A joiner's history, read up to at least `through`.
    ReadForJoin {
        room: String,
        since: Option<u64>,
        through: u64,
        reply: oneshot::Sender<Result<Replay, Rejection>>,
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
        peer: Peer,
    },
    /// A readiness probe: answered once the store has taken its write lock
    /// and read a table, i.e. once a message could be stored right now.
    Probe {
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// A handle for sending work to the journal thread.
#[derive(Debug, Clone)]
pub struct Journal {
    commands: mpsc::Sender<Command>,
}

/// A [`Journal`] handle that lets the thread end when every strong one is
/// gone.
#[derive(Debug, Clone)]
pub struct WeakJournal {
    commands: mpsc::WeakSender<Command>,
}

impl WeakJournal {
    /// The journal, while it runs.
    pub fn upgrade(&self) -> Option<Journal> {
        self.commands.upgrade().map(|commands| Journal { commands })
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Post(_) => "Post",
            Self::Change { .. } => "Change",
            Self::Moderate { .. } => "Moderate",
            Self::Admits { .. } => "Admits",
            Self::ReadForJoin { .. } => "ReadForJoin",
            Self::Fill(_) => "Fill",
            Self::CatchUp { .. } => "CatchUp",
            Self::History { .. } => "History",
            Self::Probe { .. } => "Probe",
        })
    }
}

impl Journal {
    /// Starts the thread. It ends, after finishing queued work, once every
    /// `Journal` handle is dropped; join the handle to wait for that.
    pub fn start(
        store: Box<dyn Store>,
        cluster: Cluster,
        limits: HistoryLimits,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(Self, JoinHandle<()>)> {
        let (commands, queue) = mpsc::channel(QUEUE_DEPTH);
        let worker = Worker {
            store,
            cluster,
            runtime: tokio::runtime::Handle::current(),
            limits,
            metrics,
        };
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || worker.run(queue))?;
        Ok((Self { commands }, thread))
    }

    /// A handle that does not keep the thread running: for the node, which
    /// the presence and the bus hold, and which the thread holds in turn.
    pub fn downgrade(&self) -> WeakJournal {
        WeakJournal {
            commands: self.commands.downgrade(),
        }
    }

    /// Requests waiting for the thread: near [`QUEUE_DEPTH`], senders wait.
    pub fn queue_depth(&self) -> usize {
        self.commands.max_capacity() - self.commands.capacity()
    }

    /// Stores a message and then delivers it to the room (or, for a resend
    /// of an already stored `client_id`, the original to the sender).
    pub async fn post(&self, membership: &Membership, message: Message, peer: &Peer) {
        self.submit(Command::Post(Post {
            membership: membership.clone(),
            message,
            peer: peer.clone(),
        }))
        .await;
    }

    /// Edits, deletes or reacts to a message (stored first, then told to
    /// the room), or tells the peer why not.
    pub async fn change(&self, order: ChangeOrder, peer: &Peer) {
        self.submit(Command::Change {
            order,
            peer: peer.clone(),
        })
        .await;
    }

    /// Stores a moderator's action, then applies it.
    pub async fn moderate(&self, moderator: &Membership, action: ModeratorAction, peer: &Peer) {
        self.submit(Command::Moderate {
            moderator: moderator.clone(),
            action,
            peer: peer.clone(),
        })
        .await;
    }

    /// Whether `join_code` lets a joiner in; with `None`, whether the
    /// chat is open. Read from the store each time, so a code rotated by
    /// `rotate-join-code` in another process is in force at once.
    pub async fn admits(&self, join_code: Option<String>) -> Result<bool, Rejection> {
        let (reply, answer) = oneshot::channel();
        self.submit(Command::Admits { join_code, reply }).await;
        answer
            .await
            .unwrap_or_else(|_| Err(ErrorCode::ServerError.into()))
    }

    /// The room's history for a joiner (with `since`, what it missed),
    /// read up to at least `through`. Only for a join already let in: a
    /// refused one costs no read.
    pub async fn read_for_join(
        &self,
        room: &str,
        since: Option<u64>,
        through: u64,
    ) -> Result<Replay, Rejection> {
        let (reply, answer) = oneshot::channel();
        self.submit(Command::ReadForJoin {
            room: room.to_owned(),
            since,
            through,
            reply,
        })
        .await;
        answer
            .await
            .unwrap_or_else(|_| Err(ErrorCode::ServerError.into()))
    }

    /// Reads a room's undelivered events from the store and delivers
    /// them. Never waits: when the queue is full the fill is queued by a
    /// task of its own.
    pub fn fill(&self, gap: Gap) {
        self.submit_soon(Command::Fill(gap));
    }

    /// Delivers whatever the room committed after `after` (to its newest
    /// event), like [`Journal::fill`].
    pub fn catch_up(&self, room: &str, after: u64) {
        self.submit_soon(Command::CatchUp {
            room: room.to_owned(),
            after,
        });
    }

    /// Queues a command without waiting: when the queue is full, a task
    /// of its own waits for room.
    fn submit_soon(&self, command: Command) {
        if let Err(mpsc::error::TrySendError::Full(command)) = self.commands.try_send(command) {
            let journal = self.clone();
            tokio::spawn(async move { journal.submit(command).await });
        }
    }

    /// Sends the peer a page of messages in their current state.
    pub async fn history(&self, room: &str, page: Page, limit: usize, peer: &Peer) {
        self.submit(Command::History {
            room: room.to_owned(),
            page,
            limit: limit.clamp(1, MAX_HISTORY_PAGE),
            peer: peer.clone(),
        })
        .await;
    }

    /// Whether the store can take a message now: `Err` names why not (the
    /// journal has stopped, or the database refused). The caller bounds
    /// how long it waits; a stuck journal simply never answers.
    pub async fn probe(&self) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Probe { reply })
            .await
            .map_err(|_| "the journal has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the journal stopped before answering".to_owned())?
    }

    async fn submit(&self, command: Command) {
        if let Err(error) = self.commands.send(command).await {
            tracing::error!("journal is gone, {:?} dropped", error.0);
        }
    }
}

struct Worker {
    store: Box<dyn Store>,
    /// Where committed events and moderators' actions go; the presence
    /// is emptied of a banned user.
    cluster: Cluster,
    /// For the presence's async calls from this thread.
    runtime: tokio::runtime::Handle,
    limits: HistoryLimits,
    metrics: Arc<Metrics>,
}

impl Worker {
    fn run(mut self, mut queue: mpsc::Receiver<Command>) {
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

    /// Handles commands in arrival order, committing runs of posts together.
    fn handle(&mut self, commands: impl Iterator<Item = Command>) {
        let mut posts = Vec::new();
        for command in commands {
            match command {
                Command::Post(post) => posts.push(post),
                Command::Admits { join_code, reply } => {
                    let result = self.store.join_code_admits(join_code.as_deref());
                    let result = result.map_err(|error| {
                        tracing::error!("cannot read the join code: {error}");
                        Rejection::from(ErrorCode::ServerError)
                    });
                    if reply.send(result).is_err() {
                        tracing::debug!("joiner left before its answer");
                    }
                }
                Command::ReadForJoin {
                    room,
                    since,
                    through,
                    reply,
                } => {
                    self.commit(std::mem::take(&mut posts));
                    let result = self.read_for_join(&room, since, through);
                    if reply.send(result).is_err() {
                        tracing::debug!("joiner left before its answer");
                    }
                }
                Command::Fill(gap) => {
                    self.commit(std::mem::take(&mut posts));
                    self.fill(&gap);
                }
                Command::CatchUp { room, after } => {
                    self.commit(std::mem::take(&mut posts));
                    match self.store.last_event(&room) {
                        Ok(through) => self.fill(&Gap {
                            room,
                            after,
                            through,
                        }),
                        Err(error) => tracing::error!("cannot catch up on {room}: {error}"),
                    }
                }
                Command::History {
                    room,
                    page,
                    limit,
                    peer,
                } => {
                    self.commit(std::mem::take(&mut posts));
                    self.send_history(&room, page, limit, &peer);
                }
                Command::Change { order, peer } => {
                    self.commit(std::mem::take(&mut posts));
                    self.change(order, &peer);
                }
                Command::Moderate {
                    moderator,
                    action,
                    peer,
                } => {
                    self.commit(std::mem::take(&mut posts));
                    if let Err(error) = self.moderate(&moderator, action, &peer) {
                        tracing::error!("cannot store a moderator's action: {error}");
                        peer.reject(&Rejection::from(ErrorCode::ServerError));
                    }
                }
                Command::Probe { reply } => {
                    self.commit(std::mem::take(&mut posts));
                    let result = self.store.probe().map_err(|error| error.to_string());
                    if reply.send(result).is_err() {
                        tracing::debug!("the readiness probe gave up before its answer");
                    }
                }
            }
        }
        self.commit(posts);
    }

    fn commit(&mut self, posts: Vec<Post>) {
        if posts.is_empty() {
            return;
        }
        let batch: Vec<NewMessage> = posts
            .iter()
            .map(|post| NewMessage {
                room: post.membership.room.clone(),
                username: post.membership.name.clone(),
                author_key: post.membership.key.clone(),
                text: post.message.text.clone(),
                client_id: post.message.client_id.clone(),
                owner: post.message.owner.clone(),
                reply_to: post.message.reply_to,
            })
            .collect();
        let started = Instant::now();
        let appended = self.store.append(&batch);
        let committed = Instant::now();
        self.metrics
            .journal_commit_seconds
            .record(committed - started);
        match appended {
            Ok(results) => {
                for (post, result) in posts.iter().zip(results) {
                    let client_id = &post.message.client_id;
                    match result {
                        Appended::New { message, prev } => {
                            self.metrics.messages_stored.increment(1);
                            let id = message.id;
                            let frame = ServerFrame::Message(message);
                            self.deliver(&post.membership.room, id, &frame, prev, committed);
                        }
                        Appended::Duplicate(original) => {
                            post.peer.send(encode(&ServerFrame::Message(original)));
                        }
                        Appended::ClientIdTaken => post
                            .peer
                            .reject(&client_id_taken().with_client_id(client_id.clone())),
                        Appended::ReplyNotFound => {
                            let reply_to = post.message.reply_to.unwrap_or_default();
                            post.peer
                                .reject(&no_message(reply_to).with_client_id(client_id.clone()));
                        }
                    }
                }
            }
            Err(error) => {
                tracing::error!("cannot store {} messages: {error}", posts.len());
                for post in &posts {
                    let refusal = Rejection::from(ErrorCode::ServerError)
                        .with_client_id(post.message.client_id.clone());
                    post.peer.reject(&refusal);
                }
            }
        }
    }

    /// Applies one change: stored first, then delivered to the room; a
    /// resend or a request that changes nothing answers the sender alone.
    fn change(&mut self, order: ChangeOrder, peer: &Peer) {
        let request = &order.request;
        let client_id = request.client_id.clone();
        let refusal = match self.store.change(request) {
            Ok(Changed::New { change, prev }) => {
                self.metrics.changes_stored.increment(1);
                let committed = Instant::now();
                let id = change.id();
                self.deliver(&request.room, id, &change.into_frame(), prev, committed);
                return;
            }
            Ok(Changed::Duplicate(original) | Changed::Unchanged(Some(original))) => {
                peer.send(encode(&original.into_frame()));
                return;
            }
            Ok(Changed::Unchanged(None)) => return,
            Ok(Changed::Refused(refusal)) => match refusal {
                Refusal::ClientIdTaken => client_id_taken(),
                Refusal::NotFound => no_message(request.target),
                Refusal::Forbidden => Rejection::new(
                    ErrorCode::Forbidden,
                    "Only the author of a message may change it (with the author key it was \
                     posted with), and a moderator may delete it",
                ),
                Refusal::Expired => Rejection::new(
                    ErrorCode::EditExpired,
                    "That message is too old to edit: it can still be deleted",
                ),
                Refusal::BadText => order
                    .bad_text
                    .unwrap_or_else(|| ErrorCode::BadRequest.into()),
                Refusal::BadEmoji => Rejection::new(
                    ErrorCode::BadRequest,
                    format!(
                        "A reaction is one of {}",
                        chat_shared::REACTION_EMOJI.join(" ")
                    ),
                ),
                Refusal::TooManyEmoji => Rejection::new(
                    ErrorCode::BadRequest,
                    format!(
                        "A message carries at most {MAX_EMOJI_PER_MESSAGE} different emoji: \
                         react with one it already has"
                    ),
                ),
            },
            Err(error) => {
                tracing::error!("cannot change message {}: {error}", request.target);
                Rejection::from(ErrorCode::ServerError)
            }
        };
        peer.reject(&refusal.with_client_id(client_id));
    }

    /// Stores the action and its log entry, then applies it: what is
    /// seen has been recorded.
    fn moderate(
        &mut self,
        moderator: &Membership,
        action: ModeratorAction,
        peer: &Peer,
    ) -> StoreResult<()> {
        let room = &moderator.room;
        let by = &moderator.name;
        match action {
            ModeratorAction::Ban {
                name,
                key,
                duration_secs,
            } => {
                let length = std::time::Duration::from_secs(duration_secs);
                // Every address the name holds now, on any node, and
                // those it joined from here lately.
                let mut addresses = self.runtime.block_on(self.cluster.presence.addresses(&key));
                addresses.extend(self.cluster.hub.recent_addresses(&key));
                let ban = Ban::new(key, addresses, std::time::SystemTime::now(), length);
                self.store
                    .add_ban(&ban.to_stored(), by, &name, duration_secs)?;
                let until = humantime::format_rfc3339_millis(ban.until).to_string();
                tracing::info!(moderator = %by, user = %name, duration_secs, "banned");
                self.cluster.announce(BusEvent::Banned(ban.to_stored()));
                // Also whoever holds the name in a grace period, anywhere;
                // before the moderator hears it is done. Bans are rare:
                // this thread may wait for the presence.
                self.runtime
                    .block_on(self.cluster.presence.evict(&ban.name_key));
                peer.send(encode(&ServerFrame::UserBanned {
                    username: name,
                    until,
                    duration_secs,
                }));
            }
            ModeratorAction::Lock(locked) => {
                self.store.set_room_locked(room, locked, by)?;
                tracing::info!(moderator = %by, room = %room, locked, "room lock changed");
                self.cluster.announce(BusEvent::Locked {
                    room: room.clone(),
                    locked,
                    username: by.clone(),
                });
            }
            ModeratorAction::Topic(topic) => {
                self.store.set_room_topic(room, &topic, by)?;
                tracing::info!(moderator = %by, room = %room, "topic changed");
                self.cluster.announce(BusEvent::Topic {
                    room: room.clone(),
                    topic,
                    username: by.clone(),
                });
            }
            ModeratorAction::Audit(limit) => {
                let mut entries = self.store.audit(limit)?;
                // Newest first: what is cut is the oldest.
                pages::keep_first(&mut entries, self.limits.page_bytes);
                peer.send(encode(&ServerFrame::Audit { entries }));
            }
        }
        Ok(())
    }

    /// Delivers a committed event here (after any earlier one this node
    /// has not delivered yet, read from the store) and tells the other
    /// nodes.
    fn deliver(&mut self, room: &str, id: u64, frame: &ServerFrame, prev: u64, committed: Instant) {
        let event = BusEvent::Committed {
            room: room.to_owned(),
            id,
            prev,
            frame: frame.encode(),
        };
        self.cluster.bus.publish(&event);
        if let Some(gap) = self.cluster.hub.apply(event, committed) {
            self.fill(&gap);
        }
    }

    /// Reads the events of a gap from the store and delivers them.
    fn fill(&mut self, gap: &Gap) {
        let mut after = gap.after;
        while after < gap.through {
            let items = match self.store.after(&gap.room, after, gap.through, FILL_CHUNK) {
                Ok(items) => items,
                Err(error) => {
                    tracing::error!("cannot read {} to fill a gap: {error}", gap.room);
                    return;
                }
            };
            // A read that stopped at its limit may have more after its
            // last id: this round delivers up to there.
            let upto = match (items.len(), items.last()) {
                (FILL_CHUNK, Some(last)) => last.id(),
                _ => gap.through,
            };
            let events = items
                .into_iter()
                .map(|item| (item.id(), encode(&item_frame(item))))
                .collect();
            self.cluster
                .hub
                .fill(&gap.room, events, upto, Instant::now());
            after = upto;
        }
    }

    fn read_for_join(
        &mut self,
        room: &str,
        since: Option<u64>,
        through: u64,
    ) -> Result<Replay, Rejection> {
        pages::replay(self.store.as_mut(), &self.limits, room, since, through).map_err(|error| {
            tracing::error!("cannot read history of {room}: {error}");
            Rejection::from(ErrorCode::ServerError)
        })
    }

    fn send_history(&mut self, room: &str, page: Page, limit: usize, peer: &Peer) {
        // A client already closed (too slow, most likely) costs no read.
        if peer.closer().token.is_cancelled() {
            return;
        }
        let bytes = self.limits.page_bytes;
        match pages::read_page(self.store.as_mut(), room, page, limit, bytes) {
            Ok(frame) => peer.send(encode(&frame)),
            Err(error) => {
                tracing::error!("cannot read history of {room}: {error}");
                peer.reject(&Rejection::from(ErrorCode::ServerError));
            }
        }
    }
}

/// How many events one read of a gap takes.
const FILL_CHUNK: usize = 500;

/// The frame an item of the history goes out as, live.
fn item_frame(item: HistoryItem) -> ServerFrame {
    match item {
        HistoryItem::Message(message) => ServerFrame::Message(message),
        HistoryItem::Change(change) => change.into_frame(),
    }
}

fn client_id_taken() -> Rejection {
    Rejection::new(
        ErrorCode::BadRequest,
        "That client_id was already used for something else",
    )
}

fn no_message(id: u64) -> Rejection {
    Rejection::new(
        ErrorCode::NotFound,
        format!("There is no message {id} in this room (or it was deleted)"),
    )
}
