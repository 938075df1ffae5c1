use leptos::html;
use leptos::prelude::*;

use super::feed_focus::{message_of, on_feed_key, FeedFocus};
use super::message::{EntryView, OutgoingView};
use super::stay_at_bottom::stay_at_bottom;
use super::unread::{divider_is_above, open_at_divider, provide_divider, report_reads, UnreadBar};
use crate::chat::use_chat;
use crate::i18n::use_i18n;
use crate::state::conversation::history::Older;
use crate::state::conversation::{use_conversation, ConversationState};
use crate::state::outbox::use_outbox;
use crate::state::rooms::use_rooms;
use crate::state::session::use_session;

/// How close to the bottom (in CSS pixels) still counts as "at the bottom".
const BOTTOM_SLACK_PX: i32 = 48;
/// Scrolling this close to the top asks for older messages.
const LOAD_OLDER_PX: i32 = 200;
/// How long a jumped-to original stays highlighted.
const SPOTLIGHT: std::time::Duration = std::time::Duration::from_millis(2500);

/// The conversation. It follows new messages only while the reader is at
/// the bottom; a reader scrolled up to read older ones gets a "new
/// messages" pill instead of being yanked down. Scrolling to the top loads
/// older messages without moving what the reader is looking at.
#[component]
pub(crate) fn MessageList() -> impl IntoView {
    let chat = use_chat();
    let conversation = use_conversation();
    let outbox = use_outbox();
    let rooms = use_rooms();
    let session = use_session();
    let i18n = use_i18n();
    let feed = FeedFocus::provide(conversation);
    let scroller = NodeRef::<html::Div>::new();
    let at_bottom = RwSignal::new(true);
    let unseen = RwSignal::new(0u64);
    // Catching up: the "New messages" divider, whether it is above the
    // view (the jump pill shows), and my read marker following the view.
    let divider = provide_divider();
    let divider_above = RwSignal::new(false);
    open_at_divider(scroller, divider, at_bottom);
    let report = report_reads(scroller);
    // While older messages load: how far the view was from the bottom, so
    // it can stay there as they are inserted above.
    let keep_from_bottom = StoredValue::new(None::<i32>);
    let load_older = move |el: &web_sys::HtmlDivElement| {
        if untrack(|| conversation.with(ConversationState::older)) == Older::MayExist {
            keep_from_bottom.set_value(Some(el.scroll_height() - el.scroll_top()));
            // Asked only where it can go: an empty page that cannot ask
            // does not learn that it has nothing older.
            if untrack(|| chat.can_send()) {
                conversation.load_older();
            }
        }
    };

    // Following new messages jumps, so a burst of messages never leaves the
    // view mid-animation (and the reader wrongly "scrolled up").
    let follow = move || {
        if let Some(el) = scroller.get_untracked() {
            let options = web_sys::ScrollToOptions::new();
            options.set_top(f64::from(el.scroll_height()));
            options.set_behavior(web_sys::ScrollBehavior::Instant);
            el.scroll_to_with_scroll_to_options(&options);
        }
    };
    // A reader at the bottom stays there as what is on screen grows.
    stay_at_bottom(scroller, at_bottom, BOTTOM_SLACK_PX, follow);
    // The pill glides down (the stylesheet's smooth scrolling, which it
    // turns off for reduced motion).
    let scroll_to_bottom = move || {
        if let Some(el) = scroller.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    };
    // Where the last scroll event left the view.
    let last_top = StoredValue::new(0);
    let on_scroll = move |_| {
        if let Some(el) = scroller.get_untracked() {
            let top = el.scroll_top();
            // Moving down never leaves the bottom: when text above rewraps
            // taller, the browser scrolls down to keep the view in place,
            // and that event can come before the list follows the growth.
            let moved_down = top > last_top.get_value();
            last_top.set_value(top);
            let bottom = el.scroll_height() - top - el.client_height() <= BOTTOM_SLACK_PX
                || (moved_down && at_bottom.get_untracked());
            at_bottom.set(bottom);
            if bottom {
                unseen.set(0);
            }
            if el.scroll_top() < LOAD_OLDER_PX {
                load_older(&el);
            }
            divider_above.set(divider_is_above(&el));
            report();
        }
    };

    // When older messages are in (or the request ended), put the view back
    // where it was; and if the page still does not fill the scroller, there
    // is nothing to scroll, so load more by itself.
    Effect::new(move |_| {
        let older = conversation.with(ConversationState::older);
        conversation.keys();
        if older == Older::Loading {
            return;
        }
        request_animation_frame(move || {
            let Some(el) = scroller.get_untracked() else {
                return;
            };
            if let Some(from_bottom) = keep_from_bottom.get_value() {
                keep_from_bottom.set_value(None);
                // At once: a smooth glide would show the jump it undoes.
                let options = web_sys::ScrollToOptions::new();
                options.set_top(f64::from(el.scroll_height() - from_bottom));
                options.set_behavior(web_sys::ScrollBehavior::Instant);
                el.scroll_to_with_scroll_to_options(&options);
            }
            if el.scroll_height() <= el.client_height() + LOAD_OLDER_PX {
                load_older(&el);
            }
        });
    });

    // Reacts to each new line: the newest line's key and whether it is
    // mine, plus how many of my messages are still pending.
    Effect::new(move |previous: Option<(Option<u64>, usize)>| {
        let newest = conversation.with(ConversationState::newest);
        let pending = outbox.len();
        let current = (newest.map(|n| n.key), pending);
        let Some(previous) = previous else {
            // What the room opened with, once in view, is read too.
            request_animation_frame(follow);
            report();
            return current;
        };
        let new_entry = newest.filter(|n| Some(n.key) != previous.0);
        if new_entry.is_some() {
            report();
        }
        let sent_one = pending > previous.1;
        let mine = sent_one || new_entry.is_some_and(|n| n.mine);
        if mine || (new_entry.is_some() && at_bottom.get_untracked()) {
            request_animation_frame(follow);
        } else if new_entry.is_some_and(|n| n.is_message) {
            unseen.update(|n| *n += 1);
        }
        current
    });
    // A clicked quote's original, once on the page: scroll it to the
    // middle and highlight it for a moment.
    Effect::new(move |_| {
        let Some(id) = conversation.spotlight() else {
            return;
        };
        request_animation_frame(move || {
            conversation.spotlight_done();
            let selector = format!("#timeline li.msg[data-id=\"{id}\"]");
            let Ok(Some(line)) = document().query_selector(&selector) else {
                return;
            };
            // The reader is taken away from the bottom: nothing may pull
            // the view back there while it glides (its scroll events come
            // only as it moves).
            at_bottom.set(false);
            // Nor back to where it was before older messages came in: a
            // room just opened at a message (a search result, a
            // notification) may have asked for them to fill the view, and
            // putting that view back would scroll the message away.
            keep_from_bottom.set_value(None);
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Center);
            line.scroll_into_view_with_scroll_into_view_options(&options);
            let classes = line.class_list();
            let _ = classes.remove_1("spotlight");
            let _ = classes.add_1("spotlight");
            set_timeout(
                move || {
                    let _ = classes.remove_1("spotlight");
                },
                SPOTLIGHT,
            );
        });
    });
    let page_empty = move || conversation.with(|c| c.entries().is_empty());
    let show_empty = move || page_empty() && outbox.is_empty();
    let show_start =
        move || conversation.with(ConversationState::older) == Older::NoMore && !page_empty();

    view! {
        <div class="messages-wrap">
            <UnreadBar divider_above />
            <div
                class="messages"
                node_ref=scroller
                on:scroll=on_scroll
                role="region"
                aria-label=move || i18n.t().messages_label
            >
                <Show when=show_empty>
                    <p class="empty">{move || i18n.t().empty_conversation}</p>
                </Show>
                <Show when=move || conversation.with(ConversationState::older) == Older::Loading>
                    <p id="history-loading" class="history-edge" role="status">
                        {move || i18n.t().loading_older}
                    </p>
                </Show>
                <Show when=show_start>
                    <p id="history-start" class="history-edge">
                        {move || {
                            let me = session.name().unwrap_or_default();
                            match rooms.current_dm_names(&me) {
                                Some(names) => (i18n.t().dm_start)(&names),
                                None => (i18n.t().history_start)(&rooms.current()),
                            }
                        }}
                    </p>
                </Show>
                <ol
                    class="timeline"
                    id="timeline"
                    role=move || feed.has_messages().then_some("feed")
                    aria-busy=move || {
                        (conversation.with(ConversationState::older) == Older::Loading).to_string()
                    }
                    on:keydown=move |ev| on_feed_key(feed, &ev)
                    on:focusin=move |ev| {
                        if let Some(key) = message_of(ev.target()).and_then(|(_, key)| key) {
                            feed.focused(key);
                        }
                    }
                >
                    <For
                        each=move || conversation.keys()
                        key=|key| *key
                        children=move |key| view! { <EntryView key /> }
                    />
                </ol>
                <ol class="timeline pending" id="pending">
                    <For
                        each=move || outbox.keys()
                        key=|key| *key
                        children=move |key| view! { <OutgoingView key /> }
                    />
                </ol>
            </div>
            <Show when=move || { unseen.get() > 0 }>
                <button
                    id="new-messages"
                    class="new-pill"
                    type="button"
                    on:click=move |_| {
                        scroll_to_bottom();
                        unseen.set(0);
                    }
                >
                    {move || (i18n.t().new_messages)(unseen.get())}
                    <span aria-hidden="true">" ↓"</span>
                </button>
            </Show>
        </div>
    }
}
