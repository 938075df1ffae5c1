//! The connection's rules as plain logic, tested on the host: its one
//! state ([`Phase`]) and, for each thing that happens ([`Input`]), the
//! next state and what to do about it ([`Effect`]s).

use chat_shared::close::SILENT;
use leptos::prelude::*;

use super::Status;
use crate::time::now_ms;

/// The first retry waits up to this long; each failure doubles the ceiling.
const BACKOFF_BASE_MS: f64 = 500.0;
/// The longest a retry ever waits, so a long outage still recovers quickly.
const BACKOFF_CAP_MS: f64 = 30_000.0;
/// A socket stuck connecting (a silently dropped network) is given up after
/// this long, so the backoff loop keeps going.
const CONNECT_TIMEOUT_MS: f64 = 10_000.0;
/// An open socket that has heard nothing for this long asks the server
/// whether it is still there (`ping`), if the server answers pings.
const PING_AFTER_MS: f64 = 4_000.0;
/// A `ping` unanswered (nothing at all heard) for this long means the
/// network is gone: a person notices within seconds, not a minute.
const PING_ANSWER_MS: f64 = 4_000.0;

/// The ceiling of the random delay before retry number `attempt` (from 0):
/// 0.5 s, 1 s, 2 s, ... up to 30 s.
pub(crate) fn backoff_ceiling_ms(attempt: u32) -> f64 {
    let factor = 2f64.powi(attempt.min(16) as i32);
    (BACKOFF_BASE_MS * factor).min(BACKOFF_CAP_MS)
}

/// "Full jitter": a uniformly random delay between zero and the ceiling, so
/// a server restart is not met by every client at the same instant.
/// `random` is in `[0, 1)`.
pub(crate) fn next_backoff_delay_ms(attempt: u32, random: f64) -> f64 {
    backoff_ceiling_ms(attempt) * random.clamp(0.0, 1.0)
}

/// The connection's state: the one place it is kept, so no combination of
/// flags can say two things at once. Times are milliseconds since the epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Phase {
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
        /// How the socket is checked when it goes quiet.
        ping: Ping,
    },
    /// No socket; the next one is opened at `retry_at`, after `attempt`
    /// failures.
    Waiting { attempt: u32, retry_at: f64 },
    /// Like `Waiting`, but the browser says there is no network, which the
    /// user is told; its `online` event retries at once.
    Offline { attempt: u32, retry_at: f64 },
}

/// Whether and how an open socket is asked if it is still there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Ping {
    /// The server has not said it answers `ping` (not yet, or an older
    /// server): only its heartbeats tell.
    Unsupported,
    /// Nothing is asked; a `ping` goes once the socket is quiet for
    /// [`PING_AFTER_MS`].
    Idle,
    /// A `ping` went at `sent_ms` and nothing has been heard since.
    Sent { sent_ms: f64 },
}

/// Something that happened to the connection.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Input {
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
    /// them may go missing before the socket counts as dead. With
    /// `answers_ping`, a quiet socket is also checked with `ping`.
    ExpectHeartbeats {
        interval_ms: u64,
        missed: u32,
        answers_ping: bool,
    },
    /// The socket opened.
    Opened,
    /// The socket received something.
    Heard,
    /// The socket closed or failed.
    Ended,
    /// The server closed the socket for good: this device was revoked
    /// (close code 4003). Reconnecting would only be refused again.
    Revoked,
    /// The time [`Machine::deadline`] named has come (or a little before).
    Tick,
}

/// What the browser says at the moment of a step, read by the caller so the
/// machine stays pure.
#[derive(Clone, Copy, Debug)]
pub(super) struct Env {
    now_ms: f64,
    /// Uniform in `[0, 1)`, for the backoff jitter.
    random: f64,
    /// `navigator.onLine`.
    online: bool,
}

impl Env {
    /// The browser's answers right now.
    pub(super) fn now() -> Self {
        Self {
            now_ms: now_ms(),
            random: js_sys::Math::random(),
            online: window().navigator().on_line(),
        }
    }
}

/// What a step asks for, to be carried out in order.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Effect {
    /// Open a socket (there is none at this point).
    Connect,
    /// Close the socket with `code` and let it go at once: a dead network
    /// never completes the close handshake, so it is not waited for.
    Close { code: u16, reason: String },
    /// Let go of the socket, which has already closed.
    Release,
    /// Tell the chat [`super::SocketEvent::Opened`].
    TellOpened,
    /// Tell the chat [`super::SocketEvent::Closed`].
    TellClosed,
    /// Tell the chat [`super::SocketEvent::Revoked`].
    TellRevoked,
    /// Send `ping` on the open socket.
    Ping,
}

