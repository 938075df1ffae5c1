//! A throwaway PostgreSQL 15 cluster: initdb into a scratch directory, one
//! `postgres` on a free loopback port, databases handed out per test.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{log_output_to, run_bounded, Supervised, START_TIMEOUT};
use crate::scratch::INSTALL_HINT;
use crate::scratch::{give_to, make_scratch_dir, on_a_free_port, postgres_identity, random_hex};

/// Where Debian's postgresql-15 package puts its binaries (not on PATH).
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// How long a fast shutdown may take; it waits for backends to finish their
/// current statement and writes a checkpoint.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A throwaway PostgreSQL server.
///
/// Each test binary starts one (see [`crate::shared_postgres`]) and gives each
/// test its own database from [`Postgres::create_database`], which is fast,
/// rather than paying for an initdb per test. Dropping it kills the server
/// and removes its directory; if this process dies first, a watchdog does.
#[derive(Debug)]
pub struct Postgres {
    /// The loopback port, kept across [`Postgres::stop`] and
    /// [`Postgres::restart`] so the urls handed out stay valid.
    port: u16,
    /// The scratch directory: `pg/` (the data dir), `sock/` (the Unix socket,
    /// so we never touch the system's /var/run/postgresql) and logs.
    dir: PathBuf,
    /// Who the server runs as: the `postgres` user when we are root.
    identity: Option<(u32, u32)>,
    /// The running server, `None` while stopped.
    server: Option<Supervised>,
}

impl Postgres {
    /// initdb (as the `postgres` user when we are root, since PostgreSQL
    /// refuses root; `-A trust`) into a fresh temp dir, then starts
    /// `postgres` on a free 127.0.0.1 port and waits until it accepts
    /// connections. fsync stays on, so durability tests mean something.
    pub fn start() -> Result<Postgres, String> {
        for tool in ["postgres", "initdb", "pg_isready", "createdb"] {
            let path = Path::new(PG_BIN).join(tool);
            if !path.is_file() {
                return Err(format!(
                    "PostgreSQL 15 is not installed (no {}); install it: {INSTALL_HINT}",
                    path.display()
                ));
            }
        }
        let identity = postgres_identity()?;
        // From here on Drop removes the directory, whatever fails next.
        let mut postgres = Postgres {
            port: 0,
            dir: make_scratch_dir("pg")?,
            identity,
            server: None,
        };
        postgres.init_cluster()?;
        on_a_free_port(|port| {
            postgres.port = port;
            postgres.launch()
        })?;
        Ok(postgres)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE`
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The postmaster's pid while it runs, for tests that check cleanup.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Supervised::pid)
    }

    /// The scratch directory (data dir, socket dir, logs), for diagnostics.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates a database with a fresh random name (`t_<hex>`) and returns
    /// its url: one per test keeps tests apart without a server each.
    pub fn create_database(&self) -> Result<String, String> {
        let name = format!("t_{}", random_hex(8)?);
        let log = self.dir.join(format!("createdb-{name}.log"));
        let mut createdb = Command::new(Path::new(PG_BIN).join("createdb"));
        createdb
            .arg("-h")
            .arg(self.dir.join("sock"))
            .args(["-p", &self.port.to_string(), "-U", "postgres", &name])
            .env("PGCONNECT_TIMEOUT", "10");
        let outcome = run_bounded(createdb, "createdb", Some(&log), START_TIMEOUT);
        let _ = fs::remove_file(&log);
        match outcome? {
            (true, _) => Ok(self.url(&name)),
            (false, output) => Err(format!("createdb {name} failed: {output}")),
        }
    }

    /// Stops the server (fast shutdown, waiting for it to exit) and keeps its
    /// data dir, so a test can see what happens while the database is
    /// unreachable, then [`Postgres::restart`] it.
    pub fn stop(&mut self) -> Result<(), String> {
        let server = self
            .server
            .take()
            .ok_or("PostgreSQL is not running, so it cannot be stopped")?;
        server.stop("INT", false, STOP_TIMEOUT)
    }

    /// Starts the server again on the same port and data dir and waits until
    /// it accepts connections; stops it first if it is running.
    pub fn restart(&mut self) -> Result<(), String> {
        if self.server.is_some() {
            self.stop()?;
        }
        self.launch()
    }

    /// initdb into `pg/`. `--no-sync` only skips flushing the new files to
    /// disk once, which matters for a power cut and never for a test.
    fn init_cluster(&self) -> Result<(), String> {
        for sub in ["pg", "sock"] {
            let path = self.dir.join(sub);
            fs::create_dir(&path)
                .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
            give_to(&path, self.identity)?;
        }
        let mut initdb = self.as_postgres_user(Path::new(PG_BIN).join("initdb"));
        initdb.arg("-D").arg(self.dir.join("pg")).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        match run_bounded(
            initdb,
            "initdb",
            Some(&self.dir.join("initdb.log")),
            START_TIMEOUT,
        )? {
            (true, _) => Ok(()),
            (false, output) => Err(format!("initdb failed: {output}")),
        }
    }

    /// Starts `postgres` on `self.port` and polls `pg_isready` until it
    /// accepts connections. It asks through our own Unix socket: over TCP a
    /// server of someone else's that holds the same port would answer too.
    fn launch(&mut self) -> Result<(), String> {
        let log = self.dir.join("postgres.log");
        let mut command = self.as_postgres_user(Path::new(PG_BIN).join("postgres"));
        command
            .arg("-D")
            .arg(self.dir.join("pg"))
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(self.dir.join("sock"))
            .args(["-c", "listen_addresses=127.0.0.1"]);
        log_output_to(&mut command, &log)?;
        // SIGQUIT is PostgreSQL's immediate shutdown: it ends the backends and
        // still removes its shared memory, which SIGKILL would leak.
        let server = Supervised::spawn(command, "PostgreSQL", "QUIT", &self.dir)?
            .wait_until_ready(self.port, &log, || {
                let mut ready = Command::new(Path::new(PG_BIN).join("pg_isready"));
                ready.arg("-q").arg("-h").arg(self.dir.join("sock")).args([
                    "-p",
                    &self.port.to_string(),
                    "-t",
                    "2",
                ]);
                run_bounded(ready, "pg_isready", None, Duration::from_secs(5))
                    .map(|(ready, _)| ready)
            })?;
        self.server = Some(server);
        Ok(())
    }

    /// A command for `program` run as the server's user, in the scratch dir
    /// (the `postgres` user may not be allowed into our working directory).
    fn as_postgres_user(&self, program: PathBuf) -> Command {
        let mut command = Command::new(program);
        command.current_dir(&self.dir).stdin(Stdio::null());
        if let Some((uid, gid)) = self.identity {
            command.uid(uid).gid(gid);
        }
        command
    }
}

impl Drop for Postgres {
    /// Ends the server and its backends at once (no checkpoint: the data is
    /// thrown away) and removes the scratch directory.
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.end();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
