//! RFC 8291 message encryption for Web Push, in the `aes128gcm` content
//! coding of RFC 8188: what makes a push readable by the browser that
//! subscribed and by nobody on the way (the push service included).
//!
//! Per message: a fresh application-server key pair and a fresh salt;
//! ECDH between that key and the subscription's `p256dh`; HKDF-SHA256 with
//! the subscription's `auth` secret to combine them; a content encryption
//! key and a nonce from the salt; one AES-128-GCM record ending in the
//! last-record delimiter `0x02`. The body is
//! `salt(16) | rs(4, BE) | idlen(1) = 65 | as_public(65) | ciphertext`.

use aes_gcm::aead::Aead;
use aes_gcm::{Aes128Gcm, KeyInit, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;
use std::fmt;

/// The record size written in the header. One record holds the whole
/// message, so it only has to be larger than the record; 4096 is what
/// RFC 8291's example and every browser use.
pub(crate) const RECORD_SIZE: u32 = 4096;

/// Salt, record size, key id length and the 65-byte key id.
pub const HEADER_LEN: usize = 16 + 4 + 1 + 65;

/// The AES-GCM authentication tag at the end of the record.
pub(crate) const TAG_LEN: usize = 16;

/// The largest body a push service must accept (RFC 8030 section 7.2,
/// RFC 8291 section 4): 4096 octets, header included.
pub const MAX_BODY: usize = 4096;

/// The most plaintext that fits in [`MAX_BODY`]: 3993 octets once the
/// header, the padding delimiter and the tag are paid for.
pub const MAX_PLAINTEXT: usize = MAX_BODY - HEADER_LEN - 1 - TAG_LEN;

/// The padding delimiter of the last (here: only) record, RFC 8188
/// section 2.
const LAST_RECORD: u8 = 0x02;

/// Why a message could not be encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptError {
    /// The plaintext is longer than [`MAX_PLAINTEXT`]: a push service
    /// would refuse the body.
    TooLong {
        /// The plaintext's length in bytes.
        len: usize,
    },
    /// The operating system gave no randomness for the salt or the key.
    Random(String),
    /// A key derivation or the cipher refused its input (not expected
    /// with the fixed sizes used here, but reported rather than assumed).
    Crypto(&'static str),
}

impl fmt::Display for EncryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len } => write!(
                f,
                "a push message holds at most {MAX_PLAINTEXT} bytes, not {len}"
            ),
            Self::Random(error) => write!(f, "no randomness for a push message: {error}"),
            Self::Crypto(step) => write!(f, "push encryption failed at {step}"),
        }
    }
}

impl std::error::Error for EncryptError {}

/// Encrypts `plaintext` for the browser that holds the private key of
/// `ua_public` (the subscription's `p256dh`) and `auth`, with a fresh key
/// pair and salt: the body to POST with `Content-Encoding: aes128gcm`.
pub fn encrypt(
    plaintext: &[u8],
    ua_public: &PublicKey,
    auth: &[u8; 16],
) -> Result<Vec<u8>, EncryptError> {
    let as_secret = random_secret_key().map_err(EncryptError::Random)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| EncryptError::Random(error.to_string()))?;
    encrypt_with(plaintext, ua_public, auth, &as_secret, &salt)
}

