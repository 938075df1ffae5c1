//! English.

use super::{english_plural, FileStrings, SearchStrings, Strings};
use chat_shared::files::UploadErrorCode;
use chat_shared::search::{QueryError, MAX_QUERY_CHARS, MAX_QUERY_TERMS};
use chat_shared::{
    AuditAction, AuditEntry, ErrorCode, ForbiddenReason, MessageError, RoomError, UsernameError,
    MAX_MESSAGE_CHARS, MAX_ROOM_CHARS, MAX_USERNAME_CHARS,
};

/// The English interface; the reference for every other language.
pub(crate) static STRINGS: Strings = Strings {
    files: FILES,
    search: SEARCH,
    app_title: "WebSocket Chat",
    tagline: "Real-time chat, right in your browser.",
    join_heading: "Join the conversation",
    name_label: "Your name",
    name_placeholder: "e.g. Alice",
    join_button: "Join",
    joining: "Joining…",
    device_revoked: |name| format!("This device was removed from {name}."),
    name_error,
    message_error,
    server_error,
    connection_lost: "The connection dropped before the server confirmed this message.",
    status_connecting: "Connecting…",
    status_online: "Online",
    status_retrying: "Reconnecting…",
    status_reconnecting_in: |s| format!("Reconnecting in {s} s"),
    status_kept: "Messages saved on this device",
    retry_now: "Retry now",
    messages_label: "Messages",
    empty_conversation: "No messages yet. Say hello!",
    earlier_messages: "Earlier messages",
    new_messages: |n| format!("{n} new {}", english_plural(n, "message", "messages")),
    user_joined: |name| format!("{name} joined"),
    user_left: |name| format!("{name} left"),
    you: "you",
    sending: "Sending…",
    queued: "Waiting for the connection…",
    not_delivered: "Not delivered",
    resend: "Resend",
    discard: "Discard",
    skip_to_composer: "Skip to message box",
    composer_label: "Message",
    composer_placeholder: "Write a message…",
    composer_offline: "Not connected: what you send now goes out once the connection is back.",
    composer_hint: "Enter sends, Shift+Enter adds a line",
    send: "Send",
    chars_left: |n| format!("{n} {} left", english_plural(n, "character", "characters")),
    chars_over: |n| {
        format!(
            "{n} {} too many",
            english_plural(n, "character", "characters")
        )
    },
    typing_one: |a| format!("{a} is typing…"),
    typing_two: |a, b| format!("{a} and {b} are typing…"),
    typing_many: "Several people are typing…",
    online_heading: "Online",
    online_count: |n| format!("{n} online"),
    show_online: |n| format!("{n} online, show who"),
    more_online: |n| format!("{n} more, show them"),
    mention_label: |name| format!("Mention {name}"),
    message_person: "Message",
    message_person_label: |name| format!("Message {name}"),
    close: "Close",
    new_version: "A new version is available.",
    reload: "Reload",
    ios_install_hint: "To install the chat on this device, tap Share, then “Add to Home Screen”. On iPhone and iPad that is also what lets the chat notify you with no tab open.",
    got_it: "Got it",
    language: "Language",
    rooms_heading: "Rooms",
    dms_heading: "Direct messages",
    news: "new messages",
    leave_room_label: |room| format!("Leave #{room}"),
    new_room_label: "Open or create a room",
    new_room_placeholder: "room name",
    open_room: "Open",
    room_error,
    room_label: |room| format!("Room {room}"),
    loading_older: "Loading earlier messages…",
    history_start: |room| format!("This is the very beginning of #{room}."),
    dm_label: |names| format!("Direct messages with {names}"),
    dm_start: |names| format!("This is the very beginning of your messages with {names}."),
    leave: "Leave",
    room_locked_notice: "This room is read-only: a moderator locked it.",
    moderator: "Moderator",
    moderator_on: "Moderating",
    moderator_token_label: "Moderator token",
    moderator_unlock: "Unlock",
    moderator_off: "Stop moderating",
    token_wrong: "That is not the moderator token.",
    token_slow: "Too many wrong tokens: wait a minute and try again.",
    profile_label: |name| format!("{name}: your profile and devices"),
    profile_heading: "Your name",
    link_device: "Link another device",
    link_device_hint: "Open this link, or scan the code, on your other device: it joins as you.",
    link_qr_label: "QR code of the link",
    link_field_label: "Link for your other device",
    copy: "Copy",
    copied: "Copied",
    link_expires_in: |secs| format!("Expires in {}:{:02}", secs / 60, secs % 60),
    link_expired: "This link expired; asking for a new one…",
    devices_heading: "Your devices",
    this_device: "this device",
    unknown_device: "Unknown device",
    device_seen: |first, last| format!("First seen {first}, last seen {last}"),
    revoke: "Remove",
    revoke_label: |device| format!("Remove {device} from your name"),
    confirm_revoke: "Really remove?",
    release_name: "Give up this name",
    release_hint: "Anyone may take it then, and your devices no longer hold it.",
    confirm_release: "Really give it up?",
    name_released: "You gave up your name: anyone may take it now.",
    name_not_held: "This name is not kept for you: anyone may take it once you leave.",
    name_not_held_why: "A name is kept for the device that first joins with it, until it is \
        given up. This one was given up, or this server does not keep names.",
    delete: "Delete",
    confirm_delete: "Delete for everyone",
    delete_label: |name| format!("Delete the message from {name}"),
    ban: "Ban",
    ban_label: |name| format!("Ban {name}"),
    ban_length_label: |name| format!("How long to ban {name}"),
    ban_lengths: ["5 minutes", "1 hour", "1 day", "1 week"],
    lock_room: "Lock room",
    unlock_room: "Unlock room",
    read_only: "read-only",
    topic_label: "Room topic",
    edit_topic: "Edit topic",
    save: "Save",
    cancel: "Cancel",
    audit_heading: "Moderation log",
    audit_empty: "Nothing has been moderated yet.",
    audit_line,
    message_actions: "Message actions",
    reply: "Reply",
    reply_label: |name| format!("Reply to {name}"),
    react: "React",
    edit: "Edit",
    edit_label: "Edit your message",
    delete_mine_label: "Delete your message",
    report: "Report",
    report_label: |name| format!("Report the message from {name} to the moderators"),
    report_prompt: "Why are you reporting this message? (optional)",
    reported: "Thanks: the moderators will see this message.",
    confirm_delete_mine: "Really delete?",
    confirm_delete_mine_label: "Really delete? Press again to delete your message",
    reaction_label: |emoji, users| format!("{emoji} {}", users.join(", ")),
    edited: "(edited)",
    edited_at: |time| format!("Edited {time}"),
    message_deleted: "message deleted",
    quote_label: |name| format!("Reply to {name}: show the original message"),
    replying_to: |name| format!("Replying to {name}"),
    cancel_reply: "Cancel the reply",
    editing: "Editing your message",
    cancel_edit: "Cancel editing",
    composer_edit_hint: "Enter saves, Escape cancels",
    gap: "Some messages in between are not shown",
    not_yours: "Only messages you posted from this browser can be edited or deleted.",
    unread_divider: "New messages",
    jump_to_unread: "Jump to first unread",
    mark_as_read: "Mark as read",
    unread_count: |n| format!("{n} unread"),
    mention_count: |n| format!("{n} {}", english_plural(n, "mention", "mentions")),
    calls_you: "mentions you",
    mention_options: "People to mention",
    level_label: |room| format!("Notifications for {room}"),
    level_all: "All messages",
    level_mentions: "Mentions and replies",
    level_none: "Nothing",
    notify_hint: "Get a notification when someone calls you while this tab is hidden.",
    notify_enable: "Turn on notifications",
    notify_title: |author, room| format!("{author} in {room}"),
    push_setting: "Notify me on this device when no tab of the chat is open",
    push_blocked: "Notifications are blocked for this site in the browser's settings.",
};

