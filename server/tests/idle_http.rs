//! HTTP connections that are not WebSockets cannot be held for ever: a
//! request's head must arrive within `--header-timeout`, a kept-alive
//! connection may idle only `--keep-alive-timeout`, and the open ones are
//! capped in total and per address (`--max-http-connections`), while
//! WebSockets, once upgraded, count against `--max-connections` only.

mod common;
mod handshake;

use chat_server::limits::Limits;
use chat_server::Config;
use common::{TestServer, PATIENCE};
use handshake::{get, try_connect};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn with_limits(limits: Limits) -> Config {
    Config {
        limits,
        ..Config::default()
    }
}

/// Waits for the server to close `stream`, reading (and ignoring) what it
/// still sends; fails if it stays open for [`PATIENCE`].
async fn assert_closed_by_server(stream: &mut TcpStream, what: &str) {
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "{what}: the server kept the connection open"
    );
}

/// A connection from `from` (a loopback address of the test's choosing).
async fn connect_from(from: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{from}:0").parse().expect("address"))
        .expect("bind");
    socket.connect(server).await.expect("connect")
}

#[tokio::test]
async fn a_half_sent_request_is_closed_after_the_header_timeout() {
    let server = TestServer::start_one_node(with_limits(Limits {
        header_timeout: Duration::from_millis(300),
        ..Limits::default()
    }))
    .await;
    let mut half = TcpStream::connect(server.addr).await.expect("connect");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .expect("write half a request");
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    assert_closed_by_server(&mut half, "half a request").await;
    assert_closed_by_server(&mut silent, "nothing sent").await;
    // Whole requests are still answered.
    let (status, _, _) = get(&server, "/healthz").await;
    assert_eq!(status, 200);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout() {
    let server = TestServer::start_one_node(with_limits(Limits {
        keep_alive_timeout: Duration::from_millis(300),
        ..Limits::default()
    }))
    .await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write a request");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !answer.ends_with(b"}") {
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .expect("an answer")
            .expect("read");
        assert!(read > 0, "closed before answering");
        answer.extend_from_slice(&buffer[..read]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    // The connection is kept alive for another request, but not for ever.
    assert_closed_by_server(&mut stream, "an idle kept-alive connection").await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn connections_over_the_http_maximum_of_an_address_are_closed_and_others_still_served() {
    let server = TestServer::start_one_node(with_limits(Limits {
        max_http_connections_per_ip: 3,
        limit_loopback: true,
        ..Limits::default()
    }))
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.1", server.addr).await);
    }
    // Accepted after the three, so counted after them.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = connect_from("127.0.0.1", server.addr).await;
    assert_closed_by_server(&mut extra, "a fourth connection from 127.0.0.1").await;

    // Another address is served as usual.
    let mut other = connect_from("127.0.0.2", server.addr).await;
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    other.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // A place held comes back when its connection closes.
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut again = connect_from("127.0.0.1", server.addr).await;
        again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut answer = String::new();
        let _ = again.read_to_string(&mut answer).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn websockets_do_not_hold_http_places() {
    let server = TestServer::start_one_node(with_limits(Limits {
        max_http_connections: 2,
        ..Limits::default()
    }))
    .await;
    // Each upgrade takes an HTTP place only until it is a WebSocket.
    let mut sockets = Vec::new();
    for _ in 0..6 {
        sockets.push(try_connect(&server, &[]).await.expect("a WebSocket"));
    }
    let (status, _, _) = get(&server, "/healthz").await;
    assert_eq!(status, 200);
    // And the WebSockets still work.
    let mut client = sockets.pop().expect("a socket");
    client.join("still-here").await;
    server.stop().await.expect("clean stop");
}
