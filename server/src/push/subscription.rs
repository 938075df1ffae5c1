//! A push subscription as the browser's `PushSubscription.toJSON()` gives
//! it, checked once: an https endpoint and the two keys RFC 8291 encrypts
//! to. A subscription that passes is a [`Subscription`]; one that does not
//! is a [`SubscriptionError`] naming the part that is wrong, which becomes
//! the message of the `invalid_subscription` error.
//!
//! The checks take and return only strings and byte arrays, so the browser
//! app can run the same ones when this moves to `shared`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::PublicKey;
use std::fmt;

/// The longest endpoint accepted, in characters: real ones are a few
/// hundred; the limit keeps a stored row and a log line small. The
/// protocol's own number, so the docs and every side agree.
pub const MAX_ENDPOINT_CHARS: usize = chat_shared::MAX_PUSH_ENDPOINT_CHARS;

/// The length of `p256dh`: an uncompressed P-256 point (0x04, x, y).
pub const P256DH_LEN: usize = 65;

/// The length of the `auth` secret (RFC 8291 section 3.2).
pub const AUTH_LEN: usize = 16;

/// Which part of a subscription is wrong, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionError {
    /// The endpoint is not a URL at all.
    EndpointNotUrl,
    /// The endpoint is a URL but not `https:` (a push must not travel in
    /// the clear, and the VAPID audience is an https origin).
    EndpointNotHttps {
        /// The scheme it has.
        scheme: String,
    },
    /// The endpoint is longer than [`MAX_ENDPOINT_CHARS`].
    EndpointTooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// The endpoint has no host to send to.
    EndpointNoHost,
    /// `p256dh` is not base64url.
    P256dhNotBase64,
    /// `p256dh` decodes to the wrong number of bytes.
    P256dhWrongLength {
        /// How many bytes it decodes to.
        len: usize,
    },
    /// `p256dh` has 65 bytes but is not an uncompressed point on P-256
    /// (RFC 8291 section 7: a key off the curve can leak the private key).
    P256dhNotOnCurve,
    /// `auth` is not base64url.
    AuthNotBase64,
    /// `auth` decodes to the wrong number of bytes.
    AuthWrongLength {
        /// How many bytes it decodes to.
        len: usize,
    },
}

impl SubscriptionError {
    /// The field at fault, as the wire names it: `endpoint`, `p256dh` or
    /// `auth`.
    pub fn part(&self) -> &'static str {
        match self {
            Self::EndpointNotUrl
            | Self::EndpointNotHttps { .. }
            | Self::EndpointTooLong { .. }
            | Self::EndpointNoHost => "endpoint",
            Self::P256dhNotBase64 | Self::P256dhWrongLength { .. } | Self::P256dhNotOnCurve => {
                "p256dh"
            }
            Self::AuthNotBase64 | Self::AuthWrongLength { .. } => "auth",
        }
    }
}

impl fmt::Display for SubscriptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EndpointNotUrl => write!(f, "the endpoint is not a URL"),
            Self::EndpointNotHttps { scheme } => {
                write!(f, "the endpoint must be an https URL, not {scheme}:")
            }
            Self::EndpointTooLong { chars } => write!(
                f,
                "the endpoint is {chars} characters long; at most {MAX_ENDPOINT_CHARS} are accepted"
            ),
            Self::EndpointNoHost => write!(f, "the endpoint has no host"),
            Self::P256dhNotBase64 => write!(f, "keys.p256dh is not base64url"),
            Self::P256dhWrongLength { len } => write!(
                f,
                "keys.p256dh must be {P256DH_LEN} bytes (an uncompressed P-256 key), not {len}"
            ),
            Self::P256dhNotOnCurve => {
                write!(f, "keys.p256dh is not an uncompressed point on P-256")
            }
            Self::AuthNotBase64 => write!(f, "keys.auth is not base64url"),
            Self::AuthWrongLength { len } => {
                write!(f, "keys.auth must be {AUTH_LEN} bytes, not {len}")
            }
        }
    }
}

impl std::error::Error for SubscriptionError {}

