//! `push_subscribe` and `push_unsubscribe`: where a held name's Web Push
//! goes. The subscription is checked here (an https endpoint, a P-256
//! `p256dh`, a 16-byte `auth`: [`crate::push::Subscription::parse`]) and
//! kept for the person and the device that made it; what is then pushed,
//! and when, is [`crate::push::dispatch`]'s.

use super::people::held;
use super::{server_error, Caller};
use crate::chat::hub::encode;
use crate::chat::moderation::unix_ms;
use crate::error::Rejection;
use crate::history::push::StoredSubscription;
use crate::push::Subscription;
use crate::AppState;
use chat_shared::{ErrorCode, PushKeys, ServerFrame};
use std::time::SystemTime;

/// The refusal while the server sends no push (`--no-push`).
fn push_off() -> Rejection {
    Rejection::new(
        ErrorCode::BadRequest,
        "This server sends no Web Push (--no-push): no subscription was stored",
    )
}

/// `push_subscribe`: pushes for the caller's person go to this browser
/// too; answered with `push_subscribed`.
pub(crate) async fn subscribe(
    state: &AppState,
    caller: &Caller,
    endpoint: &str,
    keys: &PushKeys,
) -> Result<(), Rejection> {
    let person = held(caller)?;
    if !state.pusher.is_on() {
        return Err(push_off());
    }
    let checked = Subscription::parse(endpoint, &keys.p256dh, &keys.auth).map_err(|error| {
        Rejection::new(
            ErrorCode::InvalidSubscription,
            format!(
                "That push subscription's {} is not valid: {error}",
                error.part()
            ),
        )
    })?;
    let stored = StoredSubscription {
        endpoint: checked.endpoint().to_owned(),
        p256dh: checked.p256dh_base64(),
        auth: checked.auth_base64(),
        device: person.device,
    };
    let (me, now_ms) = (person.id, unix_ms(SystemTime::now()));
    state
        .journal
        .people(move |store| store.add_push(me, &stored, now_ms))
        .await
        .map_err(server_error)?;
    caller.peer.send(encode(&ServerFrame::PushSubscribed {
        endpoint: checked.endpoint().to_owned(),
    }));
    Ok(())
}

/// `push_unsubscribe`: no more pushes to this endpoint; answered with
/// `push_unsubscribed` whether or not it was the person's (the browser
/// wants none either way, and the answer tells a stranger nothing).
pub(crate) async fn unsubscribe(
    state: &AppState,
    caller: &Caller,
    endpoint: &str,
) -> Result<(), Rejection> {
    let person = held(caller)?;
    let (me, removed) = (person.id, endpoint.to_owned());
    state
        .journal
        .people(move |store| store.remove_push(me, &removed))
        .await
        .map_err(server_error)?;
    caller.peer.send(encode(&ServerFrame::PushUnsubscribed {
        endpoint: endpoint.to_owned(),
    }));
    Ok(())
}
