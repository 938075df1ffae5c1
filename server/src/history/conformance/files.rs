//! The files half of every store: each content kept once, uploads by
//! room and uploader, a resend answered with the first, files going out
//! with a message and coming back in its pages, and what nothing refers
//! to any more handed back to be deleted.

use super::{changed, message, moderator_delete};
use crate::history::files::{NewUpload, StoredFile};
use crate::history::store::{Appended, Store};
use chat_shared::files::Attachment;

/// A content of `size` bytes named by `sha`.
pub(crate) fn content(sha: &str, size: u64) -> StoredFile {
    StoredFile {
        sha256: sha.repeat(64 / sha.len().max(1)),
        size,
        content_type: "image/png".into(),
        width: Some(800),
        height: Some(600),
        thumbs: vec![320],
        preview: Some("cHJldmlldw".into()),
    }
}

/// An upload by bob to general with the client's id `key`, at `ms`.
pub(crate) fn upload(id: &str, key: &str, ms: u64) -> NewUpload {
    NewUpload {
        id: id.repeat(32 / id.len().max(1)),
        room: "general".into(),
        name: format!("{key}.png"),
        uploader: "bob".into(),
        upload_key: key.into(),
        created_ms: ms,
    }
}

/// Posts bob's message in general carrying `files`.
fn post_with(store: &mut dyn Store, text: &str, files: Vec<Attachment>) -> Appended {
    let mut with = message("general", "bob", text, None);
    with.attachments = files;
    store.append(&[with]).expect("append").remove(0)
}

pub(super) fn a_content_is_kept_once_and_a_resent_upload_is_the_first(store: &mut dyn Store) {
    assert_eq!(store.files_secret("first").expect("secret"), "first");
    assert_eq!(store.files_secret("second").expect("secret"), "first");
    let photo = content("a", 1000);
    let first = store
        .add_upload(&photo, &upload("1", "one", 10))
        .expect("add");
    assert_eq!(first.id, "1".repeat(32));
    assert_eq!(
        (first.size, first.width, first.thumbs.clone()),
        (1000, Some(800), vec![320])
    );
    assert_eq!(first.name, "one.png");
    // A resend (the same client id) is the first upload, under its id.
    let again = store
        .add_upload(&photo, &upload("2", "one", 11))
        .expect("again");
    assert_eq!(again, first);
    // The same content under another upload: a second upload, one content.
    let other = store
        .add_upload(&photo, &upload("3", "two", 12))
        .expect("other");
    assert_eq!(other.id, "3".repeat(32));
    assert_eq!(store.stored_bytes().expect("stored"), 1000);
    assert_eq!(
        store.stored_file(&photo.sha256).expect("file"),
        Some(photo.clone())
    );
    assert_eq!(store.stored_file(&"f".repeat(64)).expect("none"), None);
    // Each upload counts against the hour; the resend did not.
    assert_eq!(store.uploaded_since("bob", 0).expect("bob"), 2000);
    assert_eq!(store.uploaded_since("bob", 12).expect("late"), 1000);
    assert_eq!(store.uploaded_since("alice", 0).expect("alice"), 0);
    let found = store.download(&first.id).expect("download").expect("found");
    assert_eq!(
        (found.room.as_str(), found.name.as_str()),
        ("general", "one.png")
    );
    assert_eq!(store.download(&"9".repeat(32)).expect("download"), None);
}

pub(super) fn files_go_out_once_with_their_message_and_show_in_its_pages(store: &mut dyn Store) {
    let first = store
        .add_upload(&content("a", 10), &upload("1", "one", 1))
        .expect("add");
    let second = store
        .add_upload(&content("b", 20), &upload("2", "two", 1))
        .expect("add");
    let ids = vec![second.id.clone(), first.id.clone()];
    // Only the uploader's, only in the room, only unsent.
    assert_eq!(
        store.unsent_uploads("other", "bob", &ids).expect("room"),
        None
    );
    assert_eq!(
        store.unsent_uploads("general", "alice", &ids).expect("who"),
        None
    );
    let found = store.unsent_uploads("general", "bob", &ids).expect("found");
    assert_eq!(found, Some(vec![second.clone(), first.clone()]));
    let Appended::New { message: sent, .. } =
        post_with(store, "two files", vec![second.clone(), first.clone()])
    else {
        panic!("not stored");
    };
    assert_eq!(sent.attachments, [second.clone(), first.clone()]);
    // Sent once: not again, by this message or another.
    assert_eq!(
        store.unsent_uploads("general", "bob", &ids).expect("sent"),
        None
    );
    assert_eq!(
        post_with(store, "again", vec![first.clone()]),
        Appended::AttachmentNotFound
    );
    let page = store.page_before("general", u64::MAX, 10).expect("page");
    let shown = page
        .iter()
        .find(|shown| shown.id == sent.id)
        .expect("in the page");
    assert_eq!(shown.attachments, [second, first]);
}

pub(super) fn deleting_a_message_frees_the_files_nothing_else_refers_to(store: &mut dyn Store) {
    let shared = content("a", 10);
    let one = store
        .add_upload(&shared, &upload("1", "one", 1))
        .expect("add");
    let two = store
        .add_upload(&shared, &upload("2", "two", 1))
        .expect("add");
    let own = store
        .add_upload(&content("b", 20), &upload("3", "three", 1))
        .expect("add");
    let never = store
        .add_upload(&content("c", 30), &upload("4", "four", 5))
        .expect("add");
    let Appended::New { message: first, .. } = post_with(store, "a", vec![one, own]) else {
        panic!("not stored");
    };
    let Appended::New {
        message: second, ..
    } = post_with(store, "b", vec![two])
    else {
        panic!("not stored");
    };
    // Nothing is free yet; an unsent upload is kept for a while.
    assert_eq!(store.take_unreferenced(5).expect("none"), []);
    changed(store, &moderator_delete(first.id, None));
    let freed: Vec<String> = store
        .take_unreferenced(5)
        .expect("freed")
        .into_iter()
        .map(|file| file.sha256)
        .collect();
    // The content only the deleted message had; the shared one stays.
    assert_eq!(freed, ["b".repeat(64)]);
    assert_eq!(store.stored_bytes().expect("left"), 40);
    // The unsent upload goes once it is old enough.
    let freed = store.take_unreferenced(6).expect("old");
    assert_eq!(freed.len(), 1);
    assert_eq!(freed[0].sha256, "c".repeat(64));
    assert_eq!(store.download(&never.id).expect("gone"), None);
    changed(store, &moderator_delete(second.id, None));
    assert_eq!(store.take_unreferenced(6).expect("last").len(), 1);
    assert_eq!(store.stored_bytes().expect("empty"), 0);
    for message in store.page_before("general", u64::MAX, 10).expect("page") {
        assert!(message.attachments.is_empty(), "{message:?}");
    }
}
