//! The schema, written once: each step of its history as SQL both
//! databases run, with the few column types that differ named by
//! [`Types`]. SQLite runs step `n` as its version `n`; PostgreSQL, which
//! came later, numbers its versions on its own (see
//! [`crate::history::postgres`]) but runs the same steps.

/// Why a database is not opened: a newer build wrote it. This one would
/// not know its tables, and writing to them could corrupt them, so it
/// refuses (a downgrade) and leaves the database as it found it.
#[derive(Debug)]
pub(crate) struct Newer {
    /// The schema version the database has.
    pub(crate) found: i64,
    /// The newest version this build knows.
    pub(crate) known: i64,
    /// What the operator would restore: "backup" (a file), "dump".
    pub(crate) copy: &'static str,
    /// What was left unchanged: "file", "database".
    pub(crate) kept: &'static str,
}

impl std::fmt::Display for Newer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            found,
            known,
            copy,
            kept,
        } = self;
        write!(
            f,
            "its schema is version {found}, newer than the version {known} this \
             chat-server knows (a downgrade): run the newer chat-server that wrote it, \
             or restore a {copy} made before the upgrade; the {kept} was left unchanged"
        )
    }
}

/// The column types that differ between the databases.
pub(crate) struct Types {
    /// An id the database hands out, ever increasing.
    id: &'static str,
    /// A 64-bit integer.
    bigint: &'static str,
    /// A yes or no.
    flag: &'static str,
    /// "No", as a flag's default.
    no: &'static str,
    /// After the definition of a table keyed by its primary key alone.
    keyed_table: &'static str,
    /// The full-text index over `search_docs` (issue 26), matched by the
    /// fragments of `sql::search::Dialect`.
    search_index: &'static str,
}

/// SQLite's types: integers for everything, flags as 0 and 1.
pub(crate) const SQLITE: Types = Types {
    id: "INTEGER PRIMARY KEY AUTOINCREMENT",
    bigint: "INTEGER",
    flag: "INTEGER",
    no: "0",
    keyed_table: " WITHOUT ROWID",
    // An external-content FTS5 table over `search_docs`, kept by
    // triggers, so the store writes only `search_docs`, as on PostgreSQL.
    // A row's old terms are what a deletion hands FTS5 ('delete'), and
    // `secure-delete` then removes them from the index's own pages, not
    // only marks them gone. `remove_diacritics 0`, as PostgreSQL's
    // `simple` configuration: "café" is not "cafe" on either.
    search_index: "CREATE VIRTUAL TABLE search_index USING fts5(
         terms, content = 'search_docs', content_rowid = 'message_id',
         tokenize = 'unicode61 remove_diacritics 0'
     );
     INSERT INTO search_index (search_index, rank) VALUES ('secure-delete', 1);
     CREATE TRIGGER search_docs_added AFTER INSERT ON search_docs BEGIN
         INSERT INTO search_index (rowid, terms) VALUES (new.message_id, new.terms);
     END;
     CREATE TRIGGER search_docs_removed AFTER DELETE ON search_docs BEGIN
         INSERT INTO search_index (search_index, rowid, terms)
             VALUES ('delete', old.message_id, old.terms);
     END;
     CREATE TRIGGER search_docs_changed AFTER UPDATE ON search_docs BEGIN
         INSERT INTO search_index (search_index, rowid, terms)
             VALUES ('delete', old.message_id, old.terms);
         INSERT INTO search_index (rowid, terms) VALUES (new.message_id, new.terms);
     END;",
};

