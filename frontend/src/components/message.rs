use chat_shared::files::caption;
use chat_shared::ChatMessage;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::attachments::MessageFiles;
use super::avatar::Avatar;
use super::bidi::sentence_with_names;
use super::feed_focus::{use_feed_focus, InMessage};
use super::message_actions::{MessageActions, PressedOpen};
use super::message_text::MessageText;
use super::moderation::MessageModeration;
use super::quote::ReplyQuote;
use super::reactions::ReactionChips;
use super::unread::UnreadDivider;
use crate::i18n::{use_i18n, Problem};
use crate::state::conversation::{use_conversation, EntryKind};
use crate::state::outbox::{queue::Delivery, use_outbox};
use crate::state::session::use_session;
use crate::state::unread::calls;
use crate::time::clock_and_full;

/// How long a touch must rest on a message to show its full date and
/// its actions.
const LONG_PRESS_MS: u64 = 500;
/// How long a long press keeps a message's actions showing.
const ACTIONS_OPEN_MS: u64 = 10_000;

/// One line of the conversation, `key`: a message or a joined/left
/// notice. Whether it continues the line above, and its message (edited,
/// deleted, reacted to), it reads from signals of its own.
#[component]
pub(crate) fn EntryView(key: u64) -> impl IntoView {
    let conversation = use_conversation();
    let feed = use_feed_focus();
    let i18n = use_i18n();
    let Some(entry) = conversation.entry(key) else {
        return ().into_any();
    };
    let continues = ReadSignal::from(conversation.continues(key));
    // In a feed only the messages are articles: a notice is plain text.
    let notice_role = move || feed.has_messages().then_some("none");
    match entry.kind {
        EntryKind::Joined(name) => view! {
            <li class="notice joined" role=notice_role>
                {move || sentence_with_names(std::slice::from_ref(&name), |n| (i18n.t().user_joined)(&n[0]))}
            </li>
        }
        .into_any(),
        EntryKind::Left(name) => view! {
            <li class="notice left" role=notice_role>
                {move || sentence_with_names(std::slice::from_ref(&name), |n| (i18n.t().user_left)(&n[0]))}
            </li>
        }
        .into_any(),
        EntryKind::Earlier => view! {
            <li class="notice earlier" role=notice_role>{move || i18n.t().earlier_messages}</li>
        }
        .into_any(),
        EntryKind::Gap => view! {
            <li class="notice gap" role=notice_role>{move || i18n.t().gap}</li>
        }
        .into_any(),
        EntryKind::Message { message, mine } => {
            let live = conversation
                .message_signal(key)
                .map(ReadSignal::from)
                .unwrap_or_else(|| RwSignal::new(message.clone()).read_only());
            let (clock, full) = clock_and_full(&message.timestamp, i18n.lang_untracked().code())
                .unwrap_or_default();
            // Phones have no hover: a long press on the message, or a tap
            // on its time, shows the full date instead of the tooltip, and
            // the press shows the message's actions too.
            let show_full = RwSignal::new(false);
            let actions_open = RwSignal::new(false);
            provide_context(PressedOpen(actions_open));
            let press = StoredValue::new(None::<TimeoutHandle>);
            let auto_close = StoredValue::new(None::<TimeoutHandle>);
            // Which touch on the message this is, and which one opened its
            // actions: a later touch that turns into a scroll puts them away.
            let touches = StoredValue::new(0u32);
            let opened_by = StoredValue::new(0u32);
            // Whether this touch has already opened the actions: its lift
            // must not also click what now lies under the finger (the
            // actions appear under the text, often right there).
            let pressed_long = StoredValue::new(false);
            let row = NodeRef::<html::Li>::new();
            // Touching anywhere else (to scroll, or to do something else)
            // puts open actions away, as a menu goes.
            Effect::new(move |_| {
                if !actions_open.get() {
                    return;
                }
                let handle = window_event_listener(leptos::ev::pointerdown, move |ev| {
                    let on_this = ev
                        .target()
                        .and_then(|target| target.dyn_into::<web_sys::Node>().ok())
                        .zip(row.get_untracked())
                        .is_some_and(|(target, row)| row.contains(Some(&target)));
                    if !on_this {
                        actions_open.set(false);
                    }
                });
                on_cleanup(move || handle.remove());
            });
            let end_press = move || {
                if let Some(timer) = press.get_value() {
                    timer.clear();
                    press.set_value(None);
                }
            };
            let start_press = move |ev: leptos::ev::PointerEvent| {
                if ev.pointer_type() == "touch" {
                    end_press();
                    pressed_long.set_value(false);
                    touches.update_value(|n| *n = n.wrapping_add(1));
                    let timer = set_timeout_with_handle(
                        move || {
                            show_full.set(true);
                            pressed_long.set_value(true);
                            opened_by.set_value(touches.get_value());
                            actions_open.set(true);
                            // They open under the text, in the list's
                            // flow: near the bottom, the list shows them.
                            request_animation_frame(move || show_actions(row));
                            // A touch screen has no hover to end: the
                            // actions go again by themselves, counted from
                            // this press (not an earlier one's timer).
                            if let Some(earlier) = auto_close.get_value() {
                                earlier.clear();
                            }
                            let timer = set_timeout_with_handle(
                                move || actions_open.set(false),
                                std::time::Duration::from_millis(ACTIONS_OPEN_MS),
                            );
                            auto_close.set_value(timer.ok());
                        },
                        std::time::Duration::from_millis(LONG_PRESS_MS),
                    );
                    press.set_value(timer.ok());
                }
            };
            // Only the message that is the Tab stop has its controls in
            // the Tab order (see `feed_focus`).
            let tab_stop = Memo::new(move |_| feed.is_stop(key));
            let position = Memo::new(move |_| feed.position(key));
            let left = Trigger::new();
            provide_context(InMessage {
                tab_stop: tab_stop.into(),
                left,
            });
            let author = message.username.clone();
            let deleted = Memo::new(move |_| live.with(|m| m.deleted));
            // Mentions me or replies to mine: highlighted (the shared rule).
            let session = use_session();
            let calls_me = Memo::new(move |_| {
                let me = session.name().unwrap_or_default();
                !me.is_empty() && live.with(|m| calls(m, &me))
            });
            let id = message.id;
            // A tombstone has nothing left to moderate.
            let moderation = {
                let (id, author) = (message.id, author.clone());
                move || {
                    (!deleted.get())
                        .then(|| view! { <MessageModeration id author=author.clone() /> })
                }
            };
            let full_title = full.clone();
            let avatar = {
                let author = author.clone();
                move || (!continues.get()).then(|| view! { <Avatar name=author.clone() /> })
            };
            let header = move || {
                (!continues.get()).then(|| {
                    view! {
                        <span class="author">
                            <bdi>{author.clone()}</bdi>
                            {mine.then(|| view! {
                                <span class="you">" · " {move || i18n.t().you}</span>
                            })}
                        </span>
                    }
                })
            };
            view! {
                <UnreadDivider id />
                <li
                    class="msg"
                    node_ref=row
                    class:calls-me=move || calls_me.get()
                    class:mine=mine
                    class:continues=move || continues.get()
                    class:deleted=move || deleted.get()
                    class:actions-open=move || actions_open.get()
                    data-id=message.id
                    data-key=key
                    role="article"
                    tabindex=move || if tab_stop.get() { "0" } else { "-1" }
                    aria-posinset=move || position.get()
                    aria-setsize=move || feed.size()
                    // Escape closes the actions a long press opened (the
                    // list takes the focus back to the message).
                    on:keydown=move |ev| {
                        if ev.key() == "Escape" {
                            actions_open.set(false);
                        }
                    }
                    on:pointerleave=move |ev| {
                        // A finger lifted "leaves" too; only a mouse or a
                        // pen really goes elsewhere.
                        if ev.pointer_type() != "touch" {
                            left.notify();
                        }
                    }
                >
                    {avatar}
                    <div
                        class="bubble"
                        on:pointerdown=start_press
                        on:pointerup=move |_| end_press()
                        on:touchend=move |ev| {
                            // No click after a long press (a default
                            // prevented at the lift is how a page says so).
                            if pressed_long.get_value() {
                                pressed_long.set_value(false);
                                ev.prevent_default();
                            }
                        }
                        on:pointercancel=move |_| {
                            end_press();
                            if touches.get_value() != opened_by.get_value() {
                                actions_open.set(false);
                            }
                        }
                        on:pointerleave=move |_| end_press()
                    >
                        {header}
                        <Show when=move || calls_me.get()>
                            <span class="sr-only">{move || format!("({}) ", i18n.t().calls_you)}</span>
                        </Show>
                        <MessageBody message=live />
                        <MessageFiles message=live />
                        <time
                            datetime=message.timestamp
                            title=full_title
                            on:click=move |_| show_full.update(|s| *s = !*s)
                        >
                            {move || if show_full.get() { full.clone() } else { clock.clone() }}
                        </time>
                        {moderation}
                        <MessageExtras message=live />
                    </div>
                </li>
            }
            .into_any()
        }
    }
}

