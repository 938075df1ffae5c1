//! Edits, deletions and reactions in PostgreSQL; see
//! [`crate::history::changes`]. A change is an event in its room's id
//! sequence, so it takes the room's row lock like a message does, before
//! anything is read: what the rules find stays true until commit, on
//! every node.

use super::moderation::record;
use super::{
    find_client_id, from_sql_id, lock_rooms, read_history, sql_id, store_last_ids, Postgres,
};
use crate::history::changes::{
    Action, ChangeRequest, Changed, Changes, Refusal, Target, EDITED_KIND, MAX_EMOJI_PER_MESSAGE,
    REACTION_KIND,
};
use crate::history::store::{timestamp_now, StoreError, StoreResult, MESSAGE_KIND};
use chat_shared::{AuditAction, Change, Deletion, Edit, HistoryItem, Reaction};
use postgres::Transaction;
use std::collections::BTreeMap;

impl Changes for Postgres {
    fn change(&mut self, request: &ChangeRequest) -> StoreResult<Changed> {
        self.run(|client| {
            let mut tx = client.transaction()?;
            let mut last_ids = lock_rooms(&mut tx, &[request.room.as_str()])?;
            let changed = apply(&mut tx, request, &mut last_ids)?;
            // Anything but a new event wrote nothing (not even a new
            // rooms row): dropping the transaction rolls it back.
            if matches!(changed, Changed::New { .. }) {
                store_last_ids(&mut tx, &last_ids)?;
                tx.commit()?;
            }
            Ok(changed)
        })
    }
}

/// What the first rule makes of an earlier use of the request's
/// `client_id`: the original event, a refusal, or `None` when it is free.
fn client_id_rule(
    tx: &mut Transaction<'_>,
    request: &ChangeRequest,
) -> StoreResult<Option<Changed>> {
    let Some(client_id) = &request.client_id else {
        return Ok(None);
    };
    let Some((id, kind)) = find_client_id(tx, &request.room, &request.name_key, client_id)? else {
        return Ok(None);
    };
    if kind != request.action.kind() {
        return Ok(Some(Changed::Refused(Refusal::ClientIdTaken)));
    }
    Ok(Some(match event(tx, id)? {
        Some(original) => Changed::Duplicate(original),
        None => Changed::Refused(Refusal::ClientIdTaken),
    }))
}

