//! A time budget for every database call, and failing fast while the database is silent.
//!
//! A database that stops answering with its TCP connections still open (a network partition, a
//! stuck primary) is the failure a driver handles worst: a query waits for ever, its connection
//! goes back to the pool and the next request waits on it too. Three parts keep every request
//! bounded:
//! - **The watched socket.** Pooled connections are opened here ([`WatchedConnect`]) on a socket
//!   that fails with `TimedOut` when the server has sent nothing for the budget since the client
//!   last wrote. The connection then closes: its pending queries fail at once (503) and the
//!   pool's recycling, which checks for a closed connection, drops it. The server is asked for
//!   `statement_timeout` = budget − 1 s, so a slow query ends with the server's own error before
//!   the watchdog could mistake it for silence. TCP keepalive finds peers that vanished while a
//!   connection sat idle. Unix-socket hosts, and URLs with `hostaddr` or `target_session_attrs`
//!   (which only the driver's own connect honours), use the driver's connect, without the
//!   watchdog. A read disarms the deadline: a server that stalls after part of an answer is
//!   left to TCP keepalive (a known limit; closing it needs the protocol's ReadyForQuery).
//! - **The breaker.** The first watchdog timeout marks the database silent ([`Silence`]): from
//!   then on a request asking for a connection gets 503 at once instead of waiting its turn to
//!   time out.
//! - **The probe.** While silent, a background task opens a fresh connection and runs `SELECT 1`
//!   every 100 ms (each try bounded by half a second); the first success clears the breaker and
//!   drops the idle pooled connections, which may be dead. Service comes back by itself within
//!   about half a second of the database answering again.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use deadpool_postgres::{Connect, Pool};
use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};
use tokio_postgres::config::{Host, TargetSessionAttrs};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How long the probe waits for an answer from the database.
const PROBE_BUDGET: Duration = Duration::from_millis(500);
/// How long the probe rests between tries.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// TCP keepalive: first probe after this much idle time, then every `KEEPALIVE_INTERVAL`.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Whether the database is known to be silent, and the probe that ends it.
#[derive(Debug, Default)]
pub(super) struct Silence {
    silent: AtomicBool,
    probing: AtomicBool,
    /// The pool whose idle connections are dropped on recovery (set once it is built).
    pool: OnceLock<Pool>,
    /// Opens the probe's connections (set once it is built).
    connect: OnceLock<Arc<WatchedConnect>>,
    /// The configuration the probe connects with.
    pg_config: OnceLock<tokio_postgres::Config>,
}

impl Silence {
    /// Hands over what the probe needs; called once, after the pool is built.
    pub(super) fn attach(
        &self,
        pool: Pool,
        connect: Arc<WatchedConnect>,
        pg_config: tokio_postgres::Config,
    ) {
        let _ = self.pool.set(pool);
        let _ = self.connect.set(connect);
        let _ = self.pg_config.set(pg_config);
    }

    /// True while the database is known not to answer: callers fail fast.
    pub(super) fn is_silent(&self) -> bool {
        self.silent.load(Ordering::Acquire)
    }

    /// A watched socket timed out: the database is silent until a probe gets an answer.
    fn trip(self: &Arc<Self>) {
        if !self.silent.swap(true, Ordering::AcqRel) {
            tracing::error!(
                "the database sent nothing within the time budget: failing fast until it answers"
            );
            metrics::counter!(crate::telemetry::APP_ERRORS, "error.type" => "database_silent")
                .increment(1);
        }
        if !self.probing.swap(true, Ordering::AcqRel) {
            let silence = Arc::clone(self);
            tokio::spawn(async move { silence.probe_until_answered().await });
        }
    }

    async fn probe_until_answered(self: Arc<Self>) {
        // However this task ends (a runtime shutting down cancels it), the next trip may start
        // another probe.
        let _probing = ResetOnDrop(&self.probing);
        let (Some(connect), Some(pg_config)) = (self.connect.get(), self.pg_config.get()) else {
            return;
        };
        let probe = connect.with_budget(PROBE_BUDGET);
        loop {
            while !answers(&probe, pg_config).await {
                tokio::time::sleep(PROBE_INTERVAL).await;
            }
            // Connections opened before the silence may be dead without knowing it yet.
            if let Some(pool) = self.pool.get() {
                pool.retain(|_, _| false);
            }
            self.silent.store(false, Ordering::Release);
            tracing::info!("the database answers again");
            // A trip between the answer and the store above found this probe still running
            // and started none: if the database went silent again meanwhile, probe on.
            if !self.silent.load(Ordering::Acquire) {
                return;
            }
        }
    }
}

/// Whether a fresh connection gets an answer to `SELECT 1` within the probe's budget.
async fn answers(probe: &WatchedConnect, pg_config: &tokio_postgres::Config) -> bool {
    let answered = tokio::time::timeout(PROBE_BUDGET * 2, async {
        let (client, task) = probe.connect(pg_config).await.ok()?;
        let answered = client.simple_query("SELECT 1").await.is_ok();
        drop(client);
        let _ = task.await;
        answered.then_some(())
    })
    .await;
    matches!(answered, Ok(Some(())))
}

