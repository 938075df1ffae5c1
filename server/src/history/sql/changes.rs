//! The change half of every store ([`Changes`]), written once over a
//! [`Driver`]: edits, deletions and reactions, see
//! [`crate::history::changes`]. A change is an event in its room's id
//! sequence, so it holds the room's order ([`hold_rooms`]) before
//! anything is read: what the rules find stays true until commit.

use super::messages::find_client_id;
use super::moderation::record;
use super::read::read_one;
use super::{args, hold_rooms, sql_id, to_id, Driver, Sql};
use crate::history::changes::{
    Action, ChangeRequest, Changed, Changes, Refusal, Target, EDITED_KIND, MAX_EMOJI_PER_MESSAGE,
    REACTION_KIND,
};
use crate::history::store::{timestamp_now, StoreError, StoreResult, MESSAGE_KIND};
use chat_shared::{AuditAction, Change, Deletion, Edit, HistoryItem, Reaction};
use std::collections::BTreeMap;

impl<D: Driver> Changes for D {
    fn change(&mut self, request: &ChangeRequest) -> StoreResult<Changed> {
        // Anything but a new event wrote nothing (not even a new rooms
        // row): it is rolled back.
        let changed = self.write(
            |db| {
                let mut last_ids = hold_rooms(db, &[request.room.as_str()])?;
                let changed = apply(db, request, &mut last_ids)?;
                if matches!(changed, Changed::New { .. }) {
                    db.store_last_ids(&last_ids)?;
                }
                Ok(changed)
            },
            |changed| matches!(changed, Changed::New { .. }),
        )?;
        if matches!(changed, Changed::New { .. }) && request.action == Action::Delete {
            self.forget_deleted();
        }
        Ok(changed)
    }
}

/// What the first rule makes of an earlier use of the request's
/// `client_id`: the original event, a refusal, or `None` when it is free.
fn client_id_rule(db: &mut dyn Sql, request: &ChangeRequest) -> StoreResult<Option<Changed>> {
    let Some(client_id) = &request.client_id else {
        return Ok(None);
    };
    let Some((id, kind)) = find_client_id(db, &request.room, &request.name_key, client_id)? else {
        return Ok(None);
    };
    if kind != request.action.kind() {
        return Ok(Some(Changed::Refused(Refusal::ClientIdTaken)));
    }
    Ok(Some(match event(db, id)? {
        Some(original) => Changed::Duplicate(original),
        None => Changed::Refused(Refusal::ClientIdTaken),
    }))
}

