//! The history in PostgreSQL: the store several nodes share.
//!
//! Each node's journal thread holds one blocking connection (the journal
//! is one ordered writer, so a pool would buy nothing). What SQLite gets
//! from having a single writer, ids committed in order within a room, is
//! here the job of the `rooms` row: every transaction that adds an event
//! to a room locks that row first and moves its `last_id` before commit,
//! so events of one room are numbered and committed one transaction at a
//! time, whichever node writes them.
//!
//! The connection is kept across calls and made again when it is lost: a
//! call while PostgreSQL is away fails (the journal answers
//! `server_error`), and the next one tries again.

use crate::history::sql::schema::{self, Newer, STEPS};
use crate::history::sql::{dollar_placeholders, search, Driver, EachRow, Param, Row, Sql};
use crate::history::store::{StoreError, StoreResult};
use postgres::types::{FromSqlOwned, ToSql};
use postgres::{Client, GenericClient, NoTls};
use std::collections::BTreeMap;
use std::time::Duration;

/// Which steps of [`schema::STEPS`] each version of PostgreSQL's schema
/// runs: PostgreSQL came when SQLite was at its third step, so its first
/// version runs the first three (with `rooms.last_id`, [`ROOM_ORDER`]);
/// each later version is the step of the same issue, and some are
/// PostgreSQL's alone ([`SEARCH_PAIRS`]).
const VERSIONS: [&[&str]; 11] = [
    &[STEPS[0], STEPS[1], STEPS[2], ROOM_ORDER],
    &[STEPS[3]],
    &[STEPS[4]],
    &[STEPS[5]],
    &[STEPS[6]],
    &[STEPS[7]],
    &[STEPS[8]],
    &[STEPS[9]],
    &[STEPS[10]],
    &[SEARCH_PAIRS],
    &[STEPS[11]],
];

/// `rooms.last_id`, the room's newest event: its row lock is what orders
/// a room's events across nodes ([`Sql::lock_rooms`]).
const ROOM_ORDER: &str = "ALTER TABLE rooms ADD COLUMN last_id BIGINT NOT NULL DEFAULT 0;";

/// Issue 26 again: the index keeps adjacent words as pairs
/// (`sql::search::Dialect::pairs`), so every message indexed before is
/// indexed again, in the background, by the backlog; until it is done,
/// phrases are found without the pairs, as before.
const SEARCH_PAIRS: &str =
    "UPDATE search_backlog SET below = (SELECT coalesce(max(id), 0) + 1 FROM messages);";

/// The schema version this build writes; older databases are migrated on
/// open. PostgreSQL's schema has its own numbering, separate from SQLite's.
const SCHEMA_VERSION: i32 = VERSIONS.len() as i32;

/// The advisory lock key held while the schema is created or migrated, so
/// two nodes starting at once do not both try. Any constant will do, as
/// long as nothing else in the database uses it: "chatschm" in ASCII.
const MIGRATION_LOCK: i64 = 0x6368_6174_7363_686d;

/// How long connecting may take before the call fails: long enough for a
/// busy server, short enough that the journal does not stall for minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a connection may sit idle, or wait on unacknowledged data,
/// before the kernel declares the server gone: the journal should learn
/// of a dead server (a pulled cable, a host that vanished) in seconds,
/// not after the kernel's default two hours or fifteen minutes.
const DEAD_PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the database could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// The URL is not one PostgreSQL's client understands.
    Url(String),
    /// PostgreSQL could not be reached, or refused to create or migrate
    /// the schema.
    Postgres(postgres::Error),
    /// A newer build wrote it.
    Newer(Newer),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Url(error) => write!(f, "not a PostgreSQL URL: {error}"),
            Self::Postgres(error) => f.write_str(&describe(error)),
            Self::Newer(newer) => newer.fmt(f),
        }
    }
}

impl std::error::Error for OpenError {}

impl From<postgres::Error> for OpenError {
    fn from(error: postgres::Error) -> Self {
        Self::Postgres(error)
    }
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> Self {
        Self(describe(&error))
    }
}

