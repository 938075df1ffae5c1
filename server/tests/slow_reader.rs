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

    // The sleeper's queue filled up, so the server closed it with 1008
    // instead of buffering the rest of the conversation for it.
    let close = sleeper
        .expect_close()
        .await
        .expect("close frame with a code");
    assert_eq!(u16::from(close.code), 1008);
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
