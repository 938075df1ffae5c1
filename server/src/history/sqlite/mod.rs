//! The history in an embedded SQLite database: the single-node default.
//!
//! Only the journal thread touches the connection, so there is no pool and
//! no locking here: plain synchronous calls. The database runs in WAL mode
//! with `synchronous = FULL`, so a committed message survives a crash of
//! the process or of the machine. One writer also means ids are committed
//! in order, as [`Messages`] requires, with nothing more to do.

mod moderation;

use crate::history::store::{
    sha256_hex, timestamp_now, Appended, Messages, NewMessage, StoreResult, JOIN_CODE_SETTING,
    MESSAGE_KIND,
};
use chat_shared::ChatMessage;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashMap;
use std::path::Path;

/// The schema version this build writes; older databases are migrated on open.
const SCHEMA_VERSION: i64 = 3;

/// Why the database could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// SQLite could not open, read or migrate it.
    Sqlite(rusqlite::Error),
    /// A newer build wrote it: this one would not know its tables, and
    /// writing to them could corrupt them, so it refuses (a downgrade).
    Newer { found: i64, known: i64 },
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(error) => error.fmt(f),
            Self::Newer { found, known } => write!(
                f,
                "its schema is version {found}, newer than the version {known} this \
                 chat-server knows (a downgrade): run the newer chat-server that wrote it, \
                 or restore a backup made before the upgrade; the file was left unchanged"
            ),
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
pub struct Sqlite {
    /// Shared with `moderation`, which keeps the moderation tables beside
    /// the messages.
    connection: Connection,
}

impl Sqlite {
    /// Opens (creating if needed) and migrates the database at `path`;
    /// `:memory:` keeps everything in memory.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let connection = Connection::open(path)?;
        // Before anything writes (even the switch to WAL), so a database
        // from a newer build is left exactly as it was.
        let found: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(OpenError::Newer {
                found,
                known: SCHEMA_VERSION,
            });
        }
        connection.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        })?;
        connection.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        let mut store = Self { connection };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> rusqlite::Result<()> {
        let version: i64 = self
            .connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version < 1 {
            let tx = self.connection.transaction()?;
            tx.execute_batch(
                "CREATE TABLE messages (
                     id         INTEGER PRIMARY KEY AUTOINCREMENT,
                     room       TEXT NOT NULL,
                     username   TEXT NOT NULL,
                     author_key TEXT NOT NULL,
                     text       TEXT NOT NULL,
                     timestamp  TEXT NOT NULL,
                     client_id  TEXT
                 );
                 CREATE INDEX messages_by_room ON messages (room, id);
                 CREATE UNIQUE INDEX messages_once ON messages (author_key, client_id)
                     WHERE client_id IS NOT NULL;
                 CREATE TABLE rooms (
                     name       TEXT PRIMARY KEY,
                     created_at TEXT NOT NULL
                 );",
            )?;
            tx.pragma_update(None, "user_version", 1)?;
            tx.commit()?;
        }
        if version < 2 {
            // Server-wide settings that an operator's subcommand changes
            // while the server runs (the invitation code's hash).
            let tx = self.connection.transaction()?;
            tx.execute_batch(
                "CREATE TABLE settings (
                     name  TEXT PRIMARY KEY,
                     value TEXT NOT NULL
                 );",
            )?;
            tx.pragma_update(None, "user_version", 2)?;
            tx.commit()?;
        }
        if version < 3 {
            // Changes to messages are rows of their own in the same id
            // sequence (`kind` says which, `target` what they change), so a
            // `since` replay finds them in order; issue 11's edits and
            // reactions are further kinds. `deleted` keeps the current
            // state of a message cheap to read.
            let tx = self.connection.transaction()?;
            tx.execute_batch(
                "ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message';
                 ALTER TABLE messages ADD COLUMN target INTEGER;
                 ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
                 CREATE INDEX messages_events ON messages (room, id) WHERE kind <> 'message';
                 CREATE TABLE bans (
                     id        INTEGER PRIMARY KEY AUTOINCREMENT,
                     name_key  TEXT NOT NULL,
                     addresses TEXT NOT NULL,
                     until_ms  INTEGER NOT NULL
                 );
                 CREATE TABLE room_settings (
                     room   TEXT PRIMARY KEY,
                     locked INTEGER NOT NULL DEFAULT 0,
                     topic  TEXT
                 );
                 CREATE TABLE audit (
                     id        INTEGER PRIMARY KEY AUTOINCREMENT,
                     at        TEXT NOT NULL,
                     moderator TEXT NOT NULL,
                     action    TEXT NOT NULL,
                     target    TEXT NOT NULL,
                     detail    TEXT
                 );",
            )?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Makes a statement wait up to `timeout` for another process's write
    /// lock instead of failing at once: for the operator's subcommands
    /// beside a running server.
    pub fn wait_when_busy(&self, timeout: std::time::Duration) -> rusqlite::Result<()> {
        self.connection.busy_timeout(timeout)
    }
}

