//! The moderation tables in PostgreSQL; see [`crate::history::moderation`].
//! (A moderator's deletion is a change: [`super::changes`].)

use super::{from_sql_id, set_setting, setting, sql_id, sql_limit, Postgres};
use crate::history::moderation::{Moderation, RoomSettings, StoredBan};
use crate::history::store::{sha256_hex, timestamp_now, StoreResult, ADMIN_TOKEN_SETTING};
use chat_shared::{AuditAction, AuditEntry};
use postgres::Transaction;

impl Moderation for Postgres {
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

/// Adds an entry to the moderation log, in the caller's transaction (a
/// moderator's deletion logs from [`super::changes`]).
pub(super) fn record(
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
