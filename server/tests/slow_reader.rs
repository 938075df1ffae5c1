//! One client that stops reading must not hold up anyone else, and the
//! server must not buffer for it without bound.

mod common;

use chat_server::Config;
use std::time::Duration;

use chat_shared::{ClientFrame, ServerFrame, MAX_MESSAGE_CHARS};
use common::{joined, TestServer, PATIENCE};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

const MESSAGES_EACH: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_does_not_hold_up_the_others() {
    // The two talkers flood on purpose: no rate limit here. A deeper queue
    // than the default keeps this test's own readers (starved of CPU on a
    // busy machine) from being closed as slow too; the sleeper, which reads
    // nothing of 2,000 messages, still fills it.
    // The server closes the sleeper; like any dropped connection it keeps
    // its place for the resume grace period, kept short here.
    let server = TestServer::start_with(Config {
        outbox_frames: 1024,
        // Frames, not bytes, are what the sleeper fills here.
        outbox_bytes: 16 * 1024 * 1024,
        resume_grace: Duration::from_millis(200),
        limits: chat_server::limits::Limits {
            message_rate: 1e9,
            message_burst: u32::MAX,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;
    let mut sleeper = server.connect_with_small_buffer().await;
    sleeper.join("sleeper").await;
    for client in [&mut alice, &mut bob] {
        assert!(matches!(
            client.recv().await,
            ServerFrame::UserJoined { .. }
        ));
    }

    // The largest messages fill the sleeper's buffers soonest.
    let text = "ж".repeat(MAX_MESSAGE_CHARS);
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for client in [alice, bob] {
        let (mut sink, mut stream) = client.socket.split();
        readers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            let mut saw_sleeper_leave = false;
            while ids.len() < 2 * MESSAGES_EACH {
                let message = tokio::time::timeout(PATIENCE, stream.next())
                    .await
                    .expect("every message arrives promptly")
                    .expect("socket open")
                    .expect("valid frame");
                let Message::Text(text) = message else {
                    continue;
                };
                match ServerFrame::decode(&text).expect("frame decodes") {
                    ServerFrame::Message(message) => ids.push(message.id),
                    ServerFrame::UserLeft { username, .. } => {
                        assert_eq!(username, "sleeper");
                        saw_sleeper_leave = true;
                    }
                    // On a busy machine the run can outlast a heartbeat
                    // interval.
                    ServerFrame::Heartbeat => {}
                    other => panic!("unexpected frame {other:?}"),
                }
            }
            (ids, saw_sleeper_leave, stream)
        }));
        let text = text.clone();
        writers.push(tokio::spawn(async move {
            let frame = ClientFrame::message(text).encode();
            for _ in 0..MESSAGES_EACH {
                sink.send(Message::text(frame.clone())).await.expect("send");
            }
            sink
        }));
    }
    // Keep the write halves open until the readers are done.
    let mut sinks = Vec::new();
    for writer in writers {
        sinks.push(writer.await.expect("writer"));
    }
    let mut all_ids = Vec::new();
    let mut streams = Vec::new();
    for reader in readers {
        let (ids, saw_sleeper_leave, stream) = reader.await.expect("reader");
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids in order");
        all_ids.push(ids);
        streams.push((saw_sleeper_leave, stream));
    }
    assert_eq!(all_ids[0], all_ids[1], "both saw the same messages");
    assert_eq!(all_ids[0].len(), 2 * MESSAGES_EACH);

    // The sleeper's queue filled up, so the server closed it (1008, when
    // the close frame still fit into the socket the sleeper never read)
    // instead of buffering the rest of the conversation for it.
    closed_as_too_slow(&mut sleeper).await;
    // Once its short resume grace ends, the others are told it left.
    for (saw_sleeper_leave, mut stream) in streams {
        if saw_sleeper_leave {
            continue;
        }
        loop {
            let message = tokio::time::timeout(PATIENCE, stream.next())
                .await
                .expect("user_left arrives")
                .expect("socket open")
                .expect("valid frame");
            let Message::Text(text) = message else {
                continue;
            };
            if let Ok(ServerFrame::UserLeft { username, .. }) = ServerFrame::decode(&text) {
                assert_eq!(username, "sleeper");
                break;
            }
        }
    }
}

