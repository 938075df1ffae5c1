//! The people half of every store ([`People`]), written once over a
//! [`Driver`]; see [`crate::history::people`].

use super::moderation::record;
use super::{args, sql_id, to_id, Driver, Sql};
use crate::history::people::{Identity, People, Person, Presented};
use crate::history::store::{timestamp_now, StoreResult, MESSAGE_KIND};
use chat_shared::{AuditAction, DeviceInfo};

/// The columns of a person a join needs.
const PERSON: &str = "SELECT p.id, p.name_key, p.name, p.token, p.last_seen_ms FROM persons p";

/// A person row, with when it was last used.
struct Found {
    person: Person,
    last_seen_ms: u64,
}

impl<D: Driver> People for D {
    fn identify(&mut self, who: &Presented) -> StoreResult<Identity> {
        // Most joins are of names nobody holds, or by a device already
        // known: read first, and write only what a device's use changes.
        let found = self.read(|db| {
            let Some(found) = holder_of(db, who)? else {
                return Ok(None);
            };
            let device = match who.owner.as_deref() {
                Some(owner) => db.opt_row(
                    "SELECT id FROM devices WHERE person = ?1 AND key_hash = ?2 AND NOT revoked",
                    args![sql_id(found.person.id), owner],
                    |row| row.id("id"),
                )?,
                None => None,
            };
            Ok(Some((found, device)))
        })?;
        let Some((found, device)) = found else {
            return Ok(Identity::Free);
        };
        let lapsed = found.last_seen_ms < who.now_ms.saturating_sub(who.hold_ms);
        let held = |wrong_code| Identity::Held {
            person: found.person.id,
            lapsed,
            wrong_code,
        };
        match (who.owner.as_deref(), device, who.link_code.as_deref()) {
            (Some(_), Some(device), _) => {
                self.write(|db| used(db, who, found.person, device), |_| true)
            }
            (Some(owner), None, Some(code)) => self.write(
                |db| {
                    let used_up = db.execute(
                        "DELETE FROM link_codes
                         WHERE code_hash = ?1 AND person = ?2 AND expires_ms > ?3",
                        args![code, sql_id(found.person.id), sql_id(who.now_ms)],
                    )?;
                    if used_up == 0 {
                        return Ok(held(true));
                    }
                    let device = add_device(db, found.person.id, owner, &who.label)?;
                    used(db, who, found.person.clone(), device)
                },
                |_| true,
            ),
            _ => Ok(held(false)),
        }
    }

    fn hold(
        &mut self,
        who: &Presented,
        token: &str,
        replacing: Option<u64>,
    ) -> StoreResult<Identity> {
        self.write(
            |db| {
                if let Some(lapsed) = replacing {
                    let cutoff = who.now_ms.saturating_sub(who.hold_ms);
                    let still_lapsed = db
                        .opt_row(
                            "SELECT id FROM persons WHERE id = ?1 AND last_seen_ms < ?2",
                            args![sql_id(lapsed), sql_id(cutoff)],
                            |_| Ok(()),
                        )?
                        .is_some();
                    if still_lapsed {
                        forget(db, lapsed)?;
                    }
                }
                let Some(owner) = who.owner.as_deref() else {
                    return Ok(Identity::Free);
                };
                let Some(id) = db.opt_row(
                    "INSERT INTO persons (name_key, name, token, since, last_seen_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (name_key) DO NOTHING RETURNING id",
                    args![
                        &who.name_key,
                        &who.name,
                        token,
                        timestamp_now().as_str(),
                        sql_id(who.now_ms)
                    ],
                    |row| row.id("id"),
                )?
                else {
                    // Someone else holds it by now.
                    return Ok(Identity::Held {
                        person: 0,
                        lapsed: false,
                        wrong_code: false,
                    });
                };
                for look in &who.looks {
                    db.execute(
                        "INSERT INTO person_looks (look, person) VALUES (?1, ?2)
                         ON CONFLICT (look) DO NOTHING",
                        args![look, sql_id(id)],
                    )?;
                    let holder = db.one_row(
                        "SELECT person FROM person_looks WHERE look = ?1",
                        args![look],
                        |row| row.id("person"),
                    )?;
                    if holder != id {
                        // Rolled back: a look-alike is someone else's.
                        return Ok(Identity::Held {
                            person: holder,
                            lapsed: false,
                            wrong_code: false,
                        });
                    }
                }
                let device = add_device(db, id, owner, &who.label)?;
                Ok(Identity::Mine(Person {
                    id,
                    name_key: who.name_key.clone(),
                    name: who.name.clone(),
                    token: token.to_owned(),
                    device,
                }))
            },
            |identity| !matches!(identity, Identity::Held { .. }),
        )
    }