/// Clears a flag when dropped.
struct ResetOnDrop<'a>(&'a AtomicBool);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Opens pooled connections on watched sockets (see the module's doc).
#[derive(Clone)]
pub(super) struct WatchedConnect {
    tls: MakeRustlsConnect,
    /// How long the server may stay silent after the client wrote.
    budget: Duration,
    connect_timeout: Duration,
    silence: Arc<Silence>,
}

impl std::fmt::Debug for WatchedConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchedConnect")
            .field("budget", &self.budget)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl WatchedConnect {
    pub(super) fn new(
        tls: MakeRustlsConnect,
        budget: Duration,
        connect_timeout: Duration,
        silence: Arc<Silence>,
    ) -> Self {
        Self {
            tls,
            budget,
            connect_timeout,
            silence,
        }
    }

    fn with_budget(&self, budget: Duration) -> Self {
        Self {
            budget,
            connect_timeout: self.connect_timeout.min(budget),
            ..self.clone()
        }
    }

    async fn open(
        &self,
        pg_config: &tokio_postgres::Config,
    ) -> Result<(tokio_postgres::Client, JoinHandle<()>), tokio_postgres::Error> {
        let hosts = pg_config.get_hosts();
        let tcp: Vec<(&str, u16)> = super::host_ports(pg_config)
            .filter_map(|(host, port)| match host {
                Host::Tcp(name) => Some((name.as_str(), port)),
                #[cfg(unix)]
                Host::Unix(_) => None,
            })
            .collect();
        let needs_driver = pg_config.get_target_session_attrs() != TargetSessionAttrs::Any
            || !pg_config.get_hostaddrs().is_empty();
        if needs_driver || tcp.len() != hosts.len() || tcp.is_empty() {
            // Unix sockets, no host, `hostaddr` or `target_session_attrs` (which only the
            // driver's own connect honours): the driver's connect, without the watchdog.
            tracing::debug!("database connection opened without the silence watchdog");
            let (client, connection) = pg_config.connect(self.tls.clone()).await?;
            return Ok((client, spawn_connection(connection)));
        }
        let mut last_error = None;
        for (host, port) in tcp {
            match self.open_tcp(pg_config, host, port).await {
                Ok(opened) => return Ok(opened),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("at least one host was tried"))
    }

    async fn open_tcp(
        &self,
        pg_config: &tokio_postgres::Config,
        host: &str,
        port: u16,
    ) -> Result<(tokio_postgres::Client, JoinHandle<()>), tokio_postgres::Error> {
        let tcp = match tokio::time::timeout(self.connect_timeout, TcpStream::connect((host, port)))
            .await
        {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(error)) => return Err(as_driver_error(error).await),
            Err(_) => return Err(as_driver_error(io::ErrorKind::TimedOut.into()).await),
        };
        let _ = tcp.set_nodelay(true);
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(KEEPALIVE_IDLE)
            .with_interval(KEEPALIVE_INTERVAL);
        if let Err(error) = socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive) {
            tracing::debug!(%error, "TCP keepalive not set");
        }
        let socket = Watched::new(tcp, self.budget, Arc::clone(&self.silence));
        let mut make_tls = self.tls.clone();
        let tls = match MakeTlsConnect::<Watched>::make_tls_connect(&mut make_tls, host) {
            Ok(tls) => tls,
            Err(never) => match never {},
        };
        let (client, connection) = pg_config.connect_raw(socket, tls).await?;
        Ok((client, spawn_connection(connection)))
    }
}

impl Connect for WatchedConnect {
    fn connect(
        &self,
        pg_config: &tokio_postgres::Config,
    ) -> BoxFuture<'_, Result<(tokio_postgres::Client, JoinHandle<()>), tokio_postgres::Error>>
    {
        let pg_config = pg_config.clone();
        Box::pin(async move { self.open(&pg_config).await })
    }
}

fn spawn_connection<S, T>(connection: tokio_postgres::Connection<S, T>) -> JoinHandle<()>
where
    tokio_postgres::Connection<S, T>:
        Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "database connection closed with an error");
        }
    })
}

/// The driver's error for a connection that could not even be opened: the driver has no public
/// constructor, so the failure is replayed through a handshake on a socket that fails with it.
/// The cause stays the error's source (start-up diagnostics read it).
async fn as_driver_error(error: io::Error) -> tokio_postgres::Error {
    let failed = Failed(Some(error));
    // A user is set so the driver does not look up the OS user first (which can fail in a
    // container) and report that instead of the real cause.
    match tokio_postgres::Config::new()
        .user("aiq")
        .connect_raw(failed, tokio_postgres::NoTls)
        .await
    {
        Err(error) => error,
        Ok(_) => unreachable!("a handshake on a failed socket cannot succeed"),
    }
}

/// A socket that fails every call with one error.
struct Failed(Option<io::Error>);

impl Failed {
    fn error(&mut self) -> io::Error {
        self.0
            .take()
            .unwrap_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl AsyncRead for Failed {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Err(self.get_mut().error()))
    }
}

impl AsyncWrite for Failed {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(self.get_mut().error()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Err(self.get_mut().error()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A TCP socket that fails reads with `TimedOut` once the server has been silent for the budget
/// since the client last wrote (and marks the database silent).
pub(super) struct Watched {
    inner: TcpStream,
    budget: Duration,
    /// Armed when the client writes, disarmed when the server sends anything.
    deadline: Pin<Box<Sleep>>,
    armed: bool,
    silence: Arc<Silence>,
}

impl Watched {
    fn new(inner: TcpStream, budget: Duration, silence: Arc<Silence>) -> Self {
        Self {
            inner,
            budget,
            deadline: Box::pin(tokio::time::sleep(budget)),
            armed: false,
            silence,
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.armed = false;
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                if this.armed && this.deadline.as_mut().poll(cx).is_ready() {
                    this.armed = false;
                    this.silence.trip();
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the database sent nothing for {} ms after a request",
                            this.budget.as_millis()
                        ),
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, data));
        if matches!(written, Ok(n) if n > 0) {
            // Each write moves the deadline: a long upload is not silence.
            this.deadline.as_mut().reset(Instant::now() + this.budget);
            this.armed = true;
            // Register the task with the timer now: a read that was already pending when the
            // request went out would otherwise never be polled again to see the deadline.
            let _ = this.deadline.as_mut().poll(cx);
        }
        Poll::Ready(written)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
