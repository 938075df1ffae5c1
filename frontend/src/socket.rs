//! The connection to the server: one WebSocket at a time, opened once the
//! user wants to join and kept up from then on, reconnecting with
//! exponential backoff and full jitter.
//!
//! A new socket is only ever created after the previous one has fired
//! `close` or been given up on (see [`Connection::reconnect`]), so there is
//! never more than one live socket, whatever mix of timers, `online`
//! events, tab switches and "Retry now" clicks happens.
//!
//! A socket that stays silent longer than the server's heartbeat promises
//! is dead (a phone in a tunnel: no close ever comes), so it is given up
//! on and replaced.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use chat_shared::{ClientFrame, ServerFrame};
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

use crate::time::now_ms;

/// The first retry waits up to this long; each failure doubles the ceiling.
const BACKOFF_BASE_MS: f64 = 500.0;
/// The longest a retry ever waits, so a long outage still recovers quickly.
const BACKOFF_CAP_MS: f64 = 30_000.0;
/// A socket stuck connecting (a silently dropped network) is given up after
/// this long, so the backoff loop keeps going.
const CONNECT_TIMEOUT_MS: u64 = 10_000;
/// Heartbeats that may go missing before a silent socket counts as dead:
/// the server's own idle timeout is three ping intervals too.
const MISSED_HEARTBEATS: f64 = 3.0;
/// How often the silence of the socket is checked.
const WATCHDOG_TICK_MS: u64 = 1_000;
/// The close code for a socket given up on as silent: not 1000, so the
/// server (should it still be listening) keeps the user's place for the
/// resume that follows.
const CLOSE_SILENT: u16 = 4000;
/// The close code for leaving on purpose (switching rooms): the server
/// lets the user leave at once.
pub const CLOSE_NORMAL: u16 = 1000;

/// The connection's events, in the order they happened.
pub type SocketEvents = futures_channel::mpsc::UnboundedReceiver<SocketEvent>;

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
pub enum SocketEvent {
    Opened,
    Frame(ServerFrame, String),
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

/// A handle to the connection service; cheap to copy into event handlers.
#[derive(Clone, Copy)]
pub struct Connection {
    status: RwSignal<Status>,
    inner: StoredValue<Rc<RefCell<Inner>>, LocalStorage>,
}

/// The socket and its handlers: JS holds these closures, so they must live
/// exactly as long as the socket they are attached to.
struct Live {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    connect_timeout: Option<TimeoutHandle>,
}

impl Live {
    /// Silences a socket that is done with: nothing it does later reaches
    /// the chat, and its connect timer no longer runs.
    fn detach(&mut self) {
        if let Some(timer) = self.connect_timeout.take() {
            timer.clear();
        }
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
    }
}

struct Inner {
    url: String,
    /// Whether a connection should be kept up: false until [`Connection::open`]
    /// and after [`Connection::close`]. The server closes sockets that do
    /// not join in time, so none is held open for a name form.
    wanted: bool,
    live: Option<Live>,
    /// A socket that has closed, kept until the next connect: dropping its
    /// closures from inside its own `close` handler is not allowed.
    retired: Option<Live>,
    /// Failed attempts since the last successful open.
    attempt: u32,
    /// When the open socket last received anything (ms since the epoch).
    last_heard_ms: f64,
    /// How long the open socket may stay silent: three heartbeats of the
    /// server it talks to; `None` for a server that promised none.
    silence_limit_ms: Option<f64>,
    retry_timer: Option<TimeoutHandle>,
    on_event: Rc<dyn Fn(SocketEvent)>,
}

impl Connection {
    /// The connection to `url`, idle until [`Connection::open`]. Every frame
    /// and change arrives, in order, on the returned [`SocketEvents`].
    pub fn start(url: String) -> (Self, SocketEvents) {
        let (sender, events) = futures_channel::mpsc::unbounded();
        // The receiver lives as long as the page's chat; a send after it is
        // gone has nobody to tell.
        let on_event = move |event| {
            let _ = sender.unbounded_send(event);
        };
        let inner = Rc::new(RefCell::new(Inner {
            url,
            wanted: false,
            live: None,
            retired: None,
            attempt: 0,
            last_heard_ms: 0.0,
            silence_limit_ms: None,
            retry_timer: None,
            on_event: Rc::new(on_event),
        }));
        let connection = Self {
            status: RwSignal::new(Status::Idle),
            inner: StoredValue::new_local(inner),
        };
        connection.watch_browser();
        connection.watch_silence();
        (connection, events)
    }

