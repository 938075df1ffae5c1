//! What can be done to a message, shown on hover, keyboard focus or a long
//! press: reply, react; on someone else's, message its author (with a
//! held name) and report it; on my own, edit and delete.

use std::time::Duration;

use chat_shared::{ChatMessage, REACTION_EMOJI};
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::feed_focus::InMessage;
use crate::i18n::use_i18n;
use crate::state::authorship::use_authorship;
use crate::state::composing::use_composing;
use crate::state::outbox::use_outbox;
use crate::state::people::use_people;
use crate::state::session::use_session;

/// Whether a long press shows a message's actions. A touch screen has no
/// hover to end, so the message provides this and an action that is done
/// (a reply, a reaction, an edit) puts them away.
#[derive(Clone, Copy)]
pub(crate) struct PressedOpen(pub(crate) RwSignal<bool>);

/// How long a delete waits for its confirmation before it disarms: a
/// delete armed and forgotten must not go off at the next click.
const DELETE_ARMED: Duration = Duration::from_secs(4);

/// The action bar of `message`, read as it is when an action is chosen.
/// Delete asks for a second press, for a few seconds; the reaction picker
/// offers the fixed set of emoji, in the Tab order right after React (and
/// so before Edit and Delete), kept inside the message list when it opens. Escape closes the picker and goes back to
/// React.
#[component]
pub(crate) fn MessageActions(message: ReadSignal<ChatMessage>) -> impl IntoView {
    let session = use_session();
    let outbox = use_outbox();
    let composing = use_composing();
    let authorship = use_authorship();
    let people = use_people();
    let i18n = use_i18n();
    let (id, author) = message.with_untracked(|m| (m.id, m.username.clone()));
    let picking = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    // The actions are out of the Tab order (one Tab stop per message is
    // the point) until the keyboard comes in: Enter on the message, or a
    // click. Then Tab goes through them, and on out of the message.
    let entered = RwSignal::new(false);
    let action_tab_index = move || if entered.get() { "0" } else { "-1" };
    let toolbar = NodeRef::<html::Div>::new();
    let react_button = NodeRef::<html::Button>::new();
    let picker_box = NodeRef::<html::Div>::new();
    let own = move || authorship.owns(id);
    let pressed = use_context::<PressedOpen>();
    let done = move || {
        if let Some(PressedOpen(open)) = pressed {
            open.set(false);
        }
    };
    // Actions put away take their open picker with them.
    if let Some(PressedOpen(open)) = pressed {
        Effect::new(move |_| {
            if !open.get() {
                picking.set(false);
            }
        });
    }
    let above = RwSignal::new(false);
    // The picker closed (an emoji chosen, Escape): the keyboard goes back
    // to React rather than to the page.
    let close_picker = move || {
        picking.set(false);
        if let Some(button) = react_button.get_untracked() {
            let _ = button.focus();
        }
    };
    // Opened: the keyboard goes to the first emoji (once they render).
    let open_picker = move || {
        picking.set(true);
        above.set(false);
        request_animation_frame(move || {
            keep_in_list(picker_box, above);
            let first = picker_box
                .get_untracked()
                .and_then(|p| p.query_selector(".pick").ok().flatten())
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(first) = first {
                let _ = first.focus();
            }
        });
    };
    // An armed delete disarms by itself after a moment, and when the
    // pointer leaves the message.
    let disarm_timer = StoredValue::new(None::<TimeoutHandle>);
    // Also from a blur or a timer that may come after the message left
    // the page: hence `try_`.
    let disarm = move || {
        if let Some(Some(timer)) = disarm_timer.try_update_value(Option::take) {
            timer.clear();
        }
        let _ = confirming.try_set(false);
    };
    let arm = move || {
        disarm();
        confirming.set(true);
        disarm_timer.set_value(set_timeout_with_handle(disarm, DELETE_ARMED).ok());
    };
    if let Some(in_message) = use_context::<InMessage>() {
        Effect::new(move |_| {
            in_message.left.track();
            disarm();
        });
    }
    on_cleanup(disarm);
    let picker = move || {
        picking.get().then(|| {
            REACTION_EMOJI
                .iter()
                .map(|emoji| {
                    let mine_on = move || {
                        message.with_untracked(|m| {
                            m.reactions.iter().any(|r| {
                                r.emoji == *emoji
                                    && r.users
                                        .iter()
                                        .any(|u| session.with_untracked(|s| s.is_mine(u)))
                            })
                        })
                    };
                    view! {
                        <button
                            type="button"
                            class="pick"
                            data-emoji=*emoji
                            aria-label=*emoji
                            on:click=move |_| {
                                outbox.react(id, emoji, !mine_on());
                                close_picker();
                                done();
                            }
                        >
                            {*emoji}
                        </button>
                    }
                })
                .collect_view()
        })
    };
    // Someone else's message: write to its author, report it.
    let others_author = StoredValue::new(author.clone());
    let others_actions = move || {
        let theirs = !session.is_mine(&others_author.get_value());
        theirs.then(|| {
            let label = super::bidi::isolate(&others_author.get_value());
            let report_label = label.clone();
            view! {
                {move || people.held().then(|| {
                    let label = label.clone();
                    view! {
                        <button
                            type="button"
                            class="action action-dm"
                            tabindex=action_tab_index
                            aria-label=move || (i18n.t().message_person_label)(&label)
                            title=move || i18n.t().message_person
                            on:click=move |_| {
                                others_author.with_value(|author| people.open_dm(author));
                                done();
                            }
                        >
                            {move || i18n.t().message_person}
                        </button>
                    }
                })}
                <button
                    type="button"
                    class="action action-report"
                    tabindex=action_tab_index
                    aria-label=move || (i18n.t().report_label)(&report_label)
                    title=move || i18n.t().report
                    on:click=move |_| {
                        // The browser's own prompt: a reason, or cancel.
                        let asked = window()
                            .prompt_with_message_and_default(i18n.t().report_prompt, "");
                        if let Ok(Some(reason)) = asked {
                            people.report(id, &reason);
                        }
                        done();
                    }
                >
                    {move || i18n.t().report}
                </button>
            }
        })
    };
    let own_actions = move || {
        own().then(|| {
            view! {
                <button
                    type="button"
                    class="action action-edit"
                    tabindex=action_tab_index
                    aria-label=move || i18n.t().edit_label
                    title=move || i18n.t().edit_label
                    on:click=move |_| {
                        composing.edit(&message.get_untracked());
                        done();
                    }
                >
                    {move || i18n.t().edit}
                </button>
                <button
                    type="button"
                    class="action action-delete danger"
                    class:confirming=move || confirming.get()
                    tabindex=action_tab_index
                    aria-label=move || {
                        let t = i18n.t();
                        if confirming.get() { t.confirm_delete_mine_label } else { t.delete_mine_label }
                    }
                    on:click=move |_| {
                        if confirming.get_untracked() {
                            disarm();
                            outbox.delete(id);
                            composing.stop_editing(id);
                        } else {
                            arm();
                        }
                    }
                    on:blur=move |_| disarm()
                >
                    {move || {
                        let t = i18n.t();
                        if confirming.get() { t.confirm_delete_mine } else { t.delete }
                    }}
                </button>
            }
        })
    };
    view! {
        <div
            class="msg-actions"
            node_ref=toolbar
            role="toolbar"
            aria-label=move || i18n.t().message_actions
            on:focusin=move |_| entered.set(true)
            on:focusout=move |ev| {
                let to = ev.related_target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
                if !toolbar.get_untracked().is_some_and(|bar| bar.contains(to.as_ref())) {
                    entered.set(false);
                }
            }
            on:keydown=move |ev| {
                if ev.key() == "Escape" && picking.get_untracked() {
                    // Handled here: the list's Escape (back to the
                    // message) is for the next press.
                    ev.prevent_default();
                    close_picker();
                } else if move_along(&ev) {
                    ev.prevent_default();
                }
            }
        >
            <button
                type="button"
                class="action action-reply"
                tabindex=action_tab_index
                aria-label=move || (i18n.t().reply_label)(&super::bidi::isolate(&author))
                title=move || i18n.t().reply
                on:click=move |_| {
                    composing.reply(&message.get_untracked());
                    done();
                }
            >
                {move || i18n.t().reply}
            </button>
            <button
                type="button"
                class="action action-react"
                node_ref=react_button
                tabindex=action_tab_index
                aria-expanded=move || picking.get().to_string()
                aria-label=move || i18n.t().react
                title=move || i18n.t().react
                on:click=move |_| if picking.get_untracked() { close_picker() } else { open_picker() }
            >
                <span aria-hidden="true">"☺"</span>
            </button>
            // Right after React, so the emoji come before Edit and Delete
            // in the Tab order (it is placed by the stylesheet).
            <div
                class="reaction-picker"
                class:above=move || above.get()
                node_ref=picker_box
                hidden=move || !picking.get()
            >
                {picker}
            </div>
            {others_actions}
            {own_actions}
        </div>
    }
}

