//! Reading the history back: every read selects the same columns
//! ([`HISTORY_ROW`]) and turns each row into a message in its current
//! state, with its reactions, or into a change.

use super::{sql_id, Param, Row, Sql};
use crate::history::changes::{add_reaction, EDITED_KIND, REACTION_KIND};
use crate::history::store::{StoreError, StoreResult, DELETED_KIND, MESSAGE_KIND};
use chat_shared::{Change, ChatMessage, Deletion, Edit, HistoryItem, Quote, Reaction};
use std::collections::{BTreeMap, HashMap};

/// What every history read selects: a row, and of the rows it points at
/// whether they are deleted (the original a reply quotes, the message a
/// change targets). An original that is missing (not exported) reads as
/// deleted. `m` is the row; the caller adds the condition and order.
const HISTORY_ROW: &str = "SELECT m.id, m.kind, m.username, m.text, m.timestamp, m.client_id,
        m.edited_at, m.deleted, m.reply_to, m.reply_username, m.reply_text,
        coalesce(o.deleted, true) AS original_deleted, m.target, m.emoji, m.reaction_on,
        coalesce(t.deleted, false) AS target_deleted, m.room
    FROM messages m
    LEFT JOIN messages o ON o.id = m.reply_to
    LEFT JOIN messages t ON t.id = m.target
    WHERE ";

/// The rows matching `condition` (on [`HISTORY_ROW`]'s `m`), messages
/// in their current state with their reactions.
pub(crate) fn read_history(
    db: &mut dyn Sql,
    condition: &str,
    args: &[Param<'_>],
) -> StoreResult<Vec<HistoryItem>> {
    let mut rows = db.rows(&format!("{HISTORY_ROW}{condition}"), args, |row| {
        Ok((row.text("room")?, read_item(row)?))
    })?;
    attach_reactions(db, &mut rows)?;
    Ok(rows.into_iter().map(|(_, item)| item).collect())
}

/// The one row with this id, as a replay shows it.
pub(crate) fn read_one(db: &mut dyn Sql, id: u64) -> StoreResult<Option<HistoryItem>> {
    Ok(read_history(db, "m.id = ?1", super::args![sql_id(id)])?.pop())
}

/// The messages of a read that asked only for messages.
pub(crate) fn only_messages(items: Vec<HistoryItem>) -> Vec<ChatMessage> {
    items
        .into_iter()
        .filter_map(|item| match item {
            HistoryItem::Message(message) => Some(message),
            HistoryItem::Change(_) => None,
        })
        .collect()
}

/// One row of [`HISTORY_ROW`] as what it is: a message or a change. A
/// row of a kind this build does not know is an error, not a guess.
fn read_item(row: &dyn Row) -> StoreResult<HistoryItem> {
    let kind = row.text("kind")?;
    let id = row.id("id")?;
    let username = row.text("username")?;
    let client_id = row.opt_text("client_id")?;
    let target = super::to_id(row.opt_int("target")?.unwrap_or_default());
    let change = match kind.as_str() {
        MESSAGE_KIND => return read_message(row).map(HistoryItem::Message),
        EDITED_KIND => Change::MessageEdited(Edit {
            id,
            target,
            // Wiped with the message: a replay must not bring it back.
            text: if row.flag("target_deleted")? {
                None
            } else {
                Some(row.text("text")?)
            },
            edited_at: row.text("timestamp")?,
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
            emoji: row.opt_text("emoji")?.unwrap_or_default(),
            on: row.opt_flag("reaction_on")?.unwrap_or_default(),
            username,
            client_id,
        }),
        other => {
            return Err(StoreError(format!(
                "row {id} is of an unknown kind {other:?}"
            )))
        }
    };
    Ok(HistoryItem::Change(change))
}

/// A message row of [`HISTORY_ROW`] in its current state, reactions
/// still to be added. A deleted one is a tombstone: who and when, the
/// id it answered, nothing it said or quoted.
fn read_message(row: &dyn Row) -> StoreResult<ChatMessage> {
    let deleted = row.flag("deleted")?;
    let reply_to = row.opt_int("reply_to")?.map(super::to_id);
    let reply = match (deleted, reply_to, row.opt_text("reply_username")?) {
        (false, Some(id), Some(username)) => {
            let original_deleted = row.flag("original_deleted")?;
            Some(Quote {
                id,
                username,
                text: if original_deleted {
                    String::new()
                } else {
                    row.opt_text("reply_text")?.unwrap_or_default()
                },
                deleted: original_deleted,
            })
        }
        _ => None,
    };
    Ok(ChatMessage {
        id: row.id("id")?,
        username: row.text("username")?,
        text: row.text("text")?,
        timestamp: row.text("timestamp")?,
        client_id: row.opt_text("client_id")?,
        edited_at: if deleted {
            None
        } else {
            row.opt_text("edited_at")?
        },
        deleted,
        reply_to,
        reply,
        reactions: Vec::new(),
        attachments: Vec::new(),
    })
}

/// The reactions of a room's messages with ids from `?2` to `?3`, in
/// the order they were put on: the room's rows in that range, found by
/// `messages_by_room`, and each one's reactions by its key. A page of a
/// quiet room whose messages lie far apart reads only its own reactions,
/// never those of every busy room's messages in between.
pub(crate) const PAGE_REACTIONS: &str = "SELECT r.message_id, r.emoji, r.username
    FROM messages m JOIN reactions r ON r.message_id = m.id
    WHERE m.room = ?1 AND m.id BETWEEN ?2 AND ?3 AND m.kind = 'message'
    ORDER BY r.message_id, r.event_id";

/// Adds their reactions and files to the messages among `rows` (each with its
/// room), one query per room read (every read is of one room).
fn attach_reactions(db: &mut dyn Sql, rows: &mut [(String, HistoryItem)]) -> StoreResult<()> {
    let mut rooms: BTreeMap<&str, HashMap<u64, &mut ChatMessage>> = BTreeMap::new();
    for (room, item) in rows.iter_mut() {
        if let HistoryItem::Message(message) = item {
            if !message.deleted {
                rooms.entry(room).or_default().insert(message.id, message);
            }
        }
    }
    for (room, mut messages) in rooms {
        let (Some(low), Some(high)) = (messages.keys().min(), messages.keys().max()) else {
            continue;
        };
        let args = super::args![room, sql_id(*low), sql_id(*high)];
        db.each(PAGE_REACTIONS, args, &mut |row| {
            if let Some(message) = messages.get_mut(&row.id("message_id")?) {
                add_reaction(
                    &mut message.reactions,
                    row.text("emoji")?,
                    row.text("username")?,
                );
            }
            Ok(())
        })?;
        db.each(super::files::PAGE_FILES, args, &mut |row| {
            if let Some(message) = messages.get_mut(&row.id("message_id")?) {
                message.attachments.push(super::files::attachment(row)?);
            }
            Ok(())
        })?;
    }
    Ok(())
}
