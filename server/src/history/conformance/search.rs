//! The search half of every store: ranking and order, each filter,
//! English and Russian stems, phrases, the index following edits,
//! deletions and files, DMs kept to their members, highlights as
//! offsets, paging, and the backlog of messages from before the index.

use super::people::hold;
use super::{changed, edit, message, moderator_delete, post, post_message, request};
use crate::history::files::{NewUpload, StoredFile};
use crate::history::search::{Cursor, Hit, Order, SearchPage, SearchQuery, Terms, MAX_SEARCH_PAGE};
use crate::history::store::{NewMessage, Store};
use chat_shared::files::{text_with_links, Attachment};
use std::collections::BTreeSet;

/// No hits.
const NONE: [u64; 0] = [];

/// A search for `text` by a keyless reader, newest first.
fn query(text: &str) -> SearchQuery {
    SearchQuery {
        terms: Terms::parse(text),
        limit: MAX_SEARCH_PAGE,
        ..SearchQuery::default()
    }
}

fn page(store: &mut dyn Store, query: &SearchQuery) -> SearchPage {
    store.search(query).expect("search")
}

/// The ids of the first page's hits, in order.
fn found(store: &mut dyn Store, query: &SearchQuery) -> Vec<u64> {
    page(store, query).hits.iter().map(|hit| hit.id).collect()
}

/// The parts of `text` the ranges mark.
fn marked<'t>(text: &'t str, ranges: &[(usize, usize)]) -> Vec<&'t str> {
    ranges
        .iter()
        .map(|&(start, end)| text.get(start..end).expect("ranges on char boundaries"))
        .collect()
}

/// The only hit of a search.
fn only_hit(store: &mut dyn Store, query: &SearchQuery) -> Hit {
    let mut hits = page(store, query).hits;
    assert_eq!(hits.len(), 1, "{hits:?}");
    hits.remove(0)
}

pub(super) fn hits_come_newest_first_or_best_match_first(store: &mut dyn Store) {
    let many = post(store, "general", "rust rust rust");
    let once = post(
        store,
        "general",
        "rust is one language among many other languages people use every day",
    );
    post(store, "general", "nothing to see here");
    assert_eq!(found(store, &query("rust")), [once, many]);
    let best = SearchQuery {
        order: Order::Best,
        ..query("rust")
    };
    assert_eq!(found(store, &best), [many, once]);
    // Every word is required.
    assert_eq!(found(store, &query("rust languages")), [once]);
    assert_eq!(found(store, &query("rust python")), NONE);
    assert_eq!(found(store, &query("")), [once + 1, once, many], "no terms");
}

/// A stored content and its upload by bob to general, as an attachment.
fn uploaded(store: &mut dyn Store, name: &str, key: &str) -> Attachment {
    let file = StoredFile {
        sha256: format!("{key:0>64}"),
        size: 1234,
        content_type: "application/pdf".into(),
        width: None,
        height: None,
        thumbs: Vec::new(),
        preview: None,
    };
    let upload = NewUpload {
        id: format!("{key:0>32}"),
        room: "general".into(),
        name: name.into(),
        uploader: "bob".into(),
        upload_key: key.into(),
        created_ms: 1,
    };
    store.add_upload(&file, &upload).expect("upload")
}

/// Posts bob's `caption` with `files` in general, as the server writes
/// such a message: the caption, then a link line per file.
fn post_files(store: &mut dyn Store, caption: &str, files: Vec<Attachment>) -> u64 {
    let with = NewMessage {
        attachments: files.clone(),
        ..message("general", "bob", &text_with_links(caption, &files), None)
    };
    post_message(store, with).id
}

/// When a stored message was posted, in milliseconds.
fn posted_ms(store: &mut dyn Store, id: u64) -> u64 {
    let hit = page(store, &query(""))
        .hits
        .into_iter()
        .find(|hit| hit.id == id)
        .expect("posted");
    let at = humantime::parse_rfc3339(&hit.timestamp).expect("a timestamp");
    let since = at
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    u64::try_from(since.as_millis()).expect("ms")
}