impl Messages for Sqlite {
    fn append(&mut self, batch: &[NewMessage]) -> StoreResult<Vec<Appended>> {
        let tx = self.connection.transaction()?;
        let mut results = Vec::with_capacity(batch.len());
        {
            let mut find = tx.prepare_cached(
                "SELECT id, username, text, timestamp, client_id, kind FROM messages
                 WHERE author_key = ?1 AND client_id = ?2",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (room, username, author_key, text, timestamp, client_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut last = tx.prepare_cached(LAST_EVENT)?;
            // Each room's newest id as the batch goes: read once per room,
            // then the id just inserted.
            let mut newest: HashMap<&str, u64> = HashMap::new();
            for message in batch {
                if let Some(client_id) = &message.client_id {
                    let existing = find
                        .query_row(params![message.author_key, client_id], |row| {
                            Ok((read_message(row)?, row.get::<_, String>(5)?))
                        })
                        .optional()?;
                    match existing {
                        Some((original, kind)) if kind == MESSAGE_KIND => {
                            results.push(Appended::Duplicate(original));
                            continue;
                        }
                        Some(_) => {
                            results.push(Appended::ClientIdTaken);
                            continue;
                        }
                        None => {}
                    }
                }
                let prev = match newest.get(message.room.as_str()) {
                    Some(id) => *id,
                    None => last.query_row(params![message.room], read_id)?,
                };
                let timestamp = timestamp_now();
                insert.execute(params![
                    message.room,
                    message.username,
                    message.author_key,
                    message.text,
                    timestamp,
                    message.client_id,
                ])?;
                let id = u64::try_from(tx.last_insert_rowid()).unwrap_or_default();
                newest.insert(&message.room, id);
                results.push(Appended::New {
                    message: ChatMessage {
                        id,
                        username: message.username.clone(),
                        text: message.text.clone(),
                        timestamp,
                        client_id: message.client_id.clone(),
                    },
                    prev,
                });
            }
        }
        tx.commit()?;
        Ok(results)
    }

    fn last_event(&mut self, room: &str) -> StoreResult<u64> {
        let mut query = self.connection.prepare_cached(LAST_EVENT)?;
        Ok(query.query_row(params![room], read_id)?)
    }

    fn page_before(
        &mut self,
        room: &str,
        before: u64,
        limit: usize,
    ) -> StoreResult<Vec<ChatMessage>> {
        let mut query = self.connection.prepare_cached(
            "SELECT id, username, text, timestamp, client_id FROM messages
             WHERE room = ?1 AND id < ?2 AND kind = 'message' AND deleted = 0
             ORDER BY id DESC LIMIT ?3",
        )?;
        let mut messages = query
            .query_map(
                params![room, sql_id(before), sql_limit(limit)],
                read_message,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        messages.reverse();
        Ok(messages)
    }

    fn after(
        &mut self,
        room: &str,
        since: u64,
        through: u64,
        limit: usize,
    ) -> StoreResult<Vec<ChatMessage>> {
        let mut query = self.connection.prepare_cached(
            "SELECT id, username, text, timestamp, client_id FROM messages
             WHERE room = ?1 AND id > ?2 AND id <= ?3 AND kind = 'message' AND deleted = 0
             ORDER BY id ASC LIMIT ?4",
        )?;
        let messages = query
            .query_map(
                params![room, sql_id(since), sql_id(through), sql_limit(limit)],
                read_message,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(messages)
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

    fn rooms(&mut self) -> StoreResult<Vec<String>> {
        let mut query = self
            .connection
            .prepare_cached("SELECT name FROM rooms ORDER BY name")?;
        let names = query
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(names)
    }

    fn add_room(&mut self, name: &str) -> StoreResult<()> {
        self.connection.execute(
            "INSERT OR IGNORE INTO rooms (name, created_at) VALUES (?1, ?2)",
            params![name, timestamp_now()],
        )?;
        Ok(())
    }

    fn set_join_code(&mut self, code: Option<&str>) -> StoreResult<()> {
        match code {
            Some(code) => set_setting(&self.connection, JOIN_CODE_SETTING, &sha256_hex(code))?,
            None => {
                self.connection.execute(
                    "DELETE FROM settings WHERE name = ?1",
                    params![JOIN_CODE_SETTING],
                )?;
            }
        };
        Ok(())
    }

    fn join_code_hash(&mut self) -> StoreResult<Option<String>> {
        Ok(setting(&self.connection, JOIN_CODE_SETTING)?)
    }
}

/// The room's newest event id, 0 when it has none.
const LAST_EVENT: &str = "SELECT coalesce(max(id), 0) FROM messages WHERE room = ?1";

fn set_setting(connection: &Connection, name: &str, value: &str) -> rusqlite::Result<()> {
    connection.execute(
        "INSERT INTO settings (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![name, value],
    )?;
    Ok(())
}

fn setting(connection: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    connection
        .prepare_cached("SELECT value FROM settings WHERE name = ?1")?
        .query_row(params![name], |row| row.get(0))
        .optional()
}

fn read_message(row: &Row<'_>) -> rusqlite::Result<ChatMessage> {
    Ok(ChatMessage {
        id: read_id(row)?,
        username: row.get(1)?,
        text: row.get(2)?,
        timestamp: row.get(3)?,
        client_id: row.get(4)?,
    })
}

/// The id in the first column.
fn read_id(row: &Row<'_>) -> rusqlite::Result<u64> {
    Ok(u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default())
}

fn sql_id(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// What only SQLite does: files, WAL, its own migrations. What every
/// store does is in [`crate::history::conformance`].
#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::conformance::{latest_texts, message};

    fn temp_db(name: &str) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("chat-store-{}-{name}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn messages_survive_reopening_the_file() {
        let path = temp_db("reopen");
        {
            let mut store = Sqlite::open(&path).expect("open");
            store
                .append(&[
                    message("general", "alice", "one", None),
                    message("general", "bob", "two", None),
                ])
                .expect("append");
            store.add_room("general").expect("room");
        }
        let mut store = Sqlite::open(&path).expect("reopen");
        let texts = latest_texts(&mut store, "general");
        assert_eq!(texts, ["one", "two"]);
        assert_eq!(store.rooms().expect("rooms"), ["general"]);
        let journal_mode: String = store
            .connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .expect("pragma");
        assert_eq!(journal_mode, "wal");
        drop(store);
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_version_1_database_gains_the_settings_table() {
        let path = temp_db("v1");
        {
            let connection = Connection::open(&path).expect("open");
            connection
                .execute_batch(
                    "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL,
                         username TEXT NOT NULL, author_key TEXT NOT NULL, text TEXT NOT NULL,
                         timestamp TEXT NOT NULL, client_id TEXT);
                     CREATE TABLE rooms (name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
                     PRAGMA user_version = 1;",
                )
                .expect("a version 1 schema");
        }
        let mut store = Sqlite::open(&path).expect("migrate");
        store.set_join_code(Some("code")).expect("set");
        assert!(store.join_code_admits(Some("code")).expect("read"));
        drop(store);
        std::fs::remove_file(&path).ok();
    }
}
