//! The search half of every store ([`Search`]), written once over a
//! [`Driver`], and the index kept right as messages are stored, edited
//! and deleted; see [`crate::history::search`].
//!
//! What is searched is `search_docs`: one row per message that is not
//! deleted, its `terms` the stems of its caption and file names. The
//! store writes only that table, with the same SQL on both databases.
//! SQLite indexes it with an external-content FTS5 table that triggers
//! keep, `secure-delete` on (a deleted row's terms are removed from the
//! index's pages, not just hidden); PostgreSQL with a generated
//! `tsvector` column and a GIN index on it (see
//! [`super::schema::Types`]). Where a search reads, how it matches and
//! how it ranks are the fragments of [`Dialect`].

use super::{args, hold_rooms, sql_id, sql_limit, to_id, Driver, Param, Sql};
use crate::history::search::words::{highlight, stems};
use crate::history::search::{
    Backlog, Cursor, Highlighted, Hit, Order, Search, SearchPage, SearchQuery, Terms,
    MAX_RANKED_SKIP, MAX_SEARCH_PAGE, RANKED_WINDOW,
};
use crate::history::store::{NewMessage, StoreResult};
use chat_shared::files::{caption, Attachment};
use chat_shared::DM_ROOM_PREFIX;
use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

/// How each database matches and ranks: the only parts of a search that
/// are not the same SQL. `?1` is the query in the database's own
/// language, as [`Dialect::query`] writes it.
pub(crate) struct Dialect {
    /// The index joined with the messages (`m`) it finds, read from the
    /// index: its matches newest first, each message looked up.
    from: &'static str,
    /// The same join read from the messages: a few rooms' messages newest
    /// first, each looked up in the index ([`SMALL_SCOPE`]).
    from_rooms: &'static str,
    /// The message id as the index has it: ordering by it lets the index
    /// hand its matches out newest first.
    key: &'static str,
    /// What a query with a phrase orders by instead of [`Dialect::key`].
    phrase_key: &'static str,
    /// The condition that the index's row matches `?1`.
    matches: &'static str,
    /// Whether the index also keeps each two words in a row as one term
    /// ([`pairs`]), which a phrase then requires ([`Dialect::query`]'s
    /// flag) once every message is indexed so ([`pairs_ready`]).
    pairs: bool,
    /// How well it matches: lower is better, so both order the same way.
    score: &'static str,
    /// The terms in the database's query language, with each phrase's
    /// [`pairs`] required too when the flag says so. Stems are letters
    /// and digits only ([`crate::history::search::words`]), and quoted
    /// all the same, so nothing a user types is read as an operator.
    query: fn(&Terms, bool) -> String,
}

/// FTS5: `MATCH` and BM25 (negative, lower is better). `CROSS JOIN`
/// fixes which side is read first: SQLite's planner cannot see that a
/// lookup in the index costs far more than one in a table (given an id
/// bound it read all of #general's messages, looking each up).
pub(crate) const SQLITE: Dialect = Dialect {
    from: "search_index CROSS JOIN messages m ON m.id = search_index.rowid",
    from_rooms: "messages m CROSS JOIN search_index ON search_index.rowid = m.id",
    key: "search_index.rowid",
    phrase_key: "search_index.rowid",
    matches: "search_index MATCH ?1",
    pairs: false,
    score: "bm25(search_index)",
    query: fts5_query,
};

/// PostgreSQL: `@@` on the GIN-indexed `tsvector`, and `ts_rank` divided
/// by the log of the length (like BM25, a long text is not a better match
/// for holding more words), negated so that lower is better.
/// Its planner weighs both sides from its statistics itself, but it
/// guesses a phrase as common as its words together (GIN keeps no word
/// positions): reading the newest first, it would read half a million
/// rows to find a phrase of common words that a hundred messages hold.
/// So a phrase orders by a key the primary key cannot hand out in order,
/// and the planner takes the phrase's candidates from GIN and sorts them.
/// Those candidates are every message holding all the phrase's words,
/// each read to check their positions: 13,000 for "deploy the server"
/// (85 ms). Each two words in a row are also kept as one term
/// ([`pairs`]), and a phrase requires its pairs: GIN then hands out only
/// the messages holding them, nearly all of them true hits.
pub(crate) const POSTGRES: Dialect = Dialect {
    from: "search_docs s JOIN messages m ON m.id = s.message_id",
    from_rooms: "search_docs s JOIN messages m ON m.id = s.message_id",
    key: "s.message_id",
    phrase_key: "s.message_id + 0",
    matches: "s.vector @@ to_tsquery('simple', ?1)",
    pairs: true,
    score: "-ts_rank(s.vector, to_tsquery('simple', ?1), 1)",
    query: tsquery,
};

