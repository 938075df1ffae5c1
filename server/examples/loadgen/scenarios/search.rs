//! Search at a million messages (issue 26): the server holds the history
//! of [`corpus`](crate::corpus) at the same scale (`cargo xtask bench`
//! imports it and waits until it is indexed). First one client checks
//! that the planted rare words and the phrase find exactly their
//! messages and that filters narrow; then 20 clients each search once a
//! second (within the per-connection budget of 2 a second), each going
//! through the same fixed mix of queries from its own place in it:
//! common words, rare words, phrases, filters, both orders, and second
//! pages. Latency is from the `search` sent to its `search_results`
//! read, for all queries and per kind.

use super::Run;
use crate::client::{connect, join, name_of};
use crate::corpus::{self, PHRASE, PHRASE_COUNT, RARE};
use crate::Report;
use chat_shared::search::{SearchHit, SearchOrder};
use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::client::Socket;

/// Searching clients at scale 1, each asking once a second.
const CLIENTS: usize = 20;
/// Rounds through the mix each client makes at scale 1.
const ROUNDS: usize = 3;
/// Longest wait for one answer before the client gives up.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// What a query of the mix stands for, to report its latency apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Common,
    Rare,
    Phrase,
    Filter,
    Best,
    NextPage,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Common,
        Kind::Rare,
        Kind::Phrase,
        Kind::Filter,
        Kind::Best,
        Kind::NextPage,
    ];

    fn key(self) -> &'static str {
        match self {
            Kind::Common => "common",
            Kind::Rare => "rare",
            Kind::Phrase => "phrase",
            Kind::Filter => "filter",
            Kind::Best => "best",
            Kind::NextPage => "page2",
        }
    }
}

/// One query of the mix; with `second_page`, its next page is asked
/// right after the first (and measured as a [`Kind::NextPage`]).
struct Query {
    kind: Kind,
    text: &'static str,
    room: Option<&'static str>,
    order: SearchOrder,
    second_page: bool,
}

const fn newest(kind: Kind, text: &'static str) -> Query {
    Query {
        kind,
        text,
        room: None,
        order: SearchOrder::Newest,
        second_page: false,
    }
}

const fn best(text: &'static str) -> Query {
    Query {
        kind: Kind::Best,
        text,
        room: None,
        order: SearchOrder::Best,
        second_page: false,
    }
}

const fn paged(query: Query) -> Query {
    Query {
        second_page: true,
        ..query
    }
}

/// The fixed mix. "the", "deploy", "server" and "meeting" are among the
/// most frequent words (tens of thousands of messages each at full
/// scale); the rare words are planted a few times each.
const MIX: [Query; 24] = [
    paged(newest(Kind::Common, "deploy")),
    newest(Kind::Common, "server"),
    newest(Kind::Common, "the"),
    newest(Kind::Common, "release notes"),
    newest(Kind::Common, "сообщения"),
    newest(Kind::Rare, "quokka"),
    newest(Kind::Rare, "zephyrine"),
    newest(Kind::Rare, "marmalade deploy"),
    newest(Kind::Rare, "xylograph"),
    newest(Kind::Phrase, "\"blue harbour lantern\""),
    newest(Kind::Phrase, "\"deploy the server\""),
    newest(Kind::Phrase, "\"check the logs\" cluster"),
    newest(Kind::Filter, "from:writer7"),
    newest(Kind::Filter, "deploy from:writer7"),
    newest(Kind::Filter, "server in:ops"),
    Query {
        room: Some("rust"),
        ..newest(Kind::Filter, "meeting")
    },
    paged(newest(Kind::Filter, "has:file")),
    newest(Kind::Filter, "has:file report"),
    newest(Kind::Filter, "meeting after:2026-11-01"),
    newest(Kind::Filter, "release before:2026-01-15 in:general"),
    best("deploy"),
    paged(best("server meeting")),
    best("\"blue harbour lantern\""),
    best("zephyrine"),
];