/// PostgreSQL's types.
pub(crate) const POSTGRES: Types = Types {
    id: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    bigint: "BIGINT",
    flag: "BOOLEAN",
    no: "false",
    keyed_table: "",
    // The terms as a `tsvector` beside their text, with a GIN index.
    // The `simple` configuration only splits and lower-cases: the stems
    // are made in Rust, for both databases alike. The planner guesses a
    // word missing from its list of common words to be half as common as
    // the rarest one listed; the default list (1,000 words) made that
    // 650 messages in a million for a word three hold, and it read the
    // whole index newest first to find them (0.7 s, not 0.2 ms). The
    // longest list makes the guess for a rare word a few messages.
    search_index: "ALTER TABLE search_docs ADD COLUMN vector tsvector
         GENERATED ALWAYS AS (to_tsvector('simple', terms)) STORED;
     ALTER TABLE search_docs ALTER COLUMN vector SET STATISTICS 10000;
     CREATE INDEX search_docs_vector ON search_docs USING GIN (vector);",
};

/// A step of [`STEPS`] in the database's types.
pub(crate) fn step(step: &str, types: &Types) -> String {
    step.replace("{id}", types.id)
        .replace("{bigint}", types.bigint)
        .replace("{flag}", types.flag)
        .replace("{no}", types.no)
        .replace("{keyed_table}", types.keyed_table)
        .replace("{search_index}", types.search_index)
}

