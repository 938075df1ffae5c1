//! Cross-Site WebSocket Hijacking: a page from another site must not be
//! able to open the chat's WebSocket in a visitor's browser.

mod common;
mod handshake;

use chat_server::config::Config;
use chat_server::limits::Limits;
use chat_shared::ServerFrame;
use common::{Client, TestServer};
use handshake::try_connect;

/// Proves a handshake that succeeded gives a working chat connection.
async fn works(mut client: Client, name: &str) {
    assert_eq!(client.join(name).await.len(), 1);
    client.say("hi").await;
    assert!(matches!(client.recv().await, ServerFrame::Message(_)));
}

#[tokio::test]
async fn a_foreign_origin_gets_403() {
    let server = TestServer::start().await;
    for origin in [
        "https://evil.example",
        "http://127.0.0.1:1",
        &format!("https://{}.evil.example", server.addr.ip()),
        "null",
    ] {
        let refused = try_connect(&server, &[("origin", origin)])
            .await
            .err()
            .unwrap_or_else(|| panic!("{origin} was let in"));
        assert_eq!(refused.status, 403, "{origin}");
        assert!(refused.body.contains("may not open"), "{}", refused.body);
    }
}

#[tokio::test]
async fn the_same_origin_gets_101() {
    let server = TestServer::start().await;
    let origin = format!("http://{}", server.addr);
    let client = try_connect(&server, &[("origin", &origin)])
        .await
        .expect("same origin is allowed");
    works(client, "alice").await;
}

#[tokio::test]
async fn no_origin_gets_101() {
    // Not a browser (a bot, a command-line client): nothing to hijack.
    let server = TestServer::start().await;
    let client = try_connect(&server, &[]).await.expect("allowed");
    works(client, "bot").await;
}

#[tokio::test]
async fn configured_origins_get_101() {
    let server = TestServer::start_with(Config {
        limits: Limits {
            allowed_origins: vec!["http://127.0.0.1:8080".parse().expect("origin")],
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let client = try_connect(&server, &[("origin", "http://127.0.0.1:8080")])
        .await
        .expect("a configured origin is allowed");
    works(client, "dev").await;
    let refused = try_connect(&server, &[("origin", "http://127.0.0.1:8081")])
        .await
        .err()
        .expect("only that origin");
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_host_is_the_origin_to_match() {
    let server = TestServer::start_with(Config {
        limits: Limits {
            trusted_proxies: vec!["127.0.0.1".parse().expect("ip")],
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let proxied = [
        ("origin", "https://chat.example.com"),
        ("x-forwarded-host", "chat.example.com"),
    ];
    let client = try_connect(&server, &proxied).await.expect("allowed");
    works(client, "alice").await;
    let refused = try_connect(
        &server,
        &[
            ("origin", "https://evil.example"),
            ("x-forwarded-host", "chat.example.com"),
        ],
    )
    .await
    .err()
    .expect("still refused");
    assert_eq!(refused.status, 403);
}
