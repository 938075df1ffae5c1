//! VAPID (RFC 8292): the server's own P-256 key, which says to a push
//! service "the same application server as before" without accounts. The
//! browser subscribes with the public key (`welcome.push_key`); each push
//! carries a short-lived ES256 JWT signed with the private key, and the
//! push service refuses pushes to that subscription signed by anyone else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a token is valid: RFC 8292 section 2 allows at most 24 hours;
/// half of that leaves room for a push service's clock running ahead.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// The JWT header: always the same, so written once.
const JWT_HEADER: &str = r#"{"typ":"JWT","alg":"ES256"}"#;

/// Why a VAPID key could not be made or a token signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VapidError {
    /// The stored private key is not a P-256 scalar of 32 bytes.
    BadPrivateKey,
    /// The operating system gave no randomness for a new key.
    Random(String),
    /// The endpoint has no origin to name as the audience.
    BadEndpoint,
    /// The contact is not a `mailto:` or `https:` URI (RFC 8292 section
    /// 2.1 asks for one of those).
    BadSubject,
    /// The clock is before 1970.
    Clock,
}

impl fmt::Display for VapidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadPrivateKey => write!(f, "the VAPID private key is not a P-256 key"),
            Self::Random(error) => write!(f, "no randomness for a VAPID key: {error}"),
            Self::BadEndpoint => write!(f, "the push endpoint has no https origin"),
            Self::BadSubject => {
                write!(f, "the VAPID contact must be a mailto: or https: URI")
            }
            Self::Clock => write!(f, "the system clock is before 1970"),
        }
    }
}

impl std::error::Error for VapidError {}

/// The server's VAPID key pair.
#[derive(Clone)]
pub struct VapidKey {
    /// Signs every push's token; the only secret here.
    signing: SigningKey,
}

impl VapidKey {
    /// A new key, from the operating system's randomness: made once, on
    /// the first start, then stored and reused (a new key orphans every
    /// existing subscription).
    pub fn generate() -> Result<Self, VapidError> {
        let secret = super::ece::random_secret_key().map_err(VapidError::Random)?;
        Ok(Self {
            signing: SigningKey::from(secret),
        })
    }

    /// The key whose private scalar is `bytes` (what
    /// [`VapidKey::private_bytes`] gave when it was stored).
    pub fn from_private_bytes(bytes: &[u8]) -> Result<Self, VapidError> {
        // `from_slice` would left-pad a short slice: a truncated stored
        // key must not quietly become another key.
        if bytes.len() != 32 {
            return Err(VapidError::BadPrivateKey);
        }
        let signing = SigningKey::from_slice(bytes).map_err(|_| VapidError::BadPrivateKey)?;
        Ok(Self { signing })
    }

    /// The 32-byte private scalar, for the store.
    pub fn private_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes().into()
    }

    /// The private scalar as the store keeps it: base64url.
    pub fn to_stored(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.private_bytes())
    }

    /// The key [`VapidKey::to_stored`] gave.
    pub fn from_stored(text: &str) -> Result<Self, VapidError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| VapidError::BadPrivateKey)?;
        Self::from_private_bytes(&bytes)
    }

    /// The public key as browsers take it for `applicationServerKey` and
    /// as the `k=` of the header: base64url of the 65-byte uncompressed
    /// point.
    pub fn public_key_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(
            self.signing
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes(),
        )
    }

    /// The `Authorization` header value for a push to `endpoint`:
    /// `vapid t=<jwt>, k=<public key>`, the token naming the endpoint's
    /// origin, expiring [`TOKEN_LIFETIME`] after `now`, and giving
    /// `subject` as the operator's contact.
    pub fn authorization(
        &self,
        endpoint: &url::Url,
        subject: &str,
        now: SystemTime,
    ) -> Result<String, VapidError> {
        let audience = audience(endpoint)?;
        let expires = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| VapidError::Clock)?
            .saturating_add(TOKEN_LIFETIME)
            .as_secs();
        let token = self.token(&audience, subject, expires)?;
        Ok(format!("vapid t={token}, k={}", self.public_key_base64()))
    }

    /// The signed JWT: `header.claims.signature`, each base64url, the
    /// signature the 64-byte `r || s` that JWS uses for ES256.
    fn token(&self, audience: &str, subject: &str, expires: u64) -> Result<String, VapidError> {
        check_subject(subject)?;
        let claims = serde_json::json!({ "aud": audience, "exp": expires, "sub": subject });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(JWT_HEADER),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: Signature = self.signing.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }
}

impl fmt::Debug for VapidKey {
    /// The public key only: the private one must not reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VapidKey")
            .field("public", &self.public_key_base64())
            .finish_non_exhaustive()
    }
}

/// The token's audience: the origin of the push endpoint,
/// `scheme://host[:port]`, the port only when it is not the scheme's
/// default (RFC 8292 section 2, RFC 6454).
pub(crate) fn audience(endpoint: &url::Url) -> Result<String, VapidError> {
    match endpoint.origin() {
        origin @ url::Origin::Tuple(..) if endpoint.scheme() == "https" => {
            Ok(origin.ascii_serialization())
        }
        _ => Err(VapidError::BadEndpoint),
    }
}

