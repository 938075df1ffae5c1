//! The limits on what is kept: what one name uploads in an hour
//! (`--upload-quota`) and everything stored (`--files-quota`).
//!
//! The store's sums say what was kept. Uploads still on their way in on
//! this node are reserved here, under one lock, so two uploads of one
//! name at once cannot both pass a quota with room for one: each sees the
//! other's bytes. (Across a cluster's nodes, the store's sums are what
//! each node sees: uploads on two nodes at the same moment may pass
//! together, by at most one file each.)

use super::refusal::Refusal;
use super::Files;
use crate::AppState;
use axum::http::StatusCode;
use chat_shared::files::{human_size, UploadErrorCode};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// The bytes of this node's uploads on their way in, by name and in all.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    reserved: Mutex<Reserved>,
}

#[derive(Debug, Default)]
struct Reserved {
    by_name: HashMap<String, u64>,
    total: u64,
}

/// An upload's bytes held against the quotas until it is kept (its row
/// committed) or refused: dropping it lets them go.
pub(crate) struct Reservation<'a> {
    in_flight: &'a InFlight,
    uploader: String,
    bytes: u64,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut reserved = self.in_flight.lock();
        reserved.total = reserved.total.saturating_sub(self.bytes);
        if let Some(bytes) = reserved.by_name.get_mut(&self.uploader) {
            *bytes = bytes.saturating_sub(self.bytes);
            if *bytes == 0 {
                reserved.by_name.remove(&self.uploader);
            }
        }
    }
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, Reserved> {
        self.reserved.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Checks an upload of `length` bytes by `uploader` against the name's
/// hourly quota and the storage cap, counting what was kept and what is
/// on its way in, and holds its bytes until the returned reservation
/// goes.
pub(crate) async fn reserve<'a>(
    state: &AppState,
    files: &'a Files,
    uploader: &str,
    length: u64,
    now: SystemTime,
) -> Result<Reservation<'a>, Refusal> {
    let name = uploader.to_owned();
    let hour_ago = crate::chat::moderation::unix_ms(now - Duration::from_secs(3600));
    let (hourly, stored) = state
        .journal
        .people(move |store| {
            Ok((
                store.uploaded_since(&name, hour_ago)?,
                store.stored_bytes()?,
            ))
        })
        .await
        .map_err(|_| Refusal::server_error())?;
    let mut reserved = files.in_flight.lock();
    let hourly = hourly.saturating_add(reserved.by_name.get(uploader).copied().unwrap_or(0));
    if hourly.saturating_add(length) > files.config.upload_quota {
        return Err(Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            UploadErrorCode::OverQuota,
            format!(
                "This name has uploaded {} in the last hour, and may upload {} an hour: try again later",
                human_size(hourly),
                human_size(files.config.upload_quota)
            ),
        ));
    }
    if stored.saturating_add(reserved.total).saturating_add(length) > files.config.files_quota {
        return Err(Refusal::new(
            StatusCode::INSUFFICIENT_STORAGE,
            UploadErrorCode::StorageFull,
            "This server's storage for files is full: nothing was kept",
        ));
    }
    *reserved.by_name.entry(uploader.to_owned()).or_insert(0) += length;
    reserved.total = reserved.total.saturating_add(length);
    Ok(Reservation {
        in_flight: &files.in_flight,
        uploader: uploader.to_owned(),
        bytes: length,
    })
}
