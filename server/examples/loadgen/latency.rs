//! End-to-end latency: the sender writes its clock into the message text,
//! every receiver subtracts it from its own. Sender and receivers live in
//! this one process, so one monotonic clock serves both.

use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Readers record into one of these at random, so that thousands of them
/// rarely wait on the same lock.
const SHARDS: usize = 16;
/// The longest latency kept apart from "longer": two minutes, in µs.
const HIGHEST_MICROS: u64 = 120_000_000;

/// The zero of the timestamps in message texts.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// A message text stamped with the time it is sent, padded to `len`
/// bytes: `t<µs> <tag> xxxx...`.
pub(crate) fn stamped_text(tag: &str, len: usize) -> String {
    let mut text = format!("t{} {tag} ", epoch().elapsed().as_micros());
    while text.len() < len {
        text.push('x');
    }
    text
}

/// How long ago a text made by [`stamped_text`] was sent; None for any
/// other text (the flooder's, say), which is then not counted.
pub(crate) fn age_of(text: &str) -> Option<Duration> {
    let micros: u64 = text.strip_prefix('t')?.split(' ').next()?.parse().ok()?;
    let sent = Duration::from_micros(micros);
    Some(epoch().elapsed().saturating_sub(sent))
}

/// Latencies seen by every reader, recorded only while a measuring window
/// is open, so warm-up and wind-down do not count.
pub(crate) struct Latencies {
    /// Whether deliveries are recorded right now.
    open: AtomicBool,
    /// Per-shard histograms in µs, merged when the window closes.
    shards: Vec<Mutex<Histogram<u64>>>,
}

impl Latencies {
    /// Empty and closed.
    pub(crate) fn new() -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(
                    Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
                        .expect("constant histogram bounds are valid"),
                )
            })
            .collect();
        Self {
            open: AtomicBool::new(false),
            shards,
        }
    }

    /// Records one delivery's latency, if a window is open.
    pub(crate) fn record(&self, reader: usize, latency: Duration) {
        if !self.open.load(Ordering::Relaxed) {
            return;
        }
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let shard = &self.shards[reader % SHARDS];
        shard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .saturating_record(micros.max(1));
    }

    /// Starts a window, forgetting anything recorded before.
    pub(crate) fn open(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(PoisonError::into_inner).reset();
        }
        self.open.store(true, Ordering::Relaxed);
    }

    /// Ends the window and returns everything recorded in it.
    pub(crate) fn close(&self) -> Histogram<u64> {
        self.open.store(false, Ordering::Relaxed);
        let mut all = Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
            .expect("constant histogram bounds are valid");
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            // Same bounds on both sides: adding cannot fail.
            let _ = all.add(&*shard);
        }
        all
    }
}

/// A quantile of a histogram in µs, as milliseconds.
pub(crate) fn quantile_ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}
