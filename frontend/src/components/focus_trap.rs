//! The Tab key inside a modal dialog (the search panel, the lightbox):
//! the focus goes round the dialog's controls and never reaches the page
//! behind it, which `aria-modal` tells a screen reader is out of reach.

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// On Tab (`back`: Shift+Tab) in `dialog`: from its last control to its
/// first (from the first to the last going back), and into it if the
/// focus is somewhere else; between those the browser moves it as usual.
/// `controls` selects what takes the focus in this dialog (as
/// `"button:not([disabled]), input"`). With no control at all the focus
/// stays where it is.
pub(crate) fn keep_focus_inside(
    dialog: NodeRef<html::Div>,
    controls: &str,
    back: bool,
    ev: &leptos::ev::KeyboardEvent,
) {
    let Some(dialog) = dialog.get_untracked() else {
        return;
    };
    let Ok(list) = dialog.query_selector_all(controls) else {
        return;
    };
    let controls: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.get(i))
        .filter_map(|node| node.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    let (Some(first), Some(last)) = (controls.first(), controls.last()) else {
        ev.prevent_default();
        return;
    };
    let active = document().active_element();
    let at = |el: &web_sys::HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == el.unchecked_ref::<web_sys::Element>())
    };
    let inside = active
        .as_ref()
        .is_some_and(|a| dialog.contains(Some(a.unchecked_ref())));
    let target = match (back, inside) {
        (true, true) if at(first) => Some(last),
        (false, true) if at(last) => Some(first),
        (_, false) => Some(first),
        _ => None,
    };
    if let Some(target) = target {
        ev.prevent_default();
        let _ = target.focus();
    }
}