/// Runs the scenario.
pub(crate) async fn run(run: &Run, report: &Report) -> Result<(), String> {
    let total = corpus::messages_at(run.scale);
    report.result("messages", total as f64);
    report.note(&format!(
        "search: {total} messages over {} rooms by {} authors",
        corpus::ROOMS.len(),
        corpus::AUTHORS
    ));
    let mut checker = Searcher::join(run, 0).await?;
    check_hits(&mut checker, report).await?;
    drop(checker);

    let clients = run.count(CLIENTS, 4);
    let rounds = run.count(ROUNDS, 1);
    let samples: Arc<Mutex<Vec<(Kind, Duration)>>> = Arc::default();
    let mut searchers = Vec::with_capacity(clients);
    for index in 1..=clients {
        searchers.push(Searcher::join(run, index).await?);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, mut searcher) in searchers.into_iter().enumerate() {
        let samples = Arc::clone(&samples);
        // Spread over the first second, each from its own place in the mix.
        let offset = Duration::from_secs(1) * u32::try_from(n).unwrap_or(0) / clients as u32;
        tasks.spawn(async move {
            tokio::time::sleep(offset).await;
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for step in 0..rounds * MIX.len() {
                ticks.tick().await;
                let query = &MIX[(n + step) % MIX.len()];
                let (took, next) = searcher.timed(query, None).await?;
                let mut kept = vec![(query.kind, took)];
                if let (true, Some(page)) = (query.second_page, next) {
                    let (took, _) = searcher.timed(query, Some(page)).await?;
                    kept.push((Kind::NextPage, took));
                }
                samples
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend(kept);
            }
            Ok::<u64, String>(searcher.rate_limited)
        });
    }
    let mut rate_limited = 0;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(limited)) => rate_limited += limited,
            Ok(Err(error)) => report.note(&format!("search: a client stopped: {error}")),
            Err(error) => report.note(&format!("search: a client failed: {error}")),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(PoisonError::into_inner));
    report.result("clients", clients as f64);
    report.result("searches_per_s", samples.len() as f64 / elapsed);
    report.result("rate_limited", rate_limited as f64);
    let all: Vec<Duration> = samples.iter().map(|(_, took)| *took).collect();
    report_quantiles(report, "search", all);
    for kind in Kind::ALL {
        let of_kind = samples
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, took)| *took)
            .collect();
        report_quantiles(report, kind.key(), of_kind);
    }
    Ok(())
}

/// Reports p50, p99 and the count of `samples` under `prefix`.
fn report_quantiles(report: &Report, prefix: &str, mut samples: Vec<Duration>) {
    if samples.is_empty() {
        report.note(&format!("search: no {prefix} search was answered"));
        return;
    }
    samples.sort_unstable();
    let at = |q: f64| {
        let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[index].as_secs_f64() * 1000.0
    };
    report.result(&format!("{prefix}_p50_ms"), at(0.5));
    report.result(&format!("{prefix}_p99_ms"), at(0.99));
    report.result(&format!("{prefix}_samples"), samples.len() as f64);
}

/// Checks what the planted words and phrase find, and that filters
/// narrow, reporting the counts.
async fn check_hits(searcher: &mut Searcher, report: &Report) -> Result<(), String> {
    let mut planted = 0;
    let mut found = 0;
    for (word, count) in RARE {
        let hits = searcher.all_hits(word, None).await?;
        planted += count;
        found += hits.len();
        let with_word = hits.iter().filter(|hit| hit.text.contains(word)).count();
        if hits.len() != count || with_word != count {
            report.note(&format!(
                "search: {word:?} is planted in {count} messages; found {} ({with_word} with the word)",
                hits.len()
            ));
        }
    }
    report.result("rare_planted", planted as f64);
    report.result("rare_found", found as f64);
    let phrase = format!("\"{PHRASE}\"");
    let hits = searcher.all_hits(&phrase, None).await?;
    report.result("phrase_planted", PHRASE_COUNT as f64);
    report.result("phrase_found", hits.len() as f64);
    if hits.iter().any(|hit| !hit.text.contains(PHRASE)) {
        report.note("search: the phrase found a message without it");
    }
    let narrowed = [
        ("deploy from:writer7", "username writer7"),
        ("server in:ops", "room ops"),
        ("has:file", "a file"),
    ];
    for (query, what) in narrowed {
        let (hits, _) = searcher
            .page(query, None, SearchOrder::Newest, None)
            .await?;
        let wrong = hits
            .iter()
            .filter(|hit| match what {
                "username writer7" => hit.username != "writer7",
                "room ops" => hit.room != "ops",
                _ => hit.files.is_empty(),
            })
            .count();
        if hits.is_empty() || wrong > 0 {
            report.note(&format!(
                "search: {query:?} found {} hits, {wrong} of them without {what}",
                hits.len()
            ));
        }
    }
    let (common, next) = searcher
        .page("deploy", None, SearchOrder::Newest, None)
        .await?;
    report.result("common_first_page_hits", common.len() as f64);
    if next.is_none() {
        report.note("search: \"deploy\" has no second page");
    }
    Ok(())
}

