//! Copies of the history for an operator: `chat-server backup`, `export`
//! and `import`; and `rotate-join-code`, which changes the invitation code
//! in the same database.
//!
//! The copies work on an SQLite file directly, beside a running server:
//! SQLite in WAL mode lets a reader see one consistent snapshot while the
//! journal keeps committing, so nothing needs to stop. PostgreSQL has its
//! own tools for that (`pg_dump`, `pg_restore`), so only the join code is
//! changed here on either database.

mod files;

pub use files::ExportedFile;

use crate::config::Database;
use crate::history::sqlite::Sqlite;
use crate::history::store::{self, Store};
use chat_shared::is_dm_room;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

/// What an export file says it is, so `import` refuses anything else.
const EXPORT_FORMAT: &str = "websocket-chat-export";
/// The export layout this build writes. It reads every version up to it:
/// version 2 added what issue 11 keeps (owner, edits, reply snapshots,
/// reactions), all optional, so a version 1 file reads as messages that
/// were never edited, answered nothing, and carry no reactions.
/// Version 3 added each message's files.
const EXPORT_VERSION: u32 = 3;

/// An export: every message of the chosen rooms, with what `import` needs
/// to restore them as they were (ids included, so clients' `since` still
/// means the same message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    /// Always `websocket-chat-export`: `import` refuses any other file.
    pub format: String,
    /// The layout's version, 3 for files this build writes.
    pub version: u32,
    /// The exported rooms, by name.
    pub rooms: Vec<ExportedRoom>,
}

/// One room of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedRoom {
    /// The normalised room name.
    pub name: String,
    /// When the room was first joined (RFC 3339 UTC), kept on import.
    pub created_at: String,
    /// Oldest first.
    pub messages: Vec<ExportedMessage>,
}

/// One stored message, every column of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedMessage {
    /// The message's id, kept on import: clients' `since` refers to it.
    pub id: i64,
    /// The author's name as shown.
    pub username: String,
    /// The case-insensitive author key that de-duplicates resends.
    pub author_key: String,
    /// The text as stored (normalised when it was sent).
    pub text: String,
    /// Server time of the commit, RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    /// The sender's id for the message, which keeps a resend from being
    /// stored twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The hash of the author key that may edit and delete it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When `text` was last edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    /// The message this one answers, and what it showed of it: the
    /// original may be missing from the export (deleted since), the
    /// snapshot is what the reply keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_text: Option<String>,
    /// The reactions on it now, in the order they were put on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<ExportedReaction>,
    /// Its files, in order (their bytes are in the files folder).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ExportedFile>,
}

/// One user's reaction on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedReaction {
    pub emoji: String,
    /// The reacting user's name key: who may take it off again.
    pub name_key: String,
    pub username: String,
    /// The event that put it on. The event itself is not exported (nor
    /// are other changes: the export is the current state); the id keeps
    /// the order users reacted in.
    pub event_id: i64,
}

/// How `export` writes a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The file `import` reads back.
    Json,
    /// A page to read, with no scripts and nothing fetched.
    Html,
}

/// The SQLite file that `backup`, `export` and `import` (named by `task`)
/// work on, or why there is none.
pub fn sqlite_file<'a>(database: &'a Database, task: &str) -> Result<&'a Path, String> {
    match database {
        Database::Sqlite(path) => Ok(path),
        Database::Postgres(_) => Err(format!(
            "{task} works on an SQLite file; for PostgreSQL ({database}) use pg_dump/pg_restore"
        )),
    }
}

/// Opens an existing database without creating one: a mistyped `--db`
/// must fail, not back up an empty file.
fn open_existing(db: &Path) -> Result<Connection, String> {
    Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| format!("cannot open the database {}: {error}", db.display()))
}

