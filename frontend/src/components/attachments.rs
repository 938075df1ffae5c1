//! A message's files in the conversation: its images as thumbnails in a
//! small grid (sized from the attachment before they load, so the list
//! does not jump, with the blurred preview behind them), the other files
//! as cards with a download link. A thumbnail opens the lightbox.

use chat_shared::files::{human_size, thumb_path, Attachment};
use chat_shared::ChatMessage;
use leptos::prelude::*;

use super::attach::icon_for;
use super::feed_focus::tab_index;
use super::lightbox::open_lightbox;
use crate::i18n::use_i18n;
use crate::state::attachments::use_attachments;
use crate::state::conversation::use_conversation;
use crate::state::gallery::use_gallery;
use crate::state::rooms::use_rooms;

/// The width thumbnails are shown at, at most (CSS pixels): the 320
/// thumbnail fills it on an ordinary screen.
const THUMB_PX: u32 = 320;

/// The URL of `attachment`'s thumbnail for `want` pixels (or of the file
/// itself when there is none: it is small), with the room's read `query`.
pub(crate) fn picture_url(attachment: &Attachment, want: u32, query: &str) -> String {
    let path = match attachment.thumb_for(want) {
        Some(size) => thumb_path(&attachment.id, size),
        None => attachment.path(),
    };
    format!("{path}{query}")
}

/// The files of `message`, under its caption; nothing for a deleted one.
#[component]
pub(crate) fn MessageFiles(message: ReadSignal<ChatMessage>) -> impl IntoView {
    let files = Memo::new(move |_| {
        message.with(|m| match m.deleted {
            true => Vec::new(),
            false => m.attachments.clone(),
        })
    });
    let images = move || {
        files.with(|f| {
            f.iter()
                .filter(|a| a.is_image())
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let others = move || {
        files.with(|f| {
            f.iter()
                .filter(|a| !a.is_image())
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    move || {
        let images = images();
        let others = others();
        let count = images.len();
        view! {
            {(!images.is_empty()).then(|| view! {
                <div class="file-images" data-count=count.min(4)>
                    {images.into_iter().map(|a| view! { <Thumbnail attachment=a /> }).collect_view()}
                </div>
            })}
            {(!others.is_empty()).then(|| view! {
                <ul class="file-cards">
                    {others.into_iter().map(|a| view! { <FileCard attachment=a /> }).collect_view()}
                </ul>
            })}
        }
    }
}

/// One image: a button that opens it in the lightbox.
#[component]
fn Thumbnail(attachment: Attachment) -> impl IntoView {
    let i18n = use_i18n();
    let attachments = use_attachments();
    let rooms = use_rooms();
    let gallery = use_gallery();
    let conversation = use_conversation();
    let loaded = RwSignal::new(false);
    let query = move || attachments.read_query(&rooms.current());
    // Once shown, a picture keeps its URL: a renewed read token must not
    // load every picture on the page again.
    let src = {
        let attachment = attachment.clone();
        Memo::new(move |shown: Option<&String>| match shown {
            Some(shown) if loaded.get_untracked() => shown.clone(),
            _ => picture_url(&attachment, THUMB_PX, &query()),
        })
    };
    let (width, height) = match (attachment.width, attachment.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
        _ => (THUMB_PX, THUMB_PX),
    };
    // The box keeps the image's shape from the start; the tiny preview,
    // blurred, fills it until the thumbnail is in.
    let mut style = format!("aspect-ratio: {width} / {height};");
    if let Some(preview) = attachment.preview.as_deref() {
        style.push_str(&format!(
            "background-image: url(\"data:image/jpeg;base64,{preview}\");"
        ));
    }
    let name = attachment.name.clone();
    let id = attachment.id.clone();
    let label = {
        let name = name.clone();
        move || (i18n.t().files.open_image)(&name)
    };
    view! {
        <button
            type="button"
            class="file-image"
            class:loaded=move || loaded.get()
            data-file-id=attachment.id.clone()
            style=style
            tabindex=tab_index()
            aria-label=label
            on:click=move |_| open_lightbox(gallery, conversation, &id)
        >
            <img
                src=src
                alt=name
                width=width
                height=height
                loading="lazy"
                decoding="async"
                on:load=move |_| loaded.set(true)
            />
        </button>
    }
}

/// A file that is not shown inline: its kind, name and size, and a link
/// that downloads it.
#[component]
fn FileCard(attachment: Attachment) -> impl IntoView {
    let i18n = use_i18n();
    let attachments = use_attachments();
    let rooms = use_rooms();
    let path = attachment.path();
    let href = move || format!("{path}{}", attachments.read_query(&rooms.current()));
    let name = attachment.name.clone();
    let label = {
        let name = name.clone();
        move || (i18n.t().files.download_name)(&name)
    };
    view! {
        <li class="file-card">
            <span class="file-icon" aria-hidden="true">{icon_for(&attachment.content_type)}</span>
            <span class="file-text">
                <span class="file-name" dir="auto">{name.clone()}</span>
                <span class="file-size">{human_size(attachment.size)}</span>
            </span>
            <a
                class="file-download"
                href=href
                download=name
                tabindex=tab_index()
                aria-label=label.clone()
                title=label
            >
                <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                    <path d="M11 4h2v9.2l3.6-3.6L18 11l-6 6-6-6 1.4-1.4 3.6 3.6zM5 18h14v2H5z"></path>
                </svg>
            </a>
        </li>
    }
}
