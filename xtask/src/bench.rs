//! `cargo xtask bench`: the load scenarios of issue 13 against the chat
//! server and the reference server (`benches/reference/`) in one go, one
//! fresh server per scenario, and one table of both, with ratios and
//! goals, printed and written into docs/benchmarks.md.
//!
//! `search` (issue 26) runs on its own history of a million messages,
//! built once and cached (`bench/search.rs`), into a table of its own.
//!
//! With `--cluster` it runs the cluster suite instead (`bench/cluster.rs`):
//! this build on SQLite (beside an earlier build given with `--baseline`),
//! on PostgreSQL, and as two nodes on PostgreSQL and Redis.
//!
//! Every server it starts is killed when its guard is dropped, on errors
//! and panics too; on Ctrl-C the servers, in the same process group, get
//! the signal as well.

mod cluster;
mod search;

use super::{cargo, run, step, target_dir, Result};
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The scenarios in the order they run (`--only` takes these names):
/// issue 13's, then issue 23's `activity`, issue 25's `uploads` and
/// issue 26's `search` (which has a table of its own, `bench/search.rs`).
const SCENARIOS: [&str; 8] = [
    "saturate", "fanout", "joins", "rooms", "flood", "activity", "uploads", "search",
];

/// Where the table goes in docs/benchmarks.md: everything between the two
/// markers is replaced on each run.
const BEGIN_MARKER: &str = "<!-- cargo xtask bench: begin -->";
const END_MARKER: &str = "<!-- cargo xtask bench: end -->";

/// How long a freshly started server may take to listen.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// What the command line asked for.
struct Options {
    /// The fraction of the load.
    scale: f64,
    /// The scenarios to run; all when empty.
    only: Vec<String>,
    /// Whether to rewrite docs/benchmarks.md (not for quick tries).
    write: bool,
    /// Run the cluster suite (`bench/cluster.rs`) instead of issue 13's.
    cluster: bool,
    /// A chat-server binary built from an earlier commit, measured beside
    /// this one in the cluster suite (the single-node before/after).
    baseline: Option<PathBuf>,
    /// The command as typed, for the record.
    command: String,
}

fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        scale: 1.0,
        only: Vec::new(),
        write: true,
        cluster: false,
        baseline: None,
        command: "cargo xtask bench".into(),
    };
    let mut args = args.iter().filter(|arg| *arg != "--");
    while let Some(arg) = args.next() {
        write!(options.command, " {arg}").map_err(|e| e.to_string())?;
        match arg.as_str() {
            "--scale" => {
                let value = args.next().ok_or("--scale needs a number")?;
                write!(options.command, " {value}").map_err(|e| e.to_string())?;
                options.scale = value
                    .parse()
                    .ok()
                    .filter(|scale: &f64| *scale > 0.0 && scale.is_finite())
                    .ok_or(format!("--scale {value}: not a positive number"))?;
            }
            "--only" => {
                let value = args.next().ok_or("--only needs scenario names")?;
                write!(options.command, " {value}").map_err(|e| e.to_string())?;
                for name in value.split(',') {
                    if !SCENARIOS.contains(&name) {
                        return Err(format!(
                            "--only {name}: no such scenario (there are {})",
                            SCENARIOS.join(", ")
                        ));
                    }
                    options.only.push(name.to_owned());
                }
            }
            "--no-write" => options.write = false,
            "--cluster" => options.cluster = true,
            "--baseline" => {
                let value = args.next().ok_or("--baseline needs a chat-server binary")?;
                write!(options.command, " {value}").map_err(|e| e.to_string())?;
                let path = PathBuf::from(value);
                if !path.is_file() {
                    return Err(format!("--baseline {value}: no such file"));
                }
                options.baseline = Some(path);
            }
            other => {
                return Err(format!(
                    "bench: unknown option {other}; usage: cargo xtask bench [-- --scale F] [--only {}] [--no-write] [--cluster [--baseline CHAT_SERVER]]",
                    SCENARIOS.join(",")
                ))
            }
        }
    }
    if options.baseline.is_some() && !options.cluster {
        return Err("--baseline is measured in the cluster suite: add --cluster".into());
    }
    // `--cluster --only search`: search on SQLite and on PostgreSQL.
    if options.cluster && !options.only.is_empty() && options.only != ["search"] {
        return Err(
            "--only names issue 13's scenarios; the cluster suite runs all of its own (but --cluster --only search measures search on PostgreSQL too)".into(),
        );
    }
    Ok(options)
}

