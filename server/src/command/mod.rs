//! The commands: what a client may ask of the chat, one per `ClientFrame`.
//!
//! A frame becomes a [`Command`] in one place, [`Command::from_frame`]:
//! everything the frame alone decides (its rate-limit class, its
//! normalised text, names and emoji, the edit window) is worked out there.
//! [`Command::apply`] then checks what depends on the connection and the
//! room (joined, a moderator, the room locked), in the order the protocol
//! names them, and carries the command out: through the journal for what
//! must be stored, the presence for who is where, the hub for this node's
//! connections. The connection keeps the socket; the rules are here.
//!
//! One file per group of commands:
//! - [`join`]: `join`, and leaving when the connection ends;
//! - [`post`]: `message` and `typing`;
//! - [`change`]: `edit`, `react` and `delete`;
//! - [`read`]: `history`, `users` and `list_rooms`;
//! - [`moderate`]: `become_moderator`, `ban`, `lock_room`, `set_topic`,
//!   `audit`, `free_name` and `report`;
//! - [`people`]: who a joiner is (held names), `release_name`,
//!   `link_device`, `devices` and `revoke_device`;
//! - [`dm`]: `open_dm`, `leave_room`, who may enter a DM, and the rooms
//!   `list_rooms` shows;
//! - [`attention`]: `mark_read`, `set_level`, the counts `list_rooms`
//!   adds, and whom a new message calls (`notify`, and push);
//! - [`push`]: `push_subscribe` and `push_unsubscribe`;
//! - [`files`]: `upload_token`, and a `message`'s files;
//! - [`search`]: `search`, answered from the index.

pub(crate) mod attention;
pub(crate) mod change;
pub(crate) mod dm;
pub(crate) mod files;
pub(crate) mod join;
pub(crate) mod moderate;
pub(crate) mod people;
pub(crate) mod post;
pub(crate) mod push;
pub(crate) mod read;
pub(crate) mod search;

use crate::chat::hub::encode;
use crate::chat::hub::Membership;
use crate::chat::peer::Peer;
use crate::chat::rate_limit::FrameKind;
use crate::error::Rejection;
use crate::AppState;
use chat_shared::{ClientFrame, ErrorCode, ForbiddenReason, ServerFrame};
use std::time::Duration;

/// The connection commands come from, as they see it: what a join sets
/// and every later command reads.
#[derive(Debug)]
pub(crate) struct Caller {
    /// How answers reach the client.
    pub(crate) peer: Peer,
    /// Set once the client has joined.
    pub(crate) membership: Option<Membership>,
    /// The hash of the author key the client joined with: the messages
    /// it posts may be edited and deleted by whoever presents the key.
    pub(crate) owner: Option<String>,
    /// The person whose held name the client joined under, with its
    /// device ([`crate::history::people`]); `None` for a free name.
    pub(crate) person: Option<crate::history::people::Person>,
}

impl Caller {
    /// A connection that has not joined yet.
    pub(crate) fn new(peer: Peer) -> Self {
        Self {
            peer,
            membership: None,
            owner: None,
            person: None,
        }
    }

    /// Where the caller joined, or why it may not do this yet.
    fn joined(&self) -> Result<&Membership, Rejection> {
        self.membership
            .as_ref()
            .ok_or_else(|| ErrorCode::NotJoined.into())
    }

    /// The joined moderator, or why this connection may not moderate.
    fn moderator(&self) -> Result<&Membership, Rejection> {
        let member = self.joined()?;
        if !self.peer.is_moderator() {
            return Err(Rejection::forbidden(ForbiddenReason::NotModerator));
        }
        Ok(member)
    }
}

/// What the settings decide about a frame before it is applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    /// How long after posting a message may still be edited.
    pub(crate) edit_window: Duration,
}

