//! Engines must not outlive the process that started them: this binary runs
//! itself as a child that starts the shared engines, lets the child exit (or
//! SIGKILLs it), and checks that no engine process or directory is left.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use chat_engines::{shared_postgres, shared_redis, PG_BIN};

/// Set in the child: `exit` to return normally (statics are never dropped),
/// `hang` to wait to be killed.
const CHILD_MODE: &str = "CHAT_ENGINES_WATCHDOG_CHILD";

/// What the child reports: every engine process and directory it made.
struct Started {
    pids: Vec<u32>,
    dirs: Vec<PathBuf>,
}

/// The pids whose parent is `parent`: the postmaster's backends and workers,
/// which PostgreSQL puts in sessions of their own.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // After the command name in parentheses: state, then the parent pid.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                == Some(parent)
        })
        .collect()
}

/// Whether `pid` is a process that still runs (a zombie does not).
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .is_ok_and(|status| !status.contains("State:\tZ"))
}

/// Not a test of its own: the child half of the tests below, a no-op unless
/// they start this binary with [`CHILD_MODE`] set.
#[test]
fn child_starts_engines() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let postgres = shared_postgres();
    let redis = shared_redis();
    let url = postgres.create_database().expect("a database");
    // A backend busy in a query, which a shutdown must end too.
    let database = url.rsplit('/').next().expect("a database name");
    #[expect(
        clippy::zombie_processes,
        reason = "psql must outlive this process, and ends when the watchdog stops the server"
    )]
    let _psql = Command::new(Path::new(PG_BIN).join("psql"))
        .args(["-h", "127.0.0.1", "-p", &postgres.port().to_string()])
        .args([
            "-U",
            "postgres",
            "-d",
            database,
            "-c",
            "select pg_sleep(60)",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("psql starts");
    let postmaster = postgres.pid().expect("PostgreSQL runs");
    let deadline = Instant::now() + Duration::from_secs(10);
    // The checkpointer, walwriter, ... and the psql's backend.
    while children_of(postmaster).len() < 6 && Instant::now() < deadline {
        sleep(Duration::from_millis(50));
    }
    let mut pids = vec![postmaster, redis.pid().expect("Redis runs")];
    pids.extend(children_of(postmaster));
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    println!(
        "ENGINES {} {} {}",
        pids.join(","),
        postgres.dir().display(),
        redis.dir().display()
    );
    if mode == "hang" {
        sleep(Duration::from_secs(60));
    }
}

/// Starts this binary as the child in `mode` and returns it with what it
/// started, once it has said so.
fn start_child(mode: &str) -> (std::process::Child, Started) {
    let mut child = Command::new(std::env::current_exe().expect("our own path"))
        .args(["child_starts_engines", "--exact", "--nocapture"])
        .env(CHILD_MODE, mode)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the child starts");
    let stdout = child.stdout.take().expect("a piped stdout");
    let (lines, reports) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(report) = line.strip_prefix("ENGINES ") {
                let _ = lines.send(report.to_string());
            }
        }
    });
    let report = reports
        .recv_timeout(Duration::from_secs(90))
        .expect("the child reports its engines");
    let mut fields = report.split(' ');
    let pids = fields
        .next()
        .expect("pids")
        .split(',')
        .map(|pid| pid.parse().expect("a pid"))
        .collect();
    let dirs = fields.map(PathBuf::from).collect();
    (child, Started { pids, dirs })
}

/// Waits up to 20 s for every process and directory the child made to go.
fn assert_all_gone(started: &Started) {
    assert!(
        started.pids.len() >= 7,
        "too few processes: {:?}",
        started.pids
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let running: Vec<u32> = started
            .pids
            .iter()
            .copied()
            .filter(|pid| is_running(*pid))
            .collect();
        let dirs: Vec<&PathBuf> = started.dirs.iter().filter(|dir| dir.exists()).collect();
        if running.is_empty() && dirs.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: processes {running:?}, directories {dirs:?}"
        );
        sleep(Duration::from_millis(100));
    }
}

#[test]
fn engines_stop_when_the_process_that_started_them_exits() {
    let (mut child, started) = start_child("exit");
    let status = child.wait().expect("the child exits");
    assert!(status.success(), "the child failed: {status}");
    assert_all_gone(&started);
}

#[test]
fn engines_stop_when_the_process_that_started_them_is_killed() {
    let (mut child, started) = start_child("hang");
    child.kill().expect("SIGKILL the child");
    let _ = child.wait();
    assert_all_gone(&started);
}