    fn seen(&mut self, person: u64, device: u64, now_ms: u64) -> StoreResult<()> {
        self.write(
            |db| {
                db.execute(
                    "UPDATE persons SET last_seen_ms = ?2 WHERE id = ?1",
                    args![sql_id(person), sql_id(now_ms)],
                )?;
                db.execute(
                    "UPDATE devices SET last_seen = ?2 WHERE id = ?1",
                    args![sql_id(device), timestamp_now().as_str()],
                )?;
                Ok(())
            },
            |_| true,
        )
    }

    fn release(&mut self, person: u64, by: &str, action: AuditAction) -> StoreResult<bool> {
        self.write(
            |db| {
                let name = db.opt_row(
                    "SELECT name FROM persons WHERE id = ?1",
                    args![sql_id(person)],
                    |row| row.text("name"),
                )?;
                let Some(name) = name else {
                    return Ok(false);
                };
                forget(db, person)?;
                record(db, by, action, &name, None)?;
                Ok(true)
            },
            |_| true,
        )
    }

    fn holder(
        &mut self,
        name_key: &str,
        now_ms: u64,
        hold_ms: u64,
    ) -> StoreResult<Option<(u64, String)>> {
        let cutoff = now_ms.saturating_sub(hold_ms);
        self.read(|db| {
            db.opt_row(
                "SELECT id, name FROM persons WHERE name_key = ?1 AND last_seen_ms >= ?2",
                args![name_key, sql_id(cutoff)],
                |row| Ok((row.id("id")?, row.text("name")?)),
            )
        })
    }

    fn add_link_code(
        &mut self,
        person: u64,
        code_hash: &str,
        now_ms: u64,
        expires_ms: u64,
    ) -> StoreResult<()> {
        self.write(
            |db| {
                // One code at a time: a new one replaces the last, so a
                // person never has more than one in force; and everyone's
                // expired ones go.
                db.execute(
                    "DELETE FROM link_codes WHERE person = ?1 OR expires_ms <= ?2",
                    args![sql_id(person), sql_id(now_ms)],
                )?;
                db.execute(
                    "INSERT INTO link_codes (code_hash, person, expires_ms) VALUES (?1, ?2, ?3)",
                    args![code_hash, sql_id(person), sql_id(expires_ms)],
                )?;
                Ok(())
            },
            |_| true,
        )
    }

    fn devices(&mut self, person: u64) -> StoreResult<Vec<DeviceInfo>> {
        self.read(|db| {
            db.rows(
                "SELECT id, label, first_seen, last_seen FROM devices
                 WHERE person = ?1 AND NOT revoked ORDER BY id",
                args![sql_id(person)],
                |row| {
                    Ok(DeviceInfo {
                        id: row.id("id")?,
                        label: row.text("label")?,
                        first_seen: row.text("first_seen")?,
                        last_seen: row.text("last_seen")?,
                        this: false,
                    })
                },
            )
        })
    }

    fn revoke_device(&mut self, person: u64, device: u64) -> StoreResult<Option<String>> {
        self.write(
            |db| {
                let key = db.opt_row(
                    "SELECT key_hash FROM devices WHERE id = ?1 AND person = ?2 AND NOT revoked",
                    args![sql_id(device), sql_id(person)],
                    |row| row.text("key_hash"),
                )?;
                if key.is_some() {
                    db.execute(
                        "UPDATE devices SET revoked = true WHERE id = ?1",
                        args![sql_id(device)],
                    )?;
                    super::push::drop_device_pushes(db, device)?;
                }
                Ok(key)
            },
            |_| true,
        )
    }

    fn open_dm(&mut self, room: &str, members: &[(u64, String)]) -> StoreResult<()> {
        self.write(
            |db| {
                for (person, name) in members {
                    db.execute(
                        "INSERT INTO dm_members (room, person, name) VALUES (?1, ?2, ?3)
                         ON CONFLICT DO NOTHING",
                        args![room, sql_id(*person), name],
                    )?;
                    add_membership(db, *person, room)?;
                }
                Ok(())
            },
            |_| true,
        )
    }

    fn dm_members(&mut self, room: &str) -> StoreResult<Vec<(u64, String)>> {
        self.read(|db| {
            db.rows(
                "SELECT person, name FROM dm_members WHERE room = ?1 ORDER BY name",
                args![room],
                |row| Ok((row.id("person")?, row.text("name")?)),
            )
        })
    }

