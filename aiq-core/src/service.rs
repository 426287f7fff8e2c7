//! Building the service, and serving it on a listener.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::future::RouteFuture;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

/// The longest a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

use crate::Config;
use crate::assessment::{AlphaCache, StatisticsQueue};
use crate::auth::login_floor::LoginFloor;
use crate::auth::password::Passwords;
use crate::auth::tokens::Tokens;
use crate::config::{ConfigError, HttpConfig};
use crate::mail::Mailer;
use crate::middleware::{Layers, RateLimits, SpanHook};
use crate::oauth::OAuthVerifier;
use crate::push::PushSender;
use crate::ratelimit::Limiter;
use crate::state::{AppState, MetricsRenderer, Shared};
use crate::storage::{GuestTokenStore, MemoryStore, RevocationStore, Storage};
use crate::wiring::{Connections, StartError};

/// Entry point: `Aiq::builder(config)`.
#[derive(Debug, Clone, Copy)]
pub struct Aiq;

impl Aiq {
    /// Starts building a service from `config`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use aiq_core::{Aiq, Config};
    /// use aiq_core::storage::MemoryStore;
    /// let service = Aiq::builder(Config::default())
    ///     .storage(Arc::new(MemoryStore::new()))
    ///     .build()?;
    /// # Ok::<(), aiq_core::config::ConfigError>(())
    /// ```
    pub fn builder(config: Config) -> AiqBuilder {
        AiqBuilder {
            config,
            storage: None,
            revocations: None,
            mailer: None,
            push: None,
            limiter: None,
            metrics_renderer: None,
            guest_tokens: None,
            extra_routes: None,
            span_hook: None,
            connections: Connections::default(),
            layers: Layers::ALL,
        }
    }

    /// Builds the service `aiq-server` runs for `config`: every part from the configuration
    /// ([`AiqBuilder::connect`], then [`AiqBuilder::build`]). With `DATABASE_URL` it connects
    /// and migrates PostgreSQL (it never falls back to memory); with `RATE_LIMIT_STORAGE=redis`,
    /// `TOKEN_BLACKLIST_REDIS_URL` or `GUEST_TOKEN_REDIS_URL` it uses those Redis, after
    /// checking that each answers. To replace a part, use the builder: `Aiq::builder(config)
    /// .limiter(mine).connect().await?.build()?`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use tower::ServiceExt;
    /// let service = aiq_core::Aiq::from_config(aiq_core::Config::default()).await.unwrap();
    /// let request = http::Request::get("/v1/health").body(String::new()).unwrap();
    /// assert_eq!(service.oneshot(request).await.unwrap().status(), 200);
    /// # });
    /// ```
    pub async fn from_config(config: Config) -> Result<AiqService, StartError> {
        Ok(Self::builder(config).connect().await?.build()?)
    }
}

/// Collects the parts of a service; see [`Aiq::builder`].
#[must_use]
pub struct AiqBuilder {
    config: Config,
    storage: Option<Arc<dyn Storage>>,
    revocations: Option<Arc<dyn RevocationStore>>,
    mailer: Option<Arc<dyn Mailer>>,
    push: Option<Arc<dyn PushSender>>,
    limiter: Option<Arc<dyn Limiter>>,
    metrics_renderer: Option<MetricsRenderer>,
    guest_tokens: Option<Arc<dyn GuestTokenStore>>,
    extra_routes: Option<Router>,
    span_hook: Option<SpanHook>,
    /// The database [`connect`](Self::connect) opened, closed by [`AiqService::close`].
    connections: Connections,
    layers: Layers,
}

