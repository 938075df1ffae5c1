//! The connection to the server: one WebSocket at a time, opened once the
//! user wants to join and kept up from then on, reconnecting with
//! exponential backoff and full jitter.
//!
//! Three parts, so the rules can be tested without a browser:
//!
//! - [`Machine`], plain logic: the connection's one state ([`Phase`]) and,
//!   for each thing that happens ([`Input`]), the next state and what to do
//!   about it ([`Effect`]s).
//! - a task that owns the socket (a gloo-net [`WebSocket`]) and the timers,
//!   feeds what they do to the machine and carries out its effects.
//! - [`Connection`], the handle the chat holds: its calls step the machine
//!   at once (so `status()` and `send()` answer for the state they leave)
//!   and hand the effects to the task, in order.
//!
//! The machine only asks for a new socket after the previous one is closed
//! or given up on, so there is never more than one, whatever mix of timers,
//! `online` events, tab switches and "Retry now" clicks happens.
//!
//! A socket that stays silent longer than the server's heartbeats promise
//! is dead (a phone in a tunnel: no close ever comes), so it is given up on
//! and replaced.

use std::cell::RefCell;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use chat_shared::close::{GOING_AWAY, SILENT};
use chat_shared::{ClientFrame, ServerFrame};
use futures_channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures_util::{FutureExt, Sink, SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State, WebSocketError};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;

use crate::time::now_ms;

/// The first retry waits up to this long; each failure doubles the ceiling.
const BACKOFF_BASE_MS: f64 = 500.0;
/// The longest a retry ever waits, so a long outage still recovers quickly.
const BACKOFF_CAP_MS: f64 = 30_000.0;
/// A socket stuck connecting (a silently dropped network) is given up after
/// this long, so the backoff loop keeps going.
const CONNECT_TIMEOUT_MS: f64 = 10_000.0;

/// The connection's events, in the order they happened.
pub type SocketEvents = UnboundedReceiver<SocketEvent>;

/// What the connection is doing, for the status shown to the user.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Status {
    /// No connection is wanted yet (the name form), or any more (left).
    Idle,
    /// The first connection of this page is being made.
    Connecting,
    /// A socket is open.
    Online,
    /// The connection was lost; the next attempt is in flight.
    Retrying,
    /// The connection was lost; the next attempt starts at `retry_at`
    /// (milliseconds since the epoch).
    Waiting { retry_at: f64 },
    /// The browser says there is no network; we retry when it comes back.
    Offline,
}

impl Status {
    /// A stable name for the state, exposed as `data-state` for styling
    /// and for the browser tests.
    pub fn name(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Connecting => "connecting",
            Status::Online => "online",
            Status::Retrying => "retrying",
            Status::Waiting { .. } => "waiting",
            Status::Offline => "offline",
        }
    }
}

/// What the connection tells the chat.
// Frames are nearly every event, so boxing them would only add an
// allocation each; the size is over the lint's line on 64-bit hosts only.
#[allow(clippy::large_enum_variant)]
pub enum SocketEvent {
    /// A socket opened: the chat (re)joins on it.
    Opened,
    /// A frame arrived, with its text (kept for the chat's own records).
    Frame(ServerFrame, String),
    /// The socket is gone (closed, failed or given up on): whatever the
    /// chat knew through it, who is online, who is typing, is stale.
    Closed,
}

/// The ceiling of the random delay before retry number `attempt` (from 0):
/// 0.5 s, 1 s, 2 s, ... up to 30 s.
pub fn backoff_ceiling_ms(attempt: u32) -> f64 {
    let factor = 2f64.powi(attempt.min(16) as i32);
    (BACKOFF_BASE_MS * factor).min(BACKOFF_CAP_MS)
}

/// "Full jitter": a uniformly random delay between zero and the ceiling, so
/// a server restart is not met by every client at the same instant.
/// `random` is in `[0, 1)`.
pub fn next_backoff_delay_ms(attempt: u32, random: f64) -> f64 {
    backoff_ceiling_ms(attempt) * random.clamp(0.0, 1.0)
}

