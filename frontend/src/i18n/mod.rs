//! Every user-visible string, one file per language, and the plural rules.
//!
//! Components never hold text of their own: they ask [`I18n::t`] for the
//! current language's [`Strings`], so switching language re-renders every
//! label, and a translator edits exactly one file.

mod en;
mod files;
mod ru;
mod search;

pub(crate) use files::FileStrings;
pub(crate) use search::SearchStrings;

use chat_shared::{ErrorCode, ForbiddenReason, MessageError, RoomError, UsernameError};
use leptos::prelude::*;

use crate::storage;

/// The languages the interface speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Ru,
}

impl Lang {
    /// Both languages, in the order the switch shows them.
    pub(crate) const ALL: [Lang; 2] = [Lang::En, Lang::Ru];

    /// The BCP 47 tag, used for `<html lang>`, storage and date formatting.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    /// The language a stored or browser tag asks for, if we speak it.
    pub(crate) fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// This language's strings.
    pub(crate) fn strings(self) -> &'static Strings {
        match self {
            Lang::En => &en::STRINGS,
            Lang::Ru => &ru::STRINGS,
        }
    }
}

/// A reason something the user asked for did not happen, kept untranslated
/// so that a language switch re-translates a message already on screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The name failed the shared rules before anything was sent.
    Name(UsernameError),
    /// The message failed the shared rules before anything was sent.
    Message(MessageError),
    /// The server refused a request: its code, with `forbidden` the rule
    /// that refused, and its English text, shown for a code or reason this
    /// build does not know (a newer server's).
    Server {
        code: ErrorCode,
        reason: Option<ForbiddenReason>,
        message: String,
    },
    /// The connection dropped before the server confirmed the message.
    ConnectionLost,
    /// This device was removed from the name (close code 4003), from
    /// another device of it: the join form says so.
    Revoked(String),
    /// Not a problem but news for the notice bar: the report went to the
    /// moderators.
    Reported,
    /// News for the notice bar: my name was given up (or freed).
    NameReleased,
    /// A file chosen is larger than the server takes (`max` bytes): it
    /// was not uploaded.
    FileTooLarge { name: String, max: u64 },
    /// More files than a message carries were chosen.
    TooManyFiles,
}

impl Problem {
    /// The problem in the interface language.
    pub(crate) fn describe(&self, t: &Strings) -> String {
        match self {
            Problem::Name(error) => (t.name_error)(error),
            Problem::Message(error) => (t.message_error)(error),
            Problem::Server {
                code,
                reason,
                message,
            } => (t.server_error)(*code, *reason, message),
            Problem::ConnectionLost => t.connection_lost.to_owned(),
            Problem::Revoked(name) => (t.device_revoked)(name),
            Problem::Reported => t.reported.to_owned(),
            Problem::NameReleased => t.name_released.to_owned(),
            Problem::FileTooLarge { name, max } => {
                (t.files.too_large)(name, &chat_shared::files::human_size(*max))
            }
            Problem::TooManyFiles => (t.files.too_many)(chat_shared::files::MAX_ATTACHMENTS as u64),
        }
    }

    /// A server's `error` frame as a problem.
    pub(crate) fn server(
        code: ErrorCode,
        reason: Option<ForbiddenReason>,
        message: String,
    ) -> Self {
        Problem::Server {
            code,
            reason,
            message,
        }
    }

    /// The rule a `forbidden` refusal named, if this is one.
    pub(crate) fn forbidden_reason(&self) -> Option<ForbiddenReason> {
        match self {
            Problem::Server {
                code: ErrorCode::Forbidden,
                reason,
                ..
            } => *reason,
            _ => None,
        }
    }
}

