//! The push half of every store: the VAPID key kept once, and each
//! person's subscriptions.

use super::people::hold;
use crate::history::push::{StoredSubscription, MAX_SUBSCRIPTIONS_PER_PERSON};
use crate::history::store::Store;
use chat_shared::AuditAction;

/// A subscription at `endpoint` made by `device`.
fn subscription(endpoint: &str, device: u64) -> StoredSubscription {
    StoredSubscription {
        endpoint: format!("https://push.example/{endpoint}"),
        p256dh: format!("p256dh-of-{endpoint}"),
        auth: format!("auth-of-{endpoint}"),
        device,
    }
}

/// The endpoints the person's pushes go to, in order.
fn endpoints(store: &mut dyn Store, person: u64) -> Vec<String> {
    store
        .push_target(person)
        .expect("target")
        .map(|target| {
            target
                .subscriptions
                .into_iter()
                .map(|found| found.endpoint)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn the_first_vapid_key_stored_stays(store: &mut dyn Store) {
    assert_eq!(store.vapid_key("first").expect("key"), "first");
    assert_eq!(store.vapid_key("second").expect("key"), "first");
}

pub(super) fn subscriptions_belong_to_a_person_and_a_device(store: &mut dyn Store) {
    let alice = hold(store, "alice", "laptop", 1000);
    let bob = hold(store, "bob", "bob-key", 1000);
    assert_eq!(store.push_target(alice.id).expect("none"), None);
    let laptop = subscription("laptop", alice.device);
    store.add_push(alice.id, &laptop, 1).expect("add");
    store
        .add_push(alice.id, &subscription("phone", alice.device + 1000), 2)
        .expect("add");
    // The same subscription again changes nothing.
    store.add_push(alice.id, &laptop, 3).expect("again");
    let target = store.push_target(alice.id).expect("target").expect("some");
    assert_eq!(target.name_key, "alice");
    assert_eq!(target.subscriptions.len(), 2);
    assert_eq!(target.subscriptions[0], laptop);
    // An endpoint is one browser: its latest subscriber has it.
    store
        .add_push(bob.id, &subscription("phone", bob.device), 4)
        .expect("moved");
    assert_eq!(endpoints(store, alice.id), ["https://push.example/laptop"]);
    assert_eq!(endpoints(store, bob.id), ["https://push.example/phone"]);
    // Only its owner removes one.
    assert!(!store
        .remove_push(alice.id, "https://push.example/phone")
        .expect("not hers"));
    assert!(store
        .remove_push(bob.id, "https://push.example/phone")
        .expect("his"));
    assert!(!store
        .remove_push(bob.id, "https://push.example/phone")
        .expect("gone"));
    // A push service's "gone" drops it whoever's it is.
    store.drop_push(&laptop.endpoint).expect("drop");
    assert_eq!(store.push_target(alice.id).expect("none"), None);
}

pub(super) fn a_person_keeps_their_newest_subscriptions_only(store: &mut dyn Store) {
    let alice = hold(store, "alice", "laptop", 1000);
    let extra = 3;
    for n in 0..MAX_SUBSCRIPTIONS_PER_PERSON + extra {
        let ms = u64::try_from(n).expect("small");
        store
            .add_push(
                alice.id,
                &subscription(&format!("{n:02}"), alice.device),
                ms,
            )
            .expect("add");
    }
    let kept = endpoints(store, alice.id);
    assert_eq!(kept.len(), MAX_SUBSCRIPTIONS_PER_PERSON);
    assert_eq!(kept[0], format!("https://push.example/{extra:02}"));
}

pub(super) fn revoking_a_device_or_forgetting_the_person_drops_pushes(store: &mut dyn Store) {
    let alice = hold(store, "alice", "laptop", 1000);
    let other_device = alice.device + 1000;
    store
        .add_push(alice.id, &subscription("laptop", alice.device), 1)
        .expect("add");
    store
        .add_push(alice.id, &subscription("phone", other_device), 2)
        .expect("add");
    store
        .revoke_device(alice.id, alice.device)
        .expect("revoke")
        .expect("was hers");
    assert_eq!(endpoints(store, alice.id), ["https://push.example/phone"]);
    assert!(store
        .release(alice.id, "alice", AuditAction::Release)
        .expect("release"));
    assert_eq!(store.push_target(alice.id).expect("none"), None);
    // A later holder of the name starts with none.
    let again = hold(store, "alice", "another", 5000);
    assert_eq!(store.push_target(again.id).expect("none"), None);
}