/// The connection's state: the one place it is kept, so no combination of
/// flags can say two things at once. Times are milliseconds since the epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// No connection is wanted: the server closes sockets that do not join
    /// in time, so none is held open for a name form.
    Idle,
    /// A socket is opening, after `attempt` failed ones.
    Connecting { attempt: u32, since_ms: f64 },
    /// The socket is open. Once the server promised heartbeats it may stay
    /// silent for `silence_limit_ms` at most; the limit goes with the
    /// socket, since the next server may be an older one without them.
    Open {
        last_heard_ms: f64,
        silence_limit_ms: Option<f64>,
    },
    /// No socket; the next one is opened at `retry_at`, after `attempt`
    /// failures.
    Waiting { attempt: u32, retry_at: f64 },
    /// Like `Waiting`, but the browser says there is no network, which the
    /// user is told; its `online` event retries at once.
    Offline { attempt: u32, retry_at: f64 },
}

/// Something that happened to the connection.
#[derive(Clone, Debug, PartialEq)]
enum Input {
    /// The chat wants a connection from now on.
    Open,
    /// The chat wants none any more; the socket, if any, closes with `code`.
    Close { code: u16, reason: String },
    /// The chat wants a fresh socket now, the current one closed with `code`.
    Reconnect { code: u16, reason: String },
    /// A reason to try now rather than wait: "Retry now", the browser's
    /// `online` event, the tab becoming visible.
    Nudge,
    /// The browser's `offline` event.
    WentOffline,
    /// The server promised a heartbeat every `interval_ms`; `missed` of
    /// them may go missing before the socket counts as dead.
    ExpectHeartbeats { interval_ms: u64, missed: u32 },
    /// The socket opened.
    Opened,
    /// The socket received something.
    Heard,
    /// The socket closed or failed.
    Ended,
    /// The time [`Machine::deadline`] named has come (or a little before).
    Tick,
}

/// What the browser says at the moment of a step, read by the caller so the
/// machine stays pure.
#[derive(Clone, Copy, Debug)]
struct Env {
    now_ms: f64,
    /// Uniform in `[0, 1)`, for the backoff jitter.
    random: f64,
    /// `navigator.onLine`.
    online: bool,
}

impl Env {
    /// The browser's answers right now.
    fn now() -> Self {
        Self {
            now_ms: now_ms(),
            random: js_sys::Math::random(),
            online: window().navigator().on_line(),
        }
    }
}

/// What a step asks for, to be carried out in order.
#[derive(Clone, Debug, PartialEq)]
enum Effect {
    /// Open a socket (there is none at this point).
    Connect,
    /// Close the socket with `code` and let it go at once: a dead network
    /// never completes the close handshake, so it is not waited for.
    Close { code: u16, reason: String },
    /// Let go of the socket, which has already closed.
    Release,
    /// Tell the chat [`SocketEvent::Opened`].
    TellOpened,
    /// Tell the chat [`SocketEvent::Closed`].
    TellClosed,
}

/// The connection's rules: for each [`Input`], the next [`Phase`] and the
/// [`Effect`]s that get there.
#[derive(Debug)]
struct Machine {
    phase: Phase,
}

impl Default for Machine {
    fn default() -> Self {
        Self { phase: Phase::Idle }
    }
}