/// Checks an endpoint: an https URL of at most [`MAX_ENDPOINT_CHARS`]
/// characters with a host. Returns the parsed URL.
pub fn check_endpoint(endpoint: &str) -> Result<url::Url, SubscriptionError> {
    let chars = endpoint.chars().count();
    if chars > MAX_ENDPOINT_CHARS {
        return Err(SubscriptionError::EndpointTooLong { chars });
    }
    let url = url::Url::parse(endpoint).map_err(|error| match error {
        url::ParseError::EmptyHost => SubscriptionError::EndpointNoHost,
        _ => SubscriptionError::EndpointNotUrl,
    })?;
    if url.scheme() != "https" {
        return Err(SubscriptionError::EndpointNotHttps {
            scheme: url.scheme().to_owned(),
        });
    }
    // The URL standard gives every `https:` URL a host (or refuses it as
    // above); checked again so the rule does not rest on that.
    match url.host_str() {
        Some(host) if !host.is_empty() => Ok(url),
        _ => Err(SubscriptionError::EndpointNoHost),
    }
}

/// Decodes `keys.p256dh`: base64url (padding tolerated) of a 65-byte
/// uncompressed point that lies on P-256.
pub fn decode_p256dh(p256dh: &str) -> Result<[u8; P256DH_LEN], SubscriptionError> {
    let bytes = decode_base64url(p256dh).ok_or(SubscriptionError::P256dhNotBase64)?;
    let point: [u8; P256DH_LEN] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| SubscriptionError::P256dhWrongLength { len: bytes.len() })?;
    // 65 bytes is also the length of a hybrid-form point (0x06/0x07).
    if point[0] != 0x04 || PublicKey::from_sec1_bytes(&point).is_err() {
        return Err(SubscriptionError::P256dhNotOnCurve);
    }
    Ok(point)
}

/// Decodes `keys.auth`: base64url (padding tolerated) of 16 bytes.
pub fn decode_auth(auth: &str) -> Result<[u8; AUTH_LEN], SubscriptionError> {
    let bytes = decode_base64url(auth).ok_or(SubscriptionError::AuthNotBase64)?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| SubscriptionError::AuthWrongLength { len: bytes.len() })
}

/// Base64url as browsers write it (no padding), tolerating the `=`
/// padding some libraries add.
fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

/// A subscription that passed every check: where to POST, and the keys to
/// encrypt to.
#[derive(Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The push service's URL for this browser, as given (the key a
    /// subscription is stored and dropped by).
    endpoint: String,
    /// The same, parsed: host and port to connect to, path to POST.
    url: url::Url,
    /// The browser's public key (`p256dh`), already known to lie on the
    /// curve.
    ua_public: PublicKey,
    /// The browser's authentication secret (`auth`).
    auth: [u8; AUTH_LEN],
}

impl Subscription {
    /// Checks the three parts as the wire gives them (the endpoint first,
    /// then `p256dh`, then `auth`) and reports the first that is wrong.
    pub fn parse(endpoint: &str, p256dh: &str, auth: &str) -> Result<Self, SubscriptionError> {
        let url = check_endpoint(endpoint)?;
        let point = decode_p256dh(p256dh)?;
        let auth = decode_auth(auth)?;
        let ua_public =
            PublicKey::from_sec1_bytes(&point).map_err(|_| SubscriptionError::P256dhNotOnCurve)?;
        Ok(Self {
            endpoint: endpoint.to_owned(),
            url,
            ua_public,
            auth,
        })
    }

    /// The endpoint as the browser gave it.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The endpoint, parsed.
    pub(crate) fn url(&self) -> &url::Url {
        &self.url
    }

    /// The browser's public key, to encrypt to.
    pub(crate) fn ua_public(&self) -> &PublicKey {
        &self.ua_public
    }

    /// The browser's authentication secret.
    pub(crate) fn auth(&self) -> &[u8; AUTH_LEN] {
        &self.auth
    }

    /// `p256dh` in its canonical form (base64url, no padding), for storing.
    pub fn p256dh_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.ua_public.to_encoded_point(false).as_bytes())
    }

    /// `auth` in its canonical form (base64url, no padding), for storing.
    pub fn auth_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.auth)
    }
}

impl fmt::Debug for Subscription {
    /// The endpoint only: the keys are the browser's, and the endpoint is
    /// enough to tell subscriptions apart in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8291's example user agent key and auth secret: real, valid keys.
    const P256DH: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const ENDPOINT: &str = "https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV";

    fn refusal(endpoint: &str, p256dh: &str, auth: &str) -> SubscriptionError {
        Subscription::parse(endpoint, p256dh, auth).expect_err("refused")
    }

    #[test]
    fn a_browser_subscription_is_accepted_and_round_trips() {
        let subscription = Subscription::parse(ENDPOINT, P256DH, AUTH).expect("valid");
        assert_eq!(subscription.endpoint(), ENDPOINT);
        assert_eq!(subscription.p256dh_base64(), P256DH);
        assert_eq!(subscription.auth_base64(), AUTH);
        assert_eq!(subscription.url().host_str(), Some("push.example.net"));
    }