/// All the text of the interface in one language.
///
/// Plain fields are fixed labels; `fn` fields build text around a value
/// (a name, a count), so each language can order words and pick plural
/// forms its own way.
pub(crate) struct Strings {
    /// Files on messages.
    pub(crate) files: FileStrings,
    /// Search.
    pub(crate) search: SearchStrings,
    pub(crate) app_title: &'static str,
    pub(crate) tagline: &'static str,
    pub(crate) join_heading: &'static str,
    pub(crate) name_label: &'static str,
    pub(crate) name_placeholder: &'static str,
    pub(crate) join_button: &'static str,
    pub(crate) joining: &'static str,
    /// The join form after close code 4003: "This device was removed
    /// from alice".
    pub(crate) device_revoked: fn(&str) -> String,
    pub(crate) name_error: fn(&UsernameError) -> String,
    pub(crate) message_error: fn(&MessageError) -> String,
    /// A server error by wire code; gets the server's own text for codes
    /// it does not know.
    pub(crate) server_error:
        fn(code: ErrorCode, reason: Option<ForbiddenReason>, server_message: &str) -> String,
    pub(crate) connection_lost: &'static str,
    pub(crate) status_connecting: &'static str,
    pub(crate) status_online: &'static str,
    pub(crate) status_retrying: &'static str,
    pub(crate) status_reconnecting_in: fn(u64) -> String,
    /// Next to the connection state while the messages shown are the copy
    /// this device kept, not yet the server's.
    pub(crate) status_kept: &'static str,
    pub(crate) retry_now: &'static str,
    pub(crate) messages_label: &'static str,
    pub(crate) empty_conversation: &'static str,
    pub(crate) earlier_messages: &'static str,
    pub(crate) new_messages: fn(u64) -> String,
    pub(crate) user_joined: fn(&str) -> String,
    pub(crate) user_left: fn(&str) -> String,
    pub(crate) you: &'static str,
    pub(crate) sending: &'static str,
    /// An outgoing message waiting for the connection to come back.
    pub(crate) queued: &'static str,
    pub(crate) not_delivered: &'static str,
    pub(crate) resend: &'static str,
    pub(crate) discard: &'static str,
    /// The first thing Tab reaches: past the header and the conversation.
    pub(crate) skip_to_composer: &'static str,
    pub(crate) composer_label: &'static str,
    pub(crate) composer_placeholder: &'static str,
    pub(crate) composer_offline: &'static str,
    pub(crate) composer_hint: &'static str,
    pub(crate) send: &'static str,
    pub(crate) chars_left: fn(u64) -> String,
    pub(crate) chars_over: fn(u64) -> String,
    pub(crate) typing_one: fn(&str) -> String,
    pub(crate) typing_two: fn(&str, &str) -> String,
    pub(crate) typing_many: &'static str,
    pub(crate) online_heading: &'static str,
    pub(crate) online_count: fn(u64) -> String,
    pub(crate) show_online: fn(u64) -> String,
    /// A large room's list holds only some names: the button for more.
    pub(crate) more_online: fn(u64) -> String,
    /// A name in the online list is a button that mentions them in the
    /// composer: what it does, as its tooltip and description.
    pub(crate) mention_label: fn(&str) -> String,
    /// "Message bob": opens the direct messages with a person, from the
    /// online list and from a message's actions.
    pub(crate) message_person: &'static str,
    pub(crate) message_person_label: fn(&str) -> String,
    pub(crate) close: &'static str,
    /// The installed app's service worker found a newer version.
    pub(crate) new_version: &'static str,
    pub(crate) reload: &'static str,
    /// On an iPhone or iPad in Safari: how to install the app, which push
    /// notifications need there.
    pub(crate) ios_install_hint: &'static str,
    pub(crate) got_it: &'static str,
    pub(crate) language: &'static str,
    pub(crate) rooms_heading: &'static str,
    /// The side panel's section under the rooms.
    pub(crate) dms_heading: &'static str,
    /// A room's dot: something new there (read after its name).
    pub(crate) news: &'static str,
    /// Takes a room off my rooms: "Leave #rust".
    pub(crate) leave_room_label: fn(&str) -> String,
    pub(crate) new_room_label: &'static str,
    pub(crate) new_room_placeholder: &'static str,
    pub(crate) open_room: &'static str,
    pub(crate) room_error: fn(&RoomError) -> String,
    /// The current room as a heading for screen readers: "Room rust".
    pub(crate) room_label: fn(&str) -> String,
    pub(crate) loading_older: &'static str,
    pub(crate) history_start: fn(&str) -> String,
    /// A direct message's heading for screen readers, and its start.
    pub(crate) dm_label: fn(&str) -> String,
    pub(crate) dm_start: fn(&str) -> String,
    pub(crate) leave: &'static str,
    pub(crate) room_locked_notice: &'static str,
    /// The header's switch, and the token form it opens.
    pub(crate) moderator: &'static str,
    pub(crate) moderator_on: &'static str,
    pub(crate) moderator_token_label: &'static str,
    pub(crate) moderator_unlock: &'static str,
    pub(crate) moderator_off: &'static str,
    pub(crate) token_wrong: &'static str,
    pub(crate) token_slow: &'static str,
    /// The profile menu: my name's button in the header, and what it holds.
    pub(crate) profile_label: fn(&str) -> String,
    pub(crate) profile_heading: &'static str,
    pub(crate) link_device: &'static str,
    pub(crate) link_device_hint: &'static str,
    pub(crate) link_qr_label: &'static str,
    pub(crate) link_field_label: &'static str,
    pub(crate) copy: &'static str,
    pub(crate) copied: &'static str,
    /// The link's countdown, from whole seconds left: "Expires in 9:41".
    pub(crate) link_expires_in: fn(u64) -> String,
    pub(crate) link_expired: &'static str,
    pub(crate) devices_heading: &'static str,
    pub(crate) this_device: &'static str,
    pub(crate) unknown_device: &'static str,
    /// When a device first and last held the name (local times).
    pub(crate) device_seen: fn(&str, &str) -> String,
    pub(crate) revoke: &'static str,
    pub(crate) revoke_label: fn(&str) -> String,
    pub(crate) confirm_revoke: &'static str,
    pub(crate) release_name: &'static str,
    pub(crate) release_hint: &'static str,
    pub(crate) confirm_release: &'static str,
    pub(crate) name_released: &'static str,
    /// The menu of a name that is not held: that it is not kept, and why.
    pub(crate) name_not_held: &'static str,
    pub(crate) name_not_held_why: &'static str,
    /// The moderator's controls on a message, a user, the room.
    pub(crate) delete: &'static str,
    pub(crate) confirm_delete: &'static str,
    pub(crate) delete_label: fn(&str) -> String,
    pub(crate) ban: &'static str,
    pub(crate) ban_label: fn(&str) -> String,
    pub(crate) ban_length_label: fn(&str) -> String,
    /// The lengths offered, in the order of [`crate::state::moderation::BAN_LENGTHS`].
    pub(crate) ban_lengths: [&'static str; 4],
    pub(crate) lock_room: &'static str,
    pub(crate) unlock_room: &'static str,
    pub(crate) read_only: &'static str,
    pub(crate) topic_label: &'static str,
    pub(crate) edit_topic: &'static str,
    pub(crate) save: &'static str,
    pub(crate) cancel: &'static str,
    pub(crate) audit_heading: &'static str,
    pub(crate) audit_empty: &'static str,
    /// One entry of the moderation log: who did what to what.
    pub(crate) audit_line: fn(&chat_shared::AuditEntry) -> String,
    /// The actions on a message: reply, react, and on mine edit, delete.
    pub(crate) message_actions: &'static str,
    pub(crate) reply: &'static str,
    pub(crate) reply_label: fn(&str) -> String,
    pub(crate) react: &'static str,
    pub(crate) edit: &'static str,
    pub(crate) edit_label: &'static str,
    pub(crate) delete_mine_label: &'static str,
    /// Shows a message to the moderators, with a reason asked for first.
    pub(crate) report: &'static str,
    pub(crate) report_label: fn(&str) -> String,
    pub(crate) report_prompt: &'static str,
    pub(crate) reported: &'static str,
    /// The armed delete's visible text: short, one line on a phone, and
    /// true for a click, a tap and a key alike.
    pub(crate) confirm_delete_mine: &'static str,
    /// The armed delete's label: what pressing it again does.
    pub(crate) confirm_delete_mine_label: &'static str,
    /// A reaction chip's tooltip and label: the emoji, who put it there.
    pub(crate) reaction_label: fn(&str, &[String]) -> String,
    /// After an edited message's text; the tooltip says when.
    pub(crate) edited: &'static str,
    pub(crate) edited_at: fn(&str) -> String,
    pub(crate) message_deleted: &'static str,
    /// A reply's quote of its original, and the way back to it.
    pub(crate) quote_label: fn(&str) -> String,
    pub(crate) replying_to: fn(&str) -> String,
    pub(crate) cancel_reply: &'static str,
    pub(crate) editing: &'static str,
    pub(crate) cancel_edit: &'static str,
    pub(crate) composer_edit_hint: &'static str,
    /// Between a page loaded around a quoted original and the rest.
    pub(crate) gap: &'static str,
    /// An edit or deletion of a message this browser did not post.
    pub(crate) not_yours: &'static str,
    /// Issue 24: the "New messages" divider above the first unread
    /// message, the pill back to it, and putting it away.
    pub(crate) unread_divider: &'static str,
    pub(crate) jump_to_unread: &'static str,
    pub(crate) mark_as_read: &'static str,
    /// A room's unread and mention counts in the side panel, for screen
    /// readers and the tooltip.
    pub(crate) unread_count: fn(u64) -> String,
    pub(crate) mention_count: fn(u64) -> String,
    /// A message that mentions me or replies to mine, for screen readers.
    pub(crate) calls_you: &'static str,
    /// The `@` autocomplete's list of people.
    pub(crate) mention_options: &'static str,
    /// The notification level menu of a room, and its three levels.
    pub(crate) level_label: fn(&str) -> String,
    pub(crate) level_all: &'static str,
    pub(crate) level_mentions: &'static str,
    pub(crate) level_none: &'static str,
    /// The one-time hint offering notifications while the tab is hidden.
    pub(crate) notify_hint: &'static str,
    pub(crate) notify_enable: &'static str,
    /// A notification's title: who wrote, and where.
    pub(crate) notify_title: fn(&str, &str) -> String,
    /// The profile menu's switch for Web Push on this device (a held name,
    /// a server that pushes), and why it cannot be on.
    pub(crate) push_setting: &'static str,
    pub(crate) push_blocked: &'static str,
}

/// The Russian plural category of `n`: "1 сообщение", "2 сообщения",
/// "5 сообщений"; 11 to 14 always take the third form.
pub(crate) fn russian_plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    let (last, last_two) = (n % 10, n % 100);
    if last == 1 && last_two != 11 {
        one
    } else if (2..=4).contains(&last) && !(12..=14).contains(&last_two) {
        few
    } else {
        many
    }
}

