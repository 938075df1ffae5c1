//! The room in the address bar: `/#/r/general`. A link to a room can be
//! shared, a reload stays in the room, and Back returns to the last room.
//! A link to a message, `/#/r/general/42`, opens the room at message 42
//! (the service worker opens one when a push notification is clicked with
//! no tab of the app open); the address then shows the room alone.
//! An invitation link, `/#/join/<code>`, hands the page the code of an
//! invite-only chat and then shows the default room. A device link,
//! `/#/link/<code>?name=<name>`, joins as that name with a link code (it
//! comes from the profile menu of a device that holds the name).

use chat_shared::{is_valid_join_code, is_valid_link_code, normalize_room, DEFAULT_ROOM};
use leptos::prelude::window;

const ROOM_PREFIX: &str = "#/r/";
const JOIN_PREFIX: &str = "#/join/";
const LINK_PREFIX: &str = "#/link/";

/// The invitation code in the address, if it is an invitation link; the
/// address then shows the default room, so the code is not left on screen
/// or in the history for the next person at the keyboard.
pub(crate) fn take_join_code() -> Option<String> {
    let hash = window().location().hash().ok()?;
    let code = join_code_in_hash(&hash)?;
    show_room(DEFAULT_ROOM);
    Some(code)
}

/// The link code and name in the address, if it is a device link; the
/// address then shows the default room, so the one-time code is not left
/// on screen or in the history.
pub(crate) fn take_link() -> Option<(String, String)> {
    let hash = window().location().hash().ok()?;
    let link = link_in_hash(&hash)?;
    show_room(DEFAULT_ROOM);
    Some(link)
}

/// The room and message in the address, if it is a link to a message;
/// the address then shows the room alone, so a reload does not jump back.
pub(crate) fn take_message() -> Option<(String, u64)> {
    let hash = decoded_hash();
    let (room, message) = room_and_message_in_hash(&hash)?;
    let id = message?;
    show_room(&room);
    Some((room, id))
}

/// The link another device opens to become me: `origin` is the page's
/// (`https://chat.example`), the name percent-encoded.
pub(crate) fn link_url(origin: &str, code: &str, name: &str) -> String {
    format!("{origin}/{LINK_PREFIX}{code}?name={}", percent_encode(name))
}

/// The room the address asks for, in canonical form; the default room when
/// it names none or names one the rules refuse.
pub(crate) fn current_room() -> String {
    room_in_hash(&decoded_hash()).unwrap_or_else(|| DEFAULT_ROOM.to_owned())
}

/// The address's hash, percent-decoded.
fn decoded_hash() -> String {
    let hash = window().location().hash().unwrap_or_default();
    js_sys::decode_uri_component(&hash)
        .ok()
        .and_then(|decoded| decoded.as_string())
        .unwrap_or(hash)
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

/// The canonical room named by a (decoded) hash such as `#/r/Rust`, or
/// `#/r/Rust/42` (a link to a message there).
fn room_in_hash(hash: &str) -> Option<String> {
    room_and_message_in_hash(hash).map(|(room, _)| room)
}

/// The canonical room and the message a (decoded) hash names: `#/r/Rust`
/// names no message, `#/r/Rust/42` names message 42. Room names never
/// hold a `/`, so the last segment of digits is the message.
fn room_and_message_in_hash(hash: &str) -> Option<(String, Option<u64>)> {
    let raw = hash.strip_prefix(ROOM_PREFIX)?.trim_end_matches('/');
    let (room, message) = match raw.split_once('/') {
        Some((room, id)) => (room, Some(id.parse::<u64>().ok()?)),
        None => (raw, None),
    };
    Some((normalize_room(room).ok()?, message))
}

/// The code named by a hash such as `#/join/Xy_9`, by the shared rules
/// (which keep it to characters a link carries unescaped).
fn join_code_in_hash(hash: &str) -> Option<String> {
    let raw = hash.strip_prefix(JOIN_PREFIX)?.trim_end_matches('/');
    is_valid_join_code(raw).then(|| raw.to_owned())
}

/// The code and name of a device link's hash, `#/link/<code>?name=<name>`:
/// a code by the shared rules and a non-empty name.
fn link_in_hash(hash: &str) -> Option<(String, String)> {
    let rest = hash.strip_prefix(LINK_PREFIX)?;
    let (code, query) = rest.split_once('?').unwrap_or((rest, ""));
    let code = code.trim_end_matches('/');
    if !is_valid_link_code(code) {
        return None;
    }
    let name = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("name="))?;
    let name = percent_decode(name).filter(|name| !name.trim().is_empty())?;
    Some((code.to_owned(), name))
}

/// `text` with everything but unreserved ASCII (letters, digits, `-._~`)
/// percent-encoded as UTF-8, as a query value needs.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A percent-encoded query value (`+` is a space); `None` if it is not
/// UTF-8 or an escape is broken.
fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.bytes();
    while let Some(byte) = rest.next() {
        match byte {
            b'%' => {
                let high = char::from(rest.next()?).to_digit(16)?;
                let low = char::from(rest.next()?).to_digit(16)?;
                bytes.push(u8::try_from(high * 16 + low).ok()?);
            }
            b'+' => bytes.push(b' '),
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::{
        join_code_in_hash, link_in_hash, link_url, percent_encode, room_and_message_in_hash,
        room_in_hash,
    };

    #[test]
    fn a_link_to_a_message_names_its_room_and_id() {
        assert_eq!(
            room_and_message_in_hash("#/r/Rust/42"),
            Some(("rust".to_owned(), Some(42)))
        );
        assert_eq!(
            room_and_message_in_hash("#/r/general/7/"),
            Some(("general".to_owned(), Some(7)))
        );
        assert_eq!(
            room_and_message_in_hash("#/r/general"),
            Some(("general".to_owned(), None))
        );
        assert_eq!(room_in_hash("#/r/привет/3").as_deref(), Some("привет"));
        assert_eq!(room_and_message_in_hash("#/r/general/x"), None);
        assert_eq!(room_and_message_in_hash("#/r/general/-1"), None);
        assert_eq!(room_and_message_in_hash("#/r/general/1/2"), None);
        assert_eq!(room_and_message_in_hash("#/r//42"), None);
    }

    #[test]
    fn a_device_link_names_a_code_and_a_name_both_ways() {
        let code = "0123456789abcdef".repeat(2);
        let url = link_url("http://127.0.0.1:8765", &code, "Анна Li&co");
        let hash = url.strip_prefix("http://127.0.0.1:8765/").expect("origin");
        assert_eq!(
            link_in_hash(hash),
            Some((code.clone(), "Анна Li&co".to_owned()))
        );
        assert_eq!(percent_encode("a-b_c.d~e f"), "a-b_c.d~e%20f");
        assert_eq!(link_in_hash(&format!("#/link/{code}")), None, "no name");
        assert_eq!(link_in_hash(&format!("#/link/{code}?name=")), None);
        assert_eq!(link_in_hash(&format!("#/link/{code}?name=%E2")), None);
        assert_eq!(link_in_hash("#/link/abc?name=bob"), None, "not a code");
        assert_eq!(
            link_in_hash(&format!("#/link/{code}/?x=1&name=bob+2")),
            Some((code, "bob 2".to_owned()))
        );
    }

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
