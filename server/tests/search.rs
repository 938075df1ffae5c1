//! Search (issue 26) through the real server, on both setups: a DM's
//! text never reaches anyone else, whatever they ask; hits carry
//! highlight ranges in characters (never markup), in order, narrowed by
//! the filters and paged; edits and deletions show at once; a bad query
//! and a flood get clear errors. What the index finds and ranks is the
//! store conformance suite's (`history::conformance`, both databases).

mod common;

use chat_server::Config;
use chat_shared::search::{SearchHit, SearchOrder};
use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::{temp_db, unthrottled, until, Client, TestServer};

const ALICE: &str = "alice-key-0123456789abcdef01";
const BOB: &str = "bob-key-0123456789abcdef0123";
const CAROL: &str = "carol-key-0123456789abcdef01";

/// Posts `text` and waits for its echo: its id.
async fn post(client: &mut Client, text: &str) -> u64 {
    client.say(text).await;
    let text = text.to_owned();
    until(client, |frame| match frame {
        ServerFrame::Message(message) if message.text == text => Some(message.id),
        _ => None,
    })
    .await
}

/// The answer to one search: its hits and `next`, or the error. Like a
/// well-behaved client, it waits and asks again when told it searches
/// too fast (the tests search more often than people type).
async fn search_page(
    client: &mut Client,
    query: &str,
    room: Option<&str>,
    order: SearchOrder,
    page: Option<String>,
) -> Result<(Vec<SearchHit>, Option<String>), (ErrorCode, String)> {
    loop {
        match ask(client, query, room, order, page.clone()).await {
            Err((ErrorCode::RateLimited, wait)) => {
                let ms = wait.parse::<u64>().unwrap_or(500);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            answer => return answer,
        }
    }
}

/// One `search` and its answer; a rate limit's answer carries the
/// milliseconds to wait.
async fn ask(
    client: &mut Client,
    query: &str,
    room: Option<&str>,
    order: SearchOrder,
    page: Option<String>,
) -> Result<(Vec<SearchHit>, Option<String>), (ErrorCode, String)> {
    client
        .send(ClientFrame::Search {
            query: query.into(),
            room: room.map(str::to_owned),
            order,
            page: page.clone(),
        })
        .await;
    let query = query.to_owned();
    until(client, |frame| match frame {
        ServerFrame::SearchResults {
            query: answered,
            page: answered_page,
            hits,
            next,
            ..
        } if answered == query && answered_page == page => Some(Ok((hits, next))),
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            retry_after_ms,
            ..
        } => Some(Err((
            ErrorCode::RateLimited,
            retry_after_ms.unwrap_or(500).to_string(),
        ))),
        ServerFrame::Error { code, message, .. } => Some(Err((code, message))),
        _ => None,
    })
    .await
}

/// The ids of the hits of a first page, newest first.
async fn found(client: &mut Client, query: &str, room: Option<&str>) -> Vec<u64> {
    let (hits, _) = search_page(client, query, room, SearchOrder::Newest, None)
        .await
        .expect("results");
    hits.iter().map(|hit| hit.id).collect()
}

