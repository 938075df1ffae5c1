//! What can be done to a message, shown on hover, keyboard focus or a long
//! press: reply, react, and on my own, edit and delete.

use chat_shared::{ChatMessage, REACTION_EMOJI};
use leptos::html;
use leptos::prelude::*;

use crate::i18n::use_i18n;
use crate::state::authorship::use_authorship;
use crate::state::composing::use_composing;
use crate::state::outbox::use_outbox;
use crate::state::session::use_session;

/// Whether a long press shows a message's actions. A touch screen has no
/// hover to end, so the message provides this and an action that is done
/// (a reply, a reaction, an edit) puts them away.
#[derive(Clone, Copy)]
pub(crate) struct PressedOpen(pub(crate) RwSignal<bool>);

/// The action bar of `message`, read as it is when an action is chosen.
/// Delete asks for a second click; the reaction picker offers the fixed
/// set of emoji, kept inside the message list when it opens.
#[component]
pub(crate) fn MessageActions(message: ReadSignal<ChatMessage>) -> impl IntoView {
    let session = use_session();
    let outbox = use_outbox();
    let composing = use_composing();
    let authorship = use_authorship();
    let i18n = use_i18n();
    let (id, author) = message.with_untracked(|m| (m.id, m.username.clone()));
    let picking = RwSignal::new(false);
    let confirming = RwSignal::new(false);
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
    let picker_ref = NodeRef::<html::Div>::new();
    let above = RwSignal::new(false);
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
                                picking.set(false);
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
    let own_actions = move || {
        own().then(|| {
            view! {
                <button
                    type="button"
                    class="action action-edit"
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
                    aria-label=move || {
                        let t = i18n.t();
                        if confirming.get() { t.confirm_delete_mine } else { t.delete_mine_label }
                    }
                    on:click=move |_| {
                        if confirming.get_untracked() {
                            confirming.set(false);
                            outbox.delete(id);
                            composing.stop_editing(id);
                        } else {
                            confirming.set(true);
                        }
                    }
                    on:blur=move |_| confirming.set(false)
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
        <div class="msg-actions" role="toolbar" aria-label=move || i18n.t().message_actions>
            <button
                type="button"
                class="action action-reply"
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
                aria-expanded=move || picking.get().to_string()
                aria-label=move || i18n.t().react
                title=move || i18n.t().react
                on:click=move |_| {
                    picking.update(|p| *p = !*p);
                    if picking.get_untracked() {
                        above.set(false);
                        request_animation_frame(move || keep_in_list(picker_ref, above));
                    }
                }
            >
                <span aria-hidden="true">"☺"</span>
            </button>
            {own_actions}
            <div
                class="reaction-picker"
                class:above=move || above.get()
                node_ref=picker_ref
                hidden=move || !picking.get()
            >
                {picker}
            </div>
        </div>
    }
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