impl std::fmt::Debug for AiqBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiqBuilder")
            .field("storage", &self.storage)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl AiqBuilder {
    /// Opens every part not given that the configuration names and that needs a connection:
    /// checks that each configured Redis answers, connects and migrates the database of
    /// `DATABASE_URL` (seeding it when `SEED_STARTER_BANK` asks), and makes the limiter, so
    /// that [`storage_part`](Self::storage_part) and [`limiter_part`](Self::limiter_part) show
    /// what the service will use (`aiq-server` hands them to the admin dashboard).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let builder = aiq_core::Aiq::builder(aiq_core::Config::default()).connect().await.unwrap();
    /// assert_eq!(builder.storage_part().unwrap().backend(), "memory");
    /// let service = builder.build().unwrap();
    /// # });
    /// ```
    pub async fn connect(mut self) -> Result<Self, StartError> {
        #[cfg(feature = "redis")]
        crate::wiring::ping_configured_redis(&self.config).await?;
        if self.storage.is_none() {
            let (storage, connections) = crate::wiring::open_storage(&self.config).await?;
            self.storage = Some(storage);
            self.connections = connections;
        }
        if self.limiter.is_none() {
            self.limiter = crate::wiring::limiter(&self.config)?;
        }
        Ok(self)
    }

    /// The store given or connected so far.
    pub fn storage_part(&self) -> Option<&Arc<dyn Storage>> {
        self.storage.as_ref()
    }

    /// The limiter given or made so far.
    pub fn limiter_part(&self) -> Option<&Arc<dyn Limiter>> {
        self.limiter.as_ref()
    }

    /// The store to use. Without one, [`build`](Self::build) keeps the data in memory
    /// ([`MemoryStore`], starting with the starter question bank) when `DATABASE_URL` is unset,
    /// and refuses when it is set: a database is opened by [`connect`](Self::connect).
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Where revoked tokens are remembered; by default the store, so instances that share a
    /// database share revocations, behind the Redis `TOKEN_BLACKLIST_REDIS_URL` (or the
    /// limiter's) names when there is one: `CachedRevocations` (feature `redis`)
    /// with the store as its record, so that a Redis restarted empty loses nothing.
    pub fn revocations(mut self, revocations: Arc<dyn RevocationStore>) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// How mail is sent; by default the one the configuration asks for
    /// ([`mail::from_config`](crate::mail::from_config)).
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// How push notifications are sent; by default the one the configuration asks for
    /// ([`push::from_config`](crate::push::from_config): APNs when `APNS_*` is set, otherwise
    /// only logged).
    pub fn push(mut self, push: Arc<dyn PushSender>) -> Self {
        self.push = Some(push);
        self
    }

    /// The rate limiter; by default the one the configuration asks for
    /// ([`wiring::limiter`](crate::wiring::limiter): Redis shared by every instance with
    /// `RATE_LIMIT_STORAGE=redis`, otherwise in-process). Ignored when `RATE_LIMIT_ENABLED` is
    /// false.
    pub fn limiter(mut self, limiter: Arc<dyn Limiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Where guest submit and claim tokens live; by default the Redis `GUEST_TOKEN_REDIS_URL`
    /// names, or process memory ([`MemoryGuestTokens`](crate::storage::MemoryGuestTokens)).
    /// Instances behind one load balancer need a shared store such as
    /// `RedisGuestTokens` (feature `redis`).
    pub fn guest_tokens(mut self, tokens: Arc<dyn GuestTokenStore>) -> Self {
        self.guest_tokens = Some(tokens);
        self
    }

    /// How `/v1/metrics` renders the installed metrics recorder (e.g. a Prometheus handle's
    /// `render`). The service records through the `metrics` facade; without a renderer, or with
    /// `PROMETHEUS_METRICS_ENABLED` false, the endpoint answers 503.
    pub fn metrics_renderer(mut self, render: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.metrics_renderer = Some(Arc::new(render));
        self
    }

    /// Routes served beside the API under the same middleware (request ids, security headers,
    /// logs and metrics, panic catching, timeouts): `aiq-server` mounts the admin dashboard at
    /// `/admin` this way. They get no CORS headers (no other origin may read them with the
    /// user's cookies) and set their own body limits and Content-Security-Policy (the API's
    /// applies when they set none). Paths outside the API prefix are not rate limited by the
    /// API's quotas, and must not collide with the API's routes (axum panics at build time).
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use tower::ServiceExt;
    /// use aiq_core::{Aiq, Config};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let extra = Router::new().route("/hello", get(|| async { "hi" }));
    /// let service = Aiq::builder(Config::default()).merge(extra).build().unwrap();
    /// let request = http::Request::get("/hello").body(String::new()).unwrap();
    /// let response = service.oneshot(request).await.unwrap();
    /// assert_eq!(response.status(), 200);
    /// assert!(response.headers().contains_key("x-request-id"));
    /// # });
    /// ```
    pub fn merge(mut self, routes: Router) -> Self {
        self.extra_routes = Some(match self.extra_routes.take() {
            Some(earlier) => earlier.merge(routes),
            None => routes,
        });
        self
    }

    /// Which of aiq's optional layers wrap the service (default: all); a host that does CORS,
    /// request ids, security headers, timeouts or tracing itself switches aiq's off
    /// ([`Layers`]).
    pub fn layers(mut self, layers: Layers) -> Self {
        self.layers = layers;
        self
    }

    /// Called with each request's headers and its tracing span, right after the span is made
    /// and before anything runs inside it. A binary that exports traces uses it to continue
    /// the caller's trace: extract the W3C `traceparent` header and make it the span's parent
    /// (`aiq-server` does this with the OpenTelemetry SDK, which the library does not depend
    /// on). Not called when no subscriber is interested in the span.
    ///
    /// ```
    /// use aiq_core::{Aiq, Config};
    /// let service = Aiq::builder(Config::default())
    ///     .on_request_span(|headers, span| {
    ///         if let Some(parent) = headers.get("traceparent") {
    ///             // e.g. `span.set_parent(propagator.extract(...))` with tracing-opentelemetry
    ///             let _ = (parent, span);
    ///         }
    ///     })
    ///     .build()?;
    /// # Ok::<(), aiq_core::config::ConfigError>(())
    /// ```
    pub fn on_request_span(
        mut self,
        hook: impl Fn(&http::HeaderMap, &tracing::Span) + Send + Sync + 'static,
    ) -> Self {
        self.span_hook = Some(Arc::new(hook));
        self
    }

    /// Validates the configuration and assembles the service.
    pub fn build(self) -> Result<AiqService, ConfigError> {
        self.config.validate()?;
        let tokens = Tokens::new(&self.config.security).map_err(|e| {
            crate::wiring::refused(
                &self.config,
                "JWT_SECRET_KEY",
                format!("cannot be used as a signing key: {e}"),
            )
        })?;
        crate::wiring::check_oauth(&self.config)?;
        let mailer = match self.mailer {
            Some(mailer) => mailer,
            None => crate::wiring::mailer(&self.config)?,
        };
        let push = match self.push {
            Some(push) => push,
            None => crate::wiring::push(&self.config)?,
        };
        let limiter = match self.limiter {
            Some(limiter) => Some(limiter),
            None => crate::wiring::limiter(&self.config)?,
        };
        let rate_limits = limiter
            .filter(|_| self.config.rate_limit.enabled)
            .map(|limiter| Arc::new(RateLimits::new(limiter, &self.config, tokens.clone())));
        let storage = match self.storage {
            Some(storage) => storage,
            #[cfg(not(feature = "postgres"))]
            None if self.config.database.url.is_some() => {
                return Err(crate::wiring::feature_off(
                    &self.config,
                    "DATABASE_URL",
                    "postgres",
                ));
            }
            #[cfg(feature = "postgres")]
            None if self.config.database.url.is_some() => {
                return Err(crate::wiring::refused(
                    &self.config,
                    "DATABASE_URL",
                    "is set, but the service was built without opening it: build with \
                     `Aiq::from_config(config).await` (or `.connect().await` before `.build()`), \
                     or give the store with `.storage(...)`"
                        .to_owned(),
                ));
            }
            None => Arc::new(MemoryStore::with_questions(
                &crate::questions::starter_bank(),
            )),
        };
        let revocations = match self.revocations {
            Some(revocations) => revocations,
            None => crate::wiring::revocations(&self.config, &storage)?,
        };
        let guest_tokens = match self.guest_tokens {
            Some(tokens) => tokens,
            None => crate::wiring::guest_tokens(&self.config)?,
        };
        let revocations_in_storage =
            std::ptr::addr_eq(Arc::as_ptr(&revocations), Arc::as_ptr(&storage));
        let config = Arc::new(self.config);
        let state = AppState::new(Shared {
            config: Arc::clone(&config),
            storage,
            revocations,
            revocations_in_storage,
            passwords: Passwords::new(),
            login_floor: LoginFloor::default(),
            tokens,
            mailer,
            push,
            oauth: OAuthVerifier::new(&config.oauth),
            metrics_renderer: self.metrics_renderer,
            guest_tokens,
            statistics: StatisticsQueue::default(),
            reliability: AlphaCache::default(),
            benchmarks: crate::analytics::BenchmarkCache::default(),
        });
        let background = Background {
            storage: Arc::clone(&state.storage),
            statistics: state.statistics.clone(),
        };
        use crate::middleware::{Surface, stack};
        let mut router = stack(
            crate::api::router(state),
            &config,
            rate_limits.clone(),
            self.span_hook.clone(),
            Surface::Api,
            self.layers,
        );
        if let Some(extra) = self.extra_routes {
            // Layered on their own before merging: `Router::layer` wraps the routes present.
            router = router.merge(stack(
                extra,
                &config,
                rate_limits,
                self.span_hook,
                Surface::Embedded,
                self.layers,
            ));
        }
        Ok(AiqService {
            router,
            config,
            background,
            connections: self.connections,
        })
    }
}

/// The whole `/v1` API as a `tower::Service`.
///
/// It accepts requests with any body type, so it mounts in axum (`Router::nest_service`), hyper
/// or any tower stack; it is cheap to clone and never fails (errors are responses).
///
/// ```
/// use tower::ServiceExt;
/// use aiq_core::{Aiq, Config};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let service = Aiq::builder(Config::default()).build().unwrap();
/// let request = http::Request::get("/v1/ping").body(String::new()).unwrap();
/// let response = service.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # });
/// ```
#[derive(Clone)]
pub struct AiqService {
    router: Router,
    config: Arc<Config>,
    background: Background,
    connections: Connections,
}

/// What the service does after answering: the item statistics refreshes.
#[derive(Clone)]
struct Background {
    storage: Arc<dyn Storage>,
    statistics: StatisticsQueue,
}

impl std::fmt::Debug for AiqService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiqService")
            .field("api_prefix", &self.config.app.api_prefix)
            .finish_non_exhaustive()
    }
}

