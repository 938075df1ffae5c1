//! Saturated fan-out: 200 clients in one room, 20 of them sending as fast
//! as their own echoes return (at most 32 unconfirmed each). What counts
//! is deliveries per second: every message reaching every client; and
//! messages committed per second: the senders' own echoes.

use super::{join_one_room, note_closed, report_cpu, Run};
use crate::latency;
use crate::Report;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Own messages a sender may have in flight: enough to keep the server
/// busy, few enough that it never has to shed a slow reader.
const WINDOW: usize = 32;

/// Runs the scenario.
pub(crate) async fn run(run: &Run, report: &Report) -> Result<(), String> {
    let clients = run.count(200, 4);
    let senders = run.count(20, 2).min(clients);
    let (mut crowd, tally) =
        join_one_room(run, report, "saturate", clients, Duration::from_secs(60)).await;
    if crowd.members.len() < 2 {
        return Err("saturate: fewer than two clients joined".into());
    }
    let mut tasks = JoinSet::new();
    for mut member in crowd.members.drain(..senders.min(crowd.members.len())) {
        member.echoes.add_permits(WINDOW);
        tasks.spawn(async move {
            for seq in 0.. {
                let Ok(permit) = member.echoes.acquire().await else {
                    return;
                };
                permit.forget();
                let text = latency::stamped_text(&member.name, 48);
                if member.send(text, seq).await.is_err() {
                    return;
                }
            }
        });
    }
    // Warm up: the first second includes the senders' start.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let echoed = || tally.echoed.load(Ordering::Relaxed);
    let (before, echoed_before) = (tally.delivered(), echoed());
    let (started, cpu) = (Instant::now(), run.cpu_meter());
    tokio::time::sleep(run.window(10.0)).await;
    let delivered = tally.delivered() - before;
    let committed = echoed() - echoed_before;
    let seconds = started.elapsed().as_secs_f64();
    report_cpu(report, cpu, "cpu_percent");
    tasks.abort_all();
    report.result("deliveries_per_s", delivered as f64 / seconds);
    // A sender's own message comes back once the server committed it.
    report.result("messages_per_s", committed as f64 / seconds);
    report.result("clients", (crowd.members.len() + senders) as f64);
    note_closed(report, "saturate", &tally);
    Ok(())
}
