//! Searches on database connections of their own, beside the journal
//! (issue 26).
//!
//! The journal's one thread commits every message: a search run there
//! waits behind the writes and makes them wait in turn, and one broad
//! search ("the", best match first over a million messages) would hold
//! up the chat. So searches run on [`READERS`] threads of their own, each
//! with its own read-only connection: SQLite in WAL mode lets readers
//! read beside its one writer, and PostgreSQL serves each connection on
//! its own. A search sees every message committed before it began, so
//! whoever saw a message delivered finds it.
//!
//! An in-memory SQLite database (`:memory:`, for tests and trials) lives
//! in its one connection: there searches go through the journal, as
//! every other read does.

use crate::config::Database;
use crate::history::journal::{Failed, Journal};
use crate::history::search::{Search, SearchPage, SearchQuery};
use crate::history::store::StoreResult;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot};

/// Threads (each with its connection) that search at once: the
/// machines this runs on have few cores, and each search is one
/// statement that keeps a core busy while it runs.
pub(crate) const READERS: usize = 2;

/// Searches waiting for a reader; askers wait when it is full (each
/// connection's rate limit keeps any one of them from filling it).
const QUEUE_DEPTH: usize = 256;

/// A search and where its answer goes.
struct Job {
    query: SearchQuery,
    reply: oneshot::Sender<Result<SearchPage, Failed>>,
}

/// Where searches run: a handle that [`Searcher::search`] goes through.
#[derive(Debug, Clone)]
pub(crate) struct Searcher(Via);

/// Readers of their own, or the journal.
#[derive(Debug, Clone)]
enum Via {
    /// Reader threads; they end once every handle is dropped.
    Readers(mpsc::Sender<Job>),
    /// The journal's connection (an in-memory database).
    Journal(Journal),
}

impl Searcher {
    /// Opens [`READERS`] read-only connections to `database` (already
    /// created and migrated by the journal's store) and starts a thread
    /// for each: blocking, so call it off the async threads. The threads
    /// end once every `Searcher` is dropped; join them to wait for that.
    pub(crate) fn start(
        database: &Database,
        journal: &Journal,
    ) -> Result<(Self, Vec<JoinHandle<()>>), String> {
        if matches!(database, Database::Sqlite(path) if path == Path::new(":memory:")) {
            return Ok((Self(Via::Journal(journal.clone())), Vec::new()));
        }
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        let queue = Arc::new(Mutex::new(queue));
        let mut threads = Vec::with_capacity(READERS);
        for n in 0..READERS {
            let reader = open_reader(database)?;
            let queue = queue.clone();
            let thread = std::thread::Builder::new()
                .name(format!("search-{n}"))
                .spawn(move || serve(reader, &queue))
                .map_err(|error| format!("cannot start a search thread: {error}"))?;
            threads.push(thread);
        }
        Ok((Self(Via::Readers(jobs)), threads))
    }

    /// One page of what `query` finds (see [`Search::search`]).
    pub(crate) async fn search(&self, query: SearchQuery) -> Result<SearchPage, Failed> {
        match &self.0 {
            Via::Readers(jobs) => {
                let (reply, answer) = oneshot::channel();
                jobs.send(Job { query, reply }).await.map_err(|_| Failed)?;
                answer.await.unwrap_or(Err(Failed))
            }
            Via::Journal(journal) => journal.people(move |store| store.search(&query)).await,
        }
    }
}

/// A read-only connection to the database, for searches only.
fn open_reader(database: &Database) -> Result<Box<dyn Search + Send>, String> {
    let opened: Result<Box<dyn Search + Send>, String> = match database {
        Database::Sqlite(path) => crate::history::sqlite::Sqlite::open_reader(path)
            .map(|reader| Box::new(reader) as Box<dyn Search + Send>)
            .map_err(|error| error.to_string()),
        Database::Postgres(url) => crate::history::postgres::Postgres::open_reader(url)
            .map(|reader| Box::new(reader) as Box<dyn Search + Send>)
            .map_err(|error| error.to_string()),
    };
    opened.map_err(|error| format!("cannot open a search connection to {database}: {error}"))
}

/// A reader's thread: takes the next search, runs it, answers, until
/// every sender is gone.
fn serve(mut reader: Box<dyn Search + Send>, queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for a job, so the readers
        // take turns at the queue and search side by side.
        let job = match queue.lock() {
            Ok(mut queue) => queue.blocking_recv(),
            Err(_) => return,
        };
        let Some(Job { query, reply }) = job else {
            return;
        };
        if reply.is_closed() {
            // The asker left (its connection closed): nothing to do.
            continue;
        }
        let page = logged(reader.search(&query));
        // The asker may have gone meanwhile.
        let _ = reply.send(page);
    }
}

/// The page, or [`Failed`] with the store's error logged.
fn logged(page: StoreResult<SearchPage>) -> Result<SearchPage, Failed> {
    page.map_err(|error| {
        tracing::error!("cannot search: {error}");
        Failed
    })
}
