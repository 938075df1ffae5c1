//! `edit`, `react` and `delete`: changes to a message already posted.

use super::post::{check_client_id, client_id_taken, locked_room, no_message};
use super::Caller;
use crate::chat::hub::encode;
use crate::chat::peer::Peer;
use crate::error::Rejection;
use crate::history::changes::{Action, ChangeRequest, Refusal, MAX_EMOJI_PER_MESSAGE};
use crate::history::journal::{ChangeOutcome, Reply};
use crate::AppState;
use chat_shared::{normalize_emoji, normalize_message, ErrorCode, ForbiddenReason};
use std::time::{Duration, SystemTime};

/// An edit, a deletion or a reaction, its text or emoji normalised.
#[derive(Debug)]
pub(crate) struct MessageChange {
    /// The message's id.
    target: u64,
    /// The sender's id for the change, as for a message.
    pub(crate) client_id: Option<String>,
    action: Action,
    /// Why an edit's text broke the message rules: told when the store
    /// gets to that rule (after the ones that come first).
    bad_text: Option<Rejection>,
}

impl MessageChange {
    /// An `edit`: allowed while the message is younger than `window`.
    pub(crate) fn edit(
        target: u64,
        text: &str,
        client_id: Option<String>,
        window: Duration,
    ) -> Self {
        let (text, bad_text) = match normalize_message(text) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(error) => (None, Some(Rejection::new(error.code(), error))),
        };
        let window_start = SystemTime::now()
            .checked_sub(window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let action = Action::Edit {
            text,
            window_start: humantime::format_rfc3339_millis(window_start).to_string(),
        };
        Self {
            target,
            client_id,
            action,
            bad_text,
        }
    }

    /// A `react`: one of the allowed emoji, on or off.
    pub(crate) fn react(target: u64, emoji: &str, on: bool, client_id: Option<String>) -> Self {
        let emoji = normalize_emoji(emoji).map(str::to_owned);
        Self {
            target,
            client_id,
            action: Action::React { emoji, on },
            bad_text: None,
        }
    }

    /// A `delete`.
    pub(crate) fn delete(target: u64, client_id: Option<String>) -> Self {
        Self {
            target,
            client_id,
            action: Action::Delete,
            bad_text: None,
        }
    }

    /// Passes the change to the journal, which checks it against the
    /// message, stores it and delivers it to the room. Here: joined, a
    /// well-formed `client_id`, and no edits or reactions in a locked room
    /// (taking a message back is always allowed).
    pub(crate) async fn apply(self, state: &AppState, caller: &Caller) -> Result<(), Rejection> {
        let Self {
            target,
            client_id,
            action,
            bad_text,
        } = self;
        let accepted = caller.joined().and_then(|member| {
            check_client_id(client_id.as_deref())?;
            let locked = state.cluster.hub.is_locked(&member.room);
            if locked && action != Action::Delete && !caller.peer.is_moderator() {
                return Err(locked_room());
            }
            Ok(member)
        });
        let member = match accepted {
            Ok(member) => member,
            Err(rejection) => return Err(rejection.with_client_id(client_id)),
        };
        let request = ChangeRequest {
            room: member.room.clone(),
            target,
            username: member.name.clone(),
            name_key: member.key.clone(),
            client_id: client_id.clone(),
            owner: caller.owner.clone(),
            person: caller.person.as_ref().map(|person| person.id),
            moderator: caller.peer.is_moderator(),
            action,
        };
        let sweep = match (&request.action, &state.files) {
            (Action::Delete, Some(files)) => Some(Sweep {
                files: files.clone(),
                journal: state.journal.clone(),
                runtime: tokio::runtime::Handle::current(),
            }),
            _ => None,
        };
        let reply = ChangeReply {
            peer: caller.peer.clone(),
            target,
            client_id,
            bad_text,
            sweep,
        };
        state.journal.change(request, Box::new(reply)).await;
        Ok(())
    }
}

/// The sender of a change, told what became of it when that is not the
/// change reaching the room.
struct ChangeReply {
    peer: Peer,
    target: u64,
    client_id: Option<String>,
    bad_text: Option<Rejection>,
    /// A deletion's: the files only the message referred to go with it.
    sweep: Option<Sweep>,
}

/// What deletes the bytes of files no message refers to any more, once a
/// deletion is stored (the reply runs on the journal's thread, so the
/// sweep is handed to the runtime).
struct Sweep {
    files: std::sync::Arc<crate::files::Files>,
    journal: crate::history::journal::Journal,
    runtime: tokio::runtime::Handle,
}

impl Reply<ChangeOutcome> for ChangeReply {
    fn send(self: Box<Self>, outcome: ChangeOutcome) {
        let Self {
            peer,
            target,
            client_id,
            bad_text,
            sweep,
        } = *self;
        let rejection = match outcome {
            ChangeOutcome::Delivered => {
                if let Some(Sweep {
                    files,
                    journal,
                    runtime,
                }) = sweep
                {
                    runtime.spawn(async move { files.sweep(&journal).await });
                }
                return;
            }
            ChangeOutcome::Unchanged => return,
            ChangeOutcome::Original(original) => {
                peer.send(encode(&original.into_frame()));
                return;
            }
            ChangeOutcome::Refused(refusal) => refused(refusal, target, bad_text),
            ChangeOutcome::Failed => ErrorCode::ServerError.into(),
        };
        peer.reject(&rejection.with_client_id(client_id));
    }
}

/// What the client is told of a rule a change of message `target` broke.
fn refused(refusal: Refusal, target: u64, bad_text: Option<Rejection>) -> Rejection {
    match refusal {
        Refusal::ClientIdTaken => client_id_taken(),
        Refusal::NotFound => no_message(target),
        Refusal::Forbidden => Rejection::forbidden(ForbiddenReason::NotAuthor),
        Refusal::Expired => Rejection::new(
            ErrorCode::EditExpired,
            "That message is too old to edit: it can still be deleted",
        ),
        Refusal::BadText => bad_text.unwrap_or_else(|| ErrorCode::BadRequest.into()),
        Refusal::BadEmoji => Rejection::new(
            ErrorCode::BadRequest,
            format!(
                "A reaction is one of {}",
                chat_shared::REACTION_EMOJI.join(" ")
            ),
        ),
        Refusal::TooManyEmoji => Rejection::new(
            ErrorCode::BadRequest,
            format!(
                "A message carries at most {MAX_EMOJI_PER_MESSAGE} different emoji: \
                     react with one it already has"
            ),
        ),
    }
}
