//! A throwaway Redis 7 server on a free loopback port, holding nothing on disk.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{log_output_to, Supervised};
use crate::scratch::{make_scratch_dir, on_a_free_port, on_path, INSTALL_HINT};

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
        on_a_free_port(|port| {
            redis.port = port;
            redis.launch()
        })?;
        Ok(redis)
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

    /// Starts `redis-server` on `self.port` and waits until the server on
    /// that port answers and is ours: it reports our child's pid, so a Redis
    /// of someone else's that happens to hold the port is not mistaken for it.
    fn launch(&mut self) -> Result<(), String> {
        let log = self.dir.join("redis.log");
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
            .current_dir(&self.dir);
        log_output_to(&mut command, &log)?;
        let server = Supervised::spawn(command, "Redis", "KILL", &self.dir)?;
        let port = self.port;
        let ours = format!("process_id:{}\r\n", server.pid());
        let server = server.wait_until_ready(port, &log, || match server_info(port) {
            Some(info) if info.contains(&ours) => Ok(true),
            Some(_) => Err(format!("another Redis already listens on port {port}")),
            None => Ok(false),
        })?;
        self.server = Some(server);
        Ok(())
    }
}

impl Drop for Redis {
    /// Kills the server and removes the scratch directory.
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.end();
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
