//! The server's own cost, read from /proc: what a connection or a message
//! costs is only visible from outside the process.

use std::time::Instant;

/// Clock ticks per second in /proc/PID/stat: USER_HZ, 100 on every Linux
/// this runs on (reading sysconf would need unsafe code for one constant).
const TICKS_PER_SECOND: f64 = 100.0;

/// The process under test.
#[derive(Clone, Copy)]
pub struct Server {
    /// Its process id, as `cargo xtask bench` started it.
    pid: u32,
}

impl Server {
    /// The server with this process id.
    pub fn new(pid: u32) -> Self {
        Self { pid }
    }

    /// Resident memory in KiB (VmRSS), or None if the process is gone.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// User plus system CPU time so far, in ticks.
    fn cpu_ticks(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // The command name in parentheses may hold spaces; the fields
        // after its closing parenthesis are fixed: utime and stime are the
        // 12th and 13th of them.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let user: u64 = fields.get(11)?.parse().ok()?;
        let system: u64 = fields.get(12)?.parse().ok()?;
        Some(user + system)
    }

    /// Starts measuring the CPU the server uses from now on.
    pub fn cpu_meter(&self) -> CpuMeter {
        CpuMeter {
            server: *self,
            ticks: self.cpu_ticks(),
            since: Instant::now(),
        }
    }
}

/// CPU used by the server over a window, as a percentage of one core.
pub struct CpuMeter {
    /// Whose CPU time.
    server: Server,
    /// Its CPU time when the window opened.
    ticks: Option<u64>,
    /// When the window opened.
    since: Instant,
}

impl CpuMeter {
    /// The server's CPU use since the meter started, in % of one core
    /// (200 is both cores of this machine).
    pub fn percent(&self) -> Option<f64> {
        let used = self.server.cpu_ticks()?.checked_sub(self.ticks?)?;
        let wall = self.since.elapsed().as_secs_f64();
        (wall > 0.0).then(|| used as f64 / TICKS_PER_SECOND / wall * 100.0)
    }
}