/// Files on messages, in English.
const FILES: FileStrings = FileStrings {
    attach: "Attach files",
    camera: "Take a photo",
    chosen_label: "Files to send",
    remove: |name| format!("Remove {name}"),
    cancel: |name| format!("Cancel the upload of {name}"),
    retry: "Retry",
    waiting: "Waiting to upload",
    uploading: |percent| format!("Uploading, {percent}%"),
    uploaded: "Uploaded",
    upload_error,
    too_large: |name, max| {
        format!("{name} is larger than {max}, the most this chat takes: it was not attached.")
    },
    too_many: |n| format!("A message can carry at most {n} files."),
    drop_here: "Drop files here to attach them",
    waiting_for_files: "Sends once its files are uploaded",
    file_count: |n| format!("{n} {}", english_plural(n, "file", "files")),
    download: "Download",
    download_name: |name| format!("Download {name}"),
    open_image: |name| format!("Open {name}"),
    viewer_label: "Image viewer",
    previous: "Previous image",
    next: "Next image",
    position: |at, of| format!("{at} of {of}"),
};

/// Search, in English.
const SEARCH: SearchStrings = SearchStrings {
    open: "Search",
    open_hint: "Search messages (Ctrl+K or /)",
    input_label: "Search messages",
    placeholder: "Words, \"a phrase\", from:name, in:room, has:file, after:2026-01-31",
    scope_label: "Where",
    everywhere: "All my rooms",
    this_room: "This room",
    order_label: "Order",
    newest: "Newest",
    best: "Best match",
    results_label: "Results",
    searching: "Searching…",
    found: |n, more| match more {
        false => format!("{n} {}", english_plural(n, "result", "results")),
        true => format!(
            "{n} {}, more to load",
            english_plural(n, "result", "results")
        ),
    },
    nothing: "Nothing found",
    more: "More results",
    query_error: search_query_error,
    refused: |message| format!("The server did not take this search: {message}"),
    rate_limited: |secs| match secs {
        Some(s) => format!("Too many searches: try again in {s} s."),
        None => "Too many searches: try again in a moment.".into(),
    },
    direct_message: "Direct message",
    keys_hint: "↑ ↓ to move, Enter to open, Esc to close",
};