pub(super) fn each_filter_narrows_the_hits(store: &mut dyn Store) {
    let notes = post_message(store, message("general", "Bob", "release notes", None)).id;
    let party = post_message(store, message("general", "alice", "release party", None)).id;
    let candidate = post_message(store, message("rust", "bob", "release candidate", None)).id;
    let report = uploaded(store, "report.pdf", "r");
    let filed = post_files(store, "release with a file", vec![report]);
    let from_bob = SearchQuery {
        from: Some(chat_shared::username_key("BOB")),
        ..query("release")
    };
    assert_eq!(found(store, &from_bob), [filed, candidate, notes]);
    let in_rust = SearchQuery {
        rooms: Some(vec!["rust".into()]),
        ..query("release")
    };
    assert_eq!(found(store, &in_rust), [candidate]);
    let in_both = SearchQuery {
        rooms: Some(vec!["rust".into(), "general".into()]),
        from: Some("alice".into()),
        ..query("release")
    };
    assert_eq!(found(store, &in_both), [party]);
    let nowhere = SearchQuery {
        rooms: Some(Vec::new()),
        ..query("release")
    };
    assert_eq!(found(store, &nowhere), NONE);
    let with_file = SearchQuery {
        has_file: true,
        ..query("release")
    };
    assert_eq!(found(store, &with_file), [filed]);
    // Filters alone, with no words.
    let files_by_bob = SearchQuery {
        has_file: true,
        from: Some("bob".into()),
        ..query("")
    };
    assert_eq!(found(store, &files_by_bob), [filed]);
    // Before and after: the later message is at least a few ms later.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let later = post(store, "general", "release later");
    let cut = posted_ms(store, later);
    assert!(cut > posted_ms(store, filed));
    let after = SearchQuery {
        after_ms: Some(cut),
        ..query("release")
    };
    assert_eq!(found(store, &after), [later]);
    let before = SearchQuery {
        before_ms: Some(cut),
        ..query("release")
    };
    assert_eq!(found(store, &before), [filed, candidate, party, notes]);
    let far = SearchQuery {
        after_ms: Some(u64::MAX),
        ..query("release")
    };
    assert_eq!(
        found(store, &far),
        NONE,
        "a time past year 9999 is no error"
    );
}

pub(super) fn words_are_found_by_their_english_and_russian_stems(store: &mut dyn Store) {
    let russian = post(store, "general", "Новые сообщения в канале");
    let english = post(store, "general", "I was RUNNING late again");
    post(store, "general", "Completely unrelated words");
    assert_eq!(found(store, &query("сообщение")), [russian]);
    assert_eq!(found(store, &query("Сообщения каналы")), [russian]);
    assert_eq!(found(store, &query("run")), [english]);
    assert_eq!(found(store, &query("runs lately")), [english]);
    assert_eq!(found(store, &query("runs early")), NONE);
    assert_eq!(found(store, &query("running")), [english]);
    assert_eq!(found(store, &query("walk")), NONE);
}

pub(super) fn a_phrase_matches_its_words_in_a_row_only(store: &mut dyn Store) {
    let in_a_row = post(store, "general", "the quick brown fox jumps");
    let apart = post(store, "general", "brown and quick, a fox");
    assert_eq!(found(store, &query("quick brown")), [apart, in_a_row]);
    assert_eq!(found(store, &query("\"quick brown\"")), [in_a_row]);
    assert_eq!(found(store, &query("\"brown quick\"")), NONE);
    // A phrase's words are stems too.
    let runs = post(store, "general", "she runs fast every morning");
    assert_eq!(found(store, &query("\"running fast\"")), [runs]);
    let hit = only_hit(store, &query("\"quick brown\" jumps"));
    assert_eq!(
        marked(&hit.text.text, &hit.text.ranges),
        ["quick brown", "jumps"]
    );
}

pub(super) fn an_edit_is_found_by_its_new_text_and_not_its_old(store: &mut dyn Store) {
    let id = post(store, "general", "original wording");
    changed(store, &request("bob", id, edit("replacement phrasing")));
    assert_eq!(found(store, &query("original")), NONE);
    let hit = only_hit(store, &query("replacement"));
    assert_eq!(hit.id, id);
    assert_eq!(hit.text.text, "replacement phrasing");
    assert_eq!(marked(&hit.text.text, &hit.text.ranges), ["replacement"]);
    changed(store, &request("bob", id, edit("original wording again")));
    assert_eq!(found(store, &query("original")), [id]);
    assert_eq!(found(store, &query("replacement")), NONE);
}

pub(super) fn a_deleted_message_is_found_no_more(store: &mut dyn Store) {
    let secret = post(store, "general", "secret plans");
    let public = post(store, "general", "public plans");
    let report = uploaded(store, "budget.xlsx", "b");
    let filed = post_files(store, "numbers", vec![report]);
    assert_eq!(found(store, &query("plans")), [public, secret]);
    changed(store, &moderator_delete(secret, None));
    changed(store, &moderator_delete(filed, None));
    assert_eq!(found(store, &query("plans")), [public]);
    assert_eq!(found(store, &query("secret")), NONE);
    assert_eq!(found(store, &query("budget")), NONE, "nor by its file");
    assert_eq!(found(store, &query("")), [public], "nor by filters alone");
}

