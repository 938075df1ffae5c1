use super::*;

fn hit(id: u64) -> SearchHit {
    SearchHit {
        id,
        room: "rust".into(),
        username: "alice".into(),
        text: format!("hit {id}"),
        ..SearchHit::default()
    }
}

fn hits(ids: &[u64]) -> Vec<SearchHit> {
    ids.iter().copied().map(hit).collect()
}

fn ids(state: &SearchState) -> Vec<u64> {
    state.hits().iter().map(|h| h.id).collect()
}

/// Types `text` and lets the pause pass: what went out.
fn type_and_pause(state: &mut SearchState, text: &str, room: &str) -> Option<Request> {
    let ticket = state.typed(text);
    state.due(ticket, room)
}

#[test]
fn only_the_last_keystroke_sends_and_only_once() {
    let mut state = SearchState::default();
    let first = state.typed("dep");
    let second = state.typed("deploy");
    assert_eq!(
        state.due(first, "general"),
        None,
        "a stale pause sends nothing"
    );
    let request = state.due(second, "general").expect("the pause sends");
    assert_eq!(
        request,
        Request {
            query: "deploy".into(),
            room: None,
            order: SearchOrder::Newest,
            page: None,
        }
    );
    assert_eq!(
        request.frame(),
        ClientFrame::Search {
            query: "deploy".into(),
            room: None,
            order: SearchOrder::Newest,
            page: None,
        }
    );
    assert!(state.is_waiting());
    assert_eq!(state.status(), Status::Searching);
    assert_eq!(state.search_now("general"), None, "already asked");
    // The same text again after an edit and back: nothing new to ask.
    assert_eq!(type_and_pause(&mut state, " deploy ", "general"), None);
}

#[test]
fn an_answer_to_anything_but_the_latest_request_is_ignored() {
    let mut state = SearchState::default();
    let old = type_and_pause(&mut state, "dep", "general").expect("sent");
    let new = type_and_pause(&mut state, "deploy", "general").expect("sent");
    assert!(!state.results(&old, hits(&[1]), None), "stale");
    assert!(state.hits().is_empty());
    let other_order = Request {
        order: SearchOrder::Best,
        ..new.clone()
    };
    assert!(!state.results(&other_order, hits(&[1]), None));
    let other_room = Request {
        room: Some("general".into()),
        ..new.clone()
    };
    assert!(!state.results(&other_room, hits(&[1]), None));
    assert!(state.results(&new, hits(&[2, 3]), Some("p2".into())));
    assert_eq!(ids(&state), [2, 3]);
    assert_eq!(
        state.status(),
        Status::Found {
            count: 2,
            more: true
        }
    );
    assert!(!state.results(&new, hits(&[9]), None), "answered already");
    assert_eq!(ids(&state), [2, 3]);
}

#[test]
fn more_results_append_the_next_page_and_stale_pages_are_ignored() {
    let mut state = SearchState::default();
    let first = type_and_pause(&mut state, "deploy", "general").expect("sent");
    assert_eq!(state.more(), None, "no page yet");
    state.results(&first, hits(&[5, 4]), Some("p2".into()));
    let page = state.more().expect("the next page");
    assert_eq!(page.page.as_deref(), Some("p2"));
    assert_eq!(page.query, "deploy");
    assert_eq!(state.more(), None, "one page at a time");
    state.down();
    // A page of another search is not this one's.
    let wrong = Request {
        query: "deplo".into(),
        ..page.clone()
    };
    assert!(!state.results(&wrong, hits(&[1]), None));
    assert!(state.results(&page, hits(&[4, 3, 2]), None));
    assert_eq!(
        ids(&state),
        [5, 4, 3, 2],
        "a hit shown already is not doubled"
    );
    assert_eq!(state.selected(), Some(0), "the selection stays");
    assert!(!state.has_more());
    assert_eq!(state.more(), None);
    assert_eq!(
        state.status(),
        Status::Found {
            count: 4,
            more: false
        }
    );
}

