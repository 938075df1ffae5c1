//! The real `chat-server` binary as a child process, for what only a
//! process shows: its signals, its exit status, its log, its files after a
//! SIGKILL, several of them on one database. Everything else runs the
//! server in the test's own process ([`super::TestServer`]).

use super::{connect_to, Client, PATIENCE};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a starting server may take to print its address: longer than
/// [`PATIENCE`], for a node that first connects to PostgreSQL and Redis on
/// a busy machine.
const START_BOUND: Duration = Duration::from_secs(15);

/// What the server prints once it listens, before its address.
const LISTENING: &str = "WebSocket Chat is running: open ";

/// The test build of the binary, told to listen on an ephemeral loopback
/// port and to serve its app from an empty folder; the test adds its own
/// flags and environment.
pub(crate) fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-server"));
    command
        .args(["--addr", "127.0.0.1:0"])
        .env("CHAT_STATIC_DIR", std::env::temp_dir());
    command
}

/// Runs `command` (see [`command`]) to its exit, for a start that must
/// fail: whether it succeeded, and all it said (stdout, then stderr).
pub(crate) fn run_to_exit(command: &mut Command) -> (bool, String) {
    let output = command.output().expect("run chat-server");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

/// A running server process, started by [`ServerProcess::start`]. Dropping
/// it SIGKILLs it, so that no server outlives a failed test.
pub(crate) struct ServerProcess {
    child: Child,
    /// Where it listens, as it printed it.
    pub addr: SocketAddr,
    /// The lines it wrote up to its address line, that one included.
    pub start_lines: Vec<String>,
    /// Every later line of the pipes the command asked for, as they come.
    lines: mpsc::Receiver<String>,
    /// The threads reading those pipes: they end when the process does.
    readers: Vec<JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts `command` (see [`command`]) and waits, bounded, until it
    /// prints the address it listens on. Its stdout is read by the helper,
    /// and so is its stderr when the command pipes it; both are drained
    /// all along, so the server never blocks on a full pipe.
    pub(crate) fn start(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start chat-server");
        let (sender, lines) = mpsc::channel();
        let mut readers = vec![read_lines(
            child.stdout.take().expect("stdout"),
            sender.clone(),
        )];
        if let Some(stderr) = child.stderr.take() {
            readers.push(read_lines(stderr, sender));
        }
        // Owned from here on, so a failure below still kills the process.
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            start_lines: Vec::new(),
            lines,
            readers,
        };
        let deadline = std::time::Instant::now() + START_BOUND;
        server.addr = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = server
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("the server printed no address in time"));
            let found = printed_addr(&line);
            server.start_lines.push(line);
            if let Some(addr) = found {
                break addr;
            }
        };
        server
    }

    /// A client of this server.
    pub(crate) async fn connect(&self) -> Client {
        connect_to(self.addr).await
    }

    /// Sends the signal `name` (`TERM`, `HUP`) with `kill`, as an
    /// operator or a service manager does.
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name}");
    }

    /// SIGKILLs the process and waits until it is gone: no shutdown. A
    /// process that already exited stays as it is.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Its exit status, if it has exited.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait for the server")
    }

    /// Waits until it exits and its pipes are read to the end: every line
    /// it wrote is then in [`ServerProcess::lines`].
    pub(crate) fn wait(&mut self) -> ExitStatus {
        let status = self.child.wait().expect("the server exits");
        for reader in self.readers.drain(..) {
            reader.join().expect("reader thread");
        }
        status
    }

    /// The next line containing `needle`, skipping the others; fails if
    /// none comes within [`PATIENCE`].
    pub(crate) fn wait_for(&self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|_| panic!("the server logs {needle:?} in time"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Every line written since the last call (after the address line).
    pub(crate) fn lines(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

impl Drop for ServerProcess {
    /// Kills the process; after a failure, shows what it said that the
    /// test did not read, since that is what explains it.
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            for line in self.lines.try_iter() {
                eprintln!("server: {line}");
            }
        }
    }
}

/// Passes on every line of a pipe until it ends.
fn read_lines(pipe: impl Read + Send + 'static, lines: mpsc::Sender<String>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                // Nobody reads any more; keep draining so the server never
                // blocks on a full pipe.
                continue;
            }
        }
    })
}

/// The address in the start-up line, plain ("… open http://ADDR/") or a
/// JSON log line whose message says the same.
fn printed_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once(LISTENING)?;
    let (_, rest) = rest.split_once("://")?;
    let end = rest.find('/')?;
    rest[..end].parse().ok()
}
