//! Reading the history back, as in the SQLite store: every read selects
//! the same columns ([`HISTORY_ROW`]) and turns each row into a message in
//! its current state, with its reactions, or into a change.

use super::{from_sql_id, sql_id};
use crate::history::changes::{add_reaction, EDITED_KIND, REACTION_KIND};
use crate::history::store::{StoreError, StoreResult, DELETED_KIND, MESSAGE_KIND};
use chat_shared::{Change, ChatMessage, Deletion, Edit, HistoryItem, Quote, Reaction};
use postgres::types::ToSql;
use postgres::{GenericClient, Row};
use std::collections::HashMap;

/// What every history read selects, as in the SQLite store: a row, and
/// whether the rows it points at are deleted (the original a reply
/// quotes, the message a change targets). `m` is the row; the caller
/// adds the condition and order.
const HISTORY_ROW: &str = "SELECT m.id, m.kind, m.username, m.text, m.timestamp, m.client_id,
        m.edited_at, m.deleted, m.reply_to, m.reply_username, m.reply_text,
        coalesce(o.deleted, true), m.target, m.emoji, m.reaction_on, coalesce(t.deleted, false)
    FROM messages m
    LEFT JOIN messages o ON o.id = m.reply_to
    LEFT JOIN messages t ON t.id = m.target
    WHERE ";

/// The rows matching `condition` (on [`HISTORY_ROW`]'s `m`), messages
/// in their current state with their reactions.
pub(super) fn read_history(
    client: &mut impl GenericClient,
    condition: &str,
    params: &[&(dyn ToSql + Sync)],
) -> StoreResult<Vec<HistoryItem>> {
    let rows = client.query(&format!("{HISTORY_ROW}{condition}"), params)?;
    let mut items = rows.iter().map(read_item).collect::<Result<Vec<_>, _>>()?;
    attach_reactions(client, &mut items)?;
    Ok(items)
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

/// One row of [`HISTORY_ROW`] as what it is: a message or a change. A
/// row of a kind this build does not know is an error, not a guess.
fn read_item(row: &Row) -> StoreResult<HistoryItem> {
    let kind: &str = row.try_get(1)?;
    let id = from_sql_id(row.try_get(0)?);
    let username = row.try_get(2)?;
    let client_id = row.try_get(5)?;
    let target = from_sql_id(row.try_get::<_, Option<i64>>(12)?.unwrap_or_default());
    let change = match kind {
        MESSAGE_KIND => return Ok(HistoryItem::Message(read_message(row)?)),
        EDITED_KIND => Change::MessageEdited(Edit {
            id,
            target,
            // Wiped with the message: a replay must not bring it back.
            text: if row.try_get(15)? {
                None
            } else {
                Some(row.try_get(3)?)
            },
            edited_at: row.try_get(4)?,
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
            emoji: row.try_get::<_, Option<String>>(13)?.unwrap_or_default(),
            on: row.try_get::<_, Option<bool>>(14)?.unwrap_or_default(),
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
fn read_message(row: &Row) -> Result<ChatMessage, postgres::Error> {
    let deleted: bool = row.try_get(7)?;
    let reply_to = row.try_get::<_, Option<i64>>(8)?.map(from_sql_id);
    let reply = match (deleted, reply_to, row.try_get::<_, Option<String>>(9)?) {
        (false, Some(id), Some(username)) => {
            let original_deleted: bool = row.try_get(11)?;
            Some(Quote {
                id,
                username,
                text: if original_deleted {
                    String::new()
                } else {
                    row.try_get::<_, Option<String>>(10)?.unwrap_or_default()
                },
                deleted: original_deleted,
            })
        }
        _ => None,
    };
    Ok(ChatMessage {
        id: from_sql_id(row.try_get(0)?),
        username: row.try_get(2)?,
        text: row.try_get(3)?,
        timestamp: row.try_get(4)?,
        client_id: row.try_get(5)?,
        edited_at: if deleted { None } else { row.try_get(6)? },
        deleted,
        reply_to,
        reply,
        reactions: Vec::new(),
    })
}

/// Adds their reactions to the messages among `items`, with one query
/// for exactly their ids (never a range that other rooms' messages share).
fn attach_reactions(
    client: &mut impl GenericClient,
    items: &mut [HistoryItem],
) -> Result<(), postgres::Error> {
    let mut messages: HashMap<u64, &mut ChatMessage> = items
        .iter_mut()
        .filter_map(|item| match item {
            HistoryItem::Message(message) if !message.deleted => Some((message.id, message)),
            _ => None,
        })
        .collect();
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = messages.keys().copied().map(sql_id).collect();
    let rows = client.query(
        "SELECT message_id, emoji, username FROM reactions
         WHERE message_id = ANY($1) ORDER BY message_id, event_id",
        &[&ids],
    )?;
    for row in rows {
        if let Some(message) = messages.get_mut(&from_sql_id(row.try_get(0)?)) {
            add_reaction(&mut message.reactions, row.try_get(1)?, row.try_get(2)?);
        }
    }
    Ok(())
}
