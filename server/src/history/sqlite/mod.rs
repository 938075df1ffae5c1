//! The history in an embedded SQLite database: the single-node default.
//!
//! Only the journal thread touches the connection, so there is no pool and
//! no locking here: plain synchronous calls. The database runs in WAL mode
//! with `synchronous = FULL`, so a committed message survives a crash of
//! the process or of the machine. One writer also means ids are committed
//! in order, as [`crate::history::store::Messages`] requires, with nothing
//! more to do.

use crate::history::sql::schema::{self, Newer, STEPS};
use crate::history::sql::{search, Driver, EachRow, Param, Row, Sql};
use crate::history::store::{StoreError, StoreResult};
use rusqlite::types::ToSqlOutput;
use rusqlite::{params_from_iter, Connection, ToSql};
use std::collections::BTreeMap;
use std::path::Path;

/// The schema version this build writes: one per step of
/// [`schema::STEPS`]. Older databases are migrated on open.
const SCHEMA_VERSION: i64 = STEPS.len() as i64;

/// How many prepared statements the connection keeps: more than the
/// store has (about 50, and a few shapes of search each).
const STATEMENT_CACHE: usize = 128;

/// How long a reader ([`Sqlite::open_reader`]) waits for the WAL, rather
/// than failing a search at once.
const READER_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Why the database could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// SQLite could not open, read or migrate it.
    Sqlite(rusqlite::Error),
    /// A newer build wrote it.
    Newer(Newer),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(error) => error.fmt(f),
            Self::Newer(newer) => newer.fmt(f),
        }
    }
}

impl std::error::Error for OpenError {}

impl From<rusqlite::Error> for OpenError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

/// The open database.
pub(crate) struct Sqlite {
    /// Only its owner's thread uses it (the journal's, or a searcher's),
    /// one call at a time.
    connection: Connection,
}

impl Sqlite {
    /// Opens (creating if needed) and migrates the database at `path`;
    /// `:memory:` keeps everything in memory.
    pub(crate) fn open(path: &Path) -> Result<Self, OpenError> {
        let connection = Connection::open(path)?;
        // Before anything writes (even the switch to WAL), so a database
        // from a newer build is left exactly as it was.
        let found: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(OpenError::Newer(Newer {
                found,
                known: SCHEMA_VERSION,
                copy: "backup",
                kept: "file",
            }));
        }
        connection.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        })?;
        // `secure_delete`: what a deletion frees (the text of a deleted
        // message, its edits, the quotes of it) is overwritten with zeros,
        // in the file and in the pages the WAL holds, not left readable in
        // free space; see [`Sqlite::forget_deleted`] for the older copies.
        connection.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
        )?;
        // Room for every statement of the store (`history::sql`), so none
        // is prepared again after another pushed it out.
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let mut store = Self { connection };
        store.migrate()?;
        Ok(store)
    }

    /// A second connection to the database at `path`, which
    /// [`Sqlite::open`] has made and migrated, that may only read: for
    /// searches beside the journal ([`crate::history::searcher`]). WAL
    /// lets it read while the journal writes.
    pub(crate) fn open_reader(path: &Path) -> Result<Self, OpenError> {
        let connection = Connection::open(path)?;
        connection.execute_batch("PRAGMA query_only = ON;")?;
        // A reader waits only while a checkpoint resets the WAL, briefly.
        connection.busy_timeout(READER_BUSY_TIMEOUT)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { connection })
    }

    /// Runs each step of the schema the file has not had yet, each in a
    /// transaction with its version number.
    fn migrate(&mut self) -> rusqlite::Result<()> {
        let found: i64 = self
            .connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))?;
        for (version, step) in (1..).zip(STEPS) {
            if found < version {
                let tx = self.connection.transaction()?;
                tx.execute_batch(&schema::step(step, &schema::SQLITE))?;
                tx.pragma_update(None, "user_version", version)?;
                tx.commit()?;
            }
        }
        Ok(())
    }

    /// Makes a statement wait up to `timeout` for another process's write
    /// lock instead of failing at once: for the operator's subcommands
    /// beside a running server.
    pub(crate) fn wait_when_busy(&self, timeout: std::time::Duration) -> rusqlite::Result<()> {
        self.connection.busy_timeout(timeout)
    }
}

impl Driver for Sqlite {
    fn read<T>(&mut self, work: impl FnOnce(&mut dyn Sql) -> StoreResult<T>) -> StoreResult<T> {
        work(&mut Db(&self.connection))
    }