/// The rules in their order, then the event and the new state.
fn apply(
    db: &mut dyn Sql,
    request: &ChangeRequest,
    last_ids: &mut BTreeMap<String, i64>,
) -> StoreResult<Changed> {
    if let Some(answer) = client_id_rule(db, request)? {
        return Ok(answer);
    }
    let target_id = sql_id(request.target);
    let target = db.opt_row(
        "SELECT username, owner, timestamp, text, author_key FROM messages
         WHERE id = ?1 AND room = ?2 AND kind = ?3 AND NOT deleted",
        args![target_id, &request.room, MESSAGE_KIND],
        |row| {
            Ok((
                Target {
                    username: row.text("username")?,
                    owner: row.opt_text("owner")?,
                    timestamp: row.text("timestamp")?,
                    text: row.text("text")?,
                    by_my_device: false,
                },
                row.text("author_key")?,
            ))
        },
    )?;
    let target = match (target, request.person) {
        (Some((target, name_key)), Some(person)) => {
            let by_my_device = match &target.owner {
                Some(owner) => posted_by(db, person, owner, &name_key)?,
                None => false,
            };
            Some(Target {
                by_my_device,
                ..target
            })
        }
        (target, _) => target.map(|(target, _)| target),
    };
    let Some(target) = target else {
        return Ok(Changed::Refused(Refusal::NotFound));
    };
    let logged = match request.check(&target) {
        Ok(logged) => logged,
        Err(refusal) => return Ok(Changed::Refused(refusal)),
    };
    if let Some(earlier) = unchanged(db, request, &target)? {
        return Ok(Changed::Unchanged(earlier));
    }
    if let Action::React {
        emoji: Some(emoji),
        on: true,
    } = &request.action
    {
        let (kinds, known) = db.one_row(
            "SELECT count(DISTINCT emoji) AS kinds, count(*) FILTER (WHERE emoji = ?2) AS known
             FROM reactions WHERE message_id = ?1",
            args![target_id, emoji],
            |row| Ok((row.int("kinds")?, row.int("known")? > 0)),
        )?;
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
    let inserted = db.opt_row(
        "INSERT INTO messages (room, username, author_key, text, timestamp, client_id, kind,
             target, emoji, reaction_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT DO NOTHING RETURNING id",
        args![
            &request.room,
            &request.username,
            &request.name_key,
            text,
            &timestamp,
            &request.client_id,
            request.action.kind(),
            target_id,
            emoji,
            on,
        ],
        |row| row.int("id"),
    )?;
    let Some(event_id) = inserted else {
        // The room's lock keeps another node from storing this
        // `client_id` in the room since the check; should the index still
        // find one, answer as if it had been there from the start.
        return client_id_rule(db, request)?.ok_or_else(|| {
            StoreError("a change insert conflicted with no stored client_id".to_owned())
        });
    };
    let prev = last_ids
        .insert(request.room.clone(), event_id)
        .unwrap_or_default();
    let id = to_id(event_id);
    let (username, client_id) = (request.username.clone(), request.client_id.clone());
    let change = match &request.action {
        Action::Edit { .. } => {
            db.execute(
                "UPDATE messages SET text = ?2, edited_at = ?3 WHERE id = ?1",
                args![target_id, text, &timestamp],
            )?;
            // Found by its new text, no longer by the old.
            super::search::index_stored(db, target_id, &request.room)?;
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
            db.execute(
                "UPDATE messages SET deleted = true, text = '', reply_text = NULL WHERE id = ?1",
                args![target_id],
            )?;
            db.execute(
                "UPDATE messages SET text = '' WHERE target = ?1 AND kind = ?2",
                args![target_id, EDITED_KIND],
            )?;
            db.execute(
                "UPDATE messages SET reply_text = NULL WHERE reply_to = ?1",
                args![target_id],
            )?;
            db.execute(
                "DELETE FROM reactions WHERE message_id = ?1",
                args![target_id],
            )?;
            super::search::unindex(db, target_id)?;
            // Its files go with it; their contents are left for the
            // sweep, which deletes those nothing else refers to any more
            // ([`crate::history::files`]).
            db.execute(
                "INSERT INTO freed_files (sha256)
                 SELECT sha256 FROM uploads WHERE room = ?1 AND message_id = ?2
                 ON CONFLICT (sha256) DO NOTHING",
                args![request.room.as_str(), target_id],
            )?;
            db.execute(
                "DELETE FROM uploads WHERE room = ?1 AND message_id = ?2",
                args![request.room.as_str(), target_id],
            )?;
            if logged {
                record(
                    db,
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
                db.execute(
                    "INSERT INTO reactions (message_id, emoji, name_key, username, event_id)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    args![
                        target_id,
                        emoji,
                        &request.name_key,
                        &request.username,
                        event_id
                    ],
                )?;
            } else {
                db.execute(
                    "DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND name_key = ?3",
                    args![target_id, emoji, &request.name_key],
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
        prev: to_id(prev),
    })
}

/// `Some(earlier event)` when the request would change nothing: an edit
/// to the text the message has, a reaction already on, or one taken off
/// that is not there.
fn unchanged(
    db: &mut dyn Sql,
    request: &ChangeRequest,
    target: &Target,
) -> StoreResult<Option<Option<Change>>> {
    let target_id = sql_id(request.target);
    let earlier = match &request.action {
        Action::Edit {
            text: Some(text), ..
        } if *text == target.text => db.one_row(
            "SELECT max(id) AS id FROM messages WHERE target = ?1 AND kind = ?2",
            args![target_id, EDITED_KIND],
            |row| row.opt_int("id"),
        )?,
        Action::React {
            emoji: Some(emoji),
            on,
        } => {
            let current = db.opt_row(
                "SELECT event_id FROM reactions
                 WHERE message_id = ?1 AND emoji = ?2 AND name_key = ?3",
                args![target_id, emoji, &request.name_key],
                |row| row.int("event_id"),
            )?;
            match (on, current) {
                (true, Some(event_id)) => Some(event_id),
                (false, None) => db.one_row(
                    "SELECT max(id) AS id FROM messages
                     WHERE target = ?1 AND kind = ?2 AND emoji = ?3 AND author_key = ?4
                         AND NOT reaction_on",
                    args![target_id, REACTION_KIND, emoji, &request.name_key],
                    |row| row.opt_int("id"),
                )?,
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    match earlier {
        Some(id) => Ok(Some(event(db, to_id(id))?)),
        None => Ok(Some(None)),
    }
}

/// The change event with this id, as a replay shows it.
fn event(db: &mut dyn Sql, id: u64) -> StoreResult<Option<Change>> {
    Ok(match read_one(db, id)? {
        Some(HistoryItem::Change(change)) => Some(change),
        _ => None,
    })
}

/// Whether a message posted under `name_key` with the key whose hash is
/// `owner` came from one of the person's devices, revoked ones included:
/// edit and delete rights belong to the person, not to one key.
fn posted_by(db: &mut dyn Sql, person: u64, owner: &str, name_key: &str) -> StoreResult<bool> {
    Ok(db
        .opt_row(
            "SELECT d.id FROM devices d JOIN persons p ON p.id = d.person
             WHERE d.person = ?1 AND d.key_hash = ?2 AND p.name_key = ?3",
            args![sql_id(person), owner, name_key],
            |_| Ok(()),
        )?
        .is_some())
}
