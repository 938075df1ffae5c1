//! `chat-server`: parse the options, bind, and run until SIGINT or SIGTERM.

use chat_server::config::LogFormat;
use chat_server::Config;
use clap::Parser;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    init_logging(config.log_format);

    let listener = match tokio::net::TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!("cannot listen on {}: {error}", config.addr);
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        match config.log_format {
            LogFormat::Text => println!("WebSocket Chat is running: open http://{addr}/"),
            // A log collector expects every line to be JSON: say it as one.
            LogFormat::Json => tracing::info!("WebSocket Chat is running: open http://{addr}/"),
        }
    }
    match chat_server::run(listener, config, shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("server failed: {error}");
            std::process::ExitCode::FAILURE
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
    let no_frames = filter_fn(|metadata| {
        let websocket_library = metadata.target().starts_with("tungstenite")
            || metadata.target().starts_with("tokio_tungstenite");
        !(websocket_library && *metadata.level() == tracing::Level::TRACE)
    });
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
