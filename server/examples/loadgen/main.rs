//! The project's load generator: drives a running chat server (or the
//! reference server in `benches/reference/`, which speaks enough of the
//! same protocol) through one of the scenarios of issue 13 (and issue 23's
//! `activity`, issue 25's `uploads`, issue 26's `search`) and prints what it measured, one `result KEY VALUE` or
//! `note TEXT` line each, for
//! `cargo xtask bench` to gather into docs/benchmarks.md.
//!
//! ```text
//! target/release/chat-server --addr 127.0.0.1:9201 --db :memory: --message-rate 1e9 --message-burst 1000000000 & SERVER=$!
//! target/release/examples/loadgen saturate --addr 127.0.0.1:9201 --pid $SERVER --scale 0.1
//! # a cluster: clients spread over the nodes, their RSS and CPU summed
//! target/release/examples/loadgen fanout --addr 127.0.0.1:9201,127.0.0.1:9202 --pid $NODE1,$NODE2
//! # search: the history to import first, then the load on a server over it
//! target/release/examples/loadgen search-corpus --scale 0.01 --out /tmp/corpus.json
//! target/release/chat-server --db /tmp/search.db import /tmp/corpus.json
//! target/release/examples/loadgen search --addr 127.0.0.1:9201 --scale 0.01
//! ```
//!
//! Layout:
//! - `client.rs`: connecting (each socket from its own 127.x.y.z), joining,
//!   and the reader task every joined client runs;
//! - `latency.rs`: timestamps carried in message texts, and the shared
//!   histogram the readers record into;
//! - `server_stats.rs`: the server's RSS and CPU time from /proc;
//! - `corpus.rs`: the made-up history the `search` scenario searches;
//! - `scenarios/`: one file per load, each printing its own results.

mod client;
mod corpus;
mod latency;
mod scenarios;
mod server_stats;

use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::process::ExitCode;

/// What to run against which server.
#[derive(Parser)]
#[command(about = "Load scenarios for the chat server and the reference server")]
struct Options {
    /// The load to apply.
    scenario: Scenario,
    /// The server under test; several (repeated or comma-separated) for the
    /// nodes of a cluster, which clients are spread over round-robin.
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1:8765")]
    addr: Vec<SocketAddr>,
    /// The server's process id (one per node, in the order of `--addr`):
    /// memory and CPU time are read from /proc and summed. Without it those
    /// figures are left out.
    #[arg(long, value_delimiter = ',')]
    pid: Vec<u32>,
    /// Multiplies client counts and message rates, and shortens the
    /// measuring windows, for quick tries (1.0 is the issue's load).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Where `search-corpus` writes its export file.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Or the PostgreSQL database `search-corpus` copies the history
    /// into: one a server has created and that holds nothing yet.
    #[arg(long)]
    postgres: Option<String>,
}

/// The loads of issue 13 (and `activity`, issue 23; `uploads`, issue 25;
/// `search`, issue 26), named as `cargo xtask bench --only` takes them.
#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    /// 200 clients, 20 senders as fast as their echoes return: deliveries/s.
    Saturate,
    /// 1,000 clients, 200 messages/s: latency.
    Fanout,
    /// 10,000 clients join one room, 200 in flight; then their idle memory.
    Joins,
    /// 50,000 connections over 50 rooms, one message per room per second.
    Rooms,
    /// A flooder and a non-reader beside normal clients: the others' p99.
    Flood,
    /// 2,000 clients join one room and stay idle: memory per connection,
    /// on each node of a cluster.
    Idle,
    /// 10,000 members of one room, all but 20 of them elsewhere, 50
    /// messages/s in it: the `activity` frames they hear and their server
    /// CPU, against the same load without them (issue 23).
    Activity,
    /// 20 clients chatting at 50 messages/s: their p99 alone, then while
    /// ten 25 MB files are uploaded at once, and the server's RSS peak
    /// meanwhile (issue 25).
    Uploads,
    /// 20 clients searching a million messages once a second each, over a
    /// mix of common and rare words, phrases, filters, both orders and
    /// second pages: p50 and p99 (issue 26). The server must hold the
    /// history `search-corpus` makes at the same scale.
    Search,
    /// Not a load: writes the history the `search` scenario searches, as
    /// an export file for `chat-server import`, to `--out`.
    SearchCorpus,
}

/// Where results go: stdout, one per line, so that xtask can parse them
/// and a person can read them.
pub struct Report;

impl Report {
    /// One measured figure under a stable key.
    pub fn result(&self, key: &str, value: f64) {
        println!("result {key} {value:.3}");
    }

    /// Something the figures alone do not say (a limit reached, a client
    /// the server closed).
    pub fn note(&self, text: &str) {
        println!("note {text}");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    let report = Report;
    if let Scenario::SearchCorpus = options.scenario {
        let (scale, out, postgres) = (options.scale, options.out, options.postgres);
        // Off the runtime: the PostgreSQL client blocks.
        let written = std::thread::spawn(move || write_corpus(scale, out, postgres))
            .join()
            .unwrap_or_else(|_| Err("search-corpus panicked".into()));
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("loadgen: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let limit = client::raise_descriptor_limit();
    let run = scenarios::Run {
        target: client::Target::new(&options.addr),
        server: (!options.pid.is_empty()).then(|| server_stats::Server::new(options.pid)),
        scale: options.scale,
        descriptors: limit,
    };
    let outcome = match options.scenario {
        Scenario::Saturate => scenarios::saturate::run(&run, &report).await,
        Scenario::Fanout => scenarios::fanout::run(&run, &report).await,
        Scenario::Joins => scenarios::joins::run(&run, &report).await,
        Scenario::Rooms => scenarios::rooms::run(&run, &report).await,
        Scenario::Flood => scenarios::flood::run(&run, &report).await,
        Scenario::Idle => scenarios::idle::run(&run, &report).await,
        Scenario::Activity => scenarios::activity::run(&run, &report).await,
        Scenario::Uploads => scenarios::uploads::run(&run, &report).await,
        Scenario::Search => scenarios::search::run(&run, &report).await,
        Scenario::SearchCorpus => Ok(()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("loadgen: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the `search` scenario's history at `scale` to `out`, as an
/// export file, or copies it into the PostgreSQL database `postgres`.
fn write_corpus(
    scale: f64,
    out: Option<std::path::PathBuf>,
    postgres: Option<String>,
) -> Result<(), String> {
    let export = corpus::export(corpus::messages_at(scale));
    match (out, postgres) {
        (Some(out), None) => {
            let file = std::fs::File::create(&out)
                .map_err(|error| format!("cannot create {}: {error}", out.display()))?;
            let mut writer = std::io::BufWriter::new(file);
            serde_json::to_writer(&mut writer, &export)
                .map_err(|error| format!("cannot write {}: {error}", out.display()))?;
            std::io::Write::flush(&mut writer)
                .map_err(|error| format!("cannot write {}: {error}", out.display()))
        }
        (None, Some(url)) => {
            let count = corpus::load_postgres(&export, &url)?;
            eprintln!("copied {count} messages into PostgreSQL");
            Ok(())
        }
        _ => Err("search-corpus needs either --out FILE or --postgres URL".into()),
    }
}
