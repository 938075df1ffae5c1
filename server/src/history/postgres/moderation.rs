//! The moderation tables in PostgreSQL; see [`crate::history::moderation`].
//! A deletion is an event in its room's id sequence, so it takes the room's
//! row lock like a message does.

use super::{
    from_sql_id, lock_rooms, set_setting, setting, sql_id, sql_limit, store_last_ids, Postgres,
};
use crate::history::moderation::{
    DeleteRequest, Deleted, Deletion, Moderation, RoomSettings, StoredBan,
};
use crate::history::store::{
    sha256_hex, timestamp_now, StoreError, StoreResult, ADMIN_TOKEN_SETTING, DELETED_KIND,
    MESSAGE_KIND,
};
use chat_shared::{AuditAction, AuditEntry};
use postgres::{Row, Transaction};

impl Moderation for Postgres {
    fn delete_message(&mut self, request: &DeleteRequest) -> StoreResult<Deleted> {
        self.run(|client| {
            let mut tx = client.transaction()?;
            // Locked before anything is read, so what this transaction
            // finds (the target, the room's last event) stays true until
            // it commits. Returning early drops the transaction: nothing
            // is kept, not even a new rooms row.
            let mut last_ids = lock_rooms(&mut tx, &[request.room.as_str()])?;
            let mut stored_client_id = request.client_id.as_deref();
            if let Some(client_id) = &request.client_id {
                match earlier_use(&mut tx, &request.author_key, client_id)? {
                    Some((original, kind)) if kind == DELETED_KIND => {
                        return Ok(Deleted::Duplicate(original));
                    }
                    // The id already names a message of this user: the
                    // unique index keeps it, and the deletion goes unnamed.
                    Some(_) => stored_client_id = None,
                    None => {}
                }
            }
            let target = sql_id(request.target);
            let author: Option<String> = tx
                .query_opt(
                    "SELECT username FROM messages
                     WHERE id = $1 AND room = $2 AND kind = $3 AND NOT deleted",
                    &[&target, &request.room, &MESSAGE_KIND],
                )?
                .map(|row| row.try_get(0))
                .transpose()?;
            let Some(author) = author else {
                return Ok(Deleted::NotFound);
            };
            let prev = last_ids.get(&request.room).copied().unwrap_or_default();
            let timestamp = timestamp_now();
            let insert = "INSERT INTO messages
                     (room, username, author_key, text, timestamp, client_id, kind, target)
                 VALUES ($1, $2, $3, '', $4, $5, $6, $7)
                 ON CONFLICT DO NOTHING RETURNING id";
            let mut inserted = tx.query_opt(
                insert,
                &[
                    &request.room,
                    &request.username,
                    &request.author_key,
                    &timestamp,
                    &stored_client_id,
                    &DELETED_KIND,
                    &target,
                ],
            )?;
            if inserted.is_none() {
                // Another node stored this `client_id` since the check
                // (in another room, or the lock would have kept it out):
                // answer as if it had been there from the start.
                let client_id = stored_client_id.unwrap_or_default();
                match earlier_use(&mut tx, &request.author_key, client_id)? {
                    Some((original, kind)) if kind == DELETED_KIND => {
                        return Ok(Deleted::Duplicate(original));
                    }
                    Some(_) => {}
                    None => {
                        return Err(StoreError(
                            "a deletion insert conflicted with no stored client_id".to_owned(),
                        ))
                    }
                }
                let unnamed: Option<&str> = None;
                inserted = tx.query_opt(
                    insert,
                    &[
                        &request.room,
                        &request.username,
                        &request.author_key,
                        &timestamp,
                        &unnamed,
                        &DELETED_KIND,
                        &target,
                    ],
                )?;
            }
            let Some(row) = inserted else {
                return Err(StoreError("a deletion was not inserted".to_owned()));
            };
            let id: i64 = row.try_get(0)?;
            tx.execute(
                "UPDATE messages SET deleted = true, text = '' WHERE id = $1",
                &[&target],
            )?;
            last_ids.insert(request.room.clone(), id);
            store_last_ids(&mut tx, &last_ids)?;
            record(
                &mut tx,
                &request.username,
                AuditAction::Delete,
                &request.target.to_string(),
                Some(&format!("by {author} in #{}", request.room)),
            )?;
            tx.commit()?;
            Ok(Deleted::New {
                deletion: Deletion {
                    id: from_sql_id(id),
                    target: request.target,
                    username: request.username.clone(),
                    client_id: request.client_id.clone(),
                },
                prev: from_sql_id(prev),
            })
        })
    }

