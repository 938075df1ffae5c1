//! One WebSocket connection: a reader that handles client frames and a writer
//! that drains the connection's bounded outbox.

use crate::chat::hub::{encode, JoinRequest, Membership, Replay};
use crate::chat::moderation::TokenVerdict;
use crate::chat::peer::{Closer, Outbox, OutboxLimits, Outgoing, Peer};
use crate::chat::rate_limit::{rate_limited, FrameKind, FrameLimiter, Verdict};
use crate::cluster::{BusEvent, Claim, Claimed};
use crate::error::Rejection;
use crate::history::changes::{owner_hash, Action, ChangeRequest};
use crate::history::journal::{ChangeOrder, Message as Post, ModeratorAction, Page};
use crate::http::admission::Ticket;
use crate::http::websocket::{feed_text, Socket};
use crate::limits::default_history_page;
use crate::telemetry::Metrics;
use crate::AppState;
use chat_shared::close::{self, Departure};
use chat_shared::{
    check_ban_duration, is_valid_author_key, is_valid_client_id, normalize_emoji,
    normalize_message, normalize_room, normalize_topic, normalize_username, username_key,
    ClientFrame, ErrorCode, ServerFrame, DEFAULT_ROOM, MAX_AUTHOR_KEY_CHARS, MAX_CLIENT_ID_CHARS,
    MIN_AUTHOR_KEY_CHARS,
};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tracing::Instrument;

/// How long a close frame may take to go out before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs one connection until the client leaves, breaks a rule, goes
/// silent, or the server shuts down. `ticket` holds the connection's place
/// in the connection limits until it ends.
pub async fn serve(socket: Socket, state: Arc<AppState>, ticket: Ticket) {
    static NEXT_PEER_ID: AtomicU64 = AtomicU64::new(1);
    let id = NEXT_PEER_ID.fetch_add(1, Ordering::Relaxed);
    // Every line this connection logs, its writer's included, names it.
    let span = tracing::info_span!("connection", peer = id, addr = %ticket.client);
    serve_as(id, socket, state, ticket).instrument(span).await;
}

async fn serve_as(id: u64, socket: Socket, state: Arc<AppState>, ticket: Ticket) {
    let closer = Arc::new(Closer::new(&state.shutdown));
    tracing::debug!("connection open");
    let metrics = state.metrics.clone();
    metrics.connections_open.increment(1.0);
    let outbox_limits = OutboxLimits {
        frames: state.config.outbox_frames,
        bytes: state.config.outbox_bytes,
    };
    let (peer, outbox) = Peer::new(
        id,
        ticket.client,
        outbox_limits,
        closer.clone(),
        metrics.clone(),
    );
    let (sink, stream) = socket.split();
    let ping_interval = state.config.limits.ping_interval;
    let writer = Writer {
        closer: closer.clone(),
        ping_interval,
        metrics: metrics.clone(),
    };
    let mut writer = tokio::spawn(writer.run(sink, outbox).in_current_span());

    let mut session = Session {
        state: &state,
        peer,
        membership: None,
        owner: None,
        departure: Departure::AfterGrace,
        limiter: FrameLimiter::new(&state.config.limits, Instant::now()),
    };
    tokio::select! {
        () = read_loop(stream, &mut session) => {}
        () = closer.token.cancelled() => {}
    }
    session.leave().await;
    // The hub no longer holds the peer, so once `session` is gone the
    // outbox closes and the writer finishes after flushing what is queued.
    drop(session);
    if tokio::time::timeout(CLOSE_TIMEOUT, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    metrics.connections_open.decrement(1.0);
    tracing::debug!("connection closed");
}

/// What one connection knows about itself.
struct Session<'a> {
    state: &'a AppState,
    peer: Peer,
    /// Set once the client has joined.
    membership: Option<Membership>,
    /// The hash of the author key the client joined with: the messages
    /// it posts may be edited and deleted by whoever presents the key.
    owner: Option<String>,
    /// What the end of this connection means for the user's presence: what
    /// the client's close frame says, or at once when it was thrown out for
    /// breaking a rule (no grace period to wait for a reconnect). A
    /// connection that just drops keeps the grace period.
    departure: Departure,
    /// How fast this client may send.
    limiter: FrameLimiter,
}

