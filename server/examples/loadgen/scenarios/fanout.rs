//! Steady fan-out: 1,000 clients in one room, 200 messages per second in
//! all from 20 senders. What counts is how long a message takes to reach
//! everyone: p50 and p99 over every delivery.

use super::{join_one_room, measure_latency, note_closed, paced_senders, Run};
use crate::Report;
use std::time::Duration;

/// Runs the scenario.
pub(crate) async fn run(run: &Run, report: &Report) -> Result<(), String> {
    let clients = run.count(1000, 10);
    let senders = run.count(20, 2).min(clients);
    let rate = 200.0 * run.scale.min(1.0);
    let (mut crowd, tally) =
        join_one_room(run, report, "fanout", clients, Duration::from_secs(90)).await;
    let senders: Vec<_> = crowd
        .members
        .drain(..senders.min(crowd.members.len()))
        .collect();
    let period = Duration::from_secs_f64(senders.len() as f64 / rate.max(1.0));
    let pacing = paced_senders(senders, period);
    let warmup = Duration::from_secs(1);
    measure_latency(
        run,
        report,
        &tally,
        warmup,
        10.0,
        "latency",
        Some("cpu_percent"),
    )
    .await;
    drop(pacing);
    note_closed(report, "fanout", &tally);
    Ok(())
}
