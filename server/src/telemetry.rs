//! What the server counts, for Prometheus: served as text on a listener of
//! its own (`--metrics-addr`), so the numbers never share a port with the
//! public chat.
//!
//! Each server has its own recorder, never installed as the process-wide
//! one: the handles below are registered on it directly. Several servers in
//! one process (tests, embedding) keep separate counts, and a server with
//! metrics off holds no-op handles that cost nothing.

use chat_shared::ErrorCode;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

/// Every handle registers with this; the exporter ignores it.
static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

/// Histogram buckets in seconds: from well under a millisecond (a commit
/// on a fast disk, a delivery on loopback) to seconds (a disk in trouble).
const SECONDS_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The server's counters, gauges and histograms.
pub(crate) struct Metrics {
    /// `None` when metrics are off: every handle is then a no-op.
    recorder: Option<PrometheusRecorder>,
    /// Open WebSocket connections.
    pub connections_open: Gauge,
    /// Messages committed to the history.
    pub messages_stored: Counter,
    /// Edits, deletions and reactions committed to the history.
    pub changes_stored: Counter,
    /// Frames queued to a socket's outbox.
    pub deliveries: Counter,
    /// Connections closed because their outbox was full.
    pub slow_readers_dropped: Counter,
    /// Connections closed for flooding.
    pub floods_closed: Counter,
    /// How long one batch of messages takes to commit.
    pub journal_commit_seconds: Histogram,
    /// From a message's commit to its write on a recipient's socket.
    pub delivery_latency_seconds: Histogram,
    /// Message ids the search index has still to take in (an upper
    /// bound), while an upgraded history is indexed in the background.
    pub search_backlog: Gauge,
    /// Set on each scrape, from the hub and the journal.
    users_joined: Gauge,
    rooms: Gauge,
    journal_queue_depth: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("enabled", &self.recorder.is_some())
            .finish_non_exhaustive()
    }
}

/// What the scrape reads from the hub and the journal at that moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot {
    pub users_joined: usize,
    pub rooms: usize,
    pub journal_queue_depth: usize,
}

impl Metrics {
    /// Handles that record nothing: metrics are off.
    pub(crate) fn off() -> Self {
        Self {
            recorder: None,
            connections_open: Gauge::noop(),
            messages_stored: Counter::noop(),
            changes_stored: Counter::noop(),
            deliveries: Counter::noop(),
            slow_readers_dropped: Counter::noop(),
            floods_closed: Counter::noop(),
            journal_commit_seconds: Histogram::noop(),
            delivery_latency_seconds: Histogram::noop(),
            search_backlog: Gauge::noop(),
            users_joined: Gauge::noop(),
            rooms: Gauge::noop(),
            journal_queue_depth: Gauge::noop(),
        }
    }

