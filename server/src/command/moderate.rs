//! What moderators may do: `become_moderator`, `ban`, `lock_room`,
//! `set_topic` and `audit` (and `free_name`, in [`super::people`]). Each
//! action is stored (with its entry in the moderation log) before it is
//! put in force: what is seen has been recorded. And what anyone may ask
//! of them: `report`, which puts a message in front of them.

use super::{server_error, Caller};
use crate::chat::hub::encode;
use crate::chat::moderation::{Ban, TokenVerdict};
use crate::cluster::BusEvent;
use crate::error::Rejection;
use crate::history::journal::ModeratorAction;
use crate::AppState;
use chat_shared::{
    check_ban_duration, normalize_report_reason, normalize_topic, normalize_username, username_key,
    ForbiddenReason, MAX_REPORT_CHARS,
};
use chat_shared::{ErrorCode, ServerFrame};
use std::time::{Duration, SystemTime};

/// The most moderation log entries one `audit` returns (and the default).
const MAX_AUDIT_PAGE: usize = 100;

/// How many entries an `audit` with this `limit` gets.
pub(crate) fn audit_limit(limit: Option<u32>) -> usize {
    let limit = limit.map_or(MAX_AUDIT_PAGE, |limit| limit as usize);
    limit.clamp(1, MAX_AUDIT_PAGE)
}

/// Checks the moderator token; wrong ones are slowed down per address.
pub(crate) fn become_moderator(
    state: &AppState,
    caller: &Caller,
    token: &str,
) -> Result<(), Rejection> {
    match state.gate.check(token, caller.peer.client) {
        TokenVerdict::Accepted => {
            tracing::info!("became a moderator");
            caller.peer.become_moderator();
            caller.peer.send(encode(&ServerFrame::Moderator));
            Ok(())
        }
        TokenVerdict::Wrong => {
            tracing::warn!("a wrong moderator token");
            Err(Rejection::forbidden(ForbiddenReason::ModeratorToken))
        }
        TokenVerdict::Slow(wait) => {
            tracing::warn!("a wrong moderator token, from an address that keeps guessing");
            let rejection = Rejection::new(ErrorCode::RateLimited, "").with_retry_after(wait);
            let ms = rejection.retry_after_ms.unwrap_or(1);
            Err(Rejection {
                message: format!("Too many wrong moderator tokens: retry in {ms} ms"),
                ..rejection
            })
        }
    }
}

/// A `ban`, its name normalised and its length checked.
#[derive(Debug)]
pub(crate) struct BanRequest {
    name: Result<String, Rejection>,
    duration_secs: Result<u64, Rejection>,
}

impl BanRequest {
    /// Reads a `ban` frame's fields.
    pub(crate) fn new(username: &str, duration_secs: u64) -> Self {
        Self {
            name: normalize_username(username).map_err(|error| Rejection::new(error.code(), error)),
            duration_secs: check_ban_duration(duration_secs)
                .map(|_| duration_secs)
                .map_err(|message| Rejection::new(ErrorCode::BadRequest, message)),
        }
    }

    /// Bans the name, and every address it holds now on any node or
    /// joined from here lately: stored, then put in force on every node,
    /// then whoever holds the name in a grace period is evicted, and only
    /// then is the moderator told it is done.
    pub(crate) async fn apply(self, state: &AppState, caller: &Caller) -> Result<(), Rejection> {
        let member = caller.moderator()?;
        let name = self.name?;
        let duration_secs = self.duration_secs?;
        let key = username_key(&name);
        let cluster = &state.cluster;
        let mut addresses = cluster.presence.addresses(&key).await;
        addresses.extend(cluster.hub.recent_addresses(&key));
        let length = Duration::from_secs(duration_secs);
        let ban = Ban::new(key, addresses, SystemTime::now(), length);
        let action = ModeratorAction::Ban {
            ban: ban.to_stored(),
            name: name.clone(),
            duration_secs,
        };
        let by = &member.name;
        let journal = &state.journal;
        journal
            .moderate(&member.room, by, action)
            .await
            .map_err(server_error)?;
        let until = humantime::format_rfc3339_millis(ban.until).to_string();
        tracing::info!(moderator = %by, user = %name, duration_secs, "banned");
        cluster.announce(BusEvent::Banned(ban.to_stored()));
        cluster.presence.evict(&ban.name_key).await;
        caller.peer.send(encode(&ServerFrame::UserBanned {
            username: name,
            until,
            duration_secs,
        }));
        Ok(())
    }
}

