//! A local test push service: a real HTTPS server on 127.0.0.1 with a
//! certificate from a CA made here, which records every request and
//! answers with the status the test chooses; and, on the other side, a
//! test browser that holds a subscription's private key and auth secret
//! and reads a push as a real one would.
//!
//! Both check what they receive independently of the server's `push`
//! module: the decryption follows RFC 8291 and RFC 8188 from the
//! receiving side with the RustCrypto primitives, and the VAPID check
//! verifies the JWT with the key the header names.

use aes_gcm::aead::Aead;
use aes_gcm::{Aes128Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use hkdf::Hkdf;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use sha2::Sha256;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// One request as the push service received it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// `POST`, if the sender is right.
    pub method: String,
    /// The request target: the endpoint's path (and query).
    pub path: String,
    /// `TTL`, `Urgency`, `Content-Encoding`, `Authorization`…
    pub headers: hyper::HeaderMap,
    /// The encrypted body, as it came.
    pub body: Vec<u8>,
}

impl Recorded {
    /// A header's value as text, if it came.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// What the service answers next: a status and maybe a `Retry-After`.
#[derive(Debug, Clone)]
struct Answer {
    /// The status code.
    status: u16,
    /// The `Retry-After` value, if any.
    retry_after: Option<String>,
}

/// The running push service; stops when dropped.
pub(crate) struct PushService {
    /// Where it listens (127.0.0.1 and an ephemeral port).
    addr: SocketAddr,
    /// The PEM of the CA that signed the service's certificate.
    ca_pem: String,
    /// Every request received, in order.
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// What the next request is answered with.
    answer: Arc<Mutex<Answer>>,
    /// The accept loop, aborted on drop.
    task: JoinHandle<()>,
}

impl PushService {
    /// Starts the service on an ephemeral loopback port, answering 201.
    pub(crate) async fn start() -> Self {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test push service CA");
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let leaf_key = KeyPair::generate().expect("leaf key");
        let mut leaf_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        leaf_params.subject_alt_names = vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "test push service");
        let leaf = leaf_params
            .signed_by(&leaf_key, &ca, &ca_key)
            .expect("leaf certificate");

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone()], key)
            .expect("server certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(Mutex::new(Answer {
            status: 201,
            retry_after: None,
        }));
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            requests.clone(),
            answer.clone(),
        ));
        Self {
            addr,
            ca_pem: ca.pem(),
            requests,
            answer,
            task,
        }
    }

    /// From now on, answer every push with `status` (and `Retry-After`).
    pub(crate) fn answer_with(&self, status: u16, retry_after: Option<&str>) {
        *self.answer.lock().expect("answer lock") = Answer {
            status,
            retry_after: retry_after.map(str::to_owned),
        };
    }

    /// The service's origin, the audience a VAPID token must name.
    pub(crate) fn origin(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// An endpoint on this service, as a browser would get it.
    pub(crate) fn endpoint(&self, id: &str) -> String {
        format!("{}/push/{id}", self.origin())
    }

    /// Writes the CA certificate to a PEM file of this test's own: what a
    /// sender must be told to trust.
    pub(crate) fn write_ca(&self, name: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("chat-push-ca-{}-{name}.pem", std::process::id()));
        std::fs::write(&path, &self.ca_pem).expect("write the CA");
        path
    }

    /// Every request received so far, in order.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts connections until aborted; each is served on a task of its own.