impl Machine {
    /// Moves on from `input`, returning what to do about it.
    fn step(&mut self, input: Input, env: Env) -> Vec<Effect> {
        use Phase::*;
        let now = env.now_ms;
        match (self.phase, input) {
            (Idle, Input::Open) => self.connect(0, env),
            (Connecting { .. } | Open { .. }, Input::Close { code, reason }) => {
                self.phase = Idle;
                vec![Effect::Close { code, reason }, Effect::TellClosed]
            }
            (_, Input::Close { .. }) => {
                self.phase = Idle;
                Vec::new()
            }
            (Connecting { .. } | Open { .. }, Input::Reconnect { code, reason }) => {
                self.replace(code, reason, env)
            }
            // With no socket, reconnecting is just not waiting any more.
            (
                Waiting { attempt, .. } | Offline { attempt, .. },
                Input::Reconnect { .. } | Input::Nudge,
            ) => self.connect(attempt, env),
            (Waiting { attempt, retry_at }, Input::WentOffline) => {
                self.phase = Offline { attempt, retry_at };
                Vec::new()
            }
            (
                Open { last_heard_ms, .. },
                Input::ExpectHeartbeats {
                    interval_ms,
                    missed,
                },
            ) => {
                self.phase = Open {
                    last_heard_ms,
                    silence_limit_ms: Some(interval_ms as f64 * f64::from(missed.max(1))),
                };
                Vec::new()
            }
            (Connecting { .. }, Input::Opened) => {
                self.phase = Open {
                    last_heard_ms: now,
                    silence_limit_ms: None,
                };
                vec![Effect::TellOpened]
            }
            (
                Open {
                    silence_limit_ms, ..
                },
                Input::Heard,
            ) => {
                self.phase = Open {
                    last_heard_ms: now,
                    silence_limit_ms,
                };
                Vec::new()
            }
            (Connecting { attempt, .. }, Input::Ended) => {
                self.retry_later(attempt, env);
                vec![Effect::Release, Effect::TellClosed]
            }
            // A socket that was open had no failures: start the backoff over.
            (Open { .. }, Input::Ended) => {
                self.retry_later(0, env);
                vec![Effect::Release, Effect::TellClosed]
            }
            (Connecting { attempt, since_ms }, Input::Tick)
                if now - since_ms >= CONNECT_TIMEOUT_MS =>
            {
                self.retry_later(attempt, env);
                vec![
                    Effect::Close {
                        code: SILENT,
                        reason: "connect timeout".to_owned(),
                    },
                    Effect::TellClosed,
                ]
            }
            (
                Open {
                    last_heard_ms,
                    silence_limit_ms: Some(limit),
                },
                Input::Tick,
            ) if now - last_heard_ms >= limit => {
                self.replace(SILENT, "silent connection".to_owned(), env)
            }
            (Waiting { attempt, retry_at } | Offline { attempt, retry_at }, Input::Tick)
                if now >= retry_at =>
            {
                self.connect(attempt, env)
            }
            // Everything else changes nothing; above all, a nudge while a
            // socket is open or opening opens no second one.
            _ => Vec::new(),
        }
    }

    /// Opens a socket, the next after `attempt` failures.
    fn connect(&mut self, attempt: u32, env: Env) -> Vec<Effect> {
        self.phase = Phase::Connecting {
            attempt,
            since_ms: env.now_ms,
        };
        vec![Effect::Connect]
    }

    /// Gives up on the socket and opens the next one at once.
    fn replace(&mut self, code: u16, reason: String, env: Env) -> Vec<Effect> {
        let mut effects = vec![Effect::Close { code, reason }, Effect::TellClosed];
        effects.extend(self.connect(0, env));
        effects
    }

    /// The socket went after `attempt` failures: waits a random while
    /// before the next.
    fn retry_later(&mut self, attempt: u32, env: Env) {
        let retry_at = env.now_ms + next_backoff_delay_ms(attempt, env.random);
        let attempt = attempt.saturating_add(1);
        self.phase = if env.online {
            Phase::Waiting { attempt, retry_at }
        } else {
            Phase::Offline { attempt, retry_at }
        };
    }

    /// When the machine next wants a [`Input::Tick`], if ever.
    fn deadline(&self) -> Option<f64> {
        match self.phase {
            Phase::Idle
            | Phase::Open {
                silence_limit_ms: None,
                ..
            } => None,
            Phase::Connecting { since_ms, .. } => Some(since_ms + CONNECT_TIMEOUT_MS),
            Phase::Open {
                last_heard_ms,
                silence_limit_ms: Some(limit),
            } => Some(last_heard_ms + limit),
            Phase::Waiting { retry_at, .. } | Phase::Offline { retry_at, .. } => Some(retry_at),
        }
    }

    /// Whether a frame can go out now.
    fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
    }

    /// The state as the user sees it.
    fn status(&self) -> Status {
        match self.phase {
            Phase::Idle => Status::Idle,
            Phase::Connecting { attempt: 0, .. } => Status::Connecting,
            Phase::Connecting { .. } => Status::Retrying,
            Phase::Open { .. } => Status::Online,
            Phase::Waiting { retry_at, .. } => Status::Waiting { retry_at },
            Phase::Offline { .. } => Status::Offline,
        }
    }
}

/// What [`Connection`]'s calls hand to the task.
enum Command {
    /// Effects of a step the call made.
    Run(Vec<Effect>),
    /// A frame's text for the open socket.
    Send(String),
}

/// A handle to the connection service; cheap to copy into event handlers.
#[derive(Clone, Copy)]
pub struct Connection {
    status: RwSignal<Status>,
    service: StoredValue<Rc<Service>, LocalStorage>,
}

/// What the handles share: the state, the way to the task, and the window
/// listeners that nudge it, held (and removed) with the service.
struct Service {
    machine: Rc<RefCell<Machine>>,
    to_task: UnboundedSender<Command>,
    listeners: RefCell<Vec<WindowListenerHandle>>,
}

