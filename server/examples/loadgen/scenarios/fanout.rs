//! Steady fan-out: 1,000 clients in one room, 200 messages per second in
//! all from 20 senders. What counts is how long a message takes to reach
//! everyone: p50 and p99 over every delivery.

use super::{note_closed, note_failures, paced_senders, report_cpu, report_latency, Run};
use crate::client::{join_crowd, JoinPlan, Tally};
use crate::Report;
use std::time::Duration;

/// Runs the scenario.
pub async fn run(run: &Run, report: &Report) -> Result<(), String> {
    let clients = run.count(1000, 10);
    let senders = run.count(20, 2).min(clients);
    let rate = 200.0 * run.scale.min(1.0);
    let tally = Tally::new();
    let plan = JoinPlan {
        count: clients,
        first: 0,
        in_flight: 200,
        deadline: Duration::from_secs(90),
        room_of: |_| None,
    };
    let mut crowd = join_crowd(&run.target, &plan, &tally).await;
    note_failures(report, "fanout", &crowd);
    let senders: Vec<_> = crowd
        .members
        .drain(..senders.min(crowd.members.len()))
        .collect();
    let period = Duration::from_secs_f64(senders.len() as f64 / rate.max(1.0));
    let pacing = paced_senders(senders, period);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu = run.cpu_meter();
    tally.latencies.open();
    tokio::time::sleep(run.window(10.0)).await;
    report_latency(report, &tally, "latency");
    report_cpu(report, cpu, "cpu_percent");
    drop(pacing);
    note_closed(report, "fanout", &tally);
    Ok(())
}
