//! The history the `search` scenario searches (issue 26): a million
//! messages at full scale over 20 rooms and 200 authors, made from a
//! fixed seed so every run builds the same one. Words follow a Zipf-like
//! law over a vocabulary of common English words, a few Russian ones and
//! a long tail of made-up ones; a few rare words and one phrase are
//! planted a known number of times, which the scenario then checks it
//! finds. `loadgen search-corpus` writes it as a `chat-server export`
//! file, which `chat-server import` restores; the server then indexes it
//! in the background, as after an upgrade. On PostgreSQL, which has no
//! `import`, `search-corpus --postgres` copies the same rows into a
//! database the server has created (and left), and marks them as the
//! backlog the same way.

use chat_server::archive::{Export, ExportedFile, ExportedMessage, ExportedRoom};
use std::time::{Duration, UNIX_EPOCH};

/// Messages at scale 1.
pub(crate) const FULL_MESSAGES: usize = 1_000_000;

/// The rooms, the first ones busiest.
pub(crate) const ROOMS: [&str; 20] = [
    "general", "random", "rust", "ops", "frontend", "backend", "design", "support", "sales",
    "hiring", "books", "music", "travel", "food", "games", "sport", "movies", "pets", "garden",
    "offtopic",
];

/// Authors: `writer0` to `writer199`.
pub(crate) const AUTHORS: usize = 200;

/// The most frequent words, most frequent first ("the" most of all).
const COMMON: [&str; 64] = [
    "the", "to", "and", "is", "it", "we", "on", "for", "deploy", "server", "meeting", "release",
    "build", "test", "fix", "bug", "today", "tomorrow", "please", "thanks", "check", "review",
    "notes", "merge", "branch", "issue", "update", "team", "client", "database", "query", "index",
    "running", "working", "broken", "logs", "error", "config", "lunch", "coffee", "weekend",
    "plan", "design", "ticket", "customer", "report", "metrics", "alert", "latency", "memory",
    "disk", "network", "cluster", "backup", "restore", "docs", "question", "answer", "idea",
    "draft", "schedule", "call", "later", "maybe",
];

/// Russian words, mixed into the common ones: the stemmer must find
/// "сообщения" as "сообщение".
const RUSSIAN: [&str; 8] = [
    "сообщение",
    "сообщения",
    "сервер",
    "привет",
    "работает",
    "спасибо",
    "завтра",
    "встреча",
];

/// Made-up words of the long tail: syllables put together.
const TAIL_WORDS: usize = 20_000;
const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ter", "van", "os", "pri", "dul", "en", "sa", "ri", "mon", "tu", "bel",
    "cor", "ix", "na", "fe", "gor", "li", "um", "set", "ra", "do",
];

/// Rare words, each planted in exactly this many messages (never made
/// by the generator otherwise): a search for one finds exactly these.
pub(crate) const RARE: [(&str, usize); 4] = [
    ("quokka", 3),
    ("zephyrine", 7),
    ("marmalade", 12),
    ("xylograph", 30),
];

/// A phrase planted in exactly [`PHRASE_COUNT`] messages; its words also
/// appear apart, in other planted messages, which the phrase must not
/// find.
pub(crate) const PHRASE: &str = "blue harbour lantern";
pub(crate) const PHRASE_COUNT: usize = 20;
const PHRASE_APART: &str = "lantern near the blue harbour";

/// One message in this many carries a file.
pub(crate) const FILE_EVERY: usize = 400;
const FILE_NAMES: [&str; 5] = [
    "report-q3.pdf",
    "screenshot.png",
    "deploy-notes.txt",
    "budget.xlsx",
    "meeting-minutes.docx",
];

/// The history spans the year before this instant (2026-12-01T00:00Z).
const END_SECS: u64 = 1_796_083_200;
const SPAN_SECS: u64 = 365 * 24 * 3600;

/// How many messages a scale stands for (at least 1,000).
pub(crate) fn messages_at(scale: f64) -> usize {
    ((FULL_MESSAGES as f64 * scale).round() as usize).max(1_000)
}

/// The name of author `n`.
pub(crate) fn author(n: usize) -> String {
    format!("writer{n}")
}

/// A small deterministic generator (SplitMix64): no crate, same history
/// on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Picks ranks with weight 1/(rank + 1): Zipf's law, s = 1.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|rank| {
                total += 1.0 / (rank as f64 + 1.0);
                total
            })
            .collect();
        Self { cumulative }
    }

    fn pick(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let target = rng.unit() * total;
        self.cumulative
            .partition_point(|&c| c <= target)
            .min(self.cumulative.len() - 1)
    }
}