    /// Connects, and keeps a connection up from now on.
    pub fn open(&self) {
        let inner = self.inner.get_value();
        if std::mem::replace(&mut inner.borrow_mut().wanted, true) {
            return;
        }
        self.status.set(Status::Connecting);
        self.connect();
    }

    /// Closes the connection with `code` and stops reconnecting.
    pub fn close(&self, code: u16, reason: &str) {
        {
            let inner = self.inner.get_value();
            let mut state = inner.borrow_mut();
            state.wanted = false;
            if let Some(timer) = state.retry_timer.take() {
                timer.clear();
            }
        }
        self.abandon(code, reason);
        self.status.set(Status::Idle);
    }

    /// The server promised a heartbeat every `interval_ms`: from now on a
    /// socket silent for a few of those is given up on. Forgotten with the
    /// socket, since the next server may be an older one without heartbeats.
    pub fn expect_heartbeats(&self, interval_ms: u64) {
        let inner = self.inner.get_value();
        inner.borrow_mut().silence_limit_ms = Some(interval_ms as f64 * MISSED_HEARTBEATS);
    }

    /// Gives up on the current socket at once, closing it with `code`, and
    /// opens a new one without waiting for the old one's close handshake
    /// (which a dead network never completes). Also used to enter another
    /// room, since a socket joins one room for its lifetime.
    pub fn reconnect(&self, code: u16, reason: &str) {
        if self.abandon(code, reason) {
            self.status.set(Status::Connecting);
            self.connect();
        } else {
            self.retry_now();
        }
    }

    /// Closes the socket, if there is one, without waiting for its close
    /// handshake, and tells the chat it is gone. Returns whether there was
    /// one.
    fn abandon(&self, code: u16, reason: &str) -> bool {
        let on_event = {
            let inner = self.inner.get_value();
            let mut state = inner.borrow_mut();
            let Some(mut live) = state.live.take() else {
                return false;
            };
            live.detach();
            let _ = live.socket.close_with_code_and_reason(code, reason);
            state.silence_limit_ms = None;
            state.attempt = 0;
            // Not inside the socket's own handler: the closures may go now.
            drop(live);
            state.on_event.clone()
        };
        on_event(SocketEvent::Closed);
        true
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
        let inner = self.inner.get_value();
        let inner = inner.borrow();
        match &inner.live {
            Some(live) if live.socket.ready_state() == WebSocket::OPEN => {
                live.socket.send_with_str(&frame.encode()).is_ok()
            }
            _ => false,
        }
    }

    /// Skips the wait and tries now, unless a socket is already open or
    /// opening (one socket at a time).
    pub fn retry_now(&self) {
        let inner = self.inner.get_value();
        let state = inner.borrow();
        if state.live.is_some() || !state.wanted {
            return;
        }
        drop(state);
        self.connect();
    }

