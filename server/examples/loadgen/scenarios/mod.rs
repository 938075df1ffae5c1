//! One module per load of issue 13 (and issue 23's `activity`, issue
//! 25's `uploads`, issue 26's `search`); each
//! brings its clients in, measures and prints its results through
//! [`Report`](crate::Report).

pub(crate) mod activity;
pub(crate) mod fanout;
pub(crate) mod flood;
pub(crate) mod idle;
pub(crate) mod joins;
pub(crate) mod rooms;
pub(crate) mod saturate;
pub(crate) mod search;
pub(crate) mod uploads;

use crate::client::{join_crowd, Crowd, JoinPlan, Member, Tally, Target};
use crate::latency;
use crate::server_stats::{CpuMeter, Server};
use crate::Report;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// What every scenario is given.
pub(crate) struct Run {
    /// The server under test.
    pub target: Target,
    /// Its process, when known, for memory and CPU figures.
    pub server: Option<Server>,
    /// The fraction of the load to apply.
    pub scale: f64,
    /// This process's descriptor limit: the most clients it can hold.
    pub descriptors: u64,
}

/// Descriptors kept back for the runtime, stdio and the like.
const SPARE_DESCRIPTORS: u64 = 200;

impl Run {
    /// How many of `wanted` clients this process's descriptor limit holds
    /// (less a few to spare); when fewer, says so in a note naming the
    /// `scenario` and `what` its clients are.
    pub(crate) fn fitting(
        &self,
        report: &Report,
        scenario: &str,
        wanted: usize,
        what: &str,
    ) -> usize {
        let fit = usize::try_from(self.descriptors.saturating_sub(SPARE_DESCRIPTORS)).unwrap_or(0);
        let clients = wanted.min(fit);
        if clients < wanted {
            report.note(&format!(
                "{scenario}: the descriptor limit ({}, `ulimit -Hn`) holds {clients} of the {wanted} {what} asked for; measured with {clients}",
                self.descriptors
            ));
        }
        clients
    }

    /// `full` scaled down, at least `least`.
    pub(crate) fn count(&self, full: usize, least: usize) -> usize {
        ((full as f64 * self.scale).round() as usize).max(least)
    }

    /// A measuring window of `full` seconds, shortened with the scale but
    /// never under two seconds, so a quick try still sees steady state.
    pub(crate) fn window(&self, full: f64) -> Duration {
        Duration::from_secs_f64((full * self.scale.min(1.0)).max(2.0))
    }

    /// Starts a CPU meter on the server, if it is known.
    pub(crate) fn cpu_meter(&self) -> Option<CpuMeter> {
        self.server.as_ref().map(Server::cpu_meter)
    }
}

/// Brings `count` clients into the default room, 200 connections in
/// flight, giving up on those not joined within `deadline`, and notes the
/// failures under `what`.
async fn join_one_room(
    run: &Run,
    report: &Report,
    what: &str,
    count: usize,
    deadline: Duration,
) -> (Crowd, Arc<Tally>) {
    let tally = Tally::new();
    let plan = JoinPlan {
        count,
        first: 0,
        in_flight: 200,
        deadline,
        room_of: |_| None,
        key_of: |_| None,
    };
    let crowd = join_crowd(&run.target, &plan, &tally).await;
    note_failures(report, what, &crowd);
    (crowd, tally)
}

/// After `warmup`, records latencies over a window of `full` seconds
/// (scaled) and reports them under `prefix`, with the server's CPU use
/// under `cpu_key` if given.
async fn measure_latency(
    run: &Run,
    report: &Report,
    tally: &Tally,
    warmup: Duration,
    full: f64,
    prefix: &str,
    cpu_key: Option<&str>,
) {
    tokio::time::sleep(warmup).await;
    let cpu = run.cpu_meter();
    tally.latencies.open();
    tokio::time::sleep(run.window(full)).await;
    report_latency(report, tally, prefix);
    if let Some(key) = cpu_key {
        report_cpu(report, cpu, key);
    }
}

/// Reports the server's CPU use over a window under `key`.
fn report_cpu(report: &Report, meter: Option<CpuMeter>, key: &str) {
    if let Some(percent) = meter.and_then(|meter| meter.percent()) {
        report.result(key, percent);
    }
}

/// Reports a window's p50 and p99 under `prefix`, and how many
/// deliveries they stand for; returns the p99 in ms, None when nothing
/// was delivered.
fn report_latency(report: &Report, tally: &Tally, prefix: &str) -> Option<f64> {
    let histogram = tally.latencies.close();
    if histogram.is_empty() {
        report.note(&format!("{prefix}: no stamped message was delivered"));
        return None;
    }
    let p99 = latency::quantile_ms(&histogram, 0.99);
    report.result(
        &format!("{prefix}_p50_ms"),
        latency::quantile_ms(&histogram, 0.5),
    );
    report.result(&format!("{prefix}_p99_ms"), p99);
    report.result(&format!("{prefix}_samples"), histogram.len() as f64);
    Some(p99)
}

/// Starts `members` each sending one stamped message every `period`,
/// spread evenly over the period so the load is smooth. They stop when
/// the returned set is dropped.
fn paced_senders(members: Vec<Member>, period: Duration) -> JoinSet<()> {
    let mut senders = JoinSet::new();
    let spread = period / u32::try_from(members.len().max(1)).unwrap_or(u32::MAX);
    for (n, mut member) in members.into_iter().enumerate() {
        let offset = spread * u32::try_from(n).unwrap_or(u32::MAX);
        senders.spawn(async move {
            let start = tokio::time::Instant::now() + offset;
            let mut ticks = tokio::time::interval_at(start, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for seq in 0.. {
                ticks.tick().await;
                let text = latency::stamped_text(&member.name, 64);
                if member.send(text, seq).await.is_err() {
                    return;
                }
            }
        });
    }
    senders
}

/// Notes joins that failed, with the first reason.
fn note_failures(report: &Report, what: &str, crowd: &Crowd) {
    if crowd.failed > 0 {
        report.note(&format!(
            "{what}: {} clients failed to join (first: {})",
            crowd.failed,
            crowd.first_error.as_deref().unwrap_or("?")
        ));
    }
}

/// The clients a tally has seen closed, as a note.
fn note_closed(report: &Report, what: &str, tally: &Arc<Tally>) {
    let closed = tally.closed.load(std::sync::atomic::Ordering::Relaxed);
    if closed > 0 {
        report.note(&format!("{what}: the server closed {closed} clients"));
    }
}