impl Drop for Service {
    fn drop(&mut self) {
        for listener in self.listeners.get_mut().drain(..) {
            listener.remove();
        }
    }
}

impl Connection {
    /// The connection to `url`, idle until [`Connection::open`]. Every frame
    /// and change arrives, in order, on the returned [`SocketEvents`].
    pub fn start(url: String) -> (Self, SocketEvents) {
        let (tell, events) = mpsc::unbounded();
        let (to_task, commands) = mpsc::unbounded();
        let machine = Rc::new(RefCell::new(Machine::default()));
        let status = RwSignal::new(Status::Idle);
        let service = Service {
            machine: Rc::clone(&machine),
            to_task,
            listeners: RefCell::new(Vec::new()),
        };
        let connection = Self {
            status,
            service: StoredValue::new_local(Rc::new(service)),
        };
        connection.watch_browser();
        let task = Task {
            url,
            machine,
            commands,
            tell,
            status,
            socket: None,
            timer: None,
        };
        leptos::task::spawn_local(task.run());
        (connection, events)
    }

    /// Connects, and keeps a connection up from now on.
    pub fn open(&self) {
        self.apply(Input::Open);
    }

    /// Closes the connection with `code` and stops reconnecting.
    pub fn close(&self, code: u16, reason: &str) {
        self.apply(Input::Close {
            code,
            reason: reason.to_owned(),
        });
    }

    /// The server promised a heartbeat every `interval_ms`: from now on the
    /// open socket is given up on once `missed_heartbeats` of them in a row
    /// have not come. Forgotten with the socket, since the next server may
    /// be an older one without heartbeats.
    pub fn expect_heartbeats(&self, interval_ms: u64, missed_heartbeats: u32) {
        self.apply(Input::ExpectHeartbeats {
            interval_ms,
            missed: missed_heartbeats,
        });
    }

    /// Gives up on the current socket at once, closing it with `code`, and
    /// opens a new one without waiting for the old one's close handshake
    /// (which a dead network never completes). Also used to enter another
    /// room, since a socket joins one room for its lifetime. Without a
    /// socket, tries now.
    pub fn reconnect(&self, code: u16, reason: &str) {
        self.apply(Input::Reconnect {
            code,
            reason: reason.to_owned(),
        });
    }

    /// The current state (tracked).
    pub fn status(&self) -> Status {
        self.status.get()
    }

    /// Whether frames can be sent right now (tracked).
    pub fn is_online(&self) -> bool {
        self.status.get() == Status::Online
    }

    /// Sends a frame if the socket is open. Returns false, and sends
    /// nothing, otherwise: callers must not pretend it was sent.
    pub fn send(&self, frame: &ClientFrame) -> bool {
        let Some(service) = self.service.try_get_value() else {
            return false;
        };
        if !service.machine.borrow().is_open() {
            return false;
        }
        // Behind any close already handed over, so it goes to this socket
        // or nowhere.
        service
            .to_task
            .unbounded_send(Command::Send(frame.encode()))
            .is_ok()
    }

    /// Skips the wait and tries now, unless a socket is already open or
    /// opening (one socket at a time).
    pub fn retry_now(&self) {
        self.apply(Input::Nudge);
    }

    /// Steps the machine now, so the status (and `send`) answer for the new
    /// state at once, and hands the effects to the task.
    fn apply(&self, input: Input) {
        let Some(service) = self.service.try_get_value() else {
            return;
        };
        let effects = service.machine.borrow_mut().step(input, Env::now());
        let now = service.machine.borrow().status();
        show_status(self.status, now);
        // Even with no effects: the step may have moved the task's next
        // timer (heartbeats now expected, a wait made shorter).
        let _ = service.to_task.unbounded_send(Command::Run(effects));
    }

    /// Retries at once when the network or the tab comes back: waiting out
    /// a 30 s backoff after the user reopens the laptop feels broken.
    fn watch_browser(&self) {
        let this = *self;
        let listeners = [
            window_event_listener(leptos::ev::online, move |_| this.retry_now()),
            window_event_listener(leptos::ev::offline, move |_| this.apply(Input::WentOffline)),
            window_event_listener(leptos::ev::visibilitychange, move |_| {
                if document().visibility_state() == web_sys::VisibilityState::Visible {
                    this.retry_now();
                }
            }),
        ];
        if let Some(service) = self.service.try_get_value() {
            service.listeners.borrow_mut().extend(listeners);
        }
    }
}