/// The connection's rules: for each [`Input`], the next [`Phase`] and the
/// [`Effect`]s that get there.
#[derive(Debug)]
pub(super) struct Machine {
    phase: Phase,
}

impl Default for Machine {
    fn default() -> Self {
        Self { phase: Phase::Idle }
    }
}

impl Machine {
    /// Moves on from `input`, returning what to do about it.
    pub(super) fn step(&mut self, input: Input, env: Env) -> Vec<Effect> {
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
                self.replace(code, reason, 0, env)
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
            // The browser knows the network is gone: waiting for the socket
            // to notice would leave "Online" up for seconds at best. Its
            // `online` event (a nudge) tries again at once.
            (Connecting { .. } | Open { .. }, Input::WentOffline) => {
                self.retry_later(
                    0,
                    Env {
                        online: false,
                        ..env
                    },
                );
                vec![
                    Effect::Close {
                        code: SILENT,
                        reason: "offline".to_owned(),
                    },
                    Effect::TellClosed,
                ]
            }
            (
                Open { last_heard_ms, .. },
                Input::ExpectHeartbeats {
                    interval_ms,
                    missed,
                    answers_ping,
                },
            ) => {
                self.phase = Open {
                    last_heard_ms,
                    silence_limit_ms: Some(interval_ms as f64 * f64::from(missed.max(1))),
                    ping: if answers_ping {
                        Ping::Idle
                    } else {
                        Ping::Unsupported
                    },
                };
                Vec::new()
            }
            (Connecting { .. }, Input::Opened) => {
                self.phase = Open {
                    last_heard_ms: now,
                    silence_limit_ms: None,
                    ping: Ping::Unsupported,
                };
                vec![Effect::TellOpened]
            }
            (
                Open {
                    silence_limit_ms,
                    ping,
                    ..
                },
                Input::Heard,
            ) => {
                self.phase = Open {
                    last_heard_ms: now,
                    silence_limit_ms,
                    // Anything heard answers a ping.
                    ping: match ping {
                        Ping::Sent { .. } => Ping::Idle,
                        other => other,
                    },
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
            // Revoked: no retry; a new join (under any name) opens again.
            (Connecting { .. } | Open { .. }, Input::Revoked) => {
                self.phase = Idle;
                vec![Effect::Release, Effect::TellRevoked]
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
                    ..
                },
                Input::Tick,
            ) if now - last_heard_ms >= limit => {
                self.replace(SILENT, "silent connection".to_owned(), 1, env)
            }
            (
                Open {
                    ping: Ping::Sent { sent_ms },
                    ..
                },
                Input::Tick,
            ) if now - sent_ms >= PING_ANSWER_MS => {
                self.replace(SILENT, "no answer to ping".to_owned(), 1, env)
            }
            (
                Open {
                    last_heard_ms,
                    silence_limit_ms,
                    ping: Ping::Idle,
                },
                Input::Tick,
            ) if now - last_heard_ms >= PING_AFTER_MS => {
                self.phase = Open {
                    last_heard_ms,
                    silence_limit_ms,
                    ping: Ping::Sent { sent_ms: now },
                };
                vec![Effect::Ping]
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

    /// Gives up on the socket and opens the next one at once, after
    /// `failures` (1 for a socket that went silent: the user sees
    /// "Reconnecting…"; 0 for a room switch).
    fn replace(&mut self, code: u16, reason: String, failures: u32, env: Env) -> Vec<Effect> {
        let mut effects = vec![Effect::Close { code, reason }, Effect::TellClosed];
        effects.extend(self.connect(failures, env));
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
    pub(super) fn deadline(&self) -> Option<f64> {
        match self.phase {
            Phase::Idle => None,
            Phase::Connecting { since_ms, .. } => Some(since_ms + CONNECT_TIMEOUT_MS),
            Phase::Open {
                last_heard_ms,
                silence_limit_ms,
                ping,
            } => {
                let silence = silence_limit_ms.map(|limit| last_heard_ms + limit);
                let check = match ping {
                    Ping::Unsupported => None,
                    Ping::Idle => Some(last_heard_ms + PING_AFTER_MS),
                    Ping::Sent { sent_ms } => Some(sent_ms + PING_ANSWER_MS),
                };
                match (silence, check) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            Phase::Waiting { retry_at, .. } | Phase::Offline { retry_at, .. } => Some(retry_at),
        }
    }

    /// Whether a frame can go out now.
    pub(super) fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
    }

    /// The state as the user sees it.
    pub(super) fn status(&self) -> Status {
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

#[cfg(test)]
mod tests;