/// The English plural: "1 message", "0 messages", "2 messages".
pub(crate) fn english_plural<'a>(n: u64, one: &'a str, other: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        other
    }
}

/// The current language, shared through context; reading it tracks it.
#[derive(Clone, Copy)]
pub(crate) struct I18n {
    lang: RwSignal<Lang>,
}

const STORAGE_KEY: &str = "chat.lang";

impl I18n {
    /// The remembered choice, else the browser's first language we speak,
    /// else English.
    pub(crate) fn detect() -> Self {
        let stored = storage::get(STORAGE_KEY).and_then(|tag| Lang::from_tag(&tag));
        let lang = stored
            .or_else(|| {
                browser_languages()
                    .iter()
                    .find_map(|tag| Lang::from_tag(tag))
            })
            .unwrap_or(Lang::En);
        Self {
            lang: RwSignal::new(lang),
        }
    }

    /// The current strings (tracked: views using this re-render on a switch).
    pub(crate) fn t(&self) -> &'static Strings {
        self.lang.get().strings()
    }

    /// The current language (tracked).
    pub(crate) fn lang(&self) -> Lang {
        self.lang.get()
    }

    /// The current language, without subscribing to changes: for values
    /// fixed when a view is built (a message's date format).
    pub(crate) fn lang_untracked(&self) -> Lang {
        self.lang.get_untracked()
    }

    /// Switches language and remembers the choice for the next visit.
    pub(crate) fn set(&self, lang: Lang) {
        storage::set(STORAGE_KEY, lang.code());
        self.lang.set(lang);
    }
}

