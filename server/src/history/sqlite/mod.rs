//! The history in an embedded SQLite database: the single-node default.
//!
//! Only the journal thread touches the connection, so there is no pool and
//! no locking here: plain synchronous calls. The database runs in WAL mode
//! with `synchronous = FULL`, so a committed message survives a crash of
//! the process or of the machine. One writer also means ids are committed
//! in order, as [`Messages`] requires, with nothing more to do.

mod changes;
mod moderation;

use crate::history::changes::{add_reaction, EDITED_KIND, REACTION_KIND};
use crate::history::store::{
    sha256_hex, timestamp_now, Appended, Messages, NewMessage, StoreResult, DELETED_KIND,
    JOIN_CODE_SETTING, MESSAGE_KIND,
};
use chat_shared::{
    quote_excerpt, Change, ChatMessage, Deletion, Edit, HistoryItem, Quote, Reaction,
};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashMap;
use std::path::Path;

/// The schema version this build writes; older databases are migrated on open.
const SCHEMA_VERSION: i64 = 4;

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
                "SELECT id, kind FROM messages WHERE author_key = ?1 AND client_id = ?2",
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
            // Each room's newest id as the batch goes: read once per room,
            // then the id just inserted.
            let mut newest: HashMap<&str, u64> = HashMap::new();
            for message in batch {
                if let Some(client_id) = &message.client_id {
                    let existing = find
                        .query_row(params![message.author_key, client_id], |row| {
                            Ok((read_id(row)?, row.get::<_, String>(1)?))
                        })
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

/// What every history read selects: a row, and of the rows it points at
/// whether they are deleted (the original a reply quotes, the message a
/// change targets). An original that is missing (not exported) reads as
/// deleted. `m` is the row; the caller adds the condition and order.
const HISTORY_ROW: &str = "SELECT m.id, m.kind, m.username, m.text, m.timestamp, m.client_id,
        m.edited_at, m.deleted, m.reply_to, m.reply_username, m.reply_text,
        coalesce(o.deleted, 1), m.target, m.emoji, m.reaction_on, coalesce(t.deleted, 0)
    FROM messages m
    LEFT JOIN messages o ON o.id = m.reply_to
    LEFT JOIN messages t ON t.id = m.target
    WHERE ";

/// The rows matching `condition` (on [`HISTORY_ROW`]'s `m`), messages
/// in their current state with their reactions.
fn read_history(
    connection: &Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<HistoryItem>> {
    let mut query = connection.prepare_cached(&format!("{HISTORY_ROW}{condition}"))?;
    let mut items = query
        .query_map(params, read_item)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_reactions(connection, &mut items)?;
    Ok(items)
}

/// The messages of a read that asked only for messages.
fn only_messages(items: Vec<HistoryItem>) -> Vec<ChatMessage> {
    items
        .into_iter()
        .filter_map(|item| match item {
            HistoryItem::Message(message) => Some(message),
            HistoryItem::Change(_) => None,
        })
        .collect()
}

/// One row of [`HISTORY_ROW`] as what it is: a message or a change.
fn read_item(row: &Row<'_>) -> rusqlite::Result<HistoryItem> {
    let kind: String = row.get(1)?;
    let id = read_id(row)?;
    let username = row.get(2)?;
    let client_id = row.get(5)?;
    let target = to_id(row.get::<_, Option<i64>>(12)?.unwrap_or_default());
    let change = match kind.as_str() {
        MESSAGE_KIND => return read_message(row).map(HistoryItem::Message),
        EDITED_KIND => Change::MessageEdited(Edit {
            id,
            target,
            // Wiped with the message: a replay must not bring it back.
            text: (!row.get::<_, bool>(15)?).then(|| row.get(3)).transpose()?,
            edited_at: row.get(4)?,
            username,
            client_id,
        }),
        DELETED_KIND => Change::MessageDeleted(Deletion {
            id,
            target,
            username,
            client_id,
        }),
        REACTION_KIND => Change::Reaction(Reaction {
            id,
            target,
            emoji: row.get::<_, Option<String>>(13)?.unwrap_or_default(),
            on: row.get::<_, Option<bool>>(14)?.unwrap_or_default(),
            username,
            client_id,
        }),
        other => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                1,
                Type::Text,
                format!("row {id} is of an unknown kind {other:?}").into(),
            ))
        }
    };
    Ok(HistoryItem::Change(change))
}

