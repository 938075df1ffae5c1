//! The search panel's results: a listbox of hits, each with its room (a
//! DM by its other members), author, time, and text and file names with
//! the matches marked (`<mark>` elements built from
//! [`chat_shared::search::highlighted`]'s pieces, never markup from the
//! wire), "…" where the text was cut.

use chat_shared::people::is_dm_room;
use chat_shared::search::{highlighted, SearchHit};
use leptos::prelude::*;

use crate::i18n::use_i18n;
use crate::state::rooms::use_rooms;
use crate::state::search::use_search;
use crate::state::session::use_session;
use crate::time::day_and_clock;

/// The element id of the option of hit `id`, for `aria-activedescendant`.
pub(crate) fn hit_id(id: u64) -> String {
    format!("search-hit-{id}")
}

/// `text` with `ranges` (characters) marked.
#[component]
fn Marked(text: String, ranges: Vec<[u32; 2]>) -> impl IntoView {
    highlighted(&text, &ranges)
        .into_iter()
        .map(|(piece, matched)| {
            let piece = piece.to_owned();
            match matched {
                true => view! { <mark>{piece}</mark> }.into_any(),
                false => piece.into_any(),
            }
        })
        .collect_view()
}

/// The list of hits; `on_open` opens hit `at` (a click or a tap).
#[component]
pub(crate) fn SearchResults(on_open: Callback<usize>) -> impl IntoView {
    let search = use_search();
    let i18n = use_i18n();
    let hits = move || search.with(|s| s.hits().to_vec());
    view! {
        <ul
            id="search-results"
            class="search-results"
            role="listbox"
            aria-label=move || i18n.t().search.results_label
        >
            <For
                each=move || hits().into_iter().enumerate()
                key=|(at, hit)| (*at, hit.id)
                let((at, hit))
            >
                <HitView at hit on_open />
            </For>
        </ul>
    }
}

/// One hit, option `at` of the list.
#[component]
fn HitView(at: usize, hit: SearchHit, on_open: Callback<usize>) -> impl IntoView {
    let search = use_search();
    let rooms = use_rooms();
    let session = use_session();
    let i18n = use_i18n();
    let selected = move || search.with(|s| s.selected() == Some(at)).to_string();
    let room = hit.room.clone();
    let dm = is_dm_room(&room);
    let place = move || match dm {
        true => rooms
            .dm_names(&room, &session.name().unwrap_or_default())
            .map(|names| format!("@{names}"))
            .unwrap_or_else(|| i18n.t().search.direct_message.to_owned()),
        false => format!("#{room}"),
    };
    let (when, full) =
        day_and_clock(&hit.timestamp, i18n.lang_untracked().code()).unwrap_or_default();
    // An option's content is presentational: the files are spans, not a
    // list.
    let files = (!hit.files.is_empty()).then(|| {
        let names = hit
            .files
            .into_iter()
            .map(|file| {
                view! {
                    <span class="search-hit-file" dir="auto">
                        <Marked text=file.name ranges=file.highlights />
                    </span>
                }
            })
            .collect_view();
        view! { <span class="search-hit-files">{names}</span> }
    });
    view! {
        <li
            id=hit_id(hit.id)
            class="search-hit"
            role="option"
            aria-selected=selected
            data-room=hit.room.clone()
            data-id=hit.id.to_string()
            // The search box keeps the focus (and a phone its keyboard).
            on:pointerdown=|ev| ev.prevent_default()
            on:pointermove=move |_| {
                if search.with_untracked(|s| s.selected() != Some(at)) {
                    search.change(|s| s.select(at));
                }
            }
            on:click=move |_| on_open.run(at)
        >
            <div class="search-hit-head">
                <bdi class="search-hit-room">{place}</bdi>
                <bdi class="search-hit-author">{hit.username}</bdi>
                <time class="search-hit-time" datetime=hit.timestamp title=full>{when}</time>
            </div>
            <p class="search-hit-text" dir="auto">
                {hit.cut_before.then_some("…")}
                <Marked text=hit.text ranges=hit.highlights />
                {hit.cut_after.then_some("…")}
            </p>
            {files}
        </li>
    }
}
