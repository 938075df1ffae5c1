//! The rules of [`PushState`]: when to subscribe, when to tell the
//! server, when to unsubscribe.

use super::*;

/// RFC 8292's example public key: a 65-byte uncompressed point.
const KEY: &str =
    "BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs";

fn subscription(endpoint: &str, server_key: Option<&str>) -> BrowserSubscription {
    BrowserSubscription {
        endpoint: endpoint.to_owned(),
        keys: PushKeys {
            p256dh: "BP256".into(),
            auth: "auth".into(),
        },
        server_key: server_key.map(str::to_owned),
    }
}

fn held_with_key() -> PushState {
    let mut state = PushState::default();
    state.welcomed(true, Some(KEY.to_owned()));
    state
}

#[test]
fn a_held_name_with_permission_subscribes_then_tells_the_server_once() {
    let mut state = held_with_key();
    let key = key::decode(KEY).expect("the key");
    assert_eq!(
        state.next_step(true, None),
        PushStep::Subscribe { key, stale: false }
    );
    let sub = subscription("https://push.example/1", Some(KEY));
    let tell = state.next_step(true, Some(&sub));
    assert_eq!(
        tell,
        PushStep::Tell(ClientFrame::PushSubscribe {
            endpoint: "https://push.example/1".into(),
            keys: sub.keys.clone(),
        })
    );
    // The frame is exactly `PushSubscription.toJSON()` with a type.
    if let PushStep::Tell(frame) = tell {
        assert_eq!(
            frame.encode(),
            r#"{"type":"push_subscribe","endpoint":"https://push.example/1","keys":{"p256dh":"BP256","auth":"auth"}}"#
        );
    }
    state.told(&sub.endpoint);
    assert_eq!(state.next_step(true, Some(&sub)), PushStep::Nothing);
    state.subscribed(&sub.endpoint);
    assert_eq!(state.next_step(true, Some(&sub)), PushStep::Nothing);
    // A new connection: the server is told again.
    state.welcomed(true, Some(KEY.to_owned()));
    assert!(matches!(
        state.next_step(true, Some(&sub)),
        PushStep::Tell(_)
    ));
}

#[test]
fn a_subscription_made_for_another_key_is_replaced() {
    let state = held_with_key();
    let old = subscription("https://push.example/old", Some("BBBB"));
    assert!(matches!(
        state.next_step(true, Some(&old)),
        PushStep::Subscribe { stale: true, .. }
    ));
    // The same key with padding is the same key; a browser that does not
    // say its key is taken at its word.
    let padded = subscription("https://push.example/1", Some(&format!("{KEY}=")));
    assert!(matches!(
        state.next_step(true, Some(&padded)),
        PushStep::Tell(_)
    ));
    let unsaid = subscription("https://push.example/1", None);
    assert!(matches!(
        state.next_step(true, Some(&unsaid)),
        PushStep::Tell(_)
    ));
}

#[test]
fn nothing_is_subscribed_without_all_it_needs() {
    let sub = subscription("https://push.example/1", Some(KEY));
    // No permission yet.
    let state = held_with_key();
    assert_eq!(state.next_step(false, None), PushStep::Nothing);
    // A keyless name: push is for held names only, and its browser's
    // subscription (another name's) is left alone.
    let mut keyless = PushState::default();
    keyless.welcomed(false, Some(KEY.to_owned()));
    assert!(!keyless.offered());
    assert_eq!(keyless.next_step(true, None), PushStep::Nothing);
    assert_eq!(keyless.next_step(true, Some(&sub)), PushStep::Nothing);
    // A server without push (`--no-push`, or an older one).
    let mut no_push = PushState::default();
    no_push.welcomed(true, None);
    assert_eq!(no_push.next_step(true, None), PushStep::Nothing);
    assert_eq!(no_push.next_step(true, Some(&sub)), PushStep::Nothing);
    no_push.welcomed(true, Some(String::new()));
    assert!(!no_push.offered(), "an empty key is no key");
    // A key that is not base64url.
    let mut bad = PushState::default();
    bad.welcomed(true, Some("not a key!".into()));
    assert_eq!(bad.next_step(true, None), PushStep::Nothing);
}

#[test]
fn turning_push_off_tells_the_server_and_drops_the_subscription() {
    let mut state = held_with_key();
    let sub = subscription("https://push.example/1", Some(KEY));
    state.told(&sub.endpoint);
    state.subscribed(&sub.endpoint);
    state.set_enabled(false);
    assert_eq!(
        state.next_step(true, Some(&sub)),
        PushStep::Drop {
            endpoint: sub.endpoint.clone(),
            tell: true
        }
    );
    state.unsubscribed(&sub.endpoint);
    assert_eq!(state.next_step(true, None), PushStep::Nothing);
    // On again: subscribe again.
    state.set_enabled(true);
    assert!(matches!(
        state.next_step(true, None),
        PushStep::Subscribe { stale: false, .. }
    ));
    // Permission taken away in the browser's settings: the same.
    assert!(matches!(
        state.next_step(false, Some(&sub)),
        PushStep::Drop { tell: true, .. }
    ));
}

#[test]
fn giving_up_the_name_forgets_its_endpoint_and_drops_the_subscription() {
    let mut state = held_with_key();
    let sub = subscription("https://push.example/1", Some(KEY));
    assert_eq!(state.endpoint_to_forget(), None);
    state.told(&sub.endpoint);
    assert_eq!(state.endpoint_to_forget(), Some("https://push.example/1"));
    state.subscribed(&sub.endpoint);
    assert_eq!(state.endpoint_to_forget(), Some("https://push.example/1"));
    state.released();
    assert!(!state.offered());
    // The server was told before (`before_release`), or forgot the
    // name's subscriptions with it: not told again, it would refuse.
    assert_eq!(
        state.next_step(true, Some(&sub)),
        PushStep::Drop {
            endpoint: sub.endpoint.clone(),
            tell: false
        }
    );
    assert_eq!(state.next_step(true, None), PushStep::Nothing);
    // Held again later (a device link): subscribing is back.
    state.welcomed(true, Some(KEY.to_owned()));
    assert!(matches!(
        state.next_step(true, None),
        PushStep::Subscribe { .. }
    ));
}

#[test]
fn a_refused_subscription_is_not_sent_again_before_the_next_welcome() {
    let mut state = held_with_key();
    let sub = subscription("https://push.example/1", Some(KEY));
    state.told(&sub.endpoint);
    state.refused();
    assert_eq!(state.next_step(true, Some(&sub)), PushStep::Nothing);
    state.welcomed(true, Some(KEY.to_owned()));
    assert!(matches!(
        state.next_step(true, Some(&sub)),
        PushStep::Tell(_)
    ));
}

#[test]
fn push_starts_as_the_user_left_it() {
    let mut state = PushState::new(false);
    state.welcomed(true, Some(KEY.to_owned()));
    assert!(state.offered());
    assert!(!state.enabled());
    assert!(!state.wanted(true));
    assert_eq!(state.next_step(true, None), PushStep::Nothing);
}