    fn connect(&self) {
        let inner = self.inner.get_value();
        let mut state = inner.borrow_mut();
        if state.live.is_some() || !state.wanted {
            return;
        }
        if let Some(timer) = state.retry_timer.take() {
            timer.clear();
        }
        state.retired = None;
        if state.attempt > 0 {
            self.status.set(Status::Retrying);
        }
        let socket = match WebSocket::new(&state.url) {
            Ok(socket) => socket,
            Err(error) => {
                leptos::logging::warn!("cannot open WebSocket: {error:?}");
                drop(state);
                self.schedule_retry();
                return;
            }
        };
        let this = *self;
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_| this.opened());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                this.received(text);
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_| this.closed());
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let stuck = socket.clone();
        let connect_timeout = set_timeout_with_handle(
            move || {
                if stuck.ready_state() == WebSocket::CONNECTING {
                    // The browser fires `close` after this, which retries.
                    let _ = stuck.close();
                }
            },
            Duration::from_millis(CONNECT_TIMEOUT_MS),
        )
        .ok();
        state.live = Some(Live {
            socket,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            connect_timeout,
        });
    }

    fn opened(&self) {
        let on_event = {
            let inner = self.inner.get_value();
            let mut state = inner.borrow_mut();
            state.attempt = 0;
            state.last_heard_ms = now_ms();
            if let Some(timer) = state.live.as_mut().and_then(|l| l.connect_timeout.take()) {
                timer.clear();
            }
            state.on_event.clone()
        };
        self.status.set(Status::Online);
        on_event(SocketEvent::Opened);
    }

    fn received(&self, text: String) {
        let on_event = {
            let inner = self.inner.get_value();
            let mut state = inner.borrow_mut();
            state.last_heard_ms = now_ms();
            state.on_event.clone()
        };
        match ServerFrame::decode(&text) {
            Ok(frame) => on_event(SocketEvent::Frame(frame, text)),
            // Ignored like an unknown frame: a newer or buggy server must
            // not break the page.
            Err(error) => leptos::logging::warn!("ignoring a frame I cannot read: {error}"),
        }
    }

    fn closed(&self) {
        let on_event = {
            let inner = self.inner.get_value();
            let mut state = inner.borrow_mut();
            if let Some(mut live) = state.live.take() {
                live.detach();
                state.retired = Some(live);
            }
            state.silence_limit_ms = None;
            state.on_event.clone()
        };
        on_event(SocketEvent::Closed);
        if self.inner.get_value().borrow().wanted {
            self.schedule_retry();
        } else {
            self.status.set(Status::Idle);
        }
    }

    fn schedule_retry(&self) {
        let inner = self.inner.get_value();
        let mut state = inner.borrow_mut();
        let delay = next_backoff_delay_ms(state.attempt, js_sys::Math::random());
        state.attempt = state.attempt.saturating_add(1);
        let this = *self;
        state.retry_timer =
            set_timeout_with_handle(move || this.connect(), Duration::from_millis(delay as u64))
                .ok();
        self.status.set(if browser_is_online() {
            Status::Waiting {
                retry_at: now_ms() + delay,
            }
        } else {
            Status::Offline
        });
    }

    /// Retries at once when the network or the tab comes back: waiting out
    /// a 30 s backoff after the user reopens the laptop feels broken.
    fn watch_browser(&self) {
        let this = *self;
        let online = window_event_listener(leptos::ev::online, move |_| this.retry_now());
        let offline = window_event_listener(leptos::ev::offline, move |_| {
            if this.inner.get_value().borrow().wanted && !this.is_open_or_opening() {
                this.status.set(Status::Offline);
            }
        });
        let visible = window_event_listener(leptos::ev::visibilitychange, move |_| {
            if document().visibility_state() == web_sys::VisibilityState::Visible {
                this.retry_now();
            }
        });
        // The connection lives as long as the page; so do these listeners.
        std::mem::forget((online, offline, visible));
    }

    /// Checks every second whether the open socket has outlived its
    /// silence limit.
    fn watch_silence(&self) {
        let this = *self;
        let check = move || {
            let silent_too_long = {
                let inner = this.inner.get_value();
                let state = inner.borrow();
                let open = state
                    .live
                    .as_ref()
                    .is_some_and(|live| live.socket.ready_state() == WebSocket::OPEN);
                open && state
                    .silence_limit_ms
                    .is_some_and(|limit| now_ms() - state.last_heard_ms > limit)
            };
            if silent_too_long {
                leptos::logging::warn!("the connection went silent; reconnecting");
                this.reconnect(CLOSE_SILENT, "silent connection");
            }
        };
        // The watchdog lives as long as the page.
        let _ = set_interval_with_handle(check, Duration::from_millis(WATCHDOG_TICK_MS));
    }

    fn is_open_or_opening(&self) -> bool {
        self.inner.get_value().borrow().live.is_some()
    }
}

fn browser_is_online() -> bool {
    window().navigator().on_line()
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