/// Shows the machine's state, notifying only on a change.
fn show_status(status: RwSignal<Status>, now: Status) {
    if status.get_untracked() != now {
        status.set(now);
    }
}

/// The socket the task owns.
struct Live {
    /// `None` if the browser refused to create it: that counts as a socket
    /// that failed at once, so it ends in its turn, after whatever commands
    /// were handed over since (which the machine based on there being one).
    socket: Option<WebSocket>,
    /// Whether its opening has finished (opened or failed): until then the
    /// task waits for it to become writable, which is how gloo-net tells.
    settled: bool,
}

/// What woke the task.
enum Wake {
    /// A command, or `None` once the service is gone.
    Command(Option<Command>),
    /// The socket finished opening, or failed to.
    Settled,
    /// The socket received something (or reported an error before ending).
    Received(Result<Message, WebSocketError>),
    /// The socket closed.
    Ended,
    /// The timer for the machine's deadline went off.
    Timer,
}

/// Owns the socket and the timer, and carries out the machine's effects.
struct Task {
    url: String,
    machine: Rc<RefCell<Machine>>,
    commands: UnboundedReceiver<Command>,
    tell: UnboundedSender<SocketEvent>,
    status: RwSignal<Status>,
    socket: Option<Live>,
    /// The timer and the deadline it was set for.
    timer: Option<(f64, TimeoutFuture)>,
}

impl Task {
    /// Runs for as long as the service does.
    async fn run(mut self) {
        loop {
            self.arm_timer();
            match self.next_wake().await {
                Wake::Command(None) => break,
                Wake::Command(Some(Command::Run(effects))) => self.carry_out(effects),
                Wake::Command(Some(Command::Send(text))) => self.send(text),
                Wake::Settled => {
                    let opened = self
                        .socket
                        .as_ref()
                        .and_then(|live| live.socket.as_ref())
                        .is_some_and(|socket| matches!(socket.state(), State::Open));
                    // A failed one ends next, which is what counts.
                    if opened {
                        self.step(Input::Opened);
                    }
                }
                Wake::Received(Ok(message)) => {
                    self.step(Input::Heard);
                    match message {
                        Message::Text(text) => self.deliver(text),
                        // The server speaks text; anything else only shows
                        // the connection is alive.
                        Message::Bytes(_) => {}
                    }
                }
                // The socket ends right after; that is what counts.
                Wake::Received(Err(_)) => {}
                Wake::Ended => {
                    self.step(Input::Ended);
                    // An ended socket is never polled again, whatever the
                    // machine thought of it.
                    self.socket = None;
                }
                Wake::Timer => {
                    self.timer = None;
                    self.step(Input::Tick);
                }
            }
        }
        // The page is going away: like a closing tab, not a departure.
        if let Some(socket) = self.socket.take().and_then(|live| live.socket) {
            let _ = socket.close(Some(GOING_AWAY), Some("page closed"));
        }
    }

    /// Waits for the next thing to happen. Commands come first: whatever a
    /// call asked for happened before anything the socket says next, and a
    /// frame sent while the socket was open must reach that socket.
    async fn next_wake(&mut self) -> Wake {
        poll_fn(|cx| {
            if let Poll::Ready(command) = self.commands.poll_next_unpin(cx) {
                return Poll::Ready(Wake::Command(command));
            }
            if let Some(live) = &mut self.socket {
                let Some(socket) = &mut live.socket else {
                    return Poll::Ready(Wake::Ended);
                };
                if !live.settled && Pin::new(&mut *socket).poll_ready(cx).is_ready() {
                    live.settled = true;
                    return Poll::Ready(Wake::Settled);
                }
                match socket.poll_next_unpin(cx) {
                    Poll::Ready(Some(received)) => return Poll::Ready(Wake::Received(received)),
                    Poll::Ready(None) => return Poll::Ready(Wake::Ended),
                    Poll::Pending => {}
                }
            }
            if let Some((_, timer)) = &mut self.timer {
                if timer.poll_unpin(cx).is_ready() {
                    return Poll::Ready(Wake::Timer);
                }
            }
            Poll::Pending
        })
        .await
    }

