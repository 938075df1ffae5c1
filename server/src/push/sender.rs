//! Sending one push: encrypt the payload for the subscription, sign a
//! VAPID token for the endpoint's origin, POST it over HTTPS, and say
//! what the push service answered in terms the caller acts on
//! ([`SendOutcome`]): delivered, drop the subscription, try later, give up.
//!
//! One connection per push, HTTP/1.1 over tokio-rustls with the `ring`
//! provider (as the server's own TLS), trusting the webpki roots plus any
//! the operator adds from a PEM file (a private push relay, or a test's
//! own push service).

use super::ece::{self, EncryptError};
use super::subscription::Subscription;
use super::vapid::{VapidError, VapidKey};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HOST, RETRY_AFTER};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// How urgent a push is (RFC 8030 section 5.3): a push service may hold
/// back low-urgency pushes to save a phone's battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Only when the device is on power and Wi-Fi.
    VeryLow,
    /// When the device is on power or Wi-Fi.
    Low,
    /// When the device is not in a battery-saving state.
    Normal,
    /// At once: someone is calling the recipient.
    High,
}

impl Urgency {
    /// The `Urgency` header value.
    fn as_header(self) -> &'static str {
        match self {
            Self::VeryLow => "very-low",
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
        }
    }
}

/// How one push is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushOptions {
    /// How long the push service keeps the push for a device that is
    /// offline (the `TTL` header, in whole seconds); after that, a
    /// notification would be stale.
    pub ttl: Duration,
    /// The `Urgency` header.
    pub urgency: Urgency,
}

/// What the [`Sender`] needs, fixed for the server's life.
#[derive(Debug, Clone)]
pub struct SenderSettings {
    /// The server's VAPID key, which every subscription was made for.
    pub vapid: VapidKey,
    /// The operator's contact for the push services (`mailto:` or
    /// `https:`), the VAPID `sub` claim.
    pub subject: String,
    /// A PEM file of further root certificates to trust besides the
    /// webpki roots: a private push relay's CA, or a test's.
    pub extra_roots: Option<PathBuf>,
    /// How long one push may take, connection and answer included.
    pub timeout: Duration,
    /// Whether pushes may go to loopback, private, link-local and other
    /// non-public addresses. Off in production: an endpoint is chosen by
    /// a client, and must not make the server reach into its own network.
    /// On for tests, and for a push relay on the operator's own network.
    pub allow_private_addresses: bool,
}

/// Why a [`Sender`] could not be made.
#[derive(Debug)]
pub enum SenderError {
    /// The extra roots file could not be read or holds no usable
    /// certificate.
    Roots {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// rustls refused the TLS settings.
    Tls(String),
}

impl fmt::Display for SenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Roots { path, reason } => write!(
                f,
                "cannot use {} as root certificates for push: {reason}",
                path.display()
            ),
            Self::Tls(reason) => write!(f, "cannot set up TLS for push: {reason}"),
        }
    }
}

impl std::error::Error for SenderError {}

/// What became of one push, in terms of what the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The push service took it (2xx; usually 201 Created).
    Delivered {
        /// The status it answered.
        status: u16,
    },
    /// The subscription is no more (404 or 410): drop it.
    Gone {
        /// The status it answered.
        status: u16,
    },
    /// The push service is overloaded or throttling us (429 or 5xx): try
    /// again later, not before `retry_after` when it said so.
    RetryLater {
        /// The status it answered.
        status: u16,
        /// Its `Retry-After`, as a delay from when the answer came.
        retry_after: Option<Duration>,
    },
    /// The push service refused this push (another 4xx, e.g. 400 for a
    /// malformed request, 403 for a VAPID key the subscription was not
    /// made with, 413 for a body too large); sending it again will not
    /// help.
    Refused {
        /// The status it answered.
        status: u16,
    },
    /// No answer: the push could not be made or did not arrive.
    Failed(SendFailure),
}