/// Locks (read-only) or unlocks the moderator's room.
pub(crate) async fn lock(state: &AppState, caller: &Caller, locked: bool) -> Result<(), Rejection> {
    let member = caller.moderator()?;
    let (room, by) = (&member.room, &member.name);
    let action = ModeratorAction::Lock(locked);
    state
        .journal
        .moderate(room, by, action)
        .await
        .map_err(server_error)?;
    tracing::info!(moderator = %by, room = %room, locked, "room lock changed");
    state.cluster.announce(BusEvent::Locked {
        room: room.clone(),
        locked,
        username: by.clone(),
    });
    Ok(())
}

/// A `set_topic`, its topic normalised (empty clears it).
#[derive(Debug)]
pub(crate) struct SetTopic(Result<String, Rejection>);

impl SetTopic {
    /// Reads a `set_topic` frame's topic.
    pub(crate) fn new(raw: &str) -> Self {
        Self(normalize_topic(raw).map_err(|error| Rejection::new(error.code(), error)))
    }

    /// Sets the moderator's room's topic, shown to every member.
    pub(crate) async fn apply(self, state: &AppState, caller: &Caller) -> Result<(), Rejection> {
        let member = caller.moderator()?;
        let topic = self.0?;
        let (room, by) = (&member.room, &member.name);
        let action = ModeratorAction::Topic(topic.clone());
        state
            .journal
            .moderate(room, by, action)
            .await
            .map_err(server_error)?;
        tracing::info!(moderator = %by, room = %room, "topic changed");
        state.cluster.announce(BusEvent::Topic {
            room: room.clone(),
            topic,
            username: by.clone(),
        });
        Ok(())
    }
}

/// Sends the moderator the newest entries of the moderation log.
pub(crate) async fn audit(
    state: &AppState,
    caller: &Caller,
    limit: usize,
) -> Result<(), Rejection> {
    caller.moderator()?;
    let entries = state.journal.audit(limit).await.map_err(server_error)?;
    caller.peer.send(encode(&ServerFrame::Audit { entries }));
    Ok(())
}

/// A `report`: a message of the caller's room shown to the moderators,
/// with why. The one way a DM's text reaches them: a member chose to
/// show it.
#[derive(Debug)]
pub(crate) struct Report {
    id: u64,
    reason: Result<String, Rejection>,
}

impl Report {
    /// Reads a `report` frame's fields.
    pub(crate) fn new(id: u64, reason: &str) -> Self {
        let reason = normalize_report_reason(reason).ok_or_else(|| {
            Rejection::new(
                ErrorCode::BadRequest,
                format!("A report's reason can have at most {MAX_REPORT_CHARS} characters"),
            )
        });
        Self { id, reason }
    }

    /// Logs the report with the message's text; `not_found` for a
    /// message that is not in the room (or deleted).
    pub(crate) async fn apply(self, state: &AppState, caller: &Caller) -> Result<(), Rejection> {
        let member = caller.joined()?;
        let reason = self.reason?;
        let (room, reporter, id) = (member.room.clone(), member.name.clone(), self.id);
        let reported = state
            .journal
            .people(move |store| store.report(&room, id, &reporter, &reason))
            .await
            .map_err(server_error)?;
        if !reported {
            return Err(ErrorCode::NotFound.into());
        }
        tracing::info!(id, "a message was reported");
        caller.peer.send(encode(&ServerFrame::Reported { id }));
        Ok(())
    }
}
