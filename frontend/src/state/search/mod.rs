//! Search (issue 26) as plain state, host-tested: what the search box
//! says, where it looks (this room or all my rooms and DMs) and in which
//! order, which request is the latest (an answer to any other is stale:
//! the user typed on), the hits shown and the page after them, the one
//! the keyboard is on, and why nothing is shown (a query that does not
//! parse, never sent; the server's `bad_search`; a rate limit).
//!
//! The panel (`components/search*.rs`) waits for a pause in the typing
//! (its own timer) and asks [`Search::send_due`] with the ticket the
//! keystroke got: a ticket older than the last keystroke sends nothing.

#[cfg(test)]
mod tests;

use chat_shared::search::{parse_query, QueryError, SearchHit, SearchOrder};
use chat_shared::{ClientFrame, ErrorCode};
use leptos::prelude::*;

use super::Sender;

/// Where a search looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every room and DM I may read: what people look for is rarely in
    /// the room they are in.
    #[default]
    Everywhere,
    /// The room shown.
    ThisRoom,
}

/// One `search` request as sent: its answer echoes all four, so an
/// answer is told from a stale one by comparing them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    /// The search box's text, trimmed.
    pub(crate) query: String,
    /// `None`: everywhere.
    pub(crate) room: Option<String>,
    pub(crate) order: SearchOrder,
    /// The `next` of the page before; `None` for the first page.
    pub(crate) page: Option<String>,
}

impl Request {
    /// The frame that asks it.
    pub(crate) fn frame(&self) -> ClientFrame {
        ClientFrame::Search {
            query: self.query.clone(),
            room: self.room.clone(),
            order: self.order,
            page: self.page.clone(),
        }
    }

    /// The same search's first page.
    fn first_page(&self) -> Self {
        Self {
            page: None,
            ..self.clone()
        }
    }
}

/// Why no results are shown for what the box says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Trouble {
    /// The query does not parse (a bad date, an unknown filter): it was
    /// not sent.
    Query(QueryError),
    /// The server did not take it (`bad_search`): its English text.
    Refused(String),
    /// Too many searches too fast: wait this long (when the server said).
    RateLimited(Option<u64>),
}

/// What the panel's live region says about the results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Nothing typed.
    Idle,
    /// The first page is on its way.
    Searching,
    /// `count` hits shown; `more` when another page can be asked for.
    Found { count: usize, more: bool },
    /// The search found nothing.
    Nothing,
    /// See [`Trouble`].
    Trouble,
}

/// The search panel's state.
#[derive(Clone, Debug, Default)]
pub(crate) struct SearchState {
    /// Whether the panel is open.
    open: bool,
    /// What the search box says, as typed.
    text: String,
    scope: Scope,
    order: SearchOrder,
    /// Bumped by each keystroke: a debounced send holding an older
    /// ticket is for text that is gone.
    edits: u64,
    /// The latest request sent: the only one whose answer is taken.
    latest: Option<Request>,
    /// `latest` is not answered yet.
    waiting: bool,
    /// The first page of the search the hits answer: "more results"
    /// asks its next page.
    shown: Option<Request>,
    hits: Vec<SearchHit>,
    /// The server's `next`: there is another page.
    next: Option<String>,
    /// The hit the keyboard is on (an index into `hits`).
    selected: Option<usize>,
    trouble: Option<Trouble>,
}

impl SearchState {
    /// Whether the panel is open.
    pub(crate) fn is_open(&self) -> bool {
        self.open
    }

    /// Opens the panel, as it was left.
    pub(crate) fn open(&mut self) {
        self.open = true;
    }

    /// Closes the panel; the query and its results stay for the next time.
    pub(crate) fn close(&mut self) {
        self.open = false;
    }

    /// What the search box says.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Where the search looks.
    pub(crate) fn scope(&self) -> Scope {
        self.scope
    }

    /// The order of the results.
    pub(crate) fn order(&self) -> SearchOrder {
        self.order
    }

