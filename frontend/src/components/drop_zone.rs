//! Dropping files on the conversation (desktop): while files are dragged
//! over it an overlay says they will be attached, and dropping attaches
//! them to the composer, as the paper-clip button does.

use leptos::prelude::*;
use web_sys::DragEvent;

use super::attach::{attach, files_of};
use crate::i18n::use_i18n;
use crate::state::attachments::use_attachments;
use crate::state::notices::use_notices;

/// Whether what is dragged is files (not text or a link from the page).
fn carries_files(ev: &DragEvent) -> bool {
    ev.data_transfer()
        .is_some_and(|data| data.types().includes(&"Files".into(), 0))
}

/// The conversation's section, taking dropped files.
#[component]
pub(crate) fn DropZone(children: Children) -> impl IntoView {
    let i18n = use_i18n();
    let attachments = use_attachments();
    let notices = use_notices();
    // Enter and leave come for every child crossed: the overlay shows
    // while more have entered than left.
    let depth = RwSignal::new(0i32);
    view! {
        <section
            class="conversation"
            on:dragenter=move |ev: DragEvent| {
                if carries_files(&ev) {
                    ev.prevent_default();
                    depth.update(|d| *d += 1);
                }
            }
            on:dragover=move |ev: DragEvent| {
                // Needed for the drop to come here rather than open the file.
                if carries_files(&ev) {
                    ev.prevent_default();
                }
            }
            on:dragleave=move |ev: DragEvent| {
                if carries_files(&ev) {
                    depth.update(|d| *d = (*d - 1).max(0));
                }
            }
            on:drop=move |ev: DragEvent| {
                depth.set(0);
                let files = files_of(ev.data_transfer().and_then(|data| data.files()));
                if !files.is_empty() {
                    ev.prevent_default();
                    attach(attachments, notices, files);
                }
            }
        >
            {children()}
            <Show when=move || depth.get().is_positive()>
                <div class="drop-overlay" aria-hidden="true">
                    <p>{move || i18n.t().files.drop_here}</p>
                </div>
            </Show>
        </section>
    }
}
