//! Catching up (issue 24), as the conversation and the side panel show
//! it: the "New messages" divider, the bar that jumps back to it or marks
//! the room read, reporting what has been seen, and a room's counts.

use leptos::html;
use leptos::prelude::*;

use crate::i18n::use_i18n;
use crate::state::conversation::{use_conversation, Conversation, EntryKind};
use crate::state::rooms::use_rooms;
use crate::state::unread::{badge_text, use_unread};

/// What has been in view is reported this long after the last change (a
/// scroll, a new message), so a fast scroll sends one marker, not fifty.
const REPORT_AFTER: std::time::Duration = std::time::Duration::from_millis(1000);

/// The message the divider sits above, for every line (one memo for the
/// list rather than one subscription per line).
#[derive(Clone, Copy)]
pub(crate) struct DividerAt(pub(crate) Memo<Option<u64>>);

/// Provides [`DividerAt`] for the lines of the list.
pub(crate) fn provide_divider() -> Memo<Option<u64>> {
    let unread = use_unread();
    let divider = Memo::new(move |_| unread.with(|u| u.divider()));
    provide_context(DividerAt(divider));
    divider
}

/// "New messages", above message `id` while it is the first unread one.
#[component]
pub(crate) fn UnreadDivider(id: u64) -> impl IntoView {
    let i18n = use_i18n();
    let Some(DividerAt(divider)) = use_context::<DividerAt>() else {
        return ().into_any();
    };
    view! {
        <Show when=move || divider.get() == Some(id)>
            // In the feed only messages are articles: plain text, as the
            // join and leave notices.
            <li id="unread-divider" class="unread-divider" role="none">
                <span>{move || i18n.t().unread_divider}</span>
            </li>
        </Show>
    }
    .into_any()
}

/// The newest message (not a change) on the page: what "Mark as read"
/// and a view at the bottom have seen.
fn newest_message_id(conversation: Conversation) -> Option<u64> {
    conversation.with_untracked(|c| {
        c.entries()
            .iter()
            .rev()
            .find_map(|entry| match &entry.kind {
                EntryKind::Message { message, .. } => Some(message.id),
                _ => None,
            })
    })
}

/// The newest message whose top is inside `scroller`'s visible area.
fn newest_in_view(scroller: &web_sys::HtmlDivElement) -> Option<u64> {
    let bottom = scroller.get_bounding_client_rect().bottom();
    let timeline = scroller.query_selector("#timeline").ok()??;
    let lines = timeline.get_elements_by_class_name("msg");
    (0..lines.length()).rev().find_map(|index| {
        let line = lines.item(index)?;
        if line.get_bounding_client_rect().top() >= bottom {
            return None;
        }
        line.get_attribute("data-id")?.parse().ok()
    })
}

/// Moves my read marker to the newest message in view, `REPORT_AFTER` a
/// change, while the tab is visible. Returns the function to call on each
/// change (a scroll, a new line, the tab shown again). The list owns the
/// timer: it is cleared when the list goes (the join form after a removed
/// device, a released name), so no report runs against a list that left.
pub(crate) fn report_reads(scroller: NodeRef<html::Div>) -> impl Fn() + Copy + 'static {
    let unread = use_unread();
    let rooms = use_rooms();
    // The report waiting to run, if any: one at a time.
    let pending = StoredValue::new(None::<TimeoutHandle>);
    // From a timer: `try_` in case the list left all the same.
    let report = move || {
        let _ = pending.try_set_value(None);
        if document().hidden() {
            return;
        }
        let Some(Some(el)) = scroller.try_get_untracked() else {
            return;
        };
        if let Some(id) = newest_in_view(&el) {
            unread.seen(&rooms.current_untracked(), id);
        }
    };
    let schedule = move || {
        if pending.with_value(Option::is_none) {
            pending.set_value(set_timeout_with_handle(report, REPORT_AFTER).ok());
        }
    };
    let listener = window_event_listener(leptos::ev::visibilitychange, move |_| schedule());
    on_cleanup(move || {
        listener.remove();
        if let Some(Some(timer)) = pending.try_update_value(Option::take) {
            timer.clear();
        }
    });
    schedule
}

