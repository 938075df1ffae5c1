//! `cargo xtask bench -- --cluster`: what the cluster issue asks to
//! measure, in one run so the setups share the machine's state: this build
//! on SQLite (beside an earlier build given with `--baseline`, the
//! before/after of the single node), one node on PostgreSQL, and two nodes
//! on one PostgreSQL and one Redis, each through loadgen's `saturate`,
//! `fanout` and `idle`. PostgreSQL and Redis are throwaway instances
//! (chat-engines), one of each for the whole run, with a fresh database
//! and a fresh Redis prefix for every measurement; every server is fresh.

use super::{
    chat_command, figure, free_port, heading, lift_rate_limits, run_loadgen, step, write_section,
    Options, Outcome, Result, Scratch, Server,
};
use chat_engines::{Postgres, Redis};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// Where the cluster table goes in docs/benchmarks.md.
const BEGIN_MARKER: &str = "<!-- cargo xtask bench --cluster: begin -->";
const END_MARKER: &str = "<!-- cargo xtask bench --cluster: end -->";

/// loadgen's scenarios, in the order they run.
const SCENARIOS: [&str; 3] = ["saturate", "fanout", "idle"];

/// The setups measured side by side, in the table's column order.
#[derive(Clone, Copy, PartialEq)]
enum Setup {
    /// The `--baseline` binary, one node on SQLite.
    Before,
    /// This build, one node on SQLite.
    Sqlite,
    /// This build, one node on PostgreSQL (no Redis).
    Postgres,
    /// This build, two nodes on one PostgreSQL and one Redis.
    Cluster,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::Before => "SQLite, before",
            Setup::Sqlite => "SQLite, after",
            Setup::Postgres => "PostgreSQL, 1 node",
            Setup::Cluster => "cluster, 2 nodes",
        }
    }
}

/// One line of the table: a result key of one scenario.
struct Row {
    scenario: &'static str,
    key: &'static str,
    label: &'static str,
}

const ROWS: &[Row] = &[
    Row {
        scenario: "saturate",
        key: "messages_per_s",
        label: "messages/s committed (200 clients, 20 senders)",
    },
    Row {
        scenario: "saturate",
        key: "deliveries_per_s",
        label: "deliveries/s",
    },
    Row {
        scenario: "saturate",
        key: "cpu_percent",
        label: "server CPU, % of one core (cluster: both nodes)",
    },
    Row {
        scenario: "fanout",
        key: "latency_p50_ms",
        label: "p50 ms, a message to each of 1,000 clients (200 msg/s)",
    },
    Row {
        scenario: "fanout",
        key: "latency_p99_ms",
        label: "p99 ms",
    },
    Row {
        scenario: "fanout",
        key: "cpu_percent",
        label: "server CPU, % of one core (cluster: both nodes)",
    },
    Row {
        scenario: "idle",
        key: "join_s",
        label: "s until 2,000 clients joined one room",
    },
    Row {
        scenario: "idle",
        key: "idle_kib_per_connection",
        label: "KiB RSS per idle joined connection (cluster: both nodes' growth over all clients)",
    },
    Row {
        scenario: "idle",
        key: "node1_idle_kib_per_connection",
        label: "KiB per connection on node 1 (its own clients)",
    },
    Row {
        scenario: "idle",
        key: "node2_idle_kib_per_connection",
        label: "KiB per connection on node 2 (its own clients)",
    },
];

/// The engines of one run and a counter for fresh Redis prefixes.
struct Engines {
    postgres: Postgres,
    redis: Redis,
    measurements: usize,
}

/// Runs the cluster suite; the release binaries are already built.
pub(super) fn bench(root: &Path, release: &Path, options: &Options) -> Result {
    crate::ensure_engines()?;
    step("starting a throwaway PostgreSQL and Redis");
    let mut engines = Engines {
        postgres: Postgres::start()?,
        redis: Redis::start()?,
        measurements: 0,
    };
    let scratch = Scratch::new()?;
    let mut setups = Vec::new();
    if options.baseline.is_some() {
        setups.push(Setup::Before);
    }
    setups.extend([Setup::Sqlite, Setup::Postgres, Setup::Cluster]);
    let started = Instant::now();
    let mut outcomes: Vec<(&str, Setup, Outcome)> = Vec::new();
    for scenario in SCENARIOS {
        for &setup in &setups {
            step(&format!("{scenario} on {}", setup.name()));
            let outcome = measure(
                release,
                &scratch.path,
                &mut engines,
                options,
                scenario,
                setup,
            )
            .unwrap_or_else(|error| Outcome {
                results: Vec::new(),
                notes: vec![error],
            });
            for (key, value) in &outcome.results {
                eprintln!("  {key} = {value:.3}");
            }
            for note in &outcome.notes {
                eprintln!("  note: {note}");
            }
            outcomes.push((scenario, setup, outcome));
        }
    }
    let table = render(options, &setups, &outcomes, started.elapsed());
    println!("\n{table}");
    if options.write {
        let docs = root.join("docs/benchmarks.md");
        write_section(&docs, BEGIN_MARKER, END_MARKER, &table)?;
        eprintln!("written into {}", docs.display());
    }
    Ok(())
}

