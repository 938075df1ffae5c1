//! The real chat server, in-process, on a loopback port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::dist_dir;

/// A running server and the means to stop it.
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server on a free loopback port.
    pub async fn start() -> Self {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a server on `addr`: used to bring a stopped server back on
    /// the very port the pages know.
    pub async fn start_on(addr: SocketAddr) -> Self {
        Self::start_with(addr, chat_server::Config::default().db, |_| {}).await
    }

    /// Starts a server on `addr` keeping its history in the database file
    /// `db`: a server started again on the same file has the same history.
    pub async fn start_with_db(addr: SocketAddr, db: &Path) -> Self {
        Self::start_with(addr, db.to_path_buf(), |_| {}).await
    }

    /// Starts a server on a free loopback port that sends a heartbeat every
    /// `interval` and gives up on a client silent for three of them, so a
    /// page's watchdog (which waits the missed heartbeats `welcome`
    /// announces: three) can be seen within seconds. Through a frozen
    /// proxy nothing the server does reaches the page: the page must
    /// notice by itself.
    pub async fn start_with_heartbeat(interval: Duration) -> Self {
        Self::start_tuned(|config| {
            config.limits.ping_interval = interval;
            config.limits.idle_timeout = interval * 3;
        })
        .await
    }

    /// Starts a server on a free loopback port with the tests' settings
    /// changed by `tune`.
    pub async fn start_tuned(tune: impl FnOnce(&mut chat_server::Config)) -> Self {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_with(addr, chat_server::Config::default().db, tune).await
    }

    /// Starts a server on `addr` with the tests' settings changed by
    /// `tune`: a stopped tuned server brought back on the port the pages
    /// know (with the same database file, the same history).
    pub async fn start_tuned_on(
        addr: SocketAddr,
        tune: impl FnOnce(&mut chat_server::Config),
    ) -> Self {
        Self::start_with(addr, chat_server::Config::default().db, tune).await
    }

    /// Starts one node of a cluster on a free loopback port: the tests'
    /// settings, with the history in the PostgreSQL database at `database`
    /// and the bus and presence in the Redis at `redis`, under `prefix`.
    /// Nodes given the same three are one chat; a prefix of its own keeps
    /// a test apart from others sharing the Redis.
    pub async fn start_cluster_node(database: &str, redis: &str, prefix: &str) -> Self {
        Self::start_tuned(|config| {
            config.database = Some(chat_server::config::Database::Postgres(database.to_owned()));
            config.redis = Some(redis.to_owned());
            config.redis_prefix = prefix.to_owned();
        })
        .await
    }

    async fn start_with(
        addr: SocketAddr,
        db: PathBuf,
        tune: impl FnOnce(&mut chat_server::Config),
    ) -> Self {
        let listener = bind_with_retries(addr).await;
        let addr = listener.local_addr().expect("the listener has an address");
        let (stop, stopped) = oneshot::channel::<()>();
        let mut config = chat_server::Config {
            addr,
            static_dir: dist_dir(),
            db,
            // A closed page (1001) keeps its user listed for the resume grace;
            // short here so tests can see "left" without waiting two minutes,
            // long enough for a reconnect to resume.
            resume_grace: Duration::from_secs(5),
            // Some tests fill the conversation quickly; the rate limits
            // have their own socket tests (server/tests/rate_limits.rs).
            limits: chat_server::limits::Limits {
                message_rate: 100.0,
                message_burst: 100,
                ..Default::default()
            },
            ..chat_server::Config::default()
        };
        tune(&mut config);
        let task = tokio::spawn(chat_server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Graceful shutdown: every socket gets a close frame and `run`
    /// returns; fails the test if it does not within 15 s.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("the server shuts down within 15 s")
                .expect("the server task did not panic");
            result.expect("the server's run() ended without an error");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binding the port a stopped server just released can briefly fail;
/// a few tries over two seconds cover it.
async fn bind_with_retries(addr: SocketAddr) -> TcpListener {
    let mut last_error = None;
    for _ in 0..20 {
        match TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(error) => last_error = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot bind {addr}: {last_error:?}");
}
