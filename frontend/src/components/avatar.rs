use leptos::prelude::*;

/// A round badge with the name's first letter, in a colour derived from the
/// name, so authors are told apart at a glance.
#[component]
pub(crate) fn Avatar(name: String) -> impl IntoView {
    let initial: String = name
        .chars()
        .find(|c| c.is_alphanumeric())
        .or_else(|| name.chars().next())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    let style = format!("--hue: {}", name_hue(&name));
    view! {
        <span class="avatar" style=style aria-hidden="true">
            {initial}
        </span>
    }
}

/// A stable hue (0..360) for a name.
pub(crate) fn name_hue(name: &str) -> u32 {
    // FNV-1a: tiny, stable across builds, spreads similar names apart.
    let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % 360
}
