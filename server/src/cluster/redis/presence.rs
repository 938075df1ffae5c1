//! [`RedisPresence`]: who is online where, kept in Redis for every node.

use super::link::{Link, LinkError};
use crate::cluster::{Claim, Claimed, Presence, Snapshot};
use crate::error::Rejection;
use crate::history::store::sha256_hex;
use chat_shared::close::Departure;
use chat_shared::{ErrorCode, ForbiddenReason, RoomInfo};
use futures_util::future::BoxFuture;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Presence shared by the nodes of a cluster: every change is one Lua
/// script that also publishes the resulting event (see [`super`]).
pub(crate) struct RedisPresence {
    /// The link this presence shares with the bus and the tasks.
    link: Arc<Link>,
}

/// The claim script's answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ClaimReply {
    Ok {
        /// The claim presented the token of the name's holder; otherwise
        /// it is a new claim, and the fresh token is its token.
        resumed: bool,
        username: String,
        seq: u64,
        /// key → name; a `BTreeMap` keeps them in key order.
        members: BTreeMap<String, String>,
    },
    Refused(Refused),
}

/// Why the claim script said no, as it names it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Refused {
    Forbidden,
    NameTaken,
}

/// The snapshot script's answer.
#[derive(Debug, Deserialize)]
struct SnapshotReply {
    seq: u64,
    members: BTreeMap<String, String>,
}

impl RedisPresence {
    /// A presence on `link`.
    pub(super) fn new(link: Arc<Link>) -> Self {
        Self { link }
    }

    /// Warns (rate-limited) about a command that failed.
    fn warn_failed(&self, what: &str, error: &LinkError) {
        if let Some(held_back) = self.link.command_warnings.ready() {
            tracing::warn!(held_back, "presence: {what} failed: {error}");
        }
    }
}

impl Presence for RedisPresence {
    fn claim<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<Claimed, Rejection>> {
        Box::pin(async move {
            if !self.link.is_up() {
                return Err(reconnecting());
            }
            let fresh = match &claim.shared_token {
                Some(token) => token.clone(),
                None => crate::cluster::new_token()?,
            };
            let _shared = self.link.gate.read().await;
            let invited = if claim.invited { "1" } else { "0" };
            let address = claim.address.to_string();
            let looks = chat_shared::username_looks(&claim.name);
            let looks = serde_json::to_string(&looks).map_err(|error| {
                tracing::error!("a name's looks as JSON: {error}");
                Rejection::from(ErrorCode::ServerError)
            })?;
            // Redis sees only hashes of tokens (see the claim script).
            let resume_hash = claim.resume.as_deref().map(sha256_hex);
            let reply = self
                .link
                .eval::<ClaimReply>(
                    &self.link.scripts.claim,
                    &[
                        &self.link.node_id,
                        &claim.room,
                        &claim.key,
                        &claim.name,
                        resume_hash.as_deref().unwrap_or(""),
                        invited,
                        &sha256_hex(&fresh),
                        &address,
                        &looks,
                    ],
                )
                .await;
            match reply {
                Ok(ClaimReply::Ok {
                    resumed,
                    username,
                    seq,
                    members,
                }) => {
                    let token = match (resumed, &claim.resume) {
                        (true, Some(resume)) => resume.clone(),
                        _ => fresh,
                    };
                    let online = u32::try_from(members.len()).unwrap_or(u32::MAX);
                    let members = members.iter();
                    let users = crate::cluster::listed(
                        members.map(|(key, name)| (key.as_str(), name.as_str())),
                        &claim.key,
                        &username,
                    );
                    Ok(Claimed {
                        token,
                        username,
                        users,
                        online,
                        seq,
                    })
                }
                Ok(ClaimReply::Refused(Refused::Forbidden)) => {
                    Err(Rejection::forbidden(ForbiddenReason::JoinCode))
                }
                Ok(ClaimReply::Refused(Refused::NameTaken)) => Err(ErrorCode::NameTaken.into()),
                Err(error) => {
                    // It may have run without its answer reaching us.
                    self.link.needs_restore();
                    self.warn_failed("a claim", &error);
                    Err(reconnecting())
                }
            }
        })
    }

    fn release<'a>(
        &'a self,
        room: &'a str,
        key: &'a str,
        departure: Departure,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if !self.link.is_up() {
                // The restore after the outage counts what is left.
                self.link.needs_restore();
                return;
            }
            let _shared = self.link.gate.read().await;
            let departure = match departure {
                Departure::AtOnce => "now",
                Departure::AfterGrace => "grace",
            };
            let grace_ms = self.link.grace_ms();
            if let Err(error) = self
                .link
                .eval::<serde_json::Value>(
                    &self.link.scripts.release,
                    &[&self.link.node_id, room, key, departure, &grace_ms],
                )
                .await
            {
                self.link.needs_restore();
                self.warn_failed("a release", &error);
            }
        })
    }

    fn evict<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if !self.link.is_up() {
                self.link.evict_later(key);
                return;
            }
            let _shared = self.link.gate.read().await;
            if let Err(error) = self
                .link
                .eval::<serde_json::Value>(&self.link.scripts.evict, &[&self.link.node_id, key])
                .await
            {
                self.link.evict_later(key);
                self.warn_failed("an eviction", &error);
            }
        })
    }

    fn rooms(&self) -> BoxFuture<'_, Result<Vec<RoomInfo>, Rejection>> {
        Box::pin(async move {
            if !self.link.is_up() {
                return Err(reconnecting());
            }
            let rooms = self
                .link
                .eval::<BTreeMap<String, u32>>(&self.link.scripts.rooms, &[])
                .await
                .map_err(|error| {
                    self.warn_failed("listing the rooms", &error);
                    reconnecting()
                })?;
            Ok(rooms
                .into_iter()
                .map(|(name, online)| RoomInfo {
                    name,
                    online,
                    ..RoomInfo::default()
                })
                .collect())
        })
    }

    fn addresses<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Vec<std::net::IpAddr>> {
        Box::pin(self.addresses_of(key))
    }

    fn snapshot<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<Snapshot, Rejection>> {
        Box::pin(async move {
            if !self.link.is_up() {
                return Err(reconnecting());
            }
            let reply = self
                .link
                .eval::<SnapshotReply>(&self.link.scripts.snapshot, &[room])
                .await
                .map_err(|error| {
                    self.warn_failed("a snapshot", &error);
                    reconnecting()
                })?;
            Ok(Snapshot {
                seq: reply.seq,
                members: reply.members.into_iter().collect(),
            })
        })
    }
}

impl RedisPresence {
    /// See [`Presence::addresses`]: nothing while Redis is away (the ban
    /// still covers the name).
    async fn addresses_of(&self, key: &str) -> Vec<std::net::IpAddr> {
        if !self.link.is_up() {
            return Vec::new();
        }
        match self
            .link
            .eval::<Vec<String>>(&self.link.scripts.addresses, &[key])
            .await
        {
            Ok(addresses) => addresses
                .iter()
                .filter_map(|text| text.parse().ok())
                .collect(),
            Err(error) => {
                self.warn_failed("reading addresses", &error);
                Vec::new()
            }
        }
    }
}

/// The refusal while Redis is away: the client retries, as after any
/// server error.
fn reconnecting() -> Rejection {
    Rejection::new(
        ErrorCode::ServerError,
        "The chat is reconnecting to its other servers; try again in a moment.",
    )
}
