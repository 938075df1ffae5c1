//! The join storm and what the joined clients then cost at rest: 10,000
//! clients join one room with 200 connections in flight (seconds until
//! the last welcome), then sit idle, reading as a browser would, while the
//! server's RSS is read; then each receives one 1 KiB message and the RSS
//! is read again. The storm's clients are the idle ones, so the run stays
//! within its time budget; each of them also received a long welcome.

use super::{join_one_room, note_closed, Run};
use crate::latency;
use crate::Report;
use std::time::Duration;

/// Runs the scenario.
pub(crate) async fn run(run: &Run, report: &Report) -> Result<(), String> {
    let clients = run.count(10_000, 10);
    let before = run.server.as_ref().and_then(|server| server.rss_kib());
    let (mut crowd, tally) =
        join_one_room(run, report, "joins", clients, Duration::from_secs(150)).await;
    let joined = crowd.members.len();
    if joined < clients {
        report.note(&format!(
            "joins: {joined} of {clients} joined within the deadline; the time is that of the last welcome"
        ));
    }
    report.result("join_s", crowd.elapsed.as_secs_f64());
    report.result("joined", joined as f64);
    // The notices of the last joins are still on their way to everyone.
    tally
        .settle(Duration::from_secs(1), Duration::from_secs(30))
        .await;
    let per_connection = |after: Option<u64>| match (before, after) {
        (Some(before), Some(after)) if joined > 0 => {
            Some(after.saturating_sub(before) as f64 / joined as f64)
        }
        _ => None,
    };
    if let Some(kib) = per_connection(run.server.as_ref().and_then(|s| s.rss_kib())) {
        report.result("idle_kib_per_connection", kib);
    }
    let Some(sender) = crowd.members.first_mut() else {
        return Err("joins: nobody joined".into());
    };
    let delivered = tally.delivered();
    sender
        .send(latency::stamped_text("one-kib", 1024), 0)
        .await?;
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    while tally.delivered() < delivered + joined as u64 && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reached = tally.delivered() - delivered;
    if reached < joined as u64 {
        report.note(&format!(
            "joins: the 1 KiB message reached {reached} of {joined} clients"
        ));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    if let Some(kib) = per_connection(run.server.as_ref().and_then(|s| s.rss_kib())) {
        report.result("after_message_kib_per_connection", kib);
    }
    note_closed(report, "joins", &tally);
    Ok(())
}