    #[test]
    fn padding_is_tolerated() {
        let padded = Subscription::parse(ENDPOINT, &format!("{P256DH}="), &format!("{AUTH}=="))
            .expect("padded keys are accepted");
        assert_eq!(padded.auth_base64(), AUTH);
    }

    #[test]
    fn an_http_endpoint_is_refused() {
        let error = refusal("http://push.example.net/x", P256DH, AUTH);
        assert_eq!(
            error,
            SubscriptionError::EndpointNotHttps {
                scheme: "http".to_owned()
            }
        );
        assert_eq!(error.part(), "endpoint");
        assert!(error.to_string().contains("https"), "{error}");
    }

    #[test]
    fn a_non_url_endpoint_is_refused() {
        assert_eq!(
            refusal("push.example.net/x", P256DH, AUTH),
            SubscriptionError::EndpointNotUrl
        );
        assert_eq!(refusal("", P256DH, AUTH), SubscriptionError::EndpointNotUrl);
    }

    #[test]
    fn an_endpoint_without_a_host_is_refused() {
        for endpoint in ["https://", "https://:8443/push", "https://?x"] {
            let error = refusal(endpoint, P256DH, AUTH);
            assert_eq!(error, SubscriptionError::EndpointNoHost, "{endpoint}");
            assert_eq!(error.part(), "endpoint");
        }
    }

    #[test]
    fn a_long_endpoint_is_refused_at_1001_characters() {
        let base = "https://push.example.net/";
        let fits = format!("{base}{}", "a".repeat(MAX_ENDPOINT_CHARS - base.len()));
        assert!(Subscription::parse(&fits, P256DH, AUTH).is_ok());
        let long = format!("{fits}a");
        assert_eq!(
            refusal(&long, P256DH, AUTH),
            SubscriptionError::EndpointTooLong { chars: 1001 }
        );
    }

    #[test]
    fn a_p256dh_that_is_not_base64url_is_refused() {
        let error = refusal(ENDPOINT, "not base64!", AUTH);
        assert_eq!(error, SubscriptionError::P256dhNotBase64);
        assert_eq!(error.part(), "p256dh");
        // Standard base64's alphabet is not base64url's.
        let standard = P256DH.replace('-', "+").replace('_', "/");
        assert_eq!(
            refusal(ENDPOINT, &standard, AUTH),
            SubscriptionError::P256dhNotBase64
        );
    }

    #[test]
    fn a_p256dh_of_the_wrong_length_is_refused() {
        // The compressed form of a point is 33 bytes.
        let compressed = URL_SAFE_NO_PAD.encode([0x02; 33]);
        assert_eq!(
            refusal(ENDPOINT, &compressed, AUTH),
            SubscriptionError::P256dhWrongLength { len: 33 }
        );
    }

    #[test]
    fn a_p256dh_off_the_curve_is_refused() {
        let mut point = URL_SAFE_NO_PAD.decode(P256DH).expect("decodes");
        point[64] ^= 1;
        let error = refusal(ENDPOINT, &URL_SAFE_NO_PAD.encode(&point), AUTH);
        assert_eq!(error, SubscriptionError::P256dhNotOnCurve);
        assert!(error.to_string().contains("P-256"), "{error}");
        let mut not_uncompressed = URL_SAFE_NO_PAD.decode(P256DH).expect("decodes");
        not_uncompressed[0] = 0x06;
        assert_eq!(
            refusal(ENDPOINT, &URL_SAFE_NO_PAD.encode(&not_uncompressed), AUTH),
            SubscriptionError::P256dhNotOnCurve
        );
    }

    #[test]
    fn an_auth_secret_that_is_not_base64url_is_refused() {
        let error = refusal(ENDPOINT, P256DH, "####");
        assert_eq!(error, SubscriptionError::AuthNotBase64);
        assert_eq!(error.part(), "auth");
    }

    #[test]
    fn an_auth_secret_of_the_wrong_length_is_refused() {
        let error = refusal(ENDPOINT, P256DH, &URL_SAFE_NO_PAD.encode([7u8; 12]));
        assert_eq!(error, SubscriptionError::AuthWrongLength { len: 12 });
        assert!(error.to_string().contains("16"), "{error}");
    }

    #[test]
    fn debug_shows_the_endpoint_not_the_keys() {
        let subscription = Subscription::parse(ENDPOINT, P256DH, AUTH).expect("valid");
        let shown = format!("{subscription:?}");
        assert!(shown.contains(ENDPOINT));
        assert!(!shown.contains(AUTH));
    }
}
