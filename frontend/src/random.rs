//! Random ids and secrets for the browser: message `client_id`s and the
//! author key.

/// `N` random bytes. `crypto.getRandomValues` works on plain `http://` too
/// (unlike `crypto.randomUUID`); should it fail (no Web Crypto at all),
/// `Math.random` still makes them unique enough for one user's ids, if
/// guessable.
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let filled = leptos::prelude::window()
        .crypto()
        .and_then(|crypto| crypto.get_random_values_with_u8_array(&mut bytes))
        .is_ok();
    if !filled {
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

/// The bytes as lower-case hex digits.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
