//! The connection to the server: one WebSocket at a time, opened once the
//! user wants to join and kept up from then on, reconnecting with
//! exponential backoff and full jitter.
//!
//! Three parts, so the rules can be tested without a browser:
//!
//! - [`machine`], plain logic: the connection's one state and, for each
//!   thing that happens, the next state and what to do about it.
//! - [`task`], which owns the socket (a gloo-net `WebSocket`) and the
//!   timers, feeds what they do to the machine and carries out its effects.
//! - [`Connection`] (here), the handle the chat holds: its calls step the
//!   machine at once (so `status()` and `send()` answer for the state they
//!   leave) and hand the effects to the task, in order.
//!
//! The machine only asks for a new socket after the previous one is closed
//! or given up on, so there is never more than one, whatever mix of timers,
//! `online` events, tab switches and "Retry now" clicks happens.
//!
//! A socket that stays silent longer than the server's heartbeats promise
//! is dead (a phone in a tunnel: no close ever comes), so it is given up on
//! and replaced. A heartbeat interval suits proxies, not people: a socket
//! quiet for a few seconds is asked (`ping`, if the server answers it) and
//! given up on a few seconds later without an answer, and the browser's
//! `offline` event gives it up at once.

mod machine;
mod task;

use std::cell::RefCell;
use std::rc::Rc;

use chat_shared::{ClientFrame, ServerFrame};
use futures_channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use leptos::prelude::*;

use machine::{Effect, Env, Input, Machine};
use task::Task;

/// The connection's events, in the order they happened.
pub(crate) type SocketEvents = UnboundedReceiver<SocketEvent>;

/// What the connection is doing, for the status shown to the user.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Status {
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
    pub(crate) fn name(self) -> &'static str {
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
pub(crate) enum SocketEvent {
    /// A socket opened: the chat (re)joins on it.
    Opened,
    /// A frame arrived.
    Frame(ServerFrame),
    /// The socket is gone (closed, failed or given up on): whatever the
    /// chat knew through it, who is online, who is typing, is stale.
    Closed,
    /// The server closed the socket because this device was revoked from
    /// its name (close code 4003): no reconnect follows.
    Revoked,
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
pub(crate) struct Connection {
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
    pub(crate) fn start(url: String) -> (Self, SocketEvents) {
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
        Task::spawn(url, machine, commands, tell, status);
        (connection, events)
    }

    /// Connects, and keeps a connection up from now on.
    pub(crate) fn open(&self) {
        self.apply(Input::Open);
    }

    /// Closes the connection with `code` and stops reconnecting.
    pub(crate) fn close(&self, code: u16, reason: &str) {
        self.apply(Input::Close {
            code,
            reason: reason.to_owned(),
        });
    }

    /// The server promised a heartbeat every `interval_ms`: from now on the
    /// open socket is given up on once `missed_heartbeats` of them in a row
    /// have not come. If it `answers_ping`, a quiet socket is also asked
    /// whether it is there, and given up on within seconds if not.
    /// Forgotten with the socket, since the next server may be an older
    /// one without heartbeats or pings.
    pub(crate) fn expect_heartbeats(
        &self,
        interval_ms: u64,
        missed_heartbeats: u32,
        answers_ping: bool,
    ) {
        self.apply(Input::ExpectHeartbeats {
            interval_ms,
            missed: missed_heartbeats,
            answers_ping,
        });
    }

    /// Gives up on the current socket at once, closing it with `code`, and
    /// opens a new one without waiting for the old one's close handshake
    /// (which a dead network never completes). Also used to enter another
    /// room, since a socket joins one room for its lifetime. Without a
    /// socket, tries now.
    pub(crate) fn reconnect(&self, code: u16, reason: &str) {
        self.apply(Input::Reconnect {
            code,
            reason: reason.to_owned(),
        });
    }

    /// The current state (tracked).
    pub(crate) fn status(&self) -> Status {
        self.status.get()
    }

    /// Whether frames can be sent right now (tracked).
    pub(crate) fn is_online(&self) -> bool {
        self.status.get() == Status::Online
    }

    /// Sends a frame if the socket is open. Returns false, and sends
    /// nothing, otherwise: callers must not pretend it was sent.
    pub(crate) fn send(&self, frame: &ClientFrame) -> bool {
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
    pub(crate) fn retry_now(&self) {
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

/// The WebSocket address on the host that served the page: `ws://` or
/// `wss://` to match `http://` or `https://`.
pub(crate) fn socket_url() -> String {
    let location = window().location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss:",
        _ => "ws:",
    };
    let host = location.host().unwrap_or_default();
    format!("{scheme}//{host}/ws")
}
