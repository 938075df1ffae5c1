//! The real Redis 7: start, kill, restart.

use std::process::Command;

use chat_engines::{shared_redis, Redis};

/// What `redis-cli -p PORT ARGS...` prints, or `None` if it failed.
fn redis_cli(port: u16, args: &[&str]) -> Option<String> {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs");
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    // redis-cli exits 0 even when it cannot connect, but then prints nothing on stdout.
    (output.status.success() && !text.is_empty()).then_some(text)
}

#[test]
fn answers_and_comes_back_empty_after_a_kill() {
    let mut redis = Redis::start().expect("Redis starts");
    let port = redis.port();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}"));
    assert_eq!(redis_cli(port, &["ping"]).as_deref(), Some("PONG"));
    assert_eq!(
        redis_cli(port, &["set", "kept", "no"]).as_deref(),
        Some("OK")
    );

    redis.kill().expect("Redis is killed");
    assert!(redis.pid().is_none());
    assert_eq!(redis_cli(port, &["ping"]), None);
    assert!(redis.kill().is_err(), "killing twice is an error");

    redis.restart().expect("Redis restarts");
    assert_eq!(redis.port(), port);
    assert_eq!(redis_cli(port, &["ping"]).as_deref(), Some("PONG"));
    assert_eq!(redis_cli(port, &["exists", "kept"]).as_deref(), Some("0"));
}

#[test]
fn dropping_ends_the_server_and_removes_its_directory() {
    let redis = Redis::start().expect("Redis starts");
    let port = redis.port();
    let dir = redis.dir().to_path_buf();
    drop(redis);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    assert_eq!(redis_cli(port, &["ping"]), None);
}

#[test]
fn the_shared_server_is_started_once() {
    let first = shared_redis();
    assert!(std::ptr::eq(first, shared_redis()));
    assert_eq!(redis_cli(first.port(), &["ping"]).as_deref(), Some("PONG"));
}