/// A contact is a `mailto:` address or an `https:` URL with something
/// after the scheme.
fn check_subject(subject: &str) -> Result<(), VapidError> {
    let rest = subject
        .strip_prefix("mailto:")
        .or_else(|| subject.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.trim().is_empty() && !subject.contains(char::is_control) => Ok(()),
        _ => Err(VapidError::BadSubject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    const SUBJECT: &str = "mailto:ops@chat.example";

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).expect("test URL")
    }

    fn b64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).expect("base64url")
    }

    /// The token and key from a header value, split as a push service does.
    fn split_header(header: &str) -> (String, String) {
        let rest = header.strip_prefix("vapid t=").expect("vapid scheme");
        let (token, key) = rest.split_once(", k=").expect("t and k");
        (token.to_owned(), key.to_owned())
    }

    /// Checks the signature with the public key from `k`; returns the
    /// header and the claims.
    fn verify(token: &str, key: &str) -> (serde_json::Value, serde_json::Value) {
        let verifying = VerifyingKey::from_sec1_bytes(&b64(key)).expect("k is a P-256 key");
        let (signing_input, signature) = token.rsplit_once('.').expect("three parts");
        let signature = Signature::from_slice(&b64(signature)).expect("64-byte signature");
        verifying
            .verify(signing_input.as_bytes(), &signature)
            .expect("the signature is valid for k");
        let (header, claims) = signing_input.split_once('.').expect("header.claims");
        (
            serde_json::from_slice(&b64(header)).expect("header JSON"),
            serde_json::from_slice(&b64(claims)).expect("claims JSON"),
        )
    }

    #[test]
    fn the_header_carries_a_token_signed_by_the_public_key_it_names() {
        let key = VapidKey::generate().expect("key");
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let header = key
            .authorization(&url("https://push.example.net/wpush/v2/abc"), SUBJECT, now)
            .expect("signs");
        let (token, k) = split_header(&header);
        assert_eq!(k, key.public_key_base64());
        assert_eq!(b64(&k).len(), 65);
        let (jwt_header, claims) = verify(&token, &k);
        assert_eq!(
            jwt_header,
            serde_json::json!({"typ": "JWT", "alg": "ES256"})
        );
        assert_eq!(claims["aud"], "https://push.example.net");
        assert_eq!(claims["sub"], SUBJECT);
        assert_eq!(claims["exp"], 1_800_000_000u64 + 12 * 3600);
    }

    #[test]
    fn a_token_signed_by_another_key_does_not_verify() {
        let key = VapidKey::generate().expect("key");
        let other = VapidKey::generate().expect("key");
        let header = key
            .authorization(
                &url("https://push.example.net/x"),
                SUBJECT,
                SystemTime::now(),
            )
            .expect("signs");
        let (token, _) = split_header(&header);
        let verifying =
            VerifyingKey::from_sec1_bytes(&b64(&other.public_key_base64())).expect("key");
        let (signing_input, signature) = token.rsplit_once('.').expect("three parts");
        let signature = Signature::from_slice(&b64(signature)).expect("signature");
        assert!(verifying
            .verify(signing_input.as_bytes(), &signature)
            .is_err());
    }

    #[test]
    fn expiry_is_in_the_future_and_within_24_hours() {
        let key = VapidKey::generate().expect("key");
        let now = SystemTime::now();
        let header = key
            .authorization(&url("https://push.example.net/x"), SUBJECT, now)
            .expect("signs");
        let (token, k) = split_header(&header);
        let (_, claims) = verify(&token, &k);
        let exp = claims["exp"].as_u64().expect("exp is a number");
        let now = now.duration_since(UNIX_EPOCH).expect("clock").as_secs();
        assert!(exp > now, "exp {exp} is after now {now}");
        assert!(exp <= now + 24 * 3600, "exp {exp} is within 24 h of {now}");
        assert!(TOKEN_LIFETIME <= Duration::from_secs(24 * 3600));
    }

    #[test]
    fn the_audience_is_the_endpoint_origin() {
        let cases = [
            (
                "https://fcm.googleapis.com/fcm/send/abc:def",
                "https://fcm.googleapis.com",
            ),
            (
                "https://push.example.net:8443/p/q?x=1",
                "https://push.example.net:8443",
            ),
            ("https://push.example.net:443/p", "https://push.example.net"),
            ("https://127.0.0.1:9000/", "https://127.0.0.1:9000"),
            ("https://[::1]:9000/push", "https://[::1]:9000"),
            ("https://Push.Example.NET/p", "https://push.example.net"),
        ];
        for (endpoint, expected) in cases {
            assert_eq!(
                audience(&url(endpoint)).as_deref(),
                Ok(expected),
                "{endpoint}"
            );
        }
        assert_eq!(
            audience(&url("http://push.example.net/p")),
            Err(VapidError::BadEndpoint)
        );
    }

    #[test]
    fn a_key_survives_its_private_bytes() {
        let key = VapidKey::generate().expect("key");
        let again = VapidKey::from_private_bytes(&key.private_bytes()).expect("restores");
        assert_eq!(again.public_key_base64(), key.public_key_base64());
        assert_eq!(
            VapidKey::from_private_bytes(&[0u8; 32]).map(|_| ()),
            Err(VapidError::BadPrivateKey)
        );
        assert_eq!(
            VapidKey::from_private_bytes(&[1u8; 31]).map(|_| ()),
            Err(VapidError::BadPrivateKey)
        );
    }

    #[test]
    fn the_subject_must_be_a_contact_uri() {
        let key = VapidKey::generate().expect("key");
        let endpoint = url("https://push.example.net/x");
        for good in ["mailto:ops@chat.example", "https://chat.example/contact"] {
            assert!(key
                .authorization(&endpoint, good, SystemTime::now())
                .is_ok());
        }
        for bad in ["ops@chat.example", "mailto:", "http://chat.example", ""] {
            assert_eq!(
                key.authorization(&endpoint, bad, SystemTime::now()),
                Err(VapidError::BadSubject),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_does_not_show_the_private_key() {
        let key = VapidKey::generate().expect("key");
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.public_key_base64()));
        assert!(!shown.contains(&URL_SAFE_NO_PAD.encode(key.private_bytes())));
    }
}
