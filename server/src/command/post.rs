//! `message` and `typing`: what a member says to the room.

use super::attention::Calling;
use super::Caller;
use crate::chat::hub::encode;
use crate::chat::peer::Peer;
use crate::cluster::BusEvent;
use crate::error::Rejection;
use crate::history::journal::{Posted, Reply};
use crate::history::store::{mention_keys, NewMessage};
use crate::AppState;
use chat_shared::files::{is_valid_file_id, MAX_ATTACHMENTS};
use chat_shared::{
    is_valid_client_id, normalize_message, ErrorCode, ForbiddenReason, ServerFrame,
    MAX_CLIENT_ID_CHARS,
};

/// A `message`, its text normalised.
#[derive(Debug)]
pub(crate) struct Post {
    text: Result<String, Rejection>,
    /// The sender's id for the message: a resend with it is answered with
    /// the original instead of being stored twice.
    pub(crate) client_id: Option<String>,
    /// The message it answers.
    reply_to: Option<u64>,
    /// The ids of its files (`POST /files`), well formed.
    attachments: Vec<String>,
}

impl Post {
    /// Reads a `message` frame's fields.
    pub(crate) fn new(
        text: &str,
        client_id: Option<String>,
        reply_to: Option<u64>,
        attachments: Vec<String>,
    ) -> Self {
        let text = if attachments.is_empty() {
            normalize_message(text)
                .map(str::to_owned)
                .map_err(|error| Rejection::new(error.code(), error))
        } else {
            caption(text, &attachments)
        };
        Self {
            text,
            client_id,
            reply_to,
            attachments,
        }
    }

    /// Hands the message to the journal, which stores it and then
    /// delivers it to the room: the sender's confirmation is its own copy.
    /// Here: joined, the room not locked (but to a moderator), the text
    /// allowed, the `client_id` well formed.
    pub(crate) async fn apply(self, state: &AppState, caller: &Caller) -> Result<(), Rejection> {
        let Self {
            text,
            client_id,
            reply_to,
            attachments,
        } = self;
        let accepted = caller.joined().and_then(|member| {
            if !caller.peer.is_moderator() && state.cluster.hub.is_locked(&member.room) {
                return Err(locked_room());
            }
            let text = text?;
            check_client_id(client_id.as_deref())?;
            Ok((member, text))
        });
        let (member, text) = match accepted {
            Ok(accepted) => accepted,
            Err(rejection) => return Err(rejection.with_client_id(client_id)),
        };
        let mentions = mention_keys(&text);
        let calling = Calling::new(state, caller, &member.room, &member.name, &text);
        let (attachments, text) = match super::files::attach(
            state,
            &member.room,
            &member.key,
            attachments,
            &text,
        )
        .await
        {
            Ok(attached) => attached,
            Err(rejection) => return Err(rejection.with_client_id(client_id)),
        };
        let message = NewMessage {
            room: member.room.clone(),
            username: member.name.clone(),
            author_key: member.key.clone(),
            text,
            attachments,
            client_id: client_id.clone(),
            owner: caller.owner.clone(),
            reply_to,
            mentions,
        };
        let reply = PostReply {
            peer: caller.peer.clone(),
            client_id,
            reply_to,
            calling,
        };
        state.journal.post(message, Box::new(reply)).await;
        Ok(())
    }
}

/// Tells the room (on every node) that the caller started or stopped
/// typing.
pub(crate) fn typing(state: &AppState, caller: &Caller, is_typing: bool) -> Result<(), Rejection> {
    let member = caller.joined()?;
    state.cluster.announce(BusEvent::Typing {
        room: member.room.clone(),
        key: member.key.clone(),
        username: member.name.clone(),
        is_typing,
    });
    Ok(())
}

/// The sender of a message, told what became of it when that is not the
/// message itself reaching the room.
struct PostReply {
    peer: Peer,
    client_id: Option<String>,
    reply_to: Option<u64>,
    /// Whom the message calls once stored (`notify`).
    calling: Calling,
}

impl Reply<Posted> for PostReply {
    fn send(self: Box<Self>, outcome: Posted) {
        let rejection = match outcome {
            Posted::Delivered { id, called } => {
                self.calling.stored(id, called);
                return;
            }
            Posted::Duplicate(original) => {
                self.peer.send(encode(&ServerFrame::Message(*original)));
                return;
            }
            Posted::ClientIdTaken => client_id_taken(),
            Posted::ReplyNotFound => no_message(self.reply_to.unwrap_or_default()),
            Posted::AttachmentNotFound => ErrorCode::AttachmentNotFound.into(),
            Posted::Failed => ErrorCode::ServerError.into(),
        };
        self.peer.reject(&rejection.with_client_id(self.client_id));
    }
}

/// The caption of a message with files: empty is fine, else the rules
/// of any text; and the files well formed and not too many.
fn caption(text: &str, attachments: &[String]) -> Result<String, Rejection> {
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(Rejection::new(
            ErrorCode::BadRequest,
            format!("A message can carry at most {MAX_ATTACHMENTS} files"),
        ));
    }
    if !attachments.iter().all(|id| is_valid_file_id(id)) {
        return Err(Rejection::new(
            ErrorCode::BadRequest,
            "attachments must be the ids POST /files answered with",
        ));
    }
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    normalize_message(text)
        .map(str::to_owned)
        .map_err(|error| Rejection::new(error.code(), error))
}

/// Refuses a `client_id` that is not well formed.
pub(crate) fn check_client_id(client_id: Option<&str>) -> Result<(), Rejection> {
    if client_id.is_some_and(|id| !is_valid_client_id(id)) {
        return Err(Rejection::new(
            ErrorCode::BadRequest,
            format!("client_id must be 1 to {MAX_CLIENT_ID_CHARS} letters, digits or dashes"),
        ));
    }
    Ok(())
}

/// The refusal of a post or a change in a locked room.
pub(crate) fn locked_room() -> Rejection {
    Rejection::forbidden(ForbiddenReason::RoomLocked)
}

/// The refusal of a `client_id` already used for something else.
pub(crate) fn client_id_taken() -> Rejection {
    Rejection::new(
        ErrorCode::BadRequest,
        "That client_id was already used for something else",
    )
}

/// The refusal of a request naming a message the room does not have.
pub(crate) fn no_message(id: u64) -> Rejection {
    Rejection::new(
        ErrorCode::NotFound,
        format!("There is no message {id} in this room (or it was deleted)"),
    )
}
