//! Behind a trusted proxy, only the forwarding headers the operator's proxy
//! writes count (`--proxy-header`): nginx and Caddy write `X-Forwarded-For`
//! and pass a client's own `Forwarded` through untouched, so believing
//! `Forwarded` would let a client choose its address (and dodge bans and
//! per-address limits) or the host its page is compared with.

mod common;
mod handshake;

use chat_server::limits::{Limits, ProxyHeader};
use chat_server::Config;
use common::TestServer;
use handshake::try_connect;

/// One node behind a proxy on loopback, one connection per address.
fn behind_a_proxy(proxy_header: ProxyHeader) -> Config {
    Config {
        limits: Limits {
            trusted_proxies: vec!["127.0.0.1".parse().expect("range")],
            proxy_header,
            max_connections_per_ip: 1,
            ..Limits::default()
        },
        ..Config::default()
    }
}

#[tokio::test]
async fn a_forwarded_header_the_client_wrote_does_not_choose_its_address() {
    let server = TestServer::start_one_node(behind_a_proxy(ProxyHeader::XForwardedFor)).await;
    // What nginx sends on: the client's forged `Forwarded`, and the real
    // address it appended to `X-Forwarded-For`.
    let first = try_connect(
        &server,
        &[
            ("forwarded", "for=198.51.100.1"),
            ("x-forwarded-for", "203.0.113.7"),
        ],
    )
    .await
    .expect("the first connection from 203.0.113.7");
    let second = try_connect(
        &server,
        &[
            ("forwarded", "for=198.51.100.2"),
            ("x-forwarded-for", "203.0.113.7"),
        ],
    )
    .await
    .err()
    .expect("a second one from the same address, whatever Forwarded says");
    assert_eq!(second.status, 429, "{}", second.body);
    // Another real address is still welcome.
    let _other = try_connect(&server, &[("x-forwarded-for", "203.0.113.8")])
        .await
        .expect("another address");
    drop(first);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_forwarded_host_the_client_wrote_does_not_pass_the_origin_check() {
    let server = TestServer::start_one_node(behind_a_proxy(ProxyHeader::XForwardedFor)).await;
    let refused = try_connect(
        &server,
        &[
            ("origin", "https://evil.example"),
            ("forwarded", "for=203.0.113.9;host=evil.example"),
        ],
    )
    .await
    .err()
    .expect("a page of evil.example may not open /ws");
    assert_eq!(refused.status, 403, "{}", refused.body);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn with_proxy_header_forwarded_only_forwarded_counts() {
    let server = TestServer::start_one_node(behind_a_proxy(ProxyHeader::Forwarded)).await;
    let _first = try_connect(
        &server,
        &[
            ("forwarded", "for=203.0.113.7"),
            ("x-forwarded-for", "198.51.100.1"),
        ],
    )
    .await
    .expect("the first connection from 203.0.113.7");
    let second = try_connect(
        &server,
        &[
            ("forwarded", "for=203.0.113.7"),
            ("x-forwarded-for", "198.51.100.2"),
        ],
    )
    .await
    .err()
    .expect("a second one from the same address, whatever X-Forwarded-For says");
    assert_eq!(second.status, 429, "{}", second.body);
    server.stop().await.expect("clean stop");
}
