//! `/healthz` and `/readyz`, for load balancers and orchestrators.
//!
//! Liveness only says the process answers HTTP: restarting it is the cure
//! when it does not. Readiness also asks the store, through the journal
//! like every message, so a server whose database is locked, broken or
//! whose journal has stopped is taken out of rotation instead of accepting
//! messages it cannot keep. Neither goes through the origin check or the
//! connection limits: those guard `/ws` only.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// How long readiness waits for the store. Short, because a probe that
/// hangs is itself the failure a load balancer must see.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// Alive: the process serves HTTP.
pub async fn healthz() -> Response {
    answer(StatusCode::OK, &json!({ "status": "ok" }))
}

/// Ready: the store answered a trivial query in time.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let store = match tokio::time::timeout(STORE_TIMEOUT, state.journal.probe()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(reason),
        Err(_) => Err(format!(
            "the store did not answer within {}",
            humantime::format_duration(STORE_TIMEOUT)
        )),
    };
    match store {
        Ok(()) => answer(StatusCode::OK, &json!({ "status": "ready", "store": "ok" })),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({ "status": "unavailable", "store": reason }),
            )
        }
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
