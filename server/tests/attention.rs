//! Read markers, unread and mention counts, notification levels and
//! `notify` (issue 24), through real sockets, on one node and on the
//! cluster (where a person's two devices sit on different nodes, since
//! connections alternate between them): refusals first, then what the
//! owner may do.

mod common;

use chat_shared::{ClientFrame, ErrorCode, ForbiddenReason, NotifyLevel, RoomInfo, ServerFrame};
use common::{join, until, Client, TestServer};

const LAPTOP: &str = "laptop-key-0123456789abcdef";
const PHONE: &str = "phone-key-0123456789abcdef0";
const BOB: &str = "bob-key-0123456789abcdef012";
const CAROL: &str = "carol-key-0123456789abcdef0";

/// alice's second device, linked by a code from `first`, in `room`.
async fn second_device(server: &TestServer, first: &mut Client, room: &str) -> Client {
    second_device_named(server, first, room, PHONE).await
}

/// The error `client` is answered with next (skipping other frames).
async fn error(client: &mut Client) -> (ErrorCode, Option<ForbiddenReason>) {
    until(client, |frame| match frame {
        ServerFrame::Error { code, reason, .. } => Some((code, reason)),
        _ => None,
    })
    .await
}

async fn rooms(client: &mut Client) -> Vec<RoomInfo> {
    client.send(ClientFrame::ListRooms).await;
    until(client, |frame| match frame {
        ServerFrame::Rooms { rooms } => Some(rooms),
        _ => None,
    })
    .await
}

/// The room `name` as `list_rooms` shows it to `client`.
async fn room(client: &mut Client, name: &str) -> RoomInfo {
    rooms(client)
        .await
        .into_iter()
        .find(|room| room.name == name)
        .unwrap_or_else(|| panic!("{name} is not listed"))
}

/// Posts `text` (as a reply to `reply_to`) and returns its id, from the
/// sender's own copy.
async fn post(client: &mut Client, text: &str, reply_to: Option<u64>) -> u64 {
    client
        .send(ClientFrame::Message {
            text: text.into(),
            client_id: None,
            reply_to,
            attachments: Vec::new(),
        })
        .await;
    until(client, |frame| match frame {
        ServerFrame::Message(message) if message.text == text => Some(message.id),
        _ => None,
    })
    .await
}

/// The next `read` frame's room and id.
async fn read(client: &mut Client) -> (String, u64) {
    until(client, |frame| match frame {
        ServerFrame::Read { room, id } => Some((room, id)),
        _ => None,
    })
    .await
}

/// The next `level` frame's room and level.
async fn level(client: &mut Client) -> (String, NotifyLevel) {
    until(client, |frame| match frame {
        ServerFrame::Level { room, level } => Some((room, level)),
        _ => None,
    })
    .await
}

/// The next `notify` frame: room, text, mention.
async fn notify(client: &mut Client) -> (String, String, bool) {
    until(client, |frame| match frame {
        ServerFrame::Notify {
            room,
            text,
            mention,
            author,
            ..
        } => {
            assert_ne!(author, "alice", "never for one's own message");
            Some((room, text, mention))
        }
        _ => None,
    })
    .await
}

