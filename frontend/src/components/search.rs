//! Search (issue 26): the header's button, the shortcuts that open the
//! panel (Ctrl/Cmd+K anywhere, `/` when not typing), and the panel: a
//! modal dialog with the search box (a combobox over the results'
//! listbox, which keeps the focus while the arrows move the selection),
//! the scope and order switches, and the results
//! ([`super::search_results`]). Its rules are
//! [`crate::state::search`]'s; this only draws them and times the pause
//! after typing.

use chat_shared::search::SearchOrder;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::focus_trap::keep_focus_inside;
use super::search_results::{hit_id, SearchResults};
use crate::chat::use_chat;
use crate::i18n::use_i18n;
use crate::state::rooms::use_rooms;
use crate::state::search::{use_search, Scope, Search, SearchState, Status, Trouble};

/// The pause after the last keystroke before the search goes out.
const DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(250);
/// What takes the focus in the panel: its buttons and the search box (the
/// hits are options the box points at, not stops of their own).
const FOCUSABLE: &str = "button:not([disabled]), input";

/// The header's search button.
#[component]
pub(crate) fn SearchButton() -> impl IntoView {
    let search = use_search();
    let i18n = use_i18n();
    view! {
        <button
            id="search-toggle"
            class="search-toggle"
            type="button"
            aria-haspopup="dialog"
            aria-expanded=move || search.is_open().to_string()
            aria-keyshortcuts="Control+K Meta+K /"
            title=move || i18n.t().search.open_hint
            on:click=move |_| search.change(|s| s.open())
        >
            <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                <path d="M10 3a7 7 0 0 1 5.6 11.2l4.6 4.6-1.4 1.4-4.6-4.6A7 7 0 1 1 10 3zm0 2a5 5 0 1 0 0 10 5 5 0 0 0 0-10z"></path>
            </svg>
            <span class="search-toggle-label">{move || i18n.t().search.open}</span>
        </button>
    }
}

/// Whether a key pressed in `target` is typing (an input, a textarea, an
/// editable element): `/` there is a slash, not the shortcut.
fn is_typing_in(target: Option<web_sys::EventTarget>) -> bool {
    let Some(element) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return false;
    };
    matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || element.is_content_editable()
}

/// Ctrl+K (Cmd+K on a Mac) opens the search from anywhere; `/` does
/// when the key is not typed into a field. For the page's life, while
/// joined.
fn open_on_shortcuts(search: Search) {
    let listener = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.default_prevented() || ev.alt_key() {
            return;
        }
        let command = ev.ctrl_key() || ev.meta_key();
        // By the key's place too: Ctrl+K on a Russian layout is "л".
        let shortcut = match ev.key().as_str() {
            _ if ev.code() == "KeyK" => command && !ev.shift_key(),
            "k" | "K" => command && !ev.shift_key(),
            "/" => !command && !is_typing_in(ev.target()),
            _ => false,
        };
        // Another modal dialog (the lightbox) keeps the keyboard.
        let other_dialog = document()
            .query_selector("[aria-modal=\"true\"]:not(#search-panel)")
            .ok()
            .flatten()
            .is_some();
        if !shortcut || other_dialog {
            return;
        }
        ev.prevent_default();
        if search.with_untracked(|s| s.is_open()) {
            focus_input();
        } else {
            search.change(|s| s.open());
        }
    });
    on_cleanup(move || listener.remove());
}

/// Gives the search box the focus, its text selected to type over.
fn focus_input() {
    let input = document()
        .get_element_by_id("search-input")
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok());
    if let Some(input) = input {
        let _ = input.focus();
        input.select();
    }
}

/// The search panel while open, and the shortcuts that open it.
#[component]
pub(crate) fn SearchPanel() -> impl IntoView {
    let search = use_search();
    open_on_shortcuts(search);
    view! {
        <Show when=move || search.is_open()>
            <OpenSearch />
        </Show>
    }
}

