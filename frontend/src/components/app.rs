use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::composer::Composer;
use super::drop_zone::DropZone;
use super::header::Header;
use super::install::InstallBars;
use super::join::JoinForm;
use super::lightbox::Lightbox;
use super::messages::MessageList;
use super::room_bar::RoomBar;
use super::search::SearchPanel;
use super::typing_indicator::TypingIndicator;
use super::users::UsersPanel;
use crate::chat::Chat;
use crate::i18n::{use_i18n, I18n};
use crate::state::gallery::Gallery;
use crate::state::install::Install;
use crate::state::notices::use_notices;
use crate::state::session::use_session;
use crate::state::unread::use_unread;

/// The whole page: header, then either the join form or the conversation.
#[component]
pub(crate) fn App() -> impl IntoView {
    provide_context(I18n::detect());
    Chat::start();
    Gallery::provide();
    Install::start();
    let users_open = RwSignal::new(false);

    keep_html_lang();
    keep_title();
    track_visual_viewport();

    let session = use_session();
    let notices = use_notices();
    view! {
        <div class="app">
            <Show when=move || session.entered()>
                <SkipToComposer />
            </Show>
            <Header users_open />
            <InstallBars />
            <Show when=move || session.entered() fallback=|| view! { <JoinForm /> }>
                <main class="chat">
                    <DropZone>
                        <RoomBar panel_open=users_open />
                        <MessageList />
                        <TypingIndicator />
                        <Composer />
                    </DropZone>
                    <Lightbox />
                    <SearchPanel />
                    <UsersPanel open=users_open />
                </main>
            </Show>
            <div class="sr-only" aria-live="polite" aria-atomic="true">
                {move || notices.announcement()}
            </div>
        </div>
    }
}

/// "Skip to message box": the first thing Tab reaches, shown only while it
/// has the focus, so the keyboard gets past the header and the
/// conversation in two keys. The address holds the route, so the link
/// moves the focus itself rather than going to `#composer-input`.
#[component]
fn SkipToComposer() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <a
            class="skip-link"
            href="#composer-input"
            on:click=move |ev| {
                ev.prevent_default();
                let composer = document()
                    .get_element_by_id("composer-input")
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
                if let Some(composer) = composer {
                    let _ = composer.focus();
                }
            }
        >
            {move || i18n.t().skip_to_composer}
        </a>
    }
}

/// `<html lang>` follows the interface language, for screen readers and
/// hyphenation.
fn keep_html_lang() {
    let i18n = use_i18n();
    Effect::new(move |_| {
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("lang", i18n.lang().code());
        }
    });
}

/// The title shows the unread count: every room's (issue 24), or, if more,
/// the messages that came while the tab was hidden: "(3) WebSocket Chat".
/// Coming back to the tab clears the latter; reading clears the former.
/// An installed app's icon badge shows the same total where it can.
fn keep_title() {
    let notices = use_notices();
    let unread = use_unread();
    let i18n = use_i18n();
    Effect::new(move |_| {
        let title = i18n.t().app_title;
        let total = unread.with(|u| u.total());
        crate::attention::set_app_badge(total);
        match notices.unread().max(total) {
            0 => document().set_title(title),
            n => document().set_title(&format!("({n}) {title}")),
        }
    });
    let listener = window_event_listener(leptos::ev::visibilitychange, move |_| {
        if !document().hidden() {
            notices.seen();
        }
    });
    on_cleanup(move || listener.remove());
}

/// On phones the on-screen keyboard shrinks the visual viewport but not
/// always `dvh` (iOS Safari); the app's height follows the visual viewport
/// so the composer stays above the keyboard.
fn track_visual_viewport() {
    let Some(viewport) = window().visual_viewport() else {
        return;
    };
    let update = {
        let viewport = viewport.clone();
        move || {
            let Some(html) = document()
                .document_element()
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            else {
                return;
            };
            // While pinch-zoomed the visual viewport is small for another
            // reason: keep the layout as it is.
            if (viewport.scale() - 1.0).abs() < 0.01 {
                let _ = web_sys::HtmlElement::style(&html).set_property(
                    "--app-height",
                    &format!("{}px", viewport.height().round() as i32),
                );
            }
        }
    };
    update();
    let on_resize = Closure::<dyn Fn()>::new(update);
    let _ = viewport.add_event_listener_with_callback("resize", on_resize.as_ref().unchecked_ref());
    // Listens for the life of the page.
    on_resize.forget();
}
