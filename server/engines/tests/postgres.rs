//! The real PostgreSQL 15: start, databases, stop, restart, drop.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use chat_engines::{shared_postgres, Postgres, PG_BIN};

/// `select 1` through psql over TCP, as a client of the server would connect.
fn psql_select_one(port: u16, database: &str) -> Output {
    Command::new(Path::new(PG_BIN).join("psql"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .args(["-d", database, "-tAc", "select 1"])
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .expect("psql runs")
}

/// The database name at the end of one of our urls.
fn database_of(url: &str) -> &str {
    url.rsplit('/').next().expect("a url has a path")
}

#[test]
fn databases_answer_and_survive_a_stop_and_restart() {
    let started = Instant::now();
    let mut postgres = Postgres::start().expect("PostgreSQL starts");
    eprintln!("PostgreSQL started in {:?}", started.elapsed());
    let port = postgres.port();

    let created = Instant::now();
    let first = postgres.create_database().expect("first database");
    eprintln!("create_database took {:?}", created.elapsed());
    let second = postgres.create_database().expect("second database");
    assert_ne!(first, second);
    assert!(first.starts_with(&format!("postgres://postgres@127.0.0.1:{port}/t_")));
    for url in [&first, &second] {
        let output = psql_select_one(port, database_of(url));
        assert!(output.status.success(), "psql: {output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1");
    }

    let stopping = Instant::now();
    postgres.stop().expect("PostgreSQL stops");
    eprintln!("stop took {:?}", stopping.elapsed());
    assert!(postgres.pid().is_none());
    assert!(!psql_select_one(port, database_of(&first)).status.success());
    assert!(postgres.stop().is_err(), "stopping twice is an error");

    let restarting = Instant::now();
    postgres.restart().expect("PostgreSQL restarts");
    eprintln!("restart took {:?}", restarting.elapsed());
    assert_eq!(postgres.port(), port);
    // Same data dir: the databases created before the stop are still there.
    for url in [&first, &second] {
        let output = psql_select_one(port, database_of(url));
        assert!(output.status.success(), "psql after restart: {output:?}");
    }
}

#[test]
fn dropping_ends_the_server_and_removes_its_directory() {
    let postgres = Postgres::start().expect("PostgreSQL starts");
    let pid = postgres.pid().expect("running");
    let dir = postgres.dir().to_path_buf();
    assert!(dir.join("pg").is_dir());
    drop(postgres);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    assert!(
        status.is_empty() || status.contains("State:\tZ"),
        "postmaster {pid} still runs"
    );
}

#[test]
fn the_shared_server_is_started_once() {
    let first = shared_postgres();
    let second = shared_postgres();
    assert!(std::ptr::eq(first, second));
    let url = first.create_database().expect("a database");
    assert!(psql_select_one(first.port(), database_of(&url))
        .status
        .success());
}
