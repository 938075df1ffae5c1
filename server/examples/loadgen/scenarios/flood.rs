//! Misbehaving clients beside normal ones: 500 clients in one room, 50 of
//! them sending two messages a second; the normal clients' p99 is measured
//! first alone, then with a client that floods (sends as fast as it can,
//! reading what comes back) and one that stops reading, both present
//! together. The server runs with its default rate limits for this one:
//! its defences are what is measured.

use super::{join_one_room, measure_latency, note_closed, paced_senders, Run};
use crate::client::{connect, join, name_of, Member, Tally};
use crate::Report;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Runs the scenario.
pub(crate) async fn run(run: &Run, report: &Report) -> Result<(), String> {
    let clients = run.count(500, 10);
    let senders = run.count(50, 2).min(clients);
    let (mut crowd, tally) =
        join_one_room(run, report, "flood", clients, Duration::from_secs(60)).await;
    let senders: Vec<_> = crowd
        .members
        .drain(..senders.min(crowd.members.len()))
        .collect();
    let pacing = paced_senders(senders, Duration::from_millis(500));
    let warmup = Duration::from_secs(1);
    measure_latency(run, report, &tally, warmup, 10.0, "alone", None).await;

    // The troublemakers: their own tally, so their fate stays apart.
    let theirs = Tally::new();
    let mut non_reader = connect(&run.target, clients + 1).await?;
    join(&mut non_reader, &name_of(clients + 1), None).await?;
    let mut flooder = connect(&run.target, clients).await?;
    join(&mut flooder, &name_of(clients), None).await?;
    let mut flooder = Member::start(flooder, clients, &name_of(clients), &theirs);
    let started = Instant::now();
    let flooding = tokio::spawn(async move {
        let text = "flood ".repeat(20);
        for seq in 0.. {
            if flooder.send(text.clone(), seq).await.is_err() {
                break;
            }
        }
        started.elapsed()
    });
    measure_latency(run, report, &tally, warmup, 10.0, "beside", None).await;
    drop(pacing);
    if flooding.is_finished() {
        if let Ok(after) = flooding.await {
            report.note(&format!(
                "flood: the server closed the flooder after {:.1} s",
                after.as_secs_f64()
            ));
        }
    } else {
        flooding.abort();
        report.note("flood: the flooder was still connected at the end");
    }
    let refused = theirs.errors.load(Ordering::Relaxed);
    if refused > 0 {
        report.note(&format!("flood: the flooder got {refused} error frames"));
    }
    drop(non_reader);
    note_closed(report, "flood (normal clients)", &tally);
    Ok(())
}
