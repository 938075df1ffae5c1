//! A throwaway S3-compatible server on a free loopback port: `s3s-fs`, which
//! serves a folder as S3 (a bucket is a directory, an object a file), with a
//! fixed access key and secret given on its command line.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{log_output_to, Supervised};
use crate::scratch::{make_scratch_dir, on_a_free_port, on_path, program_path, random_hex};

/// The `s3s-fs` release the tests are written against; `cargo xtask test`
/// installs exactly this one (the later releases need a newer Rust).
pub const S3S_FS_VERSION: &str = "0.14.1";

/// What to run when `s3s-fs` is missing; every such error says it.
pub const S3_INSTALL_HINT: &str =
    "cargo install --locked s3s-fs@0.14.1 --features binary (or run `cargo xtask test`, which does)";

/// What `s3s-fs` logs once it listens; seeing it in our child's own log is
/// how we know the port is served by our process and not someone else's.
const READY_LINE: &str = "server is running at http://";

/// A throwaway S3 server (`s3s-fs --host 127.0.0.1 --port P --access-key K
/// --secret-key S TMP/data`): each test makes its own bucket with
/// [`S3::create_bucket`], and everything goes when it stops.
#[derive(Debug)]
pub struct S3 {
    /// The loopback port it listens on.
    port: u16,
    /// The scratch directory: `data/` (one directory per bucket) and the log.
    dir: PathBuf,
    /// The access key clients sign with; random, so a stray client with
    /// some other test's keys is refused.
    access_key: String,
    /// The secret that goes with [`S3::access_key`].
    secret_key: String,
    /// The running server; `None` only while starting.
    server: Option<Supervised>,
}

impl S3 {
    /// Starts `s3s-fs` on a free 127.0.0.1 port in a fresh temp dir with
    /// random keys, and waits until it listens.
    pub fn start() -> Result<S3, String> {
        if !on_path("s3s-fs") {
            return Err(format!(
                "the S3 test server is not installed (no s3s-fs on PATH or in ~/.cargo/bin); install it: {S3_INSTALL_HINT}"
            ));
        }
        // From here on Drop removes the directory, whatever fails next.
        let mut s3 = S3 {
            port: 0,
            dir: make_scratch_dir("s3")?,
            access_key: format!("test{}", random_hex(8)?),
            secret_key: random_hex(20)?,
            server: None,
        };
        let data = s3.data_dir();
        fs::create_dir(&data)
            .map_err(|error| format!("cannot create {}: {error}", data.display()))?;
        on_a_free_port(|port| {
            s3.port = port;
            s3.launch()
        })?;
        Ok(s3)
    }

    /// `http://127.0.0.1:PORT`, the endpoint clients talk to (path-style).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The access key id clients sign requests with.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The secret access key clients sign requests with.
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The server's pid while it runs, for tests that check cleanup.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Supervised::pid)
    }

    /// The scratch directory (data and log), for diagnostics.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates an empty bucket named `prefix` plus a random suffix and
    /// returns its name: one per test, so tests sharing the server never see
    /// each other's objects. For `s3s-fs` a bucket is a directory in its data
    /// folder, so this makes that directory.
    pub fn create_bucket(&self, prefix: &str) -> Result<String, String> {
        let name = format!("{prefix}-{}", random_hex(6)?);
        // S3's rules: 3 to 63 of lowercase letters, digits and `-`.
        let valid = name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric());
        if !valid {
            return Err(format!("{name:?} is not a valid S3 bucket name"));
        }
        let path = self.data_dir().join(&name);
        fs::create_dir(&path)
            .map_err(|error| format!("cannot create bucket {}: {error}", path.display()))?;
        Ok(name)
    }

    /// `s3://BUCKET?endpoint=http://127.0.0.1:PORT`, the URL a client is
    /// configured with for `bucket`.
    pub fn bucket_url(&self, bucket: &str) -> String {
        format!("s3://{bucket}?endpoint={}", self.endpoint())
    }

    /// Where the buckets live on disk.
    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Where `bucket`'s objects are on disk (s3s-fs keeps a bucket as a
    /// folder): for tests that check what was stored, or left behind.
    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.data_dir().join(bucket)
    }

    /// Starts `s3s-fs` on `self.port` and waits until it is ready: until
    /// our child has logged that it listens and the port takes connections.
    /// The log line is what tells it apart from someone else's server that
    /// happens to hold the port: that one would let us connect, but our child
    /// would exit with "address in use" instead of logging.
    fn launch(&mut self) -> Result<(), String> {
        // One log per port, so a line logged on an earlier port is not read as ready.
        let log = self.dir.join(format!("s3s-fs-{}.log", self.port));
        let mut command = Command::new(program_path("s3s-fs"));
        command
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", &self.access_key])
            .args(["--secret-key", &self.secret_key])
            .arg(self.data_dir())
            .current_dir(&self.dir)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1");
        log_output_to(&mut command, &log)?;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let server = Supervised::spawn(command, "s3s-fs", "KILL", &self.dir)?.wait_until_ready(
            self.port,
            &log,
            || {
                let logged = fs::read_to_string(&log).is_ok_and(|text| text.contains(READY_LINE));
                Ok(logged && TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok())
            },
        )?;
        self.server = Some(server);
        Ok(())
    }
}

impl Drop for S3 {
    /// Kills the server and removes the scratch directory.
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.end();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
