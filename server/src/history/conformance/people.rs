//! The people half of every store: holding a name, linking and revoking
//! devices, lapsing, releasing, DMs, my rooms and reports.

use super::{edit, message, request};
use crate::history::changes::{Changed, Refusal};
use crate::history::people::{Identity, Person, Presented};
use crate::history::store::{sha256_hex, Appended, Store};
use chat_shared::{username_key, username_looks, AuditAction};

const HOUR_MS: u64 = 3_600_000;

pub(super) fn presented(
    name: &str,
    key: Option<&str>,
    code: Option<&str>,
    now_ms: u64,
) -> Presented {
    Presented {
        name_key: username_key(name),
        name: name.to_owned(),
        looks: username_looks(name),
        owner: key.map(sha256_hex),
        link_code: code.map(sha256_hex),
        label: "Firefox on Linux".into(),
        now_ms,
        hold_ms: HOUR_MS,
    }
}

fn mine(identity: Identity) -> Person {
    match identity {
        Identity::Mine(person) => person,
        other => panic!("expected mine, got {other:?}"),
    }
}

/// Holds `name` for `key` at `now_ms`.
pub(super) fn hold(store: &mut dyn Store, name: &str, key: &str, now_ms: u64) -> Person {
    let who = presented(name, Some(key), None, now_ms);
    assert_eq!(store.identify(&who).expect("identify"), Identity::Free);
    mine(
        store
            .hold(&who, &format!("token-{name}"), None)
            .expect("hold"),
    )
}

pub(super) fn a_held_name_answers_to_its_devices_and_to_one_link_code(store: &mut dyn Store) {
    let alice = hold(store, "alice", "laptop", 1000);
    assert_eq!(
        (alice.name.as_str(), alice.token.as_str()),
        ("alice", "token-alice")
    );
    // Its key again, under a look-alike spelling too: the same person.
    let again = mine(
        store
            .identify(&presented("ALICE", Some("laptop"), None, 2000))
            .expect("id"),
    );
    assert_eq!((again.id, again.device), (alice.id, alice.device));
    // Another key, no key, a look-alike with another key: someone else's.
    for who in [
        presented("alice", Some("phone"), None, 2000),
        presented("alice", None, None, 2000),
        presented("\u{430}lice", Some("phone"), None, 2000),
    ] {
        assert!(
            matches!(
                store.identify(&who).expect("identify"),
                Identity::Held { person, lapsed: false, wrong_code: false } if person == alice.id
            ),
            "{who:?}"
        );
    }
    // Someone who gets there second holds nothing.
    let late = presented("alice", Some("phone"), None, 2000);
    assert!(matches!(
        store.hold(&late, "other", None).expect("hold"),
        Identity::Held { .. }
    ));
    // A link code adds one device, once; a wrong one is told apart.
    store
        .add_link_code(alice.id, &sha256_hex("code"), 1000, 10_000)
        .expect("code");
    assert!(matches!(
        store
            .identify(&presented("alice", Some("phone"), Some("wrong"), 3000))
            .expect("identify"),
        Identity::Held {
            wrong_code: true,
            ..
        }
    ));
    let phone = mine(
        store
            .identify(&presented("alice", Some("phone"), Some("code"), 3000))
            .expect("id"),
    );
    assert_eq!(phone.id, alice.id);
    assert_ne!(phone.device, alice.device);
    assert!(matches!(
        store
            .identify(&presented("alice", Some("tablet"), Some("code"), 3000))
            .expect("identify"),
        Identity::Held {
            wrong_code: true,
            ..
        }
    ));
    // An expired code adds nothing.
    store
        .add_link_code(alice.id, &sha256_hex("late"), 1000, 4000)
        .expect("code");
    assert!(matches!(
        store
            .identify(&presented("alice", Some("tablet"), Some("late"), 4000))
            .expect("identify"),
        Identity::Held { .. }
    ));
    let devices = store.devices(alice.id).expect("devices");
    let ids: Vec<u64> = devices.iter().map(|device| device.id).collect();
    assert_eq!(ids, [alice.device, phone.device]);
    assert_eq!(devices[1].label, "Firefox on Linux");
    // A revoked device holds the name no more; revoking twice is no-op.
    assert_eq!(
        store.revoke_device(alice.id, phone.device).expect("revoke"),
        Some(sha256_hex("phone"))
    );
    assert_eq!(
        store.revoke_device(alice.id, phone.device).expect("revoke"),
        None
    );
    assert_eq!(store.devices(alice.id).expect("devices").len(), 1);
    assert!(matches!(
        store
            .identify(&presented("alice", Some("phone"), None, 5000))
            .expect("identify"),
        Identity::Held { .. }
    ));
}

