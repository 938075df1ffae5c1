//! Many rooms: 50,000 connections joined over 50 rooms, each room getting
//! one message per second; p99 over every delivery. If this process's
//! descriptor limit cannot hold them all, it says so and runs with as
//! many as fit.

use super::{measure_latency, note_closed, note_failures, paced_senders, Run};
use crate::client::{join_crowd, JoinPlan, Tally};
use crate::Report;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The rooms the connections are spread over.
const ROOMS: usize = 50;

/// The room of client `index`: round robin, so every room fills alike.
fn room_of(index: usize) -> Option<String> {
    Some(format!("bench{}", index % ROOMS))
}

/// Runs the scenario.
pub(crate) async fn run(run: &Run, report: &Report) -> Result<(), String> {
    let wanted = run.count(50_000, ROOMS * 2);
    let clients = run.fitting(report, "rooms", wanted, "connections");
    let tally = Tally::new();
    let plan = JoinPlan {
        count: clients,
        first: 0,
        in_flight: 200,
        deadline: Duration::from_secs(150),
        room_of,
        key_of: |_| None,
    };
    let mut crowd = join_crowd(&run.target, &plan, &tally).await;
    note_failures(report, "rooms", &crowd);
    report.result("join_s", crowd.elapsed.as_secs_f64());
    // Clients joined round robin, so the first ROOMS joined are almost
    // always one per room; pick one sender per room to be sure.
    let mut senders = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut index = 0;
    while index < crowd.members.len() && senders.len() < ROOMS {
        let room = crowd.members[index]
            .name
            .trim_start_matches('u')
            .parse::<usize>()
            .map(|n| n % ROOMS);
        if room.is_ok_and(|room| seen.insert(room)) {
            senders.push(crowd.members.swap_remove(index));
        } else {
            index += 1;
        }
    }
    let joined = crowd.members.len() + senders.len();
    let pacing = paced_senders(senders, Duration::from_secs(1));
    let warmup = Duration::from_secs(2);
    measure_latency(
        run,
        report,
        &tally,
        warmup,
        15.0,
        "latency",
        Some("cpu_percent"),
    )
    .await;
    drop(pacing);
    let held = joined.saturating_sub(tally.closed.load(Ordering::Relaxed));
    report.result("held", held as f64);
    note_closed(report, "rooms", &tally);
    Ok(())
}
