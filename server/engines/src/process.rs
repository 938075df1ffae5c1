//! Engine processes that cannot outlive the process that started them.
//!
//! Every engine runs next to a small `sh` watchdog whose stdin is a pipe from
//! us. The pipe's write end lives only in this process (std opens it
//! close-on-exec), so it closes when we exit by any means, SIGKILL included;
//! the watchdog's `cat` then sees end of file at once, and the watchdog stops
//! the engine's whole process group and removes its scratch directory. This is
//! what cleans up after the `shared_*` statics, which are never dropped, and
//! after a test binary that is killed. No `unsafe` (pre_exec, prctl) needed.

use std::fs::File;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// What the watchdog runs. `$1` is the engine's pid (also its process group),
/// `$2` the signal that stops it cleanly, `$3` the directory to remove.
///
/// Zombies count as gone: nobody may reap the orphaned engine (pid 1 here is
/// not a full init), and a zombie holds nothing but its pid.
const WATCHDOG: &str = r#"
trap '' HUP INT
cat >/dev/null
kill -"$2" "$1" 2>/dev/null
alive() { s=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]; }
i=0
while alive "$1" && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL "-$1" 2>/dev/null
rm -rf -- "$3"
"#;

/// How long starting an engine may take before it is an error: each is up in
/// well under a second on a quiet machine (initdb in about 2 s), so this only
/// catches a machine that is badly overloaded.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an engine ended by [`Supervised::end`] has to exit before its
/// whole group is killed.
const END_TIMEOUT: Duration = Duration::from_secs(10);

/// A running engine and the watchdog that stops it if we die first.
#[derive(Debug)]
pub(crate) struct Supervised {
    /// The engine itself; its pid is also its process group, so a signal to
    /// the group reaches PostgreSQL's backends too.
    engine: Child,
    /// Held only for its stdin pipe: dropping or killing it is how we tell
    /// it nothing more is needed.
    watchdog: Child,
    /// The engine's name in errors ("Redis").
    what: &'static str,
    /// The signal that ends it at once, as the watchdog would: [`Supervised::end`].
    stop_signal: &'static str,
}

impl Supervised {
    /// Starts `command` in its own process group and its watchdog, which on
    /// our exit sends `stop_signal`, waits up to 10 s, kills the group and
    /// removes `dir`.
    pub(crate) fn spawn(
        mut command: Command,
        what: &'static str,
        stop_signal: &'static str,
        dir: &Path,
    ) -> Result<Supervised, String> {
        // Its own group: a Ctrl-C meant for the test run must not reach the
        // engine half-way, and the group lets the watchdog reach every child.
        let mut engine = command
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot start {what}: {error}"))?;
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("sh")
            .arg(engine.id().to_string())
            .arg(stop_signal)
            .arg(dir)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match watchdog {
            Ok(watchdog) => Ok(Supervised {
                engine,
                watchdog,
                what,
                stop_signal,
            }),
            Err(error) => {
                // Without a watchdog the engine could outlive us: do not keep it.
                let _ = engine.kill();
                let _ = engine.wait();
                Err(format!("cannot start the watchdog for {what}: {error}"))
            }
        }
    }