/// The two servers measured side by side.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Chat,
    Reference,
}

/// What a goal compares the chat server's figure with.
#[derive(Clone, Copy)]
enum Goal {
    /// Only shown.
    None,
    /// At least this many times the reference's figure.
    RatioAtLeast(f64),
    /// No higher than the reference's figure.
    NotAboveReference,
    /// At most this absolute figure.
    AtMost(f64),
    /// At least this figure at full scale (scaled with the load).
    AtLeastScaled(f64),
}

/// One line of the table: a result key of one scenario.
struct Row {
    scenario: &'static str,
    key: &'static str,
    label: &'static str,
    goal: Goal,
}

/// The table, in order; keys are the ones loadgen prints.
const ROWS: &[Row] = &[
    Row {
        scenario: "saturate",
        key: "deliveries_per_s",
        label: "deliveries/s (200 clients, 20 senders)",
        goal: Goal::RatioAtLeast(1.0),
    },
    Row {
        scenario: "saturate",
        key: "cpu_percent",
        label: "server CPU, % of one core",
        goal: Goal::None,
    },
    Row {
        scenario: "fanout",
        key: "latency_p50_ms",
        label: "p50 ms (1,000 clients, 200 msg/s)",
        goal: Goal::None,
    },
    Row {
        scenario: "fanout",
        key: "latency_p99_ms",
        label: "p99 ms",
        goal: Goal::NotAboveReference,
    },
    Row {
        scenario: "fanout",
        key: "cpu_percent",
        label: "server CPU, % of one core",
        goal: Goal::None,
    },
    Row {
        scenario: "joins",
        key: "join_s",
        label: "s until 10,000 joined one room (200 in flight)",
        goal: Goal::AtMost(5.0),
    },
    Row {
        scenario: "joins",
        key: "joined",
        label: "clients joined",
        goal: Goal::AtLeastScaled(10_000.0),
    },
    Row {
        scenario: "joins",
        key: "idle_kib_per_connection",
        label: "KiB RSS per idle joined connection",
        goal: Goal::AtMost(8.0),
    },
    Row {
        scenario: "joins",
        key: "after_message_kib_per_connection",
        label: "KiB per connection after a 1 KiB message",
        goal: Goal::AtMost(16.0),
    },
    Row {
        scenario: "rooms",
        key: "held",
        label: "connections held over 50 rooms",
        goal: Goal::AtLeastScaled(50_000.0),
    },
    Row {
        scenario: "rooms",
        key: "join_s",
        label: "s until all joined",
        goal: Goal::None,
    },
    Row {
        scenario: "rooms",
        key: "latency_p99_ms",
        label: "p99 ms, 1 message/room/s",
        goal: Goal::AtMost(250.0),
    },
    Row {
        scenario: "flood",
        key: "alone_p99_ms",
        label: "others' p99 ms, normal clients alone",
        goal: Goal::None,
    },
    Row {
        scenario: "flood",
        key: "beside_p99_ms",
        label: "others' p99 ms beside flooder + non-reader",
        goal: Goal::None,
    },
    Row {
        scenario: "flood",
        key: "increase_ms",
        label: "p99 increase, ms",
        goal: Goal::AtMost(20.0),
    },
    Row {
        scenario: "activity",
        key: "elsewhere",
        label: "members of \"big\" sitting in \"lobby\" (of 10,000)",
        goal: Goal::None,
    },
    Row {
        scenario: "activity",
        key: "with_activity_per_s",
        label: "activity frames/s in all (50 msg/s in \"big\")",
        goal: Goal::None,
    },
    Row {
        scenario: "activity",
        key: "with_activity_per_member_per_s",
        label: "activity frames/s per member elsewhere (coalesced)",
        goal: Goal::AtMost(1.1),
    },
    Row {
        scenario: "activity",
        key: "with_cpu_percent",
        label: "server CPU, % of one core, with activity",
        goal: Goal::None,
    },
    Row {
        scenario: "activity",
        key: "without_cpu_percent",
        label: "server CPU, % of one core, without (after leave_room \"big\")",
        goal: Goal::None,
    },
    Row {
        scenario: "activity",
        key: "with_loadgen_cpu_percent",
        label: "load generator CPU, % of one core, with activity",
        goal: Goal::None,
    },
    Row {
        scenario: "activity",
        key: "without_loadgen_cpu_percent",
        label: "load generator CPU, % of one core, without",
        goal: Goal::None,
    },
    Row {
        scenario: "activity",
        key: "cpu_ratio",
        label: "server CPU time, with / without",
        goal: Goal::None,
    },
    Row {
        scenario: "activity",
        key: "activity_us_per_frame",
        label: "server CPU µs per activity frame",
        goal: Goal::None,
    },
    Row {
        scenario: "activity",
        key: "with_latency_p99_ms",
        label: "p99 ms of deliveries in \"big\", with activity",
        goal: Goal::None,
    },
    Row {
        scenario: "activity",
        key: "without_latency_p99_ms",
        label: "p99 ms of deliveries in \"big\", without",
        goal: Goal::None,
    },
    Row {
        scenario: "uploads",
        key: "chat_only_p50_ms",
        label: "p50 ms, chat alone (20 clients, 50 msg/s)",
        goal: Goal::None,
    },
    Row {
        scenario: "uploads",
        key: "chat_only_p99_ms",
        label: "p99 ms, chat alone",
        goal: Goal::None,
    },
    Row {
        scenario: "uploads",
        key: "uploading_p50_ms",
        label: "p50 ms, while 10 × 25 MB upload at once",
        goal: Goal::None,
    },
    Row {
        scenario: "uploads",
        key: "uploading_p99_ms",
        label: "p99 ms, while uploading",
        goal: Goal::None,
    },
    Row {
        scenario: "uploads",
        key: "p99_increase_ms",
        label: "p99 increase, ms",
        goal: Goal::AtMost(20.0),
    },
    Row {
        scenario: "uploads",
        key: "uploads_ok",
        label: "uploads stored (201), rounds of 10 at once",
        goal: Goal::None,
    },
    Row {
        scenario: "uploads",
        key: "uploads_failed",
        label: "uploads refused or cut off",
        goal: Goal::AtMost(0.0),
    },
    Row {
        scenario: "uploads",
        key: "uploads_mb_per_s",
        label: "upload throughput, MB/s in all",
        goal: Goal::None,
    },
    Row {
        scenario: "uploads",
        key: "rss_before_mb",
        label: "server RSS before the uploads, MB",
        goal: Goal::None,
    },
    Row {
        scenario: "uploads",
        key: "rss_growth_mb",
        label: "server RSS peak while uploading less before, MB",
        goal: Goal::AtMost(25.0),
    },
    Row {
        scenario: "uploads",
        key: "uploading_cpu_percent",
        label: "server CPU, % of one core, while uploading",
        goal: Goal::None,
    },
];