/// Left and Right move to the button beside the focused one (among the
/// actions, or the emoji in the open picker), as in any toolbar; returns
/// whether the key was one of them.
fn move_along(ev: &leptos::ev::KeyboardEvent) -> bool {
    let forward = match ev.key().as_str() {
        "ArrowLeft" => false,
        "ArrowRight" => true,
        _ => return false,
    };
    let mut at = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok());
    while let Some(element) = at {
        at = if forward {
            element.next_element_sibling()
        } else {
            element.previous_element_sibling()
        };
        if let Some(button) = at.as_ref().filter(|e| e.tag_name() == "BUTTON") {
            if let Some(button) = button.dyn_ref::<web_sys::HtmlElement>() {
                let _ = button.focus();
            }
            break;
        }
    }
    true
}

/// What an opened picker needs to be seen whole in the message list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// It is inside the list's visible area.
    Fits,
    /// It runs past the list's bottom: open it over the toolbar instead.
    Flip,
    /// Even so it does not fit (or it sits in the message itself, on a
    /// phone): scroll the list to it.
    Scroll,
}

impl Fit {
    /// Where the picker's `top` and `bottom` are against the list's, in
    /// viewport pixels, and whether it already opens upwards.
    fn of(picker: (f64, f64), list: (f64, f64), flipped: bool) -> Self {
        let (top, bottom) = picker;
        let (list_top, list_bottom) = list;
        if top >= list_top && bottom <= list_bottom {
            Fit::Fits
        } else if bottom > list_bottom && !flipped {
            Fit::Flip
        } else {
            Fit::Scroll
        }
    }
}

