//! A loopback TCP proxy that can make its connections go silent.
//!
//! A phone that drives into a tunnel keeps its sockets open but nothing
//! gets through in either direction, and no close ever arrives. Neither
//! stopping the server (the page gets a close) nor the page's own
//! `__cutSockets` (the page closes the socket itself) looks like that, so
//! the heartbeat watchdog test puts this proxy between the page and the
//! server and [`Proxy::freeze`]s it. [`Proxy::cut`] goes further, for a
//! network that stays lost for a while: new connections get nowhere
//! either, until [`Proxy::restore`].

use std::net::SocketAddr;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A proxy on a free loopback port forwarding every connection to one
/// target. Dropping it closes every connection it holds.
pub struct Proxy {
    addr: SocketAddr,
    /// How many times [`Proxy::freeze`] was called. A connection remembers
    /// the count it was accepted under and goes silent once it grows.
    freezes: watch::Sender<u64>,
    /// While true (a [`Proxy::cut`]), new connections are accepted but
    /// pass nothing, like attempts into a network without a route.
    down: watch::Sender<bool>,
    /// The accept loop. It owns every connection's task, so aborting it
    /// ends them all.
    task: JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding connections on a new loopback port to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("the proxy binds a loopback port");
        let addr = listener.local_addr().expect("the proxy has an address");
        let (freezes, watching) = watch::channel(0);
        let (down, watching_down) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, target, watching, watching_down));
        Self {
            addr,
            freezes,
            down,
            task,
        }
    }

    /// The address pages connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The app's page, reached through the proxy. Its origin is the
    /// proxy's, and so is the Host its socket asks for, so the server's
    /// same-origin check lets it in.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Every connection open now stops forwarding in both directions but
    /// stays open, like a network that silently lost its route; bytes in
    /// flight are lost. Connections made afterwards forward normally.
    pub fn freeze(&self) {
        self.freezes.send_modify(|count| *count += 1);
    }

    /// The network is lost until [`Proxy::restore`]: every connection open
    /// now freezes, and new ones are accepted but pass nothing (and stay
    /// silent after the restore too), so a page cannot simply reconnect.
    pub fn cut(&self) {
        self.down.send_replace(true);
        self.freeze();
    }

    /// The network is back after a [`Proxy::cut`]: connections made from
    /// now on forward normally.
    pub fn restore(&self) {
        self.down.send_replace(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    freezes: watch::Receiver<u64>,
    down: watch::Receiver<bool>,
) {
    // Dropped with this future when the proxy is, which aborts every
    // connection's task and closes its sockets.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                if *down.borrow() {
                    // Held open and silent until the proxy goes.
                    connections.spawn(async move {
                        let _client = client;
                        std::future::pending::<()>().await;
                    });
                    continue;
                }
                let born = *freezes.borrow();
                connections.spawn(forward(client, target, freezes.clone(), born));
            }
            // Reap finished connections so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Forwards one connection until either side closes it, or, once the proxy
