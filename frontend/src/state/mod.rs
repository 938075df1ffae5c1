//! The page's state, one concept per module. Each holds a plain struct with
//! pure methods (unit-tested on the host, no browser) in a signal, and a
//! `Copy` handle around it, provided through its own context: views read
//! its signals and call its methods, and never write its fields, so each
//! module alone keeps its invariants. A concept with more than one part is
//! a folder: its handle in `mod.rs`, what it keeps in localStorage in
//! `disk.rs`, its larger seams in files of their own.
//!
//! - [`session`]: who I am, the join and its errors, the resume token, the
//!   limits the server announced.
//! - [`rooms`]: the room in the address bar, the room list (mine first),
//!   my direct messages, and which rooms have news.
//! - [`people`]: my identity: whether my name is held, its devices, the
//!   link code that adds another.
//! - [`conversation`]: the lines on the page, in id order, each once.
//! - [`outbox`]: my messages the server has not confirmed, and their sending.
//! - [`presence`]: who is online and typing, and my own typing notices.
//! - [`notices`]: the unread count, the screen-reader announcement, the
//!   notice bar.
//! - [`moderation`]: the moderator token, the room's lock and topic, the
//!   moderation log.
//! - [`authorship`]: which messages on the page are mine to edit and delete.
//! - [`attachments`]: files on messages: the upload token, each file's
//!   upload, messages waiting for their files.
//! - [`gallery`]: the conversation's images in order, and the one the
//!   lightbox shows.
//! - [`composing`]: whether the composer writes a new message, a reply or
//!   an edit, and sending what it holds.
//! - [`unread`]: my read markers, unread and mention counts, and
//!   notification levels, per room and DM.
//! - [`mention_picker`]: the composer's `@` autocomplete: the query at
//!   the caret, the people it may mean, the option chosen.
//! - [`install`]: the service worker, a new version waiting, the iOS
//!   install hint.
//! - [`push`]: this browser's Web Push subscription, and telling the
//!   server about it.
//! - [`rows`]: one signal per row, so a list change patches one row.
//! - [`search`]: the search panel: the query, its scope and order, the
//!   latest request (answers to older ones are stale), the hits and their
//!   pages, the one the keyboard is on.

pub(crate) mod attachments;
pub(crate) mod authorship;
pub(crate) mod composing;
pub(crate) mod conversation;
pub(crate) mod gallery;
pub(crate) mod install;
pub(crate) mod mention_picker;
pub(crate) mod moderation;
pub(crate) mod notices;
pub(crate) mod outbox;
pub(crate) mod people;
pub(crate) mod presence;
pub(crate) mod push;
pub(crate) mod rooms;
pub(crate) mod rows;
pub(crate) mod search;
pub(crate) mod session;
pub(crate) mod unread;

use chat_shared::ClientFrame;
use std::rc::Rc;

/// Sends a frame to the server if joined on an open socket, returning
/// whether it went: how the modules that send frames of their own (the
/// outbox flush, typing notices, history pages) reach the connection
/// without owning it.
pub(crate) type Sender = Rc<dyn Fn(&ClientFrame) -> bool>;

/// Who I am and where, for what I write: the room shown and my name key
/// (the confirmed name, or the one asked for while the connection is
/// down); none before I have a name. How the outbox files what I do
/// without owning the session or the rooms.
pub(crate) type Writer = Rc<dyn Fn() -> Option<(String, String)>>;
