//! Each query, migration and row mapping of the store, written once for
//! both databases.
//!
//! The statements are SQL that SQLite and PostgreSQL both accept, with
//! `?1`-style numbered parameters; the PostgreSQL driver turns them into
//! `$1` in one place ([`dollar_placeholders`]). A driver implements
//! [`Sql`] (run a statement, read rows by column name, and the one thing
//! that really differs at run time: how a room's events are ordered) and
//! [`Driver`] (open a read or a transaction); every store method is then
//! written once, over those, in the modules below. The schema's few
//! differences in types are named in [`schema::Types`].

mod attention;
mod changes;
mod files;
mod messages;
mod moderation;
mod people;
mod push;
pub(crate) mod read;
pub(crate) mod schema;
pub(crate) mod search;

use crate::history::store::{StoreError, StoreResult};
use std::collections::BTreeMap;

/// One parameter of a statement, in a type both drivers bind the same
/// way. PostgreSQL is strict about types, so there are only these: text,
/// 64-bit integers (ids, limits, milliseconds) and flags, each optional.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Flag(bool),
    OptFlag(Option<bool>),
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(value: &'a str) -> Self {
        Self::Text(value)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(value: &'a String) -> Self {
        Self::Text(value)
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Self::OptText(value)
    }
}

impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(value: &'a Option<String>) -> Self {
        Self::OptText(value.as_deref())
    }
}

impl From<i64> for Param<'_> {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(value: Option<i64>) -> Self {
        Self::OptInt(value)
    }
}

impl From<bool> for Param<'_> {
    fn from(value: bool) -> Self {
        Self::Flag(value)
    }
}

impl From<Option<bool>> for Param<'_> {
    fn from(value: Option<bool>) -> Self {
        Self::OptFlag(value)
    }
}

/// The parameters of one statement: `args![room, sql_id(id)]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::history::sql::Param::from($value)),*]
    };
}
pub(crate) use args;

/// One row of a result, read by column name (never by position, which
/// breaks silently when a column is added). Flags read from SQLite's
/// integers and PostgreSQL's booleans alike.
pub(crate) trait Row {
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn flag(&self, column: &str) -> StoreResult<bool>;
    fn opt_flag(&self, column: &str) -> StoreResult<Option<bool>>;
}

impl dyn Row + '_ {
    /// An id column: ids are positive, anything else reads as 0.
    pub(crate) fn id(&self, column: &str) -> StoreResult<u64> {
        Ok(to_id(self.int(column)?))
    }
}

/// What [`Sql::each`] hands every row of a result to.
pub(crate) type EachRow<'f> = &'f mut dyn FnMut(&dyn Row) -> StoreResult<()>;

/// A connection or an open transaction of either database.
pub(crate) trait Sql {
    /// How this database matches and ranks a full-text search: the two
    /// fragments of a search that are not the same SQL on both.
    fn search_dialect(&self) -> &'static search::Dialect;