/// is frozen after `born`, holds both sockets open and silent until the
/// proxy goes.
async fn forward(
    mut client: TcpStream,
    target: SocketAddr,
    mut freezes: watch::Receiver<u64>,
    born: u64,
) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    tokio::select! {
        _ = copy_bidirectional(&mut client, &mut server) => return,
        _ = freezes.wait_for(|count| *count > born) => {}
    }
    // Frozen: nothing is read or written any more, but both sockets stay
    // open (they are still owned here) until the proxy is dropped.
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::Proxy;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::time::timeout;

    /// Long enough for loopback bytes to arrive many times over.
    const QUIET: Duration = Duration::from_millis(500);
    const PATIENCE: Duration = Duration::from_secs(5);

    /// One connection through the proxy: the client's end and the end the
    /// target accepted.
    async fn connect(proxy: &Proxy, target: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(proxy.addr())
            .await
            .expect("connect to the proxy");
        let (server, _) = timeout(PATIENCE, target.accept())
            .await
            .expect("the proxy connects to the target in time")
            .expect("the target accepts");
        (client, server)
    }

    /// Sends `bytes` from `from` and expects exactly them at `to`.
    async fn passes(from: &mut TcpStream, to: &mut TcpStream, bytes: &[u8]) {
        from.write_all(bytes).await.expect("write");
        let mut got = vec![0; bytes.len()];
        timeout(PATIENCE, to.read_exact(&mut got))
            .await
            .expect("the bytes arrive in time")
            .expect("read");
        assert_eq!(got, bytes);
    }

    /// Sends `bytes` from `from` and expects nothing at `to`, not even an
    /// end of stream: the connection is silent but open.
    async fn is_silent(from: &mut TcpStream, to: &mut TcpStream, bytes: &[u8]) {
        from.write_all(bytes)
            .await
            .expect("a frozen connection still accepts writes");
        let mut buffer = [0; 64];
        match timeout(QUIET, to.read(&mut buffer)).await {
            Err(_) => {}
            Ok(Ok(0)) => panic!("the frozen connection was closed"),
            Ok(Ok(n)) => panic!("{n} bytes passed a frozen connection"),
            Ok(Err(error)) => panic!("the frozen connection failed: {error}"),
        }
    }

    /// Expects `stream` to end (end of stream or reset) soon.
    async fn ends(stream: &mut TcpStream) {
        let mut buffer = [0; 64];
        match timeout(PATIENCE, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {}
            Ok(Ok(n)) => panic!("{n} unexpected bytes instead of the end"),
            Err(_) => panic!("the connection stayed open"),
        }
    }

    #[tokio::test]
    async fn a_frozen_connection_passes_nothing_and_stays_open_while_a_new_one_works() {
        let target = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let proxy = Proxy::start(target.local_addr().expect("address")).await;
        assert_eq!(proxy.url(), format!("http://{}/", proxy.addr()));

        let (mut old_client, mut old_server) = connect(&proxy, &target).await;
        passes(&mut old_client, &mut old_server, b"hello server").await;
        passes(&mut old_server, &mut old_client, b"hello client").await;

        proxy.freeze();
        is_silent(&mut old_client, &mut old_server, b"lost upstream").await;
        is_silent(&mut old_server, &mut old_client, b"lost downstream").await;

        let (mut new_client, mut new_server) = connect(&proxy, &target).await;
        passes(&mut new_client, &mut new_server, b"new upstream").await;
        passes(&mut new_server, &mut new_client, b"new downstream").await;
        // The old one is still silent, and still open, after all that.
        is_silent(&mut old_client, &mut old_server, b"still lost").await;
        is_silent(&mut old_server, &mut old_client, b"still lost too").await;

        // Closing one end of a working connection closes the other.
        drop(new_server);
        ends(&mut new_client).await;

        drop(proxy);
        ends(&mut old_client).await;
        ends(&mut old_server).await;
    }

    #[tokio::test]
    async fn a_cut_freezes_open_connections_and_new_ones_get_nowhere_until_restored() {
        let target = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let proxy = Proxy::start(target.local_addr().expect("address")).await;
        let (mut old_client, mut old_server) = connect(&proxy, &target).await;
        passes(&mut old_client, &mut old_server, b"hello").await;

        proxy.cut();
        is_silent(&mut old_client, &mut old_server, b"lost").await;
        let mut attempt = TcpStream::connect(proxy.addr())
            .await
            .expect("the proxy still accepts");
        attempt.write_all(b"anyone?").await.expect("write");
        assert!(
            timeout(QUIET, target.accept()).await.is_err(),
            "a connection made during the cut reached the target"
        );
        let mut buffer = [0; 64];
        assert!(
            timeout(QUIET, attempt.read(&mut buffer)).await.is_err(),
            "a connection made during the cut was answered or closed"
        );

        proxy.restore();
        let (mut new_client, mut new_server) = connect(&proxy, &target).await;
        passes(&mut new_client, &mut new_server, b"back").await;
        is_silent(&mut old_client, &mut old_server, b"still lost").await;
    }
}