async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    requests: Arc<Mutex<Vec<Recorded>>>,
    answer: Arc<Mutex<Answer>>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, requests, answer) = (acceptor.clone(), requests.clone(), answer.clone());
        tokio::spawn(async move {
            // A client that does not trust our CA ends here.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let (requests, answer) = (requests.clone(), answer.clone());
                async move { Ok::<_, Infallible>(record(request, &requests, &answer).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// Records one request and gives the chosen answer.
async fn record(
    request: Request<Incoming>,
    requests: &Mutex<Vec<Recorded>>,
    answer: &Mutex<Answer>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes().to_vec())
        .unwrap_or_default();
    requests.lock().expect("requests lock").push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.to_string(),
        headers: parts.headers,
        body,
    });
    let answer = answer.lock().expect("answer lock").clone();
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::from_u16(answer.status).expect("status");
    if let Some(retry) = answer.retry_after {
        response
            .headers_mut()
            .insert("retry-after", retry.parse().expect("header value"));
    }
    response
}

/// A browser's side of a subscription: the private key behind `p256dh`
/// and the auth secret.
pub(crate) struct TestBrowser {
    /// The private key behind `p256dh`, which never leaves a browser.
    secret: SecretKey,
    /// The authentication secret, `auth`.
    auth: [u8; 16],
}

impl TestBrowser {
    /// A browser with fresh keys.
    pub(crate) fn new() -> Self {
        let mut auth = [0u8; 16];
        getrandom::fill(&mut auth).expect("randomness");
        loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).expect("randomness");
            if let Ok(secret) = SecretKey::from_slice(&bytes) {
                return Self { secret, auth };
            }
        }
    }

    /// `keys.p256dh` as `PushSubscription.toJSON()` gives it.
    pub(crate) fn p256dh(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.secret.public_key().to_encoded_point(false).as_bytes())
    }

    /// `keys.auth` as `PushSubscription.toJSON()` gives it.
    pub(crate) fn auth(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.auth)
    }

    /// Reads an `aes128gcm` push body (RFC 8188 section 2, RFC 8291
    /// section 3.4) as the receiving browser: the plaintext, or what is
    /// wrong with the body.
    pub(crate) fn decrypt(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        if body.len() < 21 {
            return Err(format!("a body of {} bytes has no header", body.len()));
        }
        let salt = &body[..16];
        let record_size = u32::from_be_bytes(body[16..20].try_into().expect("4 bytes")) as usize;
        let id_len = usize::from(body[20]);
        let Some(key_id) = body.get(21..21 + id_len) else {
            return Err("the key id runs past the body".to_owned());
        };
        let ciphertext = &body[21 + id_len..];
        if ciphertext.len() > record_size {
            return Err(format!(
                "one record of {} bytes exceeds rs {record_size}",
                ciphertext.len()
            ));
        }
        let as_public =
            PublicKey::from_sec1_bytes(key_id).map_err(|_| "the key id is not a P-256 key")?;
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), as_public.as_affine());
        let ua_public = self.secret.public_key().to_encoded_point(false);
        let info = [b"WebPush: info\0".as_slice(), ua_public.as_bytes(), key_id].concat();
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&self.auth), shared.raw_secret_bytes())
            .expand(&info, &mut ikm)
            .map_err(|_| "HKDF for the IKM")?;
        let content = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
        content
            .expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .map_err(|_| "HKDF for the CEK")?;
        content
            .expand(b"Content-Encoding: nonce\0", &mut nonce)
            .map_err(|_| "HKDF for the nonce")?;
        let mut record = Aes128Gcm::new_from_slice(&cek)
            .map_err(|_| "the CEK")?
            .decrypt(Nonce::from_slice(&nonce), ciphertext)
            .map_err(|_| "AES-GCM refused the record (wrong keys or tampered)")?;
        // Padding: zeros after the delimiter; the last record's is 0x02.
        while record.last() == Some(&0) {
            record.pop();
        }
        match record.pop() {
            Some(0x02) => Ok(record),
            other => Err(format!(
                "the record ends in {other:?}, not the 0x02 delimiter"
            )),
        }
    }
}

/// The claims of a VAPID token that [`check_vapid`] accepted.
#[derive(Debug)]
pub(crate) struct VapidClaims {
    /// `k`: the public key the token verified with.
    pub key: String,
    /// `sub`: the operator's contact.
    pub subject: String,
    /// `exp`: seconds since 1970.
    pub expires: u64,
}

/// Checks an `Authorization` header as a push service does (RFC 8292):
/// `vapid t=<jwt>, k=<key>`, an ES256 signature valid for `k`, the
/// audience this service's origin, an expiry in the future and at most
/// 24 hours away, and a contact.
pub(crate) fn check_vapid(authorization: &str, origin: &str) -> Result<VapidClaims, String> {
    let rest = authorization
        .strip_prefix("vapid ")
        .ok_or("not the vapid scheme")?;
    let (mut token, mut key) = (None, None);
    for parameter in rest.split(',') {
        match parameter.trim().split_once('=') {
            Some(("t", value)) => token = Some(value),
            Some(("k", value)) => key = Some(value),
            _ => return Err(format!("unexpected parameter {parameter:?}")),
        }
    }
    let (token, key) = (token.ok_or("no t=")?, key.ok_or("no k=")?);
    let b64 = |text: &str| URL_SAFE_NO_PAD.decode(text).map_err(|e| e.to_string());
    let verifying = VerifyingKey::from_sec1_bytes(&b64(key)?).map_err(|_| "k is not P-256")?;
    let (signing_input, signature) = token.rsplit_once('.').ok_or("no signature")?;
    let signature = Signature::from_slice(&b64(signature)?).map_err(|_| "not 64 bytes")?;
    verifying
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| "the signature does not verify with k")?;
    let (header, claims) = signing_input.split_once('.').ok_or("no claims")?;
    let header: serde_json::Value =
        serde_json::from_slice(&b64(header)?).map_err(|e| e.to_string())?;
    if header["alg"] != "ES256" || header["typ"] != "JWT" {
        return Err(format!("header {header}"));
    }
    let claims: serde_json::Value =
        serde_json::from_slice(&b64(claims)?).map_err(|e| e.to_string())?;
    if claims["aud"] != origin {
        return Err(format!("audience {} is not {origin}", claims["aud"]));
    }
    let expires = claims["exp"].as_u64().ok_or("exp is not a number")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    if expires <= now || expires > now + 24 * 3600 {
        return Err(format!("exp {expires} is not within 24 h after {now}"));
    }
    let subject = claims["sub"].as_str().ok_or("no sub")?.to_owned();
    Ok(VapidClaims {
        key: key.to_owned(),
        subject,
        expires,
    })
}
