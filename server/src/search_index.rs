//! Keeps the search index whole after an upgrade (issue 26): a history
//! from before search has messages the index has not seen. New messages,
//! edits and deletions are indexed with their own writes; the messages
//! from before are indexed here, a batch at a time, newest first (the
//! ones people look for first), in the background: the chat never waits
//! for it. Progress is in the log and in `/metrics`
//! (`chat_search_backlog`). Every node of a cluster may run it at once;
//! the store keeps them from doing a batch twice.

use crate::history::journal::Journal;
use crate::telemetry::Metrics;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Messages one batch indexes: one short transaction, so the journal's
/// other work waits at most a few milliseconds behind it.
const BATCH: usize = 500;
/// The pause between batches, which leaves the journal to the chat.
const PAUSE: Duration = Duration::from_millis(20);
/// The wait before trying again after the store failed.
const RETRY: Duration = Duration::from_secs(5);
/// How often progress is logged.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Indexes the backlog until it is done or the server stops.
pub(crate) async fn index_backlog(
    journal: Journal,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    let started = Instant::now();
    let mut logged = Instant::now();
    let mut indexed = 0u64;
    loop {
        let pause = match journal.people(|store| store.index_backlog(BATCH)).await {
            Ok(batch) => {
                indexed += batch.indexed;
                metrics.search_backlog.set(batch.ids_left as f64);
                if batch.ids_left == 0 {
                    if indexed > 0 {
                        tracing::info!(
                            indexed,
                            seconds = started.elapsed().as_secs(),
                            "search: every earlier message is indexed"
                        );
                    }
                    return;
                }
                if logged.elapsed() >= LOG_EVERY {
                    logged = Instant::now();
                    tracing::info!(
                        indexed,
                        ids_left = batch.ids_left,
                        "search: indexing earlier messages"
                    );
                }
                PAUSE
            }
            Err(_) => RETRY,
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}
