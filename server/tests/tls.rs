//! HTTPS and `wss://` with certificates made here by rcgen: chat over TLS,
//! HSTS only over HTTPS, a certificate renewed by SIGHUP without dropping
//! anyone, and clear refusals of certificate files that are wrong.

mod common;

use chat_server::Config;
use chat_shared::{ClientFrame, ServerFrame};
use common::process::{self, ServerProcess};
use common::{TestServer, PATIENCE};
use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A certificate for `localhost` from a CA of its own, so that two of them
/// are told apart by who signed them as well as by their bytes.
struct Issued {
    ca: CertificateDer<'static>,
    leaf: CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
}

fn issue(name: &str) -> Issued {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("test CA {name}"));
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, format!("chat {name}"));
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("leaf certificate");
    Issued {
        ca: ca.der().clone(),
        leaf: leaf.der().clone(),
        cert_pem: leaf.pem(),
        key_pem: leaf_key.serialize_pem(),
    }
}

/// A folder of this test's own for certificate files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chat-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// Writes `issued` as `cert.pem` and `key.pem` in `dir`; returns both paths.
fn install(dir: &Path, issued: &Issued) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &issued.cert_pem).expect("write certificate");
    std::fs::write(&key, &issued.key_pem).expect("write key");
    (cert, key)
}