    fn write<T>(
        &mut self,
        work: impl FnOnce(&mut dyn Sql) -> StoreResult<T>,
        keep: impl FnOnce(&T) -> bool,
    ) -> StoreResult<T> {
        let tx = self.connection.transaction()?;
        let result = work(&mut Db(&tx))?;
        // Dropping the transaction rolls it back.
        if keep(&result) {
            tx.commit()?;
        }
        Ok(result)
    }

    /// Takes the write lock and reads a table, then lets go: another
    /// process holding the lock, a damaged file or a missing table all
    /// fail it.
    fn probe(&mut self) -> StoreResult<()> {
        let tx = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.query_row("SELECT count(*) FROM rooms", [], |row| row.get::<_, i64>(0))?;
        Ok(tx.rollback()?)
    }

    /// After a deletion: copies the WAL into the file and empties it
    /// (`wal_checkpoint(TRUNCATE)`). The WAL still holds every page as it
    /// was written before, the deleted text with it, until it is emptied;
    /// `secure_delete` has already zeroed the text in the newest pages.
    /// The deletion is committed either way, so a checkpoint that fails
    /// or cannot finish (a reader in another process, such as a `backup`
    /// running) is logged, not reported: the text then stays in the WAL
    /// until a later deletion's checkpoint empties it.
    fn forget_deleted(&mut self) {
        let checkpoint = self
            .connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                row.get::<_, i64>(0)
            });
        match checkpoint {
            Ok(0) => {}
            Ok(_) => tracing::warn!(
                "a reader kept the WAL from being emptied after a deletion: the deleted \
                 text stays in the -wal file until a later deletion's checkpoint"
            ),
            Err(error) => tracing::warn!(
                "cannot empty the WAL after a deletion ({error}): the deleted text stays in \
                 the -wal file until a later deletion's checkpoint"
            ),
        }
    }
}

/// The connection, or a transaction on it, as the shared queries see it.
/// Every statement is prepared once and kept ([`Connection::prepare_cached`]).
struct Db<'c>(&'c Connection);

impl Sql for Db<'_> {
    fn search_dialect(&self) -> &'static search::Dialect {
        &search::SQLITE
    }

    fn execute(&mut self, sql: &str, args: &[Param<'_>]) -> StoreResult<u64> {
        let changed = self
            .0
            .prepare_cached(sql)?
            .execute(params_from_iter(args))?;
        Ok(u64::try_from(changed).unwrap_or_default())
    }

    fn each(&mut self, sql: &str, args: &[Param<'_>], row: EachRow<'_>) -> StoreResult<()> {
        let mut statement = self.0.prepare_cached(sql)?;
        let mut rows = statement.query(params_from_iter(args))?;
        while let Some(found) = rows.next()? {
            row(found)?;
        }
        Ok(())
    }

    fn last_event(&mut self, room: &str) -> StoreResult<i64> {
        Ok(self
            .0
            .prepare_cached(LAST_EVENT)?
            .query_row([room], |row| row.get(0))?)
    }

    /// One writer holds every room's order already: this only reads the
    /// newest ids.
    fn lock_rooms(&mut self, rooms: &[&str]) -> StoreResult<BTreeMap<String, i64>> {
        let mut last_ids = BTreeMap::new();
        for room in rooms {
            let last = self.last_event(room)?;
            last_ids.insert((*room).to_owned(), last);
        }
        Ok(last_ids)
    }

    /// The newest id is the largest, found again when asked.
    fn store_last_ids(&mut self, _: &BTreeMap<String, i64>) -> StoreResult<()> {
        Ok(())
    }
}

/// The room's newest event id, 0 when it has none.
const LAST_EVENT: &str = "SELECT coalesce(max(id), 0) FROM messages WHERE room = ?1";

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Self::Text(value) => value.to_sql(),
            Self::OptText(value) => value.to_sql(),
            Self::Int(value) => value.to_sql(),
            Self::OptInt(value) => value.to_sql(),
            Self::Flag(value) => value.to_sql(),
            Self::OptFlag(value) => value.to_sql(),
        }
    }
}

impl Row for rusqlite::Row<'_> {
    fn text(&self, column: &str) -> StoreResult<String> {
        Ok(self.get(column)?)
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.get(column)?)
    }

    fn int(&self, column: &str) -> StoreResult<i64> {
        Ok(self.get(column)?)
    }

    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        Ok(self.get(column)?)
    }

    fn flag(&self, column: &str) -> StoreResult<bool> {
        Ok(self.get(column)?)
    }

    fn opt_flag(&self, column: &str) -> StoreResult<Option<bool>> {
        Ok(self.get(column)?)
    }
}

/// SQLite's errors, as the store seam reports them: text for the log.
impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        Self(error.to_string())
    }
}

#[cfg(test)]
mod tests;
