//! Keeps a reader who is at the bottom of the conversation there when what
//! is already on screen changes size: the last message edited into a long
//! one, a reaction chip appearing under it, a code block laid out, the
//! window or the on-screen keyboard resizing the list. New lines are
//! followed by [`super::messages`] itself; this covers growth without a
//! new line, which moves no scroll position and so fires no scroll event.

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// Calls `follow` whenever the list (`scroller`) or one of its timelines
/// (its `<ol>` children) changes size while the reader was at the bottom
/// (`at_bottom`, within `slack` pixels). The observer runs after layout
/// and before paint, so the reader never sees the newest line cut off; a
/// reader scrolled up is left where they are.
pub(crate) fn stay_at_bottom(
    scroller: NodeRef<html::Div>,
    at_bottom: RwSignal<bool>,
    slack: i32,
    follow: impl Fn() + 'static,
) {
    // The list's scroll and visible heights as last laid out: whether the
    // reader was at the bottom is measured against them, with the scroll
    // position as it is now. `at_bottom` alone can be stale here: a scroll
    // made by the page in this frame (to a quoted original) has moved the
    // view, but its scroll event comes only in the next frame.
    let laid_out = StoredValue::new_local(None::<(i32, i32)>);
    let on_resize = Closure::<dyn Fn()>::new(move || {
        let Some(list) = scroller.get_untracked() else {
            return;
        };
        let sizes = (list.scroll_height(), list.client_height());
        let was_at_bottom = laid_out
            .try_get_value()
            .flatten()
            .is_none_or(|(height, visible)| height - list.scroll_top() - visible <= slack);
        laid_out.try_set_value(Some(sizes));
        if was_at_bottom && at_bottom.try_get_untracked().unwrap_or(false) {
            follow();
        }
    });
    let Ok(observer) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) else {
        return;
    };
    // Kept until the list goes; the cleanup disconnects first, so the
    // callback is never called once dropped.
    let kept = StoredValue::new_local(Some((observer.clone(), on_resize)));
    Effect::new(move |_| {
        let Some(list) = scroller.get() else {
            return;
        };
        observer.observe(&list);
        let children = list.children();
        for index in 0..children.length() {
            if let Some(child) = children.item(index).filter(|c| c.tag_name() == "OL") {
                observer.observe(&child);
            }
        }
    });
    on_cleanup(move || {
        kept.try_update_value(|kept| {
            if let Some((observer, _)) = kept.take() {
                observer.disconnect();
            }
        });
    });
}