impl AiqService {
    /// The configuration the service was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Sets the gauges that describe stored state (`test.sessions.active`: sessions in progress
    /// in the whole database, guest sessions included) from storage. Call it at start-up and
    /// periodically (`aiq-server` does every minute): starts, submits and abandons move the gauge
    /// in between, and this corrects what they cannot see (account deletions, other instances).
    /// Every instance reports the same database-wide value, so dashboards take `max`, not `sum`.
    ///
    /// # Errors
    /// The store could not be read.
    pub async fn sync_gauges(&self) -> Result<(), crate::storage::StorageError> {
        let active = self.background.storage.active_session_count().await?;
        metrics::gauge!(crate::telemetry::TEST_SESSIONS_ACTIVE).set(active as f64);
        Ok(())
    }

    /// Resolves once the work queued by earlier requests (item statistics refreshes after
    /// submits) is done: before a shutdown, or in tests that read the statistics.
    pub async fn settle(&self) {
        self.background.statistics.idle().await;
    }

    /// Closes the database pool [`AiqBuilder::connect`] opened (idle connections are dropped,
    /// no new ones are made): at shutdown, after [`serve`](Self::serve) returned.
    pub fn close(&self) {
        self.connections.close();
    }

    /// The service as an axum `Router`, e.g. to `nest` it inside another application.
    pub fn into_router(self) -> Router {
        self.router
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting connections and
    /// lets in-flight requests finish for up to `SHUTDOWN_TIMEOUT_SECONDS` before returning.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let service = aiq_core::Aiq::builder(aiq_core::Config::default()).build().unwrap();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
    /// service.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await
    /// # }
    /// ```
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> std::io::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let http = self.config.http.clone();
        serve_router(self.router, listener, shutdown, &http).await
    }
}

