//! Activity in a big room (issue 23): a room of 10,000 members, most of
//! them elsewhere. Every member joins "big" with its own author key (so it
//! holds its name and "big" becomes one of its rooms); all but 20 then
//! leave it and sit in "lobby", where the server tells them of "big"'s
//! news with `activity` frames, at most about once a second each. One of
//! the 20 left in "big" posts 50 messages a second.
//!
//! Two windows on the same server, the same connections and the same
//! sender: first with activity; then without, after every member in
//! "lobby" has sent `leave_room` "big", so that "big" is no longer one of
//! their rooms and they hear nothing of it. Only the activity differs
//! between the windows: its frames, and the server CPU time they cost.

use super::{note_closed, note_failures, paced_senders, report_latency, Run};
use crate::client::{connect, join_as, join_crowd, name_of, JoinPlan, Member, Tally, Target};
use crate::server_stats::Server;
use crate::Report;
use chat_shared::ClientFrame;
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

/// The room whose members are mostly elsewhere.
const BIG: &str = "big";
/// Where the members elsewhere sit.
const LOBBY: &str = "lobby";
/// Members that stay in "big"; client 0 among them is the sender.
const STAYERS: usize = 20;
/// Messages a second posted in "big": well above one a second, so that
/// coalescing shows.
const RATE: f64 = 50.0;
/// Connections being opened or joined at once.
const IN_FLIGHT: usize = 200;
/// How long joining may take: every join of a held name writes to the
/// store.
const JOIN_DEADLINE: Duration = Duration::from_secs(300);
/// Before each window: the sender and the once-a-second tick at steady
/// state, and the answers to the last frames sent.
const WARMUP: Duration = Duration::from_secs(2);

/// Client `index`'s author key: its own, so each member is a person.
fn key_of(index: usize) -> Option<String> {
    Some(format!("bench-author-key-{index:08}"))
}

/// Where client `index` sits while measuring.
fn room_of(index: usize) -> Option<String> {
    Some(if index < STAYERS { BIG } else { LOBBY }.to_owned())
}

/// What one window measured.
struct Window {
    /// The server's CPU time over the window, if its pid is known.
    cpu_seconds: Option<f64>,
    /// `activity` frames received by the members in "lobby".
    frames: u64,
    /// The window's length.
    seconds: f64,
}

/// Runs the scenario.
pub(crate) async fn run(run: &Run, report: &Report) -> Result<(), String> {
    let wanted = run.count(10_000, STAYERS * 2);
    let members = run.fitting(report, "activity", wanted, "members");
    let started = Instant::now();
    visit_big(&run.target, report, members).await;
    let tally = Tally::new();
    let plan = JoinPlan {
        count: members,
        first: 0,
        in_flight: IN_FLIGHT,
        deadline: JOIN_DEADLINE,
        room_of,
        key_of,
    };
    let mut crowd = join_crowd(&run.target, &plan, &tally).await;
    note_failures(report, "activity", &crowd);
    report.result("join_s", started.elapsed().as_secs_f64());
    let elsewhere = crowd
        .members
        .iter()
        .filter(|member| member.index >= STAYERS)
        .count();
    report.result("members", members as f64);
    report.result("elsewhere", elsewhere as f64);
    if crowd.members.first().map(|member| member.index) != Some(0) {
        return Err("activity: the sender (client 0) did not join".into());
    }
    let sender = crowd.members.remove(0);
    let pacing = paced_senders(vec![sender], Duration::from_secs_f64(1.0 / RATE));
    let with = measure(run, report, &tally, "with", elsewhere).await;
    let (asked, left) = leave_big(&mut crowd.members, &tally).await;
    if left < asked {
        report.note(&format!(
            "activity: {left} of {asked} leave_room \"big\" were answered"
        ));
    }
    let without = measure(run, report, &tally, "without", elsewhere).await;
    drop(pacing);
    if let (Some(with_cpu), Some(without_cpu)) = (with.cpu_seconds, without.cpu_seconds) {
        if without_cpu > 0.0 {
            report.result("cpu_ratio", with_cpu / without_cpu);
        }
        let extra = with_cpu - without_cpu;
        report.result("activity_cpu_ms_per_s", extra / with.seconds * 1000.0);
        if with.frames > 0 {
            report.result("activity_us_per_frame", extra / with.frames as f64 * 1e6);
        }
    }
    if without.frames > 0 {
        report.note(&format!(
            "activity: {} activity frames arrived after leave_room",
            without.frames
        ));
    }
    note_closed(report, "activity", &tally);
    Ok(())
}

