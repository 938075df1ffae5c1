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

/// While `at_bottom` holds, calls `follow` whenever the list (`scroller`)
/// or one of its timelines (its `<ol>` children) changes size. The
/// observer runs after layout and before paint, so the reader never sees
/// the newest line cut off; a reader scrolled up is left where they are.
pub(crate) fn stay_at_bottom(
    scroller: NodeRef<html::Div>,
    at_bottom: RwSignal<bool>,
    follow: impl Fn() + 'static,
) {
    let on_resize = Closure::<dyn Fn()>::new(move || {
        if at_bottom.try_get_untracked().unwrap_or(false) {
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
