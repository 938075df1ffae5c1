//! What this device is, in a few words ("Chrome on Linux", "Safari on
//! iPhone"), sent with each join so the owner's device list can tell
//! their devices apart.

use chat_shared::MAX_DEVICE_LABEL_CHARS;
use leptos::prelude::window;
use wasm_bindgen::JsValue;

/// This browser's label: from `navigator.userAgentData` where the browser
/// has it (Chromium), else from the user agent string.
pub(crate) fn device_label() -> String {
    let navigator = window().navigator();
    let from_hints = js_sys::Reflect::get(&navigator, &JsValue::from_str("userAgentData"))
        .ok()
        .filter(|data| data.is_object())
        .and_then(|data| {
            let platform = js_sys::Reflect::get(&data, &JsValue::from_str("platform"))
                .ok()?
                .as_string()?;
            let brands = js_sys::Reflect::get(&data, &JsValue::from_str("brands")).ok()?;
            let brands: Vec<String> = js_sys::Array::from(&brands)
                .iter()
                .filter_map(|brand| {
                    js_sys::Reflect::get(&brand, &JsValue::from_str("brand"))
                        .ok()?
                        .as_string()
                })
                .collect();
            Some(label_from_hints(&brands, &platform))
        });
    let label = from_hints
        .unwrap_or_else(|| label_from_user_agent(&navigator.user_agent().unwrap_or_default()));
    label.chars().take(MAX_DEVICE_LABEL_CHARS).collect()
}

/// "Chrome on Linux" from client hints: the first real brand (not the
/// "Not A Brand" filler, and Chromium only if nothing more specific).
fn label_from_hints(brands: &[String], platform: &str) -> String {
    let real = |brand: &&String| !brand.to_ascii_lowercase().contains("not");
    let browser = brands
        .iter()
        .filter(real)
        .find(|brand| *brand != "Chromium")
        .or_else(|| brands.iter().find(real))
        .map(|brand| brand.trim_start_matches("Google ").to_owned())
        .unwrap_or_else(|| "Browser".to_owned());
    match platform.trim() {
        "" => browser,
        platform => format!("{browser} on {platform}"),
    }
}

/// "Safari on iPhone" from a user agent string: the browser by its
/// product token (most specific first), the platform by its name.
fn label_from_user_agent(agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("HeadlessChrome/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(token, _)| agent.contains(token))
    .map_or("Browser", |(_, name)| name);
    let platform = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(token, _)| agent.contains(token))
    .map(|(_, name)| *name);
    match platform {
        Some(platform) => format!("{browser} on {platform}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_read_as_browser_on_platform() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) \
            AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(label_from_user_agent(iphone), "Safari on iPhone");
        let linux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 \
            (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(label_from_user_agent(linux), "Chrome on Linux");
        let android = "Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0";
        assert_eq!(label_from_user_agent(android), "Firefox on Android");
        assert_eq!(label_from_user_agent(""), "Browser");
    }

    #[test]
    fn client_hints_skip_filler_brands() {
        let brands = [
            "Not_A Brand".to_owned(),
            "Chromium".to_owned(),
            "Google Chrome".to_owned(),
        ];
        assert_eq!(label_from_hints(&brands, "Linux"), "Chrome on Linux");
        assert_eq!(
            label_from_hints(&["Chromium".to_owned()], "Android"),
            "Chromium on Android"
        );
        assert_eq!(label_from_hints(&[], ""), "Browser");
    }
}