/// The DM of `client`'s name and `with`.
async fn open_dm(client: &mut Client, with: &str) -> String {
    client
        .send(ClientFrame::OpenDm {
            with: vec![with.into()],
        })
        .await;
    until(client, |frame| match frame {
        ServerFrame::Dm { room, .. } => Some(room),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_keyless_connection_is_refused_markers_levels_and_push() {
    let server = TestServer::start().await;
    let mut keyless = server.joined("dora", "general", None).await;
    let not_held = (ErrorCode::Forbidden, Some(ForbiddenReason::NotHeld));
    let frames = [
        ClientFrame::MarkRead {
            room: "general".into(),
            id: 1,
        },
        ClientFrame::SetLevel {
            room: "general".into(),
            level: NotifyLevel::All,
        },
        ClientFrame::PushUnsubscribe {
            endpoint: "https://push.example/1".into(),
        },
    ];
    for frame in frames {
        keyless.send(frame.clone()).await;
        assert_eq!(error(&mut keyless).await, not_held, "{frame:?}");
    }
    // And its rooms carry none of the new fields.
    let general = room(&mut keyless, "general").await;
    assert_eq!(
        (
            general.read,
            general.unread,
            general.mentions,
            general.level
        ),
        (None, 0, 0, None)
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_third_person_can_neither_set_nor_learn_anything_of_a_dm() {
    let server = TestServer::start().await;
    let mut alice = server.joined("alice", "general", Some(LAPTOP)).await;
    let _bob = server.joined("bob", "general", Some(BOB)).await;
    let dm = open_dm(&mut alice, "bob").await;
    let mut carol = server.joined("carol", "general", Some(CAROL)).await;
    let not_member = (ErrorCode::Forbidden, Some(ForbiddenReason::NotMember));
    carol
        .send(ClientFrame::MarkRead {
            room: dm.clone(),
            id: 1,
        })
        .await;
    assert_eq!(error(&mut carol).await, not_member);
    carol
        .send(ClientFrame::SetLevel {
            room: dm.clone(),
            level: NotifyLevel::None,
        })
        .await;
    assert_eq!(error(&mut carol).await, not_member);
    assert!(rooms(&mut carol).await.iter().all(|room| room.name != dm));
    // A room carol never entered is not hers to mark either.
    carol
        .send(ClientFrame::MarkRead {
            room: "elsewhere".into(),
            id: 1,
        })
        .await;
    assert_eq!(error(&mut carol).await.0, ErrorCode::NotFound);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_marker_reaches_every_device_stays_private_and_never_moves_back() {
    let server = TestServer::start().await;
    let mut laptop = server.joined("alice", "general", Some(LAPTOP)).await;
    let mut phone = second_device(&server, &mut laptop, "general").await;
    let mut bob = server.joined("bob", "general", Some(BOB)).await;
    let first = post(&mut bob, "one", None).await;
    let second = post(&mut bob, "two", None).await;
    post(&mut bob, "three", None).await;
    laptop
        .send(ClientFrame::MarkRead {
            room: "general".into(),
            id: second,
        })
        .await;
    let moved = ("general".to_owned(), second);
    assert_eq!(read(&mut laptop).await, moved);
    assert_eq!(read(&mut phone).await, moved, "the other device hears it");
    let general = room(&mut phone, "general").await;
    assert_eq!((general.read, general.unread), (Some(second), 1));
    // Behind the marker: answered with the marker in force.
    phone
        .send(ClientFrame::MarkRead {
            room: "general".into(),
            id: first,
        })
        .await;
    assert_eq!(read(&mut phone).await, moved);
    assert_eq!(read(&mut laptop).await, moved);
    // Bob's list shows his own marker (none) and his own count, never alice's.
    let general = room(&mut bob, "general").await;
    assert_eq!(
        (general.read, general.unread, general.mentions),
        (None, 0, 0)
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn unread_counts_leave_out_own_deleted_and_changes_and_count_mentions() {
    let server = TestServer::start().await;
    let mut alice = server.joined("alice", "general", Some(LAPTOP)).await;
    let mut bob = server.joined("bob", "general", Some(BOB)).await;
    let mine = post(&mut alice, "mine", None).await;
    let hi = post(&mut bob, "hi", None).await;
    post(&mut bob, "@alice look", None).await;
    post(&mut bob, "@\u{430}lice, a look-alike", None).await;
    post(&mut bob, "an answer", Some(mine)).await;
    let gone = post(&mut bob, "soon gone @alice", None).await;
    for change in [
        ClientFrame::Delete {
            id: gone,
            client_id: None,
        },
        ClientFrame::Edit {
            id: hi,
            text: "hi @alice".into(),
            client_id: None,
        },
        ClientFrame::React {
            id: hi,
            emoji: "👍".into(),
            on: true,
            client_id: None,
        },
    ] {
        bob.send(change).await;
        until(&mut bob, |frame| match frame {
            ServerFrame::MessageEdited(_)
            | ServerFrame::MessageDeleted(_)
            | ServerFrame::Reaction(_) => Some(()),
            _ => None,
        })
        .await;
    }
    // hi, the mention, the look-alike and the reply; the mention and the
    // reply are mentions.
    let general = room(&mut alice, "general").await;
    assert_eq!((general.unread, general.mentions), (4, 2));
    // Bob counts alice's one message.
    let general = room(&mut bob, "general").await;
    assert_eq!((general.unread, general.mentions), (1, 0));
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn levels_default_by_kind_of_room_and_change_on_every_device() {
    let server = TestServer::start().await;
    let mut laptop = server.joined("alice", "general", Some(LAPTOP)).await;
    let mut phone = second_device(&server, &mut laptop, "rust").await;
    let _bob = server.joined("bob", "general", Some(BOB)).await;
    let dm = open_dm(&mut laptop, "bob").await;
    for name in ["general", dm.as_str()] {
        assert_eq!(room(&mut laptop, name).await.level, None, "the default");
    }
    assert_eq!(NotifyLevel::effective(None, &dm), NotifyLevel::All);
    assert_eq!(
        NotifyLevel::effective(None, "general"),
        NotifyLevel::Mentions
    );
    laptop
        .send(ClientFrame::SetLevel {
            room: "general".into(),
            level: NotifyLevel::All,
        })
        .await;
    let set = ("general".to_owned(), NotifyLevel::All);
    assert_eq!(level(&mut laptop).await, set);
    assert_eq!(level(&mut phone).await, set);
    assert_eq!(
        room(&mut phone, "general").await.level,
        Some(NotifyLevel::All)
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn notify_calls_a_person_in_another_room_by_their_level() {
    let server = TestServer::start().await;
    // alice's phone sits in general (so general is hers), her laptop in rust.
    let mut phone_first = server.joined("alice", "general", Some(PHONE)).await;
    let mut laptop = second_device_named(&server, &mut phone_first, "rust", LAPTOP).await;
    let mut bob = server.joined("bob", "general", Some(BOB)).await;
    let set = |level| ClientFrame::SetLevel {
        room: "general".into(),
        level,
    };
    // At `mentions` (the default): not a plain message, a mention yes.
    post(&mut bob, "plain", None).await;
    post(&mut bob, "@alice look", None).await;
    assert_eq!(
        notify(&mut laptop).await,
        ("general".to_owned(), "@alice look".to_owned(), true)
    );
    // Her own message never calls her, even mentioning herself.
    post(&mut phone_first, "@alice note to self", None).await;
    // A reply to hers is a mention.
    let hers = post(&mut phone_first, "a question", None).await;
    post(&mut bob, "an answer", Some(hers)).await;
    assert_eq!(notify(&mut laptop).await.1, "an answer");
    // At `all`: every message.
    laptop.send(set(NotifyLevel::All)).await;
    level(&mut laptop).await;
    level(&mut phone_first).await;
    post(&mut bob, "plain again", None).await;
    assert_eq!(
        notify(&mut laptop).await,
        ("general".to_owned(), "plain again".to_owned(), false)
    );
    // At `none`: nothing, not even a mention.
    laptop.send(set(NotifyLevel::None)).await;
    level(&mut laptop).await;
    level(&mut phone_first).await;
    post(&mut bob, "@alice are you there", None).await;
    // A DM calls for every message by default (and is the next notify).
    let dm = open_dm(&mut bob, "alice").await;
    let mut bob_in_dm = server.joined("bob", &dm, Some(BOB)).await;
    post(&mut bob_in_dm, "psst", None).await;
    assert_eq!(notify(&mut laptop).await, (dm, "psst".to_owned(), false));
    // The connection in general saw the messages themselves: no notify
    // for general ever reached it.
    phone_first.send(ClientFrame::ListRooms).await;
    until(&mut phone_first, |frame| match frame {
        ServerFrame::Notify { room, .. } => {
            assert_ne!(room, "general", "the device in the room is not notified");
            None
        }
        ServerFrame::Rooms { .. } => Some(()),
        _ => None,
    })
    .await;
    server.stop().await.expect("clean stop");
}

/// alice's device with `key`, linked by a code from `first`, in `room`.
async fn second_device_named(
    server: &TestServer,
    first: &mut Client,
    room: &str,
    key: &str,
) -> Client {
    first.send(ClientFrame::LinkDevice).await;
    let code = until(first, |frame| match frame {
        ServerFrame::DeviceLink { code, .. } => Some(code),
        _ => None,
    })
    .await;
    let mut device = server.connect().await;
    let welcome = device
        .join_with(join("alice", Some(room), Some(key), Some(&code)))
        .await;
    assert!(welcome.held);
    device
}
