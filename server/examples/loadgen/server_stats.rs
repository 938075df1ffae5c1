//! The server's own cost, read from /proc: what a connection or a message
//! costs is only visible from outside the process. A cluster's nodes are
//! several processes; their figures are summed, and each node's memory can
//! be read on its own.

use std::time::Instant;

/// Clock ticks per second in /proc/PID/stat: USER_HZ, 100 on every Linux
/// this runs on (reading sysconf would need unsafe code for one constant).
const TICKS_PER_SECOND: f64 = 100.0;

/// The processes under test: one server, or a cluster's nodes in the order
/// of their addresses.
#[derive(Clone)]
pub(crate) struct Server {
    /// Their process ids, as `cargo xtask bench` started them.
    pids: Vec<u32>,
}

impl Server {
    /// The server (or nodes) with these process ids.
    pub(crate) fn new(pids: Vec<u32>) -> Self {
        Self { pids }
    }

    /// Resident memory in KiB (VmRSS) of all nodes together, or None if
    /// one is gone.
    pub(crate) fn rss_kib(&self) -> Option<u64> {
        Some(self.rss_kib_each()?.into_iter().sum())
    }

    /// Resident memory in KiB of each node, in order.
    pub(crate) fn rss_kib_each(&self) -> Option<Vec<u64>> {
        self.pids.iter().map(|pid| rss_kib_of(*pid)).collect()
    }

    /// User plus system CPU time so far of all nodes, in ticks.
    fn cpu_ticks(&self) -> Option<u64> {
        self.pids.iter().map(|pid| cpu_ticks_of(*pid)).sum()
    }

    /// Starts measuring the CPU the server uses from now on.
    pub(crate) fn cpu_meter(&self) -> CpuMeter {
        CpuMeter {
            server: self.clone(),
            ticks: self.cpu_ticks(),
            since: Instant::now(),
        }
    }
}

/// Resident memory of one process in KiB, or None if it is gone.
fn rss_kib_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User plus system CPU time of one process so far, in ticks.
fn cpu_ticks_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may hold spaces; the fields after its
    // closing parenthesis are fixed: utime and stime are the 12th and 13th
    // of them.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// CPU used by the server over a window, as a percentage of one core.
pub(crate) struct CpuMeter {
    /// Whose CPU time.
    server: Server,
    /// Its CPU time when the window opened.
    ticks: Option<u64>,
    /// When the window opened.
    since: Instant,
}

impl CpuMeter {
    /// The server's CPU use since the meter started, in % of one core
    /// (200 is both cores of this machine), all nodes together.
    pub(crate) fn percent(&self) -> Option<f64> {
        let used = self.seconds()?;
        let wall = self.since.elapsed().as_secs_f64();
        (wall > 0.0).then(|| used / wall * 100.0)
    }

    /// The server's CPU time since the meter started, in seconds (to the
    /// tick, 10 ms), all nodes together: what one load cost against
    /// another over windows of the same length.
    pub(crate) fn seconds(&self) -> Option<f64> {
        let used = self.server.cpu_ticks()?.checked_sub(self.ticks?)?;
        Some(used as f64 / TICKS_PER_SECOND)
    }
}