/// A message row of [`HISTORY_ROW`] in its current state, reactions
/// still to be added. A deleted one is a tombstone: who and when, the
/// id it answered, nothing it said or quoted.
fn read_message(row: &Row<'_>) -> rusqlite::Result<ChatMessage> {
    let deleted: bool = row.get(7)?;
    let reply_to = row.get::<_, Option<i64>>(8)?.map(to_id);
    let reply = match (deleted, reply_to, row.get::<_, Option<String>>(9)?) {
        (false, Some(id), Some(username)) => {
            let original_deleted: bool = row.get(11)?;
            Some(Quote {
                id,
                username,
                text: if original_deleted {
                    String::new()
                } else {
                    row.get::<_, Option<String>>(10)?.unwrap_or_default()
                },
                deleted: original_deleted,
            })
        }
        _ => None,
    };
    Ok(ChatMessage {
        id: read_id(row)?,
        username: row.get(2)?,
        text: row.get(3)?,
        timestamp: row.get(4)?,
        client_id: row.get(5)?,
        edited_at: if deleted { None } else { row.get(6)? },
        deleted,
        reply_to,
        reply,
        reactions: Vec::new(),
    })
}

/// Adds their reactions to the messages among `items`, with one query
/// over the id range they span (reactions on other rooms' messages in
/// that range are read and skipped: fewer than a query per message).
fn attach_reactions(connection: &Connection, items: &mut [HistoryItem]) -> rusqlite::Result<()> {
    let mut messages: HashMap<u64, &mut ChatMessage> = items
        .iter_mut()
        .filter_map(|item| match item {
            HistoryItem::Message(message) if !message.deleted => Some((message.id, message)),
            _ => None,
        })
        .collect();
    let (Some(low), Some(high)) = (messages.keys().min(), messages.keys().max()) else {
        return Ok(());
    };
    let mut query = connection.prepare_cached(
        "SELECT r.message_id, r.emoji, r.username FROM reactions r
         WHERE r.message_id BETWEEN ?1 AND ?2
         ORDER BY r.message_id, r.event_id",
    )?;
    let rows = query.query_map(params![sql_id(*low), sql_id(*high)], |row| {
        Ok((read_id(row)?, row.get::<_, String>(1)?, row.get(2)?))
    })?;
    for row in rows {
        let (id, emoji, username) = row?;
        if let Some(message) = messages.get_mut(&id) {
            add_reaction(&mut message.reactions, emoji, username);
        }
    }
    Ok(())
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

/// What only SQLite does: files, WAL, its own migrations. What every
/// store does is in [`crate::history::conformance`].
#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::changes::{owner_hash, Action, ChangeRequest, Changed, Changes, Refusal};
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

    #[test]
    fn a_version_3_database_gains_edits_replies_and_reactions() {
        let path = temp_db("v3");
        {
            let mut store = Sqlite::open(&path).expect("create");
            store
                .append(&[message("general", "bob", "from before", Some("c1"))])
                .expect("append");
            // Back to version 3: what a build before issue 11 left.
            store
                .connection
                .execute_batch(
                    "DROP TABLE reactions;
                     DROP INDEX messages_by_target;
                     DROP INDEX messages_by_reply;
                     ALTER TABLE messages DROP COLUMN owner;
                     ALTER TABLE messages DROP COLUMN edited_at;
                     ALTER TABLE messages DROP COLUMN reply_to;
                     ALTER TABLE messages DROP COLUMN reply_username;
                     ALTER TABLE messages DROP COLUMN reply_text;
                     ALTER TABLE messages DROP COLUMN emoji;
                     ALTER TABLE messages DROP COLUMN reaction_on;
                     PRAGMA user_version = 3;",
                )
                .expect("a version 3 schema");
        }
        let mut store = Sqlite::open(&path).expect("migrate");
        let old = store.page_before("general", u64::MAX, 10).expect("page");
        assert_eq!(old.len(), 1);
        assert_eq!(
            (old[0].text.as_str(), old[0].edited_at.as_deref()),
            ("from before", None)
        );
        let request = |action| ChangeRequest {
            room: "general".into(),
            target: old[0].id,
            username: "bob".into(),
            name_key: "bob".into(),
            client_id: None,
            owner: Some(owner_hash("bob-secret-author-key")),
            moderator: false,
            action,
        };
        let edit = Action::Edit {
            text: Some("rewritten".into()),
            window_start: String::new(),
        };
        assert_eq!(
            store.change(&request(edit)),
            Ok(Changed::Refused(Refusal::Forbidden)),
            "a message from before has no owner"
        );
        let react = Action::React {
            emoji: Some("👍".into()),
            on: true,
        };
        assert!(matches!(
            store.change(&request(react)),
            Ok(Changed::New { .. })
        ));
        let reply = NewMessage {
            reply_to: Some(old[0].id),
            ..message("general", "alice", "answer", None)
        };
        assert!(matches!(
            store.append(&[reply]).expect("reply").as_slice(),
            [Appended::New { .. }]
        ));
        let version: i64 = store
            .connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        drop(store);
        std::fs::remove_file(&path).ok();
    }
}