/// FTS5's query language: each word and each phrase a quoted string
/// (a phrase's words in a row), all of them required. FTS5 keeps each
/// word's positions, so it has no pairs.
fn fts5_query(terms: &Terms, _pairs: bool) -> String {
    let quote = |stems: &[String]| format!("\"{}\"", stems.join(" ").replace('"', "\"\""));
    let mut parts: Vec<String> = terms
        .words
        .iter()
        .map(|word| quote(std::slice::from_ref(word)))
        .collect();
    parts.extend(terms.phrases.iter().map(|phrase| quote(phrase)));
    parts.join(" AND ")
}

/// `to_tsquery`'s language: each word quoted, a phrase's words joined by
/// `<->` (followed by), all of them required with `&`; with `pairs`, a
/// phrase's pairs too, each a word.
fn tsquery(terms: &Terms, pairs: bool) -> String {
    let quote = |stem: &String| format!("'{}'", stem.replace('\'', "''").replace('\\', "\\\\"));
    let mut parts: Vec<String> = terms.words.iter().map(quote).collect();
    for phrase in &terms.phrases {
        let words: Vec<String> = phrase.iter().map(quote).collect();
        parts.push(format!("({})", words.join(" <-> ")));
        if pairs {
            parts.extend(self::pairs(phrase).iter().map(quote));
        }
    }
    parts.join(" & ")
}

/// Each two stems in a row of `stems` as one term: `deploy0the`,
/// `the0server`. A digit joins them because PostgreSQL's parser keeps a
/// run of letters and digits whole, where `_` or `-` would split it. A
/// pair that is also a word someone typed ("v2" and "x" against "v20x")
/// only adds a candidate, which the phrase's own positions then reject.
fn pairs<S: AsRef<str>>(stems: &[S]) -> Vec<String> {
    stems
        .windows(2)
        .map(|two| format!("{}0{}", two[0].as_ref(), two[1].as_ref()))
        .collect()
}

/// Whether every message is indexed with [`pairs`], so that a phrase may
/// require them: not until the backlog is done (an upgrade to pairs
/// starts it again), as a message indexed before would not be found.
fn pairs_ready(db: &mut dyn Sql) -> StoreResult<bool> {
    let below = db.opt_row("SELECT below FROM search_backlog", &[], |row| {
        row.int("below")
    })?;
    // Ids start at 1: below it there is nothing left.
    Ok(below.unwrap_or_default() <= 1)
}

impl<D: Driver> Search for D {
    fn search(&mut self, query: &SearchQuery) -> StoreResult<SearchPage> {
        self.read(|db| search(db, query))
    }

    fn index_backlog(&mut self, batch: usize) -> StoreResult<Backlog> {
        self.write(|db| backlog(db, batch), |_| true)
    }
}

/// A statement's conditions and parameters as they are added, each
/// parameter numbered in turn.
#[derive(Default)]
struct Statement<'a> {
    conditions: Vec<String>,
    params: Vec<Param<'a>>,
}

impl<'a> Statement<'a> {
    /// Adds a parameter; its placeholder.
    fn param(&mut self, value: Param<'a>) -> String {
        self.params.push(value);
        format!("?{}", self.params.len())
    }

    /// Adds a parameter for each of `values`; their placeholders, as an
    /// `IN` list writes them.
    fn list(&mut self, values: impl IntoIterator<Item = Param<'a>>) -> String {
        let names: Vec<String> = values.into_iter().map(|value| self.param(value)).collect();
        names.join(", ")
    }
}