pub(super) fn a_lapsed_or_released_name_is_a_new_persons(store: &mut dyn Store) {
    let alice = hold(store, "alice", "laptop", 1000);
    store.add_my_room(alice.id, "rust").expect("room");
    let later = 1000 + HOUR_MS + 1;
    let who = presented("alice", Some("stranger"), None, later);
    assert_eq!(
        store.identify(&who).expect("identify"),
        Identity::Held {
            person: alice.id,
            lapsed: true,
            wrong_code: false
        }
    );
    assert_eq!(
        store
            .holder(&username_key("alice"), later, HOUR_MS)
            .expect("holder"),
        None
    );
    let stranger = mine(store.hold(&who, "new-token", Some(alice.id)).expect("hold"));
    assert_ne!(stranger.id, alice.id);
    assert!(store.my_rooms(stranger.id).expect("rooms").is_empty());
    assert!(matches!(
        store
            .identify(&presented("alice", Some("laptop"), None, later))
            .expect("identify"),
        Identity::Held { .. }
    ));
    // Seen now, it does not lapse.
    store
        .seen(stranger.id, stranger.device, later)
        .expect("seen");
    assert_eq!(
        store
            .holder(&username_key("alice"), later + 10, HOUR_MS)
            .expect("holder"),
        Some((stranger.id, "alice".to_owned()))
    );
    // Released: free, and logged.
    assert!(store
        .release(stranger.id, "alice", AuditAction::Release)
        .expect("release"));
    assert!(!store
        .release(stranger.id, "alice", AuditAction::Release)
        .expect("again"));
    assert_eq!(
        store
            .identify(&presented("alice", None, None, later))
            .expect("identify"),
        Identity::Free
    );
    let log = store.audit(10).expect("audit");
    assert_eq!(
        (log[0].action, log[0].target.as_str()),
        (AuditAction::Release, "alice")
    );
}

pub(super) fn dms_rooms_and_reports_are_kept(store: &mut dyn Store) {
    let alice = hold(store, "alice", "laptop", 1000);
    let bob = hold(store, "bob", "bob-key", 1000);
    let members = [(alice.id, "alice".to_owned()), (bob.id, "bob".to_owned())];
    store.open_dm("dm-1", &members).expect("dm");
    store.open_dm("dm-1", &members).expect("again");
    assert_eq!(store.dm_members("dm-1").expect("members"), members);
    assert!(store.dm_members("general").expect("none").is_empty());
    store.add_my_room(alice.id, "general").expect("room");
    assert_eq!(
        store.my_rooms(alice.id).expect("rooms"),
        ["dm-1", "general"]
    );
    assert_eq!(store.my_rooms(bob.id).expect("rooms"), ["dm-1"]);
    assert!(store.leave_my_room(alice.id, "general").expect("leave"));
    assert!(!store.leave_my_room(alice.id, "general").expect("again"));
    assert_eq!(store.my_rooms(alice.id).expect("rooms"), ["dm-1"]);
    let appended = store
        .append(&[message("dm-1", "bob", "psst", None)])
        .expect("append");
    let [Appended::New { message: psst, .. }] = appended.as_slice() else {
        panic!("expected a new message, got {appended:?}");
    };
    assert!(!store
        .report("general", psst.id, "alice", "rude")
        .expect("wrong room"));
    assert!(store
        .report("dm-1", psst.id, "alice", "rude")
        .expect("report"));
    let log = store.audit(1).expect("audit");
    assert_eq!(
        (log[0].action, log[0].moderator.as_str()),
        (AuditAction::Report, "alice")
    );
    assert_eq!(log[0].target, psst.id.to_string());
    let detail = log[0].detail.clone().unwrap_or_default();
    assert!(detail.contains("psst") && detail.contains("rude") && detail.contains("bob"));
}

pub(super) fn any_device_of_the_person_changes_what_another_posted(store: &mut dyn Store) {
    // Posted with the laptop's key before the name was held.
    let appended = store
        .append(&[message("general", "alice", "helo", None)])
        .expect("append");
    let [Appended::New { message: helo, .. }] = appended.as_slice() else {
        panic!("expected a new message, got {appended:?}");
    };
    let alice = hold(store, "alice", "alice-secret-author-key", 1000);
    store
        .add_link_code(alice.id, &sha256_hex("code"), 1000, 10_000)
        .expect("code");
    let phone = mine(
        store
            .identify(&presented("alice", Some("phone"), Some("code"), 2000))
            .expect("identify"),
    );
    let mut by_phone = request("alice", helo.id, edit("hello"));
    by_phone.owner = Some(sha256_hex("phone"));
    by_phone.person = Some(phone.id);
    assert!(matches!(
        store.change(&by_phone).expect("edit"),
        Changed::New { .. }
    ));
    // The same key without the person: not the author.
    by_phone.person = None;
    by_phone.action = edit("hello!");
    assert_eq!(
        store.change(&by_phone).expect("edit"),
        Changed::Refused(Refusal::Forbidden)
    );
}