/// A server whose outboxes hold 64 KiB, so answers are cut to 16 KiB:
/// a few of the largest messages fill either. The frame count is out of
/// the way: only bytes can make a client too slow here. No rate limit,
/// and a slow reader's place is kept only briefly, so the others soon
/// hear it left.
fn small_outboxes() -> Config {
    Config {
        outbox_bytes: OUTBOX_BYTES,
        outbox_frames: 1 << 20,
        resume_grace: Duration::from_millis(200),
        ..common::unthrottled()
    }
}

const OUTBOX_BYTES: usize = 64 * 1024;
/// What `Config::page_bytes` makes of [`OUTBOX_BYTES`].
const PAGE_BYTES: usize = OUTBOX_BYTES / 4;
/// What a frame holds besides its list of messages: the room, the flags,
/// a `welcome`'s users, token and limits.
const ENVELOPE: usize = 2 * 1024;

/// The largest message there is, some 4 KB of JSON.
fn big_text() -> String {
    "ж".repeat(MAX_MESSAGE_CHARS)
}

/// Waits until `client` hears that each of `names` left, skipping
/// anything else.
async fn until_left(client: &mut common::Client, names: &[&str]) {
    let mut waiting: Vec<&str> = names.to_vec();
    while !waiting.is_empty() {
        if let ServerFrame::UserLeft { username, .. } = client.recv().await {
            waiting.retain(|name| *name != username);
        }
    }
}