impl Session<'_> {
    async fn handle_text(&mut self, text: &str) {
        let decoded = ClientFrame::decode(text);
        let kind = match decoded {
            Ok(ClientFrame::Typing { is_typing }) => FrameKind::Typing { is_typing },
            _ => FrameKind::Other,
        };
        let message_id = match &decoded {
            Ok(
                ClientFrame::Message { client_id, .. }
                | ClientFrame::Edit { client_id, .. }
                | ClientFrame::Delete { client_id, .. }
                | ClientFrame::React { client_id, .. },
            ) => client_id.as_deref(),
            _ => None,
        };
        if !self.within_rate(kind, message_id) {
            return;
        }
        let result = match decoded {
            Err(detail) => Err(Rejection::new(
                ErrorCode::BadRequest,
                format!("That frame was not understood: {detail}"),
            )),
            Ok(ClientFrame::Join {
                username,
                room,
                since,
                resume,
                join_code,
                author_key,
            }) => {
                let request = JoinFrame {
                    username: &username,
                    room: room.as_deref(),
                    since,
                    resume,
                    join_code,
                    author_key: author_key.as_deref(),
                };
                self.join(request).await
            }
            Ok(ClientFrame::Message {
                text,
                client_id,
                reply_to,
            }) => self.post(&text, client_id, reply_to).await,
            Ok(ClientFrame::Edit {
                id,
                text,
                client_id,
            }) => {
                let (text, bad_text) = match normalize_message(&text) {
                    Ok(text) => (Some(text.to_owned()), None),
                    Err(error) => (None, Some(Rejection::new(error.code(), error))),
                };
                let window_start = SystemTime::now()
                    .checked_sub(self.state.config.edit_window)
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                let action = Action::Edit {
                    text,
                    window_start: humantime::format_rfc3339_millis(window_start).to_string(),
                };
                self.change(id, client_id, action, bad_text).await
            }
            Ok(ClientFrame::React {
                id,
                emoji,
                on,
                client_id,
            }) => {
                let emoji = normalize_emoji(&emoji).map(str::to_owned);
                self.change(id, client_id, Action::React { emoji, on }, None)
                    .await
            }
            Ok(ClientFrame::Typing { is_typing }) => self.joined().map(|member| {
                self.state.cluster.announce(BusEvent::Typing {
                    room: member.room.clone(),
                    key: member.key.clone(),
                    username: member.name.clone(),
                    is_typing,
                });
            }),
            Ok(ClientFrame::History {
                before,
                limit,
                around,
            }) => self.history(before, around, limit).await,
            Ok(ClientFrame::ListRooms) => self.list_rooms().await,
            Ok(ClientFrame::Users { after, limit }) => self.joined().map(|member| {
                let hub = &self.state.cluster.hub;
                let bytes = self.state.config.page_bytes();
                let page = hub.users_page(&member.room, after.as_deref(), limit, bytes);
                self.peer.send(encode(&page));
            }),
            Ok(ClientFrame::BecomeModerator { token }) => self.become_moderator(&token),
            Ok(ClientFrame::Delete { id, client_id }) => {
                self.change(id, client_id, Action::Delete, None).await
            }
            Ok(ClientFrame::Ban {
                username,
                duration_secs,
            }) => self.ban(&username, duration_secs).await,
            Ok(ClientFrame::LockRoom { locked }) => {
                self.moderate(ModeratorAction::Lock(locked)).await
            }
            Ok(ClientFrame::SetTopic { topic }) => self.set_topic(&topic).await,
            Ok(ClientFrame::Audit { limit }) => {
                let limit = limit.map_or(MAX_AUDIT_PAGE, |limit| limit as usize);
                self.moderate(ModeratorAction::Audit(limit.clamp(1, MAX_AUDIT_PAGE)))
                    .await
            }
        };
        if let Err(rejection) = result {
            self.peer.reject(&rejection);
        }
    }

    async fn join(&mut self, frame: JoinFrame<'_>) -> Result<(), Rejection> {
        if self.membership.is_some() {
            return Err(ErrorCode::AlreadyJoined.into());
        }
        let name = normalize_username(frame.username)
            .map_err(|error| Rejection::new(error.code(), error))?;
        let room = normalize_room(frame.room.unwrap_or(DEFAULT_ROOM))
            .map_err(|error| Rejection::new(error.code(), error))?;
        if frame
            .author_key
            .is_some_and(|key| !is_valid_author_key(key))
        {
            return Err(Rejection::new(
                ErrorCode::BadRequest,
                format!(
                    "author_key must be {MIN_AUTHOR_KEY_CHARS} to {MAX_AUTHOR_KEY_CHARS} \
                     letters, digits, '-' or '_'"
                ),
            ));
        }
        let since = frame.since;
        let request = JoinRequest {
            key: username_key(&name),
            name,
            room,
            resume: frame.resume,
            join_code: frame.join_code,
        };
        let invited = self.check_join_code(&request).await?;
        // Borrowed from the state, not the session: the admission lasts
        // until the join ends, whichever way.
        let state = self.state;
        let admission = state.cluster.hub.admit(&request, &self.peer)?;
        let claim = Claim {
            room: request.room.clone(),
            key: request.key.clone(),
            name: request.name.clone(),
            resume: request.resume.clone(),
            invited,
            address: self.peer.client,
        };
        let claimed = state.cluster.presence.claim(&claim).await?;
        let membership = Membership {
            room: request.room.clone(),
            key: request.key.clone(),
            name: claimed.username.clone(),
        };
        // The history is read only for a join the claim let in.
        let seated = match state.journal.read_for_join(&request.room, since, 0).await {
            Ok(replay) => {
                self.seat(&request, since, &membership, &claimed, replay)
                    .await
            }
            Err(rejection) => Err(rejection),
        };
        if let Err(rejection) = seated {
            let presence = &state.cluster.presence;
            presence
                .release(&membership.room, &membership.key, Departure::AtOnce)
                .await;
            return Err(rejection);
        }
        admission.seated(&membership.key, self.peer.client);
        tracing::info!(user = %membership.name, room = %membership.room, "joined");
        self.membership = Some(membership);
        self.owner = frame.author_key.map(owner_hash);
        Ok(())
    }

    /// Whether the join carries the code in force (or the chat is open).
    /// Without it only a resume of a name still held may get in (the
    /// claim decides); anything else is refused here. Wrong codes are
    /// slowed per address.
    async fn check_join_code(&self, request: &JoinRequest) -> Result<bool, Rejection> {
        let hub = &self.state.cluster.hub;
        if request.join_code.is_some() {
            hub.may_try_code(self.peer.client)?;
        }
        let invited = self.state.journal.admits(request.join_code.clone()).await?;
        if !invited && request.join_code.is_some() {
            tracing::warn!("a wrong join code");
            hub.wrong_code(self.peer.client);
        }
        if !invited && request.resume.is_none() {
            return Err(ErrorCode::Forbidden.into());
        }
        Ok(invited)
    }

    /// Lists the rooms; on an invite-only chat only to a connection that
    /// joined with the code.
    async fn list_rooms(&self) -> Result<(), Rejection> {
        let state = self.state;
        if self.membership.is_none() && !state.journal.admits(None).await? {
            return Err(ErrorCode::Forbidden.into());
        }
        let online = state.cluster.presence.rooms().await?;
        let rooms = state.cluster.hub.rooms(online);
        self.peer.send(encode(&ServerFrame::Rooms { rooms }));
        Ok(())
    }

    /// Seats the claimed connection in its room with its history, reading
    /// the history again while the room has delivered newer events than
    /// the read holds (events committed meanwhile, here or elsewhere).
    async fn seat(
        &self,
        request: &JoinRequest,
        since: Option<u64>,
        membership: &Membership,
        claimed: &Claimed,
        mut replay: Replay,
    ) -> Result<(), Rejection> {
        /// Each read is newer than the last, so this is only reached by a
        /// room that keeps outrunning its reads: give up rather than spin.
        const MAX_READS: usize = 20;
        for _ in 0..MAX_READS {
            let through = match self
                .state
                .cluster
                .hub
                .seat(membership, &self.peer, claimed, replay)
            {
                Ok(()) => return Ok(()),
                Err(through) => through,
            };
            let journal = &self.state.journal;
            replay = journal.read_for_join(&request.room, since, through).await?;
        }
        tracing::error!(room = %request.room, "history reads kept falling behind the room");
        Err(ErrorCode::ServerError.into())
    }

    async fn post(
        &self,
        raw_text: &str,
        client_id: Option<String>,
        reply_to: Option<u64>,
    ) -> Result<(), Rejection> {
        let (member, text) = match self.accept_post(raw_text, client_id.as_deref()) {
            Ok(accepted) => accepted,
            Err(rejection) => return Err(rejection.with_client_id(client_id)),
        };
        let post = Post {
            text: text.to_owned(),
            client_id,
            owner: self.owner.clone(),
            reply_to,
        };
        self.state.journal.post(member, post, &self.peer).await;
        Ok(())
    }

    /// Passes an edit, a deletion or a reaction to the journal, which
    /// checks it against the message. Here: joined, a well-formed
    /// `client_id`, and no edits or reactions in a locked room (taking a
    /// message back is always allowed).
    async fn change(
        &self,
        target: u64,
        client_id: Option<String>,
        action: Action,
        bad_text: Option<Rejection>,
    ) -> Result<(), Rejection> {
        let accepted = self.joined().and_then(|member| {
            if client_id
                .as_deref()
                .is_some_and(|id| !is_valid_client_id(id))
            {
                return Err(bad_client_id());
            }
            let locked = self.state.cluster.hub.is_locked(&member.room);
            if locked && action != Action::Delete && !self.peer.is_moderator() {
                return Err(locked_room());
            }
            Ok(member)
        });
        let member = match accepted {
            Ok(member) => member,
            Err(rejection) => return Err(rejection.with_client_id(client_id)),
        };
        let request = ChangeRequest {
            room: member.room.clone(),
            target,
            username: member.name.clone(),
            name_key: member.key.clone(),
            client_id,
            owner: self.owner.clone(),
            moderator: self.peer.is_moderator(),
            action,
        };
        let order = ChangeOrder { request, bad_text };
        self.state.journal.change(order, &self.peer).await;
        Ok(())
    }

    /// Checks the moderator token; wrong ones are slowed down per address.
    fn become_moderator(&mut self, token: &str) -> Result<(), Rejection> {
        match self.state.gate.check(token, self.peer.client) {
            TokenVerdict::Accepted => {
                tracing::info!("became a moderator");
                self.peer.become_moderator();
                self.peer.send(encode(&ServerFrame::Moderator));
                Ok(())
            }
            TokenVerdict::Wrong => {
                tracing::warn!("a wrong moderator token");
                Err(Rejection::new(
                    ErrorCode::Forbidden,
                    "That is not the moderator token",
                ))
            }
            TokenVerdict::Slow(wait) => {
                tracing::warn!("a wrong moderator token, from an address that keeps guessing");
                let rejection = Rejection::new(ErrorCode::RateLimited, "").with_retry_after(wait);
                let ms = rejection.retry_after_ms.unwrap_or(1);
                Err(Rejection {
                    message: format!("Too many wrong moderator tokens: retry in {ms} ms"),
                    ..rejection
                })
            }
        }
    }

    /// The joined moderator, or why this connection may not moderate.
    fn moderator(&self) -> Result<&Membership, Rejection> {
        let member = self.joined()?;
        if !self.peer.is_moderator() {
            return Err(Rejection::new(
                ErrorCode::Forbidden,
                "Only moderators may do that: send become_moderator with the token first",
            ));
        }
        Ok(member)
    }

    async fn ban(&self, username: &str, duration_secs: u64) -> Result<(), Rejection> {
        self.moderator()?;
        let name =
            normalize_username(username).map_err(|error| Rejection::new(error.code(), error))?;
        check_ban_duration(duration_secs)
            .map_err(|message| Rejection::new(ErrorCode::BadRequest, message))?;
        let action = ModeratorAction::Ban {
            key: username_key(&name),
            name,
            duration_secs,
        };
        self.moderate(action).await
    }

    async fn set_topic(&self, raw: &str) -> Result<(), Rejection> {
        self.moderator()?;
        let topic = normalize_topic(raw).map_err(|error| Rejection::new(error.code(), error))?;
        self.moderate(ModeratorAction::Topic(topic)).await
    }

    async fn moderate(&self, action: ModeratorAction) -> Result<(), Rejection> {
        let member = self.moderator()?;
        self.state
            .journal
            .moderate(member, action, &self.peer)
            .await;
        Ok(())
    }

    /// Checks a message before it goes to the journal: the sender has
    /// joined, the text is allowed, the `client_id` is well formed.
    fn accept_post<'a>(
        &'a self,
        raw_text: &'a str,
        client_id: Option<&str>,
    ) -> Result<(&'a Membership, &'a str), Rejection> {
        let member = self.joined()?;
        if !self.peer.is_moderator() && self.state.cluster.hub.is_locked(&member.room) {
            return Err(locked_room());
        }
        let text =
            normalize_message(raw_text).map_err(|error| Rejection::new(error.code(), error))?;
        if client_id.is_some_and(|id| !is_valid_client_id(id)) {
            return Err(bad_client_id());
        }
        Ok((member, text))
    }

    async fn history(
        &self,
        before: Option<u64>,
        around: Option<u64>,
        limit: Option<u32>,
    ) -> Result<(), Rejection> {
        let member = self.joined()?;
        let page = match (before, around) {
            (Some(_), Some(_)) => {
                return Err(Rejection::new(
                    ErrorCode::BadRequest,
                    "A history request names before or around, not both",
                ))
            }
            (_, Some(around)) => Page::Around(around),
            (before, None) => Page::Before(before.unwrap_or(u64::MAX)),
        };
        let limit = limit.map_or_else(default_history_page, |limit| limit as usize);
        let journal = &self.state.journal;
        journal.history(&member.room, page, limit, &self.peer).await;
        Ok(())
    }

    fn joined(&self) -> Result<&Membership, Rejection> {
        self.membership
            .as_ref()
            .ok_or_else(|| ErrorCode::NotJoined.into())
    }

    /// Counts a frame against the rate limits. A frame over the limit gets
    /// `rate_limited` (naming the refused message's `client_id`, if any; a
    /// typing notice is dropped quietly) and is otherwise ignored; a flood
    /// closes the connection with 1008.
    fn within_rate(&mut self, kind: FrameKind, message_id: Option<&str>) -> bool {
        match self.limiter.check(kind, Instant::now()) {
            Verdict::Allowed => true,
            Verdict::Limited { retry_after } => {
                let limits = &self.state.config.limits;
                let rejection =
                    rate_limited(retry_after, limits).with_client_id(message_id.map(str::to_owned));
                self.peer.reject(&rejection);
                false
            }
            Verdict::Dropped => false,
            Verdict::Abusive => {
                tracing::warn!("closing a client that keeps flooding");
                self.peer.metrics().floods_closed.increment(1);
                self.departure = Departure::AtOnce;
                self.peer.closer().close(close::POLICY, "too many messages");
                false
            }
        }
    }

    fn reject_binary(&mut self) {
        if !self.within_rate(FrameKind::Other, None) {
            return;
        }
        let rejection = Rejection::new(
            ErrorCode::BadRequest,
            "Binary frames are not supported: send JSON text frames",
        );
        self.peer.reject(&rejection);
    }

    async fn leave(&mut self) {
        if let Some(membership) = self.membership.take() {
            self.state.cluster.hub.unseat(&membership, &self.peer);
            let presence = &self.state.cluster.presence;
            presence
                .release(&membership.room, &membership.key, self.departure)
                .await;
        }
    }
}

