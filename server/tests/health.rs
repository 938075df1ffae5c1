//! `/healthz` and `/readyz` over real HTTP: both answer JSON that no cache
//! keeps, from any origin and beyond the connection limits, and readiness
//! fails while the database cannot take a message.

mod common;
mod handshake;

use chat_server::limits::Limits;
use chat_server::Config;
use common::{temp_db, TestServer, PATIENCE};
use handshake::{get, header, try_connect};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Takes the write lock of the database at `db`, as an operator's script
/// or a stray `sqlite3` shell might, until the connection is dropped.
fn hold_write_lock(db: &std::path::Path) -> rusqlite::Connection {
    let intruder = rusqlite::Connection::open(db).expect("open the same file");
    intruder
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO rooms VALUES ('held', 'now');")
        .expect("take the write lock");
    intruder
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("a JSON body")
}

fn assert_uncached_json(headers: &[(String, String)]) {
    assert_eq!(header(headers, "content-type"), "application/json");
    assert_eq!(header(headers, "cache-control"), "no-store");
}

#[tokio::test]
async fn both_endpoints_answer_on_a_healthy_server() {
    let server = TestServer::start().await;

    let (status, headers, body) = get(&server, "/healthz").await;
    assert_eq!(status, 200);
    assert_uncached_json(&headers);
    assert_eq!(json(&body), serde_json::json!({ "status": "ok" }));

    let (status, headers, body) = get(&server, "/readyz").await;
    assert_eq!(status, 200);
    assert_uncached_json(&headers);
    assert_eq!(
        json(&body),
        serde_json::json!({ "status": "ready", "store": "ok" })
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn probes_pass_when_the_server_refuses_websockets() {
    // One connection in all, and it is taken.
    let server = TestServer::start_with(Config {
        limits: Limits {
            max_connections: 1,
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let _only = server.connect().await;
    let refused = try_connect(&server, &[]).await.err().expect("server full");
    assert_eq!(refused.status, 503);

    for path in ["/healthz", "/readyz"] {
        for _ in 0..3 {
            let (status, _, _) = get(&server, path).await;
            assert_eq!(status, 200, "{path}");
        }
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn probes_pass_from_a_foreign_origin() {
    let server = TestServer::start().await;
    let refused = try_connect(&server, &[("origin", "https://evil.example")])
        .await
        .err()
        .expect("a foreign page may not open /ws");
    assert_eq!(refused.status, 403);
    for path in ["/healthz", "/readyz"] {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nOrigin: https://evil.example\r\n\
             Connection: close\r\n\r\n",
            server.addr
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn readiness_fails_while_another_process_holds_the_database_and_recovers() {
    let db = temp_db("locked.db");
    let server = TestServer::start_with(Config {
        db: db.clone(),
        ..Config::default()
    })
    .await;
    let (status, _, _) = get(&server, "/readyz").await;
    assert_eq!(status, 200);

    // What an operator's maintenance script or a stray `sqlite3` shell
    // does: a write transaction left open on the live database.
    let intruder = hold_write_lock(&db);

    // The last answer stands for up to a second.
    let since = Instant::now();
    let (headers, body) = loop {
        let (status, headers, body) = get(&server, "/readyz").await;
        if status == 503 {
            break (headers, body);
        }
        assert!(since.elapsed() < PATIENCE, "never unready");
    };
    assert_uncached_json(&headers);
    let body = json(&body);
    assert_eq!(body["status"], "unavailable");
    // Why is for the log, not for whoever asks.
    assert_eq!(body["store"], "unavailable");
    // Alive all the same: restarting would not help.
    let (status, _, _) = get(&server, "/healthz").await;
    assert_eq!(status, 200);

    intruder.execute_batch("ROLLBACK").expect("let go");
    drop(intruder);
    // The journal may still be finishing the probes queued behind the lock.
    let since = Instant::now();
    loop {
        let (status, _, _) = get(&server, "/readyz").await;
        if status == 200 {
            break;
        }
        assert!(since.elapsed() < PATIENCE, "never ready again");
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn readiness_is_asked_of_the_store_at_most_once_a_second() {
    let db = temp_db("cached.db");
    let server = TestServer::start_with(Config {
        db: db.clone(),
        ..Config::default()
    })
    .await;
    let (status, _, _) = get(&server, "/readyz").await;
    assert_eq!(status, 200);
    let answered = Instant::now();
    // Asked now, the store would say no; but the answer of a moment ago
    // still stands, so a flood of probes costs no store query each.
    let intruder = hold_write_lock(&db);
    let asked_after = answered.elapsed();
    let (status, _, body) = get(&server, "/readyz").await;
    if asked_after < Duration::from_millis(900) {
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    } else {
        eprintln!("this machine took over 0.9 s to take a lock: cannot tell");
    }
    // Once the second is over, the store is asked again.
    loop {
        let (status, _, _) = get(&server, "/readyz").await;
        if status == 503 {
            break;
        }
        assert!(
            answered.elapsed() < PATIENCE,
            "the store was never asked again"
        );
    }
    drop(intruder);
    server.stop().await.expect("clean stop");
}
