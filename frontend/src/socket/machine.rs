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
    pub(super) fn deadline(&self) -> Option<f64> {
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