pub(super) fn file_names_and_captions_are_found_not_links(store: &mut dyn Store) {
    let report = uploaded(store, "Quarterly Report.pdf", "q");
    let id = post_files(store, "see the attached numbers", vec![report.clone()]);
    let hit = only_hit(store, &query("quarterly reports"));
    assert_eq!(hit.id, id);
    assert_eq!(
        hit.text.text, "see the attached numbers",
        "the caption, without its link line"
    );
    assert_eq!(hit.text.ranges, [], "which does not match");
    assert_eq!(hit.files.len(), 1);
    assert_eq!(hit.files[0].text, "Quarterly Report.pdf");
    assert_eq!(
        marked(&hit.files[0].text, &hit.files[0].ranges),
        ["Quarterly", "Report"]
    );
    let hit = only_hit(store, &query("attached number"));
    assert_eq!(hit.id, id, "the caption");
    assert_eq!(
        marked(&hit.text.text, &hit.text.ranges),
        ["attached", "numbers"]
    );
    assert_eq!(hit.files[0].ranges, []);
    // The link line's path is not indexed: not "files", not the file id.
    assert_eq!(found(store, &query("files")), NONE);
    assert_eq!(found(store, &query(&report.id)), NONE);
}

pub(super) fn a_dm_is_found_only_by_its_members(store: &mut dyn Store) {
    let alice = hold(store, "alice", "alice-key", 1000);
    let bob = hold(store, "bob", "bob-key", 1000);
    let carol = hold(store, "carol", "carol-key", 1000);
    let members = [(alice.id, "alice".to_owned()), (bob.id, "bob".to_owned())];
    store.open_dm("dm-ab", &members).expect("dm");
    let dm = post_message(store, message("dm-ab", "bob", "whisper quietly", None)).id;
    let public = post(store, "general", "whisper loudly");
    // A room named like a DM that nobody is a member of stays hidden.
    post(store, "dm-orphan", "whisper to nobody");
    let by = |reader: Option<u64>, rooms: Option<Vec<String>>| SearchQuery {
        reader,
        rooms,
        ..query("whisper")
    };
    let dm_only = Some(vec!["dm-ab".to_owned(), "dm-orphan".to_owned()]);
    assert_eq!(found(store, &by(None, None)), [public], "keyless");
    assert_eq!(found(store, &by(None, dm_only.clone())), NONE);
    assert_eq!(found(store, &by(Some(carol.id), None)), [public]);
    assert_eq!(found(store, &by(Some(carol.id), dm_only.clone())), NONE);
    let from_bob = SearchQuery {
        from: Some("bob".into()),
        ..by(Some(carol.id), None)
    };
    assert_eq!(found(store, &from_bob), [public]);
    let filters_only = SearchQuery {
        terms: Terms::default(),
        ..by(Some(carol.id), dm_only.clone())
    };
    assert_eq!(found(store, &filters_only), NONE);
    assert_eq!(found(store, &by(Some(alice.id), None)), [public, dm]);
    assert_eq!(found(store, &by(Some(bob.id), dm_only)), [dm]);
}

pub(super) fn highlights_are_offsets_into_the_text_not_markup(store: &mut dyn Store) {
    let text = "Привет! <b>Running</b> & сообщения: “done” running";
    post(store, "general", text);
    let hit = only_hit(store, &query("run сообщение"));
    assert_eq!(hit.text.text, text, "the text as stored, nothing added");
    assert_eq!(
        marked(text, &hit.text.ranges),
        ["Running", "сообщения", "running"]
    );
    // Byte offsets: the Cyrillic before them counts two bytes a letter.
    assert_eq!(hit.text.ranges[0], (17, 24));
    assert!(hit.text.ranges.windows(2).all(|pair| pair[0].1 < pair[1].0));
}

/// Follows a search's pages to the end: every hit's id, in order.
fn every_page(store: &mut dyn Store, mut query: SearchQuery) -> Vec<u64> {
    let mut ids = Vec::new();
    for _ in 0..20 {
        let page = page(store, &query);
        assert!(page.hits.len() <= query.limit);
        ids.extend(page.hits.iter().map(|hit| hit.id));
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => return ids,
        }
    }
    panic!("pages never ended");
}

