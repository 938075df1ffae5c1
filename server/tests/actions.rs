//! Editing, deleting, replying and reacting, through real sockets: who may
//! do what (the author key), the refusals in their order, resends that
//! change nothing twice, `since` replays that bring every change exactly
//! once, and history pages that show messages as they are now.

mod common;

use chat_server::Config;
use chat_shared::{
    Change, ChatMessage, ClientFrame, Edit, ErrorCode, ForbiddenReason, Quote, Reaction, Reactions,
    ServerFrame,
};
use common::{temp_db, unthrottled, Client, TestServer};
use std::time::Duration;

const ALICE_KEY: &str = "alice-key-0123456789abcdef";
const OTHER_KEY: &str = "other-key-0123456789abcdef";

fn join_frame(name: &str, key: Option<&str>, since: Option<u64>) -> ClientFrame {
    ClientFrame::Join {
        username: name.into(),
        room: None,
        since,
        resume: None,
        join_code: None,
        author_key: key.map(Into::into),
        link_code: None,
        device: None,
    }
}

/// The same join, to another room.
fn in_room(frame: ClientFrame, to: &str) -> ClientFrame {
    match frame {
        ClientFrame::Join {
            room: _,
            username,
            since,
            resume,
            join_code,
            author_key,
            link_code,
            device,
        } => ClientFrame::Join {
            username,
            room: Some(to.into()),
            since,
            resume,
            join_code,
            author_key,
            link_code,
            device,
        },
        other => other,
    }
}

/// A client that joined with `key`, after the `others` saw it join.
async fn join(
    server: &TestServer,
    name: &str,
    key: Option<&str>,
    others: &mut [&mut Client],
) -> Client {
    let mut client = server.connect().await;
    client.join_with(join_frame(name, key, None)).await;
    for other in others.iter_mut() {
        match other.recv().await {
            ServerFrame::UserJoined { username, .. } if username == name => {}
            frame => panic!("expected user_joined for {name}, got {frame:?}"),
        }
    }
    client
}

fn edit(id: u64, text: &str, client_id: &str) -> ClientFrame {
    ClientFrame::Edit {
        id,
        text: text.into(),
        client_id: Some(client_id.into()),
    }
}

fn delete(id: u64, client_id: &str) -> ClientFrame {
    ClientFrame::Delete {
        id,
        client_id: Some(client_id.into()),
    }
}

fn react(id: u64, emoji: &str, on: bool, client_id: &str) -> ClientFrame {
    ClientFrame::React {
        id,
        emoji: emoji.into(),
        on,
        client_id: Some(client_id.into()),
    }
}

fn reply(text: &str, to: u64, client_id: &str) -> ClientFrame {
    ClientFrame::Message {
        text: text.into(),
        client_id: Some(client_id.into()),
        reply_to: Some(to),
        attachments: Vec::new(),
    }
}

/// Posts `text` and returns the message as every client in `everyone`
/// (the poster first) received it.
async fn post(text: &str, everyone: &mut [&mut Client]) -> ChatMessage {
    everyone[0].say(text).await;
    let mut seen = Vec::new();
    for client in everyone.iter_mut() {
        seen.push(client.recv_message().await);
    }
    assert!(seen.windows(2).all(|pair| pair[0] == pair[1]));
    seen.remove(0)
}

/// Sends `frame` from the first client and returns the frame every client
/// of `everyone` then receives (the same for all).
async fn broadcast(frame: ClientFrame, everyone: &mut [&mut Client]) -> ServerFrame {
    everyone[0].send(frame).await;
    let first = everyone[0].recv().await;
    for client in everyone[1..].iter_mut() {
        assert_eq!(client.recv().await, first);
    }
    first
}

