//! The messages half of every store ([`Messages`]), written once over a
//! [`Driver`]: storing a batch, the history reads, the rooms and the
//! server-wide settings.

use super::read::{only_messages, read_history, read_one};
#[cfg(test)]
use super::ADD_ROOM;
use super::{args, hold_rooms, sql_id, sql_limit, to_id, Driver, Sql};
use crate::history::store::{
    sha256_hex, timestamp_now, Appended, Messages, NewMessage, StoreError, StoreResult,
    JOIN_CODE_SETTING, MESSAGE_KIND,
};
use chat_shared::{quote_excerpt, ChatMessage, HistoryItem, Quote};

impl<D: Driver> Messages for D {
    fn append(&mut self, batch: &[NewMessage]) -> StoreResult<Vec<Appended>> {
        self.write(|db| append(db, batch), |_| true)
    }

    fn last_event(&mut self, room: &str) -> StoreResult<u64> {
        self.read(|db| Ok(to_id(db.last_event(room)?)))
    }

    fn page_before(
        &mut self,
        room: &str,
        before: u64,
        limit: usize,
    ) -> StoreResult<Vec<ChatMessage>> {
        self.read(|db| {
            let items = read_history(
                db,
                "m.room = ?1 AND m.id < ?2 AND m.kind = 'message' ORDER BY m.id DESC LIMIT ?3",
                args![room, sql_id(before), sql_limit(limit)],
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
        self.read(|db| {
            let items = read_history(
                db,
                "m.room = ?1 AND m.id > ?2 AND m.kind = 'message' ORDER BY m.id ASC LIMIT ?3",
                args![room, sql_id(after), sql_limit(limit)],
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
        self.read(|db| {
            read_history(
                db,
                "m.room = ?1 AND m.id > ?2 AND m.id <= ?3 AND (m.kind <> 'message' OR NOT m.deleted)
                 ORDER BY m.id ASC LIMIT ?4",
                args![room, sql_id(since), sql_id(through), sql_limit(limit)],
            )
        })
    }

    fn probe(&mut self) -> StoreResult<()> {
        Driver::probe(self)
    }

    fn rooms(&mut self) -> StoreResult<Vec<String>> {
        self.read(|db| {
            db.rows("SELECT name FROM rooms ORDER BY name", &[], |row| {
                row.text("name")
            })
        })
    }

    #[cfg(test)]
    fn add_room(&mut self, name: &str) -> StoreResult<()> {
        self.read(|db| {
            db.execute(ADD_ROOM, args![name, timestamp_now().as_str()])?;
            Ok(())
        })
    }

    fn forget_unused_rooms(&mut self) -> StoreResult<()> {
        self.write(forget_unused_rooms, |_| true)
    }

    fn set_join_code(&mut self, code: Option<&str>) -> StoreResult<()> {
        self.read(|db| match code {
            Some(code) => set_setting(db, JOIN_CODE_SETTING, &sha256_hex(code)),
            None => {
                db.execute(
                    "DELETE FROM settings WHERE name = ?1",
                    args![JOIN_CODE_SETTING],
                )?;
                Ok(())
            }
        })
    }

    fn join_code_hash(&mut self) -> StoreResult<Option<String>> {
        self.read(|db| setting(db, JOIN_CODE_SETTING))
    }
}

/// Stores a batch in the caller's transaction: each message is checked
/// for a resent `client_id` and a reply that quotes nothing, then gets
/// the next id of its room.
fn append(db: &mut dyn Sql, batch: &[NewMessage]) -> StoreResult<Vec<Appended>> {
    let rooms: Vec<&str> = batch.iter().map(|message| message.room.as_str()).collect();
    let mut last_ids = hold_rooms(db, &rooms)?;
    let mut results = Vec::with_capacity(batch.len());
    for message in batch {
        if let Some(client_id) = &message.client_id {
            if let Some(existing) =
                find_client_id(db, &message.room, &message.author_key, client_id)?
            {
                results.push(already_sent(db, existing)?);
                continue;
            }
        }
        // The room's lock keeps the original from being deleted before
        // this commits: a reply is in the same room.
        let reply = match message.reply_to {
            Some(reply_to) => match quote_for(db, &message.room, reply_to)? {
                Some(quote) => Some(quote),
                None => {
                    results.push(Appended::ReplyNotFound);
                    continue;
                }
            },
            None => None,
        };
        let file_ids: Vec<String> = message.attachments.iter().map(|a| a.id.clone()).collect();
        if !file_ids.is_empty()
            && super::files::unsent(db, &message.room, &message.author_key, &file_ids)?.is_none()
        {
            results.push(Appended::AttachmentNotFound);
            continue;
        }
        let timestamp = timestamp_now();
        // The room's lock keeps another node from storing the same
        // `client_id` in this room since the check; should the index
        // still find one, nothing is inserted, the original is the
        // answer, and the batch goes on.
        let inserted = db.opt_row(
            "INSERT INTO messages (room, username, author_key, text, timestamp, client_id,
                 owner, reply_to, reply_username, reply_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT DO NOTHING RETURNING id",
            args![
                &message.room,
                &message.username,
                &message.author_key,
                &message.text,
                &timestamp,
                &message.client_id,
                &message.owner,
                message.reply_to.map(sql_id),
                reply.as_ref().map(|quote| quote.username.as_str()),
                reply.as_ref().map(|quote| quote.text.as_str()),
            ],
            |row| row.int("id"),
        )?;
        let Some(id) = inserted else {
            let existing = match &message.client_id {
                Some(client_id) => {
                    find_client_id(db, &message.room, &message.author_key, client_id)?
                }
                None => None,
            };
            let Some(existing) = existing else {
                return Err(StoreError(
                    "a message insert conflicted with no stored client_id".to_owned(),
                ));
            };
            results.push(already_sent(db, existing)?);
            continue;
        };
        super::files::attach(db, id, &file_ids)?;
        super::search::index_new(db, id, message)?;
        for key in &message.mentions {
            db.execute(
                "INSERT INTO mentions (name_key, message_id, room) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                args![key, id, &message.room],
            )?;
        }
        let prev = last_ids
            .insert(message.room.clone(), id)
            .unwrap_or_default();
        results.push(Appended::New {
            message: ChatMessage {
                id: to_id(id),
                username: message.username.clone(),
                text: message.text.clone(),
                timestamp,
                client_id: message.client_id.clone(),
                reply_to: message.reply_to,
                reply,
                attachments: message.attachments.clone(),
                ..ChatMessage::default()
            },
            prev: to_id(prev),
        });
    }
    db.store_last_ids(&last_ids)?;
    Ok(results)
}

/// The row of the room with this author's `client_id`, if any: its id
/// and kind.
pub(super) fn find_client_id(
    db: &mut dyn Sql,
    room: &str,
    author_key: &str,
    client_id: &str,
) -> StoreResult<Option<(u64, String)>> {
    db.opt_row(
        "SELECT id, kind FROM messages WHERE room = ?1 AND author_key = ?2 AND client_id = ?3",
        args![room, author_key, client_id],
        |row| Ok((row.id("id")?, row.text("kind")?)),
    )
}

/// What an existing row with the message's `client_id` makes of it: the
/// original message in its current state, or a refusal when the id
/// named a change.
fn already_sent(db: &mut dyn Sql, (id, kind): (u64, String)) -> StoreResult<Appended> {
    if kind != MESSAGE_KIND {
        return Ok(Appended::ClientIdTaken);
    }
    Ok(match read_one(db, id)? {
        Some(HistoryItem::Message(original)) => Appended::Duplicate(original),
        _ => Appended::ClientIdTaken,
    })
}

/// The quote a reply to `reply_to` in `room` keeps, if that is a message
/// of the room that is not deleted.
fn quote_for(db: &mut dyn Sql, room: &str, reply_to: u64) -> StoreResult<Option<Quote>> {
    db.opt_row(
        "SELECT username, text FROM messages
         WHERE id = ?1 AND room = ?2 AND kind = 'message' AND NOT deleted",
        args![sql_id(reply_to), room],
        |row| {
            Ok(Quote {
                id: reply_to,
                username: row.text("username")?,
                text: quote_excerpt(&row.text("text")?),
                deleted: false,
            })
        },
    )
}

/// Lists every room that holds a message or a moderator's setting, and
/// forgets the rest, in the caller's transaction.
fn forget_unused_rooms(db: &mut dyn Sql) -> StoreResult<()> {
    let now = timestamp_now();
    // Each room that holds a message, found by skipping along the index
    // from one room to the next: one look-up per room, not a read of
    // every message. (Every message's room has had its row since it was
    // stored, [`super::hold_rooms`]: this is for SQLite files written
    // before that.)
    db.execute(
        "WITH RECURSIVE used(name) AS (
             SELECT min(room) FROM messages
             UNION ALL
             SELECT (SELECT min(room) FROM messages WHERE room > used.name)
             FROM used WHERE used.name IS NOT NULL
         )
         INSERT INTO rooms (name, created_at)
         SELECT name, ?1 FROM used WHERE name IS NOT NULL
         ON CONFLICT DO NOTHING",
        args![now.as_str()],
    )?;
    db.execute(
        "DELETE FROM room_settings WHERE NOT locked AND topic IS NULL",
        &[],
    )?;
    // `WHERE true`: SQLite would read `ON CONFLICT` after a bare `FROM`
    // as a join's `ON`.
    db.execute(
        "INSERT INTO rooms (name, created_at)
         SELECT room, ?1 FROM room_settings WHERE true
         ON CONFLICT DO NOTHING",
        args![now.as_str()],
    )?;
    db.execute(
        "DELETE FROM rooms
         WHERE NOT EXISTS (SELECT 1 FROM messages WHERE messages.room = rooms.name)
           AND NOT EXISTS (SELECT 1 FROM room_settings WHERE room_settings.room = rooms.name)",
        &[],
    )?;
    Ok(())
}

/// Sets a server-wide setting.
pub(super) fn set_setting(db: &mut dyn Sql, name: &str, value: &str) -> StoreResult<()> {
    db.execute(
        "INSERT INTO settings (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        args![name, value],
    )?;
    Ok(())
}

/// A server-wide setting, if it is set.
pub(super) fn setting(db: &mut dyn Sql, name: &str) -> StoreResult<Option<String>> {
    db.opt_row(
        "SELECT value FROM settings WHERE name = ?1",
        args![name],
        |row| row.text("value"),
    )
}

/// The setting `name`, or `fresh` stored as it when there is none: the
/// first value stored wins, so nodes starting at once agree (a key every
/// node must sign or check with).
pub(super) fn setting_or_insert(db: &mut dyn Sql, name: &str, fresh: &str) -> StoreResult<String> {
    db.execute(
        "INSERT INTO settings (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO NOTHING",
        args![name, fresh],
    )?;
    Ok(setting(db, name)?.unwrap_or_else(|| fresh.to_owned()))
}