/// Why the reference server does not run `scenario`, as its table cell;
/// None when it does.
fn reference_not_run(scenario: &str) -> Option<&'static str> {
    match scenario {
        "rooms" => Some("n/a (one room)"),
        "activity" => Some("n/a (no held names)"),
        "uploads" => Some("n/a (no files)"),
        _ => None,
    }
}

/// The results and notes of one scenario on one server.
#[derive(Default)]
struct Outcome {
    results: Vec<(String, f64)>,
    notes: Vec<String>,
}

impl Outcome {
    fn get(&self, key: &str) -> Option<f64> {
        self.results.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// Runs `cargo xtask bench [-- OPTIONS]`.
pub(crate) fn bench(args: &[String]) -> Result {
    let options = parse_options(args)?;
    let root = super::workspace_root();
    step("building the chat server, the reference server and loadgen (release)");
    run(cargo(&root).args([
        "build",
        "--release",
        "--package",
        "chat-server",
        "--bin",
        "chat-server",
        "--example",
        "loadgen",
    ]))?;
    let release = target_dir(&root).join("release");
    if options.only == ["search"] {
        let scratch = Scratch::new()?;
        return search::bench(&root, &release, &scratch.path, &options);
    }
    if options.cluster {
        return cluster::bench(&root, &release, &options);
    }
    run(cargo(&root).args(["build", "--release", "--package", "chat-bench-reference"]))?;
    let scratch = Scratch::new()?;
    let started = Instant::now();
    let mut outcomes: Vec<(&str, Kind, Outcome)> = Vec::new();
    let chosen = |scenario: &str| {
        options.only.is_empty() || options.only.iter().any(|name| name == scenario)
    };
    for scenario in SCENARIOS {
        if !chosen(scenario) || scenario == "search" {
            continue;
        }
        for kind in [Kind::Chat, Kind::Reference] {
            // The reference has one room: 50 rooms would be one room of
            // 50,000 there, another load altogether. Nor has it held names,
            // which `activity` is about, nor files (`uploads`).
            if kind == Kind::Reference && reference_not_run(scenario).is_some() {
                continue;
            }
            step(&format!(
                "{scenario} against the {} server",
                kind_name(kind)
            ));
            let outcome = measure(&release, &scratch.path, scenario, kind, options.scale)
                .unwrap_or_else(|error| Outcome {
                    results: Vec::new(),
                    notes: vec![format!("{}: {error}", kind_name(kind))],
                });
            for (key, value) in &outcome.results {
                eprintln!("  {key} = {value:.3}");
            }
            for note in &outcome.notes {
                eprintln!("  note: {note}");
            }
            outcomes.push((scenario, kind, outcome));
        }
    }
    if !outcomes.is_empty() {
        let table = render(&options, &outcomes, started.elapsed());
        println!("\n{table}");
        if options.write {
            let docs = root.join("docs/benchmarks.md");
            write_section(&docs, BEGIN_MARKER, END_MARKER, &table)?;
            eprintln!("written into {}", docs.display());
        }
    }
    if chosen("search") {
        search::bench(&root, &release, &scratch.path, &options)?;
    }
    Ok(())
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Chat => "chat",
        Kind::Reference => "reference",
    }
}

/// Starts a fresh server of `kind`, runs loadgen's `scenario` on it and
/// stops the server again.
fn measure(
    release: &Path,
    scratch: &Path,
    scenario: &str,
    kind: Kind,
    scale: f64,
) -> Result<Outcome> {
    let mut server = Server::start(release, scratch, scenario, kind)?;
    let mut outcome = run_loadgen(
        release,
        scenario,
        &[server.addr],
        &[server.child.id()],
        scale,
        kind_name(kind),
    )?;
    if let (Some(alone), Some(beside)) = (outcome.get("alone_p99_ms"), outcome.get("beside_p99_ms"))
    {
        outcome.results.push(("increase_ms".into(), beside - alone));
    }
    if server.exited() {
        outcome.notes.push(format!(
            "{}: the server died during the run",
            kind_name(kind)
        ));
    }
    Ok(outcome)
}

/// Runs loadgen's `scenario` against the nodes at `addrs` (processes
/// `pids`) and gathers its `result` and `note` lines; `what` names the
/// server in notes.
fn run_loadgen(
    release: &Path,
    scenario: &str,
    addrs: &[SocketAddr],
    pids: &[u32],
    scale: f64,
    what: &str,
) -> Result<Outcome> {
    let join = |items: Vec<String>| items.join(",");
    let out = Command::new(release.join("examples/loadgen"))
        .arg(scenario)
        .arg("--addr")
        .arg(join(addrs.iter().map(ToString::to_string).collect()))
        .arg("--pid")
        .arg(join(pids.iter().map(ToString::to_string).collect()))
        .arg("--scale")
        .arg(scale.to_string())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot start loadgen: {error}"))?;
    let mut outcome = Outcome::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(rest) = line.strip_prefix("result ") {
            if let Some((key, value)) = rest.split_once(' ') {
                if let Ok(value) = value.parse() {
                    outcome.results.push((key.to_owned(), value));
                }
            }
        } else if let Some(note) = line.strip_prefix("note ") {
            outcome.notes.push(note.to_owned());
        }
    }
    if !out.status.success() {
        outcome
            .notes
            .push(format!("{what}: loadgen failed ({})", out.status));
    }
    Ok(outcome)
}