async fn expect_error(client: &mut Client, code: ErrorCode, client_id: Option<&str>) {
    match client.recv().await {
        ServerFrame::Error {
            code: got,
            client_id: echoed,
            ..
        } if got == code => assert_eq!(echoed.as_deref(), client_id, "the refusal names it"),
        other => panic!("expected {code:?}, got {other:?}"),
    }
}

fn edited(frame: ServerFrame) -> Edit {
    match frame {
        ServerFrame::MessageEdited(edit) => edit,
        other => panic!("expected message_edited, got {other:?}"),
    }
}

fn reaction(frame: ServerFrame) -> Reaction {
    match frame {
        ServerFrame::Reaction(reaction) => reaction,
        other => panic!("expected reaction, got {other:?}"),
    }
}

/// The newest page of the room, as `client` gets it.
async fn page(client: &mut Client, request: ClientFrame) -> (Vec<ChatMessage>, bool, bool) {
    client.send(request).await;
    match client.recv().await {
        ServerFrame::History {
            messages,
            has_more,
            has_newer,
            ..
        } => (messages, has_more, has_newer),
        other => panic!("expected history, got {other:?}"),
    }
}

fn newest(limit: u32) -> ClientFrame {
    ClientFrame::History {
        before: None,
        limit: Some(limit),
        around: None,
    }
}