/// One client frame, validated as far as the frame alone allows.
#[derive(Debug)]
pub(crate) enum Command {
    /// A frame that was not understood, and why.
    Unreadable(String),
    Join(Box<join::Join>),
    Post(post::Post),
    Typing(bool),
    Change(change::MessageChange),
    History(read::History),
    Users(read::Users),
    ListRooms,
    BecomeModerator(String),
    Ban(moderate::BanRequest),
    Lock(bool),
    SetTopic(moderate::SetTopic),
    Audit(usize),
    /// `ping`: answered at once with `heartbeat`, so the client knows the
    /// connection is alive.
    Ping,
    ReleaseName,
    FreeName(String),
    LinkDevice,
    Devices,
    RevokeDevice(u64),
    OpenDm(Vec<String>),
    LeaveRoom(String),
    Report(moderate::Report),
    MarkRead {
        room: String,
        id: u64,
    },
    SetLevel {
        room: String,
        level: chat_shared::NotifyLevel,
    },
    PushSubscribe {
        endpoint: String,
        keys: chat_shared::PushKeys,
    },
    PushUnsubscribe(String),
    UploadToken,
    Search(search::Search),
}

impl Command {
    /// Turns a decoded frame (or why it did not decode) into a command.
    pub(crate) fn from_frame(frame: Result<ClientFrame, String>, rules: &Rules) -> Self {
        let frame = match frame {
            Ok(frame) => frame,
            Err(detail) => return Self::Unreadable(detail),
        };
        match frame {
            ClientFrame::Join {
                username,
                room,
                since,
                resume,
                join_code,
                author_key,
                link_code,
                device,
            } => Self::Join(Box::new(join::Join::new(join::JoinFields {
                username: &username,
                room: room.as_deref(),
                since,
                resume,
                join_code,
                author_key: author_key.as_deref(),
                link_code: link_code.as_deref(),
                device: device.as_deref(),
            }))),
            ClientFrame::Message {
                text,
                client_id,
                reply_to,
                attachments,
            } => Self::Post(post::Post::new(&text, client_id, reply_to, attachments)),
            ClientFrame::Typing { is_typing } => Self::Typing(is_typing),
            ClientFrame::Edit {
                id,
                text,
                client_id,
            } => Self::Change(change::MessageChange::edit(
                id,
                &text,
                client_id,
                rules.edit_window,
            )),
            ClientFrame::React {
                id,
                emoji,
                on,
                client_id,
            } => Self::Change(change::MessageChange::react(id, &emoji, on, client_id)),
            ClientFrame::Delete { id, client_id } => {
                Self::Change(change::MessageChange::delete(id, client_id))
            }
            ClientFrame::History {
                before,
                limit,
                around,
            } => Self::History(read::History::new(before, around, limit)),
            ClientFrame::ListRooms => Self::ListRooms,
            ClientFrame::Users { after, limit } => Self::Users(read::Users { after, limit }),
            ClientFrame::BecomeModerator { token } => Self::BecomeModerator(token),
            ClientFrame::Ban {
                username,
                duration_secs,
            } => Self::Ban(moderate::BanRequest::new(&username, duration_secs)),
            ClientFrame::LockRoom { locked } => Self::Lock(locked),
            ClientFrame::SetTopic { topic } => Self::SetTopic(moderate::SetTopic::new(&topic)),
            ClientFrame::Audit { limit } => Self::Audit(moderate::audit_limit(limit)),
            ClientFrame::Ping => Self::Ping,
            ClientFrame::ReleaseName => Self::ReleaseName,
            ClientFrame::FreeName { username } => Self::FreeName(username),
            ClientFrame::LinkDevice => Self::LinkDevice,
            ClientFrame::Devices => Self::Devices,
            ClientFrame::RevokeDevice { id } => Self::RevokeDevice(id),
            ClientFrame::OpenDm { with } => Self::OpenDm(with),
            ClientFrame::LeaveRoom { room } => Self::LeaveRoom(room),
            ClientFrame::Report { id, reason } => Self::Report(moderate::Report::new(id, &reason)),
            ClientFrame::MarkRead { room, id } => Self::MarkRead { room, id },
            ClientFrame::SetLevel { room, level } => Self::SetLevel { room, level },
            ClientFrame::PushSubscribe { endpoint, keys } => Self::PushSubscribe { endpoint, keys },
            ClientFrame::PushUnsubscribe { endpoint } => Self::PushUnsubscribe(endpoint),
            ClientFrame::UploadToken => Self::UploadToken,
            ClientFrame::Search {
                query,
                room,
                order,
                page,
            } => Self::Search(search::Search {
                query,
                room,
                order,
                page,
            }),
        }
    }