async fn read_loop(mut stream: SplitStream<Socket>, session: &mut Session<'_>) {
    let limits = &session.state.config.limits;
    let join_deadline = Instant::now() + limits.join_timeout;
    let mut last_heard = Instant::now();
    loop {
        // Closing (a flood, a slow reader, shutdown): read nothing more, even
        // frames that are already buffered.
        if session.peer.closer().token.is_cancelled() {
            return;
        }
        // Anything from the client, a pong included, proves it is there.
        let silence_deadline = last_heard + limits.idle_timeout;
        let deadline = match session.membership {
            None => silence_deadline.min(join_deadline),
            Some(_) => silence_deadline,
        };
        let received = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(received)) => received,
            Ok(None) => return,
            Err(_) if session.membership.is_none() && Instant::now() >= join_deadline => {
                tracing::debug!("closing: did not join in time");
                session
                    .peer
                    .closer()
                    .close(close::POLICY, "did not join in time");
                return;
            }
            Err(_) => {
                tracing::info!("closing: no answer to pings");
                session
                    .peer
                    .closer()
                    .close(close::GOING_AWAY, "no answer to pings");
                return;
            }
        };
        last_heard = Instant::now();
        match received {
            // Boxed: handling a frame (a join, a page of history) needs far
            // more state than waiting for the next one, and every idle
            // connection would otherwise hold room for it.
            Ok(Message::Text(text)) => Box::pin(session.handle_text(&text)).await,
            Ok(Message::Binary(_)) => session.reject_binary(),
            // tungstenite answers pings by itself; raw frames never come
            // out of a read.
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
            Ok(Message::Close(frame)) => {
                session.departure = close::departure(frame.map(|frame| u16::from(frame.code)));
                return;
            }
            Err(error) => {
                if is_too_big(error) {
                    session.departure = Departure::AtOnce;
                    session
                        .peer
                        .closer()
                        .close(close::TOO_BIG, "frame too large");
                }
                return;
            }
        }
    }
}

