//! The installable app's two bars: "A new version is available — Reload"
//! when the service worker has cached one, and, on an iPhone or iPad in
//! Safari, how to install (which push needs there).

use leptos::prelude::*;

use crate::i18n::use_i18n;
use crate::state::install::use_install;

/// Both bars, each shown only while it applies.
#[component]
pub(crate) fn InstallBars() -> impl IntoView {
    let install = use_install();
    let i18n = use_i18n();
    view! {
        <Show when=move || install.state().new_version>
            <div class="install-bar new-version" role="status">
                <span>{move || i18n.t().new_version}</span>
                <button type="button" class="link-button" on:click=move |_| install.reload()>
                    {move || i18n.t().reload}
                </button>
            </div>
        </Show>
        <Show when=move || install.state().ios_hint>
            <div class="install-bar ios-hint" role="note">
                <span>{move || i18n.t().ios_install_hint}</span>
                <button
                    type="button"
                    class="link-button"
                    on:click=move |_| install.dismiss_ios_hint()
                >
                    {move || i18n.t().got_it}
                </button>
            </div>
        </Show>
    }
}
