//! The moderation tables in SQLite; see [`crate::history::moderation`].

use super::{read_id, set_setting, setting, sql_id, sql_limit, Sqlite};
use crate::history::moderation::{Moderation, RoomSettings, StoredBan};
use crate::history::store::{sha256_hex, timestamp_now, StoreResult, ADMIN_TOKEN_SETTING};
use chat_shared::{AuditAction, AuditEntry};
use rusqlite::{params, Transaction};

impl Moderation for Sqlite {
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

/// Adds an entry to the moderation log, in the caller's transaction (a
/// moderator's deletion logs from [`super::changes`]).
pub(super) fn record(
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
        let left: i64 = store
            .connection
            .query_row(
                "SELECT count(*) FROM messages
                 WHERE text LIKE '%gone%' OR reply_text LIKE '%gone%'",
                [],
                |row| row.get(0),
            )
            .expect("count");
        assert_eq!(left, 0, "not in the message, its edits or the quotes of it");
    }
}