/// Over the list while the divider is there: "Jump to first unread" while
/// it is out of view above, and "Mark as read", which puts it away.
#[component]
pub(crate) fn UnreadBar(divider_above: RwSignal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let unread = use_unread();
    let rooms = use_rooms();
    let conversation = use_conversation();
    let DividerAt(divider) = expect_context::<DividerAt>();
    let jump = move |_| {
        if let Ok(Some(line)) = document().query_selector("#unread-divider") {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Start);
            line.scroll_into_view_with_scroll_into_view_options(&options);
        }
        divider_above.set(false);
    };
    let mark =
        move |_| unread.mark_all_read(&rooms.current_untracked(), newest_message_id(conversation));
    view! {
        <Show when=move || divider.get().is_some()>
            <div class="unread-bar">
                <Show when=move || divider_above.get()>
                    <button id="jump-to-unread" type="button" class="unread-pill" on:click=jump>
                        <span aria-hidden="true">"↑ "</span>
                        {move || i18n.t().jump_to_unread}
                    </button>
                </Show>
                <button id="mark-as-read" type="button" class="unread-pill" on:click=mark>
                    {move || i18n.t().mark_as_read}
                </button>
            </div>
        </Show>
    }
}

/// Whether the divider lies above the visible part of `scroller`.
pub(crate) fn divider_is_above(scroller: &web_sys::HtmlDivElement) -> bool {
    let Ok(Some(line)) = document().query_selector("#unread-divider") else {
        return false;
    };
    line.get_bounding_client_rect().bottom() < scroller.get_bounding_client_rect().top()
}

/// When a room opens with more unread messages than fit, the view starts
/// at the divider rather than the bottom. Runs after the list has
/// followed its newest line (two frames later), and only as the divider
/// first appears in a room.
pub(crate) fn open_at_divider(
    scroller: NodeRef<html::Div>,
    divider: Memo<Option<u64>>,
    at_bottom: RwSignal<bool>,
) {
    Effect::new(move |previous: Option<Option<u64>>| {
        let now = divider.get();
        if previous.flatten().is_none() && now.is_some() {
            // Two frames on, the list may have gone (hence `try_`).
            request_animation_frame(move || {
                request_animation_frame(move || {
                    let Some(Some(el)) = scroller.try_get_untracked() else {
                        return;
                    };
                    let Ok(Some(line)) = document().query_selector("#unread-divider") else {
                        return;
                    };
                    let view = el.get_bounding_client_rect();
                    if line.get_bounding_client_rect().top() >= view.top() {
                        return;
                    }
                    at_bottom.set(false);
                    let options = web_sys::ScrollIntoViewOptions::new();
                    options.set_block(web_sys::ScrollLogicalPosition::Start);
                    options.set_behavior(web_sys::ScrollBehavior::Instant);
                    line.scroll_into_view_with_scroll_into_view_options(&options);
                });
            });
        }
        now
    });
}

/// A room's unread count and, apart, how many of those call me; a screen
/// reader hears both after the room's name. Nothing while none.
#[component]
pub(crate) fn RoomCounts(room: String) -> impl IntoView {
    let unread = use_unread();
    let i18n = use_i18n();
    let room = StoredValue::new(room);
    let counts = Memo::new(move |_| {
        room.with_value(|room| unread.with(|u| (u.unread(room), u.mentions(room))))
    });
    move || {
        let (count, mentions) = counts.get();
        (count > 0).then(|| {
            view! {
                <span class="room-unread" title=move || (i18n.t().unread_count)(u64::from(count))>
                    <span aria-hidden="true">{badge_text(count)}</span>
                    <span class="sr-only">
                        {move || format!(", {}", (i18n.t().unread_count)(u64::from(count)))}
                    </span>
                </span>
                {(mentions > 0).then(|| view! {
                    <span class="room-mentions" title=move || (i18n.t().mention_count)(u64::from(mentions))>
                        <span aria-hidden="true">{format!("@{}", badge_text(mentions))}</span>
                        <span class="sr-only">
                            {move || format!(", {}", (i18n.t().mention_count)(u64::from(mentions)))}
                        </span>
                    </span>
                })}
            }
        })
    }
}
