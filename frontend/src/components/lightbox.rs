//! The lightbox: one image of the conversation, full screen, with the
//! previous and next ones (buttons, arrow keys, a horizontal swipe), a
//! download of the original, and its caption. A modal dialog: the focus
//! stays inside while it is open and goes back to the thumbnail after.

use chat_shared::files::Attachment;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::attachments::picture_url;
use super::focus_trap::keep_focus_inside;
use crate::i18n::use_i18n;
use crate::state::attachments::use_attachments;
use crate::state::conversation::{use_conversation, Conversation, EntryKind};
use crate::state::gallery::{pictures, use_gallery, Gallery, Picture};
use crate::state::rooms::use_rooms;

/// The size of the picture the lightbox asks for (the larger thumbnail).
const FULL_PX: u32 = 1280;
/// A swipe moves to the next picture once it went this far sideways (CSS
/// pixels), more than up or down.
const SWIPE_PX: i32 = 50;
/// What takes the focus in the lightbox: its buttons and the download.
const FOCUSABLE: &str = "button:not([disabled]), a[href]";

/// The pictures of `conversation` now (untracked, or tracked inside a
/// memo with `tracked`).
fn pictures_of(conversation: Conversation, tracked: bool) -> Vec<Picture> {
    let read = |c: &crate::state::conversation::ConversationState| {
        pictures(c.entries().iter().filter_map(|e| match &e.kind {
            EntryKind::Message { message, .. } => Some(message),
            _ => None,
        }))
    };
    match tracked {
        true => conversation.with(read),
        false => conversation.with_untracked(read),
    }
}

/// Opens the lightbox at the picture with file id `id`.
pub(crate) fn open_lightbox(gallery: Gallery, conversation: Conversation, id: &str) {
    let pictures = pictures_of(conversation, false);
    gallery.change(|v| v.open(id, &pictures));
}

/// The lightbox, while a picture is open.
#[component]
pub(crate) fn Lightbox() -> impl IntoView {
    let gallery = use_gallery();
    let conversation = use_conversation();
    let all = Memo::new(move |_| pictures_of(conversation, true));
    // A picture whose message was deleted gives way to its neighbour.
    Effect::new(move |_| {
        all.with(|p| {
            gallery.change(|v| {
                v.follow(p);
            })
        });
    });
    view! {
        <Show when=move || gallery.is_open()>
            <OpenLightbox all />
        </Show>
    }
}