/// Writes a consistent copy of `db` to `target`, which must not exist yet.
/// The server may be running and writing meanwhile: the copy is one
/// snapshot, holding every message committed before it began.
pub fn backup(db: &Path, target: &Path) -> Result<(), String> {
    if target.exists() {
        return Err(format!(
            "{} already exists: choose a new file for the backup",
            target.display()
        ));
    }
    let connection = open_existing(db)?;
    let target_text = target
        .to_str()
        .ok_or_else(|| format!("{} is not a valid UTF-8 path", target.display()))?;
    // VACUUM INTO reads in one transaction and writes a compact file that
    // is complete before it appears whole: a copy of the live file could
    // catch a half-checkpointed WAL.
    connection
        .execute("VACUUM INTO ?1", [target_text])
        .map_err(|error| {
            format!(
                "cannot back up {} to {}: {error}",
                db.display(),
                target_text
            )
        })?;
    Ok(())
}

/// Reads the history of one room (or, with `None`, of every room) in one
/// snapshot. Direct-message rooms only with `include_dms`: the operator
/// who exports a chat's rooms does not get its private talk by default.
pub fn read_export(db: &Path, room: Option<&str>, include_dms: bool) -> Result<Export, String> {
    if let Some(name) = room.filter(|name| is_dm_room(name) && !include_dms) {
        return Err(format!(
            "{name:?} is a direct-message room: add --include-dms to export it"
        ));
    }
    let mut connection = open_existing(db)?;
    let failed = |error: rusqlite::Error| format!("cannot read {}: {error}", db.display());
    // One read transaction: the rooms and their messages are from the same
    // moment, however busy the server is.
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .map_err(failed)?;
    let names: Vec<(String, String)> = match room {
        Some(name) => {
            let created_at = tx
                .query_row(
                    "SELECT created_at FROM rooms WHERE name = ?1",
                    [name],
                    |row| row.get(0),
                )
                .optional()
                .map_err(failed)?
                .ok_or_else(|| format!("there is no room named {name:?} in {}", db.display()))?;
            vec![(name.to_owned(), created_at)]
        }
        None => {
            let mut query = tx
                .prepare("SELECT name, created_at FROM rooms ORDER BY name")
                .map_err(failed)?;
            let rows = query
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(failed)?;
            let names: Vec<(String, String)> =
                rows.collect::<rusqlite::Result<_>>().map_err(failed)?;
            names
                .into_iter()
                .filter(|(name, _)| include_dms || !is_dm_room(name))
                .collect()
        }
    };
    let mut rooms = Vec::with_capacity(names.len());
    {
        let mut query = tx
            .prepare(
                "SELECT id, username, author_key, text, timestamp, client_id, owner, edited_at,
                     reply_to, reply_username, reply_text
                 FROM messages
                 WHERE room = ?1 AND kind = 'message' AND deleted = 0 ORDER BY id",
            )
            .map_err(failed)?;
        // Deleted messages have no reactions left, so the room is enough.
        let mut reactions = tx
            .prepare(
                "SELECT r.message_id, r.emoji, r.name_key, r.username, r.event_id
                 FROM reactions r JOIN messages m ON m.id = r.message_id
                 WHERE m.room = ?1 ORDER BY r.message_id, r.event_id",
            )
            .map_err(failed)?;
        for (name, created_at) in names {
            let mut messages = query
                .query_map([&name], |row| {
                    Ok(ExportedMessage {
                        id: row.get(0)?,
                        username: row.get(1)?,
                        author_key: row.get(2)?,
                        text: row.get(3)?,
                        timestamp: row.get(4)?,
                        client_id: row.get(5)?,
                        owner: row.get(6)?,
                        edited_at: row.get(7)?,
                        reply_to: row.get(8)?,
                        reply_username: row.get(9)?,
                        reply_text: row.get(10)?,
                        reactions: Vec::new(),
                        files: Vec::new(),
                    })
                })
                .map_err(failed)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(failed)?;
            let index: HashMap<i64, usize> = messages
                .iter()
                .enumerate()
                .map(|(at, message)| (message.id, at))
                .collect();
            let rows = reactions
                .query_map([&name], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        ExportedReaction {
                            emoji: row.get(1)?,
                            name_key: row.get(2)?,
                            username: row.get(3)?,
                            event_id: row.get(4)?,
                        },
                    ))
                })
                .map_err(failed)?;
            for row in rows {
                let (message_id, reaction) = row.map_err(failed)?;
                if let Some(&at) = index.get(&message_id) {
                    messages[at].reactions.push(reaction);
                }
            }
            let mut with_files = files::read(&tx, &name).map_err(failed)?;
            for message in &mut messages {
                message.files = with_files.remove(&message.id).unwrap_or_default();
            }
            rooms.push(ExportedRoom {
                name,
                created_at,
                messages,
            });
        }
    }
    tx.finish().map_err(failed)?;
    Ok(Export {
        format: EXPORT_FORMAT.to_owned(),
        version: EXPORT_VERSION,
        rooms,
    })
}

