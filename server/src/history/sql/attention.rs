//! The attention half of every store ([`Attention`]), written once over a
//! [`Driver`]; see [`crate::history::attention`].

use super::{args, sql_id, sql_limit, to_id, Driver, Sql};
use crate::history::attention::{Attention, Called, RoomAttention};
use crate::history::store::StoreResult;
use chat_shared::{NotifyLevel, UNREAD_COUNT_CAP};
use std::collections::BTreeMap;

/// A room's unread messages after the marker (`?2`) and the mentions
/// among them, for person `?4` of name key `?3`, at most `?5` of them.
/// The inner scan walks `messages_live` (room, id) from the marker and
/// stops at the cap; each row costs a probe of `devices_once` (the
/// person's own, by any device, revoked ones included), of `mentions`'
/// primary key, and for a reply of the original's row.
const COUNT_UNREAD: &str =
    "SELECT count(*) AS unread, count(*) FILTER (WHERE t.mention) AS mentions
     FROM (SELECT (EXISTS (SELECT 1 FROM mentions x WHERE x.name_key = ?3 AND x.message_id = m.id)
                   OR EXISTS (SELECT 1 FROM messages o JOIN devices d ON d.key_hash = o.owner
                              WHERE o.id = m.reply_to AND d.person = ?4)) AS mention
           FROM messages m
           WHERE m.room = ?1 AND m.id > ?2 AND m.kind = 'message' AND NOT m.deleted
             AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.person = ?4 AND d.key_hash = m.owner)
           ORDER BY m.id LIMIT ?5) t";

/// The holder of name key `?1` if `?2` is among their rooms, with their
/// level there.
const MENTIONED: &str = "SELECT p.id AS person, a.level FROM persons p
     JOIN memberships s ON s.person = p.id AND s.room = ?2
     LEFT JOIN attention a ON a.person = p.id AND a.room = ?2
     WHERE p.name_key = ?1";

/// The persons whose device wrote message `?1` of room `?2`, if the room
/// is among theirs, with their level there.
const REPLIED: &str = "SELECT DISTINCT d.person, a.level FROM messages o
     JOIN devices d ON d.key_hash = o.owner
     JOIN memberships s ON s.person = d.person AND s.room = ?2
     LEFT JOIN attention a ON a.person = d.person AND a.room = ?2
     WHERE o.id = ?1 AND o.room = ?2";

/// The persons who chose to hear every message of room `?1` (served by
/// `attention_by_level`), and a DM's members (its primary key), if the
/// room is among theirs.
const EVERY_MESSAGE: &str = "SELECT a.person, a.level FROM attention a
     JOIN memberships s ON s.person = a.person AND s.room = a.room
     WHERE a.room = ?1 AND a.level = 'all'
     UNION
     SELECT m.person, a.level FROM dm_members m
     JOIN memberships s ON s.person = m.person AND s.room = m.room
     LEFT JOIN attention a ON a.person = m.person AND a.room = m.room
     WHERE m.room = ?1";

impl<D: Driver> Attention for D {
    fn mark_read(&mut self, person: u64, room: &str, id: u64) -> StoreResult<u64> {
        self.write(
            |db| {
                let newest = to_id(db.last_event(room)?);
                db.one_row(
                    "INSERT INTO attention (person, room, read_id) VALUES (?1, ?2, ?3)
                     ON CONFLICT (person, room) DO UPDATE SET read_id =
                         CASE WHEN excluded.read_id > attention.read_id
                              THEN excluded.read_id ELSE attention.read_id END
                     RETURNING read_id",
                    args![sql_id(person), room, sql_id(id.min(newest))],
                    |row| row.id("read_id"),
                )
            },
            |_| true,
        )
    }

    fn set_level(&mut self, person: u64, room: &str, level: NotifyLevel) -> StoreResult<()> {
        self.read(|db| {
            db.execute(
                "INSERT INTO attention (person, room, level) VALUES (?1, ?2, ?3)
                 ON CONFLICT (person, room) DO UPDATE SET level = excluded.level",
                args![sql_id(person), room, level.as_str()],
            )?;
            Ok(())
        })
    }

    fn attention(
        &mut self,
        person: u64,
        name_key: &str,
        rooms: &[String],
    ) -> StoreResult<Vec<RoomAttention>> {
        self.read(|db| {
            let mut set = BTreeMap::new();
            db.each(
                "SELECT room, read_id, level FROM attention WHERE person = ?1",
                args![sql_id(person)],
                &mut |row| {
                    let level = row.opt_text("level")?.map(|name| NotifyLevel::parse(&name));
                    set.insert(row.text("room")?, (row.id("read_id")?, level));
                    Ok(())
                },
            )?;
            rooms
                .iter()
                .map(|room| {
                    let (read, level) = set.get(room).cloned().unwrap_or_default();
                    let (unread, mentions) = count_unread(db, person, name_key, room, read)?;
                    Ok(RoomAttention {
                        room: room.clone(),
                        read,
                        level,
                        unread,
                        mentions,
                    })
                })
                .collect()
        })
    }

    fn called(
        &mut self,
        room: &str,
        mentioned: &[String],
        reply_to: Option<u64>,
    ) -> StoreResult<Vec<Called>> {
        self.read(|db| {
            let mut called: BTreeMap<u64, Called> = BTreeMap::new();
            let mut add = |row: &dyn super::Row, mention: bool| -> StoreResult<()> {
                let person = row.id("person")?;
                let level = row.opt_text("level")?.map(|name| NotifyLevel::parse(&name));
                let entry = called.entry(person).or_insert(Called {
                    person,
                    level,
                    mention,
                });
                entry.mention |= mention;
                Ok(())
            };
            for key in mentioned {
                db.each(MENTIONED, args![key, room], &mut |row| add(row, true))?;
            }
            if let Some(original) = reply_to {
                db.each(REPLIED, args![sql_id(original), room], &mut |row| {
                    add(row, true)
                })?;
            }
            db.each(EVERY_MESSAGE, args![room], &mut |row| add(row, false))?;
            Ok(called.into_values().collect())
        })
    }
}

/// One room's unread and mention counts after `read` ([`COUNT_UNREAD`]).
fn count_unread(
    db: &mut dyn Sql,
    person: u64,
    name_key: &str,
    room: &str,
    read: u64,
) -> StoreResult<(u32, u32)> {
    let cap = usize::try_from(UNREAD_COUNT_CAP).unwrap_or(usize::MAX);
    db.one_row(
        COUNT_UNREAD,
        args![room, sql_id(read), name_key, sql_id(person), sql_limit(cap)],
        |row| {
            let count = |column| -> StoreResult<u32> {
                Ok(u32::try_from(row.int(column)?).unwrap_or(UNREAD_COUNT_CAP))
            };
            Ok((count("unread")?, count("mentions")?))
        },
    )
}
