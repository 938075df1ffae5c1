//! The rules for names and messages, with their limits as named constants.
//!
//! The server enforces these; the client runs the same functions before it
//! sends, so a user learns of a mistake at once and both agree on the result.

use crate::protocol::ErrorCode;
use std::fmt;

/// The longest name, in Unicode scalar values after trimming and NFC.
pub const MAX_USERNAME_CHARS: usize = 32;
/// The longest message, in Unicode scalar values after trimming.
pub const MAX_MESSAGE_CHARS: usize = 2_000;
/// The longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 32;
/// The room a join without `room` enters.
pub const DEFAULT_ROOM: &str = "general";
/// The longest `client_id` (a UUID has 36 characters).
pub const MAX_CLIENT_ID_CHARS: usize = 64;
/// The largest WebSocket frame or message the server reads; larger ones are
/// refused with close code 1009 before they are buffered.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// The most names a `welcome` lists, and the size of a room past which its
/// members are told only how many are in it (`online`), not each arrival
/// and departure; a `users` page without `limit` holds this many too.
pub const PRESENCE_LIST_LIMIT: usize = 100;
/// The most names one `users` page holds.
pub const MAX_USERS_PAGE: usize = 500;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsernameError {
    Empty,
    TooLong,
    /// Control characters and invisible formatting characters let two names
    /// look identical while being different, or break the layout.
    ForbiddenCharacter(char),
    /// Only marks, punctuation or symbols: nothing to read a name by, and
    /// combining marks alone stack on whatever is shown before them.
    NoLetterOrDigit,
}

impl fmt::Display for UsernameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "A name needs at least one visible character"),
            Self::TooLong => write!(f, "A name can have at most {MAX_USERNAME_CHARS} characters"),
            Self::ForbiddenCharacter(c) => {
                write!(f, "A name cannot contain the character U+{:04X}", *c as u32)
            }
            Self::NoLetterOrDigit => write!(f, "A name needs at least one letter or digit"),
        }
    }
}

impl UsernameError {
    /// The wire code the server answers with.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidUsername
    }
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    Empty,
    TooLong,
    /// U+0000: it shows as nothing, and PostgreSQL cannot store it in
    /// text, so no store keeps it.
    NulCharacter,
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "A message cannot be empty"),
            Self::TooLong => {
                write!(
                    f,
                    "A message can have at most {MAX_MESSAGE_CHARS} characters"
                )
            }
            Self::NulCharacter => write!(f, "A message cannot contain the NUL character (U+0000)"),
        }
    }
}

impl MessageError {
    /// The wire code the server answers with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Empty => ErrorCode::EmptyMessage,
            Self::TooLong => ErrorCode::MessageTooLong,
            Self::NulCharacter => ErrorCode::BadRequest,
        }
    }
}

/// Why a room name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomError {
    Empty,
    TooLong,
    /// Room names appear in URLs: letters, digits, `-` and `_` only.
    ForbiddenCharacter(char),
}

impl RoomError {
    /// The wire code the server answers with.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidRoom
    }
}

impl fmt::Display for RoomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "A room name needs at least one character"),
            Self::TooLong => write!(
                f,
                "A room name can have at most {MAX_ROOM_CHARS} characters"
            ),
            Self::ForbiddenCharacter(c) => write!(
                f,
                "A room name can only have letters, digits, '-' and '_', not {c:?}"
            ),
        }
    }
}

/// The room's canonical name: trimmed, lower-case, NFC; `#rust` and `Rust`
/// are the same room.
pub fn normalize_room(raw: &str) -> Result<String, RoomError> {
    let trimmed = raw.trim();
    let without_hash = trimmed.strip_prefix('#').unwrap_or(trimmed);
    let name = nfc(&without_hash.to_lowercase());
    if name.is_empty() {
        return Err(RoomError::Empty);
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(RoomError::ForbiddenCharacter(c));
    }
    if name.chars().count() > MAX_ROOM_CHARS {
        return Err(RoomError::TooLong);
    }
    Ok(name)
}

/// The longest invitation code: long enough for any random code, short
/// enough that a link stays a link.
pub const MAX_JOIN_CODE_CHARS: usize = 128;

/// Whether a text can be an invitation code: 1 to 128 ASCII letters,
/// digits, `-` or `_`, so it travels in a link (`/#/join/<code>`) without
/// escaping. The server checks `--join-code` with it, the app its link.
pub fn is_valid_join_code(code: &str) -> bool {
    is_link_safe(code, 1..=MAX_JOIN_CODE_CHARS)
}