    fn my_rooms(&mut self, person: u64) -> StoreResult<Vec<String>> {
        self.read(|db| {
            db.rows(
                "SELECT room FROM memberships WHERE person = ?1 ORDER BY room",
                args![sql_id(person)],
                |row| row.text("room"),
            )
        })
    }

    fn add_my_room(&mut self, person: u64, room: &str) -> StoreResult<()> {
        self.write(|db| add_membership(db, person, room), |_| true)
    }

    fn leave_my_room(&mut self, person: u64, room: &str) -> StoreResult<bool> {
        self.write(
            |db| {
                let removed = db.execute(
                    "DELETE FROM memberships WHERE person = ?1 AND room = ?2",
                    args![sql_id(person), room],
                )?;
                Ok(removed > 0)
            },
            |_| true,
        )
    }

    fn report(&mut self, room: &str, id: u64, reporter: &str, reason: &str) -> StoreResult<bool> {
        self.write(
            |db| {
                let message = db.opt_row(
                    "SELECT username, text FROM messages
                     WHERE id = ?1 AND room = ?2 AND kind = ?3 AND NOT deleted",
                    args![sql_id(id), room, MESSAGE_KIND],
                    |row| Ok((row.text("username")?, row.text("text")?)),
                )?;
                let Some((author, text)) = message else {
                    return Ok(false);
                };
                let detail = format!("#{room}, by {author}: \"{reason}\" — {text}");
                record(
                    db,
                    reporter,
                    AuditAction::Report,
                    &id.to_string(),
                    Some(&detail),
                )?;
                Ok(true)
            },
            |_| true,
        )
    }
}

/// A device of the person joins: it and the person were used now.
fn used(db: &mut dyn Sql, who: &Presented, person: Person, device: u64) -> StoreResult<Identity> {
    if !who.label.is_empty() {
        db.execute(
            "UPDATE devices SET label = ?2 WHERE id = ?1",
            args![sql_id(device), &who.label],
        )?;
    }
    db.execute(
        "UPDATE devices SET last_seen = ?2 WHERE id = ?1",
        args![sql_id(device), timestamp_now().as_str()],
    )?;
    db.execute(
        "UPDATE persons SET last_seen_ms = ?2 WHERE id = ?1",
        args![sql_id(person.id), sql_id(who.now_ms)],
    )?;
    Ok(Identity::Mine(Person { device, ..person }))
}

/// The person holding the name or one that looks like it.
fn holder_of(db: &mut dyn Sql, who: &Presented) -> StoreResult<Option<Found>> {
    let read = |row: &dyn super::Row| -> StoreResult<Found> {
        Ok(Found {
            person: Person {
                id: row.id("id")?,
                name_key: row.text("name_key")?,
                name: row.text("name")?,
                token: row.text("token")?,
                device: 0,
            },
            last_seen_ms: to_id(row.int("last_seen_ms")?),
        })
    };
    let by_key = format!("{PERSON} WHERE p.name_key = ?1");
    if let Some(found) = db.opt_row(&by_key, args![&who.name_key], read)? {
        return Ok(Some(found));
    }
    let by_look = format!("{PERSON} JOIN person_looks l ON l.person = p.id WHERE l.look = ?1");
    for look in &who.looks {
        if let Some(found) = db.opt_row(&by_look, args![look], read)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Adds (or, after a revoke, restores) a device of the person.
fn add_device(db: &mut dyn Sql, person: u64, owner: &str, label: &str) -> StoreResult<u64> {
    let now = timestamp_now();
    db.one_row(
        "INSERT INTO devices (person, key_hash, label, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (person, key_hash) DO UPDATE SET revoked = false, last_seen = excluded.last_seen
         RETURNING id",
        args![sql_id(person), owner, label, now.as_str()],
        |row| row.id("id"),
    )
}

/// Makes `room` one of the person's rooms.
fn add_membership(db: &mut dyn Sql, person: u64, room: &str) -> StoreResult<()> {
    db.execute(
        "INSERT INTO memberships (person, room) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        args![sql_id(person), room],
    )?;
    Ok(())
}

/// Forgets a person and everything that hangs on it but the DMs' member
/// lists (a DM keeps its history, and no one new becomes its member).
fn forget(db: &mut dyn Sql, person: u64) -> StoreResult<()> {
    for table in [
        "person_looks",
        "devices",
        "link_codes",
        "memberships",
        "attention",
        "push_subscriptions",
    ] {
        db.execute(
            &format!("DELETE FROM {table} WHERE person = ?1"),
            args![sql_id(person)],
        )?;
    }
    db.execute("DELETE FROM persons WHERE id = ?1", args![sql_id(person)])?;
    Ok(())
}