/// The open lightbox.
#[component]
fn OpenLightbox(all: Memo<Vec<Picture>>) -> impl IntoView {
    let gallery = use_gallery();
    let attachments = use_attachments();
    let rooms = use_rooms();
    let i18n = use_i18n();
    let dialog = NodeRef::<html::Div>::new();
    let close_button = NodeRef::<html::Button>::new();
    let at = Memo::new(move |_| {
        let id = gallery.current_id()?;
        all.with(|p| p.iter().position(|p| p.attachment.id == id))
    });
    let shown = Memo::new(move |_| at.get().and_then(|at| all.with(|p| p.get(at).cloned())));
    let count = move || all.with(Vec::len);
    let at_last = move || at.get().unwrap_or(0) + 1 >= count();
    let query = move || attachments.read_query(&rooms.current());
    let step = move |by: isize| {
        all.with_untracked(|p| gallery.change(|v| v.step(by, p)));
    };
    // The thumbnail of the picture last shown gets the focus back.
    let last_id = StoredValue::new(None::<String>);
    Effect::new(move |_| {
        if let Some(id) = gallery.current_id() {
            last_id.set_value(Some(id));
        }
    });
    on_cleanup(move || {
        if let Some(id) = last_id.get_value() {
            request_animation_frame(move || focus_thumbnail(&id));
        }
    });
    let close = move || gallery.change(|v| v.close());
    // The focus goes into the dialog when it opens.
    Effect::new(move |_| {
        if let Some(button) = close_button.get() {
            let _ = button.focus();
        }
    });
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        match ev.key().as_str() {
            "Escape" => {
                close();
            }
            "ArrowLeft" => step(-1),
            "ArrowRight" => step(1),
            "Tab" => {
                keep_focus_inside(dialog, FOCUSABLE, ev.shift_key(), &ev);
                return;
            }
            _ => return,
        }
        ev.prevent_default();
        ev.stop_propagation();
    };
    // A horizontal swipe (finger, pen or mouse drag) steps.
    let start = StoredValue::new(None::<(i32, i32)>);
    let on_pointerdown = move |ev: leptos::ev::PointerEvent| {
        start.set_value(Some((ev.client_x(), ev.client_y())));
    };
    let on_pointerup = move |ev: leptos::ev::PointerEvent| {
        let Some((x, y)) = start.get_value() else {
            return;
        };
        start.set_value(None);
        let (dx, dy) = (ev.client_x() - x, ev.client_y() - y);
        if dx.abs() >= SWIPE_PX && dx.abs() > dy.abs() {
            step(if dx < 0 { 1 } else { -1 });
        }
    };
    let full_src = move || {
        shown
            .get()
            .map(|p| picture_url(&p.attachment, FULL_PX, &query()))
            .unwrap_or_default()
    };
    let original = move || {
        shown
            .get()
            .map(|p| format!("{}{}", p.attachment.path(), query()))
            .unwrap_or_default()
    };
    let name = move || {
        shown.with(|p| {
            p.as_ref()
                .map(|p| p.attachment.name.clone())
                .unwrap_or_default()
        })
    };
    let line = move || {
        shown.with(|p| {
            p.as_ref()
                .map(|p| match p.caption.trim().is_empty() {
                    true => p.attachment.name.clone(),
                    false => p.caption.clone(),
                })
                .unwrap_or_default()
        })
    };
    let shape = move || {
        shown.with(|p| {
            let a = p.as_ref().map(|p| &p.attachment);
            match a.map(|a: &Attachment| (a.width, a.height)) {
                Some((Some(w), Some(h))) if w > 0 && h > 0 => format!("aspect-ratio: {w} / {h};"),
                _ => String::new(),
            }
        })
    };
    view! {
        <div
            class="lightbox"
            id="lightbox"
            role="dialog"
            aria-modal="true"
            aria-label=move || i18n.t().files.viewer_label
            node_ref=dialog
            on:keydown=on_keydown
        >
            <div class="lightbox-bar">
                <span class="lightbox-position" aria-live="polite">
                    {move || (i18n.t().files.position)(at.get().unwrap_or(0) as u64 + 1, count() as u64)}
                </span>
                <a
                    class="round-button lightbox-button lightbox-download"
                    href=original
                    download=name
                    aria-label=move || (i18n.t().files.download_name)(&name())
                    title=move || i18n.t().files.download
                >
                    <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                        <path d="M11 4h2v9.2l3.6-3.6L18 11l-6 6-6-6 1.4-1.4 3.6 3.6zM5 18h14v2H5z"></path>
                    </svg>
                </a>
                <button
                    type="button"
                    class="round-button lightbox-button lightbox-close"
                    node_ref=close_button
                    aria-label=move || i18n.t().close
                    title=move || i18n.t().close
                    on:click=move |_| {
                        close();
                    }
                >
                    "×"
                </button>
            </div>
            <div
                class="lightbox-stage"
                on:pointerdown=on_pointerdown
                on:pointerup=on_pointerup
                on:pointercancel=move |_| start.set_value(None)
            >
                <button
                    type="button"
                    class="round-button lightbox-button lightbox-prev"
                    disabled=move || at.get().unwrap_or(0) == 0
                    aria-label=move || i18n.t().files.previous
                    title=move || i18n.t().files.previous
                    on:click=move |_| step(-1)
                >
                    "‹"
                </button>
                <figure class="lightbox-figure">
                    <img
                        class="lightbox-image"
                        src=full_src
                        alt=name
                        style=shape
                        draggable="false"
                    />
                    <figcaption dir="auto">{line}</figcaption>
                </figure>
                <button
                    type="button"
                    class="round-button lightbox-button lightbox-next"
                    disabled=at_last
                    aria-label=move || i18n.t().files.next
                    title=move || i18n.t().files.next
                    on:click=move |_| step(1)
                >
                    "›"
                </button>
            </div>
        </div>
    }
}

/// Gives the focus to the thumbnail of file `id`, or to the message box
/// when it is gone (its message deleted).
fn focus_thumbnail(id: &str) {
    let selector = format!("button.file-image[data-file-id=\"{id}\"]");
    let target = document()
        .query_selector(&selector)
        .ok()
        .flatten()
        .or_else(|| document().get_element_by_id("composer-input"));
    if let Some(target) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = target.focus();
    }
}