/// [`Search::search`] in the caller's read.
fn search(db: &mut dyn Sql, query: &SearchQuery) -> StoreResult<SearchPage> {
    let nothing = SearchPage {
        hits: Vec::new(),
        next: None,
    };
    if query.rooms.as_ref().is_some_and(Vec::is_empty) {
        return Ok(nothing);
    }
    let dialect = db.search_dialect();
    let limit = query.limit.clamp(1, MAX_SEARCH_PAGE);
    let phrases = query.terms.phrases.iter().any(|phrase| phrase.len() > 1);
    let pairs = dialect.pairs && phrases && pairs_ready(db)?;
    let text = (!query.terms.is_empty()).then(|| (dialect.query)(&query.terms, pairs));
    let ranked = text.is_some() && query.order == Order::Best;
    let skip = match (ranked, query.cursor) {
        (true, Some(Cursor::Skip(skip))) => skip,
        _ => 0,
    };
    if skip >= MAX_RANKED_SKIP {
        return Ok(nothing);
    }
    let (after, before) = (
        query.after_ms.map(timestamp_at),
        query.before_ms.map(timestamp_at),
    );
    let reader = query.reader.map_or(-1, sql_id);
    let few_messages = match (&text, &query.rooms) {
        (Some(_), Some(rooms)) => live_messages(db, rooms)? < SMALL_SCOPE,
        _ => false,
    };
    let mut statement = Statement {
        conditions: vec!["m.kind = 'message'".into(), "NOT m.deleted".into()],
        params: Vec::new(),
    };
    // The text query is always `?1`: the dialect's fragments name it so.
    // Where the rows are read from, their id as bounds name it, and what
    // orders them newest first.
    let (from, key, order) = match &text {
        Some(text) => {
            statement.param(Param::Text(text));
            statement.conditions.push(dialect.matches.into());
            if few_messages {
                (dialect.from_rooms, "m.id", "m.id")
            } else if query.terms.phrases.is_empty() {
                (dialect.from, dialect.key, dialect.key)
            } else {
                (dialect.from, dialect.key, dialect.phrase_key)
            }
        }
        None => ("messages m", "m.id", "m.id"),
    };
    // Private stays private: a DM only for its members, whatever else
    // the query says.
    let prefix = statement.param(Param::Text(DM_ROOM_PREFIX));
    let member = statement.param(Param::Int(reader));
    statement.conditions.push(format!(
        "(substr(m.room, 1, {}) <> {prefix}
          OR m.room IN (SELECT d.room FROM dm_members d WHERE d.person = {member}))",
        DM_ROOM_PREFIX.chars().count()
    ));
    if let Some(rooms) = &query.rooms {
        let names = statement.list(rooms.iter().map(|room| Param::Text(room)));
        statement.conditions.push(format!("m.room IN ({names})"));
    }
    if let Some(from) = &query.from {
        let from = statement.param(Param::Text(from));
        statement.conditions.push(format!("m.author_key = {from}"));
    }
    if query.has_file {
        // The few messages with files, as a set: asking each message
        // whether it has one would read every message newer than the hits.
        statement.conditions.push(
            "m.id IN (SELECT u.message_id FROM uploads u WHERE u.message_id IS NOT NULL)".into(),
        );
    }
    // Timestamps are stored as RFC 3339 with milliseconds, all the same
    // length, so they compare as text in time order. Each bound is also
    // an id bound, a day wider ([`first_id_at`]), which the index can
    // start from instead of reading every match newer than `before:`.
    // An id bound on the index's key and on the message's: the planner
    // does not carry one over the join, and PostgreSQL read a quarter
    // million of #general's messages newer than `before:` without it.
    let ids = |bound: &str| match key {
        "m.id" => format!("m.id {bound}"),
        _ => format!("{key} {bound} AND m.id {bound}"),
    };
    if let (Some(after_ms), Some(after)) = (query.after_ms, &after) {
        let first = first_id_at(db, after_ms.saturating_sub(CLOCK_SLACK_MS))?;
        let first = statement.param(Param::Int(first));
        let after = statement.param(Param::Text(after));
        let first = ids(&format!(">= {first}"));
        statement
            .conditions
            .push(format!("{first} AND m.timestamp >= {after}"));
    }
    if let (Some(before_ms), Some(before)) = (query.before_ms, &before) {
        let past = first_id_at(db, before_ms.saturating_add(CLOCK_SLACK_MS))?;
        let past = statement.param(Param::Int(past));
        let before = statement.param(Param::Text(before));
        let past = ids(&format!("< {past}"));
        statement
            .conditions
            .push(format!("{past} AND m.timestamp < {before}"));
    }
    if let (false, Some(Cursor::Older(older))) = (ranked, query.cursor) {
        let older = statement.param(Param::Int(sql_id(older)));
        statement.conditions.push(ids(&format!("< {older}")));
    }
    let count = statement.param(Param::Int(sql_limit(limit + 1)));
    let offset = statement.param(Param::Int(sql_id(skip)));
    let columns = "m.id, m.room, m.username, m.timestamp, m.text";
    let conditions = statement.conditions.join(" AND ");
    // Newest first, the index hands its matches out in order and the
    // statement stops at the page's end. Best first ranks the newest
    // [`RANKED_WINDOW`] matches, found the same way.
    let sql = if ranked {
        let window = statement.param(Param::Int(sql_limit(RANKED_WINDOW)));
        format!(
            "SELECT * FROM (SELECT {columns}, {} AS score FROM {from}
                WHERE {conditions} ORDER BY {order} DESC LIMIT {window}) newest
             ORDER BY score, id DESC LIMIT {count} OFFSET {offset}",
            dialect.score
        )
    } else {
        format!(
            "SELECT {columns} FROM {from}
             WHERE {conditions} ORDER BY {order} DESC LIMIT {count} OFFSET {offset}"
        )
    };
    let mut hits = db.rows(&sql, &statement.params, |row| {
        Ok(Hit {
            id: row.id("id")?,
            room: row.text("room")?,
            username: row.text("username")?,
            timestamp: row.text("timestamp")?,
            text: Highlighted {
                text: row.text("text")?,
                ranges: Vec::new(),
            },
            files: Vec::new(),
        })
    })?;
    let more = hits.len() > limit;
    hits.truncate(limit);
    let mut files = hits_files(db, &hits)?;
    for hit in &mut hits {
        let attachments = files.remove(&hit.id).unwrap_or_default();
        // Only the caption is found and shown, as only it is indexed: the
        // link lines after it repeat the names, which `files` carries.
        let caption_len = caption(&hit.text.text, &attachments).len();
        hit.text.text.truncate(caption_len);
        hit.text.ranges = highlight(&hit.text.text, &query.terms.words, &query.terms.phrases);
        hit.files = attachments
            .into_iter()
            .map(|attachment| highlighted(&query.terms, attachment.name))
            .collect();
    }
    let next = match (more, ranked, hits.last()) {
        (true, false, Some(last)) => Some(Cursor::Older(last.id)),
        (true, true, _) => {
            let skip = skip + hits.len() as u64;
            (skip < MAX_RANKED_SKIP).then_some(Cursor::Skip(skip))
        }
        _ => None,
    };
    Ok(SearchPage { hits, next })
}

