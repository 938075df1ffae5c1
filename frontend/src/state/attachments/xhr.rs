//! One upload, in the browser: `POST /files` with the raw bytes through
//! `XMLHttpRequest`, whose `upload.onprogress` gives progress (fetch has
//! none) and whose `abort()` cancels. Only the browser runs this; what an
//! answer means is [`outcome`], tested on the host.

use chat_shared::files::{Attachment, UploadError, UploadErrorCode};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{File, ProgressEvent, XmlHttpRequest};

use super::tray::Outcome;

/// An upload going: dropping it does not cancel it, [`Upload::abort`] does.
pub(crate) struct Upload {
    xhr: XmlHttpRequest,
    /// Kept alive as long as the upload: the browser calls it.
    _progress: Closure<dyn FnMut(ProgressEvent)>,
}

impl Upload {
    /// Stops the upload; its end is then reported as a lost connection,
    /// which the caller ignores for a file it removed.
    pub(crate) fn abort(&self) {
        let _ = self.xhr.abort();
    }
}

/// Sends `file` as upload `upload_id` named `name` with `token`;
/// `on_progress` hears the bytes sent, `on_end` how it ended (once).
pub(crate) fn start(
    file: &File,
    upload_id: &str,
    name: &str,
    token: &str,
    on_progress: impl Fn(u64) + 'static,
    on_end: impl FnOnce(Outcome) + 'static,
) -> Option<Upload> {
    let xhr = XmlHttpRequest::new().ok()?;
    let url = format!(
        "/files?upload={}&name={}",
        js_sys::encode_uri_component(upload_id),
        js_sys::encode_uri_component(name)
    );
    xhr.open("POST", &url).ok()?;
    xhr.set_request_header("Authorization", &format!("Bearer {token}"))
        .ok()?;
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
        on_progress(ev.loaded() as u64);
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let answered = xhr.clone();
    // `loadend` comes once whatever happened (load, error, abort, timeout).
    let end = Closure::once_into_js(move || {
        let status = answered.status().unwrap_or(0);
        let body = answered.response_text().ok().flatten().unwrap_or_default();
        on_end(outcome(status, &body));
    });
    xhr.set_onloadend(Some(end.unchecked_ref()));
    xhr.send_with_opt_blob(Some(file)).ok()?;
    Some(Upload {
        xhr,
        _progress: progress,
    })
}

/// What an answer with `status` and `body` means for the file.
pub(crate) fn outcome(status: u16, body: &str) -> Outcome {
    if status == 0 {
        return Outcome::Network;
    }
    if (200..300).contains(&status) {
        return match serde_json::from_str::<Attachment>(body) {
            Ok(attachment) => Outcome::Uploaded(attachment),
            Err(_) => Outcome::Refused(UploadErrorCode::ServerError),
        };
    }
    match serde_json::from_str::<UploadError>(body) {
        Ok(UploadError {
            error: UploadErrorCode::ExpiredToken,
            ..
        }) => Outcome::ExpiredToken,
        // The body ended early: the connection went, not the file.
        Ok(UploadError {
            error: UploadErrorCode::Incomplete,
            ..
        }) => Outcome::Network,
        Ok(refusal) => Outcome::Refused(refusal.error),
        // A proxy's page: a gateway that lost the server is a network
        // problem, anything else the server's.
        Err(_) if matches!(status, 502..=504) => Outcome::Network,
        Err(_) => Outcome::Refused(UploadErrorCode::ServerError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_outcomes() {
        assert_eq!(outcome(0, ""), Outcome::Network);
        let stored = outcome(
            201,
            r#"{"id":"ab","name":"a.png","size":3,"type":"image/png"}"#,
        );
        assert!(matches!(stored, Outcome::Uploaded(a) if a.id == "ab"));
        assert_eq!(
            outcome(401, r#"{"error":"expired_token","message":"x"}"#),
            Outcome::ExpiredToken
        );
        assert_eq!(
            outcome(413, r#"{"error":"too_large","message":"x"}"#),
            Outcome::Refused(UploadErrorCode::TooLarge)
        );
        assert_eq!(outcome(502, "<html>"), Outcome::Network);
        assert_eq!(
            outcome(500, "oops"),
            Outcome::Refused(UploadErrorCode::ServerError)
        );
    }
}
