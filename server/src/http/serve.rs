//! The accept loop and every HTTP connection until it ends or becomes a
//! WebSocket: what `axum::serve` would do, plus what it leaves out.
//!
//! `axum::serve` installs no timer, so a client could open a connection,
//! send half a request (or nothing) and hold the socket for ever; and only
//! `/ws` upgrades counted against the connection limits. Here:
//!
//! - every accepted connection takes a place against
//!   `--max-http-connections` (in total, and per peer address) before
//!   anything is read from it, TLS handshake included; over the limit it is
//!   closed at once. The place is given back when the connection closes or
//!   becomes a WebSocket, which then counts against `--max-connections`;
//! - a request's head must arrive within `--header-timeout`, a kept-alive
//!   connection may wait `--keep-alive-timeout` for its next request, and an
//!   answer the client does not read is given up after the same time.

use crate::http::admission::{Admission, Ticket};
use crate::http::client_ip::IpNet;
use crate::http::tls::{self, Certificates};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

/// How long an HTTP connection may wait on its client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// For a request's head, from the connection's opening or from the
    /// first byte of the next request.
    pub header: Duration,
    /// For the next request on a kept-alive connection, and for a client
    /// to take any of an answer.
    pub keep_alive: Duration,
}

/// Everything the accept loop and its connections share.
pub(crate) struct Serving {
    /// The whole HTTP surface.
    pub app: Router,
    /// Open connections that are not WebSockets, against their limits.
    pub http: Arc<Admission>,
    /// Peers that carry many clients: exempt from the per-address count.
    pub trusted_proxies: Vec<IpNet>,
    pub timeouts: Timeouts,
    /// With HTTPS: the certificate every handshake uses.
    pub tls: Option<Arc<Certificates>>,
    /// Cancelled to stop accepting and wind the connections down.
    pub stop: CancellationToken,
}

/// Accepts on `listener` until `serving.stop` is cancelled, then waits (at
/// most `wait`) for the HTTP connections to finish what they are doing, and
/// drops those that did not: each holds the server's state, which must go
/// for the journal to stop.
pub(crate) async fn serve(listener: TcpListener, serving: Serving, wait: Duration) {
    let serving = Arc::new(serving);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = serving.stop.cancelled() => break,
            // Reaped as they end, so the set holds only open connections.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            // The client gave up before it was accepted: nothing to do.
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                continue
            }
            Err(error) => {
                // Out of file descriptors, say: spinning would not help.
                tracing::error!("cannot accept a connection: {error}");
                tokio::select! {
                    () = serving.stop.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        let ticket = match serving.http.admit_peer(peer.ip(), &serving.trusted_proxies) {
            Ok(ticket) => ticket,
            Err(refusal) => {
                // Logged quietly: a flood would otherwise flood the log.
                tracing::debug!(%peer, ?refusal, "connection closed at once");
                continue;
            }
        };
        // A chat writes small frames as they happen: Nagle's algorithm
        // would hold one back until the last is acknowledged, and the
        // peer delays acknowledgements by up to 40 ms.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%peer, "cannot set TCP_NODELAY: {error}");
        }
        let serving = serving.clone();
        connections.spawn(async move { serving.connection(tcp, peer, ticket).await });
    }
    drop(listener);
    let finished = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(wait, finished).await.is_err() {
        tracing::warn!(
            "{} HTTP connections did not finish within {wait:?}",
            connections.len()
        );
        connections.shutdown().await;
    }
}

impl Serving {
    /// One accepted connection, holding its place until it closes or
    /// becomes a WebSocket.
    async fn connection(&self, tcp: TcpStream, peer: SocketAddr, ticket: Ticket) {
        let _place = ticket;
        match &self.tls {
            None => self.http(tcp, peer).await,
            Some(certificates) => {
                let handshake = tokio::select! {
                    () = self.stop.cancelled() => return,
                    handshake = tls::handshake(certificates, tcp, peer) => handshake,
                };
                if let Some(stream) = handshake {
                    self.http(stream, peer).await;
                }
            }
        }
    }