/// The files of a page's hits, by message id, in their order on each, in
/// one statement: one per hit cost PostgreSQL more than the search.
fn hits_files(db: &mut dyn Sql, hits: &[Hit]) -> StoreResult<HashMap<u64, Vec<Attachment>>> {
    if hits.is_empty() {
        return Ok(HashMap::new());
    }
    let mut statement = Statement::default();
    let names = statement.list(hits.iter().map(|hit| Param::Text(&hit.room)));
    let ids = statement.list(hits.iter().map(|hit| Param::Int(sql_id(hit.id))));
    let sql = format!(
        super::files::files_of!("u.room IN ({names}) AND u.message_id IN ({ids})"),
        names = names,
        ids = ids
    );
    files_by_message(db, &sql, &statement.params)
}

/// What `sql` (a [`super::files::files_of`] statement) reads, by message
/// id.
fn files_by_message(
    db: &mut dyn Sql,
    sql: &str,
    params: &[Param<'_>],
) -> StoreResult<HashMap<u64, Vec<Attachment>>> {
    let mut files: HashMap<u64, Vec<Attachment>> = HashMap::new();
    db.each(sql, params, &mut |row| {
        files
            .entry(row.id("message_id")?)
            .or_default()
            .push(super::files::attachment(row)?);
        Ok(())
    })?;
    Ok(files)
}

/// Below this many messages, the rooms a search names are read newest
/// first and each message looked up in the index, rather than the
/// index's matches read newest first until enough are in those rooms: a
/// DM's few messages against the half million that say "the".
const SMALL_SCOPE: i64 = 5000;

/// How many messages `rooms` hold that are not deleted, counted up to
/// [`SMALL_SCOPE`] only (an index range, a millisecond).
fn live_messages(db: &mut dyn Sql, rooms: &[String]) -> StoreResult<i64> {
    let mut statement = Statement::default();
    let names = statement.list(rooms.iter().map(|room| Param::Text(room)));
    let limit = statement.param(Param::Int(SMALL_SCOPE));
    let sql = format!(
        "SELECT count(*) AS n FROM (SELECT 1 FROM messages
         WHERE room IN ({names}) AND kind = 'message' AND NOT deleted LIMIT {limit}) few"
    );
    Ok(db
        .opt_row(&sql, &statement.params, |row| row.int("n"))?
        .unwrap_or(0))
}

