//! Edits, deletions and reactions in SQLite; see
//! [`crate::history::changes`]. One writer, so the rules read and the
//! event written in one transaction see the same database.

use super::moderation::record;
use super::{read_history, read_id, sql_id, Sqlite, LAST_EVENT};
use crate::history::changes::{
    Action, ChangeRequest, Changed, Changes, Refusal, Target, EDITED_KIND, MAX_EMOJI_PER_MESSAGE,
    REACTION_KIND,
};
use crate::history::store::{timestamp_now, StoreResult, MESSAGE_KIND};
use chat_shared::{AuditAction, Change, Deletion, Edit, HistoryItem, Reaction};
use rusqlite::{params, OptionalExtension, Transaction};

impl Changes for Sqlite {
    fn change(&mut self, request: &ChangeRequest) -> StoreResult<Changed> {
        let tx = self.connection.transaction()?;
        let changed = apply(&tx, request)?;
        // Anything but a new event wrote nothing; dropping rolls back.
        if matches!(changed, Changed::New { .. }) {
            tx.commit()?;
            if request.action == Action::Delete {
                self.forget_deleted();
            }
        }
        Ok(changed)
    }
}

/// The rules in their order, then the event and the new state.
fn apply(tx: &Transaction<'_>, request: &ChangeRequest) -> rusqlite::Result<Changed> {
    let kind = request.action.kind();
    if let Some(client_id) = &request.client_id {
        let earlier = tx
            .query_row(
                "SELECT id, kind FROM messages
                 WHERE room = ?1 AND author_key = ?2 AND client_id = ?3",
                params![request.room, request.name_key, client_id],
                |row| Ok((read_id(row)?, row.get::<_, String>(1)?)),
            )
            .optional()?;
        match earlier {
            Some((id, earlier_kind)) if earlier_kind == kind => {
                return Ok(match event(tx, id)? {
                    Some(original) => Changed::Duplicate(original),
                    None => Changed::Refused(Refusal::ClientIdTaken),
                });
            }
            Some(_) => return Ok(Changed::Refused(Refusal::ClientIdTaken)),
            None => {}
        }
    }
    let target = tx
        .query_row(
            "SELECT username, owner, timestamp, text FROM messages
             WHERE id = ?1 AND room = ?2 AND kind = ?3 AND deleted = 0",
            params![sql_id(request.target), request.room, MESSAGE_KIND],
            |row| {
                Ok(Target {
                    username: row.get(0)?,
                    owner: row.get(1)?,
                    timestamp: row.get(2)?,
                    text: row.get(3)?,
                })
            },
        )
        .optional()?;
    let Some(target) = target else {
        return Ok(Changed::Refused(Refusal::NotFound));
    };
    let logged = match request.check(&target) {
        Ok(logged) => logged,
        Err(refusal) => return Ok(Changed::Refused(refusal)),
    };
    if let Some(earlier) = unchanged(tx, request, &target)? {
        return Ok(Changed::Unchanged(earlier));
    }
    if let Action::React {
        emoji: Some(emoji),
        on: true,
    } = &request.action
    {
        let (kinds, known): (i64, bool) = tx.query_row(
            "SELECT count(DISTINCT emoji), coalesce(max(emoji = ?2), 0)
             FROM reactions WHERE message_id = ?1",
            params![sql_id(request.target), emoji],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        if !known && kinds >= MAX_EMOJI_PER_MESSAGE {
            return Ok(Changed::Refused(Refusal::TooManyEmoji));
        }
    }
    let prev = tx.query_row(LAST_EVENT, params![request.room], read_id)?;
    let timestamp = timestamp_now();
    let (text, emoji, on) = match &request.action {
        Action::Edit { text, .. } => (text.as_deref().unwrap_or_default(), None, None),
        Action::Delete => ("", None, None),
        Action::React { emoji, on } => ("", emoji.as_deref(), Some(*on)),
    };
    let target_id = sql_id(request.target);
    tx.execute(
        "INSERT INTO messages (room, username, author_key, text, timestamp, client_id, kind,
             target, emoji, reaction_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            request.room,
            request.username,
            request.name_key,
            text,
            timestamp,
            request.client_id,
            kind,
            target_id,
            emoji,
            on,
        ],
    )?;
    let id = u64::try_from(tx.last_insert_rowid()).unwrap_or_default();
    let (username, client_id) = (request.username.clone(), request.client_id.clone());
    let change = match &request.action {
        Action::Edit { .. } => {
            tx.execute(
                "UPDATE messages SET text = ?2, edited_at = ?3 WHERE id = ?1",
                params![target_id, text, timestamp],
            )?;
            Change::MessageEdited(Edit {
                id,
                target: request.target,
                text: Some(text.to_owned()),
                edited_at: timestamp,
                username,
                client_id,
            })
        }
        Action::Delete => {
            // Every copy of the text goes: the message's, its edits',
            // and the quotes of the replies to it.
            tx.execute(
                "UPDATE messages SET deleted = 1, text = '', reply_text = NULL WHERE id = ?1",
                params![target_id],
            )?;
            tx.execute(
                "UPDATE messages SET text = '' WHERE target = ?1 AND kind = ?2",
                params![target_id, EDITED_KIND],
            )?;
            tx.execute(
                "UPDATE messages SET reply_text = NULL WHERE reply_to = ?1",
                params![target_id],
            )?;
            tx.execute(
                "DELETE FROM reactions WHERE message_id = ?1",
                params![target_id],
            )?;
            if logged {
                record(
                    tx,
                    &request.username,
                    AuditAction::Delete,
                    &request.target.to_string(),
                    Some(&format!("by {} in #{}", target.username, request.room)),
                )?;
            }
            Change::MessageDeleted(Deletion {
                id,
                target: request.target,
                username,
                client_id,
            })
        }
        Action::React { .. } => {
            let emoji = emoji.unwrap_or_default();
            if on == Some(true) {
                tx.execute(
                    "INSERT INTO reactions (message_id, emoji, name_key, username, event_id)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        target_id,
                        emoji,
                        request.name_key,
                        request.username,
                        sql_id(id)
                    ],
                )?;
            } else {
                tx.execute(
                    "DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND name_key = ?3",
                    params![target_id, emoji, request.name_key],
                )?;
            }
            Change::Reaction(Reaction {
                id,
                target: request.target,
                emoji: emoji.to_owned(),
                on: on == Some(true),
                username,
                client_id,
            })
        }
    };
    Ok(Changed::New { change, prev })
}