#[tokio::test]
async fn the_author_edits_and_deletes_and_everyone_sees_it() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = join(&server, "alice", Some(ALICE_KEY), &mut []).await;
    let mut bob = join(&server, "bob", None, &mut [&mut alice]).await;
    let typo = post("helo", &mut [&mut alice, &mut bob]).await;

    let fixed = edited(
        broadcast(
            edit(typo.id, "  hello  ", "e-1"),
            &mut [&mut alice, &mut bob],
        )
        .await,
    );
    assert!(fixed.id > typo.id, "the edit takes the next id");
    assert_eq!(fixed.target, typo.id);
    assert_eq!(
        fixed.text.as_deref(),
        Some("hello"),
        "normalised like a message"
    );
    assert_eq!(
        (fixed.username.as_str(), fixed.client_id.as_deref()),
        ("alice", Some("e-1"))
    );
    assert!(fixed.edited_at >= typo.timestamp);

    let (messages, _, _) = page(&mut bob, newest(10)).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].text, "hello");
    assert_eq!(
        messages[0].edited_at.as_deref(),
        Some(fixed.edited_at.as_str())
    );

    match broadcast(delete(typo.id, "d-1"), &mut [&mut alice, &mut bob]).await {
        ServerFrame::MessageDeleted(deletion) => {
            assert_eq!(
                (deletion.target, deletion.username.as_str()),
                (typo.id, "alice")
            );
            assert!(deletion.id > fixed.id);
        }
        other => panic!("expected message_deleted, got {other:?}"),
    }
    // Deleting is final: nothing more can be done to it.
    alice.send(edit(typo.id, "again", "e-2")).await;
    expect_error(&mut alice, ErrorCode::NotFound, Some("e-2")).await;
    bob.send(react(typo.id, "👍", true, "r-1")).await;
    expect_error(&mut bob, ErrorCode::NotFound, Some("r-1")).await;
    bob.send(reply("what was it?", typo.id, "m-1")).await;
    expect_error(&mut bob, ErrorCode::NotFound, Some("m-1")).await;
    alice.send(delete(typo.id, "d-2")).await;
    expect_error(&mut alice, ErrorCode::NotFound, Some("d-2")).await;

    let (messages, _, _) = page(&mut bob, newest(10)).await;
    let tombstone = &messages[0];
    assert!(tombstone.deleted);
    assert_eq!(
        (tombstone.id, tombstone.username.as_str()),
        (typo.id, "alice")
    );
    assert!(tombstone.text.is_empty() && tombstone.reactions.is_empty());
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn only_the_same_author_key_may_edit_or_delete() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = join(&server, "alice", Some(ALICE_KEY), &mut []).await;
    let mut bob = join(&server, "bob", None, &mut [&mut alice]).await;
    let mut carol = join(
        &server,
        "carol",
        Some(OTHER_KEY),
        &mut [&mut alice, &mut bob],
    )
    .await;
    let mine = post("mine", &mut [&mut alice, &mut bob, &mut carol]).await;
    let keyless = post("no key", &mut [&mut bob, &mut alice, &mut carol]).await;

    // Without a key, with another key, or a message posted without one.
    for (client, id) in [
        (&mut bob, mine.id),
        (&mut carol, mine.id),
        (&mut alice, keyless.id),
    ] {
        client.send(edit(id, "taken over", "e-x")).await;
        let refused = client.expect_forbidden(ForbiddenReason::NotAuthor).await;
        assert_eq!(refused.as_deref(), Some("e-x"));
        client.send(delete(id, "d-x")).await;
        let refused = client.expect_forbidden(ForbiddenReason::NotAuthor).await;
        assert_eq!(refused.as_deref(), Some("d-x"));
    }
    // The key is the authority, whatever name it comes with.
    let mut again = join(
        &server,
        "alice-phone",
        Some(ALICE_KEY),
        &mut [&mut alice, &mut bob, &mut carol],
    )
    .await;
    let change = broadcast(
        edit(mine.id, "still mine", "e-y"),
        &mut [&mut again, &mut alice, &mut bob, &mut carol],
    )
    .await;
    assert_eq!(edited(change).username, "alice-phone");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_join_with_a_malformed_author_key_is_refused() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    for key in ["short", "spaces are not allowed here", &"k".repeat(129)] {
        client.send(join_frame("dave", Some(key), None)).await;
        expect_error(&mut client, ErrorCode::BadRequest, None).await;
    }
    client
        .join_with(join_frame("dave", Some(ALICE_KEY), None))
        .await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_resend_gets_the_original_event_and_changes_nothing() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = join(&server, "alice", Some(ALICE_KEY), &mut []).await;
    let mut bob = join(&server, "bob", None, &mut [&mut alice]).await;
    let first = post("first", &mut [&mut alice, &mut bob]).await;
    let second = post("second", &mut [&mut alice, &mut bob]).await;

    let original_edit =
        broadcast(edit(first.id, "first!", "e-1"), &mut [&mut alice, &mut bob]).await;
    let original_reaction = broadcast(
        react(first.id, "🎉", true, "r-1"),
        &mut [&mut bob, &mut alice],
    )
    .await;
    let original_delete = broadcast(delete(second.id, "d-1"), &mut [&mut alice, &mut bob]).await;
    // Resent, as after a reconnect: to the sender only, and before any
    // other rule (the deleted message would be not_found).
    for (frame, original) in [
        (edit(first.id, "first!", "e-1"), &original_edit),
        (edit(first.id, "something else", "e-1"), &original_edit),
        (delete(second.id, "d-1"), &original_delete),
    ] {
        alice.send(frame).await;
        assert_eq!(&alice.recv().await, original);
    }
    bob.send(react(first.id, "🎉", true, "r-1")).await;
    assert_eq!(bob.recv().await, original_reaction);
    bob.expect_silence().await;
    alice.expect_silence().await;
    // A client_id names one thing: alice's edit id cannot name her
    // reaction, nor a message.
    alice.send(react(first.id, "👀", true, "e-1")).await;
    expect_error(&mut alice, ErrorCode::BadRequest, Some("e-1")).await;
    alice.say_with_id("a message", "d-1").await;
    expect_error(&mut alice, ErrorCode::BadRequest, Some("d-1")).await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_request_that_changes_nothing_makes_no_event() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = join(&server, "alice", Some(ALICE_KEY), &mut []).await;
    let mut bob = join(&server, "bob", None, &mut [&mut alice]).await;
    let message = post("same", &mut [&mut alice, &mut bob]).await;

    // Never edited, edited to the same text: nothing to answer with.
    alice.send(edit(message.id, "same", "e-0")).await;
    alice.expect_silence().await;
    let change = broadcast(
        edit(message.id, "better", "e-1"),
        &mut [&mut alice, &mut bob],
    )
    .await;
    alice.send(edit(message.id, " better ", "e-2")).await;
    assert_eq!(alice.recv().await, change, "the edit that made the text");

    bob.send(react(message.id, "😮", false, "r-0")).await;
    bob.expect_silence().await;
    let on = broadcast(
        react(message.id, "😮", true, "r-1"),
        &mut [&mut bob, &mut alice],
    )
    .await;
    bob.send(react(message.id, "😮", true, "r-2")).await;
    assert_eq!(bob.recv().await, on);
    let off = broadcast(
        react(message.id, "😮", false, "r-3"),
        &mut [&mut bob, &mut alice],
    )
    .await;
    bob.send(react(message.id, "😮", false, "r-4")).await;
    assert_eq!(bob.recv().await, off);
    alice.expect_silence().await;
    bob.expect_silence().await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn refusals_come_in_the_rules_order() {
    let server = TestServer::start_with(Config {
        edit_window: Duration::ZERO,
        ..unthrottled()
    })
    .await;
    let mut alice = join(&server, "alice", Some(ALICE_KEY), &mut []).await;
    let mut bob = join(&server, "bob", Some(OTHER_KEY), &mut [&mut alice]).await;
    let hers = post("hers", &mut [&mut alice, &mut bob]).await;
    let too_long = "x".repeat(chat_shared::MAX_MESSAGE_CHARS + 1);
    let mut clients = [alice, bob];
    let cases = [
        // Not a message of this room beats every other rule.
        (0, edit(9_999, "", "c-1"), ErrorCode::NotFound, "c-1"),
        (
            1,
            react(9_999, "+1", true, "c-2"),
            ErrorCode::NotFound,
            "c-2",
        ),
        // Then the key, before the window and the text.
        (1, edit(hers.id, "", "c-3"), ErrorCode::Forbidden, "c-3"),
        // Then the window (zero here) before the text.
        (0, edit(hers.id, "", "c-4"), ErrorCode::EditExpired, "c-4"),
        (
            0,
            edit(hers.id, &too_long, "c-5"),
            ErrorCode::EditExpired,
            "c-5",
        ),
        (
            1,
            react(hers.id, "+1", true, "c-6"),
            ErrorCode::BadRequest,
            "c-6",
        ),
    ];
    for (who, frame, code, client_id) in cases {
        clients[who].send(frame).await;
        expect_error(&mut clients[who], code, Some(client_id)).await;
    }
    let [alice, bob] = &mut clients;
    // Past the window a message can still be taken back.
    let gone = broadcast(delete(hers.id, "c-7"), &mut [alice, bob]).await;
    assert!(matches!(gone, ServerFrame::MessageDeleted(_)));
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn an_edit_within_the_window_follows_the_message_rules() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = join(&server, "alice", Some(ALICE_KEY), &mut []).await;
    let hers = post("hers", &mut [&mut alice]).await;
    let too_long = "x".repeat(chat_shared::MAX_MESSAGE_CHARS + 1);
    alice.send(edit(hers.id, "  ", "t-1")).await;
    expect_error(&mut alice, ErrorCode::EmptyMessage, Some("t-1")).await;
    alice.send(edit(hers.id, &too_long, "t-2")).await;
    expect_error(&mut alice, ErrorCode::MessageTooLong, Some("t-2")).await;
    alice.send(edit(hers.id, "a\0b", "t-3")).await;
    expect_error(&mut alice, ErrorCode::BadRequest, Some("t-3")).await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn reactions_are_per_user_and_pages_show_who() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = join(&server, "alice", None, &mut []).await;
    let mut bob = join(&server, "bob", None, &mut [&mut alice]).await;
    let message = post("vote", &mut [&mut alice, &mut bob]).await;
    let bare_heart = reaction(
        broadcast(
            react(message.id, "❤", true, "r-1"),
            &mut [&mut bob, &mut alice],
        )
        .await,
    );
    assert_eq!(bare_heart.emoji, "❤️", "a bare heart is the red heart");
    broadcast(
        react(message.id, "👍", true, "r-2"),
        &mut [&mut alice, &mut bob],
    )
    .await;
    broadcast(
        react(message.id, "👍", true, "r-3"),
        &mut [&mut bob, &mut alice],
    )
    .await;
    broadcast(
        react(message.id, "❤️", true, "r-4"),
        &mut [&mut alice, &mut bob],
    )
    .await;
    let (messages, _, _) = page(&mut alice, newest(5)).await;
    assert_eq!(
        messages[0].reactions,
        [
            Reactions {
                emoji: "❤️".into(),
                users: vec!["bob".into(), "alice".into()]
            },
            Reactions {
                emoji: "👍".into(),
                users: vec!["alice".into(), "bob".into()]
            },
        ]
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_reply_quotes_its_original_until_it_is_deleted() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = join(&server, "alice", Some(ALICE_KEY), &mut []).await;
    let mut bob = join(&server, "bob", None, &mut [&mut alice]).await;
    let long = "word ".repeat(60);
    let original = post(&long, &mut [&mut alice, &mut bob]).await;
    bob.send(reply("agreed", original.id, "m-1")).await;
    let answer = bob.recv_message().await;
    assert_eq!(alice.recv_message().await, answer);
    assert_eq!(answer.reply_to, Some(original.id));
    let quote = answer.reply.clone().expect("a quote");
    assert_eq!((quote.id, quote.username.as_str()), (original.id, "alice"));
    assert_eq!(quote.text, chat_shared::quote_excerpt(&long));
    assert!(
        quote.text.chars().count() <= chat_shared::MAX_QUOTE_CHARS && quote.text.ends_with('…')
    );

    broadcast(delete(original.id, "d-1"), &mut [&mut alice, &mut bob]).await;
    let (messages, _, _) = page(&mut bob, newest(5)).await;
    assert_eq!(messages[1].id, answer.id);
    assert_eq!(
        messages[1].reply,
        Some(Quote {
            id: original.id,
            username: "alice".into(),
            text: String::new(),
            deleted: true
        })
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_since_replay_brings_every_change_once_in_id_order() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = join(&server, "alice", Some(ALICE_KEY), &mut []).await;
    let old = post("old", &mut [&mut alice]).await;
    let doomed = post("doomed", &mut [&mut alice]).await;
    let since = doomed.id;
    // Away from here on: changes to messages older than `since`, a new
    // message and a change to it.
    let change_of_old =
        edited(broadcast(edit(old.id, "old, edited", "e-1"), &mut [&mut alice]).await);
    let doomed_edit =
        edited(broadcast(edit(doomed.id, "doomed, edited", "e-2"), &mut [&mut alice]).await);
    let reacted = reaction(broadcast(react(old.id, "👀", true, "r-1"), &mut [&mut alice]).await);
    broadcast(delete(doomed.id, "d-1"), &mut [&mut alice]).await;
    let new = post("new", &mut [&mut alice]).await;
    broadcast(react(new.id, "🙏", true, "r-2"), &mut [&mut alice]).await;

    let mut back = server.connect().await;
    let welcome = back
        .join_with(join_frame("alice-again", Some(ALICE_KEY), Some(since)))
        .await;
    assert_eq!(
        welcome.history.iter().map(|m| m.id).collect::<Vec<_>>(),
        [new.id]
    );
    let changes: Vec<(u64, u64)> = welcome
        .changes
        .iter()
        .map(|c| (c.id(), c.target()))
        .collect();
    assert_eq!(changes.len(), 5, "{:?}", welcome.changes);
    assert_eq!(
        changes
            .iter()
            .map(|(_, target)| *target)
            .collect::<Vec<_>>(),
        [old.id, doomed.id, old.id, doomed.id, new.id]
    );
    assert_eq!(welcome.changes[0], Change::MessageEdited(change_of_old));
    assert_eq!(
        welcome.changes[1],
        Change::MessageEdited(Edit {
            text: None,
            ..doomed_edit
        }),
        "the edit of a message deleted since carries no text"
    );
    assert_eq!(welcome.changes[2], Change::Reaction(reacted));
    // And nothing after the welcome repeats them.
    back.expect_silence().await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn each_room_sees_its_mixed_events_in_id_order() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut watchers = Vec::new();
    for room in ["one", "two"] {
        let mut author = server.connect().await;
        author
            .join_with(in_room(
                join_frame(&format!("author-{room}"), Some(ALICE_KEY), None),
                room,
            ))
            .await;
        watchers.push(author);
    }
    // Interleaved across the rooms: posts, edits, reactions, deletions.
    let mut ids = [Vec::new(), Vec::new()];
    for round in 0..5 {
        for (index, author) in watchers.iter_mut().enumerate() {
            let message = post(&format!("m{round}"), &mut [&mut *author]).await;
            ids[index].push(message.id);
            for frame in [
                edit(message.id, &format!("m{round}!"), &format!("e{round}")),
                react(message.id, "👍", true, &format!("r{round}")),
                delete(message.id, &format!("d{round}")),
            ] {
                let event = broadcast(frame, &mut [&mut *author]).await;
                ids[index].push(event_id(&event));
            }
        }
    }
    for (index, room_ids) in ids.iter().enumerate() {
        assert!(
            room_ids.windows(2).all(|pair| pair[0] < pair[1]),
            "room {index}: {room_ids:?}"
        );
    }
    // A reader of room one from the start gets exactly its 20 events.
    let mut reader = server.connect().await;
    let welcome = reader
        .join_with(in_room(join_frame("reader", None, Some(0)), "one"))
        .await;
    let mut replayed: Vec<u64> = welcome.changes.iter().map(Change::id).collect();
    replayed.extend(welcome.history.iter().map(|m| m.id));
    replayed.sort_unstable();
    // Each round's message was deleted: only its three changes are left.
    let expected: Vec<u64> = ids[0]
        .chunks(4)
        .flat_map(|round| round[1..].to_vec())
        .collect();
    assert_eq!(replayed, expected, "every change, and no deleted message");
    server.stop().await.expect("clean stop");
}

fn event_id(frame: &ServerFrame) -> u64 {
    match frame {
        ServerFrame::MessageEdited(edit) => edit.id,
        ServerFrame::MessageDeleted(deletion) => deletion.id,
        ServerFrame::Reaction(reaction) => reaction.id,
        other => panic!("expected a change, got {other:?}"),
    }
}

#[tokio::test]
async fn a_page_around_an_id_is_centred_on_it() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = join(&server, "alice", Some(ALICE_KEY), &mut []).await;
    let mut ids = Vec::new();
    for n in 0..30 {
        let message = post(&format!("m{n}"), &mut [&mut alice]).await;
        ids.push(message.id);
        // Changes in between are not counted.
        broadcast(
            react(message.id, "👍", true, &format!("r{n}")),
            &mut [&mut alice],
        )
        .await;
    }
    let around = |id, limit| ClientFrame::History {
        before: None,
        limit: Some(limit),
        around: Some(id),
    };
    let (messages, has_more, has_newer) = page(&mut alice, around(ids[15], 10)).await;
    assert_eq!(
        messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[10..20]
    );
    assert!(has_more && has_newer);
    assert!(messages.iter().all(|m| m.reactions.len() == 1));
    let (messages, has_more, has_newer) = page(&mut alice, around(ids[2], 10)).await;
    assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..7]);
    assert!(!has_more && has_newer);
    let (messages, _, has_newer) = page(&mut alice, around(ids[28], 10)).await;
    assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), ids[23..]);
    assert!(!has_newer);
    alice
        .send(ClientFrame::History {
            before: Some(5),
            limit: None,
            around: Some(5),
        })
        .await;
    expect_error(&mut alice, ErrorCode::BadRequest, None).await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn the_author_key_outlives_a_restart() {
    let path = temp_db("author-key.db");
    let config = || Config {
        db: path.clone(),
        ..unthrottled()
    };
    let server = TestServer::start_with(config()).await;
    let mut alice = join(&server, "alice", Some(ALICE_KEY), &mut []).await;
    let message = post("before the restart", &mut [&mut alice]).await;
    server.stop().await.expect("clean stop");

    let server = TestServer::start_with(config()).await;
    // The name is still alice's key's (issue 23): another key is refused
    // it, and under another name may not edit either.
    let mut taker = server.connect().await;
    taker.send(join_frame("alice", Some(OTHER_KEY), None)).await;
    assert!(matches!(
        taker.recv().await,
        ServerFrame::Error {
            code: ErrorCode::NameHeld,
            ..
        }
    ));
    let mut stranger = join(&server, "mallory", Some(OTHER_KEY), &mut []).await;
    stranger.send(edit(message.id, "not yours", "e-1")).await;
    let refused = stranger.expect_forbidden(ForbiddenReason::NotAuthor).await;
    assert_eq!(refused.as_deref(), Some("e-1"));
    let mut alice = join(&server, "alice-back", Some(ALICE_KEY), &mut [&mut stranger]).await;
    let change = edited(
        broadcast(
            edit(message.id, "after the restart", "e-2"),
            &mut [&mut alice, &mut stranger],
        )
        .await,
    );
    assert_eq!(change.text.as_deref(), Some("after the restart"));
    server.stop().await.expect("clean stop");
}