/// How far apart in time two messages stored one after the other may be
/// said to have been: the clocks of a cluster's nodes differ a little,
/// and a clock set back moves the time of what follows. Date filters
/// bound ids this much wider than their dates ([`first_id_at`]), and
/// the dates themselves stay exact.
const CLOCK_SLACK_MS: u64 = 86_400_000;

/// The id of the first row stored at or after `ms` (one past the last
/// when none was): ids go up with time, give or take
/// [`CLOCK_SLACK_MS`], so halving the ids finds it in some twenty reads
/// of the primary key, with no index on the time.
fn first_id_at(db: &mut dyn Sql, ms: u64) -> StoreResult<i64> {
    let at = timestamp_at(ms);
    let last = db
        .opt_row("SELECT max(id) AS id FROM messages", &[], |row| {
            row.opt_int("id")
        })?
        .flatten()
        .unwrap_or(0);
    // Every row below `low` was stored before `at`; `high` is at or after.
    let (mut low, mut high) = (0_i64, last + 1);
    while low < high {
        let middle = low + (high - low) / 2;
        let next = db.opt_row(
            "SELECT id, timestamp FROM messages WHERE id >= ?1 ORDER BY id LIMIT 1",
            args![middle],
            |row| Ok((row.int("id")?, row.text("timestamp")?)),
        )?;
        match next {
            Some((id, timestamp)) if timestamp < at => low = id + 1,
            _ => high = middle,
        }
    }
    Ok(low)
}

/// `text` with the ranges that `terms` match.
fn highlighted(terms: &Terms, text: String) -> Highlighted {
    let ranges = highlight(&text, &terms.words, &terms.phrases);
    Highlighted { text, ranges }
}

/// The latest instant RFC 3339 writes with a four-digit year.
const LAST_TIMESTAMP_MS: u64 = 253_402_300_799_999;

/// A time in milliseconds as the messages' `timestamp` is written, so the
/// two compare as text. Times past year 9999 read as its last instant.
fn timestamp_at(ms: u64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms.min(LAST_TIMESTAMP_MS));
    humantime::format_rfc3339_millis(at).to_string()
}

/// Indexes a message just stored, in the caller's transaction: its
/// caption and its files' names.
pub(super) fn index_new(db: &mut dyn Sql, id: i64, message: &NewMessage) -> StoreResult<()> {
    let pairs = db.search_dialect().pairs;
    let terms = terms_of(&message.text, &message.attachments, pairs);
    if !terms.is_empty() {
        db.execute(&index_rows(1), args![id, terms.as_str()])?;
    }
    Ok(())
}

/// Indexes the message `id` of `room` as it is stored now (after an
/// edit, or for the backlog), in place of what the index had; a deleted
/// one, or a change, is taken out. Whether it is in the index now.
pub(super) fn index_stored(db: &mut dyn Sql, id: i64, room: &str) -> StoreResult<bool> {
    let text = db.opt_row(
        "SELECT text FROM messages
         WHERE id = ?1 AND room = ?2 AND kind = 'message' AND NOT deleted",
        args![id, room],
        |row| row.text("text"),
    )?;
    let Some(text) = text else {
        unindex(db, id)?;
        return Ok(false);
    };
    let attachments = db.rows(super::files::PAGE_FILES, args![room, id, id], |row| {
        super::files::attachment(row)
    })?;
    let terms = terms_of(&text, &attachments, db.search_dialect().pairs);
    if terms.is_empty() {
        unindex(db, id)?;
        return Ok(false);
    }
    db.execute(&index_rows(1), args![id, terms.as_str()])?;
    Ok(true)
}

/// Takes message `id` out of the index (a deletion), in the caller's
/// transaction. In SQLite `secure-delete` removes its terms from the
/// FTS5 index's pages too.
pub(super) fn unindex(db: &mut dyn Sql, id: i64) -> StoreResult<()> {
    db.execute("DELETE FROM search_docs WHERE message_id = ?1", args![id])?;
    Ok(())
}

/// The statement putting `count` messages' terms in the index, in place
/// of any they had: `?1` the first's id, `?2` its terms, and so on.
fn index_rows(count: usize) -> String {
    let rows: Vec<String> = (0..count)
        .map(|n| format!("(?{}, ?{})", 2 * n + 1, 2 * n + 2))
        .collect();
    format!(
        "INSERT INTO search_docs (message_id, terms) VALUES {}
         ON CONFLICT (message_id) DO UPDATE SET terms = excluded.terms",
        rows.join(", ")
    )
}

