//! `/healthz` and `/readyz`, for load balancers and orchestrators.
//!
//! Liveness only says the process answers HTTP: restarting it is the cure
//! when it does not. Readiness also asks the store, through the journal
//! like every message, so a server whose database is locked, broken or
//! whose journal has stopped is taken out of rotation instead of accepting
//! messages it cannot keep. Neither goes through the origin check or the
//! connection limits: those guard `/ws` only.
//!
//! Readiness is open to anyone, so it must be cheap and say little: its
//! answer is kept for [`READY_FOR`] (a flood of probes costs one store
//! query a second, and concurrent probes wait for the same one), and why
//! the store failed goes to the log, not to the public.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long readiness waits for the store. Short, because a probe that
/// hangs is itself the failure a load balancer must see.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one answer of the store stands for every probe.
const READY_FOR: Duration = Duration::from_secs(1);

/// The last readiness found, and when.
#[derive(Debug, Default)]
pub(crate) struct Readiness {
    last: Mutex<Option<(Instant, bool)>>,
}

impl Readiness {
    /// Whether the store is ready, asking it at most once per
    /// [`READY_FOR`]; probes that arrive while it is asked wait for that
    /// answer rather than ask again.
    async fn check(&self, state: &AppState) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, ready)) = *last {
            if at.elapsed() < READY_FOR {
                return ready;
            }
        }
        let ready = store_ready(state).await;
        *last = Some((Instant::now(), ready));
        ready
    }
}

/// Asks the store, through the journal; a failure is logged with its
/// reason.
async fn store_ready(state: &AppState) -> bool {
    let reason = match tokio::time::timeout(STORE_TIMEOUT, state.journal.probe()).await {
        Ok(Ok(())) => return true,
        Ok(Err(reason)) => reason,
        Err(_) => format!(
            "the store did not answer within {}",
            humantime::format_duration(STORE_TIMEOUT)
        ),
    };
    tracing::warn!(%reason, "not ready");
    false
}

/// Alive: the process serves HTTP.
pub(crate) async fn healthz() -> Response {
    answer(StatusCode::OK, &json!({ "status": "ok" }))
}

/// Ready: the store answered a trivial query in time (within the last
/// second). A failure says only that: the reason is in the log.
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.readiness.check(&state).await {
        answer(StatusCode::OK, &json!({ "status": "ready", "store": "ok" }))
    } else {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({ "status": "unavailable", "store": "unavailable" }),
        )
    }
}

/// A JSON answer that no cache keeps: a stale "ready" is worse than none.
fn answer(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