    /// Serves HTTP/1.1 on `io` until the client leaves, a timeout passes,
    /// the server stops, or the connection is upgraded.
    async fn http<I>(&self, io: I, peer: SocketAddr)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            io,
            activity: activity.clone(),
        });
        let app = self.app.clone();
        let requests = activity.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // What `into_make_service_with_connect_info` would add: the peer
            // address feeds the per-address limits.
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_flight = InFlight::begin(requests.clone());
            let answer = app.clone().call(request.map(Body::new));
            async move {
                let response = answer.await?;
                Ok::<_, Infallible>(response.map(|body| {
                    Body::new(Answer {
                        body,
                        _in_flight: in_flight,
                    })
                }))
            }
        });
        let mut connection = pin!(http1::Builder::new()
            .serve_connection(io, service)
            .with_upgrades());
        let mut deadline = activity.deadline(self.timeouts);
        let mut stopping = false;
        loop {
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        tracing::debug!(%peer, "HTTP connection ended: {error}");
                    }
                    break;
                }
                () = tokio::time::sleep_until(deadline) => {
                    deadline = activity.deadline(self.timeouts);
                    if deadline <= Instant::now() {
                        tracing::debug!(%peer, "closing an idle or stalled HTTP connection");
                        break;
                    }
                }
                () = activity.head_started.notified() => {
                    deadline = activity.deadline(self.timeouts);
                }
                () = self.stop.cancelled(), if !stopping => {
                    stopping = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
        // Closed, or a WebSocket now: the socket's reads and writes need no
        // more bookkeeping.
        activity.done.store(true, Ordering::Relaxed);
    }
}

/// "Never", for [`Activity::head_since`].
const NONE: u64 = u64::MAX;

/// What one HTTP connection is doing, as the deadline needs it. Times are
/// milliseconds since the connection opened.
#[derive(Debug)]
struct Activity {
    opened: Instant,
    /// Requests whose answer is not yet fully handed to the socket.
    in_flight: AtomicU32,
    /// Requests answered in full.
    answered: AtomicU64,
    /// When the last answer was handed over in full.
    idle_since: AtomicU64,
    /// When the first byte of the next request's head arrived, or [`NONE`].
    head_since: AtomicU64,
    /// When the last byte was read or written.
    last_io: AtomicU64,
    /// Woken when a head starts: its deadline may be sooner than the idle
    /// one being waited for.
    head_started: Notify,
    /// The connection is closed or upgraded.
    done: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicU32::new(0),
            answered: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(NONE),
            last_io: AtomicU64::new(0),
            head_started: Notify::new(),
            done: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn at(&self, millis: u64) -> Instant {
        self.opened + Duration::from_millis(millis)
    }

    /// When the connection is to be closed unless something happens first.
    fn deadline(&self, timeouts: Timeouts) -> Instant {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            // An answer on its way: only a client that takes none of it
            // for a long while is given up.
            return self.at(self.last_io.load(Ordering::SeqCst)) + timeouts.keep_alive;
        }
        if self.answered.load(Ordering::SeqCst) == 0 {
            // The first request's head, from the connection's opening.
            return self.opened + timeouts.header;
        }
        match self.head_since.load(Ordering::SeqCst) {
            NONE => self.at(self.idle_since.load(Ordering::SeqCst)) + timeouts.keep_alive,
            since => self.at(since) + timeouts.header,
        }
    }

    fn read(&self) {
        let now = self.now();
        self.last_io.store(now, Ordering::SeqCst);
        if self.in_flight.load(Ordering::SeqCst) == 0
            && self
                .head_since
                .compare_exchange(NONE, now, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.head_started.notify_one();
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now(), Ordering::SeqCst);
    }
}

/// A request from the moment its head is read until its answer has been
/// handed to the socket (the answer's body is dropped).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        activity.head_since.store(NONE, Ordering::SeqCst);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.idle_since.store(activity.now(), Ordering::SeqCst);
        activity.head_since.store(NONE, Ordering::SeqCst);
        activity.answered.fetch_add(1, Ordering::SeqCst);
        activity.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer's body, which ends its request's [`InFlight`] when hyper is
/// done with it.
struct Answer {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Answer {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The connection's socket, noting when bytes move.
struct Watched<I> {
    io: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(())))
            && buf.filled().len() > before
            && !self.activity.done.load(Ordering::Relaxed)
        {
            self.activity.read();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0)
            && !self.activity.done.load(Ordering::Relaxed)
        {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0)
            && !self.activity.done.load(Ordering::Relaxed)
        {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