/// The next text frame as it came over the wire, heartbeats skipped.
async fn recv_raw(client: &mut common::Client) -> String {
    loop {
        let message = tokio::time::timeout(PATIENCE, client.socket.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("valid frame");
        if let Message::Text(text) = message {
            if !matches!(ServerFrame::decode(&text), Ok(ServerFrame::Heartbeat)) {
                return text.to_string();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_is_closed_once_its_queued_bytes_pass_the_limit() {
    // Only the bytes can fill the sleeper's outbox. Each message is one
    // buffer shared by both recipients, yet counts whole against the
    // sleeper. Alice talks until she hears the sleeper left.
    let server = TestServer::start_with(small_outboxes()).await;
    let mut sleeper = server.connect_with_small_buffer().await;
    sleeper.join("sleeper").await;
    let mut alice = joined(&server, "alice", &mut [&mut sleeper]).await;
    let text = big_text();
    let mut left = false;
    let mut said = 0;
    while !left {
        // 40 MB: far more than any socket buffers.
        assert!(said < 10_000, "the sleeper was never closed");
        said += 1;
        alice.say(&text).await;
        loop {
            match alice.recv().await {
                ServerFrame::Message(_) => break,
                ServerFrame::UserLeft { username, .. } if username == "sleeper" => left = true,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }
    closed_as_too_slow(&mut sleeper).await;
}

/// Reads what is left of a closed slow reader's connection: a close frame
/// says 1008, too slow. The server may also reset the connection, having
/// closed it with requests of the client's still unread.
async fn closed_as_too_slow(client: &mut common::Client) {
    loop {
        let next = tokio::time::timeout(PATIENCE, client.socket.next())
            .await
            .expect("the connection ends in time");
        match next {
            Some(Ok(Message::Close(Some(close)))) => {
                assert_eq!(u16::from(close.code), 1008);
                assert!(close.reason.contains("too slow"), "{}", close.reason);
                return;
            }
            Some(Ok(Message::Close(None))) => panic!("a close frame without a code"),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_piling_up_history_pages_are_closed_and_the_others_still_hear_everything() {
    let server = TestServer::start_with(small_outboxes()).await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;
    let text = big_text();
    for _ in 0..30 {
        bob.say(&text).await;
        bob.recv_message().await;
        alice.recv_message().await;
    }
    // Several clients that never read ask for page after page of the
    // largest messages: 300 requests each, far fewer than --outbox-frames.
    let names = ["reader1", "reader2", "reader3", "reader4"];
    let mut sleepers = Vec::new();
    for name in names {
        let mut sleeper = server.connect_with_small_buffer().await;
        sleeper.join(name).await;
        sleepers.push(sleeper);
    }
    let request = ClientFrame::History {
        before: None,
        around: None,
        limit: Some(100),
    }
    .encode();
    let mut pilers = Vec::new();
    for mut sleeper in sleepers {
        let request = request.clone();
        pilers.push(tokio::spawn(async move {
            for _ in 0..300 {
                sleeper.try_send_raw(Message::text(request.clone())).await;
            }
            sleeper
        }));
    }
    // Meanwhile bob talks, and alice hears every word, in order.
    let mut heard = Vec::new();
    let mut said = Vec::new();
    for n in 0..50 {
        bob.say(&format!("still here {n}")).await;
        said.push(format!("still here {n}"));
    }
    let mut left = Vec::new();
    while heard.len() < said.len() {
        match alice.recv().await {
            ServerFrame::Message(message) => heard.push(message.text),
            ServerFrame::UserJoined { .. } => {}
            ServerFrame::UserLeft { username, .. } => left.push(username),
            other => panic!("unexpected frame {other:?}"),
        }
    }
    assert_eq!(heard, said);
    // Each of them was closed as too slow.
    let gone: Vec<&str> = names
        .into_iter()
        .filter(|name| !left.iter().any(|left| left == name))
        .collect();
    until_left(&mut alice, &gone).await;
    for piler in pilers {
        let mut sleeper = piler.await.expect("piler");
        closed_as_too_slow(&mut sleeper).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_larger_than_the_byte_budget_is_a_gap_and_the_rest_comes_by_pages() {
    let server = TestServer::start_with(small_outboxes()).await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    alice.say("seen").await;
    let seen = alice.recv_message().await.id;
    // 40 messages of some 2 KB each: far fewer than the replay limit
    // (1,000), far more than a 16 KiB answer holds.
    let text = "ж".repeat(MAX_MESSAGE_CHARS / 2);
    let mut missed = Vec::new();
    for _ in 0..40 {
        alice.say(&text).await;
        missed.push(alice.recv_message().await.id);
    }

    let mut bob = server.connect().await;
    bob.send(ClientFrame::Join {
        username: "bob".into(),
        room: None,
        since: Some(seen),
        resume: None,
        join_code: None,
        author_key: None,
        link_code: None,
        device: None,
    })
    .await;
    let raw = recv_raw(&mut bob).await;
    assert!(
        raw.len() <= PAGE_BYTES + ENVELOPE,
        "welcome of {} bytes",
        raw.len()
    );
    let ServerFrame::Welcome(chat_shared::Welcome {
        history,
        history_gap,
        ..
    }) = ServerFrame::decode(&raw).expect("decodes")
    else {
        panic!("expected welcome, got {raw}");
    };
    assert!(history_gap, "what did not fit is announced as a gap");
    let mut got: Vec<u64> = history.iter().map(chat_shared::HistoryItem::id).collect();
    assert!(!got.is_empty(), "a welcome holds at least one message");
    assert_eq!(got.last(), missed.last(), "the welcome holds the latest");

    // The rest, page by page, each within the budget too.
    let mut pages = 0;
    loop {
        bob.send(ClientFrame::History {
            before: got.first().copied(),
            around: None,
            limit: Some(100),
        })
        .await;
        let raw = recv_raw(&mut bob).await;
        assert!(
            raw.len() <= PAGE_BYTES + ENVELOPE,
            "page of {} bytes",
            raw.len()
        );
        let ServerFrame::History {
            messages, has_more, ..
        } = ServerFrame::decode(&raw).expect("decodes")
        else {
            panic!("expected a history page, got {raw}");
        };
        pages += 1;
        assert!(!messages.is_empty(), "a page holds at least one message");
        let mut older: Vec<u64> = messages.iter().map(|message| message.id).collect();
        older.append(&mut got);
        got = older;
        if !has_more {
            break;
        }
    }
    assert!(pages > 1, "pages are cut to the budget as well");
    let mut all = vec![seen];
    all.extend(&missed);
    assert_eq!(got, all, "everything, once, in order");
}