/// What the index keeps of a message: the stems of its caption (the text
/// without its files' link lines, whose paths are noise) and of its
/// files' names, in a row, and with `pairs` each two of them in a row
/// ([`pairs`]) after them all, so the stems' positions stay in a row.
fn terms_of(text: &str, attachments: &[Attachment], pairs: bool) -> String {
    let mut terms = stems(caption(text, attachments));
    for attachment in attachments {
        let name = stems(&attachment.name);
        if !name.is_empty() {
            if !terms.is_empty() {
                terms.push(' ');
            }
            terms.push_str(&name);
        }
    }
    if pairs {
        let stems: Vec<&str> = terms.split(' ').collect();
        for pair in self::pairs(&stems) {
            terms.push(' ');
            terms.push_str(&pair);
        }
    }
    terms
}

/// [`Search::index_backlog`] in the caller's transaction. The backlog is
/// every message below `search_backlog.below` (set by the migration to
/// the first id after the messages it found); each batch takes the
/// newest of them, holds their rooms' order ([`hold_rooms`]) so that no
/// edit or deletion of them commits meanwhile, indexes them as they are
/// then, and moves the mark down past them (only ever down, so two nodes
/// at once do no harm). A batch is four statements, whatever its size:
/// one per message made PostgreSQL take half an hour over a million.
fn backlog(db: &mut dyn Sql, batch: usize) -> StoreResult<Backlog> {
    let below = db
        .opt_row("SELECT below FROM search_backlog", &[], |row| {
            row.int("below")
        })?
        .unwrap_or_default();
    let batch = batch.max(1);
    let found = db.rows(
        "SELECT id, room FROM messages
         WHERE id < ?1 AND kind = 'message' AND NOT deleted ORDER BY id DESC LIMIT ?2",
        args![below, sql_limit(batch)],
        |row| Ok((row.int("id")?, row.text("room")?)),
    )?;
    let mark = match found.last() {
        Some((lowest, _)) if found.len() == batch => *lowest,
        _ => 0,
    };
    let rooms: Vec<&str> = found.iter().map(|(_, room)| room.as_str()).collect();
    hold_rooms(db, &rooms)?;
    let mut indexed = 0;
    if let (Some((highest, _)), Some((lowest, _))) = (found.first(), found.last()) {
        // As they are now: one deleted since it was found is left out.
        let texts = db.rows(
            "SELECT id, text FROM messages
             WHERE id BETWEEN ?1 AND ?2 AND kind = 'message' AND NOT deleted",
            args![*lowest, *highest],
            |row| Ok((row.id("id")?, row.text("text")?)),
        )?;
        let mut files = range_files(db, &rooms, *lowest, *highest)?;
        let pairs = db.search_dialect().pairs;
        let mut rows = Vec::new();
        for (id, text) in &texts {
            let terms = terms_of(text, &files.remove(id).unwrap_or_default(), pairs);
            if !terms.is_empty() {
                rows.push((sql_id(*id), terms));
            }
        }
        indexed = rows.len() as u64;
        let mut params = Vec::with_capacity(rows.len() * 2);
        for (id, terms) in &rows {
            params.push(Param::Int(*id));
            params.push(Param::Text(terms));
        }
        if !rows.is_empty() {
            db.execute(&index_rows(rows.len()), &params)?;
        }
    }
    db.execute(
        "UPDATE search_backlog SET below = ?1 WHERE below > ?1",
        args![mark],
    )?;
    Ok(Backlog {
        indexed,
        ids_left: to_id(mark.saturating_sub(1)),
    })
}

/// The files of `rooms`' messages with ids from `lowest` to `highest`, by
/// message id, in their order on each (a room named twice is one).
fn range_files(
    db: &mut dyn Sql,
    rooms: &[&str],
    lowest: i64,
    highest: i64,
) -> StoreResult<HashMap<u64, Vec<Attachment>>> {
    let mut statement = Statement::default();
    let names = statement.list(rooms.iter().map(|room| Param::Text(room)));
    let (lowest, highest) = (
        statement.param(Param::Int(lowest)),
        statement.param(Param::Int(highest)),
    );
    let sql = format!(
        super::files::files_of!(
            "u.room IN ({names}) AND u.message_id BETWEEN {lowest} AND {highest}"
        ),
        names = names,
        lowest = lowest,
        highest = highest
    );
    files_by_message(db, &sql, &statement.params)
}
