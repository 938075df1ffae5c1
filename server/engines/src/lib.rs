//! Throwaway PostgreSQL, Redis and S3 servers on free loopback ports, each in
//! its own temporary directory: for the server's tests (one instance per test
//! binary, a database or bucket per test) and for `cargo xtask cluster`, where
//! a person tries a local cluster.
//!
//! PostgreSQL and Redis come from Debian (`apt-get install -y postgresql
//! redis-server`: PostgreSQL 15 and Redis 7.0); the S3 server is `s3s-fs`
//! from crates.io (`cargo install`, which `cargo xtask test` does); every
//! error about a missing binary says what to install.
//! An engine never outlives the process that started it, even when that
//! process is killed or, as with the `shared_*` statics, never drops it.
//!
//! # Layout
//!
//! - `postgres.rs`: [`Postgres`], initdb, start, databases, stop and restart.
//! - `redis.rs`: [`Redis`], start, kill and restart.
//! - `s3.rs`: [`S3`], an S3-compatible server (`s3s-fs`), buckets per test.
//! - `process.rs`: the watchdog that stops an engine when we exit, waiting
//!   until it is ready, its log, signals, and helper commands with a time
//!   limit.
//! - `scratch.rs`: scratch directories, free ports (and trying another),
//!   random names, finding binaries, the `postgres` user.

mod postgres;
mod process;
mod redis;
mod s3;
mod scratch;

use std::sync::OnceLock;

pub use postgres::{Postgres, PG_BIN};
pub use redis::Redis;
pub use s3::{S3, S3S_FS_VERSION, S3_INSTALL_HINT};
pub use scratch::INSTALL_HINT;

/// One PostgreSQL per test binary, started on first use and stopped when the
/// process exits (by its watchdog: statics are never dropped).
///
/// Panics if it cannot start, with a message that says what to install: this
/// is test support, and a test cannot do anything useful without it.
pub fn shared_postgres() -> &'static Postgres {
    static SHARED: OnceLock<Postgres> = OnceLock::new();
    SHARED.get_or_init(|| {
        Postgres::start()
            .unwrap_or_else(|error| panic!("cannot start the test binary's PostgreSQL: {error}"))
    })
}

/// One Redis per test binary, started on first use and stopped when the
/// process exits, like [`shared_postgres`]; panics likewise.
pub fn shared_redis() -> &'static Redis {
    static SHARED: OnceLock<Redis> = OnceLock::new();
    SHARED.get_or_init(|| {
        Redis::start()
            .unwrap_or_else(|error| panic!("cannot start the test binary's Redis: {error}"))
    })
}

/// One S3 server per test binary, started on first use and stopped when the
/// process exits, like [`shared_postgres`]; each test makes its own bucket
/// with [`S3::create_bucket`]. Panics likewise, naming what to install.
pub fn shared_s3() -> &'static S3 {
    static SHARED: OnceLock<S3> = OnceLock::new();
    SHARED.get_or_init(|| {
        S3::start()
            .unwrap_or_else(|error| panic!("cannot start the test binary's S3 server: {error}"))
    })
}