    fn events_after(
        &mut self,
        room: &str,
        since: u64,
        through: u64,
        limit: usize,
    ) -> StoreResult<Vec<Deletion>> {
        self.run(|client| {
            let rows = client.query(
                "SELECT id, target, username, client_id FROM messages
                 WHERE room = $1 AND id > $2 AND id <= $3 AND kind = $4
                 ORDER BY id ASC LIMIT $5",
                &[
                    &room,
                    &sql_id(since),
                    &sql_id(through),
                    &DELETED_KIND,
                    &sql_limit(limit),
                ],
            )?;
            Ok(rows
                .iter()
                .map(read_deletion)
                .collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn add_ban(
        &mut self,
        ban: &StoredBan,
        moderator: &str,
        username: &str,
        duration_secs: u64,
    ) -> StoreResult<()> {
        self.run(|client| {
            let mut tx = client.transaction()?;
            tx.execute(
                "INSERT INTO bans (name_key, addresses, until_ms) VALUES ($1, $2, $3)",
                &[
                    &ban.name_key,
                    &ban.addresses.join(" "),
                    &sql_id(ban.until_ms),
                ],
            )?;
            record(
                &mut tx,
                moderator,
                AuditAction::Ban,
                username,
                Some(&format!("{duration_secs} s")),
            )?;
            Ok(tx.commit()?)
        })
    }

    fn active_bans(&mut self, now_ms: u64) -> StoreResult<Vec<StoredBan>> {
        self.run(|client| {
            client.execute("DELETE FROM bans WHERE until_ms <= $1", &[&sql_id(now_ms)])?;
            let rows = client.query("SELECT name_key, addresses, until_ms FROM bans", &[])?;
            let bans = rows
                .iter()
                .map(|row| {
                    let addresses: String = row.try_get(1)?;
                    Ok(StoredBan {
                        name_key: row.try_get(0)?,
                        addresses: addresses.split_whitespace().map(str::to_owned).collect(),
                        until_ms: from_sql_id(row.try_get(2)?),
                    })
                })
                .collect::<Result<Vec<_>, postgres::Error>>()?;
            Ok(bans)
        })
    }

    fn set_room_locked(&mut self, room: &str, locked: bool, moderator: &str) -> StoreResult<()> {
        self.run(|client| {
            let mut tx = client.transaction()?;
            tx.execute(
                "INSERT INTO room_settings (room, locked) VALUES ($1, $2)
                 ON CONFLICT (room) DO UPDATE SET locked = excluded.locked",
                &[&room, &locked],
            )?;
            let action = if locked {
                AuditAction::Lock
            } else {
                AuditAction::Unlock
            };
            record(&mut tx, moderator, action, room, None)?;
            Ok(tx.commit()?)
        })
    }

    fn set_room_topic(&mut self, room: &str, topic: &str, moderator: &str) -> StoreResult<()> {
        self.run(|client| {
            let mut tx = client.transaction()?;
            let stored = (!topic.is_empty()).then_some(topic);
            tx.execute(
                "INSERT INTO room_settings (room, topic) VALUES ($1, $2)
                 ON CONFLICT (room) DO UPDATE SET topic = excluded.topic",
                &[&room, &stored],
            )?;
            record(&mut tx, moderator, AuditAction::Topic, room, Some(topic))?;
            Ok(tx.commit()?)
        })
    }

    fn room_settings(&mut self) -> StoreResult<Vec<RoomSettings>> {
        self.run(|client| {
            let rows = client.query("SELECT room, locked, topic FROM room_settings", &[])?;
            Ok(rows
                .iter()
                .map(|row| {
                    Ok(RoomSettings {
                        room: row.try_get(0)?,
                        locked: row.try_get(1)?,
                        topic: row.try_get(2)?,
                    })
                })
                .collect::<Result<Vec<_>, postgres::Error>>()?)
        })
    }

    fn audit(&mut self, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        self.run(|client| {
            let rows = client.query(
                "SELECT id, at, moderator, action, target, detail FROM audit
                 ORDER BY id DESC LIMIT $1",
                &[&sql_limit(limit)],
            )?;
            Ok(rows
                .iter()
                .map(|row| {
                    Ok(AuditEntry {
                        id: from_sql_id(row.try_get(0)?),
                        at: row.try_get(1)?,
                        moderator: row.try_get(2)?,
                        action: AuditAction::parse(row.try_get::<_, &str>(3)?),
                        target: row.try_get(4)?,
                        detail: row.try_get(5)?,
                    })
                })
                .collect::<Result<Vec<_>, postgres::Error>>()?)
        })
    }

    fn set_admin_token(&mut self, token: &str) -> StoreResult<()> {
        self.run(|client| {
            Ok(set_setting(
                client,
                ADMIN_TOKEN_SETTING,
                &sha256_hex(token),
            )?)
        })
    }

    fn admin_token_hash(&mut self) -> StoreResult<Option<String>> {
        self.run(|client| Ok(setting(client, ADMIN_TOKEN_SETTING)?))
    }
}

/// The row that already carries this moderator's `client_id`, as a
/// deletion, with its kind.
fn earlier_use(
    tx: &mut Transaction<'_>,
    author_key: &str,
    client_id: &str,
) -> Result<Option<(Deletion, String)>, postgres::Error> {
    tx.query_opt(
        "SELECT id, target, username, client_id, kind FROM messages
         WHERE author_key = $1 AND client_id = $2",
        &[&author_key, &client_id],
    )?
    .map(|row| Ok((read_deletion(&row)?, row.try_get(4)?)))
    .transpose()
}

fn record(
    tx: &mut Transaction<'_>,
    moderator: &str,
    action: AuditAction,
    target: &str,
    detail: Option<&str>,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO audit (at, moderator, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
        &[
            &timestamp_now(),
            &moderator,
            &action.as_str(),
            &target,
            &detail,
        ],
    )?;
    Ok(())
}

fn read_deletion(row: &Row) -> Result<Deletion, postgres::Error> {
    Ok(Deletion {
        id: from_sql_id(row.try_get(0)?),
        // NULL for a message row, which only the `client_id` check reads.
        target: from_sql_id(row.try_get::<_, Option<i64>>(1)?.unwrap_or_default()),
        username: row.try_get(2)?,
        client_id: row.try_get(3)?,
    })
}