/// One joined connection that searches.
struct Searcher {
    socket: Socket,
    /// Searches answered `rate_limited` (asked again after the wait).
    rate_limited: u64,
}

impl Searcher {
    /// Connects client `index` and joins the default room.
    async fn join(run: &Run, index: usize) -> Result<Self, String> {
        let mut socket = connect(&run.target, index).await?;
        join(&mut socket, &format!("s{}", name_of(index)), None).await?;
        Ok(Self {
            socket,
            rate_limited: 0,
        })
    }

    /// Asks `query` (its page `page`) and times the answer.
    async fn timed(
        &mut self,
        query: &Query,
        page: Option<String>,
    ) -> Result<(Duration, Option<String>), String> {
        let started = Instant::now();
        let (_, next) = self.page(query.text, query.room, query.order, page).await?;
        Ok((started.elapsed(), next))
    }

    /// Every hit of `query`, newest first, page by page (for the checks:
    /// the rare words find a few pages at most).
    async fn all_hits(
        &mut self,
        query: &str,
        room: Option<&str>,
    ) -> Result<Vec<SearchHit>, String> {
        let mut all = Vec::new();
        let mut page = None;
        for _ in 0..10 {
            let (hits, next) = self.page(query, room, SearchOrder::Newest, page).await?;
            all.extend(hits);
            match next {
                Some(next) => page = Some(next),
                None => return Ok(all),
            }
        }
        Ok(all)
    }

    /// One page of `query`; a `rate_limited` answer is waited out and the
    /// search asked again (the time of a measured search then includes
    /// the wait, which should not happen at one search a second).
    async fn page(
        &mut self,
        query: &str,
        room: Option<&str>,
        order: SearchOrder,
        page: Option<String>,
    ) -> Result<(Vec<SearchHit>, Option<String>), String> {
        loop {
            let frame = ClientFrame::Search {
                query: query.to_owned(),
                room: room.map(str::to_owned),
                order,
                page: page.clone(),
            };
            self.socket
                .send(Message::text(frame.encode()))
                .await
                .map_err(|e| format!("send search: {e}"))?;
            match tokio::time::timeout(ANSWER_TIMEOUT, self.answer(query, &page)).await {
                Err(_) => return Err(format!("no answer to {query:?} in {ANSWER_TIMEOUT:?}")),
                Ok(Err(Some(wait))) => {
                    self.rate_limited += 1;
                    tokio::time::sleep(wait).await;
                }
                Ok(Err(None)) => return Err(format!("the socket ended during {query:?}")),
                Ok(Ok(Err(error))) => return Err(error),
                Ok(Ok(Ok(answer))) => return Ok(answer),
            }
        }
    }

    /// Reads until the answer to `query` (`page`); `Err(Some(wait))` for
    /// a rate limit, `Err(None)` if the socket ends.
    #[allow(clippy::type_complexity)]
    async fn answer(
        &mut self,
        query: &str,
        page: &Option<String>,
    ) -> Result<Result<(Vec<SearchHit>, Option<String>), String>, Option<Duration>> {
        while let Some(Ok(frame)) = self.socket.next().await {
            let Message::Text(text) = frame else {
                continue;
            };
            match ServerFrame::decode(&text) {
                Ok(ServerFrame::SearchResults {
                    query: answered,
                    page: answered_page,
                    hits,
                    next,
                    ..
                }) if answered == query && answered_page == *page => return Ok(Ok((hits, next))),
                Ok(ServerFrame::Error {
                    code: ErrorCode::RateLimited,
                    retry_after_ms,
                    ..
                }) => {
                    return Err(Some(Duration::from_millis(retry_after_ms.unwrap_or(500))));
                }
                Ok(ServerFrame::Error { code, message, .. }) => {
                    return Ok(Err(format!("{query:?}: {code:?} {message}")));
                }
                _ => {}
            }
        }
        Err(None)
    }
}