/// A temporary folder for databases and logs, removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new() -> Result<Self> {
        let path = std::env::temp_dir().join(format!("chat-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
        Ok(Self { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A running server, killed when dropped so no run leaves one behind.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts a server with the descriptor limit raised to the hard limit
    /// (through the shell: xtask has no crate for setrlimit), its output
    /// in a log file in `scratch`.
    fn start(release: &Path, scratch: &Path, scenario: &str, kind: Kind) -> Result<Self> {
        let addr = free_port()?;
        let log_path = scratch.join(format!("{}-{scenario}.log", kind_name(kind)));
        let mut command = match kind {
            Kind::Chat => {
                let mut command = chat_command(&release.join("chat-server"), addr, scratch);
                command
                    .arg("--db")
                    .arg(scratch.join(format!("chat-{scenario}.db")));
                // The flood scenario measures the rate limits at work.
                if scenario != "flood" {
                    lift_rate_limits(&mut command);
                }
                // Uploads go to a folder of their own, with the default
                // limits: 25 MiB a file, 500 MiB a name an hour.
                if scenario == "uploads" {
                    command
                        .arg("--files-dir")
                        .arg(scratch.join(format!("files-{scenario}")));
                }
                command
            }
            Kind::Reference => {
                let mut command = with_raised_limit(&release.join("reference-server"));
                command.arg(addr.to_string());
                command
            }
        };
        Self::launch(&mut command, addr, &log_path, kind_name(kind))
    }

    /// Spawns `command`, which makes a server listen on `addr`, with its
    /// output in `log_path`, and waits until it listens; `what` names it
    /// in errors.
    fn launch(
        command: &mut Command,
        addr: SocketAddr,
        log_path: &Path,
        what: &str,
    ) -> Result<Self> {
        let log = std::fs::File::create(log_path)
            .map_err(|error| format!("cannot create {}: {error}", log_path.display()))?;
        let log_err = log.try_clone().map_err(|error| error.to_string())?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|error| format!("cannot start the {what} server: {error}"))?;
        let mut server = Self { child, addr };
        let until = Instant::now() + STARTUP_TIMEOUT;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if server.exited() || Instant::now() > until {
                let log = std::fs::read_to_string(log_path).unwrap_or_default();
                return Err(format!("the {what} server did not start: {log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `program` run with the descriptor limit raised to the hard limit
/// (through the shell: xtask has no crate for setrlimit).
fn with_raised_limit(program: &Path) -> Command {
    let mut command = Command::new("sh");
    command
        .args(["-c", "ulimit -n \"$(ulimit -Hn)\"; exec \"$0\" \"$@\""])
        .arg(program);
    command
}

/// The chat server `binary` on `addr`, with connection limits lifted and
/// no browser app (`scratch` as its static folder); the caller says where
/// the history goes.
fn chat_command(binary: &Path, addr: SocketAddr, scratch: &Path) -> Command {
    let mut command = with_raised_limit(binary);
    command
        .arg("--addr")
        .arg(addr.to_string())
        .arg("--static-dir")
        .arg(scratch)
        .args([
            "--max-connections",
            "1000000",
            "--max-connections-per-ip",
            "1000000",
            // Handshakes under way count here until they are WebSockets.
            "--max-http-connections",
            "1000000",
        ])
        .args(["--join-timeout", "10m"]);
    command
}

/// Lifts the chat server's message rate limits, which would otherwise be
/// what the load measures.
fn lift_rate_limits(command: &mut Command) {
    command.args([
        "--message-rate",
        "1000000000",
        "--message-burst",
        "1000000000",
        "--abuse-limit",
        "1000000000",
    ]);
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| format!("no free port: {error}"))
}

/// What every table starts with: the command, the date, how long it
/// took, the machine, and the scale when it is not 1.
fn heading(options: &Options, took: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Command: `{}`; {}; took {:.0} s.",
        options.command,
        now_utc(),
        took.as_secs_f64()
    );
    let _ = writeln!(out, "Machine: {}.\n", machine());
    if options.scale != 1.0 {
        let _ = writeln!(
            out,
            "At scale {}: client counts and rates are that fraction of the ones named below.\n",
            options.scale
        );
    }
    out
}

/// The table in Markdown, with the command, date, machine and notes.
fn render(options: &Options, outcomes: &[(&str, Kind, Outcome)], took: Duration) -> String {
    let find = |scenario: &str, kind: Kind| {
        outcomes
            .iter()
            .find(|(s, k, _)| *s == scenario && *k == kind)
            .map(|(_, _, outcome)| outcome)
    };
    let mut out = heading(options, took);
    let _ = writeln!(
        out,
        "| scenario | metric | chat | reference | ratio | goal | met? |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for row in ROWS {
        let Some(chat_outcome) = find(row.scenario, Kind::Chat) else {
            continue;
        };
        let chat = chat_outcome.get(row.key);
        let reference = find(row.scenario, Kind::Reference).and_then(|o| o.get(row.key));
        let ratio = match (chat, reference) {
            (Some(c), Some(r)) if r != 0.0 => format!("{:.2}×", c / r),
            _ => "–".into(),
        };
        let (goal, met) = judge(row.goal, chat, reference, options.scale);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {ratio} | {goal} | {met} |",
            row.scenario,
            row.label,
            figure(chat),
            reference_not_run(row.scenario)
                .map(str::to_owned)
                .unwrap_or_else(|| figure(reference)),
        );
    }
    let notes: Vec<String> = outcomes
        .iter()
        .flat_map(|(scenario, kind, outcome)| {
            outcome.notes.iter().map(move |note| {
                let note = note.strip_prefix(&format!("{scenario}: ")).unwrap_or(note);
                format!("- {scenario}, {}: {note}", kind_name(*kind))
            })
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\nNotes from the run:\n\n{}", notes.join("\n"));
    }
    out
}

/// The goal as text, and whether the chat figure meets it.
fn judge(
    goal: Goal,
    chat: Option<f64>,
    reference: Option<f64>,
    scale: f64,
) -> (String, &'static str) {
    let verdict = |met: Option<bool>| match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "?",
    };
    match goal {
        Goal::None => (String::new(), ""),
        Goal::RatioAtLeast(ratio) => (
            format!("≥ {ratio:.1}× reference"),
            verdict(chat.zip(reference).map(|(c, r)| c >= ratio * r)),
        ),
        Goal::NotAboveReference => (
            "≤ reference".into(),
            verdict(chat.zip(reference).map(|(c, r)| c <= r)),
        ),
        Goal::AtMost(most) => (
            format!("≤ {}", figure(Some(most))),
            verdict(chat.map(|c| c <= most)),
        ),
        Goal::AtLeastScaled(least) => {
            let least = (least * scale).round();
            (
                format!("≥ {}", figure(Some(least))),
                verdict(chat.map(|c| c >= least)),
            )
        }
    }
}

/// A figure with as many digits as it deserves.
fn figure(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if v.abs() >= 1000.0 => {
            let whole = format!("{:.0}", v.abs());
            let mut grouped = String::new();
            for (n, digit) in whole.chars().enumerate() {
                if n > 0 && (whole.len() - n) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(digit);
            }
            if v < 0.0 {
                format!("-{grouped}")
            } else {
                grouped
            }
        }
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
    }
}

/// The date and time now, from `date` (xtask has no time crate).
fn now_utc() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// CPU model, cores, RAM, kernel and the load average at the end, so a
/// reader knows what the figures were measured on and beside.
fn machine() -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let meminfo = read("/proc/meminfo");
    let ram_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let kernel = read("/proc/sys/kernel/osrelease");
    let load = read("/proc/loadavg");
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{model}, {cores} cores, {ram_gib:.0} GiB RAM, Linux {}; load average at the end {}",
        kernel.trim(),
        load.join(" ")
    )
}

/// Replaces the text between the markers `begin` and `end` in `docs`, or
/// appends the section if the markers are missing.
fn write_section(docs: &Path, begin_marker: &str, end_marker: &str, table: &str) -> Result {
    let text = std::fs::read_to_string(docs)
        .map_err(|error| format!("cannot read {}: {error}", docs.display()))?;
    let section = format!("{begin_marker}\n{table}{end_marker}");
    let updated = match (text.find(begin_marker), text.find(end_marker)) {
        (Some(begin), Some(end)) if begin < end => {
            format!(
                "{}{section}{}",
                &text[..begin],
                &text[end + end_marker.len()..]
            )
        }
        _ => format!("{text}\n## Latest `cargo xtask bench`\n\n{section}\n"),
    };
    std::fs::write(docs, updated)
        .map_err(|error| format!("cannot write {}: {error}", docs.display()))
}