/// Members `STAYERS..members` each join "big" with their key and leave
/// again, `IN_FLIGHT` at a time: "big" is then one of their rooms, and
/// nobody but the stayers will sit in it.
async fn visit_big(target: &Target, report: &Report, members: usize) {
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut visits = JoinSet::new();
    for index in STAYERS..members {
        let (gate, target) = (Arc::clone(&gate), target.clone());
        visits.spawn(async move {
            let _permit = gate.acquire_owned().await.map_err(|e| e.to_string())?;
            let mut socket = connect(&target, index).await?;
            join_as(
                &mut socket,
                &name_of(index),
                Some(BIG.into()),
                key_of(index),
            )
            .await?;
            socket
                .close(None)
                .await
                .map_err(|e| format!("close: {e}"))?;
            // Until the server's side of the close: it no longer holds
            // the connection when the permit goes to the next one.
            while let Some(Ok(_)) = socket.next().await {}
            Ok::<(), String>(())
        });
    }
    let deadline = tokio::time::Instant::now() + JOIN_DEADLINE;
    let (mut failed, mut first_error) = (0, None);
    loop {
        match tokio::time::timeout_at(deadline, visits.join_next()).await {
            Ok(Some(Ok(Ok(())))) => {}
            Ok(Some(Ok(Err(error)))) => {
                failed += 1;
                first_error.get_or_insert(error);
            }
            Ok(Some(Err(error))) => {
                failed += 1;
                first_error.get_or_insert(error.to_string());
            }
            Ok(None) => break,
            Err(_) => {
                failed += visits.len();
                first_error.get_or_insert(format!("not done after {JOIN_DEADLINE:?}"));
                visits.abort_all();
                break;
            }
        }
    }
    report.result("visit_s", started.elapsed().as_secs_f64());
    if failed > 0 {
        report.note(&format!(
            "activity: {failed} members failed to visit \"big\" (first: {})",
            first_error.as_deref().unwrap_or("?")
        ));
    }
}

/// After a warm-up, measures one window of 10 s (scaled) and reports its
/// figures under `phase`: activity frames in all, per second and per
/// member elsewhere per second, the server's CPU time and share (and
/// this process's share), and the latency of deliveries in "big".
async fn measure(
    run: &Run,
    report: &Report,
    tally: &Tally,
    phase: &str,
    elsewhere: usize,
) -> Window {
    tokio::time::sleep(WARMUP).await;
    let cpu = run.cpu_meter();
    // This process reads the activity frames on the same cores as the
    // server: its own CPU tells how much of the latency may be its own.
    let own = Server::new(vec![std::process::id()]).cpu_meter();
    let frames_before = tally.activity.load(Ordering::Relaxed);
    let echoed_before = tally.echoed.load(Ordering::Relaxed);
    let started = Instant::now();
    tally.latencies.open();
    tokio::time::sleep(run.window(10.0)).await;
    report_latency(report, tally, &format!("{phase}_latency"));
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = cpu.as_ref().and_then(|meter| meter.seconds());
    let percent = cpu.as_ref().and_then(|meter| meter.percent());
    let frames = tally.activity.load(Ordering::Relaxed) - frames_before;
    let posted = tally.echoed.load(Ordering::Relaxed) - echoed_before;
    report.result(&format!("{phase}_messages_per_s"), posted as f64 / seconds);
    report.result(&format!("{phase}_activity_frames"), frames as f64);
    report.result(&format!("{phase}_activity_per_s"), frames as f64 / seconds);
    report.result(
        &format!("{phase}_activity_per_member_per_s"),
        frames as f64 / elsewhere.max(1) as f64 / seconds,
    );
    if let Some(cpu_seconds) = cpu_seconds {
        report.result(&format!("{phase}_cpu_s"), cpu_seconds);
    }
    if let Some(percent) = percent {
        report.result(&format!("{phase}_cpu_percent"), percent);
    }
    if let Some(percent) = own.percent() {
        report.result(&format!("{phase}_loadgen_cpu_percent"), percent);
    }
    Window {
        cpu_seconds,
        frames,
        seconds,
    }
}

/// Every member in "lobby" sends `leave_room` "big"; waits (at most 60 s)
/// for the answers. How many were asked, and how many answered.
async fn leave_big(members: &mut [Member], tally: &Tally) -> (u64, u64) {
    let before = tally.rooms_left.load(Ordering::Relaxed);
    let frame = ClientFrame::LeaveRoom { room: BIG.into() }.encode();
    let mut asked = 0;
    for member in members.iter_mut().filter(|member| member.index >= STAYERS) {
        if member.sink.send(Message::text(frame.clone())).await.is_ok() {
            asked += 1;
        }
    }
    let until = Instant::now() + Duration::from_secs(60);
    let answered = || tally.rooms_left.load(Ordering::Relaxed) - before;
    while answered() < asked && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (asked, answered())
}