/// A TLS client that trusts the given CAs.
fn connector(cas: &[&Issued]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for issued in cas {
        roots.add(issued.ca.clone()).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

type TlsSocket = tokio_rustls::client::TlsStream<TcpStream>;

/// The TLS handshake, and the certificate the server showed.
async fn handshake(connector: &TlsConnector, addr: &str) -> (TlsSocket, Vec<u8>) {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("server name");
    let stream = connector.connect(name, tcp).await.expect("TLS handshake");
    let seen = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .expect("the server shows a certificate")
        .to_vec();
    (stream, seen)
}

/// A chat client over `wss://`.
struct SecureClient {
    socket: WebSocketStream<TlsSocket>,
}

impl SecureClient {
    async fn connect(stream: TlsSocket, addr: &str) -> Self {
        let port = addr.rsplit(':').next().expect("port");
        let url = format!("wss://localhost:{port}/ws");
        let (socket, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .expect("websocket handshake over TLS");
        Self { socket }
    }

    async fn send(&mut self, frame: ClientFrame) {
        self.socket
            .send(Message::text(frame.encode()))
            .await
            .expect("send frame");
    }

    /// The next frame but heartbeats.
    async fn recv(&mut self) -> ServerFrame {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a frame arrives in time")
                .expect("socket still open")
                .expect("frame is valid");
            if let Message::Text(text) = message {
                match ServerFrame::decode(&text).expect("frame decodes") {
                    ServerFrame::Heartbeat => continue,
                    frame => return frame,
                }
            }
        }
    }

    async fn join(&mut self, name: &str) {
        self.send(ClientFrame::join(name)).await;
        match self.recv().await {
            ServerFrame::Welcome(chat_shared::Welcome { .. }) => {}
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// Reads to the server's close frame; its code.
    async fn close_code(&mut self) -> Option<u16> {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("close arrives in time")
                .expect("a close frame before the end")
                .expect("socket still readable");
            if let Message::Close(frame) = message {
                return frame.map(|frame| frame.code.into());
            }
        }
    }

    /// Skips presence news until a chat message comes; returns its text.
    async fn next_text(&mut self) -> String {
        loop {
            if let ServerFrame::Message(message) = self.recv().await {
                return message.text.to_string();
            }
        }
    }
}

/// One HTTP/1.1 request, the whole answer as text.
async fn get<S>(mut stream: S, path: &str) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    let mut answer = Vec::new();
    // A TLS peer may end without close_notify after `Connection: close`;
    // what was read by then is the whole answer.
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("the answer arrives in time");
    String::from_utf8_lossy(&answer).to_ascii_lowercase()
}

fn tls_config(cert: PathBuf, key: PathBuf) -> Config {
    Config {
        tls_cert: Some(cert),
        tls_key: Some(key),
        ..Config::default()
    }
}

#[tokio::test]
async fn two_clients_chat_over_wss() {
    let issued = issue("a");
    let (cert, key) = install(&scratch("chat"), &issued);
    let server = TestServer::start_with(tls_config(cert, key)).await;
    let addr = server.addr.to_string();
    let connector = connector(&[&issued]);

    let (stream, seen) = handshake(&connector, &addr).await;
    assert_eq!(seen, issued.leaf.to_vec());
    let mut alice = SecureClient::connect(stream, &addr).await;
    alice.join("alice").await;
    let (stream, _) = handshake(&connector, &addr).await;
    let mut bob = SecureClient::connect(stream, &addr).await;
    bob.join("bob").await;

    alice.send(ClientFrame::message("hello over TLS")).await;
    assert_eq!(bob.next_text().await, "hello over TLS");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn https_answers_carry_hsts_and_plain_http_ones_do_not() {
    let issued = issue("hsts");
    let (cert, key) = install(&scratch("hsts"), &issued);
    let server = TestServer::start_with(tls_config(cert, key)).await;
    let (stream, _) = handshake(&connector(&[&issued]), &server.addr.to_string()).await;
    let answer = get(stream, "/healthz").await;
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(
        answer.contains("strict-transport-security: max-age=31536000"),
        "{answer}"
    );
    server.stop().await.expect("clean stop");

    let plain = TestServer::start().await;
    let stream = TcpStream::connect(plain.addr).await.expect("connect");
    let answer = get(stream, "/healthz").await;
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(!answer.contains("strict-transport-security"), "{answer}");
    plain.stop().await.expect("clean stop");
}

/// Starts the binary with TLS, and checks that it says so in its address.
fn start_binary(cert: &Path, key: &Path) -> ServerProcess {
    let mut command = process::command();
    command
        .args(["--db", ":memory:"])
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .env("CHAT_LOG", "info")
        .stderr(Stdio::inherit());
    let server = ServerProcess::start(command);
    let said = server.start_lines.last().expect("the address line");
    assert!(said.contains("https://"), "{said}");
    server
}

#[tokio::test]
async fn sighup_renews_the_certificate_for_new_connections_and_keeps_open_ones() {
    let (first, second) = (issue("first"), issue("second"));
    let dir = scratch("renewal");
    let (cert, key) = install(&dir, &first);
    let mut server = start_binary(&cert, &key);
    let addr = server.addr.to_string();
    let connector = connector(&[&first, &second]);

    let (stream, seen) = handshake(&connector, &addr).await;
    assert_eq!(seen, first.leaf.to_vec());
    let mut old = SecureClient::connect(stream, &addr).await;
    old.join("old").await;

    install(&dir, &second);
    server.signal("HUP");
    server.wait_for("reloaded the TLS certificate");

    let (stream, seen) = handshake(&connector, &addr).await;
    assert_eq!(
        seen,
        second.leaf.to_vec(),
        "a new connection gets the new certificate"
    );
    let mut new = SecureClient::connect(stream, &addr).await;
    new.join("new").await;
    old.send(ClientFrame::message("still connected")).await;
    assert_eq!(new.next_text().await, "still connected");
    assert_eq!(old.next_text().await, "still connected");

    // A renewal gone wrong leaves the certificate in use as it was.
    std::fs::write(&cert, "not a certificate").expect("spoil the certificate");
    server.signal("HUP");
    server.wait_for("keeping the certificate already loaded");
    let (_, seen) = handshake(&connector, &addr).await;
    assert_eq!(seen, second.leaf.to_vec());

    // Graceful shutdown still reaches clients behind TLS.
    server.signal("TERM");
    assert_eq!(old.close_code().await, Some(1001));
    assert!(server.wait().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the binary to its exit; returns whether it succeeded and all it said.
fn run_binary(args: &[&std::ffi::OsStr]) -> (bool, String) {
    process::run_to_exit(
        process::command()
            .args(["--db", ":memory:"])
            .args(args)
            .env_remove("CHAT_TLS_CERT")
            .env_remove("CHAT_TLS_KEY"),
    )
}

#[test]
fn wrong_or_missing_certificate_files_stop_the_start_with_a_clear_message() {
    let (one, other) = (issue("one"), issue("other"));
    let dir = scratch("refusals");
    let (cert, _) = install(&dir, &one);
    let other_key = dir.join("other-key.pem");
    std::fs::write(&other_key, &other.key_pem).expect("write key");
    let missing = dir.join("missing.pem");
    let flag = |text: &'static str| std::ffi::OsStr::new(text);

    let (ok, said) = run_binary(&[
        flag("--tls-cert"),
        cert.as_os_str(),
        flag("--tls-key"),
        other_key.as_os_str(),
    ]);
    assert!(!ok);
    assert!(said.contains("do not go together"), "{said}");

    let (ok, said) = run_binary(&[
        flag("--tls-cert"),
        cert.as_os_str(),
        flag("--tls-key"),
        missing.as_os_str(),
    ]);
    assert!(!ok);
    assert!(said.contains("cannot read the private key"), "{said}");

    let (ok, said) = run_binary(&[flag("--tls-cert"), cert.as_os_str()]);
    assert!(!ok);
    assert!(said.contains("--tls-key"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The status of a `/ws` handshake over TLS with the given extra headers.
async fn upgrade_status(
    connector: &TlsConnector,
    addr: &str,
    headers: &[(&'static str, &str)],
) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (stream, _) = handshake(connector, addr).await;
    let port = addr.rsplit(':').next().expect("port");
    let mut request = format!("wss://localhost:{port}/ws")
        .into_client_request()
        .expect("request");
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, value.parse().expect("header value"));
    }
    match tokio_tungstenite::client_async(request, stream).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(error) => panic!("handshake failed unexpectedly: {error}"),
    }
}

#[tokio::test]
async fn the_origin_check_and_trusted_proxies_work_over_tls() {
    let issued = issue("origin");
    let (cert, key) = install(&scratch("origin"), &issued);
    let mut config = tls_config(cert, key);
    config.limits.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    config.limits.public_host = vec!["chat.example.com".to_owned()];
    let server = TestServer::start_with(config).await;
    let addr = server.addr.to_string();
    let connector = connector(&[&issued]);
    let own = format!("https://localhost:{}", server.addr.port());

    assert_eq!(
        upgrade_status(&connector, &addr, &[("origin", &own)]).await,
        101
    );
    let foreign = [("origin", "https://evil.example")];
    assert_eq!(upgrade_status(&connector, &addr, &foreign).await, 403);
    // Believed only because the TCP peer behind TLS is the trusted proxy.
    let proxied = [
        ("origin", "https://chat.example.com"),
        ("x-forwarded-host", "chat.example.com"),
    ];
    assert_eq!(upgrade_status(&connector, &addr, &proxied).await, 101);
    server.stop().await.expect("clean stop");
}