/// Whether `text` has a length in `lengths` and only ASCII letters,
/// digits, `-` and `_`: a secret that travels in links and pastes cleanly.
fn is_link_safe(text: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// The shortest moderator token: shorter ones are too easy to guess.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;
/// The longest moderator token.
pub const MAX_ADMIN_TOKEN_CHARS: usize = 128;

/// Whether a text can be a moderator token: 16 to 128 ASCII letters,
/// digits, `-` or `_`. The server checks `--admin-token` with it and
/// refuses a `become_moderator` that breaks it without comparing; the app
/// checks what was typed before sending.
pub fn is_valid_admin_token(token: &str) -> bool {
    is_link_safe(token, MIN_ADMIN_TOKEN_CHARS..=MAX_ADMIN_TOKEN_CHARS)
}

/// The longest room topic, in Unicode scalar values after trimming.
pub const MAX_TOPIC_CHARS: usize = 200;

/// Why a topic was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicError {
    TooLong,
    /// A topic is one line in the room's header: no line breaks or other
    /// control characters, no invisible formatting.
    ForbiddenCharacter(char),
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => write!(f, "A topic can have at most {MAX_TOPIC_CHARS} characters"),
            Self::ForbiddenCharacter(c) => write!(
                f,
                "A topic is one line: it cannot contain the character U+{:04X}",
                *c as u32
            ),
        }
    }
}

impl TopicError {
    /// The wire code the server answers with.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::BadRequest
    }
}

/// The topic as it will be stored: trimmed (empty clears it), or why not.
pub fn normalize_topic(raw: &str) -> Result<String, TopicError> {
    let topic = nfc(raw.trim());
    if let Some(c) = topic.chars().find(|&c| c.is_control() || is_invisible(c)) {
        return Err(TopicError::ForbiddenCharacter(c));
    }
    if topic.chars().count() > MAX_TOPIC_CHARS {
        return Err(TopicError::TooLong);
    }
    Ok(topic)
}

/// The shortest ban, in seconds.
pub const MIN_BAN_SECS: u64 = 1;
/// The longest ban: a year. Longer is forever in all but name, and an
/// operator who means that can ban again.
pub const MAX_BAN_SECS: u64 = 365 * 24 * 60 * 60;

/// Whether a ban may last `secs`: the error names the bounds.
pub fn check_ban_duration(secs: u64) -> Result<std::time::Duration, String> {
    if (MIN_BAN_SECS..=MAX_BAN_SECS).contains(&secs) {
        Ok(std::time::Duration::from_secs(secs))
    } else {
        Err(format!(
            "A ban lasts {MIN_BAN_SECS} to {MAX_BAN_SECS} seconds (a year), not {secs}"
        ))
    }
}

/// Whether a message's `client_id` is acceptable: 1 to 64 ASCII letters,
/// digits and dashes (a UUID fits).
pub fn is_valid_client_id(id: &str) -> bool {
    (1..=MAX_CLIENT_ID_CHARS).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The name as it will be shown: trimmed and NFC-normalised, or why not.
pub fn normalize_username(raw: &str) -> Result<String, UsernameError> {
    let name = nfc(raw.trim());
    if name.is_empty() {
        return Err(UsernameError::Empty);
    }
    if let Some(c) = name.chars().find(|&c| is_forbidden_in_name(c)) {
        return Err(UsernameError::ForbiddenCharacter(c));
    }
    if name.chars().count() > MAX_USERNAME_CHARS {
        return Err(UsernameError::TooLong);
    }
    if !name.chars().any(char::is_alphanumeric) {
        return Err(UsernameError::NoLetterOrDigit);
    }
    Ok(name)
}

/// The key a user is known by: the name's NFKC form, case-folded, so
/// "Alice", "aLiCe" and the fullwidth "ａｌｉｃｅ" are one user. Call it
/// on a name [`normalize_username`] accepted.
///
/// This is half of "the same name" (see [`same_username`]): the server
/// also refuses a name that only looks like one in use
/// ([`username_looks`]). The key is what the server keys presence, bans,
/// reactions and authorship by; applying it to a key changes nothing, so
/// a key stored by an older version (lower case and NFC) maps to the
/// current one with `username_key(old_key)`.
pub fn username_key(name: &str) -> String {
    nfkc(&case_fold(&nfkc(name)))
}

/// Full case folding, as far as the standard library tells it: upper
/// case, then lower, so "ß" and "SS", "ς" and "σ" fold together too;
/// twice, since the capital "ẞ" lowers to "ß", which uppers to "SS".
/// Characters without case are kept.
fn case_fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

/// How a name looks: the Unicode TS #39 confusable skeletons of its NFKC
/// form and of its case-folded key (one or two). Two names that share one
/// look alike ("alice" and "aIice" with a capital i, "alice" and "аlice"
/// with a Cyrillic а, "ALICE" and "аlice"), and the server lets only one
/// of them be online at a time.
///
/// The skeleton is taken before folding case as well as after: folding
/// first turns the capital i of "aIice" into "i" and loses the look-alike.
/// The two skeletons are compared pairwise, never chained, so "dave" and
/// "dane" stay two names although a Greek letter links v to n.
///
/// Only the server needs it: the confusables table stays out of the
/// browser's bundle.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn username_looks(name: &str) -> Vec<String> {
    let shown: String = unicode_security::skeleton(&nfkc(name)).collect();
    let folded: String = unicode_security::skeleton(&username_key(name)).collect();
    if shown == folded {
        vec![shown]
    } else {
        vec![shown, folded]
    }
}