    /// The hits shown, in the server's order.
    pub(crate) fn hits(&self) -> &[SearchHit] {
        &self.hits
    }

    /// Whether "more results" can be asked for now.
    pub(crate) fn has_more(&self) -> bool {
        self.next.is_some() && self.shown.is_some()
    }

    /// Whether an answer is awaited.
    pub(crate) fn is_waiting(&self) -> bool {
        self.waiting
    }

    /// Why nothing is shown for the box's text, if something is wrong.
    pub(crate) fn trouble(&self) -> Option<&Trouble> {
        self.trouble.as_ref()
    }

    /// The index of the hit the keyboard is on.
    pub(crate) fn selected(&self) -> Option<usize> {
        self.selected
    }

    /// The hit the keyboard is on.
    pub(crate) fn chosen(&self) -> Option<&SearchHit> {
        self.hits.get(self.selected?)
    }

    /// The hit Enter opens: the one the keyboard is on, else the first
    /// when the hits answer what the box says (not while a search for
    /// other text is awaited or refused).
    pub(crate) fn to_open(&self) -> Option<&SearchHit> {
        self.chosen().or_else(|| {
            let current = !self.waiting
                && self.trouble.is_none()
                && self
                    .shown
                    .as_ref()
                    .is_some_and(|shown| shown.query == self.text.trim());
            current.then(|| self.hits.first()).flatten()
        })
    }

    /// What the live region says.
    pub(crate) fn status(&self) -> Status {
        if self.trouble.is_some() {
            Status::Trouble
        } else if self.shown.is_some() && !(self.waiting && self.hits.is_empty()) {
            match self.hits.len() {
                0 => Status::Nothing,
                count => Status::Found {
                    count,
                    more: self.has_more(),
                },
            }
        } else if self.waiting {
            Status::Searching
        } else {
            Status::Idle
        }
    }

    /// The box says `text` now. Returns the keystroke's ticket for
    /// [`Self::due`]. A box emptied (or only blank) forgets the search at
    /// once: nothing to send, nothing to show; a new keystroke clears a
    /// parse error, which comes back (or not) at the pause.
    pub(crate) fn typed(&mut self, text: &str) -> u64 {
        self.text = text.to_owned();
        self.edits += 1;
        if matches!(self.trouble, Some(Trouble::Query(_))) {
            self.trouble = None;
        }
        if text.trim().is_empty() {
            self.forget();
        }
        self.edits
    }

    /// The typing paused after the keystroke with `ticket`: the request
    /// to send for it in `room`, or `None` when it is stale (another key
    /// came since) or nothing is to be sent (see [`Self::search_now`]).
    pub(crate) fn due(&mut self, ticket: u64, room: &str) -> Option<Request> {
        (ticket == self.edits)
            .then(|| self.search_now(room))
            .flatten()
    }