/// Serves `router` on `listener` as [`AiqService::serve`] does, with the same protections:
/// headers must arrive within `REQUEST_TIMEOUT_SECONDS` (at most 30 s, so a client trickling
/// bytes cannot hold a connection), each connection's peer address is given to the handlers as
/// `ConnectInfo<SocketAddr>`, and when `shutdown` completes no new connection is accepted and
/// in-flight requests get `SHUTDOWN_TIMEOUT_SECONDS` to finish. `aiq-admin` serves the
/// dashboard with it.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use axum::{Router, routing::get};
/// let router = Router::new().route("/", get(|| async { "hello" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// let http = aiq_core::Config::default().http;
/// aiq_core::service::serve_router(router, listener, std::future::pending(), &http).await
/// # }
/// ```
pub async fn serve_router<F>(
    router: Router,
    listener: TcpListener,
    shutdown: F,
    http: &HttpConfig,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let drain_timeout = http.shutdown_timeout;
    let header_timeout = http.request_timeout.min(HEADER_READ_TIMEOUT);
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req
                });
        // A client must send its headers within the timeout, or a slow trickle of bytes could
        // hold a connection (and a file descriptor) for ever. A client that closes its sending
        // side after the request (`shutdown(SHUT_WR)`, as some HTTP/1.0-style clients and load
        // testers do) still gets its answer: hyper would otherwise drop the connection at that
        // end of input while the handler is still working.
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .half_close(true)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections, draining in-flight requests");
    tokio::select! {
        () = connections.shutdown() => {}
        () = tokio::time::sleep(drain_timeout) => {
            tracing::warn!(
                timeout_secs = drain_timeout.as_secs_f64(),
                "shutdown timeout elapsed; closing the remaining connections"
            );
        }
    }
    Ok(())
}

impl<B> Service<http::Request<B>> for AiqService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RouteFuture<Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        <Router as Service<Request>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        self.router.call(req)
    }
}
