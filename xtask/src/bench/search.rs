//! `cargo xtask bench -- --only search`: search at a million messages
//! (issue 26), on SQLite. The history is built once per scale and kept in
//! `target/bench-cache/`: loadgen's `search-corpus` writes it as an export
//! file, `chat-server import` restores it into an empty database (its
//! messages become the search backlog, as after an upgrade), and a server
//! started on it indexes them in the background; the time that takes is
//! the upgrade's indexing figure, kept beside the database for later runs.
//! Then loadgen's `search` scenario measures on that server.
//!
//! With `--cluster` (`cargo xtask bench -- --cluster --only search`) the
//! same history is measured on a throwaway PostgreSQL too: a server makes
//! the schema in a fresh database, loadgen's `search-corpus --postgres`
//! copies the rows in (COPY) and marks them as the backlog, and a server
//! started again indexes them, as on SQLite. That database is not kept.

use super::{
    chat_command, figure, free_port, heading, run_loadgen, step, write_section, Options, Outcome,
    Result, Server,
};
use chat_engines::Postgres;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Where the search table goes in docs/benchmarks.md.
const BEGIN_MARKER: &str = "<!-- cargo xtask bench search: begin -->";
const END_MARKER: &str = "<!-- cargo xtask bench search: end -->";

/// The log line the server writes when the backlog is indexed.
const INDEXED_LINE: &str = "search: every earlier message is indexed";
/// The longest the indexing may take before the run gives up.
const INDEXING_TIMEOUT: Duration = Duration::from_secs(3 * 3600);

/// The goal of issue 26 for a search's answer.
const P99_GOAL_MS: f64 = 100.0;

/// One line of the table: a result key, its label, and whether the goal
/// applies.
struct Row {
    key: &'static str,
    label: &'static str,
    goal: bool,
}

const ROWS: &[Row] = &[
    Row {
        key: "messages",
        label: "messages in the history (20 rooms, 200 authors)",
        goal: false,
    },
    Row {
        key: "db_mb",
        label: "database size, MB (SQLite: the file; PostgreSQL: the data folder)",
        goal: false,
    },
    Row {
        key: "corpus_s",
        label: "s to write the export file (loadgen search-corpus)",
        goal: false,
    },
    Row {
        key: "import_s",
        label: "s to import it (chat-server import)",
        goal: false,
    },
    Row {
        key: "load_s",
        label: "s to copy it into PostgreSQL (search-corpus --postgres, COPY)",
        goal: false,
    },
    Row {
        key: "index_s",
        label: "s to index it in the background (the upgrade's backlog)",
        goal: false,
    },
    Row {
        key: "rare_found",
        label: "rare-word hits found (of rare_planted)",
        goal: false,
    },
    Row {
        key: "rare_planted",
        label: "rare-word messages planted",
        goal: false,
    },
    Row {
        key: "phrase_found",
        label: "phrase hits found (of 20 planted)",
        goal: false,
    },
    Row {
        key: "clients",
        label: "searching clients, one search a second each",
        goal: false,
    },
    Row {
        key: "searches_per_s",
        label: "searches/s answered",
        goal: false,
    },
    Row {
        key: "rate_limited",
        label: "searches answered rate_limited (asked again)",
        goal: false,
    },
    Row {
        key: "search_p50_ms",
        label: "p50 ms, all searches",
        goal: false,
    },
    Row {
        key: "search_p99_ms",
        label: "p99 ms, all searches",
        goal: true,
    },
    Row {
        key: "search_samples",
        label: "searches measured",
        goal: false,
    },
    Row {
        key: "common_p99_ms",
        label: "p99 ms, common words (\"deploy\", \"the\", …)",
        goal: false,
    },
    Row {
        key: "rare_p99_ms",
        label: "p99 ms, rare words",
        goal: false,
    },
    Row {
        key: "phrase_p99_ms",
        label: "p99 ms, phrases",
        goal: false,
    },
    Row {
        key: "filter_p99_ms",
        label: "p99 ms, filters (from:, in:, room, has:file, after:, before:)",
        goal: false,
    },
    Row {
        key: "best_p99_ms",
        label: "p99 ms, order best",
        goal: false,
    },
    Row {
        key: "page2_p99_ms",
        label: "p99 ms, second pages",
        goal: false,
    },
];

/// Builds (or finds) the history at `options.scale`, measures search on
/// it (on PostgreSQL too with `--cluster`) and writes the table.
pub(super) fn bench(root: &Path, release: &Path, scratch: &Path, options: &Options) -> Result {
    let started = Instant::now();
    let mut sqlite = Outcome::default();
    if let Err(error) = measure(root, release, scratch, options.scale, &mut sqlite) {
        sqlite.notes.push(error);
    }
    show(&sqlite);
    let mut outcomes = vec![("SQLite", sqlite)];
    if options.cluster {
        let mut postgres = Outcome::default();
        if let Err(error) = measure_postgres(release, scratch, options.scale, &mut postgres) {
            postgres.notes.push(error);
        }
        show(&postgres);
        outcomes.push(("PostgreSQL", postgres));
    }
    let table = render(options, &outcomes, started.elapsed());
    println!("\n{table}");
    if options.write {
        let docs = root.join("docs/benchmarks.md");
        write_section(&docs, BEGIN_MARKER, END_MARKER, &table)?;
        eprintln!("written into {}", docs.display());
    }
    Ok(())
}

