//! Attaching files in the composer: the paper-clip and camera buttons, the
//! chips of the files chosen (with their upload's progress, cancel and
//! retry), and taking files from a paste or a drop. The uploads themselves
//! are [`crate::state::attachments`]'s.

use chat_shared::files::human_size;
use leptos::html;
use leptos::prelude::*;
use web_sys::{File, FileList};

use crate::i18n::{use_i18n, FileStrings, Problem};
use crate::state::attachments::tray::{Refusal, Stage};
use crate::state::attachments::{use_attachments, Attachments};
use crate::state::notices::{use_notices, Notices};
use crate::state::rooms::use_rooms;

/// What the picker offers first: pictures, videos and PDFs; every other
/// file can still be picked (the server decides what it keeps).
const ACCEPT: &str = "image/*,video/*,application/pdf,*/*";

/// The files of a `FileList` (a picker's, a paste's or a drop's).
pub(crate) fn files_of(list: Option<FileList>) -> Vec<File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// Attaches `files` to the composer of the room shown; the ones refused
/// (too large, too many) are told in the notice bar.
pub(crate) fn attach(attachments: Attachments, notices: Notices, files: Vec<File>) {
    if files.is_empty() {
        return;
    }
    let refused = attachments.choose(files);
    if let Some(refusal) = refused.into_iter().next() {
        notices.show(match refusal {
            Refusal::TooLarge { name, max } => Problem::FileTooLarge { name, max },
            Refusal::TooMany => Problem::TooManyFiles,
        });
    }
}

/// Whether this device's main pointer is a finger: it gets a camera
/// button of its own.
fn is_touch() -> bool {
    window()
        .match_media("(pointer: coarse)")
        .ok()
        .flatten()
        .is_some_and(|query| query.matches())
}

/// The paper-clip button (a hidden multiple file input behind it; a
/// phone's picker offers the camera too) and, on touch screens, a camera
/// button that opens the camera straight away.
#[component]
pub(crate) fn AttachButtons(#[prop(into)] disabled: Signal<bool>) -> impl IntoView {
    view! {
        <FileButton
            name="attach"
            accept=ACCEPT
            multiple=true
            label_of=|t| t.attach
            icon="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z"
            disabled
        />
        <Show when=is_touch>
            <FileButton
                name="camera"
                accept="image/*"
                capture="environment"
                label_of=|t| t.camera
                icon="M9 4 7.2 6H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V8a2 2 0 0 0-2-2h-3.2L15 4H9zm3 4.5a4.5 4.5 0 1 1 0 9 4.5 4.5 0 0 1 0-9zm0 2a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5z"
                disabled
            />
        </Show>
    }
}

/// An icon button (`#{name}-button`) in front of a hidden file input
/// (`#{name}-input`) whose chosen files are attached to the composer.
#[component]
fn FileButton(
    /// Names the input and the button by id.
    name: &'static str,
    /// The input's `accept`: what its picker offers.
    accept: &'static str,
    /// The input's `capture`: which camera opens instead of a picker.
    #[prop(optional)]
    capture: Option<&'static str>,
    /// Whether more than one file can be chosen at once.
    #[prop(optional)]
    multiple: bool,
    /// The button's name, read aloud and shown on hover.
    label_of: fn(&FileStrings) -> &'static str,
    /// The icon's SVG path (24 by 24).
    icon: &'static str,
    /// While the composer cannot send.
    disabled: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let attachments = use_attachments();
    let notices = use_notices();
    let input = NodeRef::<html::Input>::new();
    let take = move || {
        if let Some(input) = input.get_untracked() {
            attach(attachments, notices, files_of(input.files()));
            // The same file can be chosen again after a remove.
            input.set_value("");
        }
    };
    let open = move || {
        if let Some(input) = input.get_untracked() {
            input.click();
        }
    };
    let label = move || label_of(&i18n.t().files);
    view! {
        // Hidden: the button is the control (and the tap target); a
        // script's click still opens the picker.
        <input
            id=format!("{name}-input")
            hidden
            type="file"
            multiple=multiple
            accept=accept
            capture=capture
            tabindex="-1"
            aria-hidden="true"
            node_ref=input
            on:change=move |_| take()
        />
        <button
            type="button"
            class="round-button attach"
            id=format!("{name}-button")
            disabled=disabled
            aria-label=label
            title=label
            on:click=move |_| open()
        >
            <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                <path d=icon></path>
            </svg>
        </button>
    }
}

