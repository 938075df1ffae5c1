//! Names that last, linked devices and direct messages: the rules both
//! sides apply.
//!
//! A name joined with an author key is **held** by that key: the server
//! keeps the key's hash as one of the name's devices, and a later join of
//! the name (or of a look-alike) needs one of them, or a one-time link
//! code that adds a new device. Names joined without a key stay free.
//! docs/identity.md says what this proves and what it does not.

use crate::validate::{normalize_username, username_key, UsernameError};
use serde::{Deserialize, Serialize};

/// One device that holds a name, as `devices` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// What `revoke_device` names it by.
    pub id: u64,
    /// What the device said it is when it joined ("Firefox on Android");
    /// empty when it said nothing.
    #[serde(default)]
    pub label: String,
    /// When it first held the name, RFC 3339 UTC.
    pub first_seen: String,
    /// When it last joined or left, RFC 3339 UTC.
    pub last_seen: String,
    /// The device this connection is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub this: bool,
}

/// The longest device label, in characters.
pub const MAX_DEVICE_LABEL_CHARS: usize = 80;
/// How long a link code works, in seconds.
pub const LINK_CODE_SECS: u64 = 600;
/// A link code's length: 32 hex digits, 128 random bits.
pub const LINK_CODE_CHARS: usize = 32;
/// The most other names one DM may have.
pub const MAX_DM_OTHERS: usize = 7;
/// How a direct-message room's name starts; no other room may.
pub const DM_ROOM_PREFIX: &str = "dm-";
/// The longest report reason, in characters.
pub const MAX_REPORT_CHARS: usize = 500;

/// Whether `code` can be a link code (32 lower-case hex digits), so a
/// client can check a `/#/link/CODE` before sending it.
pub fn is_valid_link_code(code: &str) -> bool {
    code.len() == LINK_CODE_CHARS
        && code
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// Whether `room` is a direct-message room's name.
pub fn is_dm_room(room: &str) -> bool {
    room.starts_with(DM_ROOM_PREFIX)
}

/// A device label as the server keeps it: trimmed, control characters
/// dropped; `None` when too long.
pub fn normalize_device_label(label: &str) -> Option<String> {
    let label: String = label.trim().chars().filter(|c| !c.is_control()).collect();
    (label.chars().count() <= MAX_DEVICE_LABEL_CHARS).then_some(label)
}

/// A report's reason as kept: trimmed; `None` when too long. An empty
/// reason is allowed (the report itself says enough).
pub fn normalize_report_reason(reason: &str) -> Option<String> {
    let reason = reason.trim();
    (reason.chars().count() <= MAX_REPORT_CHARS).then(|| reason.to_owned())
}

/// Why an `open_dm` list of names was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmError {
    /// No other name, or more than [`MAX_DM_OTHERS`].
    Count,
    /// One of the names is not a valid name.
    Name(String, UsernameError),
}

impl std::fmt::Display for DmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Count => write!(
                f,
                "A direct message is with 1 to {MAX_DM_OTHERS} other names"
            ),
            Self::Name(name, error) => write!(f, "{name:?}: {error}"),
        }
    }
}

/// The other members of a DM as `open_dm` names them: each normalised,
/// the same name (by key) once, `me` left out; 1 to [`MAX_DM_OTHERS`].
pub fn normalize_dm_with(with: &[String], me: &str) -> Result<Vec<String>, DmError> {
    let me = username_key(me);
    let mut keys: Vec<String> = Vec::new();
    let mut names = Vec::new();
    for raw in with {
        let name = normalize_username(raw).map_err(|error| DmError::Name(raw.clone(), error))?;
        let key = username_key(&name);
        if key != me && !keys.contains(&key) {
            keys.push(key);
            names.push(name);
        }
        if names.len() > MAX_DM_OTHERS {
            return Err(DmError::Count);
        }
    }
    if names.is_empty() {
        return Err(DmError::Count);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_codes_are_32_lower_hex_digits() {
        assert!(is_valid_link_code(&"0123456789abcdef".repeat(2)));
        assert!(!is_valid_link_code(&"0123456789ABCDEF".repeat(2)));
        assert!(!is_valid_link_code("abc"));
        assert!(!is_valid_link_code(&"g".repeat(32)));
    }

    #[test]
    fn dm_members_are_normalised_deduplicated_and_counted() {
        let with =
            |names: &[&str]| -> Vec<String> { names.iter().map(|n| n.to_string()).collect() };
        assert_eq!(
            normalize_dm_with(&with(&[" bob ", "BOB", "alice", "carol"]), "Alice"),
            Ok(vec!["bob".to_owned(), "carol".to_owned()])
        );
        assert_eq!(
            normalize_dm_with(&with(&["alice"]), "alice"),
            Err(DmError::Count)
        );
        assert_eq!(normalize_dm_with(&[], "alice"), Err(DmError::Count));
        let eight: Vec<String> = (0..8).map(|i| format!("u{i}")).collect();
        assert_eq!(normalize_dm_with(&eight, "alice"), Err(DmError::Count));
        assert_eq!(
            normalize_dm_with(&eight[..7], "alice").map(|v| v.len()),
            Ok(7)
        );
        assert!(matches!(
            normalize_dm_with(&with(&[""]), "alice"),
            Err(DmError::Name(_, UsernameError::Empty))
        ));
    }

    #[test]
    fn labels_and_reasons_are_trimmed_and_bounded() {
        assert_eq!(
            normalize_device_label("  Firefox\u{7} on Linux "),
            Some("Firefox on Linux".into())
        );
        assert_eq!(normalize_device_label(&"x".repeat(81)), None);
        assert_eq!(normalize_report_reason(" spam "), Some("spam".into()));
        assert_eq!(normalize_report_reason(&"x".repeat(501)), None);
    }

    #[test]
    fn dm_rooms_are_told_by_their_prefix() {
        assert!(is_dm_room("dm-0123"));
        assert!(!is_dm_room("general"));
    }
}