/// The vocabulary in rank order: common words, Russian among the first
/// hundred or so, then the tail.
fn vocabulary() -> Vec<String> {
    let mut words: Vec<String> = COMMON.iter().map(|w| (*w).to_owned()).collect();
    for (n, word) in RUSSIAN.iter().enumerate() {
        words.insert(20 + n * 5, (*word).to_owned());
    }
    let mut rng = Rng(26);
    let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
    while words.len() < COMMON.len() + RUSSIAN.len() + TAIL_WORDS {
        let syllables = 2 + rng.below(3);
        let word: String = (0..syllables)
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
            .collect();
        if seen.insert(word.clone()) {
            words.push(word);
        }
    }
    words
}

/// Where the planted texts go in a history of `total` messages: the rare
/// words and the phrase (and its words apart) evenly spread, each kind
/// shifted by one so no two meet.
fn planted(total: usize) -> std::collections::HashMap<usize, &'static str> {
    let kinds = RARE
        .iter()
        .copied()
        .chain([(PHRASE, PHRASE_COUNT), (PHRASE_APART, PHRASE_COUNT)]);
    let mut at = std::collections::HashMap::new();
    for (kind, (text, count)) in kinds.enumerate() {
        for k in 0..count {
            at.insert((total / (count + 1)) * (k + 1) + kind, text);
        }
    }
    at
}

/// The whole history of `total` messages, as an export.
pub(crate) fn export(total: usize) -> Export {
    let words = vocabulary();
    let word_law = Zipf::new(words.len());
    let room_law = Zipf::new(ROOMS.len());
    let plants = planted(total);
    let mut rng = Rng(2026);
    let mut rooms: Vec<ExportedRoom> = ROOMS
        .iter()
        .map(|name| ExportedRoom {
            name: (*name).to_owned(),
            created_at: timestamp(0),
            messages: Vec::new(),
        })
        .collect();
    for index in 0..total {
        let len = 4 + rng.below(20);
        let mut text_words: Vec<&str> = (0..len)
            .map(|_| words[word_law.pick(&mut rng)].as_str())
            .collect();
        if let Some(plant) = plants.get(&index) {
            let at = rng.below(text_words.len());
            text_words.insert(at, plant);
        }
        let text = text_words.join(" ");
        let writer = author(rng.below(AUTHORS));
        let ms = (index as u64 * SPAN_SECS * 1000) / total as u64;
        let id = index as i64 + 1;
        let room = &mut rooms[room_law.pick(&mut rng)];
        let files = if index % FILE_EVERY == FILE_EVERY - 1 {
            vec![file(id, &writer, ms)]
        } else {
            Vec::new()
        };
        room.messages.push(ExportedMessage {
            id,
            author_key: chat_shared::validate::username_key(&writer),
            username: writer,
            text,
            timestamp: timestamp(ms),
            client_id: None,
            owner: None,
            edited_at: None,
            reply_to: None,
            reply_username: None,
            reply_text: None,
            reactions: Vec::new(),
            files,
        });
    }
    Export {
        format: "websocket-chat-export".into(),
        version: 3,
        rooms,
    }
}

/// A file on message `id`: only its record (searching never reads the
/// bytes).
fn file(id: i64, uploader: &str, ms: u64) -> ExportedFile {
    let name = FILE_NAMES[(id as usize / FILE_EVERY) % FILE_NAMES.len()];
    ExportedFile {
        id: format!("f{id:012}"),
        name: name.to_owned(),
        uploader: uploader.to_owned(),
        // Unique per uploader and room, as the server's upload keys are.
        upload_key: format!("bench-{id}"),
        created_ms: i64::try_from(ms).unwrap_or(0),
        sha256: format!("{:064x}", id),
        size: 1000 + id % 100_000,
        content_type: "application/octet-stream".into(),
        width: None,
        height: None,
        thumbs: String::new(),
        preview: None,
    }
}

/// `ms` after the history's start, as messages' timestamps are written.
fn timestamp(ms: u64) -> String {
    let start = UNIX_EPOCH + Duration::from_secs(END_SECS - SPAN_SECS);
    humantime::format_rfc3339_millis(start + Duration::from_millis(ms)).to_string()
}