    /// Runs a statement that returns no rows; the number of rows changed.
    fn execute(&mut self, sql: &str, args: &[Param<'_>]) -> StoreResult<u64>;

    /// Runs a query and hands each row to `row`, in order.
    fn each(&mut self, sql: &str, args: &[Param<'_>], row: EachRow<'_>) -> StoreResult<()>;

    /// The id of the room's newest committed event, 0 if none.
    fn last_event(&mut self, room: &str) -> StoreResult<i64>;

    /// In a transaction that adds events, after [`hold_rooms`] recorded
    /// them: holds the order of these rooms' events (sorted, each once)
    /// until commit and returns each one's newest id. (SQLite has one
    /// writer, which holds it already; PostgreSQL locks the rooms' rows,
    /// so that nodes writing at once still commit a room's events in id
    /// order.)
    fn lock_rooms(&mut self, rooms: &[&str]) -> StoreResult<BTreeMap<String, i64>>;

    /// Before commit: records each room's newest event id, as
    /// [`Sql::lock_rooms`] returned it and the transaction moved it.
    fn store_last_ids(&mut self, last_ids: &BTreeMap<String, i64>) -> StoreResult<()>;
}

impl dyn Sql + '_ {
    /// Every row of a query, each mapped by `map`.
    pub(crate) fn rows<T>(
        &mut self,
        sql: &str,
        args: &[Param<'_>],
        mut map: impl FnMut(&dyn Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut found = Vec::new();
        self.each(sql, args, &mut |row| {
            found.push(map(row)?);
            Ok(())
        })?;
        Ok(found)
    }

    /// The first row of a query, if there is one, mapped by `map`.
    pub(crate) fn opt_row<T>(
        &mut self,
        sql: &str,
        args: &[Param<'_>],
        map: impl FnOnce(&dyn Row) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let mut map = Some(map);
        let mut found = None;
        self.each(sql, args, &mut |row| {
            if let Some(map) = map.take() {
                found = Some(map(row)?);
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// The row a query always returns (an aggregate), mapped by `map`.
    pub(crate) fn one_row<T>(
        &mut self,
        sql: &str,
        args: &[Param<'_>],
        map: impl FnOnce(&dyn Row) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.opt_row(sql, args, map)?
            .ok_or_else(|| StoreError(format!("no row from {sql}")))
    }
}

/// Records the rooms an event is added to (a room that holds a message
/// lasts, and is listed at once) and holds their order until commit:
/// each room's newest event id. Sorted, so two nodes take the same rooms
/// in the same order and never deadlock.
pub(crate) fn hold_rooms(db: &mut dyn Sql, rooms: &[&str]) -> StoreResult<BTreeMap<String, i64>> {
    let mut names: Vec<&str> = rooms.to_vec();
    names.sort_unstable();
    names.dedup();
    let created_at = crate::history::store::timestamp_now();
    for name in &names {
        db.execute(ADD_ROOM, args![*name, created_at.as_str()])?;
    }
    db.lock_rooms(&names)
}

/// Records a room, if it is not yet.
pub(crate) const ADD_ROOM: &str =
    "INSERT INTO rooms (name, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING";

/// A database a store runs on: how it reads and how it writes. Every
/// store method is written once over this ([`messages`], [`changes`],
/// [`moderation`]), so the two stores differ only here.
pub(crate) trait Driver: Send {
    /// Runs `work` outside a transaction (a read, or one statement).
    fn read<T>(&mut self, work: impl FnOnce(&mut dyn Sql) -> StoreResult<T>) -> StoreResult<T>;

    /// Runs `work` in a transaction, committed when `keep` says so of
    /// the result and rolled back otherwise.
    fn write<T>(
        &mut self,
        work: impl FnOnce(&mut dyn Sql) -> StoreResult<T>,
        keep: impl FnOnce(&T) -> bool,
    ) -> StoreResult<T>;

    /// Succeeds only if a message could be stored now.
    fn probe(&mut self) -> StoreResult<()>;

    /// After a deletion is committed: whatever else the database must do
    /// to forget the text (SQLite's WAL keeps older copies of pages).
    fn forget_deleted(&mut self) {}
}

/// Turns `?1`-style numbered parameters into PostgreSQL's `$1`. The
/// statements hold no `?` of their own (no string literal has one).
pub(crate) fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// Ids are positive; anything else reads as 0.
pub(crate) fn to_id(id: i64) -> u64 {
    u64::try_from(id).unwrap_or_default()
}

/// An id (or milliseconds) as the databases keep it.
pub(crate) fn sql_id(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// A limit as the databases take it.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::dollar_placeholders;

    #[test]
    fn numbered_parameters_become_dollars() {
        assert_eq!(
            dollar_placeholders("SELECT a FROM t WHERE b = ?1 AND c = ?12 AND d <> '?'"),
            "SELECT a FROM t WHERE b = $1 AND c = $12 AND d <> '?'"
        );
    }
}