/// Why a push got no answer from the push service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// The payload could not be encrypted (too long, no randomness).
    Encrypt(EncryptError),
    /// The VAPID token could not be signed.
    Vapid(VapidError),
    /// No TCP connection to the endpoint's host.
    Connect(String),
    /// The endpoint's host has only non-public addresses (loopback,
    /// private, link-local…), and the sender does not push there.
    NotPublic {
        /// The endpoint's host.
        host: String,
    },
    /// The TLS handshake failed (an untrusted certificate, say).
    Tls(String),
    /// The HTTP exchange failed.
    Http(String),
    /// The whole push took longer than the timeout.
    Timeout,
}

impl fmt::Display for SendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encrypt(error) => write!(f, "{error}"),
            Self::Vapid(error) => write!(f, "{error}"),
            Self::Connect(error) => write!(f, "cannot connect to the push service: {error}"),
            Self::NotPublic { host } => write!(
                f,
                "the push endpoint's host {host} has no public address; pushes go only to public ones"
            ),
            Self::Tls(error) => write!(f, "TLS with the push service failed: {error}"),
            Self::Http(error) => write!(f, "HTTP with the push service failed: {error}"),
            Self::Timeout => write!(f, "the push service did not answer in time"),
        }
    }
}

/// Sends pushes; cheap to clone and share between tasks.
#[derive(Clone)]
pub struct Sender {
    /// TLS with the trusted roots, offering only HTTP/1.1.
    tls: TlsConnector,
    /// Signs each push's token.
    vapid: VapidKey,
    /// The VAPID `sub` claim.
    subject: String,
    /// How long one push may take.
    timeout: Duration,
    /// Whether non-public addresses may be pushed to.
    allow_private_addresses: bool,
}

impl Sender {
    /// A sender trusting the webpki roots and those in
    /// `settings.extra_roots`.
    pub fn new(settings: SenderSettings) -> Result<Self, SenderError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &settings.extra_roots {
            add_roots(&mut roots, path)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| SenderError::Tls(error.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
            vapid: settings.vapid,
            subject: settings.subject,
            timeout: settings.timeout,
            allow_private_addresses: settings.allow_private_addresses,
        })
    }

    /// Encrypts `payload` for `subscription` and POSTs it to its endpoint.
    pub async fn send(
        &self,
        subscription: &Subscription,
        payload: &[u8],
        options: PushOptions,
    ) -> SendOutcome {
        let body = match ece::encrypt(payload, subscription.ua_public(), subscription.auth()) {
            Ok(body) => body,
            Err(error) => return SendOutcome::Failed(SendFailure::Encrypt(error)),
        };
        let authorization =
            match self
                .vapid
                .authorization(subscription.url(), &self.subject, SystemTime::now())
            {
                Ok(authorization) => authorization,
                Err(error) => return SendOutcome::Failed(SendFailure::Vapid(error)),
            };
        let request = PushRequest {
            url: subscription.url(),
            body,
            authorization,
            options,
        };
        match tokio::time::timeout(self.timeout, self.post(request)).await {
            Err(_) => SendOutcome::Failed(SendFailure::Timeout),
            Ok(Err(failure)) => SendOutcome::Failed(failure),
            Ok(Ok((status, headers))) => outcome(status, &headers, SystemTime::now()),
        }
    }

    /// One HTTPS exchange: the status and headers of the answer (its body
    /// is not needed and not read).
    async fn post(&self, request: PushRequest<'_>) -> Result<(StatusCode, HeaderMap), SendFailure> {
        let url = request.url;
        let port = url.port_or_known_default().unwrap_or(443);
        let (addresses, server_name): (Vec<SocketAddr>, _) = match url.host() {
            Some(url::Host::Domain(domain)) => (
                tokio::net::lookup_host((domain, port))
                    .await
                    .map_err(|error| SendFailure::Connect(error.to_string()))?
                    .collect(),
                ServerName::try_from(domain.to_owned())
                    .map_err(|error| SendFailure::Tls(error.to_string()))?,
            ),
            Some(url::Host::Ipv4(ip)) => (
                vec![SocketAddr::from((ip, port))],
                ServerName::IpAddress(IpAddr::V4(ip).into()),
            ),
            Some(url::Host::Ipv6(ip)) => (
                vec![SocketAddr::from((ip, port))],
                ServerName::IpAddress(IpAddr::V6(ip).into()),
            ),
            None => return Err(SendFailure::Connect("the endpoint has no host".to_owned())),
        };
        // Checked on the resolved addresses, which are then the ones
        // connected to: a name cannot resolve to a public address for the
        // check and a private one for the connection.
        let allowed: Vec<SocketAddr> = addresses
            .into_iter()
            .filter(|address| self.allow_private_addresses || is_public(address.ip()))
            .collect();
        if allowed.is_empty() {
            return Err(SendFailure::NotPublic {
                host: url.host_str().unwrap_or_default().to_owned(),
            });
        }
        let tcp = TcpStream::connect(allowed.as_slice()).await;
        let tcp = tcp.map_err(|error| SendFailure::Connect(error.to_string()))?;
        let tls = self
            .tls
            .connect(server_name, tcp)
            .await
            .map_err(|error| SendFailure::Tls(error.to_string()))?;
        let (mut sending, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|error| SendFailure::Http(error.to_string()))?;

        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let http_request = Request::post(target)
            .header(
                HOST,
                &url[url::Position::BeforeHost..url::Position::AfterPort],
            )
            .header("TTL", request.options.ttl.as_secs().to_string())
            .header("Urgency", request.options.urgency.as_header())
            .header(CONTENT_ENCODING, "aes128gcm")
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(AUTHORIZATION, request.authorization)
            .body(Full::new(Bytes::from(request.body)))
            .map_err(|error| SendFailure::Http(error.to_string()))?;

        // The connection is driven here, beside the request, and dropped
        // (closing it) once the answer's head has come.
        tokio::pin!(connection);
        tokio::select! {
            answer = sending.send_request(http_request) => {
                let answer = answer.map_err(|error| SendFailure::Http(error.to_string()))?;
                Ok((answer.status(), answer.headers().clone()))
            }
            ended = &mut connection => Err(SendFailure::Http(match ended {
                Ok(()) => "the push service closed the connection without answering".to_owned(),
                Err(error) => error.to_string(),
            })),
        }
    }
}