    /// A recorder of this server's own, with every metric described.
    pub(crate) fn prometheus() -> Result<Self, String> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .map_err(|error| format!("cannot set up the metrics: {error}"))?
            .build_recorder();
        let gauge = |name: &'static str, help: &'static str| {
            recorder.describe_gauge(KeyName::from_const_str(name), None, help.into());
            recorder.register_gauge(&Key::from_static_name(name), &METADATA)
        };
        let counter = |name: &'static str, help: &'static str| {
            recorder.describe_counter(KeyName::from_const_str(name), None, help.into());
            recorder.register_counter(&Key::from_static_name(name), &METADATA)
        };
        let histogram = |name: &'static str, help: &'static str| {
            recorder.describe_histogram(
                KeyName::from_const_str(name),
                Some(Unit::Seconds),
                help.into(),
            );
            recorder.register_histogram(&Key::from_static_name(name), &METADATA)
        };
        recorder.describe_counter(
            KeyName::from_const_str("chat_frames_refused_total"),
            None,
            "Error frames sent to clients, by error code.".into(),
        );
        Ok(Self {
            connections_open: gauge("chat_connections_open", "Open WebSocket connections."),
            users_joined: gauge(
                "chat_users_joined",
                "Users present in a room, counted once per room, grace periods included.",
            ),
            rooms: gauge("chat_rooms", "Rooms that exist."),
            journal_queue_depth: gauge(
                "chat_journal_queue_depth",
                "Requests waiting for the journal thread.",
            ),
            messages_stored: counter(
                "chat_messages_stored_total",
                "Messages committed to the history.",
            ),
            changes_stored: counter(
                "chat_changes_stored_total",
                "Edits, deletions and reactions committed to the history.",
            ),
            deliveries: counter(
                "chat_deliveries_total",
                "Frames queued to a connection's outbox.",
            ),
            slow_readers_dropped: counter(
                "chat_slow_readers_dropped_total",
                "Connections closed because they read too slowly (outbox full).",
            ),
            floods_closed: counter(
                "chat_floods_closed_total",
                "Connections closed for flooding past the rate limits.",
            ),
            journal_commit_seconds: histogram(
                "chat_journal_commit_seconds",
                "Time to commit one batch of messages.",
            ),
            delivery_latency_seconds: histogram(
                "chat_delivery_latency_seconds",
                "Time from a message's commit to its write on a recipient's socket.",
            ),
            search_backlog: gauge(
                "chat_search_backlog",
                "Message ids still to index for search (an upper bound); 0 once all are indexed.",
            ),
            recorder: Some(recorder),
        })
    }

    /// Counts an error frame sent to a client.
    pub(crate) fn refused(&self, code: ErrorCode) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        // The wire name of the code, so the label matches the protocol docs.
        let code = serde_json::to_value(code)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned());
        let key = Key::from_parts("chat_frames_refused_total", vec![Label::new("code", code)]);
        recorder.register_counter(&key, &METADATA).increment(1);
    }

    /// Keeps the histograms' memory bounded between scrapes.
    pub(crate) fn upkeep(&self) {
        if let Some(recorder) = &self.recorder {
            recorder.handle().run_upkeep();
        }
    }

    /// The Prometheus text exposition of everything, the process included.
    pub(crate) fn render(&self, now: Snapshot) -> String {
        let Some(recorder) = &self.recorder else {
            return String::new();
        };
        self.users_joined.set(as_f64(now.users_joined));
        self.rooms.set(as_f64(now.rooms));
        self.journal_queue_depth
            .set(as_f64(now.journal_queue_depth));
        let mut text = recorder.handle().render();
        process_metrics(&mut text);
        text
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn as_f64(count: usize) -> f64 {
    count as f64
}

/// The process's memory and CPU time, read from `/proc` on each scrape.
/// Missing (not Linux, or `/proc` not mounted) means they are left out.
fn process_metrics(text: &mut String) {
    use std::fmt::Write;
    // VmRSS is in kB already: statm would need the page size, which varies.
    let resident = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        });
    if let Some(kib) = resident {
        let _ = write!(
            text,
            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\n\
             process_resident_memory_bytes {}\n\n",
            kib * 1024
        );
    }
    if let Some(seconds) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| cpu_seconds(&stat))
    {
        let _ = write!(
            text,
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
             # TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total {seconds}\n\n"
        );
    }
}

/// User plus system time from a `/proc/PID/stat` line.
fn cpu_seconds(stat: &str) -> Option<f64> {
    // The kernel reports these in USER_HZ, which is 100 on every
    // architecture Linux runs on but Alpha.
    const TICKS_PER_SECOND: f64 = 100.0;
    // The command name in parentheses may hold spaces: fields are counted
    // after its closing parenthesis (state is field 3, utime 14, stime 15).
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    #[allow(clippy::cast_precision_loss)] // ticks far below 2^52
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::cpu_seconds;

    #[test]
    fn cpu_time_is_read_after_a_command_name_with_spaces() {
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(cpu_seconds(stat), Some(3.0));
    }
}
