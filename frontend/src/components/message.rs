use leptos::prelude::*;

use super::avatar::Avatar;
use super::moderation::MessageModeration;
use crate::i18n::{use_i18n, Problem};
use crate::linkify::{segments, Segment};
use crate::state::conversation::{use_conversation, EntryKind};
use crate::state::outbox::{use_outbox, Delivery};
use crate::time::clock_and_full;

/// How long a touch must rest on a message to show its full date.
const LONG_PRESS_MS: u64 = 500;

/// One line of the conversation, `key`: a message or a joined/left
/// notice. What it shows never changes, except whether it continues the
/// line above, which it reads from its own signal.
#[component]
pub fn EntryView(key: u64) -> impl IntoView {
    let conversation = use_conversation();
    let i18n = use_i18n();
    let Some(entry) = conversation.entry(key) else {
        return ().into_any();
    };
    let continues = ReadSignal::from(conversation.continues(key));
    match entry.kind {
        EntryKind::Joined(name) => view! {
            <li class="notice joined">{move || (i18n.t().user_joined)(&name)}</li>
        }
        .into_any(),
        EntryKind::Left(name) => view! {
            <li class="notice left">{move || (i18n.t().user_left)(&name)}</li>
        }
        .into_any(),
        EntryKind::Earlier => view! {
            <li class="notice earlier">{move || i18n.t().earlier_messages}</li>
        }
        .into_any(),
        EntryKind::Message { message, mine } => {
            let (clock, full) = clock_and_full(&message.timestamp, i18n.lang_untracked().code())
                .unwrap_or_default();
            // Phones have no hover: a long press on the message, or a tap
            // on its time, shows the full date instead of the tooltip.
            let show_full = RwSignal::new(false);
            let press = StoredValue::new(None::<TimeoutHandle>);
            let end_press = move || {
                if let Some(timer) = press.get_value() {
                    timer.clear();
                    press.set_value(None);
                }
            };
            let start_press = move |ev: leptos::ev::PointerEvent| {
                if ev.pointer_type() == "touch" {
                    end_press();
                    let timer = set_timeout_with_handle(
                        move || show_full.set(true),
                        std::time::Duration::from_millis(LONG_PRESS_MS),
                    );
                    press.set_value(timer.ok());
                }
            };
            let author = message.username.clone();
            let moderation = view! { <MessageModeration id=message.id author=author.clone() /> };
            let full_title = full.clone();
            let avatar = {
                let author = author.clone();
                move || (!continues.get()).then(|| view! { <Avatar name=author.clone() /> })
            };
            let header = move || {
                (!continues.get()).then(|| {
                    view! {
                        <span class="author">
                            {author.clone()}
                            {mine.then(|| view! {
                                <span class="you">" · " {move || i18n.t().you}</span>
                            })}
                        </span>
                    }
                })
            };
            view! {
                <li
                    class="msg"
                    class:mine=mine
                    class:continues=move || continues.get()
                    data-id=message.id
                >
                    {avatar}
                    <div
                        class="bubble"
                        on:pointerdown=start_press
                        on:pointerup=move |_| end_press()
                        on:pointercancel=move |_| end_press()
                        on:pointerleave=move |_| end_press()
                    >
                        {header}
                        <MessageText text=message.text />
                        <time
                            datetime=message.timestamp
                            title=full_title
                            on:click=move |_| show_full.update(|s| *s = !*s)
                        >
                            {move || if show_full.get() { full.clone() } else { clock.clone() }}
                        </time>
                        {moderation}
                    </div>
                </li>
            }
            .into_any()
        }
    }
}

/// A message of mine on its way, `key`: queued until connected, sent and
/// waiting for the server's copy, or refused with a way to resend. Its
/// text never changes; its delivery state comes from its own signal.
#[component]
pub fn OutgoingView(key: u64) -> impl IntoView {
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
                <MessageText text=item.unsent.text />
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

/// Message text as text nodes (never HTML), with web links made clickable.
/// Line breaks are kept by the stylesheet (`white-space: pre-wrap`).
#[component]
pub fn MessageText(text: String) -> impl IntoView {
    let parts = segments(&text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(text) => text.to_owned().into_any(),
            Segment::Link(url) => view! {
                <a href=url.to_owned() target="_blank" rel="noopener noreferrer">
                    {url.to_owned()}
                </a>
            }
            .into_any(),
        })
        .collect_view();
    view! { <p class="text">{parts}</p> }
}