impl fmt::Debug for Sender {
    /// The settings a log needs; the TLS roots would be hundreds of lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("vapid", &self.vapid)
            .field("subject", &self.subject)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// One encrypted push on its way.
struct PushRequest<'a> {
    /// The endpoint.
    url: &'a url::Url,
    /// The encrypted body.
    body: Vec<u8>,
    /// The `Authorization: vapid …` value.
    authorization: String,
    /// `TTL` and `Urgency`.
    options: PushOptions,
}

/// Adds every certificate in the PEM file at `path` to `roots`.
fn add_roots(roots: &mut RootCertStore, path: &PathBuf) -> Result<(), SenderError> {
    let refuse = |reason: String| SenderError::Roots {
        path: path.clone(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|error| refuse(error.to_string()))?;
    let mut added = 0;
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate.map_err(|error| refuse(error.to_string()))?;
        roots
            .add(certificate)
            .map_err(|error| refuse(error.to_string()))?;
        added += 1;
    }
    match added {
        0 => Err(refuse("it holds no PEM certificate".to_owned())),
        _ => Ok(()),
    }
}

/// Whether `ip` is a public unicast address, one a push service can have.
/// Refused: loopback, unspecified, private (RFC 1918), shared (RFC 6598),
/// link-local, multicast, broadcast, documentation, benchmarking and
/// reserved IPv4 ranges; IPv6 loopback, unspecified, multicast, unique
/// local and link-local, and the IPv4 ones behind IPv4-mapped addresses.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => is_public_v4(mapped),
            None => is_public_v6(ip),
        },
    }
}

/// [`is_public`] for IPv4.
fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [first, second, third, _] = ip.octets();
    let shared = first == 100 && (64..128).contains(&second);
    let this_network = first == 0;
    let protocol_assignments = first == 192 && second == 0 && third == 0;
    let benchmarking = first == 198 && (second == 18 || second == 19);
    let reserved = first >= 240;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || shared
        || this_network
        || protocol_assignments
        || benchmarking
        || reserved)
}

/// [`is_public`] for IPv6 (not IPv4-mapped).
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let documentation = ip.segments()[0] == 0x2001 && ip.segments()[1] == 0x0db8;
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || documentation)
}