/// A `client_id` names one message (or change) per room and author: the
/// same id in another room is new there, and a resend always echoes the
/// room's own, never another room's text.
#[tokio::test]
async fn a_client_id_reused_in_another_room_is_that_rooms_own() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut general = server.connect().await;
    let first = general.join_with(join_frame("alice", None, None)).await;
    let mut rust = server.connect().await;
    rust.join_with(ClientFrame::Join {
        username: "alice".into(),
        room: Some("rust".into()),
        since: None,
        resume: Some(first.resume),
        join_code: None,
        author_key: None,
        link_code: None,
        device: None,
    })
    .await;
    general.say_with_id("for general", "c-1").await;
    let in_general = general.recv_message().await;
    rust.say_with_id("for rust", "c-1").await;
    let in_rust = rust.recv_message().await;
    assert_eq!(in_rust.text, "for rust", "not general's text echoed back");
    assert_ne!(in_rust.id, in_general.id);
    rust.say_with_id("for rust", "c-1").await;
    assert_eq!(rust.recv_message().await, in_rust, "a resend in rust");
    general.say_with_id("for general", "c-1").await;
    assert_eq!(
        general.recv_message().await,
        in_general,
        "a resend in general"
    );
    // Changes too: the same id reacts in each room to that room's message.
    for (client, target) in [(&mut general, in_general.id), (&mut rust, in_rust.id)] {
        client.send(react(target, "👍", true, "c-2")).await;
        assert_eq!(reaction(client.recv().await).target, target);
    }
    let mut reader = server.connect().await;
    let welcome = reader
        .join_with(in_room(join_frame("reader", None, None), "rust"))
        .await;
    assert_eq!(welcome.history.len(), 1);
    assert_eq!(
        (
            welcome.history[0].text.as_str(),
            welcome.history[0].reactions.len()
        ),
        ("for rust", 1)
    );
    server.stop().await.expect("clean stop");
}