/// The export as text in the chosen format.
pub fn render(export: &Export, format: ExportFormat) -> Result<String, String> {
    match format {
        ExportFormat::Json => serde_json::to_string_pretty(export)
            .map(|mut text| {
                text.push('\n');
                text
            })
            .map_err(|error| format!("cannot write the export: {error}")),
        ExportFormat::Html => Ok(html(export)),
    }
}

/// A self-contained page: inline style, no script, every text escaped.
fn html(export: &Export) -> String {
    let title = match export.rooms.as_slice() {
        [room] => format!("#{} — WebSocket Chat", room.name),
        _ => "WebSocket Chat history".to_owned(),
    };
    let mut page = String::new();
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>\n\
         body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}\n\
         ol {{ list-style: none; padding: 0; }}\n\
         li {{ margin: .4rem 0; }}\n\
         time {{ color: #777; font-size: .85em; margin-right: .5em; }}\n\
         .text {{ white-space: pre-wrap; overflow-wrap: anywhere; }}\n\
         blockquote {{ margin: 0 0 .1rem 1rem; color: #555; font-size: .9em; }}\n\
         </style>\n</head>\n<body>\n",
        escape(&title)
    );
    for room in &export.rooms {
        let _ = writeln!(
            page,
            "<section>\n<h1>#{}</h1>\n<p>{} messages</p>\n<ol>",
            escape(&room.name),
            room.messages.len()
        );
        for message in &room.messages {
            let reply = match (&message.reply_username, &message.reply_text) {
                (Some(username), Some(text)) => format!(
                    "<blockquote>{}: {}</blockquote>",
                    escape(username),
                    escape(text)
                ),
                _ => String::new(),
            };
            let edited = if message.edited_at.is_some() {
                " <i>(edited)</i>"
            } else {
                ""
            };
            let reactions: String = message
                .reactions
                .iter()
                .map(|reaction| format!(" {}", escape(&reaction.emoji)))
                .collect();
            let _ = writeln!(
                page,
                "<li id=\"m{}\">{reply}<time datetime=\"{ts}\">{ts}</time><b>{}</b>: <span class=\"text\">{}</span>{edited}{reactions}</li>",
                message.id,
                escape(&message.username),
                escape(&message.text),
                ts = escape(&message.timestamp),
            );
        }
        page.push_str("</ol>\n</section>\n");
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// Escapes text for HTML content and quoted attributes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Restores an export into `db`, created if missing. Refuses a database
/// that already holds rooms or messages: merging histories would renumber
/// one of them, and a restore must give back exactly what was exported.
pub fn import(db: &Path, export_text: &str) -> Result<usize, String> {
    let export: Export =
        serde_json::from_str(export_text).map_err(|error| format!("not a chat export: {error}"))?;
    if export.format != EXPORT_FORMAT {
        return Err(format!(
            "not a chat export: the format is {:?}, expected {EXPORT_FORMAT:?}",
            export.format
        ));
    }
    if !(1..=EXPORT_VERSION).contains(&export.version) {
        return Err(format!(
            "this build reads export versions 1 to {EXPORT_VERSION}, the file is version {}",
            export.version
        ));
    }
    // Creates and migrates the schema, exactly as the server would.
    drop(
        Sqlite::open(db)
            .map_err(|error| format!("cannot open the database {}: {error}", db.display()))?,
    );
    let mut connection = open_existing(db)?;
    let failed = |error: rusqlite::Error| format!("cannot import into {}: {error}", db.display());
    // Immediate: a server starting on the file meanwhile cannot slip in
    // between the emptiness check and the inserts.
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed)?;
    let (messages, rooms): (i64, i64) = tx
        .query_row(
            "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM rooms)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(failed)?;
    if messages > 0 || rooms > 0 {
        return Err(format!(
            "{} already holds {messages} messages in {rooms} rooms: \
             import restores only into an empty database (give --db a new file)",
            db.display()
        ));
    }
    let mut imported = 0;
    {
        let mut add_room = tx
            .prepare("INSERT INTO rooms (name, created_at) VALUES (?1, ?2)")
            .map_err(failed)?;
        let mut add_message = tx
            .prepare(
                "INSERT INTO messages (id, room, username, author_key, text, timestamp, client_id,
                     owner, edited_at, reply_to, reply_username, reply_text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .map_err(failed)?;
        let mut add_reaction = tx
            .prepare(
                "INSERT INTO reactions (message_id, emoji, name_key, username, event_id)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(failed)?;
        for room in &export.rooms {
            add_room
                .execute(params![room.name, room.created_at])
                .map_err(failed)?;
            for message in &room.messages {
                add_message
                    .execute(params![
                        message.id,
                        room.name,
                        message.username,
                        message.author_key,
                        message.text,
                        message.timestamp,
                        message.client_id,
                        message.owner,
                        message.edited_at,
                        message.reply_to,
                        message.reply_username,
                        message.reply_text,
                    ])
                    .map_err(failed)?;
                for reaction in &message.reactions {
                    add_reaction
                        .execute(params![
                            message.id,
                            reaction.emoji,
                            reaction.name_key,
                            reaction.username,
                            reaction.event_id,
                        ])
                        .map_err(failed)?;
                }
                files::add(&tx, &room.name, message.id, &message.files).map_err(failed)?;
                imported += 1;
            }
        }
    }
    // A reaction remembers the event that put it on, which the export
    // leaves out: new ids must still come after it, or a later event
    // would share its id.
    tx.execute(
        "UPDATE sqlite_sequence SET seq = (SELECT max(event_id) FROM reactions)
         WHERE name = 'messages' AND seq < (SELECT max(event_id) FROM reactions)",
        [],
    )
    .map_err(failed)?;
    // The imported messages are not in the search index: they are its
    // backlog, which the server indexes in the background.
    tx.execute(
        "UPDATE search_backlog SET below = (SELECT coalesce(max(id), 0) + 1 FROM messages)",
        [],
    )
    .map_err(failed)?;
    tx.commit().map_err(failed)?;
    Ok(imported)
}

/// Bytes of randomness in a generated join code: 192 bits, 32 characters
/// once encoded, beyond any guessing over the network.
const JOIN_CODE_BYTES: usize = 24;

/// Puts a fresh random invitation code in force in the database (created
/// if missing) and returns it; with `off`, makes the chat open again and
/// returns `None`. A running server reads the code on every join, so the
/// change needs no restart.
pub fn rotate_join_code(database: &Database, off: bool) -> Result<Option<String>, String> {
    use base64::Engine as _;
    let mut store: Box<dyn Store> = match database {
        Database::Sqlite(db) => {
            let store = Sqlite::open(db)
                .map_err(|error| format!("cannot open the database {}: {error}", db.display()))?;
            // The running server's journal may hold the write lock for a moment.
            store
                .wait_when_busy(std::time::Duration::from_secs(5))
                .map_err(|error| format!("cannot set a busy timeout: {error}"))?;
            Box::new(store)
        }
        Database::Postgres(_) => store::open(database)
            .map_err(|error| format!("cannot open the database {database}: {error}"))?,
    };
    let code = if off {
        None
    } else {
        let mut bytes = [0u8; JOIN_CODE_BYTES];
        getrandom::fill(&mut bytes).map_err(|error| format!("no randomness: {error}"))?;
        Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    };
    store
        .set_join_code(code.as_deref())
        .map_err(|error| format!("cannot store the join code in {database}: {error}"))?;
    Ok(code)
}

#[cfg(test)]
mod tests;