/// Every step of the schema, oldest first. Never change one that has
/// shipped: add a step.
pub(crate) const STEPS: [&str; 12] = [
    // 1. Messages and rooms.
    "CREATE TABLE messages (
         id         {id},
         room       TEXT NOT NULL,
         username   TEXT NOT NULL,
         author_key TEXT NOT NULL,
         text       TEXT NOT NULL,
         timestamp  TEXT NOT NULL,
         client_id  TEXT
     );
     CREATE INDEX messages_by_room ON messages (room, id);
     CREATE UNIQUE INDEX messages_once ON messages (author_key, client_id)
         WHERE client_id IS NOT NULL;
     CREATE TABLE rooms (
         name       TEXT PRIMARY KEY,
         created_at TEXT NOT NULL
     );",
    // 2. Server-wide settings that an operator's subcommand changes while
    // the server runs (the invitation code's hash).
    "CREATE TABLE settings (
         name  TEXT PRIMARY KEY,
         value TEXT NOT NULL
     );",
    // 3. Changes to messages are rows of their own in the same id
    // sequence (`kind` says which, `target` what they change), so a
    // `since` replay finds them in order. `deleted` keeps the current
    // state of a message cheap to read. And moderation.
    "ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message';
     ALTER TABLE messages ADD COLUMN target {bigint};
     ALTER TABLE messages ADD COLUMN deleted {flag} NOT NULL DEFAULT {no};
     CREATE INDEX messages_events ON messages (room, id) WHERE kind <> 'message';
     CREATE TABLE bans (
         id        {id},
         name_key  TEXT NOT NULL,
         addresses TEXT NOT NULL,
         until_ms  {bigint} NOT NULL
     );
     CREATE TABLE room_settings (
         room   TEXT PRIMARY KEY,
         locked {flag} NOT NULL DEFAULT {no},
         topic  TEXT
     );
     CREATE TABLE audit (
         id        {id},
         at        TEXT NOT NULL,
         moderator TEXT NOT NULL,
         action    TEXT NOT NULL,
         target    TEXT NOT NULL,
         detail    TEXT
     );",
    // 4. Issue 11. A message keeps who may change it (`owner`, the hash
    // of its author key), its reply snapshot (taken when it was posted,
    // so the quote does not follow later edits) and when it was last
    // edited. An edit row's `text` is its new text; a reaction row says
    // which emoji and whether on. `reactions` is the current state, one
    // row per user and emoji, remembering the event that put it on: the
    // order users reacted in, and what a repeated reaction answers.
    "ALTER TABLE messages ADD COLUMN owner TEXT;
     ALTER TABLE messages ADD COLUMN edited_at TEXT;
     ALTER TABLE messages ADD COLUMN reply_to {bigint};
     ALTER TABLE messages ADD COLUMN reply_username TEXT;
     ALTER TABLE messages ADD COLUMN reply_text TEXT;
     ALTER TABLE messages ADD COLUMN emoji TEXT;
     ALTER TABLE messages ADD COLUMN reaction_on {flag};
     CREATE INDEX messages_by_target ON messages (target, kind)
         WHERE target IS NOT NULL;
     CREATE INDEX messages_by_reply ON messages (reply_to)
         WHERE reply_to IS NOT NULL;
     CREATE TABLE reactions (
         message_id {bigint} NOT NULL,
         emoji      TEXT NOT NULL,
         name_key   TEXT NOT NULL,
         username   TEXT NOT NULL,
         event_id   {bigint} NOT NULL,
         PRIMARY KEY (message_id, emoji, name_key)
     ){keyed_table};",
    // 5. Issue 20. A `client_id` names one thing per room and author,
    // never across rooms: the same id sent to another room is a new
    // message there, not a resend of the first room's. A version 1
    // SQLite file made by hand may lack the index.
    "DROP INDEX IF EXISTS messages_once;
     CREATE UNIQUE INDEX messages_once ON messages (room, author_key, client_id)
         WHERE client_id IS NOT NULL;",
    // 6. Issue 23. A person: one holding of a name (`name_key`), with the
    // look-alike skeletons it keeps from others, the devices (author key
    // hashes) that hold it, one-time link codes (hashed), the rooms and
    // DMs it is in (`memberships`) and which persons each DM has. A
    // released, freed or lapsed name takes its person's rows with it; a
    // later holder is a new person. `token` is the resume token its
    // devices share in the presence.
    "CREATE TABLE persons (
         id           {id},
         name_key     TEXT NOT NULL UNIQUE,
         name         TEXT NOT NULL,
         token        TEXT NOT NULL,
         since        TEXT NOT NULL,
         last_seen_ms {bigint} NOT NULL
     );
     CREATE INDEX persons_by_last_seen ON persons (last_seen_ms);
     CREATE TABLE person_looks (
         look   TEXT PRIMARY KEY,
         person {bigint} NOT NULL
     ){keyed_table};
     CREATE TABLE devices (
         id         {id},
         person     {bigint} NOT NULL,
         key_hash   TEXT NOT NULL,
         label      TEXT NOT NULL,
         first_seen TEXT NOT NULL,
         last_seen  TEXT NOT NULL,
         revoked    {flag} NOT NULL DEFAULT {no}
     );
     CREATE UNIQUE INDEX devices_once ON devices (person, key_hash);
     CREATE TABLE link_codes (
         code_hash  TEXT PRIMARY KEY,
         person     {bigint} NOT NULL,
         expires_ms {bigint} NOT NULL
     ){keyed_table};
     CREATE TABLE memberships (
         person {bigint} NOT NULL,
         room   TEXT NOT NULL,
         PRIMARY KEY (person, room)
     ){keyed_table};
     CREATE INDEX memberships_by_room ON memberships (room);
     CREATE TABLE dm_members (
         room   TEXT NOT NULL,
         person {bigint} NOT NULL,
         name   TEXT NOT NULL,
         PRIMARY KEY (room, person)
     ){keyed_table};",
    // 7. Issue 24. Per person and room: the read marker (`read_id`, the
    // last message read, 0 for none) and the notification level (NULL:
    // the room's default). `mentions` lists, at post time, each name key
    // a message mentions, so counting and calling a person's mentions is
    // an index lookup, never a scan of texts. `messages_live` serves the
    // unread count's range scan over messages alone (no changes, no
    // deletions).
    "CREATE TABLE attention (
         person  {bigint} NOT NULL,
         room    TEXT NOT NULL,
         read_id {bigint} NOT NULL DEFAULT 0,
         level   TEXT,
         PRIMARY KEY (person, room)
     ){keyed_table};
     CREATE INDEX attention_by_level ON attention (room, level) WHERE level IS NOT NULL;
     CREATE TABLE mentions (
         name_key   TEXT NOT NULL,
         message_id {bigint} NOT NULL,
         room       TEXT NOT NULL,
         PRIMARY KEY (name_key, message_id)
     ){keyed_table};
     CREATE INDEX messages_live ON messages (room, id) WHERE kind = 'message' AND NOT deleted;",
    // 8. Issue 24, Web Push. Each browser's subscription (one row per
    // endpoint), whose person it is and which device made it (revoking
    // the device drops it). The VAPID key is a `settings` row.
    "CREATE TABLE push_subscriptions (
         endpoint   TEXT PRIMARY KEY,
         person     {bigint} NOT NULL,
         device     {bigint} NOT NULL,
         p256dh     TEXT NOT NULL,
         auth       TEXT NOT NULL,
         created_ms {bigint} NOT NULL
     ){keyed_table};
     CREATE INDEX push_by_person ON push_subscriptions (person);
     CREATE INDEX push_by_device ON push_subscriptions (device);",
    // 9. Issue 25, files. `files` is one row per stored content (its
    // SHA-256: the same bytes uploaded twice are one file), with what
    // was learnt of it; `uploads` is each upload of it to a room under a
    // name, by the id its download path carries, and the message it
    // went out with (NULL until then; deleting the message deletes the
    // row). `upload_key` is the client's id for the upload: a resend is
    // answered with the first.
    "CREATE TABLE files (
         sha256       TEXT PRIMARY KEY,
         size         {bigint} NOT NULL,
         content_type TEXT NOT NULL,
         width        {bigint},
         height       {bigint},
         thumbs       TEXT NOT NULL,
         preview      TEXT
     ){keyed_table};
     CREATE TABLE uploads (
         id         TEXT PRIMARY KEY,
         sha256     TEXT NOT NULL,
         room       TEXT NOT NULL,
         name       TEXT NOT NULL,
         uploader   TEXT NOT NULL,
         upload_key TEXT NOT NULL,
         message_id {bigint},
         position   {bigint} NOT NULL DEFAULT 0,
         created_ms {bigint} NOT NULL
     ){keyed_table};
     CREATE UNIQUE INDEX uploads_by_key ON uploads (uploader, room, upload_key);
     CREATE INDEX uploads_by_message ON uploads (room, message_id);
     CREATE INDEX uploads_by_sha ON uploads (sha256);
     CREATE INDEX uploads_by_time ON uploads (uploader, created_ms);",
    // 10. Issue 25, the sweep's own list. `freed_files` is each content a
    // deleted message's uploads referred to, written by the deletion: the
    // sweep looks at these (and at the uploads never sent, found by
    // `uploads_unsent`), never at every file. Every content there is
    // now is looked at once, by the first sweep.
    "CREATE TABLE freed_files (
         sha256 TEXT PRIMARY KEY
     ){keyed_table};
     CREATE INDEX uploads_unsent ON uploads (created_ms) WHERE message_id IS NULL;
     INSERT INTO freed_files (sha256) SELECT sha256 FROM files WHERE true;",
    // 11. Issue 26, search. `search_docs` is what is searched of each
    // message that is not deleted: the stems of its caption and file
    // names (made in Rust); `{search_index}` indexes them. The backlog
    // is the messages stored before, every id below
    // `search_backlog.below`, which a background task indexes in batches
    // (`Search::index_backlog`): the upgrade itself only creates tables.
    // A search looks up the DMs its reader is a member of by person.
    "CREATE TABLE search_docs (
         message_id {bigint} PRIMARY KEY,
         terms      TEXT NOT NULL
     );
     {search_index}
     CREATE INDEX dm_members_by_person ON dm_members (person);
     CREATE TABLE search_backlog (
         below {bigint} NOT NULL
     );
     INSERT INTO search_backlog (below) SELECT coalesce(max(id), 0) + 1 FROM messages;",
    // 12. Issue 26 again: `from:` reads its author's messages newest
    // first, not every message newer than the author's last few.
    "CREATE INDEX messages_by_author ON messages (author_key, id)
         WHERE kind = 'message' AND NOT deleted;",
];
