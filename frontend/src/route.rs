//! The room in the address bar: `/#/r/general`. A link to a room can be
//! shared, a reload stays in the room, and Back returns to the last room.
//! An invitation link, `/#/join/<code>`, hands the page the code of an
//! invite-only chat and then shows the default room.

use chat_shared::{is_valid_join_code, normalize_room, DEFAULT_ROOM};
use leptos::prelude::window;

const ROOM_PREFIX: &str = "#/r/";
const JOIN_PREFIX: &str = "#/join/";

/// The invitation code in the address, if it is an invitation link; the
/// address then shows the default room, so the code is not left on screen
/// or in the history for the next person at the keyboard.
pub(crate) fn take_join_code() -> Option<String> {
    let hash = window().location().hash().ok()?;
    let code = join_code_in_hash(&hash)?;
    show_room(DEFAULT_ROOM);
    Some(code)
}

/// The room the address asks for, in canonical form; the default room when
/// it names none or names one the rules refuse.
pub(crate) fn current_room() -> String {
    let hash = window().location().hash().unwrap_or_default();
    let decoded = js_sys::decode_uri_component(&hash)
        .ok()
        .and_then(|decoded| decoded.as_string())
        .unwrap_or(hash);
    room_in_hash(&decoded).unwrap_or_else(|| DEFAULT_ROOM.to_owned())
}

/// Shows `room` in the address without adding a history entry: the page
/// landed there without the user navigating (the default room, a
/// canonical spelling of what was typed).
pub(crate) fn show_room(room: &str) {
    let href = room_href(room);
    if window().location().hash().ok().as_deref() == Some(href.as_str()) {
        return;
    }
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&href));
    }
}

/// The link to a room.
pub(crate) fn room_href(room: &str) -> String {
    let encoded: String = js_sys::encode_uri_component(room).into();
    format!("{ROOM_PREFIX}{encoded}")
}

/// The canonical room named by a (decoded) hash such as `#/r/Rust`.
fn room_in_hash(hash: &str) -> Option<String> {
    let raw = hash.strip_prefix(ROOM_PREFIX)?;
    normalize_room(raw.trim_end_matches('/')).ok()
}

/// The code named by a hash such as `#/join/Xy_9`, by the shared rules
/// (which keep it to characters a link carries unescaped).
fn join_code_in_hash(hash: &str) -> Option<String> {
    let raw = hash.strip_prefix(JOIN_PREFIX)?.trim_end_matches('/');
    is_valid_join_code(raw).then(|| raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{join_code_in_hash, room_in_hash};

    #[test]
    fn an_invitation_link_names_a_code_by_the_shared_rules() {
        assert_eq!(
            join_code_in_hash("#/join/Xy_9-abcdefghijklmnop").as_deref(),
            Some("Xy_9-abcdefghijklmnop")
        );
        assert_eq!(join_code_in_hash("#/join/abc/").as_deref(), Some("abc"));
        assert_eq!(join_code_in_hash("#/join/"), None);
        assert_eq!(join_code_in_hash("#/join/a b"), None);
        assert_eq!(join_code_in_hash("#/join/a%20b"), None);
        assert_eq!(join_code_in_hash("#/r/general"), None);
        assert_eq!(join_code_in_hash(""), None);
    }

    #[test]
    fn an_invitation_link_is_not_a_room() {
        assert_eq!(room_in_hash("#/join/abc"), None);
    }

    #[test]
    fn the_hash_names_a_room_by_the_shared_rules() {
        assert_eq!(room_in_hash("#/r/general").as_deref(), Some("general"));
        assert_eq!(room_in_hash("#/r/Rust/").as_deref(), Some("rust"));
        assert_eq!(room_in_hash("#/r/привет").as_deref(), Some("привет"));
        assert_eq!(room_in_hash("#/r/"), None);
        assert_eq!(room_in_hash("#/r/a b"), None);
        assert_eq!(room_in_hash("#general"), None);
        assert_eq!(room_in_hash(""), None);
    }
}