/// Starts `setup`'s servers fresh, runs loadgen's `scenario` on them and
/// stops them again.
fn measure(
    release: &Path,
    scratch: &Path,
    engines: &mut Engines,
    options: &Options,
    scenario: &str,
    setup: Setup,
) -> Result<Outcome> {
    engines.measurements += 1;
    let tag = format!("{scenario}-{}", engines.measurements);
    let this_build = release.join("chat-server");
    let mut nodes = Vec::new();
    match setup {
        Setup::Before | Setup::Sqlite => {
            let binary = match (setup, &options.baseline) {
                (Setup::Before, Some(baseline)) => baseline.as_path(),
                _ => this_build.as_path(),
            };
            let addr = free_port()?;
            let mut command = chat_command(binary, addr, scratch);
            command.arg("--db").arg(scratch.join(format!("{tag}.db")));
            lift_rate_limits(&mut command);
            let log = scratch.join(format!("{tag}.log"));
            nodes.push(Server::launch(&mut command, addr, &log, setup.name())?);
        }
        Setup::Postgres | Setup::Cluster => {
            let database = engines.postgres.create_database()?;
            let count = if setup == Setup::Cluster { 2 } else { 1 };
            for node in 1..=count {
                let addr = free_port()?;
                let mut command = chat_command(&this_build, addr, scratch);
                command.arg("--database").arg(&database);
                if setup == Setup::Cluster {
                    command
                        .arg("--redis")
                        .arg(engines.redis.url())
                        .arg("--redis-prefix")
                        .arg(format!("bench-{tag}:"));
                }
                lift_rate_limits(&mut command);
                let log = scratch.join(format!("{tag}-node{node}.log"));
                let what = format!("{} (node {node})", setup.name());
                nodes.push(Server::launch(&mut command, addr, &log, &what)?);
            }
        }
    }
    // A node that just listens may still be registering with the others.
    if nodes.len() > 1 {
        std::thread::sleep(Duration::from_secs(1));
    }
    let addrs: Vec<_> = nodes.iter().map(|node| node.addr).collect();
    let pids: Vec<_> = nodes.iter().map(|node| node.child.id()).collect();
    let mut outcome = run_loadgen(
        release,
        scenario,
        &addrs,
        &pids,
        options.scale,
        setup.name(),
    )?;
    for (n, node) in nodes.iter_mut().enumerate() {
        if node.exited() {
            outcome.notes.push(format!(
                "{}: node {} died during the run",
                setup.name(),
                n + 1
            ));
        }
    }
    Ok(outcome)
}

/// The table in Markdown, with the command, date, machine and notes.
fn render(
    options: &Options,
    setups: &[Setup],
    outcomes: &[(&str, Setup, Outcome)],
    took: Duration,
) -> String {
    let value = |scenario: &str, setup: Setup, key: &str| {
        outcomes
            .iter()
            .find(|(s, k, _)| *s == scenario && *k == setup)
            .and_then(|(_, _, outcome)| outcome.get(key))
    };
    let mut out = heading(options, took);
    let before = setups.contains(&Setup::Before);
    let mut header = String::from("| scenario | metric |");
    for setup in setups {
        let _ = write!(header, " {} |", setup.name());
        if *setup == Setup::Sqlite && before {
            header.push_str(" after / before |");
        }
    }
    let _ = writeln!(out, "{header}");
    let columns = setups.len() + 2 + usize::from(before);
    let _ = writeln!(out, "{}|", "|---".repeat(columns));
    for row in ROWS {
        let mut line = format!("| {} | {} |", row.scenario, row.label);
        let mut any = false;
        for &setup in setups {
            let figure_here = value(row.scenario, setup, row.key);
            any |= figure_here.is_some();
            let _ = write!(line, " {} |", figure(figure_here));
            if setup == Setup::Sqlite && before {
                let ratio = match (figure_here, value(row.scenario, Setup::Before, row.key)) {
                    (Some(after), Some(before)) if before != 0.0 => {
                        format!("{:.2}×", after / before)
                    }
                    _ => "–".into(),
                };
                let _ = write!(line, " {ratio} |");
            }
        }
        if any {
            let _ = writeln!(out, "{line}");
        }
    }
    let notes: Vec<String> = outcomes
        .iter()
        .flat_map(|(scenario, setup, outcome)| {
            outcome.notes.iter().map(move |note| {
                let note = note.strip_prefix(&format!("{scenario}: ")).unwrap_or(note);
                format!("- {scenario}, {}: {note}", setup.name())
            })
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\nNotes from the run:\n\n{}", notes.join("\n"));
    }
    out
}
