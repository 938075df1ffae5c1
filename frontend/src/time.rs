//! Message times in the reader's local time zone.

use js_sys::Date;
use wasm_bindgen::JsValue;

/// "21:07" for a server timestamp, and the full local date and time for
/// the tooltip; `None` if the timestamp cannot be read.
pub fn clock_and_full(timestamp: &str, lang: &str) -> Option<(String, String)> {
    let date = Date::new(&JsValue::from_str(timestamp));
    if date.get_time().is_nan() {
        return None;
    }
    let clock = format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    let full = String::from(date.to_locale_string(lang, &JsValue::UNDEFINED));
    Some((clock, full))
}

/// Milliseconds since the epoch from a server timestamp, for grouping.
pub fn epoch_ms(timestamp: &str) -> f64 {
    Date::parse(timestamp)
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> f64 {
    Date::now()
}