/// Opens a DM of `client` with `with`: its room.
async fn open_dm(client: &mut Client, with: &str) -> String {
    client
        .send(ClientFrame::OpenDm {
            with: vec![with.into()],
        })
        .await;
    until(client, |frame| match frame {
        ServerFrame::Dm { room, .. } => Some(room),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_dms_text_is_found_by_its_members_alone() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = server.joined("alice", "general", Some(ALICE)).await;
    let mut bob = server.joined("bob", "general", Some(BOB)).await;
    let mut carol = server.joined("carol", "general", Some(CAROL)).await;
    let mut keyless = server.joined("dave", "general", None).await;
    let dm = open_dm(&mut alice, "bob").await;
    let mut alice_dm = server.joined("alice", &dm, Some(ALICE)).await;
    let secret = post(&mut alice_dm, "the password is marmalade").await;
    let public = post(&mut alice, "marmalade for breakfast").await;
    // The members find it, from any room, and with the DM named.
    for client in [&mut alice, &mut bob] {
        assert_eq!(found(client, "marmalade", None).await, [public, secret]);
        assert_eq!(found(client, "marmalade", Some(&dm)).await, [secret]);
    }
    // Nobody else does, whatever they ask: another held name, a keyless
    // connection; the DM named as the scope, with in:, with from:.
    let asks = [
        ("marmalade".to_owned(), None),
        ("marmalade".to_owned(), Some(dm.as_str())),
        (format!("marmalade in:{dm}"), None),
        ("password from:alice".to_owned(), None),
        ("\"the password\"".to_owned(), None),
    ];
    for client in [&mut carol, &mut keyless] {
        for (query, room) in &asks {
            let ids = found(client, query, *room).await;
            assert!(!ids.contains(&secret), "{query:?} in {room:?}: {ids:?}");
        }
        assert_eq!(found(client, "marmalade", None).await, [public]);
    }
    // A keyless join of a member's name is not let in to ask at all.
    let mut impostor = server.connect().await;
    impostor.send(ClientFrame::join("alice")).await;
    let refused = until(&mut impostor, |frame| match frame {
        ServerFrame::Error { code, .. } => Some(code),
        ServerFrame::Welcome(_) => Some(ErrorCode::Unknown),
        _ => None,
    })
    .await;
    assert_eq!(refused, ErrorCode::NameHeld);
}

#[tokio::test]
async fn hits_carry_character_ranges_in_order_narrowed_and_paged() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = server.joined("alice", "general", Some(ALICE)).await;
    let mut bob_rust = server.joined("bob", "rust", Some(BOB)).await;
    let first = post(&mut alice, "Ёжик: <b>сообщение</b> о деплое").await;
    let second = post(&mut bob_rust, "running the deploy today").await;
    let third = post(&mut alice, "we deploy on Fridays, deploy deploy").await;
    // Russian and English forms; ranges are characters, the text as it
    // was (markup shown, not read).
    let (hits, next) = search_page(&mut alice, "сообщения", None, SearchOrder::Newest, None)
        .await
        .expect("results");
    assert_eq!(next, None);
    let [hit] = &hits[..] else {
        panic!("one hit: {hits:?}");
    };
    assert_eq!(
        (hit.id, hit.room.as_str(), hit.username.as_str()),
        (first, "general", "alice")
    );
    assert_eq!(hit.text, "Ёжик: <b>сообщение</b> о деплое");
    assert_eq!(hit.highlights, [[9, 18]]);
    let marked: String = hit.text.chars().skip(9).take(9).collect();
    assert_eq!(marked, "сообщение");
    assert_eq!(found(&mut alice, "run", None).await, [second]);
    // Newest first; best match first puts the most deploys first.
    assert_eq!(found(&mut alice, "deploy", None).await, [third, second]);
    let (best, _) = search_page(&mut alice, "deploy", None, SearchOrder::Best, None)
        .await
        .expect("results");
    assert_eq!(best.first().map(|hit| hit.id), Some(third));
    // The scope, in:, from:, dates; two scopes that disagree find nothing.
    assert_eq!(found(&mut alice, "deploy", Some("rust")).await, [second]);
    assert_eq!(found(&mut alice, "deploy in:#rust", None).await, [second]);
    assert_eq!(found(&mut alice, "deploy from:@Alice", None).await, [third]);
    assert_eq!(
        found(&mut alice, "deploy in:rust", Some("general")).await,
        Vec::<u64>::new()
    );
    assert_eq!(
        found(&mut alice, "deploy after:2000-01-01", None).await,
        [third, second]
    );
    assert_eq!(
        found(&mut alice, "deploy before:2000-01-01", None).await,
        Vec::<u64>::new()
    );
    assert_eq!(found(&mut alice, "from:bob", None).await, [second]);
    assert_eq!(found(&mut alice, "\"deploy today\"", None).await, [second]);
    assert_eq!(
        found(&mut alice, "\"today deploy\"", None).await,
        Vec::<u64>::new()
    );
    // Pages of 50: 55 more, read back through `next`, each once.
    let mut posted = Vec::new();
    for n in 0..55 {
        posted.push(post(&mut alice, &format!("pager {n}")).await);
    }
    let (page, next) = search_page(&mut alice, "pager", None, SearchOrder::Newest, None)
        .await
        .expect("first page");
    assert_eq!(page.len(), 50);
    let next = next.expect("a next page");
    let (rest, last) = search_page(&mut alice, "pager", None, SearchOrder::Newest, Some(next))
        .await
        .expect("second page");
    assert_eq!(last, None);
    let mut seen: Vec<u64> = page.iter().chain(&rest).map(|hit| hit.id).collect();
    seen.reverse();
    assert_eq!(seen, posted);
}

#[tokio::test]
async fn an_edit_is_found_by_its_new_text_and_a_deletion_no_more() {
    let server = TestServer::start_with(unthrottled()).await;
    let mut alice = server.joined("alice", "general", Some(ALICE)).await;
    let id = post(&mut alice, "meet at the lighthouse").await;
    assert_eq!(found(&mut alice, "lighthouse", None).await, [id]);
    alice
        .send(ClientFrame::Edit {
            id,
            text: "meet at the harbour".into(),
            client_id: None,
        })
        .await;
    until(&mut alice, |frame| {
        matches!(frame, ServerFrame::MessageEdited(_)).then_some(())
    })
    .await;
    assert_eq!(
        found(&mut alice, "lighthouse", None).await,
        Vec::<u64>::new()
    );
    assert_eq!(found(&mut alice, "harbour", None).await, [id]);
    alice
        .send(ClientFrame::Delete {
            id,
            client_id: None,
        })
        .await;
    until(&mut alice, |frame| {
        matches!(frame, ServerFrame::MessageDeleted(_)).then_some(())
    })
    .await;
    assert_eq!(found(&mut alice, "harbour", None).await, Vec::<u64>::new());
    assert_eq!(found(&mut alice, "meet", None).await, Vec::<u64>::new());
}

#[tokio::test]
async fn bad_searches_and_floods_get_clear_errors() {
    let server = TestServer::start_with(unthrottled()).await;
    // Not joined: nothing to search as.
    let mut stranger = server.connect().await;
    stranger
        .send(ClientFrame::Search {
            query: "x".into(),
            room: None,
            order: SearchOrder::Newest,
            page: None,
        })
        .await;
    let code = until(&mut stranger, |frame| match frame {
        ServerFrame::Error { code, .. } => Some(code),
        _ => None,
    })
    .await;
    assert_eq!(code, ErrorCode::NotJoined);
    let mut alice = server.joined("alice", "general", Some(ALICE)).await;
    for (query, room, page, says) in [
        ("before:someday", None, None, "not a day"),
        ("has:link", None, None, "not a filter"),
        ("x", Some("no such room!"), None, "not a room"),
        ("x", None, Some("o-5"), "not one a search answered"),
    ] {
        let refused = search_page(
            &mut alice,
            query,
            room,
            SearchOrder::Newest,
            page.map(str::to_owned),
        )
        .await
        .expect_err("refused");
        assert_eq!(refused.0, ErrorCode::BadSearch, "{query}");
        assert!(refused.1.contains(says), "{query}: {}", refused.1);
    }
    // An empty query finds nothing and asks the store nothing.
    assert_eq!(found(&mut alice, "   ", None).await, Vec::<u64>::new());
    // A flood of searches is slowed with a time to wait; messages are not.
    for n in 0..12 {
        alice
            .send(ClientFrame::Search {
                query: format!("flood{n}"),
                room: None,
                order: SearchOrder::Newest,
                page: None,
            })
            .await;
    }
    let retry = until(&mut alice, |frame| match frame {
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            retry_after_ms,
            message,
            ..
        } => Some((retry_after_ms, message)),
        _ => None,
    })
    .await;
    assert!(retry.0.is_some_and(|ms| ms > 0), "{retry:?}");
    assert!(retry.1.contains("searches"), "{}", retry.1);
    post(&mut alice, "still talking").await;
}