/// Keeps the open picker `picker` inside the message list's visible area:
/// flipped over the toolbar near the list's bottom, else the list scrolled
/// to it. A picker in the message's own flow (a phone's long press) does
/// not move when flipped, so the second look scrolls.
fn keep_in_list(picker: NodeRef<html::Div>, above: RwSignal<bool>) {
    let Some(el) = picker.get_untracked() else {
        return;
    };
    let Ok(Some(list)) = el.closest(".messages") else {
        return;
    };
    let (rect, list) = (
        el.get_bounding_client_rect(),
        list.get_bounding_client_rect(),
    );
    match Fit::of(
        (rect.top(), rect.bottom()),
        (list.top(), list.bottom()),
        above.get_untracked(),
    ) {
        Fit::Fits => {}
        Fit::Flip => {
            above.set(true);
            request_animation_frame(move || keep_in_list(picker, above));
        }
        Fit::Scroll => {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Nearest);
            el.scroll_into_view_with_scroll_into_view_options(&options);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Fit;

    #[test]
    fn a_picker_inside_the_list_stays() {
        assert_eq!(Fit::of((100.0, 200.0), (50.0, 600.0), false), Fit::Fits);
    }

    #[test]
    fn a_picker_past_the_bottom_flips_once_then_scrolls() {
        assert_eq!(Fit::of((550.0, 650.0), (50.0, 600.0), false), Fit::Flip);
        assert_eq!(Fit::of((550.0, 650.0), (50.0, 600.0), true), Fit::Scroll);
    }

    #[test]
    fn a_picker_past_the_top_scrolls() {
        assert_eq!(Fit::of((20.0, 120.0), (50.0, 600.0), true), Fit::Scroll);
        assert_eq!(Fit::of((20.0, 120.0), (50.0, 600.0), false), Fit::Scroll);
    }
}
