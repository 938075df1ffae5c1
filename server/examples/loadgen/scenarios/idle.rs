//! Memory at rest: 2,000 clients join one room (200 in flight) and sit
//! idle, reading as a browser would, while the server's RSS is read; on a
//! cluster, also each node's RSS over the clients connected to it. Smaller
//! than `joins`, so a cluster run stays within its time budget.

use super::{join_one_room, note_closed, Run};
use crate::Report;
use std::time::Duration;

/// Runs the scenario.
pub(crate) async fn run(run: &Run, report: &Report) -> Result<(), String> {
    let clients = run.count(2_000, 10);
    let before = run.server.as_ref().and_then(|server| server.rss_kib_each());
    let (crowd, tally) =
        join_one_room(run, report, "idle", clients, Duration::from_secs(120)).await;
    let joined = crowd.members.len();
    if joined == 0 {
        return Err("idle: nobody joined".into());
    }
    report.result("joined", joined as f64);
    report.result("join_s", crowd.elapsed.as_secs_f64());
    // The notices of the last joins are still on their way to everyone.
    tally
        .settle(Duration::from_secs(1), Duration::from_secs(30))
        .await;
    let after = run.server.as_ref().and_then(|server| server.rss_kib_each());
    if let (Some(before), Some(after)) = (before, after) {
        let mut on_node = vec![0usize; run.target.node_count()];
        for member in &crowd.members {
            on_node[run.target.node_of(member.index)] += 1;
        }
        let grown: u64 = after
            .iter()
            .zip(&before)
            .map(|(a, b)| a.saturating_sub(*b))
            .sum();
        report.result("idle_kib_per_connection", grown as f64 / joined as f64);
        if after.len() > 1 {
            for (node, ((a, b), count)) in after.iter().zip(&before).zip(&on_node).enumerate() {
                if *count > 0 {
                    report.result(
                        &format!("node{}_idle_kib_per_connection", node + 1),
                        a.saturating_sub(*b) as f64 / *count as f64,
                    );
                }
            }
        }
    }
    note_closed(report, "idle", &tally);
    Ok(())
}
