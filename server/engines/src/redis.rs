//! A throwaway Redis 7 server on a free loopback port, holding nothing on disk.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::process::{read_tail, Supervised};
use crate::scratch::{free_port, make_scratch_dir, INSTALL_HINT};

/// How long starting may take before it is an error; Redis is up in
/// milliseconds, so this only catches a machine that is badly overloaded.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a port is tried before giving up (see [`crate::Postgres`]).
const PORT_ATTEMPTS: usize = 3;

/// A throwaway Redis server (`redis-server --port P --bind 127.0.0.1 --dir
/// TMP --save '' --appendonly no`): nothing it holds survives it, which is
/// what [`Redis::kill`] relies on to act like a crash.
#[derive(Debug)]
pub struct Redis {
    /// The loopback port, kept across [`Redis::kill`] and [`Redis::restart`].
    port: u16,
    /// The scratch directory: Redis's working dir and its log.
    dir: PathBuf,
    /// The running server, `None` while killed.
    server: Option<Supervised>,
}

impl Redis {
    /// Starts `redis-server` on a free 127.0.0.1 port in a fresh temp dir
    /// and waits until it answers.
    pub fn start() -> Result<Redis, String> {
        if !on_path("redis-server") {
            return Err(format!(
                "Redis is not installed (no redis-server on PATH); install it: {INSTALL_HINT}"
            ));
        }
        // From here on Drop removes the directory, whatever fails next.
        let mut redis = Redis {
            port: 0,
            dir: make_scratch_dir("redis")?,
            server: None,
        };
        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            redis.port = free_port()?;
            match redis.launch() {
                Ok(()) => return Ok(redis),
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's pid while it runs, for tests that check cleanup.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Supervised::pid)
    }

    /// The scratch directory (working dir and log), for diagnostics.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// SIGKILLs the server: everything it held is lost, as in a crash.
    pub fn kill(&mut self) -> Result<(), String> {
        let server = self
            .server
            .take()
            .ok_or("Redis is not running, so it cannot be killed")?;
        server.stop("KILL", true, Duration::from_secs(10))
    }

    /// Starts a fresh, empty server on the same port (killing the running
    /// one first, if any) and waits until it answers.
    pub fn restart(&mut self) -> Result<(), String> {
        if self.server.is_some() {
            self.kill()?;
        }
        self.launch()
    }

    /// Starts `redis-server` on `self.port` and waits until it is ready.
    fn launch(&mut self) -> Result<(), String> {
        let log_path = self.dir.join("redis.log");
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|error| format!("cannot open {}: {error}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|error| format!("cannot duplicate {}: {error}", log_path.display()))?;
        let mut command = Command::new("redis-server");
        command
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
            ])
            .arg(&self.dir)
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .current_dir(&self.dir)
            .stdout(log)
            .stderr(log_err);
        let mut server = Supervised::spawn(command, "Redis", "KILL", &self.dir)?;
        match self.wait_until_ready(&mut server) {
            Ok(()) => {
                self.server = Some(server);
                Ok(())
            }
            Err(error) => {
                let _ = server.stop("KILL", true, Duration::from_secs(10));
                Err(format!("{error}; its log ends:\n{}", read_tail(&log_path)))
            }
        }
    }

    /// Waits until the server on our port answers and is ours: it reports
    /// our child's pid, so a Redis of someone else's that happens to hold
    /// the port is not mistaken for it.
    fn wait_until_ready(&self, server: &mut Supervised) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let expected = format!("process_id:{}\r\n", server.pid());
        loop {
            if server.has_exited() {
                return Err(format!("Redis exited while starting on port {}", self.port));
            }
            match server_info(self.port) {
                Some(info) if info.contains(&expected) => return Ok(()),
                Some(_) => {
                    return Err(format!(
                        "another Redis already listens on port {}",
                        self.port
                    ))
                }
                None if Instant::now() < deadline => sleep(Duration::from_millis(20)),
                None => {
                    return Err(format!(
                        "Redis did not answer on port {} within {START_TIMEOUT:?}",
                        self.port
                    ))
                }
            }
        }
    }
}

impl Drop for Redis {
    /// Kills the server and removes the scratch directory.
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.stop("KILL", true, Duration::from_secs(10));
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `INFO server` from the Redis on `port`, or `None` if nothing answers yet.
/// Reads until the reply's `process_id` line has arrived, within 2 s.
fn server_info(port: u16) -> Option<String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&address, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    let deadline = Instant::now() + timeout;
    let mut reply = Vec::new();
    let mut buffer = [0u8; 4096];
    while Instant::now() < deadline {
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 {
            break;
        }
        reply.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&reply);
        // A loading or erroring server answers `-...` instead.
        if text.starts_with('-') {
            return None;
        }
        if let Some(start) = text.find("process_id:") {
            if text[start..].contains("\r\n") {
                return Some(text.into_owned());
            }
        }
    }
    None
}

/// Whether `program` is an executable file in one of PATH's directories.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}