/// The most moderation log entries one `audit` returns (and the default).
const MAX_AUDIT_PAGE: usize = 100;

/// A `join` as the client sent it.
struct JoinFrame<'a> {
    username: &'a str,
    room: Option<&'a str>,
    since: Option<u64>,
    resume: Option<String>,
    join_code: Option<String>,
    author_key: Option<&'a str>,
}

fn locked_room() -> Rejection {
    Rejection::new(
        ErrorCode::Forbidden,
        "This room is read-only: a moderator locked it",
    )
}

fn bad_client_id() -> Rejection {
    Rejection::new(
        ErrorCode::BadRequest,
        format!("client_id must be 1 to {MAX_CLIENT_ID_CHARS} letters, digits or dashes"),
    )
}

/// Whether a read failed because the client sent more than the size limit.
fn is_too_big(error: tokio_tungstenite::tungstenite::Error) -> bool {
    tracing::debug!("read error: {error}");
    matches!(error, tokio_tungstenite::tungstenite::Error::Capacity(_))
}

/// The writing half of a connection: drains the outbox, sends pings and
/// the close frame.
struct Writer {
    closer: Arc<Closer>,
    ping_interval: Duration,
    metrics: Arc<Metrics>,
}

impl Writer {
    async fn run(self, mut sink: SplitSink<Socket, Message>, mut outbox: Outbox) {
        let Self {
            closer,
            ping_interval,
            metrics,
        } = self;
        // Pings keep proxies from dropping quiet connections and make a vanished
        // client show itself: it stops answering, and the reader's silence
        // deadline passes.
        let mut ping = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
        // Browsers answer the ping but never show it to the page: the heartbeat
        // frame is what the page can see. Encoded once; each tick shares it.
        let heartbeat = encode(&ServerFrame::Heartbeat);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let goodbye = loop {
            tokio::select! {
                biased;
                () = closer.token.cancelled() => break closer.frame(),
                _ = ping.tick() => {
                    if sink.feed(Message::Ping(Default::default())).await.is_err()
                        || sink.send(Message::Text(heartbeat.clone())).await.is_err()
                    {
                        return;
                    }
                }
                frame = outbox.recv() => match frame {
                    Some(frame) => {
                        if send_batch(&mut sink, frame, &mut outbox, &metrics).await.is_err() {
                            return;
                        }
                    }
                    // The reader ended and left the hub: a normal end.
                    None => break CloseFrame { code: close::NORMAL.into(), reason: Utf8Bytes::default() },
                },
            }
        };
        if u16::from(goodbye.code) == close::GOING_AWAY || closer.flushes_first() {
            // Shutting down, or banned: deliver what is already queued
            // (why) before saying goodbye.
            while let Some(outgoing) = outbox.try_recv() {
                let len = outgoing.frame.len();
                if feed_text(&mut sink, outgoing.frame).await.is_err() {
                    return;
                }
                outbox.written(len);
            }
        }
        let sent = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(goodbye))));
        if sent.await.is_err() {
            tracing::debug!("close frame not sent in time");
        }
    }
}

/// Writes `first` and whatever else is already queued with a single flush,
/// so a burst costs one system call instead of one per frame. Chat
/// messages count as delivered once flushed.
async fn send_batch(
    sink: &mut SplitSink<Socket, Message>,
    first: Outgoing,
    outbox: &mut Outbox,
    metrics: &Metrics,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    const MAX_BATCH: usize = 64;
    // Allocates only when the batch holds chat messages.
    let mut committed = Vec::new();
    let mut next = Some(first);
    for _ in 0..MAX_BATCH {
        let Some(outgoing) = next.take().or_else(|| outbox.try_recv()) else {
            break;
        };
        committed.extend(outgoing.committed);
        // Counted until it is in the socket's write buffer: a frame stuck
        // behind a client that does not read still counts against it.
        let len = outgoing.frame.len();
        feed_text(sink, outgoing.frame).await?;
        outbox.written(len);
    }
    sink.flush().await?;
    // One clock read for the batch: one per message was a twentieth of a
    // busy server's CPU.
    let flushed = std::time::Instant::now();
    for at in committed {
        metrics
            .delivery_latency_seconds
            .record(flushed.saturating_duration_since(at));
    }
    Ok(())
}
