//! The history in an embedded SQLite database: the single-node default.
//!
//! Only the journal thread touches the connection, so there is no pool and
//! no locking here: plain synchronous calls. The database runs in WAL mode
//! with `synchronous = FULL`, so a committed message survives a crash of
//! the process or of the machine. One writer also means ids are committed
//! in order, as [`Messages`] requires, with nothing more to do.

mod changes;
mod moderation;
mod read;

use crate::history::store::{
    sha256_hex, timestamp_now, Appended, Messages, NewMessage, StoreResult, JOIN_CODE_SETTING,
    MESSAGE_KIND,
};
use chat_shared::{quote_excerpt, ChatMessage, HistoryItem, Quote};
use read::{only_messages, read_history};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashMap;
use std::path::Path;

/// The schema version this build writes; older databases are migrated on open.
const SCHEMA_VERSION: i64 = 5;

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
        // `secure_delete`: what a deletion frees (the text of a deleted
        // message, its edits, the quotes of it) is overwritten with zeros,
        // in the file and in the pages the WAL holds, not left readable in
        // free space; see [`Sqlite::forget_deleted`] for the older copies.
        connection.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
        )?;
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
            tx.pragma_update(None, "user_version", 3)?;
            tx.commit()?;
        }
        if version < 4 {
            // Issue 11. A message keeps who may change it (`owner`, the
            // hash of its author key), its reply snapshot (taken when it
            // was posted, so the quote does not follow later edits) and
            // when it was last edited. An edit row's `text` is its new
            // text; a reaction row says which emoji and whether on.
            // `reactions` is the current state, one row per user and
            // emoji, remembering the event that put it on: the order
            // users reacted in, and what a repeated reaction answers.
            let tx = self.connection.transaction()?;
            tx.execute_batch(
                "ALTER TABLE messages ADD COLUMN owner TEXT;
                 ALTER TABLE messages ADD COLUMN edited_at TEXT;
                 ALTER TABLE messages ADD COLUMN reply_to INTEGER;
                 ALTER TABLE messages ADD COLUMN reply_username TEXT;
                 ALTER TABLE messages ADD COLUMN reply_text TEXT;
                 ALTER TABLE messages ADD COLUMN emoji TEXT;
                 ALTER TABLE messages ADD COLUMN reaction_on INTEGER;
                 CREATE INDEX messages_by_target ON messages (target, kind)
                     WHERE target IS NOT NULL;
                 CREATE INDEX messages_by_reply ON messages (reply_to)
                     WHERE reply_to IS NOT NULL;
                 CREATE TABLE reactions (
                     message_id INTEGER NOT NULL,
                     emoji      TEXT NOT NULL,
                     name_key   TEXT NOT NULL,
                     username   TEXT NOT NULL,
                     event_id   INTEGER NOT NULL,
                     PRIMARY KEY (message_id, emoji, name_key)
                 ) WITHOUT ROWID;",
            )?;
            tx.pragma_update(None, "user_version", 4)?;
            tx.commit()?;
        }
        if version < 5 {
            // Issue 20. A `client_id` names one thing per room and author,
            // never across rooms: the same id sent to another room is a
            // new message there, not a resend of the first room's. A
            // version 1 file made by hand may lack the index.
            let tx = self.connection.transaction()?;
            tx.execute_batch(
                "DROP INDEX IF EXISTS messages_once;
                 CREATE UNIQUE INDEX messages_once ON messages (room, author_key, client_id)
                     WHERE client_id IS NOT NULL;",
            )?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// After a deletion: copies the WAL into the file and empties it
    /// (`wal_checkpoint(TRUNCATE)`). The WAL still holds every page as it
    /// was written before, the deleted text with it, until it is emptied;
    /// `secure_delete` has already zeroed the text in the newest pages.
    /// The deletion is committed either way, so a checkpoint that fails
    /// or cannot finish (a reader in another process, such as a `backup`
    /// running) is logged, not reported: the text then stays in the WAL
    /// until a later deletion's checkpoint empties it.
    fn forget_deleted(&self) {
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
                "SELECT id, kind FROM messages
                 WHERE room = ?1 AND author_key = ?2 AND client_id = ?3",
            )?;
            let mut original = tx.prepare_cached(
                "SELECT username, text FROM messages
                 WHERE id = ?1 AND room = ?2 AND kind = 'message' AND deleted = 0",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (room, username, author_key, text, timestamp, client_id,
                     owner, reply_to, reply_username, reply_text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut last = tx.prepare_cached(LAST_EVENT)?;
            let mut record_room = tx
                .prepare_cached("INSERT OR IGNORE INTO rooms (name, created_at) VALUES (?1, ?2)")?;
            // Each room's newest id as the batch goes: read once per room,
            // then the id just inserted.
            let mut newest: HashMap<&str, u64> = HashMap::new();
            for message in batch {
                if let Some(client_id) = &message.client_id {
                    let existing = find
                        .query_row(
                            params![message.room, message.author_key, client_id],
                            |row| Ok((read_id(row)?, row.get::<_, String>(1)?)),
                        )
                        .optional()?;
                    match existing {
                        Some((id, kind)) if kind == MESSAGE_KIND => {
                            let mut found = read_history(&tx, "m.id = ?1", params![sql_id(id)])?;
                            match found.pop() {
                                Some(HistoryItem::Message(original)) => {
                                    results.push(Appended::Duplicate(original));
                                }
                                _ => results.push(Appended::ClientIdTaken),
                            }
                            continue;
                        }
                        Some(_) => {
                            results.push(Appended::ClientIdTaken);
                            continue;
                        }
                        None => {}
                    }
                }
                let reply = match message.reply_to {
                    Some(reply_to) => {
                        let found = original
                            .query_row(params![sql_id(reply_to), message.room], |row| {
                                Ok(Quote {
                                    id: reply_to,
                                    username: row.get(0)?,
                                    text: quote_excerpt(&row.get::<_, String>(1)?),
                                    deleted: false,
                                })
                            })
                            .optional()?;
                        let Some(quote) = found else {
                            results.push(Appended::ReplyNotFound);
                            continue;
                        };
                        Some(quote)
                    }
                    None => None,
                };
                let prev = match newest.get(message.room.as_str()) {
                    Some(id) => *id,
                    None => {
                        // The room lasts from its first message on: the
                        // export and the next start list it.
                        record_room.execute(params![message.room, timestamp_now()])?;
                        last.query_row(params![message.room], read_id)?
                    }
                };
                let timestamp = timestamp_now();
                insert.execute(params![
                    message.room,
                    message.username,
                    message.author_key,
                    message.text,
                    timestamp,
                    message.client_id,
                    message.owner,
                    message.reply_to.map(sql_id),
                    reply.as_ref().map(|quote| &quote.username),
                    reply.as_ref().map(|quote| &quote.text),
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
                        reply_to: message.reply_to,
                        reply,
                        ..ChatMessage::default()
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
        let items = read_history(
            &self.connection,
            "m.room = ?1 AND m.id < ?2 AND m.kind = 'message' ORDER BY m.id DESC LIMIT ?3",
            params![room, sql_id(before), sql_limit(limit)],
        )?;
        let mut messages = only_messages(items);
        messages.reverse();
        Ok(messages)
    }

    fn page_after(
        &mut self,
        room: &str,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<ChatMessage>> {
        let items = read_history(
            &self.connection,
            "m.room = ?1 AND m.id > ?2 AND m.kind = 'message' ORDER BY m.id ASC LIMIT ?3",
            params![room, sql_id(after), sql_limit(limit)],
        )?;
        Ok(only_messages(items))
    }

    fn after(
        &mut self,
        room: &str,
        since: u64,
        through: u64,
        limit: usize,
    ) -> StoreResult<Vec<HistoryItem>> {
        Ok(read_history(
            &self.connection,
            "m.room = ?1 AND m.id > ?2 AND m.id <= ?3 AND (m.kind <> 'message' OR m.deleted = 0)
             ORDER BY m.id ASC LIMIT ?4",
            params![room, sql_id(since), sql_id(through), sql_limit(limit)],
        )?)
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

    #[cfg(test)]
    fn add_room(&mut self, name: &str) -> StoreResult<()> {
        self.connection.execute(
            "INSERT OR IGNORE INTO rooms (name, created_at) VALUES (?1, ?2)",
            params![name, timestamp_now()],
        )?;
        Ok(())
    }

    fn forget_unused_rooms(&mut self) -> StoreResult<()> {
        let tx = self.connection.transaction()?;
        // Each room that holds a message, found by skipping along the
        // index from one room to the next: one look-up per room, not a
        // read of every message.
        tx.execute(
            "WITH RECURSIVE used(name) AS (
                 SELECT min(room) FROM messages
                 UNION ALL
                 SELECT (SELECT min(room) FROM messages WHERE room > used.name)
                 FROM used WHERE used.name IS NOT NULL
             )
             INSERT OR IGNORE INTO rooms (name, created_at)
             SELECT name, ?1 FROM used WHERE name IS NOT NULL",
            params![timestamp_now()],
        )?;
        tx.execute(
            "DELETE FROM room_settings WHERE NOT locked AND topic IS NULL",
            [],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO rooms (name, created_at)
             SELECT room, ?1 FROM room_settings",
            params![timestamp_now()],
        )?;
        tx.execute(
            "DELETE FROM rooms
             WHERE NOT EXISTS (SELECT 1 FROM messages WHERE messages.room = rooms.name)
               AND NOT EXISTS (SELECT 1 FROM room_settings WHERE room_settings.room = rooms.name)",
            [],
        )?;
        Ok(tx.commit()?)
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

/// The id in the first column.
fn read_id(row: &Row<'_>) -> rusqlite::Result<u64> {
    Ok(to_id(row.get::<_, i64>(0)?))
}

/// Ids are positive; anything else reads as 0.
fn to_id(id: i64) -> u64 {
    u64::try_from(id).unwrap_or_default()
}

fn sql_id(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
