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

mod changes;
mod moderation;
mod read;

use crate::history::store::{
    sha256_hex, timestamp_now, Appended, Messages, NewMessage, StoreError, StoreResult,
    JOIN_CODE_SETTING, MESSAGE_KIND,
};
use chat_shared::{quote_excerpt, ChatMessage, HistoryItem, Quote};
use postgres::{Client, GenericClient, NoTls, Transaction};
use read::{only_messages, read_history};
use std::collections::BTreeMap;
use std::time::Duration;

/// The schema version this build writes; older databases are migrated on
/// open. PostgreSQL's schema has its own numbering, separate from SQLite's.
const SCHEMA_VERSION: i32 = 3;

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
pub enum OpenError {
    /// The URL is not one PostgreSQL's client understands.
    Url(String),
    /// PostgreSQL could not be reached, or refused to create or migrate
    /// the schema.
    Postgres(postgres::Error),
    /// A newer build wrote it: this one would not know its tables, and
    /// writing to them could corrupt them, so it refuses (a downgrade).
    Newer { found: i32, known: i32 },
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Url(error) => write!(f, "not a PostgreSQL URL: {error}"),
            Self::Postgres(error) => f.write_str(&describe(error)),
            Self::Newer { found, known } => write!(
                f,
                "its schema is version {found}, newer than the version {known} this \
                 chat-server knows (a downgrade): run the newer chat-server that wrote it, \
                 or restore a dump made before the upgrade; the database was left unchanged"
            ),
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
pub struct Postgres {
    /// Where to connect again when the connection is lost.
    config: postgres::Config,
    /// The connection; `None` after a call failed or a reconnect did, so
    /// the next call connects afresh. Shared with `moderation`.
    client: Option<Client>,
}

impl Postgres {
    /// Connects to `url` and creates or migrates the schema. Fails when
    /// PostgreSQL cannot be reached: a server should not start without
    /// its history.
    pub fn open(url: &str) -> Result<Self, OpenError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|error: postgres::Error| OpenError::Url(error.to_string()))?;
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(DEAD_PEER_TIMEOUT)
            .tcp_user_timeout(DEAD_PEER_TIMEOUT);
        let mut client = config.connect(NoTls)?;
        migrate(&mut client)?;
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
        return Err(OpenError::Newer {
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found < 1 {
        // SQLite's version 3 schema, with PostgreSQL's types. Changes to
        // messages are rows of their own in the same id sequence (`kind`
        // says which, `target` what they change), so a `since` replay
        // finds them in order; `deleted` keeps a message's state cheap to
        // read. `rooms.last_id` is the room's newest event: its row lock
        // is what orders a room's events across nodes.
        tx.batch_execute(
            "CREATE TABLE messages (
                 id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 room       TEXT NOT NULL,
                 username   TEXT NOT NULL,
                 author_key TEXT NOT NULL,
                 text       TEXT NOT NULL,
                 timestamp  TEXT NOT NULL,
                 client_id  TEXT,
                 kind       TEXT NOT NULL DEFAULT 'message',
                 target     BIGINT,
                 deleted    BOOLEAN NOT NULL DEFAULT false
             );
             CREATE INDEX messages_by_room ON messages (room, id);
             CREATE UNIQUE INDEX messages_once ON messages (author_key, client_id)
                 WHERE client_id IS NOT NULL;
             CREATE INDEX messages_events ON messages (room, id) WHERE kind <> 'message';
             CREATE TABLE rooms (
                 name       TEXT PRIMARY KEY,
                 created_at TEXT NOT NULL,
                 last_id    BIGINT NOT NULL DEFAULT 0
             );
             CREATE TABLE settings (
                 name  TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             );
             CREATE TABLE bans (
                 id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 name_key  TEXT NOT NULL,
                 addresses TEXT NOT NULL,
                 until_ms  BIGINT NOT NULL
             );
             CREATE TABLE room_settings (
                 room   TEXT PRIMARY KEY,
                 locked BOOLEAN NOT NULL DEFAULT false,
                 topic  TEXT
             );
             CREATE TABLE audit (
                 id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 at        TEXT NOT NULL,
                 moderator TEXT NOT NULL,
                 action    TEXT NOT NULL,
                 target    TEXT NOT NULL,
                 detail    TEXT
             );
             INSERT INTO schema_version (version) VALUES (1);",
        )?;
    }
    if found < 2 {
        // Issue 11, as SQLite's version 4: who may change a message
        // (`owner`, the hash of its author key), its reply snapshot, when
        // it was last edited; an edit row's `text` is its new text, a
        // reaction row's `emoji` and `reaction_on` what it did; and
        // `reactions`, the current ones, each with the event that put it
        // on (the order users reacted in, what a repeat answers).
        tx.batch_execute(
            "ALTER TABLE messages
                 ADD COLUMN owner          TEXT,
                 ADD COLUMN edited_at      TEXT,
                 ADD COLUMN reply_to       BIGINT,
                 ADD COLUMN reply_username TEXT,
                 ADD COLUMN reply_text     TEXT,
                 ADD COLUMN emoji          TEXT,
                 ADD COLUMN reaction_on    BOOLEAN;
             CREATE INDEX messages_by_target ON messages (target, kind)
                 WHERE target IS NOT NULL;
             CREATE INDEX messages_by_reply ON messages (reply_to)
                 WHERE reply_to IS NOT NULL;
             CREATE TABLE reactions (
                 message_id BIGINT NOT NULL,
                 emoji      TEXT NOT NULL,
                 name_key   TEXT NOT NULL,
                 username   TEXT NOT NULL,
                 event_id   BIGINT NOT NULL,
                 PRIMARY KEY (message_id, emoji, name_key)
             );
             INSERT INTO schema_version (version) VALUES (2);",
        )?;
    }
    if found < 3 {
        // Issue 20, as SQLite's version 5: a `client_id` names one thing
        // per room and author, never across rooms.
        tx.batch_execute(
            "DROP INDEX IF EXISTS messages_once;
             CREATE UNIQUE INDEX messages_once ON messages (room, author_key, client_id)
                 WHERE client_id IS NOT NULL;
             INSERT INTO schema_version (version) VALUES (3);",
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Creates the rows of `rooms` that do not exist yet and locks them all
/// until commit, returning each room's newest event id. Sorted, so two
/// nodes locking the same rooms take them in the same order and never
/// deadlock; the lock is what makes the room's next id and its `prev`
/// one transaction's alone.
pub(super) fn lock_rooms(
    tx: &mut Transaction<'_>,
    rooms: &[&str],
) -> Result<BTreeMap<String, i64>, postgres::Error> {
    let mut names: Vec<&str> = rooms.to_vec();
    names.sort_unstable();
    names.dedup();
    let created_at = timestamp_now();
    for name in &names {
        tx.execute(
            "INSERT INTO rooms (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[name, &created_at],
        )?;
    }
    let rows = tx.query(
        "SELECT name, last_id FROM rooms WHERE name = ANY($1) ORDER BY name FOR UPDATE",
        &[&names],
    )?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

/// Moves each room's `last_id` to its newest event, before commit: once a
/// reader sees it, every event up to it is committed too.
pub(super) fn store_last_ids(
    tx: &mut Transaction<'_>,
    last_ids: &BTreeMap<String, i64>,
) -> Result<(), postgres::Error> {
    for (name, last_id) in last_ids {
        tx.execute(
            "UPDATE rooms SET last_id = $2 WHERE name = $1 AND last_id < $2",
            &[name, last_id],
        )?;
    }
    Ok(())
}

/// The row of the room with this author's `client_id`, if any: its id
/// and kind.
pub(super) fn find_client_id(
    tx: &mut Transaction<'_>,
    room: &str,
    author_key: &str,
    client_id: &str,
) -> Result<Option<(i64, String)>, postgres::Error> {
    tx.query_opt(
        "SELECT id, kind FROM messages WHERE room = $1 AND author_key = $2 AND client_id = $3",
        &[&room, &author_key, &client_id],
    )?
    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
    .transpose()
}

/// What an existing row with the message's `client_id` makes of it: the
/// original message in its current state, or a refusal when the id
/// named a change.
fn already_sent(tx: &mut Transaction<'_>, (id, kind): (i64, String)) -> StoreResult<Appended> {
    if kind != MESSAGE_KIND {
        return Ok(Appended::ClientIdTaken);
    }
    Ok(match read_history(tx, "m.id = $1", &[&id])?.pop() {
        Some(HistoryItem::Message(original)) => Appended::Duplicate(original),
        _ => Appended::ClientIdTaken,
    })
}

/// The quote a reply to `reply_to` in `room` keeps, if that is a message
/// of the room that is not deleted.
fn quote_for(
    tx: &mut Transaction<'_>,
    room: &str,
    reply_to: u64,
) -> Result<Option<Quote>, postgres::Error> {
    tx.query_opt(
        "SELECT username, text FROM messages
         WHERE id = $1 AND room = $2 AND kind = 'message' AND NOT deleted",
        &[&sql_id(reply_to), &room],
    )?
    .map(|row| {
        Ok(Quote {
            id: reply_to,
            username: row.try_get(0)?,
            text: quote_excerpt(row.try_get(1)?),
            deleted: false,
        })
    })
    .transpose()
}

impl Messages for Postgres {
    fn append(&mut self, batch: &[NewMessage]) -> StoreResult<Vec<Appended>> {
        self.run(|client| {
            let mut tx = client.transaction()?;
            let rooms: Vec<&str> = batch.iter().map(|message| message.room.as_str()).collect();
            let mut last_ids = lock_rooms(&mut tx, &rooms)?;
            let mut results = Vec::with_capacity(batch.len());
            for message in batch {
                if let Some(client_id) = &message.client_id {
                    let existing =
                        find_client_id(&mut tx, &message.room, &message.author_key, client_id)?;
                    if let Some(existing) = existing {
                        results.push(already_sent(&mut tx, existing)?);
                        continue;
                    }
                }
                // The room's lock keeps the original from being deleted
                // before this commits: a reply is in the same room.
                let reply = match message.reply_to {
                    Some(reply_to) => match quote_for(&mut tx, &message.room, reply_to)? {
                        Some(quote) => Some(quote),
                        None => {
                            results.push(Appended::ReplyNotFound);
                            continue;
                        }
                    },
                    None => None,
                };
                let timestamp = timestamp_now();
                // The room's lock keeps another node from storing the same
                // `client_id` in this room since the check; should the
                // index still find one, nothing is inserted, the original
                // is the answer, and the batch goes on.
                let inserted = tx.query_opt(
                    "INSERT INTO messages (room, username, author_key, text, timestamp, client_id,
                         owner, reply_to, reply_username, reply_text)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT DO NOTHING RETURNING id",
                    &[
                        &message.room,
                        &message.username,
                        &message.author_key,
                        &message.text,
                        &timestamp,
                        &message.client_id,
                        &message.owner,
                        &message.reply_to.map(sql_id),
                        &reply.as_ref().map(|quote| &quote.username),
                        &reply.as_ref().map(|quote| &quote.text),
                    ],
                )?;
                let Some(row) = inserted else {
                    let existing = match &message.client_id {
                        Some(client_id) => {
                            find_client_id(&mut tx, &message.room, &message.author_key, client_id)?
                        }
                        None => None,
                    };
                    let Some(existing) = existing else {
                        return Err(StoreError(
                            "a message insert conflicted with no stored client_id".to_owned(),
                        ));
                    };
                    results.push(already_sent(&mut tx, existing)?);
                    continue;
                };
                let id: i64 = row.try_get(0)?;
                let prev = last_ids
                    .insert(message.room.clone(), id)
                    .unwrap_or_default();
                results.push(Appended::New {
                    message: ChatMessage {
                        id: from_sql_id(id),
                        username: message.username.clone(),
                        text: message.text.clone(),
                        timestamp,
                        client_id: message.client_id.clone(),
                        reply_to: message.reply_to,
                        reply,
                        ..ChatMessage::default()
                    },
                    prev: from_sql_id(prev),
                });
            }
            store_last_ids(&mut tx, &last_ids)?;
            tx.commit()?;
            Ok(results)
        })
    }

    fn last_event(&mut self, room: &str) -> StoreResult<u64> {
        self.run(|client| {
            let last: Option<i64> = client
                .query_opt("SELECT last_id FROM rooms WHERE name = $1", &[&room])?
                .map(|row| row.try_get(0))
                .transpose()?;
            Ok(from_sql_id(last.unwrap_or_default()))
        })
    }

    fn page_before(
        &mut self,
        room: &str,
        before: u64,
        limit: usize,
    ) -> StoreResult<Vec<ChatMessage>> {
        self.run(|client| {
            let items = read_history(
                client,
                "m.room = $1 AND m.id < $2 AND m.kind = 'message' ORDER BY m.id DESC LIMIT $3",
                &[&room, &sql_id(before), &sql_limit(limit)],
            )?;
            let mut messages = only_messages(items);
            messages.reverse();
            Ok(messages)
        })
    }

    fn page_after(
        &mut self,
        room: &str,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<ChatMessage>> {
        self.run(|client| {
            let items = read_history(
                client,
                "m.room = $1 AND m.id > $2 AND m.kind = 'message' ORDER BY m.id ASC LIMIT $3",
                &[&room, &sql_id(after), &sql_limit(limit)],
            )?;
            Ok(only_messages(items))
        })
    }

    fn after(
        &mut self,
        room: &str,
        since: u64,
        through: u64,
        limit: usize,
    ) -> StoreResult<Vec<HistoryItem>> {
        self.run(|client| {
            read_history(
                client,
                "m.room = $1 AND m.id > $2 AND m.id <= $3 AND (m.kind <> 'message' OR NOT m.deleted)
                 ORDER BY m.id ASC LIMIT $4",
                &[&room, &sql_id(since), &sql_id(through), &sql_limit(limit)],
            )
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

    fn rooms(&mut self) -> StoreResult<Vec<String>> {
        self.run(|client| {
            Ok(client
                .query("SELECT name FROM rooms ORDER BY name", &[])?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<Vec<_>, _>>()?)
        })
    }

    #[cfg(test)]
    fn add_room(&mut self, name: &str) -> StoreResult<()> {
        self.run(|client| {
            client.execute(
                "INSERT INTO rooms (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&name, &timestamp_now()],
            )?;
            Ok(())
        })
    }

    fn forget_unused_rooms(&mut self) -> StoreResult<()> {
        // Every message's room has its row already: the row is what
        // orders the room's events ([`lock_rooms`]).
        self.run(|client| {
            let mut tx = client.transaction()?;
            tx.execute(
                "DELETE FROM room_settings WHERE NOT locked AND topic IS NULL",
                &[],
            )?;
            tx.execute(
                "INSERT INTO rooms (name, created_at) SELECT room, $1 FROM room_settings
                 ON CONFLICT DO NOTHING",
                &[&timestamp_now()],
            )?;
            tx.execute(
                "DELETE FROM rooms
                 WHERE NOT EXISTS (SELECT 1 FROM messages WHERE messages.room = rooms.name)
                   AND NOT EXISTS (SELECT 1 FROM room_settings WHERE room_settings.room = rooms.name)",
                &[],
            )?;
            Ok(tx.commit()?)
        })
    }

    fn set_join_code(&mut self, code: Option<&str>) -> StoreResult<()> {
        self.run(|client| match code {
            Some(code) => Ok(set_setting(client, JOIN_CODE_SETTING, &sha256_hex(code))?),
            None => {
                client.execute(
                    "DELETE FROM settings WHERE name = $1",
                    &[&JOIN_CODE_SETTING],
                )?;
                Ok(())
            }
        })
    }

    fn join_code_hash(&mut self) -> StoreResult<Option<String>> {
        self.run(|client| Ok(setting(client, JOIN_CODE_SETTING)?))
    }
}

fn set_setting(
    client: &mut impl GenericClient,
    name: &str,
    value: &str,
) -> Result<(), postgres::Error> {
    client.execute(
        "INSERT INTO settings (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &[&name, &value],
    )?;
    Ok(())
}

fn setting(client: &mut impl GenericClient, name: &str) -> Result<Option<String>, postgres::Error> {
    client
        .query_opt("SELECT value FROM settings WHERE name = $1", &[&name])?
        .map(|row| row.try_get(0))
        .transpose()
}

/// Ids are positive BIGINTs; anything else reads as 0, like SQLite's.
fn from_sql_id(id: i64) -> u64 {
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
