//! A refused upload or download: its status and a JSON body
//! (`{"error":"too_large","message":"…"}`), never cached. The codes are
//! [`UploadErrorCode`]; docs/protocol.md ("Files") has the table.

use super::tokens::TokenError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chat_shared::files::{UploadError, UploadErrorCode};

/// A refused upload or download: its status and JSON body.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    body: UploadError,
}

impl Refusal {
    pub(crate) fn new(
        status: StatusCode,
        error: UploadErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            body: UploadError {
                error,
                message: message.into(),
            },
        }
    }

    pub(crate) fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            UploadErrorCode::ServerError,
            "The server failed; nothing was kept. Try again",
        )
    }

    /// The refusal of a token that is not good.
    pub(crate) fn token(error: TokenError) -> Self {
        match error {
            TokenError::Bad => Self::new(
                StatusCode::UNAUTHORIZED,
                UploadErrorCode::BadToken,
                "That token was not made by this server: ask for one with upload_token",
            ),
            TokenError::Expired => Self::new(
                StatusCode::UNAUTHORIZED,
                UploadErrorCode::ExpiredToken,
                "That token is out of date: ask for a new one with upload_token",
            ),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(self.body),
        )
            .into_response()
    }
}

pub(crate) fn files_off() -> Refusal {
    Refusal::new(
        StatusCode::NOT_FOUND,
        UploadErrorCode::FilesOff,
        "This server keeps no files (--no-files)",
    )
}

pub(crate) fn not_found() -> Refusal {
    Refusal::new(
        StatusCode::NOT_FOUND,
        UploadErrorCode::NotFound,
        "There is no such file",
    )
}