#[test]
fn a_query_that_does_not_parse_is_never_sent_and_says_why() {
    let mut state = SearchState::default();
    let ticket = state.typed("deploy before:2026-13-01");
    assert_eq!(state.trouble(), None, "not while typing");
    assert_eq!(state.due(ticket, "general"), None);
    assert_eq!(
        state.trouble(),
        Some(&Trouble::Query(QueryError::BadDate("2026-13-01".into())))
    );
    assert_eq!(state.status(), Status::Trouble);
    assert!(!state.is_waiting());
    assert_eq!(
        state.search_now("general"),
        None,
        "Enter sends nothing either"
    );
    state.typed("deploy before:2026-12-01");
    assert_eq!(state.trouble(), None, "a keystroke clears it");
    assert!(state.search_now("general").is_some());
}

#[test]
fn an_empty_query_sends_nothing_and_clears_the_results() {
    let mut state = SearchState::default();
    assert_eq!(type_and_pause(&mut state, "   ", "general"), None);
    assert_eq!(type_and_pause(&mut state, "\"\"", "general"), None);
    assert_eq!(state.status(), Status::Idle);
    let request = type_and_pause(&mut state, "deploy", "general").expect("sent");
    state.results(&request, hits(&[1]), None);
    state.typed("");
    assert!(state.hits().is_empty(), "emptied at once, no pause");
    assert_eq!(state.status(), Status::Idle);
    assert!(!state.results(&request, hits(&[1]), None));
    // A filter alone is something to look for.
    assert!(type_and_pause(&mut state, "from:bob", "general").is_some());
}

#[test]
fn scope_and_order_shape_the_request_and_ask_again() {
    let mut state = SearchState::default();
    assert_eq!(state.scope(), Scope::Everywhere);
    let everywhere = type_and_pause(&mut state, "deploy", "general").expect("sent");
    state.results(&everywhere, hits(&[1]), None);
    state.set_scope(Scope::ThisRoom);
    let here = state.search_now("rust").expect("asked again");
    assert_eq!(here.room.as_deref(), Some("rust"));
    state.results(&here, hits(&[2]), None);
    state.set_order(SearchOrder::Best);
    let best = state.search_now("rust").expect("asked again");
    assert_eq!(best.order, SearchOrder::Best);
    assert_eq!(best.room.as_deref(), Some("rust"));
    assert!(state.search_now("rust").is_none());
    // Another room shown: this room's search is another search.
    assert!(state.search_now("general").is_some());
}

#[test]
fn the_keyboard_wraps_round_the_hits() {
    let mut state = SearchState::default();
    state.down();
    state.up();
    state.last();
    state.first();
    assert_eq!(state.selected(), None, "nothing to select");
    let request = type_and_pause(&mut state, "deploy", "general").expect("sent");
    state.results(&request, hits(&[7, 8, 9]), None);
    assert_eq!(state.selected(), None, "a new list starts unselected");
    state.down();
    assert_eq!(state.chosen().map(|h| h.id), Some(7));
    state.down();
    state.down();
    state.down();
    assert_eq!(state.selected(), Some(0), "down from the last wraps");
    state.up();
    assert_eq!(state.selected(), Some(2), "up from the first wraps");
    state.first();
    assert_eq!(state.selected(), Some(0));
    state.last();
    assert_eq!(state.selected(), Some(2));
    state.select(1);
    assert_eq!(state.selected(), Some(1));
    state.select(5);
    assert_eq!(state.selected(), Some(1), "no such hit");
    let mut fresh = SearchState::default();
    let request = type_and_pause(&mut fresh, "deploy", "general").expect("sent");
    fresh.results(&request, hits(&[7, 8]), None);
    fresh.up();
    assert_eq!(fresh.selected(), Some(1), "up at first goes to the last");
    // A new first page starts unselected again.
    let again = type_and_pause(&mut state, "deploys", "general").expect("sent");
    state.results(&again, hits(&[1]), None);
    assert_eq!(state.selected(), None);
}

