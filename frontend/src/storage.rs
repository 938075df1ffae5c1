//! localStorage, where the name and the language choice are remembered.
//!
//! Storage can be missing or refuse writes (private mode, quota, disabled
//! cookies); the app then just forgets, so every failure is ignored here.

use leptos::prelude::window;

fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// The stored value, if there is one and storage works.
pub fn get(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

/// Stores a value; a refusal only means it will not be remembered.
pub fn set(key: &str, value: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(key, value);
    }
}
