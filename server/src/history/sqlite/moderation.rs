//! The moderation tables in SQLite; see [`crate::history::moderation`].

use super::{read_id, set_setting, setting, sql_id, sql_limit, Sqlite};
use crate::history::moderation::{
    DeleteRequest, Deleted, Deletion, Moderation, RoomSettings, StoredBan,
};
use crate::history::store::{
    sha256_hex, timestamp_now, StoreResult, ADMIN_TOKEN_SETTING, DELETED_KIND, MESSAGE_KIND,
};
use chat_shared::{AuditAction, AuditEntry};
use rusqlite::{params, OptionalExtension, Transaction};

impl Moderation for Sqlite {
    fn delete_message(&mut self, request: &DeleteRequest) -> StoreResult<Deleted> {
        let tx = self.connection.transaction()?;
        // Whether this `client_id` is still free to name the deletion.
        let mut stored_client_id = request.client_id.as_deref();
        if let Some(client_id) = &request.client_id {
            let earlier = tx
                .query_row(
                    "SELECT id, target, username, client_id, kind FROM messages
                     WHERE author_key = ?1 AND client_id = ?2",
                    params![request.author_key, client_id],
                    |row| Ok((read_deletion(row)?, row.get::<_, String>(4)?)),
                )
                .optional()?;
            match earlier {
                Some((original, kind)) if kind == DELETED_KIND => {
                    return Ok(Deleted::Duplicate(original));
                }
                // The id already names a message of this user: the unique
                // index keeps it, and the deletion goes unnamed.
                Some(_) => stored_client_id = None,
                None => {}
            }
        }
        let target = sql_id(request.target);
        let author: Option<String> = tx
            .query_row(
                "SELECT username FROM messages
                 WHERE id = ?1 AND room = ?2 AND kind = ?3 AND deleted = 0",
                params![target, request.room, MESSAGE_KIND],
                |row| row.get(0),
            )
            .optional()?;
        let Some(author) = author else {
            return Ok(Deleted::NotFound);
        };
        let prev = tx.query_row(super::LAST_EVENT, params![request.room], read_id)?;
        tx.execute(
            "INSERT INTO messages
                 (room, username, author_key, text, timestamp, client_id, kind, target)
             VALUES (?1, ?2, ?3, '', ?4, ?5, ?6, ?7)",
            params![
                request.room,
                request.username,
                request.author_key,
                timestamp_now(),
                stored_client_id,
                DELETED_KIND,
                target,
            ],
        )?;
        let id = u64::try_from(tx.last_insert_rowid()).unwrap_or_default();
        tx.execute(
            "UPDATE messages SET deleted = 1, text = '' WHERE id = ?1",
            params![target],
        )?;
        record(
            &tx,
            &request.username,
            AuditAction::Delete,
            &request.target.to_string(),
            Some(&format!("by {author} in #{}", request.room)),
        )?;
        tx.commit()?;
        Ok(Deleted::New {
            deletion: Deletion {
                id,
                target: request.target,
                username: request.username.clone(),
                client_id: request.client_id.clone(),
            },
            prev,
        })
    }