    /// The first page of what the box says, as scoped and ordered, in
    /// `room` (the room shown): the request to send, which becomes the
    /// latest. `None` when the query does not parse (the error is kept to
    /// show), says nothing to look for (results cleared), or is the
    /// latest request already (sent, not refused).
    pub(crate) fn search_now(&mut self, room: &str) -> Option<Request> {
        let parsed = match parse_query(&self.text) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.forget();
                self.trouble = Some(Trouble::Query(error));
                return None;
            }
        };
        if parsed.is_empty() {
            self.forget();
            return None;
        }
        let request = Request {
            query: self.text.trim().to_owned(),
            room: (self.scope == Scope::ThisRoom).then(|| room.to_owned()),
            order: self.order,
            page: None,
        };
        let again = self.latest.as_ref() == Some(&request)
            || (!self.waiting && self.shown.as_ref() == Some(&request));
        if again && self.trouble.is_none() {
            return None;
        }
        self.trouble = None;
        self.latest = Some(request.clone());
        self.waiting = true;
        Some(request)
    }

    /// The page after the hits shown ("more results"): the request to
    /// send, or `None` when there is none or an answer is awaited.
    pub(crate) fn more(&mut self) -> Option<Request> {
        if self.waiting {
            return None;
        }
        let request = Request {
            page: Some(self.next.clone()?),
            ..self.shown.clone()?
        };
        self.trouble = None;
        self.latest = Some(request.clone());
        self.waiting = true;
        Some(request)
    }

    /// `request` could not go out (the connection is down): nothing is
    /// awaited, and the same search may be asked again.
    pub(crate) fn not_sent(&mut self, request: &Request) {
        if self.latest.as_ref() == Some(request) {
            self.latest = None;
            self.waiting = false;
        }
    }

    /// `search_results` arrived, answering `answer` with `hits` and the
    /// next page's `next`. Taken only when it answers the latest request
    /// (else it is stale: returns `false`): a first page replaces the
    /// hits, a later one adds those not shown yet.
    pub(crate) fn results(
        &mut self,
        answer: &Request,
        hits: Vec<SearchHit>,
        next: Option<String>,
    ) -> bool {
        if !self.waiting || self.latest.as_ref() != Some(answer) {
            return false;
        }
        self.waiting = false;
        self.trouble = None;
        if answer.page.is_none() {
            self.hits = hits;
            self.selected = None;
        } else {
            for hit in hits {
                if !self.hits.iter().any(|h| h.id == hit.id) {
                    self.hits.push(hit);
                }
            }
        }
        self.shown = Some(answer.first_page());
        self.next = next;
        true
    }

    /// An `error` frame with no `client_id` arrived: whether it answers
    /// the awaited search (then it is the panel's to show). A
    /// `bad_search` or `rate_limited` while a search is awaited does
    /// (searches carry no id; nothing else of this page is refused so
    /// without one while it waits for results).
    pub(crate) fn refused(
        &mut self,
        code: ErrorCode,
        message: &str,
        retry_after_ms: Option<u64>,
    ) -> bool {
        if !self.waiting {
            return false;
        }
        let trouble = match code {
            ErrorCode::BadSearch => Trouble::Refused(message.to_owned()),
            ErrorCode::RateLimited => Trouble::RateLimited(retry_after_ms),
            _ => return false,
        };
        self.waiting = false;
        self.trouble = Some(trouble);
        true
    }

    /// The connection dropped: no answer is coming; a search that was
    /// awaited goes out again when asked (its results are not shown).
    pub(crate) fn socket_closed(&mut self) {
        self.waiting = false;
        self.latest = None;
    }

    /// Looks here or everywhere from now on; the caller searches again.
    pub(crate) fn set_scope(&mut self, scope: Scope) {
        self.scope = scope;
    }

    /// Orders the results this way from now on; the caller searches again.
    pub(crate) fn set_order(&mut self, order: SearchOrder) {
        self.order = order;
    }

    /// ArrowDown: the next hit, the first after the last (and at first).
    pub(crate) fn down(&mut self) {
        let len = self.hits.len();
        self.selected = (len > 0).then(|| self.selected.map_or(0, |at| (at + 1) % len));
    }

    /// ArrowUp: the hit before, the last before the first (and at first).
    pub(crate) fn up(&mut self) {
        let len = self.hits.len();
        self.selected = (len > 0).then(|| self.selected.map_or(len - 1, |at| (at + len - 1) % len));
    }

    /// Ctrl+Home: the first hit.
    pub(crate) fn first(&mut self) {
        self.selected = (!self.hits.is_empty()).then_some(0);
    }

    /// Ctrl+End: the last hit.
    pub(crate) fn last(&mut self) {
        self.selected = self.hits.len().checked_sub(1);
    }

    /// The pointer is on hit `at`.
    pub(crate) fn select(&mut self, at: usize) {
        if at < self.hits.len() {
            self.selected = Some(at);
        }
    }

    /// No search: no request awaited, no results, no trouble.
    fn forget(&mut self) {
        self.latest = None;
        self.waiting = false;
        self.shown = None;
        self.hits.clear();
        self.next = None;
        self.selected = None;
        self.trouble = None;
    }
}