/// A history from before search: its messages are indexed in the
/// background after the upgrade, and found. (The backlog on PostgreSQL,
/// with two nodes at once, is the store conformance suite's.)
#[tokio::test]
async fn messages_from_before_the_index_are_found_after_the_upgrade() {
    if common::cluster_setup() {
        return;
    }
    let db = temp_db("search-upgrade.db");
    let config = || Config {
        db: db.clone(),
        ..unthrottled()
    };
    let server = TestServer::start_with(config()).await;
    let mut alice = server.joined("alice", "general", Some(ALICE)).await;
    let old = post(&mut alice, "an ancient scroll").await;
    drop(alice);
    server.stop().await.expect("clean stop");
    // As a build before search left it: nothing indexed, every message
    // below the backlog's mark.
    {
        let connection = rusqlite::Connection::open(&db).expect("open");
        connection
            .execute_batch(
                "DELETE FROM search_docs;
                 UPDATE search_backlog SET below = (SELECT max(id) + 1 FROM messages);",
            )
            .expect("unindex");
    }
    let server = TestServer::start_with(config()).await;
    let mut alice = server.joined("alice", "general", Some(ALICE)).await;
    let new = post(&mut alice, "a new scroll").await;
    let mut ids = Vec::new();
    for _ in 0..100 {
        ids = found(&mut alice, "scroll", None).await;
        if ids.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ids, [new, old]);
    server.stop().await.expect("clean stop");
}
