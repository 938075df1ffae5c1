//! The moderation half of every store ([`Moderation`]), written once over
//! a [`Driver`]; see [`crate::history::moderation`]. (A moderator's
//! deletion is a change: [`super::changes`].)

use super::messages::{set_setting, setting};
use super::{args, sql_id, sql_limit, to_id, Driver, Sql};
use crate::history::moderation::{Moderation, RoomSettings, StoredBan};
use crate::history::store::{sha256_hex, timestamp_now, StoreResult, ADMIN_TOKEN_SETTING};
use chat_shared::{AuditAction, AuditEntry};

impl<D: Driver> Moderation for D {
    fn add_ban(
        &mut self,
        ban: &StoredBan,
        moderator: &str,
        username: &str,
        duration_secs: u64,
    ) -> StoreResult<()> {
        self.write(
            |db| {
                db.execute(
                    "INSERT INTO bans (name_key, addresses, until_ms) VALUES (?1, ?2, ?3)",
                    args![
                        &ban.name_key,
                        ban.addresses.join(" ").as_str(),
                        sql_id(ban.until_ms)
                    ],
                )?;
                let detail = format!("{duration_secs} s");
                record(db, moderator, AuditAction::Ban, username, Some(&detail))
            },
            |_| true,
        )
    }

    fn active_bans(&mut self, now_ms: u64) -> StoreResult<Vec<StoredBan>> {
        self.read(|db| {
            db.execute(
                "DELETE FROM bans WHERE until_ms <= ?1",
                args![sql_id(now_ms)],
            )?;
            db.rows(
                "SELECT name_key, addresses, until_ms FROM bans",
                &[],
                |row| {
                    Ok(StoredBan {
                        name_key: row.text("name_key")?,
                        addresses: row
                            .text("addresses")?
                            .split_whitespace()
                            .map(str::to_owned)
                            .collect(),
                        until_ms: to_id(row.int("until_ms")?),
                    })
                },
            )
        })
    }

    fn set_room_locked(&mut self, room: &str, locked: bool, moderator: &str) -> StoreResult<()> {
        self.write(
            |db| {
                db.execute(
                    "INSERT INTO room_settings (room, locked) VALUES (?1, ?2)
                     ON CONFLICT (room) DO UPDATE SET locked = excluded.locked",
                    args![room, locked],
                )?;
                let action = if locked {
                    AuditAction::Lock
                } else {
                    AuditAction::Unlock
                };
                record(db, moderator, action, room, None)
            },
            |_| true,
        )
    }

    fn set_room_topic(&mut self, room: &str, topic: &str, moderator: &str) -> StoreResult<()> {
        self.write(
            |db| {
                let stored = (!topic.is_empty()).then_some(topic);
                db.execute(
                    "INSERT INTO room_settings (room, topic) VALUES (?1, ?2)
                     ON CONFLICT (room) DO UPDATE SET topic = excluded.topic",
                    args![room, stored],
                )?;
                record(db, moderator, AuditAction::Topic, room, Some(topic))
            },
            |_| true,
        )
    }

    fn room_settings(&mut self) -> StoreResult<Vec<RoomSettings>> {
        self.read(|db| {
            db.rows(
                "SELECT room, locked, topic FROM room_settings",
                &[],
                |row| {
                    Ok(RoomSettings {
                        room: row.text("room")?,
                        locked: row.flag("locked")?,
                        topic: row.opt_text("topic")?,
                    })
                },
            )
        })
    }

    fn audit(&mut self, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        self.read(|db| {
            db.rows(
                "SELECT id, at, moderator, action, target, detail FROM audit
                 ORDER BY id DESC LIMIT ?1",
                args![sql_limit(limit)],
                |row| {
                    Ok(AuditEntry {
                        id: row.id("id")?,
                        at: row.text("at")?,
                        moderator: row.text("moderator")?,
                        action: AuditAction::parse(&row.text("action")?),
                        target: row.text("target")?,
                        detail: row.opt_text("detail")?,
                    })
                },
            )
        })
    }

    fn set_admin_token(&mut self, token: &str) -> StoreResult<()> {
        self.read(|db| set_setting(db, ADMIN_TOKEN_SETTING, &sha256_hex(token)))
    }

    fn admin_token_hash(&mut self) -> StoreResult<Option<String>> {
        self.read(|db| setting(db, ADMIN_TOKEN_SETTING))
    }
}

/// Adds an entry to the moderation log, in the caller's transaction (a
/// moderator's deletion logs from [`super::changes`]).
pub(super) fn record(
    db: &mut dyn Sql,
    moderator: &str,
    action: AuditAction,
    target: &str,
    detail: Option<&str>,
) -> StoreResult<()> {
    db.execute(
        "INSERT INTO audit (at, moderator, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![
            timestamp_now().as_str(),
            moderator,
            action.as_str(),
            target,
            detail
        ],
    )?;
    Ok(())
}
