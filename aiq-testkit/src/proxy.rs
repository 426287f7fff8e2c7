//! A TCP relay for fault injection in front of a real server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long [`TcpProxy::wait_for_upstream_beyond`] waits before it fails the test: a bound for a
/// loaded machine, not a performance target.
const PATIENCE: Duration = Duration::from_secs(60);

/// Relays TCP connections from a local port to `target`, with a switch that holds the server's
/// replies until the test lets them go, one that cuts every connection and refuses new ones, and
/// a black hole: connections stay open and new ones are accepted, but nothing is relayed either
/// way until [`restore`](Self::restore) (a network partition, or a server that stopped
/// mid-query; held bytes flow on restore).
///
/// Holding a reply, rather than delaying it, keeps a request in flight for exactly as long as
/// the test needs, however fast or slow the machine.
///
/// ```no_run
/// # async fn test() {
/// let db = aiq_testkit::TestDb::create().await;
/// let proxy = aiq_testkit::TcpProxy::start(db.server_addr()).await;
/// proxy.hold(); // the server's replies wait here...
/// proxy.release(); // ...until now
/// proxy.cut(); // the server is now "down"
/// proxy.restore();
/// proxy.black_hole(); // the server is now silent: connections open, no bytes
/// # }
/// ```
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    target: SocketAddr,
    held: watch::Sender<bool>,
    cut: watch::Sender<bool>,
    silent: watch::Sender<bool>,
    upstream: watch::Receiver<u64>,
}

impl TcpProxy {
    /// Starts relaying on a free port of 127.0.0.1.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (held, held_rx) = watch::channel(false);
        let (cut, cut_rx) = watch::channel(false);
        let (silent, silent_rx) = watch::channel(false);
        let (upstream_tx, upstream) = watch::channel(0u64);
        let upstream_tx = Arc::new(upstream_tx);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *cut_rx.borrow() {
                    continue; // dropping the socket refuses the connection
                }
                let switches = Switches {
                    held: held_rx.clone(),
                    cut: cut_rx.clone(),
                    silent: silent_rx.clone(),
                };
                let upstream_tx = Arc::clone(&upstream_tx);
                tokio::spawn(relay(client, target, switches, upstream_tx));
            }
        });
        Self {
            addr,
            target,
            held,
            cut,
            silent,
            upstream,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Holds every chunk the server sends back from now on, until [`release`](Self::release).
    pub fn hold(&self) {
        let _ = self.held.send(true);
    }

    /// Lets the held chunks through, and every later one at once.
    pub fn release(&self) {
        let _ = self.held.send(false);
    }

    /// How many chunks clients have sent to the server so far.
    pub fn upstream_chunks(&self) -> u64 {
        *self.upstream.borrow()
    }

    /// Waits until clients have sent more than `seen` chunks: a request has reached the server.
    ///
    /// # Panics
    /// When no request has reached the server after a minute.
    pub async fn wait_for_upstream_beyond(&self, seen: u64) {
        let mut upstream = self.upstream.clone();
        tokio::time::timeout(PATIENCE, upstream.wait_for(|chunks| *chunks > seen))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "nothing reached {} through the proxy within {PATIENCE:?}",
                    self.target
                )
            })
            .expect("the proxy is running");
    }

    /// Closes every relayed connection and refuses new ones.
    pub fn cut(&self) {
        let _ = self.cut.send(true);
    }

    /// Keeps every connection open and accepts new ones, but relays nothing either way until
    /// [`restore`](Self::restore).
    pub fn black_hole(&self) {
        let _ = self.silent.send(true);
    }

    /// Accepts connections again after [`cut`](Self::cut), and relays again after
    /// [`black_hole`](Self::black_hole).
    pub fn restore(&self) {
        let _ = self.cut.send(false);
        let _ = self.silent.send(false);
    }
}

/// The switches a relay obeys.
struct Switches {
    held: watch::Receiver<bool>,
    cut: watch::Receiver<bool>,
    silent: watch::Receiver<bool>,
}

/// Waits until `switch` is off.
async fn until_off(switch: &watch::Receiver<bool>) {
    let mut switch = switch.clone();
    let _ = switch.wait_for(|on| !*on).await;
}

async fn relay(
    client: TcpStream,
    target: SocketAddr,
    switches: Switches,
    upstream_chunks: Arc<watch::Sender<u64>>,
) {
    let Switches {
        held,
        mut cut,
        silent,
    } = switches;
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = client_read.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            until_off(&silent).await;
            server_write.write_all(&buf[..n]).await?;
            upstream_chunks.send_modify(|chunks| *chunks += 1);
        }
    };
    let downstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = server_read.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            // A cut still ends a held relay: the select below drops this future.
            until_off(&held).await;
            until_off(&silent).await;
            client_write.write_all(&buf[..n]).await?;
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
}
