//! The metrics listener, scraped over real HTTP while real clients chat:
//! the counters move by exactly what happened, and the histograms fill.

mod common;

use chat_shared::{ErrorCode, ServerFrame};
use common::{joined, TestServer, PATIENCE};
use std::collections::HashMap;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One scrape: every sample by its series (`name{labels}`), and every
/// `# TYPE` line.
struct Scrape {
    samples: HashMap<String, f64>,
    types: HashMap<String, String>,
}

impl Scrape {
    fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no {series} in the scrape"))
    }
}

async fn scrape(server: &TestServer) -> Scrape {
    let addr = server.metrics_addr.expect("a metrics listener");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("end of headers");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    parse(body)
}

/// The text exposition format, as much of it as the exporter writes.
fn parse(text: &str) -> Scrape {
    let mut samples = HashMap::new();
    let mut types = HashMap::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("a type line");
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample line");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
        samples.insert(series.to_owned(), value);
    }
    Scrape { samples, types }
}

#[tokio::test]
async fn counters_follow_the_chat_and_histograms_fill() {
    let server = TestServer::start_with_metrics(common::unthrottled()).await;
    let mut alice = joined(&server, "alice", &mut []).await;
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;

    let before = scrape(&server).await;
    assert_eq!(before.value("chat_connections_open"), 2.0);
    assert_eq!(before.value("chat_users_joined"), 2.0);
    assert_eq!(before.value("chat_rooms"), 1.0);

    for n in 0..3 {
        alice.say(&format!("message {n}")).await;
        alice.recv_message().await;
        bob.recv_message().await;
    }
    // Refused frames: one not understood, one message before joining.
    let mut stranger = server.connect().await;
    stranger.send_text("{not json").await;
    stranger.say("who am I").await;
    for expected in [ErrorCode::BadRequest, ErrorCode::NotJoined] {
        match stranger.recv().await {
            ServerFrame::Error { code, .. } => assert_eq!(code, expected),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    let after = scrape(&server).await;
    assert_eq!(after.value("chat_messages_stored_total"), 3.0);
    // Three messages to two members, and two error frames to the stranger.
    assert_eq!(
        after.value("chat_deliveries_total") - before.value("chat_deliveries_total"),
        8.0
    );
    assert_eq!(
        after.value("chat_frames_refused_total{code=\"bad_request\"}"),
        1.0
    );
    assert_eq!(
        after.value("chat_frames_refused_total{code=\"not_joined\"}"),
        1.0
    );
    assert_eq!(after.value("chat_connections_open"), 3.0);
    // Each message also asks the journal whom it calls, from a task of
    // its own: the queue drains once those are answered.
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    while scrape(&server).await.value("chat_journal_queue_depth") != 0.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the journal's queue stays full"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(after.types["chat_journal_commit_seconds"], "histogram");
    let commits = after.value("chat_journal_commit_seconds_count");
    assert!((1.0..=3.0).contains(&commits), "{commits} commits");
    assert_eq!(
        after.value("chat_journal_commit_seconds_bucket{le=\"+Inf\"}"),
        commits
    );
    assert!(after.value("process_resident_memory_bytes") > 0.0);
    assert_eq!(after.types["process_cpu_seconds_total"], "counter");

    // A write is measured just after the client could already read it.
    let since = Instant::now();
    while scrape(&server)
        .await
        .samples
        .get("chat_delivery_latency_seconds_count")
        .copied()
        .unwrap_or_default()
        < 6.0
    {
        assert!(since.elapsed() < PATIENCE, "delivery latency not recorded");
        tokio::task::yield_now().await;
    }

    drop(stranger);
    drop(bob);
    let since = Instant::now();
    while scrape(&server).await.value("chat_connections_open") > 1.0 {
        assert!(
            since.elapsed() < PATIENCE,
            "closed connections still counted"
        );
        tokio::task::yield_now().await;
    }
    drop(alice);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn two_servers_in_one_process_count_separately() {
    let one = TestServer::start_with_metrics(common::unthrottled()).await;
    let two = TestServer::start_with_metrics(common::unthrottled()).await;
    let mut alice = joined(&one, "alice", &mut []).await;
    alice.say("only on one").await;
    alice.recv_message().await;
    assert_eq!(scrape(&one).await.value("chat_messages_stored_total"), 1.0);
    assert_eq!(scrape(&two).await.value("chat_messages_stored_total"), 0.0);
    drop(alice);
    one.stop().await.expect("clean stop");
    two.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_flood_closed_is_counted_with_its_refusals() {
    let server = TestServer::start_with_metrics(chat_server::Config {
        limits: chat_server::limits::Limits {
            abuse_limit: 20,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut flooder = joined(&server, "flooder", &mut []).await;
    let frame = chat_shared::ClientFrame::message("spam").encode();
    for _ in 0..100 {
        flooder
            .try_send_raw(tokio_tungstenite::tungstenite::Message::text(frame.clone()))
            .await;
    }
    let close = flooder.expect_close().await.expect("a close code");
    assert_eq!(u16::from(close.code), 1008);
    let scraped = scrape(&server).await;
    assert_eq!(scraped.value("chat_floods_closed_total"), 1.0);
    assert!(scraped.value("chat_frames_refused_total{code=\"rate_limited\"}") >= 1.0);
    assert_eq!(scraped.value("chat_slow_readers_dropped_total"), 0.0);
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_dropped_is_counted() {
    let server = TestServer::start_with_metrics(chat_server::Config {
        outbox_frames: 8,
        ..common::unthrottled()
    })
    .await;
    let mut sleeper = server.connect_with_small_buffer().await;
    sleeper.join("sleeper").await;
    let mut alice = joined(&server, "alice", &mut [&mut sleeper]).await;
    // The sleeper reads nothing more; the largest messages fill its
    // buffers soonest, and then its outbox.
    let text = "ж".repeat(chat_shared::MAX_MESSAGE_CHARS);
    let since = Instant::now();
    while scrape(&server)
        .await
        .value("chat_slow_readers_dropped_total")
        < 1.0
    {
        assert!(since.elapsed() < PATIENCE, "the sleeper was never dropped");
        alice.say(&text).await;
        alice.recv_message().await;
    }
    let scraped = scrape(&server).await;
    assert_eq!(scraped.value("chat_slow_readers_dropped_total"), 1.0);
    assert_eq!(scraped.value("chat_floods_closed_total"), 0.0);
    drop((alice, sleeper));
    server.stop().await.expect("clean stop");
}