/// The rule of issue 20: two names are the same name when their keys
/// ([`username_key`]) are equal or they look alike ([`username_looks`]).
/// The server's presence applies it when a name is claimed.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn same_username(a: &str, b: &str) -> bool {
    if username_key(a) == username_key(b) {
        return true;
    }
    let looks = username_looks(b);
    username_looks(a).iter().any(|look| looks.contains(look))
}

/// Unicode Normalization Form C: one spelling for text that looks the same
/// (`é` as one code point, not `e` plus an accent).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn nfc(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfc().collect()
}

/// Unicode Normalization Form KC: also one spelling for compatibility
/// variants (fullwidth "ａ" is "a", the ligature "ﬁ" is "fi").
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn nfkc(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().collect()
}

/// In the browser, its own normaliser does the same without shipping the
/// tables in the wasm. Should its Unicode version differ from the server's,
/// the server's result is the one that counts (`welcome` returns it).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn nfc(text: &str) -> String {
    js_sys::JsString::from(text).normalize("NFC").into()
}

/// NFKC by the browser's normaliser, as [`nfc`] is.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn nfkc(text: &str) -> String {
    js_sys::JsString::from(text).normalize("NFKC").into()
}

/// The message as it will be stored: trimmed, or why it cannot be sent.
pub fn normalize_message(raw: &str) -> Result<&str, MessageError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(MessageError::Empty);
    }
    if message_length(text) > MAX_MESSAGE_CHARS {
        return Err(MessageError::TooLong);
    }
    if text.contains('\0') {
        return Err(MessageError::NulCharacter);
    }
    Ok(text)
}

/// How long a message counts as against [`MAX_MESSAGE_CHARS`]; the client's
/// character counter shows the same number.
pub fn message_length(raw: &str) -> usize {
    raw.trim().chars().count()
}

fn is_forbidden_in_name(c: char) -> bool {
    c.is_control() || is_invisible(c) || (c.is_whitespace() && c != ' ')
}