/// Prints one setup's results as they come.
fn show(outcome: &Outcome) {
    for (key, value) in &outcome.results {
        eprintln!("  {key} = {value:.3}");
    }
    for note in &outcome.notes {
        eprintln!("  note: {note}");
    }
}

/// The cached database of a scale and the file that says it is indexed
/// (with how long building it took); `seconds` is that file's text.
struct Cache {
    db: PathBuf,
    done: PathBuf,
}

impl Cache {
    fn new(root: &Path, scale: f64) -> Result<Self> {
        let dir = super::target_dir(root).join("bench-cache");
        std::fs::create_dir_all(&dir)
            .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
        let name = format!("search-{}", scale.to_string().replace('.', "_"));
        Ok(Self {
            db: dir.join(format!("{name}.db")),
            done: dir.join(format!("{name}.indexed")),
        })
    }

    /// The database and its WAL and shared-memory files.
    fn files(&self) -> Vec<PathBuf> {
        ["", "-wal", "-shm"]
            .iter()
            .map(|end| PathBuf::from(format!("{}{end}", self.db.display())))
            .collect()
    }

    /// The figures kept when the database was built, if it was finished.
    fn built(&self) -> Option<Vec<(String, f64)>> {
        let text = std::fs::read_to_string(&self.done).ok()?;
        Some(
            text.lines()
                .filter_map(|line| line.split_once(' '))
                .filter_map(|(key, value)| Some((key.to_owned(), value.parse().ok()?)))
                .collect(),
        )
    }

    fn size_mb(&self) -> f64 {
        self.files()
            .iter()
            .filter_map(|file| std::fs::metadata(file).ok())
            .map(|meta| meta.len() as f64 / 1e6)
            .sum()
    }
}

/// Runs the whole measurement into `outcome`.
fn measure(
    root: &Path,
    release: &Path,
    scratch: &Path,
    scale: f64,
    outcome: &mut Outcome,
) -> Result {
    let cache = Cache::new(root, scale)?;
    let built = cache.built();
    let mut building = Vec::new();
    if built.is_none() {
        // A database without its `.indexed` file was left half-built.
        for file in cache.files() {
            let _ = std::fs::remove_file(file);
        }
        building = import(release, scratch, scale, &cache.db)?;
    } else {
        step(&format!(
            "search: reusing {} (built and indexed on an earlier run)",
            cache.db.display()
        ));
        outcome.notes.push(format!(
            "the history was built and indexed on an earlier run into {}; its build figures are from then",
            cache.db.display()
        ));
    }
    let addr = free_port()?;
    let log = scratch.join("chat-search.log");
    let mut command = chat_command(&release.join("chat-server"), addr, scratch);
    command.arg("--db").arg(&cache.db);
    let mut server = Server::launch(&mut command, addr, &log, "chat")?;
    if built.is_none() {
        step("search: the server indexes the imported history in the background");
        let seconds = wait_indexed(&mut server, &log)?;
        building.push(("index_s".into(), seconds));
        let text: String = building
            .iter()
            .map(|(key, value)| format!("{key} {value:.3}\n"))
            .collect();
        std::fs::write(&cache.done, text)
            .map_err(|error| format!("cannot write {}: {error}", cache.done.display()))?;
    }
    outcome
        .results
        .extend(built.unwrap_or_default().into_iter().chain(building));
    outcome.results.push(("db_mb".into(), cache.size_mb()));
    search_on(release, &mut server, scale, outcome)
}

/// Writes the export at `scale` and imports it into `db`: how long each
/// took.
fn import(release: &Path, scratch: &Path, scale: f64, db: &Path) -> Result<Vec<(String, f64)>> {
    let export = scratch.join("search-corpus.json");
    step("search: writing the history as an export file (loadgen search-corpus)");
    let started = Instant::now();
    super::run(
        Command::new(release.join("examples/loadgen"))
            .arg("search-corpus")
            .arg("--scale")
            .arg(scale.to_string())
            .arg("--out")
            .arg(&export),
    )?;
    let corpus_s = started.elapsed().as_secs_f64();
    step(&format!("search: chat-server import into {}", db.display()));
    let started = Instant::now();
    let imported = super::run(
        Command::new(release.join("chat-server"))
            .arg("--db")
            .arg(db)
            .arg("import")
            .arg(&export),
    );
    let import_s = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&export);
    imported?;
    Ok(vec![
        ("corpus_s".into(), corpus_s),
        ("import_s".into(), import_s),
    ])
}