/// What the push service's answer means for the caller.
fn outcome(status: StatusCode, headers: &HeaderMap, now: SystemTime) -> SendOutcome {
    let code = status.as_u16();
    match code {
        200..=299 => SendOutcome::Delivered { status: code },
        404 | 410 => SendOutcome::Gone { status: code },
        429 | 500..=599 => SendOutcome::RetryLater {
            status: code,
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| retry_after(value, now)),
        },
        _ => SendOutcome::Refused { status: code },
    }
}

/// A `Retry-After` value (RFC 9110 section 10.2.3): seconds, or an HTTP
/// date, as a delay from `now` (zero for a date already past).
fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn answer(status: u16, retry: Option<&str>) -> SendOutcome {
        let mut headers = HeaderMap::new();
        if let Some(retry) = retry {
            headers.insert(RETRY_AFTER, HeaderValue::from_str(retry).expect("header"));
        }
        let status = StatusCode::from_u16(status).expect("status");
        outcome(
            status,
            &headers,
            httpdate::parse_http_date("Sun, 06 Dec 2026 18:00:00 GMT").expect("date"),
        )
    }

    #[test]
    fn success_is_delivered() {
        assert_eq!(answer(201, None), SendOutcome::Delivered { status: 201 });
        assert_eq!(answer(200, None), SendOutcome::Delivered { status: 200 });
    }

    #[test]
    fn not_found_and_gone_drop_the_subscription() {
        assert_eq!(answer(404, None), SendOutcome::Gone { status: 404 });
        assert_eq!(answer(410, None), SendOutcome::Gone { status: 410 });
    }

    #[test]
    fn throttling_and_server_errors_are_retried_later() {
        assert_eq!(
            answer(429, Some("120")),
            SendOutcome::RetryLater {
                status: 429,
                retry_after: Some(Duration::from_secs(120))
            }
        );
        assert_eq!(
            answer(503, Some("Sun, 06 Dec 2026 18:00:30 GMT")),
            SendOutcome::RetryLater {
                status: 503,
                retry_after: Some(Duration::from_secs(30))
            }
        );
        assert_eq!(
            answer(500, Some("Sun, 06 Dec 2026 17:00:00 GMT")),
            SendOutcome::RetryLater {
                status: 500,
                retry_after: Some(Duration::ZERO)
            }
        );
        assert_eq!(
            answer(429, Some("soon")),
            SendOutcome::RetryLater {
                status: 429,
                retry_after: None
            }
        );
    }

    #[test]
    fn other_client_errors_are_refused() {
        for status in [400, 401, 403, 413] {
            assert_eq!(answer(status, None), SendOutcome::Refused { status });
        }
    }

    #[test]
    fn only_public_addresses_are_pushed_to() {
        let public = [
            "142.250.74.10",
            "2a00:1450:4001:82b::200a",
            "::ffff:8.8.8.8",
        ];
        for ip in public {
            assert!(is_public(ip.parse().expect("address")), "{ip}");
        }
        let private = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ];
        for ip in private {
            assert!(!is_public(ip.parse().expect("address")), "{ip}");
        }
    }

    #[test]
    fn urgency_headers_are_rfc_8030_tokens() {
        let tokens = [
            Urgency::VeryLow,
            Urgency::Low,
            Urgency::Normal,
            Urgency::High,
        ]
        .map(Urgency::as_header);
        assert_eq!(tokens, ["very-low", "low", "normal", "high"]);
    }

    #[test]
    fn a_roots_file_without_certificates_is_refused() {
        let path = std::env::temp_dir().join(format!("push-roots-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").expect("write");
        let settings = SenderSettings {
            vapid: VapidKey::generate().expect("key"),
            subject: "mailto:ops@chat.example".to_owned(),
            extra_roots: Some(path.clone()),
            timeout: Duration::from_secs(5),
            allow_private_addresses: false,
        };
        let error = Sender::new(settings.clone()).expect_err("refused");
        assert!(error.to_string().contains("no PEM certificate"), "{error}");
        std::fs::remove_file(&path).expect("remove");
        let missing = Sender::new(settings).expect_err("refused");
        assert!(matches!(missing, SenderError::Roots { .. }), "{missing}");
    }
}