    /// Sets the timer for the machine's deadline. One set earlier is kept:
    /// going off early costs a check, while setting a new timer for every
    /// frame heard would cost one each time.
    fn arm_timer(&mut self) {
        let Some(deadline) = self.machine.borrow().deadline() else {
            self.timer = None;
            return;
        };
        if matches!(self.timer, Some((armed, _)) if armed <= deadline) {
            return;
        }
        let delay = (deadline - now_ms()).ceil().clamp(0.0, f64::from(u32::MAX));
        self.timer = Some((deadline, TimeoutFuture::new(delay as u32)));
    }

    fn step(&mut self, input: Input) {
        let effects = self.machine.borrow_mut().step(input, Env::now());
        self.carry_out(effects);
    }

    fn carry_out(&mut self, effects: Vec<Effect>) {
        let now = self.machine.borrow().status();
        show_status(self.status, now);
        for effect in effects {
            match effect {
                Effect::Connect => self.connect(),
                Effect::Close { code, reason } => self.close(code, &reason),
                Effect::Release => self.socket = None,
                Effect::TellOpened => self.tell(SocketEvent::Opened),
                Effect::TellClosed => self.tell(SocketEvent::Closed),
            }
        }
    }

    fn connect(&mut self) {
        // The machine never asks for a second socket; should it, the first
        // one still goes, and keeps the user's place.
        self.close(SILENT, "replaced");
        let socket = WebSocket::open(&self.url)
            .inspect_err(|error| leptos::logging::warn!("cannot open WebSocket: {error}"))
            .ok();
        self.socket = Some(Live {
            socket,
            settled: false,
        });
    }

    /// Closes the socket with `code` before letting go of it: gloo-net's
    /// drop closes without one, which the server reads as leaving on purpose.
    fn close(&mut self, code: u16, reason: &str) {
        let Some(socket) = self.socket.take().and_then(|live| live.socket) else {
            return;
        };
        if code == SILENT {
            leptos::logging::warn!("giving up on the connection ({reason}); reconnecting");
        }
        if let Err(error) = socket.close(Some(code), Some(reason)) {
            leptos::logging::warn!("cannot close the WebSocket: {error}");
        }
    }

    /// Sends on the socket that was open when the frame was handed over:
    /// commands run in order, so a close asked for after it comes after it.
    fn send(&mut self, text: String) {
        let Some(socket) = self.socket.as_mut().and_then(|live| live.socket.as_mut()) else {
            return;
        };
        // An open socket takes a frame at once; `None` would mean it is
        // still opening, which the machine rules out.
        if let Some(Err(error)) = socket.send(Message::Text(text)).now_or_never() {
            leptos::logging::warn!("cannot send a frame: {error}");
        }
    }

    fn deliver(&self, text: String) {
        match ServerFrame::decode(&text) {
            Ok(frame) => self.tell(SocketEvent::Frame(frame, text)),
            // Ignored like an unknown frame: a newer or buggy server must
            // not break the page.
            Err(error) => leptos::logging::warn!("ignoring a frame I cannot read: {error}"),
        }
    }

    fn tell(&self, event: SocketEvent) {
        // The receiver lives as long as the page's chat; an event after it
        // is gone has nobody to tell.
        let _ = self.tell.unbounded_send(event);
    }
}