/// The same on a throwaway PostgreSQL: schema by a server, rows by
/// loadgen (COPY), the backlog indexed by a server started again.
fn measure_postgres(release: &Path, scratch: &Path, scale: f64, outcome: &mut Outcome) -> Result {
    step("search on PostgreSQL: starting a throwaway PostgreSQL");
    let postgres = Postgres::start()?;
    let database = postgres.create_database()?;
    let start_server = |log: &str| {
        let addr = free_port()?;
        let mut command = chat_command(&release.join("chat-server"), addr, scratch);
        command.arg("--database").arg(&database);
        Server::launch(&mut command, addr, &scratch.join(log), "chat on PostgreSQL")
    };
    // This server makes the schema (loadgen waits for it) and stays idle
    // while the rows go in: its backlog task found nothing to do.
    let schema_maker = start_server("search-pg-schema.log")?;
    step("search on PostgreSQL: copying the history in (loadgen search-corpus --postgres)");
    let started = Instant::now();
    super::run(
        Command::new(release.join("examples/loadgen"))
            .arg("search-corpus")
            .arg("--scale")
            .arg(scale.to_string())
            .arg("--postgres")
            .arg(&database),
    )?;
    outcome
        .results
        .push(("load_s".into(), started.elapsed().as_secs_f64()));
    drop(schema_maker);
    let log = scratch.join("search-pg.log");
    let mut server = start_server("search-pg.log")?;
    step("search on PostgreSQL: the server indexes the history in the background");
    let seconds = wait_indexed(&mut server, &log)?;
    outcome.results.push(("index_s".into(), seconds));
    outcome
        .results
        .push(("db_mb".into(), folder_mb(postgres.dir())));
    search_on(release, &mut server, scale, outcome)
}

/// Runs loadgen's `search` on `server` into `outcome`.
fn search_on(release: &Path, server: &mut Server, scale: f64, outcome: &mut Outcome) -> Result {
    step("search: measuring");
    let measured = run_loadgen(
        release,
        "search",
        &[server.addr],
        &[server.child.id()],
        scale,
        "chat",
    )?;
    outcome.results.extend(measured.results);
    outcome.notes.extend(measured.notes);
    if server.exited() {
        outcome
            .notes
            .push("chat: the server died during the run".into());
    }
    Ok(())
}

/// The size of everything under `dir`, in MB.
fn folder_mb(dir: &Path) -> f64 {
    let mut bytes = 0;
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => folders.push(entry.path()),
                Ok(meta) => bytes += meta.len(),
                Err(_) => {}
            }
        }
    }
    bytes as f64 / 1e6
}

/// Waits until the server's log says the backlog is indexed, showing its
/// progress lines: the seconds since the server started.
fn wait_indexed(server: &mut Server, log: &Path) -> Result<f64> {
    let started = Instant::now();
    let mut shown = 0;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let progress: Vec<&str> = text
            .lines()
            .filter(|line| line.contains("search: indexing earlier messages"))
            .collect();
        if let Some(line) = progress.get(shown..).and_then(<[&str]>::last) {
            eprintln!("  {}", line.rsplit("search: ").next().unwrap_or(line));
            shown = progress.len();
        }
        if text.contains(INDEXED_LINE) {
            return Ok(started.elapsed().as_secs_f64());
        }
        if server.exited() {
            return Err(format!("the server stopped while indexing: {text}"));
        }
        if started.elapsed() > INDEXING_TIMEOUT {
            return Err(format!("not indexed after {INDEXING_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The table in Markdown, a column per setup, with the command, date,
/// machine and notes.
fn render(options: &Options, outcomes: &[(&str, Outcome)], took: Duration) -> String {
    let mut out = heading(options, took);
    let names: Vec<&str> = outcomes.iter().map(|(name, _)| *name).collect();
    let _ = writeln!(out, "| metric | {} | goal | met? |", names.join(" | "));
    let _ = writeln!(out, "|---|{}---|---|", "---|".repeat(names.len()));
    for row in ROWS {
        let values: Vec<Option<f64>> = outcomes.iter().map(|(_, o)| o.get(row.key)).collect();
        if values.iter().all(Option::is_none) {
            continue;
        }
        let (goal, met) = if row.goal {
            let met = if values.iter().any(Option::is_none) {
                "?"
            } else if values.iter().flatten().all(|v| *v <= P99_GOAL_MS) {
                "yes"
            } else {
                "**no**"
            };
            (format!("≤ {P99_GOAL_MS:.0}"), met)
        } else {
            (String::new(), "")
        };
        let cells: Vec<String> = values.into_iter().map(figure).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {goal} | {met} |",
            row.label,
            cells.join(" | ")
        );
    }
    let notes: Vec<String> = outcomes
        .iter()
        .flat_map(|(name, outcome)| {
            outcome.notes.iter().map(move |note| {
                format!(
                    "- {name}: {}",
                    note.strip_prefix("search: ").unwrap_or(note)
                )
            })
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\nNotes from the run:\n\n{}", notes.join("\n"));
    }
    out
}