/// The user's preferred languages, most preferred first.
fn browser_languages() -> Vec<String> {
    let navigator = window().navigator();
    let mut tags: Vec<String> = navigator
        .languages()
        .iter()
        .filter_map(|tag| tag.as_string())
        .collect();
    if let Some(tag) = navigator.language() {
        tags.push(tag);
    }
    tags
}

/// The i18n handle from context.
pub(crate) fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_plurals_follow_the_last_digits() {
        let form = |n| russian_plural(n, "сообщение", "сообщения", "сообщений");
        assert_eq!(form(1), "сообщение");
        assert_eq!(form(2), "сообщения");
        assert_eq!(form(4), "сообщения");
        assert_eq!(form(5), "сообщений");
        assert_eq!(form(0), "сообщений");
        for n in 11..=14 {
            assert_eq!(form(n), "сообщений", "{n}");
        }
        assert_eq!(form(21), "сообщение");
        assert_eq!(form(22), "сообщения");
        assert_eq!(form(111), "сообщений");
        assert_eq!(form(112), "сообщений");
        assert_eq!(form(101), "сообщение");
        assert_eq!(form(1004), "сообщения");
    }

    #[test]
    fn plural_phrases_read_right_in_both_languages() {
        let ru = Lang::Ru.strings();
        assert_eq!((ru.new_messages)(1), "1 новое сообщение");
        assert_eq!((ru.new_messages)(2), "2 новых сообщения");
        assert_eq!((ru.new_messages)(5), "5 новых сообщений");
        assert_eq!((ru.chars_left)(1), "Остался 1 символ");
        assert_eq!((ru.chars_left)(3), "Осталось 3 символа");
        assert_eq!((ru.chars_left)(11), "Осталось 11 символов");
        let en = Lang::En.strings();
        assert_eq!((en.new_messages)(1), "1 new message");
        assert_eq!((en.new_messages)(7), "7 new messages");
        assert_eq!((en.chars_left)(1), "1 character left");
    }

    #[test]
    fn language_tags_pick_a_language() {
        assert_eq!(Lang::from_tag("ru-RU"), Some(Lang::Ru));
        assert_eq!(Lang::from_tag("RU"), Some(Lang::Ru));
        assert_eq!(Lang::from_tag("en_GB"), Some(Lang::En));
        assert_eq!(Lang::from_tag("de"), None);
        assert_eq!(Lang::from_tag(""), None);
    }

    #[test]
    fn the_users_button_is_named_by_what_it_shows() {
        // WCAG 2.5.3 (axe: label-content-name-mismatch): the button's
        // accessible name starts with its visible text, so speech input
        // ("click 3 online") finds it.
        for lang in Lang::ALL {
            let t = lang.strings();
            for n in [0, 1, 3, 21] {
                assert!((t.show_online)(n).starts_with(&(t.online_count)(n)));
            }
        }
    }

    #[test]
    fn every_server_code_and_forbidden_reason_has_a_translation_in_both_languages() {
        use ForbiddenReason::*;
        let known = [
            (ErrorCode::InvalidUsername, None),
            (ErrorCode::NameTaken, None),
            (ErrorCode::EmptyMessage, None),
            (ErrorCode::MessageTooLong, None),
            (ErrorCode::NotJoined, None),
            (ErrorCode::AlreadyJoined, None),
            (ErrorCode::BadRequest, None),
            (ErrorCode::RateLimited, None),
            (ErrorCode::InvalidRoom, None),
            (ErrorCode::ServerError, None),
            (ErrorCode::Forbidden, None),
            (ErrorCode::Forbidden, Some(JoinCode)),
            (ErrorCode::Forbidden, Some(ModeratorToken)),
            (ErrorCode::Forbidden, Some(NotModerator)),
            (ErrorCode::Forbidden, Some(RoomLocked)),
            (ErrorCode::Forbidden, Some(NotAuthor)),
            (ErrorCode::Banned, None),
            (ErrorCode::NotFound, None),
            (ErrorCode::EditExpired, None),
        ];
        for lang in Lang::ALL {
            let t = lang.strings();
            let mut texts = std::collections::HashSet::new();
            for (code, reason) in known {
                let text = (t.server_error)(code, reason, "SERVER TEXT");
                assert!(
                    !text.contains("SERVER TEXT"),
                    "{code:?} {reason:?} untranslated"
                );
                assert!(!text.is_empty());
                texts.insert(text);
            }
            // Each rule says something of its own (no reason is the
            // join code's words).
            assert_eq!(texts.len(), known.len() - 1);
            // A code or reason from a newer server falls back to the
            // server's words.
            for (code, reason) in [
                (ErrorCode::Unknown, None),
                (ErrorCode::Forbidden, Some(Unknown)),
            ] {
                assert_eq!((t.server_error)(code, reason, "Server says"), "Server says");
            }
        }
    }
}