/// The open panel: a modal dialog, full-screen on phones.
#[component]
fn OpenSearch() -> impl IntoView {
    let chat = use_chat();
    let search = use_search();
    let rooms = use_rooms();
    let i18n = use_i18n();
    let input = NodeRef::<html::Input>::new();
    let dialog = NodeRef::<html::Div>::new();
    // Where the focus was, to give it back on closing.
    let opener = StoredValue::new_local(document().active_element());
    on_cleanup(move || {
        let back = opener
            .get_value()
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        let back = back.filter(|e| e.is_connected()).or_else(|| {
            document()
                .get_element_by_id("composer-input")
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        });
        if let Some(back) = back {
            request_animation_frame(move || {
                let _ = back.focus();
            });
        }
    });
    // Into the box on opening; a search kept from before is asked again
    // if the room shown changed under "this room" (or was never sent).
    Effect::new(move |_| {
        if input.get().is_some() {
            focus_input();
            search.search_now(&rooms.current_untracked());
        }
    });
    let close = move || search.change(|s| s.close());
    // The timer of the pause after typing, replaced by each keystroke.
    let pause = StoredValue::new_local(None::<TimeoutHandle>);
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        let ticket = search.typed(&text);
        if let Some(timer) = pause.get_value() {
            timer.clear();
        }
        let timer = set_timeout_with_handle(
            move || search.send_due(ticket, &rooms.current_untracked()),
            DEBOUNCE,
        )
        .ok();
        pause.set_value(timer);
    };
    on_cleanup(move || {
        if let Some(timer) = pause.get_value() {
            timer.clear();
        }
    });
    let open_chosen = move || {
        let to_open = || search.with_untracked(|s| s.to_open().map(|h| (h.room.clone(), h.id)));
        let chosen = to_open().or_else(|| {
            // Nothing to open yet: search now, without waiting for the pause.
            search.search_now(&rooms.current_untracked());
            to_open()
        });
        if let Some((room, id)) = chosen {
            close();
            chat.open_message(room, id);
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let ctrl = ev.ctrl_key() || ev.meta_key();
        match ev.key().as_str() {
            "Escape" => close(),
            "ArrowDown" => search.change(|s| s.down()),
            "ArrowUp" => search.change(|s| s.up()),
            "Home" if ctrl => search.change(|s| s.first()),
            "End" if ctrl => search.change(|s| s.last()),
            "Enter" if ev.target() == input.get_untracked().map(Into::into) => open_chosen(),
            "Tab" => {
                keep_focus_inside(dialog, FOCUSABLE, ev.shift_key(), &ev);
                return;
            }
            _ => return,
        }
        ev.prevent_default();
        ev.stop_propagation();
    };
    // The option the keyboard is on stays in view.
    Effect::new(move |_| {
        if let Some(id) = search.with(|s| s.chosen().map(|h| h.id)) {
            if let Some(option) = document().get_element_by_id(&hit_id(id)) {
                let options = web_sys::ScrollIntoViewOptions::new();
                options.set_block(web_sys::ScrollLogicalPosition::Nearest);
                option.scroll_into_view_with_scroll_into_view_options(&options);
            }
        }
    });
    let active = move || search.with(|s| s.chosen().map(|h| hit_id(h.id)));
    let expanded = move || search.with(|s| !s.hits().is_empty()).to_string();
    view! {
        <div class="search-backdrop" on:click=move |_| close()></div>
        <div
            id="search-panel"
            class="search-panel"
            role="dialog"
            aria-modal="true"
            aria-labelledby="search-title"
            node_ref=dialog
            on:keydown=on_keydown
        >
            <div class="search-head">
                <h2 id="search-title" class="search-title">{move || i18n.t().search.open}</h2>
                <button
                    type="button"
                    id="search-close"
                    class="search-close"
                    aria-label=move || i18n.t().close
                    title=move || i18n.t().close
                    on:click=move |_| close()
                >
                    "×"
                </button>
            </div>
            <input
                id="search-input"
                class="search-input"
                type="search"
                role="combobox"
                autocomplete="off"
                spellcheck="false"
                enterkeyhint="search"
                aria-autocomplete="list"
                aria-controls="search-results"
                aria-expanded=expanded
                aria-activedescendant=active
                aria-describedby="search-trouble"
                aria-label=move || i18n.t().search.input_label
                placeholder=move || i18n.t().search.placeholder
                prop:value=move || search.with_untracked(|s| s.text().to_owned())
                node_ref=input
                on:input=on_input
            />
            <SearchOptions />
            <SearchTrouble />
            <SearchResults on_open=Callback::new(move |at: usize| {
                search.change(|s| s.select(at));
                open_chosen();
            }) />
            <SearchStatus />
        </div>
    }
}

