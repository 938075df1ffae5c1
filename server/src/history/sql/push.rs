//! The push half of every store ([`PushStore`]), written once over a
//! [`Driver`]; see [`crate::history::push`].

use super::messages::setting_or_insert;
use super::{args, sql_id, sql_limit, Driver, Sql};
use crate::history::push::{
    PushStore, PushTarget, StoredSubscription, MAX_SUBSCRIPTIONS_PER_PERSON,
};
use crate::history::store::StoreResult;

/// The `settings` row that keeps the VAPID private key.
const VAPID_SETTING: &str = "vapid_private_key";

impl<D: Driver> PushStore for D {
    fn vapid_key(&mut self, fresh: &str) -> StoreResult<String> {
        self.write(|db| setting_or_insert(db, VAPID_SETTING, fresh), |_| true)
    }

    fn add_push(
        &mut self,
        person: u64,
        subscription: &StoredSubscription,
        now_ms: u64,
    ) -> StoreResult<()> {
        self.write(
            |db| {
                db.execute(
                    "INSERT INTO push_subscriptions
                         (endpoint, person, device, p256dh, auth, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (endpoint) DO UPDATE SET person = excluded.person,
                         device = excluded.device, p256dh = excluded.p256dh,
                         auth = excluded.auth, created_ms = excluded.created_ms",
                    args![
                        subscription.endpoint.as_str(),
                        sql_id(person),
                        sql_id(subscription.device),
                        subscription.p256dh.as_str(),
                        subscription.auth.as_str(),
                        sql_id(now_ms)
                    ],
                )?;
                db.execute(
                    "DELETE FROM push_subscriptions WHERE person = ?1 AND endpoint NOT IN
                         (SELECT endpoint FROM push_subscriptions WHERE person = ?1
                          ORDER BY created_ms DESC, endpoint LIMIT ?2)",
                    args![sql_id(person), sql_limit(MAX_SUBSCRIPTIONS_PER_PERSON)],
                )?;
                Ok(())
            },
            |_| true,
        )
    }

    fn remove_push(&mut self, person: u64, endpoint: &str) -> StoreResult<bool> {
        self.read(|db| {
            let removed = db.execute(
                "DELETE FROM push_subscriptions WHERE person = ?1 AND endpoint = ?2",
                args![sql_id(person), endpoint],
            )?;
            Ok(removed > 0)
        })
    }

    fn push_target(&mut self, person: u64) -> StoreResult<Option<PushTarget>> {
        self.read(|db| {
            let mut target: Option<PushTarget> = None;
            db.each(
                "SELECT p.name_key, s.endpoint, s.p256dh, s.auth, s.device
                 FROM push_subscriptions s JOIN persons p ON p.id = s.person
                 WHERE s.person = ?1 ORDER BY s.endpoint",
                args![sql_id(person)],
                &mut |row| {
                    let subscription = StoredSubscription {
                        endpoint: row.text("endpoint")?,
                        p256dh: row.text("p256dh")?,
                        auth: row.text("auth")?,
                        device: row.id("device")?,
                    };
                    let name_key = row.text("name_key")?;
                    target
                        .get_or_insert_with(|| PushTarget {
                            name_key,
                            subscriptions: Vec::new(),
                        })
                        .subscriptions
                        .push(subscription);
                    Ok(())
                },
            )?;
            Ok(target)
        })
    }

    fn drop_push(&mut self, endpoint: &str) -> StoreResult<()> {
        self.read(|db| {
            db.execute(
                "DELETE FROM push_subscriptions WHERE endpoint = ?1",
                args![endpoint],
            )?;
            Ok(())
        })
    }
}

/// Drops the subscriptions a revoked device made, in the revocation's
/// transaction.
pub(super) fn drop_device_pushes(db: &mut dyn Sql, device: u64) -> StoreResult<()> {
    db.execute(
        "DELETE FROM push_subscriptions WHERE device = ?1",
        args![sql_id(device)],
    )?;
    Ok(())
}
