//! The tokens that let a browser upload to a room and read a room's files
//! over plain HTTP, where the socket's join is not there to ask.
//!
//! Both are signed (HMAC-SHA256) with one secret every node shares (kept
//! in the store, [`crate::history::files::FilesStore::files_secret`]), so
//! a token one node hands out is good on every other. Neither is kept
//! anywhere: what they allow and until when is inside them.
//! - An **upload token** names the room and the uploader's name key and
//!   lasts [`UPLOAD_TOKEN_SECS`].
//! - A **read token** names only the room: every member of a DM may read
//!   its files, and a link one member copies works for another. It lasts
//!   until the end of the next UTC day, so a room's download paths stay
//!   the same all day and the browser's cache keeps working.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long an upload token is good for: long enough for a slow phone
/// to send a large file, short enough that a leaked one is soon useless.
pub(crate) const UPLOAD_TOKEN_SECS: u64 = 30 * 60;
/// A day, in seconds.
const DAY_SECS: u64 = 24 * 60 * 60;

/// Seconds since the Unix epoch: the clock tokens are made and checked
/// by.
pub(crate) fn unix_secs(time: std::time::SystemTime) -> u64 {
    crate::chat::moderation::unix_ms(time) / 1000
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// Not a token this server made (or a token of the other kind).
    Bad,
    /// Made here, but out of date.
    Expired,
}

/// What an upload token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UploadGrant {
    pub(crate) room: String,
    /// The uploader's name key.
    pub(crate) uploader: String,
    /// The name as shown, for the log.
    pub(crate) expires_at: u64,
}

/// Signs and checks tokens with the shared secret.
#[derive(Clone)]
pub(crate) struct Tokens {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(..)")
    }
}

impl Tokens {
    /// Tokens signed with `secret` (any length; the store keeps 32 random
    /// bytes).
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    /// An upload token for `uploader` (a name key) in `room`, good from
    /// `now` (Unix seconds) for `lifetime` seconds.
    pub(crate) fn upload(&self, room: &str, uploader: &str, now: u64, lifetime: u64) -> String {
        self.sign(&["upload", room, uploader, &(now + lifetime).to_string()])
    }

    /// What an upload token allows, if it is good at `now`.
    pub(crate) fn check_upload(&self, token: &str, now: u64) -> Result<UploadGrant, TokenError> {
        let fields = self.open(token)?;
        let [kind, room, uploader, expires] = fields.as_slice() else {
            return Err(TokenError::Bad);
        };
        if kind != "upload" {
            return Err(TokenError::Bad);
        }
        let expires_at = expires.parse::<u64>().map_err(|_| TokenError::Bad)?;
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(UploadGrant {
            room: room.clone(),
            uploader: uploader.clone(),
            expires_at,
        })
    }

    /// A read token for `room`, good until the end of the UTC day after
    /// `now`'s: the same all day.
    pub(crate) fn read(&self, room: &str, now: u64) -> String {
        let expires = (now / DAY_SECS + 2) * DAY_SECS;
        self.sign(&["read", room, &expires.to_string()])
    }

    /// Whether `token` lets its holder read `room`'s files at `now`: the
    /// room it names, if it is good.
    pub(crate) fn check_read(&self, token: &str, now: u64) -> Result<String, TokenError> {
        let fields = self.open(token)?;
        let [kind, room, expires] = fields.as_slice() else {
            return Err(TokenError::Bad);
        };
        if kind != "read" {
            return Err(TokenError::Bad);
        }
        if now >= expires.parse::<u64>().map_err(|_| TokenError::Bad)? {
            return Err(TokenError::Expired);
        }
        Ok(room.clone())
    }

    /// `base64url(fields joined by NUL).base64url(mac)`.
    fn sign(&self, fields: &[&str]) -> String {
        let payload = fields.join("\0");
        let mac = self.mac(payload.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// The fields of a token whose signature is good.
    fn open(&self, token: &str) -> Result<Vec<String>, TokenError> {
        let (payload, mac) = token.split_once('.').ok_or(TokenError::Bad)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Bad)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| TokenError::Bad)?;
        let mut check = self.hmac();
        check.update(&payload);
        check.verify_slice(&mac).map_err(|_| TokenError::Bad)?;
        let payload = String::from_utf8(payload).map_err(|_| TokenError::Bad)?;
        Ok(payload.split('\0').map(str::to_owned).collect())
    }

    fn mac(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = self.hmac();
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }

    fn hmac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length; this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_780_000_000;

    #[test]
    fn an_upload_token_names_its_room_and_uploader_until_it_expires() {
        let tokens = Tokens::new(b"secret");
        let token = tokens.upload("general", "alice", NOW, UPLOAD_TOKEN_SECS);
        let grant = tokens.check_upload(&token, NOW + 10).expect("good");
        assert_eq!(
            (grant.room.as_str(), grant.uploader.as_str()),
            ("general", "alice")
        );
        assert_eq!(
            tokens.check_upload(&token, NOW + UPLOAD_TOKEN_SECS),
            Err(TokenError::Expired)
        );
        // Another server's secret, a changed payload, the other kind.
        assert_eq!(
            Tokens::new(b"other").check_upload(&token, NOW),
            Err(TokenError::Bad)
        );
        let (_, mac) = token.split_once('.').unwrap_or_default();
        let forged = format!(
            "{}.{mac}",
            URL_SAFE_NO_PAD.encode("upload\0dm-x\0alice\09999999999")
        );
        assert_eq!(tokens.check_upload(&forged, NOW), Err(TokenError::Bad));
        assert_eq!(tokens.check_read(&token, NOW), Err(TokenError::Bad));
        assert_eq!(tokens.check_upload("", NOW), Err(TokenError::Bad));
        assert_eq!(tokens.check_upload("a.b.c", NOW), Err(TokenError::Bad));
    }

    #[test]
    fn a_read_token_is_the_same_all_day_and_lasts_into_the_next() {
        let tokens = Tokens::new(b"secret");
        let day_start = NOW / DAY_SECS * DAY_SECS;
        let token = tokens.read("dm-abc", day_start + 5);
        assert_eq!(token, tokens.read("dm-abc", day_start + DAY_SECS - 1));
        assert_eq!(
            tokens
                .check_read(&token, day_start + 2 * DAY_SECS - 1)
                .as_deref(),
            Ok("dm-abc")
        );
        assert_eq!(
            tokens.check_read(&token, day_start + 2 * DAY_SECS),
            Err(TokenError::Expired)
        );
        assert_eq!(tokens.check_upload(&token, NOW), Err(TokenError::Bad));
    }
}
