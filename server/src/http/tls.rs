//! HTTPS and `wss://` without a proxy in front: the TLS handshake before
//! hyper sees a connection, and certificates that can be renewed while the
//! server runs (SIGHUP re-reads the files).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// How long a client may take over its handshake. The bound only stops a
/// silent client from holding a socket open for ever; while it lasts, the
/// handshake holds a place against `--max-http-connections`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate and key files and the configuration last read from
/// them, which every new connection's handshake uses.
#[derive(Debug)]
pub(crate) struct Certificates {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

impl Certificates {
    /// Reads both files; the error names the file that is wrong and why.
    pub(crate) fn load(cert: &Path, key: &Path) -> Result<Arc<Self>, String> {
        Ok(Arc::new(Self {
            current: RwLock::new(Arc::new(server_config(cert, key)?)),
            cert: cert.to_owned(),
            key: key.to_owned(),
        }))
    }

    /// Re-reads both files for the connections to come; on an error the
    /// previous certificate stays in use, so a botched renewal does not
    /// take the chat down.
    pub(crate) fn reload(&self) -> Result<(), String> {
        let fresh = Arc::new(server_config(&self.cert, &self.key)?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        Ok(())
    }

    fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| format!("cannot read the certificate {}: {error}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "the certificate file {} holds no PEM certificate",
            cert.display()
        ));
    }
    let private_key = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| format!("cannot read the private key {}: {error}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS: {error}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|error| {
            format!(
                "the certificate {} and the key {} do not go together: {error}",
                cert.display(),
                key.display()
            )
        })?;
    // HTTP/1.1 only: the WebSocket upgrade is an HTTP/1.1 handshake, and a
    // browser offered h2 would try to open /ws over it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Runs the TLS handshake on a freshly accepted connection, with the
/// certificate current when it began; `None` if it fails or takes too long
/// (logged quietly: scanners fail handshakes all day). Each connection runs
/// its own in its own task, so a slow one never holds up the accept loop.
pub(crate) async fn handshake(
    certificates: &Certificates,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Option<TlsStream<TcpStream>> {
    let acceptor = certificates.acceptor();
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            tracing::debug!(%peer, "TLS handshake failed: {error}");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// Re-reads the certificates on every SIGHUP (what `systemctl reload`
/// sends) until `stop` is cancelled: renewals need no restart, and open
/// connections keep the certificate they began with.
pub(crate) async fn reload_on_hangup(certificates: Arc<Certificates>, stop: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => hangup,
            Err(error) => {
                tracing::error!("cannot listen for SIGHUP, certificates will not reload: {error}");
                return;
            }
        };
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                received = hangup.recv() => {
                    if received.is_none() {
                        break;
                    }
                }
            }
            match certificates.reload() {
                Ok(()) => tracing::info!(
                    "reloaded the TLS certificate {}",
                    certificates.cert.display()
                ),
                Err(error) => {
                    tracing::error!("{error}; keeping the certificate already loaded")
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (certificates, stop);
    }
}