    fn events_after(
        &mut self,
        room: &str,
        since: u64,
        through: u64,
        limit: usize,
    ) -> StoreResult<Vec<Deletion>> {
        let mut query = self.connection.prepare_cached(
            "SELECT id, target, username, client_id FROM messages
             WHERE room = ?1 AND id > ?2 AND id <= ?3 AND kind = ?4 ORDER BY id ASC LIMIT ?5",
        )?;
        let events = query
            .query_map(
                params![
                    room,
                    sql_id(since),
                    sql_id(through),
                    DELETED_KIND,
                    sql_limit(limit)
                ],
                read_deletion,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(events)
    }

    fn add_ban(
        &mut self,
        ban: &StoredBan,
        moderator: &str,
        username: &str,
        duration_secs: u64,
    ) -> StoreResult<()> {
        let tx = self.connection.transaction()?;
        tx.execute(
            "INSERT INTO bans (name_key, addresses, until_ms) VALUES (?1, ?2, ?3)",
            params![ban.name_key, ban.addresses.join(" "), sql_id(ban.until_ms)],
        )?;
        record(
            &tx,
            moderator,
            AuditAction::Ban,
            username,
            Some(&format!("{duration_secs} s")),
        )?;
        Ok(tx.commit()?)
    }

    fn active_bans(&mut self, now_ms: u64) -> StoreResult<Vec<StoredBan>> {
        self.connection.execute(
            "DELETE FROM bans WHERE until_ms <= ?1",
            params![sql_id(now_ms)],
        )?;
        let mut query = self
            .connection
            .prepare_cached("SELECT name_key, addresses, until_ms FROM bans")?;
        let bans = query
            .query_map([], |row| {
                let addresses: String = row.get(1)?;
                Ok(StoredBan {
                    name_key: row.get(0)?,
                    addresses: addresses.split_whitespace().map(str::to_owned).collect(),
                    until_ms: u64::try_from(row.get::<_, i64>(2)?).unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(bans)
    }

    fn set_room_locked(&mut self, room: &str, locked: bool, moderator: &str) -> StoreResult<()> {
        let tx = self.connection.transaction()?;
        tx.execute(
            "INSERT INTO room_settings (room, locked) VALUES (?1, ?2)
             ON CONFLICT (room) DO UPDATE SET locked = excluded.locked",
            params![room, locked],
        )?;
        let action = if locked {
            AuditAction::Lock
        } else {
            AuditAction::Unlock
        };
        record(&tx, moderator, action, room, None)?;
        Ok(tx.commit()?)
    }

    fn set_room_topic(&mut self, room: &str, topic: &str, moderator: &str) -> StoreResult<()> {
        let tx = self.connection.transaction()?;
        let stored = (!topic.is_empty()).then_some(topic);
        tx.execute(
            "INSERT INTO room_settings (room, topic) VALUES (?1, ?2)
             ON CONFLICT (room) DO UPDATE SET topic = excluded.topic",
            params![room, stored],
        )?;
        record(&tx, moderator, AuditAction::Topic, room, Some(topic))?;
        Ok(tx.commit()?)
    }

    fn room_settings(&mut self) -> StoreResult<Vec<RoomSettings>> {
        let mut query = self
            .connection
            .prepare_cached("SELECT room, locked, topic FROM room_settings")?;
        let rooms = query
            .query_map([], |row| {
                Ok(RoomSettings {
                    room: row.get(0)?,
                    locked: row.get(1)?,
                    topic: row.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rooms)
    }

    fn audit(&mut self, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let mut query = self.connection.prepare_cached(
            "SELECT id, at, moderator, action, target, detail FROM audit
             ORDER BY id DESC LIMIT ?1",
        )?;
        let entries = query
            .query_map(params![sql_limit(limit)], |row| {
                Ok(AuditEntry {
                    id: read_id(row)?,
                    at: row.get(1)?,
                    moderator: row.get(2)?,
                    action: AuditAction::parse(&row.get::<_, String>(3)?),
                    target: row.get(4)?,
                    detail: row.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(entries)
    }

    fn set_admin_token(&mut self, token: &str) -> StoreResult<()> {
        Ok(set_setting(
            &self.connection,
            ADMIN_TOKEN_SETTING,
            &sha256_hex(token),
        )?)
    }

    fn admin_token_hash(&mut self) -> StoreResult<Option<String>> {
        Ok(setting(&self.connection, ADMIN_TOKEN_SETTING)?)
    }
}

fn record(
    tx: &Transaction<'_>,
    moderator: &str,
    action: AuditAction,
    target: &str,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit (at, moderator, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![timestamp_now(), moderator, action.as_str(), target, detail],
    )?;
    Ok(())
}

fn read_deletion(row: &rusqlite::Row<'_>) -> rusqlite::Result<Deletion> {
    Ok(Deletion {
        id: read_id(row)?,
        // NULL for a message row, which only the `client_id` check reads.
        target: u64::try_from(row.get::<_, Option<i64>>(1)?.unwrap_or_default())
            .unwrap_or_default(),
        username: row.get(2)?,
        client_id: row.get(3)?,
    })
}

/// What only SQLite shows: the row itself. What every store does is in
/// [`crate::history::conformance`].
#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::conformance::post_and_delete;
    use std::path::Path;

    #[test]
    fn a_deleted_text_is_gone_from_the_file_too() {
        let mut store = Sqlite::open(Path::new(":memory:")).expect("open");
        post_and_delete(&mut store, "gone");
        let wiped: i64 = store
            .connection
            .query_row(
                "SELECT count(*) FROM messages WHERE text = 'gone'",
                [],
                |row| row.get(0),
            )
            .expect("count");
        assert_eq!(wiped, 0);
    }
}
