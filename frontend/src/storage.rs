//! localStorage, where the name, the language choice, resume tokens and the
//! outbox are remembered.
//!
//! Storage can be missing or refuse writes (private mode, quota, disabled
//! cookies); the app then just forgets, so every failure is ignored here.

use leptos::prelude::window;

fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// The stored value, if there is one and storage works.
pub(crate) fn get(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

/// Stores a value; a refusal only means it will not be remembered.
pub(crate) fn set(key: &str, value: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(key, value);
    }
}

/// Forgets a value; a refusal only means it stays.
pub(crate) fn remove(key: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.remove_item(key);
    }
}

/// Every stored key that starts with `prefix`.
pub(crate) fn keys_with_prefix(prefix: &str) -> Vec<String> {
    let Some(storage) = local_storage() else {
        return Vec::new();
    };
    let count = storage.length().unwrap_or(0);
    (0..count)
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|key| key.starts_with(prefix))
        .collect()
}