/// Search for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct Search {
    state: RwSignal<SearchState>,
    send: StoredValue<Sender, LocalStorage>,
}

impl Search {
    /// Nothing searched; requests go out through `send`.
    pub(crate) fn new(send: Sender) -> Self {
        Self {
            state: RwSignal::new(SearchState::default()),
            send: StoredValue::new_local(send),
        }
    }

    /// Reads the state (tracked).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&SearchState) -> R) -> R {
        self.state.with(f)
    }

    /// Reads the state (untracked).
    pub(crate) fn with_untracked<R>(&self, f: impl FnOnce(&SearchState) -> R) -> R {
        self.state.with_untracked(f)
    }

    /// Changes the state (for what sends nothing: opening, the keyboard's
    /// selection).
    pub(crate) fn change<R>(&self, f: impl FnOnce(&mut SearchState) -> R) -> R {
        self.state
            .try_update(f)
            .expect("the search state lives as long as the page")
    }

    /// Whether the panel is open (tracked).
    pub(crate) fn is_open(&self) -> bool {
        self.state.with(SearchState::is_open)
    }

    /// Sends what `ask` returns, if anything; forgets it if it cannot go.
    fn ask(&self, ask: impl FnOnce(&mut SearchState) -> Option<Request>) {
        if let Some(request) = self.change(ask) {
            if !self.send.with_value(|send| send(&request.frame())) {
                self.change(|s| s.not_sent(&request));
            }
        }
    }

    /// See [`SearchState::typed`]: the ticket for [`Self::send_due`].
    pub(crate) fn typed(&self, text: &str) -> u64 {
        self.change(|s| s.typed(text))
    }

    /// The typing paused: see [`SearchState::due`].
    pub(crate) fn send_due(&self, ticket: u64, room: &str) {
        self.ask(|s| s.due(ticket, room));
    }

    /// Searches for what the box says now: see [`SearchState::search_now`].
    pub(crate) fn search_now(&self, room: &str) {
        self.ask(|s| s.search_now(room));
    }

    /// Asks for the page after the hits shown.
    pub(crate) fn more(&self) {
        self.ask(SearchState::more);
    }

    /// Looks in `scope` from now on, searching again in `room`.
    pub(crate) fn set_scope(&self, scope: Scope, room: &str) {
        self.change(|s| s.set_scope(scope));
        self.search_now(room);
    }

    /// Orders by `order` from now on, searching again in `room`.
    pub(crate) fn set_order(&self, order: SearchOrder, room: &str) {
        self.change(|s| s.set_order(order));
        self.search_now(room);
    }

    /// `search_results` arrived: see [`SearchState::results`].
    pub(crate) fn results_arrived(
        &self,
        answer: &Request,
        hits: Vec<SearchHit>,
        next: Option<String>,
    ) {
        self.change(|s| s.results(answer, hits, next));
    }

    /// An `error` without a `client_id` arrived: whether it was the
    /// search's (see [`SearchState::refused`]).
    pub(crate) fn refused(
        &self,
        code: ErrorCode,
        message: &str,
        retry_after_ms: Option<u64>,
    ) -> bool {
        // Untracked first: most errors are not the search's, and need not
        // wake its views.
        if !self.state.with_untracked(SearchState::is_waiting) {
            return false;
        }
        self.change(|s| s.refused(code, message, retry_after_ms))
    }

    /// The connection dropped: see [`SearchState::socket_closed`].
    pub(crate) fn socket_closed(&self) {
        if self.state.with_untracked(SearchState::is_waiting) {
            self.change(SearchState::socket_closed);
        } else {
            self.state.update_untracked(SearchState::socket_closed);
        }
    }
}

/// Search from context.
pub(crate) fn use_search() -> Search {
    expect_context::<Search>()
}