/// The scope and order switches: two groups of two pressed buttons.
#[component]
fn SearchOptions() -> impl IntoView {
    let search = use_search();
    let rooms = use_rooms();
    let i18n = use_i18n();
    let is_scope = move |want: Scope| Signal::derive(move || search.with(|s| s.scope() == want));
    let to_scope = move |want: Scope| {
        Callback::new(move |()| search.set_scope(want, &rooms.current_untracked()))
    };
    let is_order =
        move |want: SearchOrder| Signal::derive(move || search.with(|s| s.order() == want));
    let to_order = move |want: SearchOrder| {
        Callback::new(move |()| search.set_order(want, &rooms.current_untracked()))
    };
    view! {
        <div class="search-options">
            <div class="search-switch" role="group" aria-label=move || i18n.t().search.scope_label>
                <Toggle
                    id="search-everywhere"
                    pressed=is_scope(Scope::Everywhere)
                    on_press=to_scope(Scope::Everywhere)
                >
                    {move || i18n.t().search.everywhere}
                </Toggle>
                <Toggle
                    id="search-this-room"
                    pressed=is_scope(Scope::ThisRoom)
                    on_press=to_scope(Scope::ThisRoom)
                >
                    {move || i18n.t().search.this_room}
                </Toggle>
            </div>
            <div class="search-switch" role="group" aria-label=move || i18n.t().search.order_label>
                <Toggle
                    id="search-newest"
                    pressed=is_order(SearchOrder::Newest)
                    on_press=to_order(SearchOrder::Newest)
                >
                    {move || i18n.t().search.newest}
                </Toggle>
                <Toggle
                    id="search-best"
                    pressed=is_order(SearchOrder::Best)
                    on_press=to_order(SearchOrder::Best)
                >
                    {move || i18n.t().search.best}
                </Toggle>
            </div>
        </div>
    }
}

/// One choice of a switch: a button that is pressed (`aria-pressed`)
/// while its choice is in force, and puts it in force.
#[component]
fn Toggle(
    /// The button's element id.
    id: &'static str,
    /// Whether this choice is the one in force.
    pressed: Signal<bool>,
    /// Puts this choice in force.
    on_press: Callback<()>,
    /// The button's label.
    children: Children,
) -> impl IntoView {
    view! {
        <button
            type="button"
            id=id
            aria-pressed=move || pressed.get().to_string()
            on:click=move |_| on_press.run(())
        >
            {children()}
        </button>
    }
}

/// Why nothing is shown: the query's mistake (never sent), the server's
/// refusal, a rate limit. The search box names it as its description.
#[component]
fn SearchTrouble() -> impl IntoView {
    let search = use_search();
    let i18n = use_i18n();
    let text = move || {
        let t = &i18n.t().search;
        search.with(|s| match s.trouble()? {
            Trouble::Query(error) => Some((t.query_error)(error)),
            Trouble::Refused(message) => Some((t.refused)(message)),
            Trouble::RateLimited(ms) => Some((t.rate_limited)(ms.map(|ms| ms.div_ceil(1000)))),
        })
    };
    view! {
        <p id="search-trouble" class="search-trouble field-error" hidden=move || text().is_none()>
            {move || text().unwrap_or_default()}
        </p>
    }
}

/// The count for screen readers (and the eye), the page after, and the
/// keys.
#[component]
fn SearchStatus() -> impl IntoView {
    let search = use_search();
    let i18n = use_i18n();
    let status = move || {
        let t = &i18n.t().search;
        match search.with(SearchState::status) {
            Status::Idle | Status::Trouble => String::new(),
            Status::Searching => t.searching.to_owned(),
            Status::Found { count, more } => (t.found)(count as u64, more),
            Status::Nothing => t.nothing.to_owned(),
        }
    };
    let can_more = move || search.with(|s| s.has_more());
    view! {
        <div class="search-foot">
            <Show when=can_more>
                <button
                    type="button"
                    id="search-more"
                    class="search-more"
                    disabled=move || search.with(|s| s.is_waiting())
                    on:click=move |_| search.more()
                >
                    {move || i18n.t().search.more}
                </button>
            </Show>
            <p id="search-status" class="search-status" role="status" aria-live="polite" aria-atomic="true">
                {status}
            </p>
            <p class="search-keys" aria-hidden="true">{move || i18n.t().search.keys_hint}</p>
        </div>
    }
}
