//! The connection rules of [`super::Machine`], step by step, on the host.

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

/// A machine opening its first socket since `now_ms`.
fn connecting_at(now_ms: f64) -> Machine {
    let mut machine = Machine::default();
    machine.step(Input::Open, at(now_ms));
    machine
}

/// A machine with an open socket, opened at `now_ms`, on a server that
/// promised heartbeats every 20 s (three may go missing) and answers
/// pings.
fn pinging_at(now_ms: f64) -> Machine {
    let mut machine = open_at(now_ms);
    machine.step(
        Input::ExpectHeartbeats {
            interval_ms: 20_000,
            missed: 3,
            answers_ping: true,
        },
        at(now_ms),
    );
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
}

#[test]
fn the_offline_event_gives_up_the_open_socket_at_once_and_online_retries_at_once() {
    for mut machine in [open_at(0.0), connecting_at(0.0)] {
        // The event comes before `navigator.onLine` need agree.
        assert_eq!(
            machine.step(Input::WentOffline, at(1_000.0)),
            [close(SILENT, "offline"), Effect::TellClosed]
        );
        assert_eq!(machine.status(), Status::Offline);
        assert!(!machine.is_open());
        // The retry still runs, in case the browser is wrong.
        assert_eq!(machine.deadline(), Some(1_000.0 + 250.0));
        // `online`.
        assert_eq!(machine.step(Input::Nudge, at(1_100.0)), [Effect::Connect]);
    }
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
            answers_ping: false,
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
    // A lost connection: the user sees "Reconnecting…".
    assert_eq!(machine.status(), Status::Retrying);
    // The promise went with the socket: the next one may be an older
    // server's, without heartbeats.
    machine.step(Input::Opened, at(5_100.0));
    assert_eq!(machine.deadline(), None);
    assert_eq!(machine.step(Input::Tick, at(60_000.0)), []);
}

#[test]
fn a_quiet_socket_is_pinged_after_four_seconds_and_given_up_four_seconds_later() {
    let mut machine = pinging_at(0.0);
    // The ping comes long before the heartbeats' one-minute limit.
    assert_eq!(machine.deadline(), Some(4_000.0));
    assert_eq!(machine.step(Input::Tick, at(3_999.0)), []);
    assert_eq!(machine.step(Input::Tick, at(4_000.0)), [Effect::Ping]);
    assert_eq!(machine.status(), Status::Online);
    assert_eq!(machine.deadline(), Some(8_000.0));
    // No second ping while one is out.
    assert_eq!(machine.step(Input::Tick, at(6_000.0)), []);
    assert_eq!(
        machine.step(Input::Tick, at(8_000.0)),
        [
            close(SILENT, "no answer to ping"),
            Effect::TellClosed,
            Effect::Connect
        ]
    );
    assert_eq!(machine.status(), Status::Retrying);
}

#[test]
fn anything_heard_answers_a_ping_and_a_chatty_socket_is_never_pinged() {
    let mut machine = pinging_at(0.0);
    machine.step(Input::Tick, at(4_000.0));
    // The heartbeat that answers it, or any other frame.
    assert_eq!(machine.step(Input::Heard, at(4_050.0)), []);
    assert_eq!(machine.deadline(), Some(8_050.0));
    assert_eq!(machine.step(Input::Tick, at(8_000.0)), []);
    assert_eq!(machine.status(), Status::Online);
    // Frames every few seconds: nothing to ask.
    for second in [7, 10, 13, 16] {
        machine.step(Input::Heard, at(f64::from(second) * 1_000.0));
        assert_eq!(
            machine.step(Input::Tick, at(f64::from(second) * 1_000.0 + 3_000.0)),
            []
        );
    }
}

#[test]
fn a_server_that_does_not_answer_pings_is_never_pinged() {
    let mut machine = open_at(0.0);
    machine.step(
        Input::ExpectHeartbeats {
            interval_ms: 20_000,
            missed: 3,
            answers_ping: false,
        },
        at(0.0),
    );
    // Only the heartbeats' limit.
    assert_eq!(machine.deadline(), Some(60_000.0));
    assert_eq!(machine.step(Input::Tick, at(30_000.0)), []);
    // And before the welcome, nothing is known: no pings either.
    let machine = open_at(0.0);
    assert_eq!(machine.deadline(), None);
}

#[test]
fn the_ping_promise_goes_with_the_socket() {
    let mut machine = pinging_at(0.0);
    machine.step(Input::Ended, at(1_000.0));
    machine.step(Input::Nudge, at(1_100.0));
    machine.step(Input::Opened, at(1_200.0));
    // The next server may be an older one.
    assert_eq!(machine.deadline(), None);
}

#[test]
fn heartbeats_only_count_for_an_open_socket() {
    let mut machine = waiting_at(0.0);
    machine.step(
        Input::ExpectHeartbeats {
            interval_ms: 1_000,
            missed: 3,
            answers_ping: false,
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

#[test]
fn a_revoked_device_does_not_reconnect() {
    let mut machine = open_at(0.0);
    assert_eq!(
        machine.step(Input::Revoked, at(10.0)),
        [Effect::Release, Effect::TellRevoked]
    );
    assert_eq!(machine.status(), Status::Idle);
    assert_eq!(machine.deadline(), None, "no retry is planned");
    // The socket's end that follows changes nothing.
    assert_eq!(machine.step(Input::Ended, at(11.0)), []);
    assert_eq!(machine.step(Input::Nudge, at(12.0)), []);
    // A new join opens again.
    assert_eq!(machine.step(Input::Open, at(13.0)), [Effect::Connect]);
}