/// Unicode's format characters (category Cf) plus the blank "letters" that
/// render as nothing. Listed by hand: the set is small and stable, and a
/// full category table would add weight to the browser bundle.
fn is_invisible(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x2800
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_normalised() {
        assert_eq!(normalize_username("  alice \n"), Ok("alice".into()));
        // "e" + combining acute becomes the single precomposed "é".
        assert_eq!(normalize_username("Rene\u{301}"), Ok("René".into()));
        assert_eq!(normalize_username("Mary Ann"), Ok("Mary Ann".into()));
        assert_eq!(normalize_username("Алиса"), Ok("Алиса".into()));
    }

    #[test]
    fn names_must_have_one_to_thirty_two_characters() {
        assert_eq!(normalize_username(""), Err(UsernameError::Empty));
        assert_eq!(normalize_username("   \t "), Err(UsernameError::Empty));
        let longest = "я".repeat(MAX_USERNAME_CHARS);
        assert_eq!(normalize_username(&longest), Ok(longest.clone()));
        assert_eq!(
            normalize_username(&format!("{longest}x")),
            Err(UsernameError::TooLong)
        );
        // The limit counts characters after NFC, not bytes or code points typed.
        let decomposed = "e\u{301}".repeat(MAX_USERNAME_CHARS);
        assert!(normalize_username(&decomposed).is_ok());
    }

    #[test]
    fn names_refuse_control_and_invisible_characters() {
        for bad in [
            "al\u{0}ice",
            "al\u{7}ice",
            "ali\u{200B}ce",
            "\u{202E}ecila",
            "bob\u{FEFF}",
            "a\u{2028}b",
            "a\tb",
            "\u{3164}",
            "x\u{E0041}",
        ] {
            assert!(
                matches!(
                    normalize_username(bad),
                    Err(UsernameError::ForbiddenCharacter(_))
                ),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn name_keys_ignore_case_and_composition() {
        assert_eq!(username_key("Alice"), username_key("aLICE"));
        let composed = normalize_username("Ren\u{e9}").unwrap_or_default();
        let decomposed = normalize_username("Rene\u{301}").unwrap_or_default();
        assert_eq!(username_key(&composed), username_key(&decomposed));
        assert_eq!(username_key("ÉMILE"), username_key("émile"));
        assert_ne!(username_key("alice"), username_key("alice2"));
        assert_eq!(username_key("\u{FF21}LICE"), "alice");
        assert_eq!(username_key("STRASSE"), username_key("straße"));
    }

    #[test]
    fn names_need_a_letter_or_digit() {
        for bad in [
            "\u{301}\u{301}\u{301}",
            "\u{20DD}",
            "!!!",
            "-_-",
            "🙂",
            "· ·",
        ] {
            assert_eq!(
                normalize_username(bad),
                Err(UsernameError::NoLetterOrDigit),
                "{bad:?} was accepted"
            );
        }
        for good in ["7", "x", "Ω", "李", "٣", "bob!", "🙂 ann"] {
            assert!(normalize_username(good).is_ok(), "{good:?} was refused");
        }
    }

    #[test]
    fn five_spellings_of_alice_are_one_name() {
        let spellings = [
            "alice",
            "ALICE",
            "aIice",                                    // capital i
            "\u{430}lice",                              // Cyrillic а
            "\u{FF41}\u{FF4C}\u{FF49}\u{FF43}\u{FF45}", // fullwidth
        ];
        for a in spellings {
            let a = normalize_username(a).unwrap_or_default();
            for b in spellings {
                let b = normalize_username(b).unwrap_or_default();
                assert!(same_username(&a, &b), "{a:?} and {b:?} are two names");
            }
        }
    }

    #[test]
    fn ordinary_names_stay_distinct() {
        for (a, b) in [
            ("alice", "alicia"),
            ("alice", "alice2"),
            ("bob", "b0b"),
            ("dave", "dane"),
            ("ann", "anna"),
            ("Ivan", "Iwan"),
            ("Li", "Lu"),
            ("Алиса", "Alisa"),
            ("José", "Jose2"),
        ] {
            assert!(!same_username(a, b), "{a:?} and {b:?} are one name");
        }
        // The skeleton decides what looks alike: a capital O and a zero do.
        assert!(same_username("BOB", "B0B"));
        assert!(same_username("arnie", "amie"), "rn looks like m");
    }

    #[test]
    fn name_keys_are_stable_over_old_keys() {
        // A key stored by the old rule (lower case, NFC) maps to the new one.
        for name in ["Alice", "ÉMILE", "Straße", "ΣΟΦΙΑ", "\u{FF21}nn", "İlker"] {
            let old = normalize_username(&name.to_lowercase()).unwrap_or_default();
            assert_eq!(username_key(&old), username_key(name), "{name:?}");
        }
    }

    #[test]
    fn name_keys_of_keys_are_the_keys() {
        // Every single character, as a name: the key is a fixed point, so
        // recomputing a stored key is harmless, and the look-alike keys
        // never panic.
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
            let key = username_key(&c.to_string());
            assert_eq!(username_key(&key), key, "U+{:04X}", c as u32);
        }
        assert!(!username_looks("x").is_empty());
    }

    #[test]
    fn messages_are_trimmed_and_limited() {
        assert_eq!(normalize_message("  hi \n"), Ok("hi"));
        assert_eq!(
            normalize_message("line one\nline two"),
            Ok("line one\nline two")
        );
        assert_eq!(normalize_message(""), Err(MessageError::Empty));
        assert_eq!(normalize_message(" \n\t "), Err(MessageError::Empty));
        let longest = "ж".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(normalize_message(&longest), Ok(longest.as_str()));
        assert_eq!(
            normalize_message(&format!("{longest}!")),
            Err(MessageError::TooLong)
        );
        // Surrounding whitespace does not count against the limit.
        assert!(normalize_message(&format!("  {longest}  ")).is_ok());
        assert_eq!(normalize_message("a\0b"), Err(MessageError::NulCharacter));
        assert_eq!(normalize_message("\0"), Err(MessageError::NulCharacter));
    }

    #[test]
    fn room_names_are_canonical_and_url_safe() {
        assert_eq!(normalize_room("general"), Ok("general".into()));
        assert_eq!(normalize_room("  #Rust-Lang_2 "), Ok("rust-lang_2".into()));
        assert_eq!(normalize_room("Чат"), Ok("чат".into()));
        assert_eq!(normalize_room(""), Err(RoomError::Empty));
        assert_eq!(normalize_room("#"), Err(RoomError::Empty));
        assert_eq!(
            normalize_room("a b"),
            Err(RoomError::ForbiddenCharacter(' '))
        );
        assert_eq!(
            normalize_room("a/b"),
            Err(RoomError::ForbiddenCharacter('/'))
        );
        assert!(normalize_room(&"r".repeat(MAX_ROOM_CHARS)).is_ok());
        assert_eq!(
            normalize_room(&"r".repeat(MAX_ROOM_CHARS + 1)),
            Err(RoomError::TooLong)
        );
    }

    #[test]
    fn join_codes_fit_in_a_link() {
        assert!(is_valid_join_code("Xy_9-abcdefghijklmnop"));
        assert!(!is_valid_join_code(""));
        assert!(!is_valid_join_code("has space"));
        assert!(!is_valid_join_code("a/b"));
        assert!(!is_valid_join_code(&"a".repeat(MAX_JOIN_CODE_CHARS + 1)));
    }

    #[test]
    fn admin_tokens_are_long_and_plain() {
        assert!(is_valid_admin_token("Xy_9-abcdefghijklmnop"));
        assert!(!is_valid_admin_token(
            &"a".repeat(MIN_ADMIN_TOKEN_CHARS - 1)
        ));
        assert!(is_valid_admin_token(&"a".repeat(MIN_ADMIN_TOKEN_CHARS)));
        assert!(is_valid_admin_token(&"a".repeat(MAX_ADMIN_TOKEN_CHARS)));
        assert!(!is_valid_admin_token(
            &"a".repeat(MAX_ADMIN_TOKEN_CHARS + 1)
        ));
        assert!(!is_valid_admin_token("sixteen chars!!!"));
    }

    #[test]
    fn topics_are_one_trimmed_line() {
        assert_eq!(normalize_topic("  Rust 2027 "), Ok("Rust 2027".into()));
        assert_eq!(normalize_topic("   "), Ok(String::new()));
        assert_eq!(
            normalize_topic("two\nlines"),
            Err(TopicError::ForbiddenCharacter('\n'))
        );
        assert_eq!(
            normalize_topic("a\u{202E}b"),
            Err(TopicError::ForbiddenCharacter('\u{202E}'))
        );
        let longest = "т".repeat(MAX_TOPIC_CHARS);
        assert_eq!(normalize_topic(&longest), Ok(longest.clone()));
        assert_eq!(
            normalize_topic(&format!("{longest}!")),
            Err(TopicError::TooLong)
        );
    }

    #[test]
    fn bans_last_a_second_to_a_year() {
        assert!(check_ban_duration(0).is_err());
        assert_eq!(check_ban_duration(1), Ok(std::time::Duration::from_secs(1)));
        assert!(check_ban_duration(MAX_BAN_SECS).is_ok());
        assert!(check_ban_duration(MAX_BAN_SECS + 1).is_err());
    }

    #[test]
    fn client_ids_are_short_and_plain() {
        assert!(is_valid_client_id("5f0c6a8e-1b7e-4d5a-9a53-3c2f1e0d9b7a"));
        assert!(!is_valid_client_id(""));
        assert!(!is_valid_client_id("has space"));
        assert!(!is_valid_client_id(&"a".repeat(MAX_CLIENT_ID_CHARS + 1)));
    }

    #[test]
    fn message_length_counts_characters_not_bytes() {
        assert_eq!(message_length("привет"), 6);
        assert_eq!(message_length("  ok  "), 2);
    }
}