/// [`encrypt`] with the application-server key and the salt given: the
/// deterministic core, which the RFC 8291 example pins down. Never call it
/// with a key or salt used before: that repeats an AES-GCM key and nonce.
pub(crate) fn encrypt_with(
    plaintext: &[u8],
    ua_public: &PublicKey,
    auth: &[u8; 16],
    as_secret: &SecretKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, EncryptError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(EncryptError::TooLong {
            len: plaintext.len(),
        });
    }
    let ua_point = ua_public.to_encoded_point(false);
    let as_point = as_secret.public_key().to_encoded_point(false);
    let (ua_bytes, as_bytes) = (ua_point.as_bytes(), as_point.as_bytes());

    // RFC 8291 section 3.4: combine the ECDH secret with the auth secret.
    let shared = p256::ecdh::diffie_hellman(as_secret.to_nonzero_scalar(), ua_public.as_affine());
    let mut key_info = Vec::with_capacity(14 + 65 + 65);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(ua_bytes);
    key_info.extend_from_slice(as_bytes);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes())
        .expand(&key_info, &mut ikm)
        .map_err(|_| EncryptError::Crypto("the input keying material"))?;

    // RFC 8188 section 2.2 and 2.3: the content encryption key and nonce.
    let content = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    content
        .expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .map_err(|_| EncryptError::Crypto("the content encryption key"))?;
    let mut nonce = [0u8; 12];
    content
        .expand(b"Content-Encoding: nonce\0", &mut nonce)
        .map_err(|_| EncryptError::Crypto("the nonce"))?;

    let mut record = Vec::with_capacity(plaintext.len() + 1);
    record.extend_from_slice(plaintext);
    record.push(LAST_RECORD);
    let cipher =
        Aes128Gcm::new_from_slice(&cek).map_err(|_| EncryptError::Crypto("the cipher key"))?;
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), record.as_slice())
        .map_err(|_| EncryptError::Crypto("AES-GCM"))?;

    let mut body = Vec::with_capacity(HEADER_LEN + sealed.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    let key_id_len =
        u8::try_from(as_bytes.len()).map_err(|_| EncryptError::Crypto("the key id length"))?;
    body.push(key_id_len);
    body.extend_from_slice(as_bytes);
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// A fresh P-256 private key from the operating system's randomness: for
/// each message's application-server key and for a new VAPID key.
pub(crate) fn random_secret_key() -> Result<SecretKey, String> {
    // A random 32-byte string is a valid scalar unless it is zero or at
    // least the group order: about 2^-32 likely, so a few tries suffice.
    for _ in 0..8 {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|error| error.to_string())?;
        if let Ok(key) = SecretKey::from_slice(&bytes) {
            return Ok(key);
        }
    }
    Err("eight random strings in a row were not P-256 private keys".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn b64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(text)
            .expect("test vector is base64url")
    }

    /// RFC 8291 section 5 and Appendix A, with the line wrapping removed.
    /// Transcribed from the RFC's source (webpush-wg/webpush-encryption,
    /// `draft-ietf-webpush-encryption.md`, sections "Push Message
    /// Encryption Example" and "Intermediate Values for Encryption").
    mod rfc8291 {
        pub(super) const PLAINTEXT: &str = "When I grow up, I want to be a watermelon";
        pub(super) const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
        pub(super) const AS_PUBLIC: &str = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIg\
                                            Dll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
        pub(super) const UA_PUBLIC: &str = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcx\
                                            aOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
        pub(super) const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
        pub(super) const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
        pub(super) const BODY: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml\
                                       mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT\
                                       pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";
    }

    fn rfc_inputs() -> (PublicKey, [u8; 16], SecretKey, [u8; 16]) {
        let ua = PublicKey::from_sec1_bytes(&b64(rfc8291::UA_PUBLIC)).expect("ua_public");
        let auth: [u8; 16] = b64(rfc8291::AUTH).try_into().expect("16-byte auth");
        let as_secret = SecretKey::from_slice(&b64(rfc8291::AS_PRIVATE)).expect("as_private");
        let salt: [u8; 16] = b64(rfc8291::SALT).try_into().expect("16-byte salt");
        (ua, auth, as_secret, salt)
    }

    #[test]
    fn reproduces_rfc_8291_appendix_a_exactly() {
        let (ua, auth, as_secret, salt) = rfc_inputs();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(as_secret.public_key().to_encoded_point(false).as_bytes()),
            rfc8291::AS_PUBLIC,
            "the RFC's application server key pair"
        );
        let body = encrypt_with(rfc8291::PLAINTEXT.as_bytes(), &ua, &auth, &as_secret, &salt)
            .expect("encrypts");
        assert_eq!(URL_SAFE_NO_PAD.encode(&body), rfc8291::BODY);
    }

    #[test]
    fn fresh_messages_differ_and_have_the_header_layout() {
        let (ua, auth, _, _) = rfc_inputs();
        let first = encrypt(b"hello", &ua, &auth).expect("encrypts");
        let second = encrypt(b"hello", &ua, &auth).expect("encrypts");
        assert_ne!(first, second, "a fresh salt and key per message");
        assert_eq!(first.len(), HEADER_LEN + 5 + 1 + TAG_LEN);
        assert_eq!(&first[16..20], &4096u32.to_be_bytes());
        assert_eq!(first[20], 65);
        assert_eq!(first[21], 0x04, "the key id is an uncompressed point");
        assert_ne!(&first[..16], &second[..16], "a fresh salt");
    }

    #[test]
    fn the_largest_plaintext_fills_exactly_4096_bytes() {
        let (ua, auth, _, _) = rfc_inputs();
        let body = encrypt(&[b'x'; MAX_PLAINTEXT], &ua, &auth).expect("encrypts");
        assert_eq!(body.len(), MAX_BODY);
        assert_eq!(
            encrypt(&[b'x'; MAX_PLAINTEXT + 1], &ua, &auth),
            Err(EncryptError::TooLong {
                len: MAX_PLAINTEXT + 1
            })
        );
    }
}