/// The error with its cause: the client's own text is only the kind
/// ("db error", "error connecting to server"), the cause says what failed.
fn describe(error: &postgres::Error) -> String {
    match std::error::Error::source(error) {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_string(),
    }
}

/// The open database.
pub(crate) struct Postgres {
    /// Where to connect again when the connection is lost.
    config: postgres::Config,
    /// The connection; `None` after a call failed or a reconnect did, so
    /// the next call connects afresh.
    client: Option<Client>,
}

impl Postgres {
    /// Connects to `url` and creates or migrates the schema. Fails when
    /// PostgreSQL cannot be reached: a server should not start without
    /// its history.
    pub(crate) fn open(url: &str) -> Result<Self, OpenError> {
        let mut store = Self::connect(url)?;
        if let Some(client) = store.client.as_mut() {
            migrate(client)?;
        }
        Ok(store)
    }

    /// Another connection to `url`, whose schema [`Postgres::open`] has
    /// made: for searches beside the journal
    /// ([`crate::history::searcher`]), which only read.
    pub(crate) fn open_reader(url: &str) -> Result<Self, OpenError> {
        Self::connect(url)
    }

    /// Connects to `url`, with the timeouts that notice a dead server.
    fn connect(url: &str) -> Result<Self, OpenError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|error: postgres::Error| OpenError::Url(error.to_string()))?;
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(DEAD_PEER_TIMEOUT)
            .tcp_user_timeout(DEAD_PEER_TIMEOUT);
        let client = config.connect(NoTls)?;
        Ok(Self {
            config,
            client: Some(client),
        })
    }

    /// Runs `operation` on a live connection, connecting first if there is
    /// none or it was lost. A connection that failed is dropped, so the
    /// next call starts afresh instead of reusing a broken socket.
    fn run<T>(&mut self, operation: impl FnOnce(&mut Client) -> StoreResult<T>) -> StoreResult<T> {
        let mut client = match self.client.take() {
            Some(client) if !client.is_closed() => client,
            _ => self.config.connect(NoTls)?,
        };
        let result = operation(&mut client);
        // After a failure the connection may be broken even when it does
        // not know it yet (a half-read reply, a server that restarted):
        // errors are rare, and a fresh connection is cheap and sure.
        if result.is_ok() && !client.is_closed() {
            self.client = Some(client);
        }
        result
    }
}

impl Drop for Postgres {
    /// The client closes its connection by blocking on a runtime of its
    /// own, which panics on a thread that drives async tasks (a store
    /// dropped on an error path of the server's start): there it is
    /// closed on a thread of its own instead.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Should no thread be had, the client is dropped here after
                // all: no worse than without this.
                let _ = std::thread::Builder::new()
                    .name("postgres-close".into())
                    .spawn(move || drop(client));
            }
        }
    }
}

/// Creates the schema, or brings an older one up to date, under an
/// advisory lock: a node that starts while another migrates waits, then
/// finds the work done.
fn migrate(client: &mut Client) -> Result<(), OpenError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])?
        .try_get(0)?;
    if found > SCHEMA_VERSION {
        return Err(OpenError::Newer(Newer {
            found: found.into(),
            known: SCHEMA_VERSION.into(),
            copy: "dump",
            kept: "database",
        }));
    }
    for (version, steps) in (1..).zip(VERSIONS) {
        if found < version {
            for step in steps {
                tx.batch_execute(&schema::step(step, &schema::POSTGRES))?;
            }
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&version],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

impl Driver for Postgres {
    fn read<T>(&mut self, work: impl FnOnce(&mut dyn Sql) -> StoreResult<T>) -> StoreResult<T> {
        self.run(|client| work(&mut Db(client)))
    }

    fn write<T>(
        &mut self,
        work: impl FnOnce(&mut dyn Sql) -> StoreResult<T>,
        keep: impl FnOnce(&T) -> bool,
    ) -> StoreResult<T> {
        self.run(|client| {
            let mut tx = client.transaction()?;
            let result = work(&mut Db(&mut tx))?;
            // Dropping the transaction rolls it back.
            if keep(&result) {
                tx.commit()?;
            }
            Ok(result)
        })
    }

    /// Reads a table in a transaction that could write: an unreachable
    /// server, a missing table or a read-only standby all fail it.
    fn probe(&mut self) -> StoreResult<()> {
        let read_only = self.run(|client| {
            let mut tx = client.transaction()?;
            tx.query_one("SELECT count(*) FROM rooms", &[])?;
            let read_only: String = tx
                .query_one("SELECT current_setting('transaction_read_only')", &[])?
                .try_get(0)?;
            tx.rollback()?;
            Ok(read_only)
        })?;
        if read_only == "on" {
            return Err(StoreError(
                "the PostgreSQL server is read-only (a standby?)".to_owned(),
            ));
        }
        Ok(())
    }
}

/// The connection, or a transaction on it, as the shared queries see it.
struct Db<'c, C>(&'c mut C);

