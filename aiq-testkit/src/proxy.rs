//! A TCP relay for fault injection in front of a real server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Relays TCP connections from a local port to `target`, with switchable latency, a switch
/// that cuts every connection and refuses new ones, and a black hole: connections stay open
/// and new ones are accepted, but nothing is relayed either way until [`restore`](Self::restore)
/// (a network partition, or a server that stopped mid-query; held bytes flow on restore).
///
/// ```no_run
/// # async fn test() {
/// let proxy = aiq_testkit::TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
/// proxy.set_latency(std::time::Duration::from_millis(500)); // each server reply waits 500 ms
/// proxy.cut(); // the server is now "down"
/// proxy.restore();
/// proxy.black_hole(); // the server is now silent: connections open, no bytes
/// # }
/// ```
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    latency_ms: Arc<AtomicU64>,
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
        let latency_ms = Arc::new(AtomicU64::new(0));
        let (cut, cut_rx) = watch::channel(false);
        let (silent, silent_rx) = watch::channel(false);
        let (upstream_tx, upstream) = watch::channel(0u64);
        let upstream_tx = Arc::new(upstream_tx);
        let latency = Arc::clone(&latency_ms);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *cut_rx.borrow() {
                    continue; // dropping the socket refuses the connection
                }
                let latency = Arc::clone(&latency);
                let switches = Switches {
                    cut: cut_rx.clone(),
                    silent: silent_rx.clone(),
                };
                let upstream_tx = Arc::clone(&upstream_tx);
                tokio::spawn(relay(client, target, latency, switches, upstream_tx));
            }
        });
        Self {
            addr,
            latency_ms,
            cut,
            silent,
            upstream,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Delays every chunk the server sends back by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.latency_ms.store(ms, Ordering::SeqCst);
    }

    /// How many chunks clients have sent to the server so far.
    pub fn upstream_chunks(&self) -> u64 {
        *self.upstream.borrow()
    }

    /// Waits until clients have sent more than `seen` chunks: a request has reached the server.
    pub async fn wait_for_upstream_beyond(&self, seen: u64) {
        let mut upstream = self.upstream.clone();
        upstream
            .wait_for(|chunks| *chunks > seen)
            .await
            .expect("the proxy is running");
    }

    /// Closes every relayed connection and refuses new ones.
    pub fn cut(&self) {
        let _ = self.cut.send(true);
    }

    /// Keeps every connection open and accepts new ones, but relays nothing until
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
    cut: watch::Receiver<bool>,
    silent: watch::Receiver<bool>,
}

/// Waits while the black hole is on.
async fn while_silent(silent: &watch::Receiver<bool>) {
    let mut silent = silent.clone();
    let _ = silent.wait_for(|silent| !*silent).await;
}

async fn relay(
    client: TcpStream,
    target: SocketAddr,
    latency_ms: Arc<AtomicU64>,
    switches: Switches,
    upstream_chunks: Arc<watch::Sender<u64>>,
) {
    let Switches { mut cut, silent } = switches;
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
            while_silent(&silent).await;
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
            let delay = latency_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            while_silent(&silent).await;
            client_write.write_all(&buf[..n]).await?;
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
}
