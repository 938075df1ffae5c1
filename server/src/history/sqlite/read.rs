//! Reading the history back: every read selects the same columns
//! ([`HISTORY_ROW`]) and turns each row into a message in its current
//! state, with its reactions, or into a change.

use super::{read_id, sql_id, to_id};
use crate::history::changes::{add_reaction, EDITED_KIND, REACTION_KIND};
use crate::history::store::{DELETED_KIND, MESSAGE_KIND};
use chat_shared::{Change, ChatMessage, Deletion, Edit, HistoryItem, Quote, Reaction};
use rusqlite::types::Type;
use rusqlite::{params, Connection, Row};
use std::collections::{BTreeMap, HashMap};

/// What every history read selects: a row, and of the rows it points at
/// whether they are deleted (the original a reply quotes, the message a
/// change targets). An original that is missing (not exported) reads as
/// deleted. `m` is the row; the caller adds the condition and order.
const HISTORY_ROW: &str = "SELECT m.id, m.kind, m.username, m.text, m.timestamp, m.client_id,
        m.edited_at, m.deleted, m.reply_to, m.reply_username, m.reply_text,
        coalesce(o.deleted, 1), m.target, m.emoji, m.reaction_on, coalesce(t.deleted, 0),
        m.room
    FROM messages m
    LEFT JOIN messages o ON o.id = m.reply_to
    LEFT JOIN messages t ON t.id = m.target
    WHERE ";

/// The column after [`HISTORY_ROW`]'s that names the row's room: what a
/// read's reactions are looked up by.
const ROOM_COLUMN: usize = 16;

/// The rows matching `condition` (on [`HISTORY_ROW`]'s `m`), messages
/// in their current state with their reactions.
pub(super) fn read_history(
    connection: &Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<HistoryItem>> {
    let mut query = connection.prepare_cached(&format!("{HISTORY_ROW}{condition}"))?;
    let mut rows = query
        .query_map(params, |row| {
            Ok((row.get::<_, String>(ROOM_COLUMN)?, read_item(row)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_reactions(connection, &mut rows)?;
    Ok(rows.into_iter().map(|(_, item)| item).collect())
}

/// The messages of a read that asked only for messages.
pub(super) fn only_messages(items: Vec<HistoryItem>) -> Vec<ChatMessage> {
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

/// The reactions of a room's messages with ids from `?2` to `?3`, in
/// the order they were put on: the room's rows in that range, found by
/// `messages_by_room`, and each one's reactions by its key. A page of a
/// quiet room whose messages lie far apart reads only its own reactions,
/// never those of every busy room's messages in between.
pub(super) const PAGE_REACTIONS: &str = "SELECT r.message_id, r.emoji, r.username
    FROM messages m JOIN reactions r ON r.message_id = m.id
    WHERE m.room = ?1 AND m.id BETWEEN ?2 AND ?3 AND m.kind = 'message'
    ORDER BY r.message_id, r.event_id";

/// Adds their reactions to the messages among `rows` (each with its
/// room), one query per room read (every read is of one room).
fn attach_reactions(
    connection: &Connection,
    rows: &mut [(String, HistoryItem)],
) -> rusqlite::Result<()> {
    let mut rooms: BTreeMap<&str, HashMap<u64, &mut ChatMessage>> = BTreeMap::new();
    for (room, item) in rows.iter_mut() {
        if let HistoryItem::Message(message) = item {
            if !message.deleted {
                rooms.entry(room).or_default().insert(message.id, message);
            }
        }
    }
    let mut query = connection.prepare_cached(PAGE_REACTIONS)?;
    for (room, mut messages) in rooms {
        let (Some(low), Some(high)) = (messages.keys().min(), messages.keys().max()) else {
            continue;
        };
        let found = query.query_map(params![room, sql_id(*low), sql_id(*high)], |row| {
            Ok((read_id(row)?, row.get::<_, String>(1)?, row.get(2)?))
        })?;
        for row in found {
            let (id, emoji, username) = row?;
            if let Some(message) = messages.get_mut(&id) {
                add_reaction(&mut message.reactions, emoji, username);
            }
        }
    }
    Ok(())
}