/// The rules in their order, then the event and the new state.
fn apply(
    tx: &mut Transaction<'_>,
    request: &ChangeRequest,
    last_ids: &mut BTreeMap<String, i64>,
) -> StoreResult<Changed> {
    if let Some(answer) = client_id_rule(tx, request)? {
        return Ok(answer);
    }
    let target_id = sql_id(request.target);
    let target = tx
        .query_opt(
            "SELECT username, owner, timestamp, text FROM messages
             WHERE id = $1 AND room = $2 AND kind = $3 AND NOT deleted",
            &[&target_id, &request.room, &MESSAGE_KIND],
        )?
        .map(|row| {
            Ok::<_, postgres::Error>(Target {
                username: row.try_get(0)?,
                owner: row.try_get(1)?,
                timestamp: row.try_get(2)?,
                text: row.try_get(3)?,
            })
        })
        .transpose()?;
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
        let row = tx.query_one(
            "SELECT count(DISTINCT emoji), coalesce(bool_or(emoji = $2), false)
             FROM reactions WHERE message_id = $1",
            &[&target_id, emoji],
        )?;
        let (kinds, known): (i64, bool) = (row.try_get(0)?, row.try_get(1)?);
        if !known && kinds >= MAX_EMOJI_PER_MESSAGE {
            return Ok(Changed::Refused(Refusal::TooManyEmoji));
        }
    }
    let timestamp = timestamp_now();
    let (text, emoji, on) = match &request.action {
        Action::Edit { text, .. } => (text.as_deref().unwrap_or_default(), None, None),
        Action::Delete => ("", None, None),
        Action::React { emoji, on } => ("", emoji.as_deref(), Some(*on)),
    };
    let inserted = tx.query_opt(
        "INSERT INTO messages (room, username, author_key, text, timestamp, client_id, kind,
             target, emoji, reaction_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT DO NOTHING RETURNING id",
        &[
            &request.room,
            &request.username,
            &request.name_key,
            &text,
            &timestamp,
            &request.client_id,
            &request.action.kind(),
            &target_id,
            &emoji,
            &on,
        ],
    )?;
    let Some(row) = inserted else {
        // The room's lock keeps another node from storing this
        // `client_id` in the room since the check; should the index still
        // find one, answer as if it had been there from the start.
        return client_id_rule(tx, request)?.ok_or_else(|| {
            StoreError("a change insert conflicted with no stored client_id".to_owned())
        });
    };
    let event_id: i64 = row.try_get(0)?;
    let prev = last_ids
        .insert(request.room.clone(), event_id)
        .unwrap_or_default();
    let id = from_sql_id(event_id);
    let (username, client_id) = (request.username.clone(), request.client_id.clone());
    let change = match &request.action {
        Action::Edit { .. } => {
            tx.execute(
                "UPDATE messages SET text = $2, edited_at = $3 WHERE id = $1",
                &[&target_id, &text, &timestamp],
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
                "UPDATE messages SET deleted = true, text = '', reply_text = NULL WHERE id = $1",
                &[&target_id],
            )?;
            tx.execute(
                "UPDATE messages SET text = '' WHERE target = $1 AND kind = $2",
                &[&target_id, &EDITED_KIND],
            )?;
            tx.execute(
                "UPDATE messages SET reply_text = NULL WHERE reply_to = $1",
                &[&target_id],
            )?;
            tx.execute("DELETE FROM reactions WHERE message_id = $1", &[&target_id])?;
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
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &target_id,
                        &emoji,
                        &request.name_key,
                        &request.username,
                        &event_id,
                    ],
                )?;
            } else {
                tx.execute(
                    "DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND name_key = $3",
                    &[&target_id, &emoji, &request.name_key],
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
    Ok(Changed::New {
        change,
        prev: from_sql_id(prev),
    })
}

/// `Some(earlier event)` when the request would change nothing: an edit
/// to the text the message has, a reaction already on, or one taken off
/// that is not there.
fn unchanged(
    tx: &mut Transaction<'_>,
    request: &ChangeRequest,
    target: &Target,
) -> StoreResult<Option<Option<Change>>> {
    let target_id = sql_id(request.target);
    let earlier: Option<i64> = match &request.action {
        Action::Edit {
            text: Some(text), ..
        } if *text == target.text => tx
            .query_one(
                "SELECT max(id) FROM messages WHERE target = $1 AND kind = $2",
                &[&target_id, &EDITED_KIND],
            )?
            .try_get(0)?,
        Action::React {
            emoji: Some(emoji),
            on,
        } => {
            let current: Option<i64> = tx
                .query_opt(
                    "SELECT event_id FROM reactions
                     WHERE message_id = $1 AND emoji = $2 AND name_key = $3",
                    &[&target_id, emoji, &request.name_key],
                )?
                .map(|row| row.try_get(0))
                .transpose()?;
            match (on, current) {
                (true, Some(event_id)) => Some(event_id),
                (false, None) => tx
                    .query_one(
                        "SELECT max(id) FROM messages
                         WHERE target = $1 AND kind = $2 AND emoji = $3 AND author_key = $4
                             AND NOT reaction_on",
                        &[&target_id, &REACTION_KIND, emoji, &request.name_key],
                    )?
                    .try_get(0)?,
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    match earlier {
        Some(id) => Ok(Some(event(tx, id)?)),
        None => Ok(Some(None)),
    }
}

/// The change event with this id, as a replay shows it.
fn event(tx: &mut Transaction<'_>, id: i64) -> StoreResult<Option<Change>> {
    Ok(match read_history(tx, "m.id = $1", &[&id])?.pop() {
        Some(HistoryItem::Change(change)) => Some(change),
        _ => None,
    })
}