impl<C: GenericClient> Sql for Db<'_, C> {
    fn search_dialect(&self) -> &'static search::Dialect {
        &search::POSTGRES
    }

    fn execute(&mut self, sql: &str, args: &[Param<'_>]) -> StoreResult<u64> {
        Ok(self.0.execute(&dollar_placeholders(sql), &bind(args))?)
    }

    fn each(&mut self, sql: &str, args: &[Param<'_>], row: EachRow<'_>) -> StoreResult<()> {
        for found in self.0.query(&dollar_placeholders(sql), &bind(args))? {
            row(&found)?;
        }
        Ok(())
    }

    fn last_event(&mut self, room: &str) -> StoreResult<i64> {
        let last: Option<i64> = self
            .0
            .query_opt("SELECT last_id FROM rooms WHERE name = $1", &[&room])?
            .map(|row| row.try_get(0))
            .transpose()?;
        Ok(last.unwrap_or_default())
    }

    /// Locks the rooms' rows until commit, in name order, so two nodes
    /// locking the same rooms take them in the same order and never
    /// deadlock; the lock is what makes the room's next id and its `prev`
    /// one transaction's alone.
    fn lock_rooms(&mut self, rooms: &[&str]) -> StoreResult<BTreeMap<String, i64>> {
        let rows = self.0.query(
            "SELECT name, last_id FROM rooms WHERE name = ANY($1) ORDER BY name FOR UPDATE",
            &[&rooms],
        )?;
        Ok(rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, postgres::Error>>()?)
    }

    /// Moves each room's `last_id` to its newest event: once a reader
    /// sees it, every event up to it is committed too.
    fn store_last_ids(&mut self, last_ids: &BTreeMap<String, i64>) -> StoreResult<()> {
        for (name, last_id) in last_ids {
            self.0.execute(
                "UPDATE rooms SET last_id = $2 WHERE name = $1 AND last_id < $2",
                &[name, last_id],
            )?;
        }
        Ok(())
    }
}

/// The parameters as PostgreSQL's client takes them.
fn bind<'a>(args: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter()
        .map(|arg| -> &(dyn ToSql + Sync) {
            match arg {
                Param::Text(value) => value,
                Param::OptText(value) => value,
                Param::Int(value) => value,
                Param::OptInt(value) => value,
                Param::Flag(value) => value,
                Param::OptFlag(value) => value,
            }
        })
        .collect()
}

/// A column by name, in the type the shared mapping asks for.
fn column<T: FromSqlOwned>(row: &postgres::Row, column: &str) -> StoreResult<T> {
    Ok(row.try_get(column)?)
}

impl Row for postgres::Row {
    fn text(&self, name: &str) -> StoreResult<String> {
        column(self, name)
    }

    fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
        column(self, name)
    }

    fn int(&self, name: &str) -> StoreResult<i64> {
        column(self, name)
    }

    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        column(self, name)
    }

    fn flag(&self, name: &str) -> StoreResult<bool> {
        column(self, name)
    }

    fn opt_flag(&self, name: &str) -> StoreResult<Option<bool>> {
        column(self, name)
    }
}

#[cfg(test)]
mod tests;