fn search_query_error(error: &QueryError) -> String {
    match error {
        QueryError::TooLong => format!("A search is at most {MAX_QUERY_CHARS} characters."),
        QueryError::TooManyTerms => {
            format!("A search has at most {MAX_QUERY_TERMS} words and phrases.")
        }
        QueryError::BadDate(text) => format!("“{text}” is not a day: write it as 2026-12-31."),
        QueryError::UnknownFilter(text) => {
            format!("“{text}” is not a filter: use from:, in:, has:file, before: or after:.")
        }
        QueryError::BadRoom(text) => format!("“{text}” is not a room name."),
    }
}

fn upload_error(code: UploadErrorCode) -> String {
    match code {
        UploadErrorCode::BadRequest => "The server did not take this upload.",
        UploadErrorCode::BadToken | UploadErrorCode::ExpiredToken | UploadErrorCode::WrongRoom => {
            "The upload was not allowed: try again."
        }
        UploadErrorCode::TooLarge => "The file is larger than this chat takes.",
        UploadErrorCode::OverQuota => "You have uploaded too much for now: try again later.",
        UploadErrorCode::StorageFull => "The server has no room for more files.",
        UploadErrorCode::BadImage => "This image cannot be read.",
        UploadErrorCode::Incomplete => "The upload was cut off: try again.",
        UploadErrorCode::FilesOff => "This chat does not take files.",
        UploadErrorCode::NotFound => "The file is not there any more.",
        UploadErrorCode::ServerError | UploadErrorCode::Unknown => {
            "The server could not keep the file: try again."
        }
    }
    .into()
}

fn audit_line(entry: &AuditEntry) -> String {
    let who = &entry.moderator;
    let target = &entry.target;
    let detail = entry.detail.as_deref().unwrap_or_default();
    match entry.action {
        AuditAction::Delete => format!("{who} deleted message {target} ({detail})"),
        AuditAction::Ban => format!("{who} banned {target} for {detail}"),
        AuditAction::Lock => format!("{who} locked #{target}"),
        AuditAction::Unlock => format!("{who} unlocked #{target}"),
        AuditAction::Topic => format!("{who} set the topic of #{target}: {detail}"),
        AuditAction::Release => format!("{who} gave up the name {target}"),
        AuditAction::FreeName => format!("{who} freed the name {target}"),
        AuditAction::Report => format!("{who} reported message {target}: {detail}"),
        AuditAction::Unknown => format!("{who}: {target} {detail}"),
    }
}

