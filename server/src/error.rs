//! Every way the server says no, as values.
//!
//! Two kinds, because they happen at different times: a [`Rejection`]
//! refuses one frame on an open connection, which stays usable, and goes
//! out as an `error` frame; an [`UpgradeRefusal`] turns down a request to `/ws`
//! before any WebSocket exists, and goes out as a small HTTP response that
//! costs no socket task and no buffers.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chat_shared::{ErrorCode, ForbiddenReason, ServerFrame};

/// A refusal to send back to the client: the connection stays usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub code: ErrorCode,
    pub message: String,
    /// With `rate_limited`: the wait the message names, for programs.
    pub retry_after_ms: Option<u64>,
    /// The `client_id` of the refused `message` frame, so the client knows
    /// which of its messages in flight failed.
    pub client_id: Option<String>,
    /// With `forbidden`: the rule that refused, for programs.
    pub reason: Option<ForbiddenReason>,
}

impl Rejection {
    /// A refusal with a specific explanation.
    pub(crate) fn new(code: ErrorCode, message: impl ToString) -> Self {
        Self {
            code,
            message: message.to_string(),
            retry_after_ms: None,
            client_id: None,
            reason: None,
        }
    }

    /// A `forbidden` refusal by the rule `reason`, in its standard words.
    pub(crate) fn forbidden(reason: ForbiddenReason) -> Self {
        Self {
            reason: Some(reason),
            ..Self::new(ErrorCode::Forbidden, reason.default_message())
        }
    }

    /// The same refusal, naming the `message` frame it refuses.
    #[must_use]
    pub(crate) fn with_client_id(self, client_id: Option<String>) -> Self {
        Self { client_id, ..self }
    }

    /// The same refusal, telling the client how long to wait.
    #[must_use]
    pub(crate) fn with_retry_after(self, wait: std::time::Duration) -> Self {
        Self {
            retry_after_ms: Some(retry_after_millis(wait)),
            ..self
        }
    }

    /// The error frame for the wire.
    pub(crate) fn to_frame(&self) -> ServerFrame {
        ServerFrame::Error {
            code: self.code,
            message: self.message.clone(),
            retry_after_ms: self.retry_after_ms,
            client_id: self.client_id.clone(),
            reason: self.reason,
        }
    }
}

impl From<ErrorCode> for Rejection {
    fn from(code: ErrorCode) -> Self {
        Self::new(code, code.default_message())
    }
}

/// A wait in whole milliseconds, rounded up so that retrying after it is
/// never too soon, and at least one.
pub(crate) fn retry_after_millis(retry_after: std::time::Duration) -> u64 {
    let millis = retry_after.as_micros().div_ceil(1000).max(1);
    u64::try_from(millis).unwrap_or(u64::MAX)
}

/// Why a request to `/ws` was turned down; becomes the HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpgradeRefusal {
    /// The request is not a WebSocket upgrade the server can accept (426
    /// or 400, with the reason).
    NotAnUpgrade {
        status: StatusCode,
        why: &'static str,
    },
    /// The page's origin may not use this chat (403).
    ForeignOrigin(String),
    /// The server holds its maximum of connections (503).
    ServerFull,
    /// This address holds its maximum of connections (429).
    TooManyFromAddress,
    /// This address opens connections faster than `--connect-rate` (429,
    /// with the wait in `Retry-After`).
    ConnectingTooFast { retry_after: std::time::Duration },
    /// The request was addressed to a host this chat is not reached by, as
    /// a DNS-rebinding page's would be (403).
    UnknownHost(String),
}

impl IntoResponse for UpgradeRefusal {
    fn into_response(self) -> Response {
        match self {
            Self::NotAnUpgrade { status, why } => (status, why).into_response(),
            Self::ForeignOrigin(message) | Self::UnknownHost(message) => {
                (StatusCode::FORBIDDEN, message).into_response()
            }
            Self::ServerFull => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "30")],
                "The chat is full: it has reached its maximum number of connections. Try again in a little while.",
            )
                .into_response(),
            Self::TooManyFromAddress => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "30")],
                "Too many connections from your address: close some chat tabs and try again.",
            )
                .into_response(),
            Self::ConnectingTooFast { retry_after } => {
                // Whole seconds, rounded up: retrying after it is never
                // too soon.
                let seconds = retry_after_millis(retry_after).div_ceil(1000).max(1);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, seconds.to_string())],
                    "Too many new connections from your address: wait a moment and try again.",
                )
                    .into_response()
            }
        }
    }
}