/// Copies `export` into the PostgreSQL database at `url`, whose schema a
/// server has made and which holds nothing yet, as `chat-server import`
/// does into SQLite: the rooms, the messages with their ids (COPY, which
/// keeps given identity values), their files, and the backlog mark that
/// has the server index them. Blocking: not for the async runtime.
pub(crate) fn load_postgres(export: &Export, url: &str) -> Result<usize, String> {
    let failed = |error: postgres::Error| match error.as_db_error() {
        Some(db) => format!("PostgreSQL at {url}: {}", db.message()),
        None => format!("PostgreSQL at {url}: {error}"),
    };
    let mut client = postgres::Client::connect(url, postgres::NoTls).map_err(failed)?;
    // The server makes the schema once it is up: wait for its last table.
    let until = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let made: Option<String> = client
            .query_one("SELECT to_regclass('search_backlog')::text", &[])
            .map_err(failed)?
            .get(0);
        if made.is_some() {
            break;
        }
        if std::time::Instant::now() > until {
            return Err(format!("{url} has no chat schema after a minute"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut tx = client.transaction().map_err(failed)?;
    let held: i64 = tx
        .query_one(
            "SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM rooms)",
            &[],
        )
        .map_err(failed)?
        .get(0);
    if held > 0 {
        return Err(format!("{url} is not empty: load into a fresh database"));
    }
    let mut rooms = String::new();
    let mut messages = String::new();
    let mut count = 0;
    for room in &export.rooms {
        rooms.push_str(&copy_row(&[&room.name, &room.created_at]));
        for message in &room.messages {
            messages.push_str(&copy_row(&[
                &message.id.to_string(),
                &room.name,
                &message.username,
                &message.author_key,
                &message.text,
                &message.timestamp,
            ]));
            count += 1;
        }
    }
    copy(&mut tx, "rooms (name, created_at)", &rooms)?;
    copy(
        &mut tx,
        "messages (id, room, username, author_key, text, timestamp)",
        &messages,
    )?;
    drop(messages);
    for room in &export.rooms {
        for message in &room.messages {
            for (position, file) in (0_i64..).zip(&message.files) {
                tx.execute(
                    "INSERT INTO files (sha256, size, content_type, thumbs) VALUES ($1, $2, $3, '')
                     ON CONFLICT (sha256) DO NOTHING",
                    &[&file.sha256, &file.size, &file.content_type],
                )
                .map_err(failed)?;
                tx.execute(
                    "INSERT INTO uploads (id, sha256, room, name, uploader, upload_key, message_id,
                         position, created_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    &[
                        &file.id,
                        &file.sha256,
                        &room.name,
                        &file.name,
                        &file.uploader,
                        &file.upload_key,
                        &message.id,
                        &position,
                        &file.created_ms,
                    ],
                )
                .map_err(failed)?;
            }
        }
    }
    // New messages' ids come after the copied ones, and these are the
    // search backlog, as `import` leaves them.
    tx.batch_execute(
        "SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT max(id) FROM messages));
         UPDATE search_backlog SET below = (SELECT coalesce(max(id), 0) + 1 FROM messages);
         ANALYZE messages;",
    )
    .map_err(failed)?;
    tx.commit().map_err(failed)?;
    Ok(count)
}

/// Copies `rows` (COPY's text format) into `table (columns)`.
fn copy(tx: &mut postgres::Transaction<'_>, table: &str, rows: &str) -> Result<(), String> {
    let failed = |error: postgres::Error| match error.as_db_error() {
        Some(db) => format!("COPY {table}: {}", db.message()),
        None => format!("COPY {table}: {error}"),
    };
    let mut writer = tx
        .copy_in(&format!("COPY {table} FROM STDIN"))
        .map_err(failed)?;
    std::io::Write::write_all(&mut writer, rows.as_bytes())
        .map_err(|error| format!("COPY {table}: {error}"))?;
    writer.finish().map_err(failed)?;
    Ok(())
}

/// One row of COPY's text format: tab-separated, with backslash, tab,
/// newline and carriage return escaped.
fn copy_row(fields: &[&str]) -> String {
    let mut row = String::new();
    for (n, field) in fields.iter().enumerate() {
        if n > 0 {
            row.push('\t');
        }
        for c in field.chars() {
            match c {
                '\\' => row.push_str("\\\\"),
                '\t' => row.push_str("\\t"),
                '\n' => row.push_str("\\n"),
                '\r' => row.push_str("\\r"),
                c => row.push(c),
            }
        }
    }
    row.push('\n');
    row
}
