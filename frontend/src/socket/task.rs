//! The task that owns the socket and the timers: it feeds what they do
//! to the [`Machine`] and carries out the machine's effects, in order.

use std::cell::RefCell;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use chat_shared::close::{GOING_AWAY, REVOKED, SILENT};
use chat_shared::{ClientFrame, ServerFrame};
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender};
use futures_util::{FutureExt, Sink, SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State, WebSocketError};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;

use super::machine::{Effect, Env, Input, Machine};
use super::{show_status, Command, SocketEvent, Status};
use crate::time::now_ms;

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
pub(super) struct Task {
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
    /// Starts the task for the connection to `url`: it steps `machine`,
    /// takes [`Command`]s from the handles, tells the chat what happens
    /// and shows the machine's state in `status`.
    pub(super) fn spawn(
        url: String,
        machine: Rc<RefCell<Machine>>,
        commands: UnboundedReceiver<Command>,
        tell: UnboundedSender<SocketEvent>,
        status: RwSignal<Status>,
    ) {
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
    }

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
                // A revoked device must not come back: the close code
                // says so, and the socket is let go of at once.
                Wake::Received(Err(WebSocketError::ConnectionClose(event)))
                    if event.code == REVOKED =>
                {
                    self.step(Input::Revoked);
                    self.socket = None;
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
                Effect::TellRevoked => self.tell(SocketEvent::Revoked),
                Effect::Ping => self.send(ClientFrame::Ping.encode()),
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
            Ok(frame) => self.tell(SocketEvent::Frame(frame)),
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