/// The files above the message box: the composer's, and those of
/// messages sent that wait for their uploads.
#[component]
pub(crate) fn FileChips() -> impl IntoView {
    let attachments = use_attachments();
    let rooms = use_rooms();
    let i18n = use_i18n();
    let draft = Memo::new(move |_| attachments.draft_keys(&rooms.current()));
    let waiting = Memo::new(move |_| attachments.waiting_keys(&rooms.current()));
    view! {
        <Show when=move || !waiting.with(Vec::is_empty)>
            <div class="file-chips waiting">
                <span class="chips-note">{move || i18n.t().files.waiting_for_files}</span>
                <ul>
                    <For each=move || waiting.get() key=|key| *key let:key>
                        <FileChip key />
                    </For>
                </ul>
            </div>
        </Show>
        <Show when=move || !draft.with(Vec::is_empty)>
            <ul class="file-chips" id="file-chips" aria-label=move || i18n.t().files.chosen_label>
                <For each=move || draft.get() key=|key| *key let:key>
                    <FileChip key />
                </For>
            </ul>
        </Show>
    }
}

/// One chosen file: its picture or name and size, its upload's progress,
/// why it was refused with a retry, and a × that removes it (cancelling
/// its upload).
#[component]
fn FileChip(key: u64) -> impl IntoView {
    let attachments = use_attachments();
    let i18n = use_i18n();
    let file = Memo::new(move |_| attachments.file(key));
    let Some(first) = file.get_untracked() else {
        return ().into_any();
    };
    let name = first.info.name.clone();
    let size = human_size(first.info.size);
    let preview = attachments.preview(key);
    let stage = move || file.with(|f| f.as_ref().map_or("done", |f| f.stage.name()));
    let percent = move || file.with(|f| f.as_ref().map_or(0, |f| f.percent()));
    let failed = move || {
        file.with(|f| match f.as_ref().map(|f| &f.stage) {
            Some(Stage::Failed(code)) => Some(*code),
            _ => None,
        })
    };
    let status = move || {
        let t = &i18n.t().files;
        match file.with(|f| f.as_ref().map(|f| f.stage.clone())) {
            Some(Stage::Waiting) => t.waiting.to_owned(),
            Some(Stage::Uploading { .. }) => (t.uploading)(percent()),
            Some(Stage::Failed(code)) => (t.upload_error)(code),
            Some(Stage::Done(_)) | None => t.uploaded.to_owned(),
        }
    };
    let remove_label = {
        let name = name.clone();
        move || {
            let t = &i18n.t().files;
            if stage() == "uploading" {
                (t.cancel)(&name)
            } else {
                (t.remove)(&name)
            }
        }
    };
    let picture = match preview {
        Some(url) => view! { <img class="chip-thumb" src=url alt="" /> }.into_any(),
        None => {
            view! { <span class="chip-icon" aria-hidden="true">{icon_for(&first.info.mime)}</span> }
                .into_any()
        }
    };
    view! {
        <li class="file-chip" data-stage=stage title=status>
            {picture}
            <span class="chip-text">
                <span class="chip-name" dir="auto">{name.clone()}</span>
                <span class="chip-size">{size}</span>
                <span class="sr-only" aria-live="polite">{status}</span>
            </span>
            <Show when=move || stage() == "uploading" || stage() == "waiting">
                <progress
                    class="chip-progress"
                    max="100"
                    value=move || percent().to_string()
                    aria-hidden="true"
                ></progress>
            </Show>
            {move || {
                failed()
                    .map(|code| {
                        view! {
                            <span class="chip-error" role="alert">
                                {move || (i18n.t().files.upload_error)(code)}
                            </span>
                            <button
                                type="button"
                                class="link-button chip-retry"
                                on:click=move |_| attachments.retry(key)
                            >
                                {move || i18n.t().files.retry}
                            </button>
                        }
                    })
            }}
            <button
                type="button"
                class="chip-remove"
                aria-label=remove_label.clone()
                title=remove_label
                on:click=move |_| attachments.remove(key)
            >
                "×"
            </button>
        </li>
    }
    .into_any()
}

/// A small picture of a file's kind, by its content type.
pub(crate) fn icon_for(mime: &str) -> &'static str {
    match mime.split('/').next().unwrap_or_default() {
        "image" => "🖼",
        "video" => "🎞",
        "audio" => "🎵",
        "text" => "📄",
        _ if mime == "application/pdf" => "📕",
        _ if mime.contains("zip") || mime.contains("compressed") => "🗜",
        _ => "📎",
    }
}
