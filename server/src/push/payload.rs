//! What a push says, as the service worker reads it: JSON small enough to
//! be encrypted into one push (at most [`MAX_PAYLOAD`] bytes), so a long
//! message is cut rather than refused.

use super::ece::MAX_PLAINTEXT;
use serde::Serialize;
use std::fmt;

/// The most a payload may take: what fits in one 4096-byte encrypted body.
pub const MAX_PAYLOAD: usize = MAX_PLAINTEXT;

/// What ends a text that was cut to fit.
const ELLIPSIS: char = '…';

/// A new message that calls the recipient: enough for the notification
/// and for opening the room at that message.
#[derive(Serialize)]
struct MessagePayload<'a> {
    room: &'a str,
    id: u64,
    author: &'a str,
    text: &'a str,
}

/// Several messages held back by the per-subscription limit, told as one.
#[derive(Serialize)]
struct SummaryPayload<'a> {
    room: &'a str,
    count: u32,
    summary: bool,
}

/// Why a payload could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// Even with an empty text, the room and author names take more than
    /// [`MAX_PAYLOAD`] (names are far shorter than that; this is a guard).
    NamesTooLong,
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NamesTooLong => write!(
                f,
                "the room and author names alone exceed a push's {MAX_PAYLOAD} bytes"
            ),
        }
    }
}

impl std::error::Error for PayloadError {}

/// `{"room","id","author","text"}` for one message, the text cut (on a
/// character boundary, ending in `…`) so the JSON stays within
/// [`MAX_PAYLOAD`] bytes whatever the text's script or escaping.
pub fn message_payload(
    room: &str,
    id: u64,
    author: &str,
    text: &str,
) -> Result<Vec<u8>, PayloadError> {
    let encode = |text: &str| {
        serde_json::to_vec(&MessagePayload {
            room,
            id,
            author,
            text,
        })
        .map_err(|_| PayloadError::NamesTooLong)
    };
    let whole = encode(text)?;
    if whole.len() <= MAX_PAYLOAD {
        return Ok(whole);
    }
    // The longest prefix (in characters) that fits with the ellipsis: the
    // encoded length grows with the prefix, so a binary search finds it.
    let bounds: Vec<usize> = text.char_indices().map(|(at, _)| at).collect();
    let cut_at = |chars: usize| {
        let end = bounds.get(chars).copied().unwrap_or(text.len());
        format!("{}{ELLIPSIS}", &text[..end])
    };
    let (mut fits, mut too_long) = (0usize, bounds.len());
    let mut best = encode(&cut_at(0))?;
    if best.len() > MAX_PAYLOAD {
        return Err(PayloadError::NamesTooLong);
    }
    while too_long - fits > 1 {
        let middle = fits + (too_long - fits) / 2;
        let encoded = encode(&cut_at(middle))?;
        if encoded.len() <= MAX_PAYLOAD {
            (fits, best) = (middle, encoded);
        } else {
            too_long = middle;
        }
    }
    Ok(best)
}

/// `{"room","count","summary":true}`: `count` messages that were held back
/// by the limit, the latest of them in `room`.
pub fn summary_payload(room: &str, count: u32) -> Result<Vec<u8>, PayloadError> {
    let encoded = serde_json::to_vec(&SummaryPayload {
        room,
        count,
        summary: true,
    })
    .map_err(|_| PayloadError::NamesTooLong)?;
    match encoded.len() <= MAX_PAYLOAD {
        true => Ok(encoded),
        false => Err(PayloadError::NamesTooLong),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::ece;
    use p256::elliptic_curve::sec1::ToEncodedPoint;

    fn decoded(payload: &[u8]) -> serde_json::Value {
        serde_json::from_slice(payload).expect("payload is JSON")
    }

    #[test]
    fn a_short_message_is_sent_whole() {
        let payload = message_payload("lobby", 42, "alice", "hi @bob").expect("builds");
        assert_eq!(
            decoded(&payload),
            serde_json::json!({"room": "lobby", "id": 42, "author": "alice", "text": "hi @bob"})
        );
    }

    #[test]
    fn a_4000_character_text_is_cut_to_fit_one_encrypted_push() {
        for text in [
            "a".repeat(4000),
            "ж".repeat(4000),
            "\"".repeat(4000),
            "\u{1}".repeat(4000),
            "🍉".repeat(4000),
        ] {
            let payload = message_payload("lobby", 7, "alice", &text).expect("builds");
            assert!(payload.len() <= MAX_PAYLOAD, "{} bytes", payload.len());
            let value = decoded(&payload);
            let cut = value["text"].as_str().expect("text");
            assert!(cut.ends_with(ELLIPSIS));
            let kept = cut.trim_end_matches(ELLIPSIS);
            assert!(text.starts_with(kept));
            // As long as fits: one more character would not.
            let next = text[kept.len()..]
                .chars()
                .next()
                .expect("something was cut");
            let longer = serde_json::to_vec(&MessagePayload {
                room: "lobby",
                id: 7,
                author: "alice",
                text: &format!("{kept}{next}{ELLIPSIS}"),
            })
            .expect("encodes");
            assert!(longer.len() > MAX_PAYLOAD);

            let secret = ece::random_secret_key().expect("key");
            let public = p256::PublicKey::from_sec1_bytes(
                secret.public_key().to_encoded_point(false).as_bytes(),
            )
            .expect("public");
            let body = ece::encrypt(&payload, &public, &[9; 16]).expect("fits in a push");
            assert!(body.len() <= 4096);
        }
    }

    #[test]
    fn names_too_long_for_a_push_are_an_error() {
        let room = "r".repeat(MAX_PAYLOAD);
        assert_eq!(
            message_payload(&room, 1, "alice", "hi"),
            Err(PayloadError::NamesTooLong)
        );
        assert_eq!(summary_payload(&room, 3), Err(PayloadError::NamesTooLong));
    }

    #[test]
    fn a_summary_names_the_room_and_the_count() {
        let payload = summary_payload("lobby", 5).expect("builds");
        assert_eq!(
            decoded(&payload),
            serde_json::json!({"room": "lobby", "count": 5, "summary": true})
        );
    }
}