#[test]
fn bad_search_and_rate_limits_answer_only_an_awaited_search() {
    let mut state = SearchState::default();
    assert!(
        !state.refused(ErrorCode::RateLimited, "slow", Some(500)),
        "no search awaited: someone else's"
    );
    let request = type_and_pause(&mut state, "deploy", "general").expect("sent");
    assert!(!state.refused(ErrorCode::NotFound, "no", None));
    assert!(state.is_waiting());
    assert!(state.refused(ErrorCode::RateLimited, "slow", Some(500)));
    assert_eq!(state.trouble(), Some(&Trouble::RateLimited(Some(500))));
    assert!(!state.is_waiting());
    assert!(
        !state.results(&request, hits(&[1]), None),
        "refused, not answered"
    );
    // Asking again after a refusal goes out, even for the same text.
    let again = state.search_now("general").expect("asked again");
    assert_eq!(again, request);
    assert_eq!(state.trouble(), None);
    assert!(state.refused(ErrorCode::BadSearch, "That search was not understood", None));
    assert_eq!(
        state.trouble(),
        Some(&Trouble::Refused("That search was not understood".into()))
    );
    assert_eq!(state.status(), Status::Trouble);
}

#[test]
fn a_search_the_connection_lost_goes_out_again() {
    let mut state = SearchState::default();
    let request = type_and_pause(&mut state, "deploy", "general").expect("sent");
    state.socket_closed();
    assert!(!state.is_waiting());
    assert!(!state.results(&request, hits(&[1]), None));
    assert_eq!(state.search_now("general"), Some(request.clone()));
    // One that could not go at all is forgotten too.
    state.not_sent(&request);
    assert!(!state.is_waiting());
    assert_eq!(state.search_now("general"), Some(request.clone()));
    // Results shown stay shown: the same search is not asked again.
    state.results(&request, hits(&[1]), None);
    state.socket_closed();
    assert_eq!(state.search_now("general"), None);
    assert_eq!(ids(&state), [1]);
}

#[test]
fn the_panel_keeps_its_search_when_closed() {
    let mut state = SearchState::default();
    state.open();
    let request = type_and_pause(&mut state, "deploy", "general").expect("sent");
    state.results(&request, hits(&[1]), None);
    state.close();
    assert!(!state.is_open());
    state.open();
    assert_eq!(state.text(), "deploy");
    assert_eq!(ids(&state), [1]);
    assert_eq!(state.order(), SearchOrder::Newest);
}

#[test]
fn while_a_new_search_is_awaited_the_old_hits_stay_and_nothing_found_is_said() {
    let mut state = SearchState::default();
    let request = type_and_pause(&mut state, "deploy", "general").expect("sent");
    state.results(&request, Vec::new(), None);
    assert_eq!(state.status(), Status::Nothing);
    let first = type_and_pause(&mut state, "deploys", "general").expect("sent");
    assert_eq!(state.status(), Status::Searching, "no hits to keep");
    state.results(&first, hits(&[1]), None);
    type_and_pause(&mut state, "deployed", "general").expect("sent");
    assert_eq!(
        state.status(),
        Status::Found {
            count: 1,
            more: false
        },
        "the hits shown stay until the new ones come"
    );
}

#[test]
fn enter_opens_the_chosen_hit_or_the_first_of_results_for_the_text_shown() {
    let mut state = SearchState::default();
    assert!(state.to_open().is_none());
    let request = type_and_pause(&mut state, "deploy", "general").expect("sent");
    assert!(state.to_open().is_none(), "nothing shown yet");
    state.results(&request, hits(&[7, 8]), None);
    assert_eq!(state.to_open().map(|h| h.id), Some(7), "the first");
    state.down();
    state.down();
    assert_eq!(state.to_open().map(|h| h.id), Some(8), "the chosen one");
    // Typed on: the hits shown are for other text, but one chosen is
    // still what the reader sees selected.
    state.typed("deploys");
    assert_eq!(state.to_open().map(|h| h.id), Some(8));
    state.select(0);
    let mut fresh = SearchState::default();
    let request = type_and_pause(&mut fresh, "deploy", "general").expect("sent");
    fresh.results(&request, hits(&[7]), None);
    fresh.typed("deploys");
    assert!(
        fresh.to_open().is_none(),
        "the first of another search's hits"
    );
}