pub(super) fn pages_follow_one_another_without_repeats(store: &mut dyn Store) {
    let batch: Vec<NewMessage> = (0..55)
        .map(|n| message("general", "bob", &format!("page {n}"), None))
        .collect();
    store.append(&batch).expect("append");
    post(store, "general", "not a match");
    let newest = SearchQuery {
        limit: 20,
        ..query("page")
    };
    let first = page(store, &newest);
    assert_eq!(first.hits.len(), 20);
    let Some(Cursor::Older(older)) = first.next else {
        panic!("a next page, got {:?}", first.next);
    };
    assert_eq!(Some(older), first.hits.last().map(|hit| hit.id));
    let ids = every_page(store, newest);
    assert_eq!(ids.len(), 55);
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "newest first");
    let best = SearchQuery {
        limit: 20,
        order: Order::Best,
        ..query("page")
    };
    let first = page(store, &best);
    assert_eq!(first.next, Some(Cursor::Skip(20)));
    let ranked = every_page(store, best);
    assert_eq!(ranked.len(), 55);
    let unique: BTreeSet<u64> = ranked.iter().copied().collect();
    assert_eq!(unique.len(), 55, "no hit twice");
    // A page is never larger than the cap, however large the ask.
    let huge = SearchQuery {
        limit: 10_000,
        ..query("page")
    };
    let capped = page(store, &huge);
    assert_eq!(capped.hits.len(), MAX_SEARCH_PAGE);
    assert!(capped.next.is_some());
    let zero = SearchQuery {
        limit: 0,
        ..query("page")
    };
    assert_eq!(page(store, &zero).hits.len(), 1);
}

/// For the stores' migration checks, on a database just upgraded to the
/// index from one that held the messages of
/// [`messages_from_before_search`] (`kept`, `edited` among them) and
/// nothing indexed: an edit or a deletion of one before the backlog
/// reaches it holds; the backlog indexes the rest in batches, newest
/// first, skipping the deleted; new messages are found at once.
pub(crate) fn assert_the_backlog_is_indexed_in_batches(
    store: &mut dyn Store,
    kept: &[u64],
    edited: u64,
) {
    let [first, second, third, fourth] = kept else {
        panic!("four kept messages, got {kept:?}");
    };
    assert_eq!(*second, edited);
    assert_eq!(found(store, &query("before")), NONE, "nothing indexed yet");
    let new = post(store, "general", "posted after the upgrade");
    assert_eq!(found(store, &query("after upgrade")), [new]);
    assert_eq!(found(store, &query("\"posted after\"")), [new]);
    // Changed after the upgrade, before the backlog got to them.
    changed(store, &request("bob", *first, edit("rewritten later")));
    assert_eq!(found(store, &query("rewritten")), [*first]);
    assert_eq!(found(store, &query("\"rewritten later\"")), [*first]);
    changed(store, &moderator_delete(*fourth, None));
    let step = store.index_backlog(1).expect("a batch");
    assert_eq!(step.indexed, 1);
    assert!(step.ids_left > 0);
    assert_eq!(found(store, &query("before")), [*third], "the newest kept");
    let mut batches = 1;
    loop {
        let step = store.index_backlog(2).expect("a batch");
        batches += 1;
        assert!(batches < 20, "the backlog never ended");
        if step.ids_left == 0 {
            break;
        }
    }
    assert_eq!(found(store, &query("before")), [*third, edited]);
    assert_eq!(found(store, &query("edited")), [edited]);
    assert_eq!(found(store, &query("ledger")), [*third], "its file's name");
    assert_eq!(found(store, &query("files")), NONE, "not its link's path");
    assert_eq!(found(store, &query("rewritten")), [*first], "once");
    assert_eq!(found(store, &query("from")), [*third], "not the old text");
    assert_eq!(found(store, &query("after upgrade")), [new], "once");
    // Phrases, however each was indexed: when stored, edited or by the
    // backlog (PostgreSQL's pairs are required only now).
    assert_eq!(found(store, &query("\"from before\"")), [*third]);
    assert_eq!(found(store, &query("\"edited before\"")), [edited]);
    assert_eq!(found(store, &query("\"rewritten later\"")), [*first]);
    assert_eq!(found(store, &query("\"posted after\"")), [new]);
    assert_eq!(found(store, &query("\"before from\"")), NONE);
    let done = store.index_backlog(10).expect("done");
    assert_eq!((done.indexed, done.ids_left), (0, 0));
}

/// For the stores' migration checks, before the index is taken away:
/// posts bob's "from before 1" to "from before 4" in general (the third
/// with a file, "quarterly-ledger.pdf"), edits the second to "edited
/// before", and posts and deletes "doomed before".
/// The ids of the four kept messages, and of the edited one.
pub(crate) fn messages_from_before_search(store: &mut dyn Store) -> (Vec<u64>, u64) {
    let first = post(store, "general", "from before 1");
    let edited = post(store, "general", "from before 2");
    let doomed = post(store, "general", "doomed before");
    let ledger = uploaded(store, "quarterly-ledger.pdf", "ledger");
    let third = post_files(store, "from before 3", vec![ledger]);
    let fourth = post(store, "general", "from before 4");
    changed(store, &request("bob", edited, edit("edited before")));
    changed(store, &moderator_delete(doomed, None));
    (vec![first, edited, third, fourth], edited)
}