/// Scrolls the message list just enough to show the actions of the
/// message `row` whole.
fn show_actions(row: NodeRef<html::Li>) {
    let actions = row
        .get_untracked()
        .and_then(|row| row.query_selector(".msg-actions").ok().flatten());
    if let Some(actions) = actions {
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Nearest);
        actions.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

/// A message of mine on its way, `key`: queued until connected, sent and
/// waiting for the server's copy, or refused with a way to resend. Its
/// text never changes; its delivery state comes from its own signal.
#[component]
pub(crate) fn OutgoingView(key: u64) -> impl IntoView {
    let outbox = use_outbox();
    let i18n = use_i18n();
    let Some(item) = outbox.item(key) else {
        return ().into_any();
    };
    let delivery = ReadSignal::from(outbox.delivery(key));
    let state = move || delivery.with(Delivery::name);
    let status = move || match delivery.get() {
        Delivery::Queued => view! {
            <span class="delivery">{move || i18n.t().queued}</span>
        }
        .into_any(),
        Delivery::Sending => view! {
            <span class="delivery">{move || i18n.t().sending}</span>
        }
        .into_any(),
        Delivery::Failed(problem) => view! { <Refused key problem /> }.into_any(),
    };
    view! {
        <li class="msg mine outgoing" class:failed=move || state() == "failed" data-state=state>
            <div class="bubble">
                {(!item.unsent.text.is_empty()).then(|| view! { <MessageText text=item.unsent.text.clone() /> })}
                {(!item.unsent.attachments.is_empty()).then(|| {
                    let count = item.unsent.attachments.len() as u64;
                    view! {
                        <span class="outgoing-files">
                            "📎 " {move || (i18n.t().files.file_count)(count)}
                        </span>
                    }
                })}
                {status}
            </div>
        </li>
    }
    .into_any()
}

/// Why the server refused message `key`, and the ways out.
#[component]
fn Refused(key: u64, problem: Problem) -> impl IntoView {
    let outbox = use_outbox();
    let i18n = use_i18n();
    view! {
        <span class="delivery" role="alert">
            <strong>{move || i18n.t().not_delivered}</strong>
            ": "
            {move || problem.describe(i18n.t())}
        </span>
        <span class="delivery-actions">
            <button type="button" class="link-button" on:click=move |_| outbox.resend(key)>
                {move || i18n.t().resend}
            </button>
            <button type="button" class="link-button" on:click=move |_| outbox.discard(key)>
                {move || i18n.t().discard}
            </button>
        </span>
    }
}

/// What a message says now: its quote if it replies, its text (or that
/// it was deleted), and "(edited)" with the time in its tooltip.
#[component]
fn MessageBody(message: ReadSignal<ChatMessage>) -> impl IntoView {
    let i18n = use_i18n();
    let quote = Memo::new(move |_| message.with(|m| m.reply.clone()));
    // A file message shows its caption: the link lines after it are for
    // clients that know nothing of files.
    let text = Memo::new(move |_| {
        message.with(|m| (!m.deleted).then(|| caption(&m.text, &m.attachments).to_owned()))
    });
    let edited_at = Memo::new(move |_| message.with(|m| m.edited_at.clone()));
    let edited_title = move || {
        let at = edited_at.get().unwrap_or_default();
        let full = clock_and_full(&at, i18n.lang().code()).map_or(at, |(_, full)| full);
        (i18n.t().edited_at)(&full)
    };
    view! {
        {move || quote.get().map(|quote| view! { <ReplyQuote quote /> })}
        {move || match text.get() {
            // Files alone, no caption.
            Some(text) if text.is_empty() => ().into_any(),
            Some(text) => view! { <MessageText text /> }.into_any(),
            None => view! {
                <div class="text tombstone">{move || i18n.t().message_deleted}</div>
            }
            .into_any(),
        }}
        {move || {
            (edited_at.with(Option::is_some) && text.with(Option::is_some)).then(|| {
                view! {
                    <span class="edited" title=edited_title>{move || i18n.t().edited}</span>
                }
            })
        }}
    }
}

/// Under a message that is not deleted: its reactions, and the actions
/// on it.
#[component]
fn MessageExtras(message: ReadSignal<ChatMessage>) -> impl IntoView {
    let reactions = Memo::new(move |_| message.with(|m| m.reactions.clone()));
    let deleted = Memo::new(move |_| message.with(|m| m.deleted));
    let id = message.with_untracked(|m| m.id);
    move || {
        (!deleted.get()).then(|| {
            view! {
                {move || {
                    let reactions = reactions.get();
                    (!reactions.is_empty()).then(|| view! { <ReactionChips id reactions /> })
                }}
                <MessageActions message />
            }
        })
    }
}