fn room_error(error: &RoomError) -> String {
    match error {
        RoomError::Empty => "Enter a room name.".into(),
        RoomError::TooLong => format!("A room name can have at most {MAX_ROOM_CHARS} characters."),
        RoomError::ForbiddenCharacter(_) => {
            "A room name can only have letters, digits, - and _.".into()
        }
    }
}

fn name_error(error: &UsernameError) -> String {
    match error {
        UsernameError::Empty => "Enter a name with at least one visible character.".into(),
        UsernameError::TooLong => {
            format!("A name can have at most {MAX_USERNAME_CHARS} characters.")
        }
        UsernameError::ForbiddenCharacter(c) => format!(
            "A name cannot contain invisible or control characters (U+{:04X}).",
            *c as u32
        ),
        UsernameError::NoLetterOrDigit => "A name needs at least one letter or digit.".into(),
    }
}

fn message_error(error: &MessageError) -> String {
    match error {
        MessageError::Empty => "A message cannot be empty.".into(),
        MessageError::TooLong => {
            format!("A message can have at most {MAX_MESSAGE_CHARS} characters.")
        }
        MessageError::NulCharacter => "A message cannot contain the NUL character.".into(),
    }
}

fn server_error(code: ErrorCode, reason: Option<ForbiddenReason>, server_message: &str) -> String {
    match code {
        ErrorCode::InvalidUsername => "That name is not allowed. Try another one.".into(),
        ErrorCode::NameTaken => {
            "That name, or one that looks just like it, is already taken. Try another one.".into()
        }
        ErrorCode::EmptyMessage => message_error(&MessageError::Empty),
        ErrorCode::MessageTooLong => message_error(&MessageError::TooLong),
        ErrorCode::NotJoined => "Join the chat first.".into(),
        ErrorCode::AlreadyJoined => "You have already joined.".into(),
        ErrorCode::BadRequest => "The server did not understand the request.".into(),
        ErrorCode::RateLimited => "You are sending too fast. Wait a moment and try again.".into(),
        ErrorCode::InvalidRoom => {
            "That room name is not allowed: use letters, digits, - and _.".into()
        }
        ErrorCode::ServerError => "The server could not do that just now. Try again.".into(),
        ErrorCode::Forbidden => match reason {
            // An older server names no reason: it meant the join code.
            None | Some(ForbiddenReason::JoinCode) => {
                "This chat is invite-only: open the invitation link you were sent.".into()
            }
            Some(ForbiddenReason::ModeratorToken) => STRINGS.token_wrong.into(),
            Some(ForbiddenReason::NotModerator) => "Only moderators may do that.".into(),
            Some(ForbiddenReason::RoomLocked) => STRINGS.room_locked_notice.into(),
            Some(ForbiddenReason::NotAuthor) => STRINGS.not_yours.into(),
            Some(ForbiddenReason::NotMember) => "That conversation is not open to you.".into(),
            Some(ForbiddenReason::NotHeld) => {
                "Only names that belong to someone can do that, or get direct messages.".into()
            }
            Some(ForbiddenReason::Unknown) => server_message.into(),
        },
        ErrorCode::Banned => "A moderator has banned you from this chat for a while.".into(),
        ErrorCode::NotFound => "That message or user is not here any more.".into(),
        ErrorCode::EditExpired => {
            "That message is too old to edit; it can still be deleted.".into()
        }
        ErrorCode::NameHeld => "That name belongs to someone. If it is yours, open \
            \"Link another device\" on a device that has it and open the link here."
            .into(),
        ErrorCode::AttachmentNotFound => "That file could not be sent: upload it again".into(),
        ErrorCode::BadSearch => "That search was not understood".into(),
        ErrorCode::InvalidSubscription => {
            "This browser's push subscription was refused; notifications with no tab open \
             stay off."
                .into()
        }
        ErrorCode::Unknown => server_message.into(),
    }
}