    /// Waits until `ready` says the engine serves `port`, checking every
    /// 20 ms, at most [`START_TIMEOUT`]. If it exits first, `ready` fails or
    /// time runs out, ends it and returns why, with the tail of its `log`.
    pub(crate) fn wait_until_ready(
        mut self,
        port: u16,
        log: &Path,
        mut ready: impl FnMut() -> Result<bool, String>,
    ) -> Result<Supervised, String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let outcome = loop {
            if self.has_exited() {
                break Err(format!(
                    "{} exited while starting on port {port}",
                    self.what
                ));
            }
            match ready() {
                Ok(true) => break Ok(()),
                Ok(false) if Instant::now() < deadline => sleep(Duration::from_millis(20)),
                Ok(false) => {
                    break Err(format!(
                        "{} was not ready on port {port} within {START_TIMEOUT:?}",
                        self.what
                    ))
                }
                Err(error) => break Err(error),
            }
        };
        match outcome {
            Ok(()) => Ok(self),
            Err(error) => {
                let _ = self.end();
                Err(format!("{error}; its log ends:\n{}", read_tail(log)))
            }
        }
    }

    /// Ends the engine at once, as the watchdog would: its stop signal, up
    /// to 10 s to exit, then SIGKILL to its whole group.
    pub(crate) fn end(self) -> Result<(), String> {
        let signal = self.stop_signal;
        self.stop(signal, false, END_TIMEOUT)
    }

    /// The engine's pid, for diagnostics and tests.
    pub(crate) fn pid(&self) -> u32 {
        self.engine.id()
    }

    /// Whether the engine has exited (it failed to start, or crashed).
    pub(crate) fn has_exited(&mut self) -> bool {
        !matches!(self.engine.try_wait(), Ok(None))
    }

    /// Stops the engine ourselves: sends `signal` to it (its group when
    /// `whole_group`) and waits up to `timeout` for it to exit, killing the
    /// group after that. The watchdog goes first so it cannot act on a pid
    /// that has been reaped and reused.
    pub(crate) fn stop(
        mut self,
        signal: &str,
        whole_group: bool,
        timeout: Duration,
    ) -> Result<(), String> {
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
        let pid = self.engine.id();
        let target = if whole_group {
            format!("-{pid}")
        } else {
            pid.to_string()
        };
        let sent = send_signal(signal, &target);
        let outcome = wait_for_exit(&mut self.engine, timeout);
        if outcome.is_err() {
            let _ = send_signal("KILL", &format!("-{pid}"));
            let _ = self.engine.wait();
        }
        sent.and(outcome)
    }
}

/// Sends the engine's output (stdout and stderr) to the end of the file at
/// `path`: appended to, so after a failed restart it still shows earlier runs.
pub(crate) fn log_output_to(command: &mut Command, path: &Path) -> Result<(), String> {
    let log = File::options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|error| format!("cannot duplicate {}: {error}", path.display()))?;
    command.stdout(log).stderr(log_err);
    Ok(())
}

/// Sends `signal` (a name such as `INT`) to `target` (a pid, or `-pgid`)
/// through dash's `kill` (which takes no `--`): std only sends SIGKILL, and
/// libc is unsafe.
fn send_signal(signal: &str, target: &str) -> Result<(), String> {
    let status = Command::new("sh")
        .args([
            "-c",
            "kill -\"$1\" \"$2\" 2>/dev/null",
            "sh",
            signal,
            target,
        ])
        .status()
        .map_err(|error| format!("cannot run sh to send SIG{signal}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("SIG{signal} to {target} failed (already gone?)"))
    }
}

/// Waits for `child` to exit, at most `timeout`.
fn wait_for_exit(child: &mut Child, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return Ok(()),
            Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(20)),
            Ok(None) => {
                return Err(format!(
                    "process {} did not exit within {timeout:?}",
                    child.id()
                ))
            }
            Err(error) => return Err(format!("cannot wait for process {}: {error}", child.id())),
        }
    }
}

/// Runs a helper command (`initdb`, `createdb`, `pg_isready`) to completion,
/// at most `timeout`: an engine that hangs must turn into an error, not a test
/// run that never ends. Returns whether it succeeded and the tail of its
/// output when `log` is given.
///
/// Output goes to a file rather than a pipe, so a chatty command cannot block
/// on a full pipe while we wait for it.
pub(crate) fn run_bounded(
    mut command: Command,
    what: &str,
    log: Option<&Path>,
    timeout: Duration,
) -> Result<(bool, String), String> {
    let (stdout, stderr) = match log {
        Some(log) => {
            let file = File::create(log)
                .map_err(|error| format!("cannot create {}: {error}", log.display()))?;
            let copy = file
                .try_clone()
                .map_err(|error| format!("cannot duplicate {}: {error}", log.display()))?;
            (Stdio::from(file), Stdio::from(copy))
        }
        None => (Stdio::null(), Stdio::null()),
    };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|error| format!("cannot run {what}: {error}"))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what} did not finish within {timeout:?}"));
            }
            Err(error) => return Err(format!("cannot wait for {what}: {error}")),
        }
    };
    Ok((status.success(), log.map(read_tail).unwrap_or_default()))
}

/// The last few lines of a log file, to put the engine's own words into an
/// error message.
pub(crate) fn read_tail(path: &Path) -> String {
    let mut text = String::new();
    if File::open(path)
        .and_then(|mut file| file.read_to_string(&mut text))
        .is_err()
    {
        return String::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