/// `Some(earlier event)` when the request would change nothing: an edit
/// to the text the message has, a reaction already on, or one taken off
/// that is not there.
fn unchanged(
    tx: &Transaction<'_>,
    request: &ChangeRequest,
    target: &Target,
) -> rusqlite::Result<Option<Option<Change>>> {
    let target_id = sql_id(request.target);
    let earlier = match &request.action {
        Action::Edit {
            text: Some(text), ..
        } if *text == target.text => tx.query_row(
            "SELECT max(id) FROM messages WHERE target = ?1 AND kind = ?2",
            params![target_id, EDITED_KIND],
            |row| row.get::<_, Option<i64>>(0),
        )?,
        Action::React {
            emoji: Some(emoji),
            on,
        } => {
            let current: Option<i64> = tx
                .query_row(
                    "SELECT event_id FROM reactions
                     WHERE message_id = ?1 AND emoji = ?2 AND name_key = ?3",
                    params![target_id, emoji, request.name_key],
                    |row| row.get(0),
                )
                .optional()?;
            match (on, current) {
                (true, Some(event_id)) => Some(event_id),
                (false, None) => tx.query_row(
                    "SELECT max(id) FROM messages
                     WHERE target = ?1 AND kind = ?2 AND emoji = ?3 AND author_key = ?4
                         AND reaction_on = 0",
                    params![target_id, REACTION_KIND, emoji, request.name_key],
                    |row| row.get::<_, Option<i64>>(0),
                )?,
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    match earlier {
        Some(id) => Ok(Some(event(tx, u64::try_from(id).unwrap_or_default())?)),
        None => Ok(Some(None)),
    }
}

/// The change event with this id, as a replay shows it.
fn event(tx: &Transaction<'_>, id: u64) -> rusqlite::Result<Option<Change>> {
    let mut found = read_history(tx, "m.id = ?1", params![sql_id(id)])?;
    Ok(match found.pop() {
        Some(HistoryItem::Change(change)) => Some(change),
        _ => None,
    })
}
