//! Cross-Site WebSocket Hijacking: a page from another site must not be
//! able to open the chat's WebSocket in a visitor's browser, not even one
//! whose host name was rebound to the chat's address (DNS rebinding).

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
            // On loopback behind the proxy: the operator names the host.
            public_host: vec!["chat.example.com".to_owned()],
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

#[tokio::test]
async fn a_rebound_host_name_gets_403_on_a_loopback_server() {
    // A page of evil.example, whose name the attacker then points at
    // 127.0.0.1: the browser sends Host and Origin both as evil.example,
    // so they match each other.
    let server = TestServer::start().await;
    let port = server.addr.port();
    let host = format!("evil.example:{port}");
    let origin = format!("http://{host}");
    for headers in [
        vec![("host", host.as_str()), ("origin", origin.as_str())],
        vec![("host", host.as_str())],
    ] {
        let refused = try_connect(&server, &headers)
            .await
            .err()
            .unwrap_or_else(|| panic!("{headers:?} was let in"));
        assert_eq!(refused.status, 403, "{headers:?}");
        assert!(refused.body.contains("--public-host"), "{}", refused.body);
    }
    // The loopback names are the chat's own.
    for (index, name) in ["localhost", "127.0.0.1", "[::1]"].into_iter().enumerate() {
        let host = format!("{name}:{port}");
        let origin = format!("http://{host}");
        let client = try_connect(&server, &[("host", &host), ("origin", &origin)])
            .await
            .unwrap_or_else(|refused| panic!("{name}: {refused:?}"));
        if index == 0 {
            works(client, "local").await;
        }
    }
}

#[tokio::test]
async fn the_public_host_and_allowed_origins_name_the_hosts_that_may_connect() {
    let server = TestServer::start_with(Config {
        limits: Limits {
            public_host: vec!["chat.example.com".to_owned()],
            allowed_origins: vec!["https://app.example.org".parse().expect("origin")],
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let port = server.addr.port();
    let named = [
        (
            format!("chat.example.com:{port}"),
            format!("http://chat.example.com:{port}"),
        ),
        (
            "app.example.org".to_owned(),
            "https://app.example.org".to_owned(),
        ),
    ];
    for (index, (host, origin)) in named.iter().enumerate() {
        let client = try_connect(&server, &[("host", host), ("origin", origin)])
            .await
            .unwrap_or_else(|refused| panic!("{host}: {refused:?}"));
        if index == 0 {
            works(client, "named").await;
        }
    }
    let host = format!("evil.example:{port}");
    let refused = try_connect(&server, &[("host", &host)])
        .await
        .err()
        .expect("a host nobody named");
    assert_eq!(refused.status, 403);
}