    /// Which rate limit the frame counts against.
    pub(crate) fn rate_class(&self) -> FrameKind {
        match self {
            Self::Typing(is_typing) => FrameKind::Typing {
                is_typing: *is_typing,
            },
            Self::Ping => FrameKind::Ping,
            Self::Search(_) => FrameKind::Search,
            _ => FrameKind::Other,
        }
    }

    /// The `client_id` a refusal of this frame names, if the frame has one.
    pub(crate) fn client_id(&self) -> Option<&str> {
        match self {
            Self::Post(post) => post.client_id.as_deref(),
            Self::Change(change) => change.client_id.as_deref(),
            _ => None,
        }
    }

    /// Carries the command out for `caller`; `Err` is what the client is
    /// told instead.
    pub(crate) async fn apply(
        self,
        state: &AppState,
        caller: &mut Caller,
    ) -> Result<(), Rejection> {
        match self {
            Self::Unreadable(detail) => Err(Rejection::new(
                ErrorCode::BadRequest,
                format!("That frame was not understood: {detail}"),
            )),
            Self::Join(join) => join.apply(state, caller).await,
            Self::Post(post) => post.apply(state, caller).await,
            Self::Typing(is_typing) => post::typing(state, caller, is_typing),
            Self::Change(change) => change.apply(state, caller).await,
            Self::History(history) => history.apply(state, caller).await,
            Self::Users(users) => users.apply(state, caller),
            Self::ListRooms => read::list_rooms(state, caller).await,
            Self::BecomeModerator(token) => moderate::become_moderator(state, caller, &token),
            Self::Ban(ban) => ban.apply(state, caller).await,
            Self::Lock(locked) => moderate::lock(state, caller, locked).await,
            Self::SetTopic(topic) => topic.apply(state, caller).await,
            Self::Audit(limit) => moderate::audit(state, caller, limit).await,
            Self::Ping => {
                caller.peer.send(encode(&ServerFrame::Heartbeat));
                Ok(())
            }
            Self::ReleaseName => people::release_name(state, caller).await,
            Self::FreeName(username) => people::free_name(state, caller, &username).await,
            Self::LinkDevice => people::link_device(state, caller).await,
            Self::Devices => people::devices(state, caller).await,
            Self::RevokeDevice(id) => people::revoke_device(state, caller, id).await,
            Self::OpenDm(with) => dm::open_dm(state, caller, &with).await,
            Self::LeaveRoom(room) => dm::leave_room(state, caller, &room).await,
            Self::Report(report) => report.apply(state, caller).await,
            Self::MarkRead { room, id } => attention::mark_read(state, caller, &room, id).await,
            Self::SetLevel { room, level } => {
                attention::set_level(state, caller, &room, level).await
            }
            Self::PushSubscribe { endpoint, keys } => {
                push::subscribe(state, caller, &endpoint, &keys).await
            }
            Self::PushUnsubscribe(endpoint) => push::unsubscribe(state, caller, &endpoint).await,
            Self::UploadToken => files::upload_token(state, caller),
            Self::Search(search) => search.apply(state, caller).await,
        }
    }
}

/// A store failure as the client hears it.
fn server_error(_: crate::history::journal::Failed) -> Rejection {
    ErrorCode::ServerError.into()
}
