//! Connections over the global or per-address maximum are refused with a
//! clear HTTP answer, trusted proxies are believed and nobody else, and a
//! connection that never joins does not hold a place for long.

mod common;
mod handshake;

use chat_server::config::Config;
use chat_server::limits::Limits;
use chat_shared::ServerFrame;
use common::{TestServer, PATIENCE};
use handshake::try_connect;
use std::time::Duration;

fn with_limits(limits: Limits) -> Config {
    Config {
        limits,
        ..Config::default()
    }
}

#[tokio::test]
async fn connections_over_the_global_maximum_get_503() {
    let server = TestServer::start_one_node(with_limits(Limits {
        max_connections: 3,
        ..Limits::default()
    }))
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(try_connect(&server, &[]).await.expect("under the maximum"));
    }
    let refused = try_connect(&server, &[])
        .await
        .err()
        .expect("over the maximum");
    assert_eq!(refused.status, 503);
    assert!(
        refused.body.contains("maximum number of connections"),
        "{}",
        refused.body
    );

    // A place frees up when a connection ends.
    let mut leaving = open.pop().expect("a connection");
    leaving.socket.close(None).await.expect("close");
    drop(leaving);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match try_connect(&server, &[]).await {
            Ok(_) => break,
            Err(refused) if tokio::time::Instant::now() < deadline => {
                assert_eq!(refused.status, 503);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(refused) => panic!("the place was never given back: {refused:?}"),
        }
    }
}

#[tokio::test]
async fn connections_over_the_per_address_maximum_get_429() {
    let server = TestServer::start_one_node(with_limits(Limits {
        max_connections_per_ip: 2,
        limit_loopback: true,
        ..Limits::default()
    }))
    .await;
    let _one = try_connect(&server, &[]).await.expect("first");
    let _two = try_connect(&server, &[]).await.expect("second");
    let refused = try_connect(&server, &[])
        .await
        .err()
        .expect("third refused");
    assert_eq!(refused.status, 429);
    assert!(refused
        .body
        .contains("Too many connections from your address"));
}

#[tokio::test]
async fn loopback_clients_are_exempt_from_the_per_address_maximum_by_default() {
    let server = TestServer::start_one_node(with_limits(Limits {
        max_connections_per_ip: 2,
        ..Limits::default()
    }))
    .await;
    let mut open = Vec::new();
    for _ in 0..5 {
        open.push(try_connect(&server, &[]).await.expect("loopback is exempt"));
    }
}

#[tokio::test]
async fn a_trusted_proxy_is_believed_about_the_client_address() {
    let server = TestServer::start_one_node(with_limits(Limits {
        max_connections_per_ip: 2,
        trusted_proxies: vec!["127.0.0.0/8".parse().expect("range")],
        ..Limits::default()
    }))
    .await;
    let via_proxy = [("x-forwarded-for", "203.0.113.9")];
    let _one = try_connect(&server, &via_proxy).await.expect("first");
    let _two = try_connect(&server, &[("x-forwarded-for", "203.0.113.9")])
        .await
        .expect("second");
    let refused = try_connect(&server, &via_proxy).await.err().expect("third");
    assert_eq!(refused.status, 429);
    // Another client behind the same proxy has its own allowance, and a
    // spoofed entry left of the proxy's own cannot borrow someone else's.
    let _other = try_connect(
        &server,
        &[("x-forwarded-for", "203.0.113.9, 198.51.100.20")],
    )
    .await
    .expect("another address");
}

#[tokio::test]
async fn forwarding_headers_from_untrusted_peers_are_ignored() {
    // Nobody is trusted, so the header is not read and the loopback peer,
    // exempt by default, is never limited.
    let server = TestServer::start_one_node(with_limits(Limits {
        max_connections_per_ip: 1,
        ..Limits::default()
    }))
    .await;
    let spoofed = [("x-forwarded-for", "203.0.113.9")];
    let _one = try_connect(&server, &spoofed).await.expect("first");
    let _two = try_connect(&server, &spoofed).await.expect("second");
}

#[tokio::test]
async fn a_connection_that_does_not_join_in_time_is_closed() {
    let server = TestServer::start_one_node(with_limits(Limits {
        join_timeout: Duration::from_millis(300),
        ..Limits::default()
    }))
    .await;
    let mut lurker = server.connect().await;
    let mut member = server.connect().await;
    member.join("member").await;
    let close = lurker
        .expect_close()
        .await
        .expect("close frame with a code");
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(close.reason.as_str(), "did not join in time");
    // Having joined, the member stays past its own join deadline.
    tokio::time::sleep(Duration::from_millis(300)).await;
    member.say("still here").await;
    match member.recv().await {
        ServerFrame::Message(message) => assert_eq!(message.text, "still here"),
        other => panic!("expected the member's message, got {other:?}"),
    }
}

#[tokio::test]
async fn an_address_that_opens_connections_too_fast_gets_429() {
    let server = TestServer::start_one_node(with_limits(Limits {
        connect_rate: 0.1,
        connect_burst: 3,
        trusted_proxies: vec!["127.0.0.1".parse().expect("range")],
        ..Limits::default()
    }))
    .await;
    let churner = [("x-forwarded-for", "203.0.113.5")];
    // Each one closed at once: open connections are not what is counted.
    for _ in 0..3 {
        let client = try_connect(&server, &churner)
            .await
            .expect("within the burst");
        drop(client);
    }
    let refused = try_connect(&server, &churner)
        .await
        .err()
        .expect("one more, faster than the rate");
    assert_eq!(refused.status, 429);
    assert!(
        refused.body.contains("Too many new connections"),
        "{}",
        refused.body
    );
    // Others, and loopback clients (exempt by default), are not slowed.
    let _other = try_connect(&server, &[("x-forwarded-for", "203.0.113.6")])
        .await
        .expect("another address");
    for _ in 0..5 {
        drop(try_connect(&server, &[]).await.expect("loopback is exempt"));
    }
}
