//! `chat-server`: parse the options, bind, and run until SIGINT or SIGTERM;
//! or, with a subcommand, back up, export or import the history, or rotate
//! the invitation code.

use chat_server::archive::{self, ExportFormat};
use chat_server::config::LogFormat;
use chat_server::Config;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::filter::{filter_fn, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The server's settings, and what to do instead of serving.
#[derive(Debug, Parser)]
#[command(name = "chat-server", version, about = "WebSocket Chat server")]
struct Cli {
    #[command(flatten)]
    config: Config,
    /// Without one, the server runs.
    #[command(subcommand)]
    command: Option<Task>,
}

/// The operator's tasks on the database (`--db` or `--database`), safe
/// beside a running server. Backup, export and import need an SQLite file.
#[derive(Debug, Subcommand)]
enum Task {
    /// Write a consistent copy of the database to PATH (a new file), while
    /// the server keeps running.
    Backup { path: PathBuf },
    /// Write a room's whole history (every room's without --room) to stdout.
    Export {
        /// The room to export.
        #[arg(long)]
        room: Option<String>,
        /// `json` to import again later, `html` to read.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Export direct-message rooms too (left out by default: they are
        /// their members' private talk). `backup` always keeps them.
        #[arg(long)]
        include_dms: bool,
    },
    /// Restore a JSON export into an empty database.
    Import { path: PathBuf },
    /// Make the chat invite-only with a new random code (the old one stops
    /// working at once; people already inside stay) and print the
    /// invitation path `/#/join/<code>`.
    RotateJoinCode {
        /// Make the chat open to everyone again instead.
        #[arg(long)]
        off: bool,
    },
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let Cli {
        mut config,
        command,
    } = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    config.choose_app_source(&matches);
    init_logging(config.log_format);
    let Some(task) = command else {
        return serve(config);
    };
    match run_task(&config, task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chat-server: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run_task(config: &Config, task: Task) -> Result<(), String> {
    let database = config.database();
    match task {
        Task::Backup { path } => {
            let db = archive::sqlite_file(&database, "backup")?;
            archive::backup(db, &path)?;
            eprintln!("backed up {} to {}", db.display(), path.display());
        }
        Task::Export {
            room,
            format,
            include_dms,
        } => {
            let db = archive::sqlite_file(&database, "export")?;
            let export = archive::read_export(db, room.as_deref(), include_dms)?;
            let text = archive::render(&export, format)?;
            std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .map_err(|error| format!("cannot write the export: {error}"))?;
        }
        Task::Import { path } => {
            let db = archive::sqlite_file(&database, "import")?;
            let text = std::fs::read_to_string(&path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
            let count = archive::import(db, &text)?;
            eprintln!("imported {count} messages into {}", db.display());
        }
        Task::RotateJoinCode { off } => match archive::rotate_join_code(&database, off)? {
            // The path alone on stdout, for scripts; the server's address
            // is the operator's to prepend.
            Some(code) => println!("/#/join/{code}"),
            None => eprintln!("{database} is open to everyone again"),
        },
    }
    Ok(())
}

#[tokio::main]
async fn serve(config: Config) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!("cannot listen on {}: {error}", config.addr);
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        let scheme = if config.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        match config.log_format {
            LogFormat::Text => println!("WebSocket Chat is running: open {scheme}://{addr}/"),
            // A log collector expects every line to be JSON: say it as one.
            LogFormat::Json => tracing::info!("WebSocket Chat is running: open {scheme}://{addr}/"),
        }
    }
    match chat_server::run(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("server failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stdout at the level `CHAT_LOG` names (`info` by default), in
/// the chosen format.
///
/// Whatever `CHAT_LOG` says, the WebSocket library's trace lines are left
/// out: they hold whole frames, so chat messages and resume tokens, which
/// must never reach a log.
fn init_logging(format: LogFormat) {
    let level = EnvFilter::try_from_env("CHAT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Without the level's hint, this filter would say "maybe anything" and
    // every `log::trace!` in the WebSocket library (several per frame) would
    // be built and dispatched only to be dropped: a fifth of the CPU of a
    // busy server.
    let most_verbose = level.max_level_hint().unwrap_or(LevelFilter::TRACE);
    let no_frames = filter_fn(|metadata| {
        let websocket_library = metadata.target().starts_with("tungstenite")
            || metadata.target().starts_with("tokio_tungstenite");
        !(websocket_library && *metadata.level() == tracing::Level::TRACE)
    })
    .with_max_level_hint(most_verbose);
    let layer = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer().json().boxed(),
    };
    tracing_subscriber::registry()
        .with(layer.with_filter(level).with_filter(no_frames))
        .init();
}

/// Completes on Ctrl-C or SIGTERM (what `docker stop` and systemd send).
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}