/// The WebSocket address on the host that served the page: `ws://` or
/// `wss://` to match `http://` or `https://`.
pub fn socket_url() -> String {
    let location = window().location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss:",
        _ => "ws:",
    };
    let host = location.host().unwrap_or_default();
    format!("{scheme}//{host}/ws")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_shared::close::NORMAL;

    /// The browser at `now_ms`, online, with a jitter of one half.
    fn at(now_ms: f64) -> Env {
        Env {
            now_ms,
            random: 0.5,
            online: true,
        }
    }

    /// A machine with an open socket, opened at `now_ms`.
    fn open_at(now_ms: f64) -> Machine {
        let mut machine = Machine::default();
        machine.step(Input::Open, at(now_ms));
        machine.step(Input::Opened, at(now_ms));
        machine
    }

    /// A machine whose socket was lost at `now_ms`, waiting to retry.
    fn waiting_at(now_ms: f64) -> Machine {
        let mut machine = open_at(now_ms);
        machine.step(Input::Ended, at(now_ms));
        machine
    }

    fn close(code: u16, reason: &str) -> Effect {
        Effect::Close {
            code,
            reason: reason.to_owned(),
        }
    }

    #[test]
    fn nothing_connects_until_asked_and_asking_twice_connects_once() {
        let mut machine = Machine::default();
        assert_eq!(machine.status(), Status::Idle);
        assert_eq!(machine.deadline(), None);
        assert_eq!(machine.step(Input::Nudge, at(0.0)), []);
        assert_eq!(machine.step(Input::Open, at(0.0)), [Effect::Connect]);
        assert_eq!(machine.status(), Status::Connecting);
        assert_eq!(machine.step(Input::Open, at(1.0)), []);
        assert!(!machine.is_open());
    }

    #[test]
    fn an_opened_socket_is_online_and_the_chat_is_told() {
        let mut machine = Machine::default();
        machine.step(Input::Open, at(0.0));
        assert_eq!(machine.step(Input::Opened, at(5.0)), [Effect::TellOpened]);
        assert_eq!(machine.status(), Status::Online);
        assert!(machine.is_open());
        // No heartbeats promised yet, so no watchdog.
        assert_eq!(machine.deadline(), None);
    }

    #[test]
    fn a_nudge_while_connecting_or_open_opens_no_second_socket() {
        let mut machine = Machine::default();
        machine.step(Input::Open, at(0.0));
        assert_eq!(machine.step(Input::Nudge, at(1.0)), []);
        assert_eq!(machine.status(), Status::Connecting);
        machine.step(Input::Opened, at(2.0));
        assert_eq!(machine.step(Input::Nudge, at(3.0)), []);
        assert_eq!(machine.status(), Status::Online);
    }

    #[test]
    fn a_lost_socket_waits_a_jittered_backoff_that_grows_until_one_opens() {
        let mut machine = waiting_at(1_000.0);
        // An open socket had no failures: half of the first ceiling.
        let retry_at = 1_000.0 + 250.0;
        assert_eq!(machine.status(), Status::Waiting { retry_at });
        assert_eq!(machine.deadline(), Some(retry_at));
        // Too early: still waiting.
        assert_eq!(machine.step(Input::Tick, at(1_200.0)), []);
        assert_eq!(machine.step(Input::Tick, at(retry_at)), [Effect::Connect]);
        assert_eq!(machine.status(), Status::Retrying);
        assert_eq!(
            machine.step(Input::Ended, at(2_000.0)),
            [Effect::Release, Effect::TellClosed]
        );
        // The second failure in a row: half of the second ceiling.
        assert_eq!(
            machine.status(),
            Status::Waiting {
                retry_at: 2_000.0 + 500.0
            }
        );
        machine.step(Input::Tick, at(2_500.0));
        machine.step(Input::Opened, at(2_600.0));
        machine.step(Input::Ended, at(3_000.0));
        // Having been open starts the backoff over.
        assert_eq!(
            machine.status(),
            Status::Waiting {
                retry_at: 3_000.0 + 250.0
            }
        );
    }

    #[test]
    fn online_or_retry_now_while_waiting_connects_now() {
        let mut machine = waiting_at(0.0);
        assert_eq!(machine.step(Input::Nudge, at(10.0)), [Effect::Connect]);
        assert_eq!(machine.status(), Status::Retrying);
    }

    #[test]
    fn without_a_network_the_page_says_offline_and_comes_back_on_online() {
        let mut machine = open_at(0.0);
        let offline = Env {
            online: false,
            ..at(100.0)
        };
        machine.step(Input::Ended, offline);
        assert_eq!(machine.status(), Status::Offline);
        // The retry still runs, in case the browser is wrong.
        assert_eq!(machine.deadline(), Some(350.0));
        assert_eq!(machine.step(Input::Nudge, at(200.0)), [Effect::Connect]);

        // The `offline` event while waiting says so too.
        let mut machine = waiting_at(0.0);
        assert_eq!(machine.step(Input::WentOffline, at(1.0)), []);
        assert_eq!(machine.status(), Status::Offline);
        // But not while a socket is open: it may well still work.
        let mut machine = open_at(0.0);
        machine.step(Input::WentOffline, at(1.0));
        assert_eq!(machine.status(), Status::Online);
    }

    #[test]
    fn a_socket_stuck_connecting_is_given_up_after_ten_seconds() {
        let mut machine = Machine::default();
        machine.step(Input::Open, at(0.0));
        assert_eq!(machine.deadline(), Some(10_000.0));
        assert_eq!(machine.step(Input::Tick, at(9_999.0)), []);
        assert_eq!(
            machine.step(Input::Tick, at(10_000.0)),
            [close(SILENT, "connect timeout"), Effect::TellClosed]
        );
        assert_eq!(
            machine.status(),
            Status::Waiting {
                retry_at: 10_000.0 + 250.0
            }
        );
    }

    #[test]
    fn silence_past_the_limit_abandons_with_4000_and_connects_at_once() {
        let mut machine = open_at(0.0);
        machine.step(
            Input::ExpectHeartbeats {
                interval_ms: 1_000,
                missed: 3,
            },
            at(0.0),
        );
        assert_eq!(machine.deadline(), Some(3_000.0));
        // Hearing anything resets the clock.
        machine.step(Input::Heard, at(2_000.0));
        assert_eq!(machine.step(Input::Tick, at(3_000.0)), []);
        assert_eq!(machine.deadline(), Some(5_000.0));
        assert_eq!(
            machine.step(Input::Tick, at(5_000.0)),
            [
                close(SILENT, "silent connection"),
                Effect::TellClosed,
                Effect::Connect
            ]
        );
        assert_eq!(SILENT, 4000);
        assert_eq!(machine.status(), Status::Connecting);
        // The promise went with the socket: the next one may be an older
        // server's, without heartbeats.
        machine.step(Input::Opened, at(5_100.0));
        assert_eq!(machine.deadline(), None);
        assert_eq!(machine.step(Input::Tick, at(60_000.0)), []);
    }

    #[test]
    fn heartbeats_only_count_for_an_open_socket() {
        let mut machine = waiting_at(0.0);
        machine.step(
            Input::ExpectHeartbeats {
                interval_ms: 1_000,
                missed: 3,
            },
            at(0.0),
        );
        machine.step(Input::Nudge, at(1.0));
        machine.step(Input::Opened, at(2.0));
        assert_eq!(machine.deadline(), None);
    }

    #[test]
    fn reconnect_closes_with_the_code_and_opens_without_waiting() {
        let mut machine = open_at(0.0);
        assert_eq!(
            machine.step(
                Input::Reconnect {
                    code: NORMAL,
                    reason: "switching rooms".to_owned()
                },
                at(1.0)
            ),
            [
                close(NORMAL, "switching rooms"),
                Effect::TellClosed,
                Effect::Connect
            ]
        );
        assert!(!machine.is_open());
        assert_eq!(machine.status(), Status::Connecting);

        // Without a socket, it is "retry now".
        let mut machine = waiting_at(0.0);
        let reconnect = Input::Reconnect {
            code: NORMAL,
            reason: "switching rooms".to_owned(),
        };
        assert_eq!(machine.step(reconnect.clone(), at(1.0)), [Effect::Connect]);
        // Or nothing, if no connection is wanted.
        let mut machine = Machine::default();
        assert_eq!(machine.step(reconnect, at(1.0)), []);
    }

    #[test]
    fn close_ends_the_socket_with_its_code_and_stops_retrying() {
        let mut machine = open_at(0.0);
        let leave = Input::Close {
            code: NORMAL,
            reason: "left".to_owned(),
        };
        assert_eq!(
            machine.step(leave.clone(), at(1.0)),
            [close(NORMAL, "left"), Effect::TellClosed]
        );
        assert_eq!(machine.status(), Status::Idle);
        assert_eq!(machine.deadline(), None);

        let mut machine = waiting_at(0.0);
        assert_eq!(machine.step(leave, at(1.0)), []);
        assert_eq!(machine.status(), Status::Idle);
        assert_eq!(machine.step(Input::Tick, at(60_000.0)), []);
        assert_eq!(machine.step(Input::Nudge, at(60_000.0)), []);
    }

    #[test]
    fn backoff_doubles_from_half_a_second_up_to_thirty() {
        assert_eq!(backoff_ceiling_ms(0), 500.0);
        assert_eq!(backoff_ceiling_ms(1), 1_000.0);
        assert_eq!(backoff_ceiling_ms(5), 16_000.0);
        assert_eq!(backoff_ceiling_ms(6), 30_000.0);
        assert_eq!(backoff_ceiling_ms(u32::MAX), 30_000.0);
    }

    #[test]
    fn full_jitter_spreads_over_zero_to_the_ceiling() {
        assert_eq!(next_backoff_delay_ms(3, 0.0), 0.0);
        assert_eq!(next_backoff_delay_ms(3, 0.5), 2_000.0);
        assert!(next_backoff_delay_ms(3, 0.999_999) < 4_000.0);
        assert!(next_backoff_delay_ms(40, 0.999_999) <= 30_000.0);
    }
}
