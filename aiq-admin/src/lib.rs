//! The operator's dashboard of AIQ: server-rendered pages over the same storage as the API.
//!
//! [`Dashboard`] is an axum [`Router`] whose paths all start with `/admin`, so it can be served
//! on its own (the `aiq-admin` binary, for a private service) or mounted beside the API
//! (`aiq-server` does when `ADMIN_ENABLED=true`). It needs no JavaScript: every action is a
//! form, every chart an SVG drawn on the server.
//!
//! Security, as the project decided for the admin area:
//! - login with `ADMIN_USERNAME` and a bcrypt or argon2 `ADMIN_PASSWORD_HASH`, both checked in
//!   constant time; attempts limited per client address;
//! - a session cookie that is HttpOnly, `SameSite=Strict`, `Secure` in production, signed with
//!   `SECRET_KEY`, valid for 4 hours and checked against the server-side session on every
//!   request (logout revokes it);
//! - a CSRF token, bound to the session, on every form;
//! - every action (logins and logouts included) in the audit log: who, what, when.
//!
//! ```
//! use std::sync::Arc;
//! use aiq_admin::Dashboard;
//! use aiq_core::Config;
//! use aiq_core::storage::MemoryStore;
//! use secrecy::SecretString;
//! use tower::ServiceExt;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mut config = Config::default();
//! let hash = aiq_core::auth::password::hash_password("a long admin password").unwrap();
//! config.admin.password_hash = Some(SecretString::from(hash));
//! let dashboard = Dashboard::builder(config)
//!     .storage(Arc::new(MemoryStore::new()))
//!     .build()
//!     .unwrap();
//! // Without a session, every page leads to the login form.
//! let request = http::Request::get("/admin/users").body(axum::body::Body::empty()).unwrap();
//! let response = dashboard.router().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 303);
//! assert_eq!(response.headers()["location"], "/admin/login");
//! # });
//! ```

mod audit;
mod charts;
mod error;
mod export;
mod forms;
mod login;
mod pages;
mod quality;
mod session;
mod state;

use std::sync::Arc;
use std::time::Duration;

use aiq_core::Config;
use aiq_core::clock::{Clock, SystemClock};
use aiq_core::ratelimit::{Limiter, MemoryLimiter, Quota, Strategy};
use aiq_core::storage::{MemoryStore, Storage};
use axum::Router;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::state::State;

/// The path every page of the dashboard lives under.
pub const BASE_PATH: &str = "/admin";

/// Login attempts allowed per client address and window.
pub const LOGIN_ATTEMPTS: u32 = 5;

/// The window of [`LOGIN_ATTEMPTS`].
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// How long the standalone server lets a request take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a login lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(4 * 60 * 60);

/// Why the dashboard cannot be built from a configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DashboardConfigError {
    /// `ADMIN_PASSWORD_HASH` is missing.
    #[error(
        "ADMIN_PASSWORD_HASH is not set: run `aiq-admin hash-password`, type the password, and \
         set ADMIN_PASSWORD_HASH to the line it prints"
    )]
    MissingPasswordHash,
    /// `ADMIN_PASSWORD_HASH` is not a bcrypt or argon2 hash.
    #[error(
        "ADMIN_PASSWORD_HASH is not a bcrypt ($2b$...) or argon2 ($argon2id$...) hash: run \
         `aiq-admin hash-password` to make one"
    )]
    InvalidPasswordHash,
    /// `ADMIN_USERNAME` is empty.
    #[error("ADMIN_USERNAME is empty: set the name the operator logs in with")]
    EmptyUsername,
    /// Production without a `SECRET_KEY`: sessions would die with every restart and differ
    /// between instances.
    #[error(
        "SECRET_KEY is not set: it signs the dashboard's session cookies; set it to a random \
         value of at least 32 bytes (`openssl rand -hex 32`), the same on every instance"
    )]
    MissingSecretKey,
}

/// Assembles a [`Dashboard`]; see [`Dashboard::builder`].
#[derive(Debug)]
pub struct DashboardBuilder {
    config: Config,
    storage: Option<Arc<dyn Storage>>,
    limiter: Option<Arc<dyn Limiter>>,
    clock: Arc<dyn Clock>,
}

impl DashboardBuilder {
    /// The store the pages read and change (default: an empty [`MemoryStore`]).
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(storage);
        self
    }

    /// The limiter that counts login attempts per client address (default: in-process). Pass a
    /// Redis-backed one when several instances serve the dashboard.
    pub fn login_limiter(mut self, limiter: Arc<dyn Limiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Where the time comes from (session expiry, audit times); tests move it by hand.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the admin settings and assembles the dashboard.
    ///
    /// # Errors
    /// The username is empty or the password hash is missing or not a hash; the message says
    /// how to fix it.
    pub fn build(self) -> Result<Dashboard, DashboardConfigError> {
        let admin = &self.config.admin;
        if admin.username.trim().is_empty() {
            return Err(DashboardConfigError::EmptyUsername);
        }
        let hash = admin
            .password_hash
            .as_ref()
            .ok_or(DashboardConfigError::MissingPasswordHash)?;
        if !aiq_core::auth::password::is_password_hash(hash.expose_secret()) {
            return Err(DashboardConfigError::InvalidPasswordHash);
        }
        if self.config.app.environment.is_production() && self.config.security.secrets_generated {
            return Err(DashboardConfigError::MissingSecretKey);
        }
        let limiter = self.limiter.unwrap_or_else(|| {
            Arc::new(MemoryLimiter::with_clock(
                Strategy::SlidingWindow,
                100_000,
                Arc::clone(&self.clock),
            ))
        });
        let state = State::new(
            &self.config,
            self.storage.unwrap_or_else(|| Arc::new(MemoryStore::new())),
            limiter,
            Quota::new(LOGIN_ATTEMPTS, LOGIN_WINDOW),
            self.clock,
        );
        Ok(Dashboard {
            state: Arc::new(state),
            http: self.config.http.clone(),
        })
    }
}

/// The admin dashboard: cheap to clone, one [`Router`] per [`Dashboard::router`] call.
#[derive(Debug, Clone)]
pub struct Dashboard {
    state: Arc<State>,
    /// Timeouts of [`serve`](Self::serve).
    http: aiq_core::config::HttpConfig,
}

impl Dashboard {
    /// Starts building a dashboard from the service's configuration (`ADMIN_USERNAME`,
    /// `ADMIN_PASSWORD_HASH`, `SECRET_KEY`, `ENV` for the `Secure` cookie flag,
    /// `RATE_LIMIT_TRUSTED_IP_HEADER` for the client address).
    pub fn builder(config: Config) -> DashboardBuilder {
        DashboardBuilder {
            config,
            storage: None,
            limiter: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The pages, all under [`BASE_PATH`]. The client address (for the login limit and the
    /// audit log) comes from `ConnectInfo<SocketAddr>` or the trusted proxy header.
    pub fn router(&self) -> Router {
        pages::router(Arc::clone(&self.state))
    }

    /// Serves the dashboard alone on `listener` until `shutdown` completes; `/` leads to the
    /// overview.
    ///
    /// # Errors
    /// The listener failed.
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> std::io::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let router = self
            .router()
            .route(
                "/",
                axum::routing::get(|| async { axum::response::Redirect::to(BASE_PATH) }),
            )
            .layer(CatchPanicLayer::new())
            .layer(TimeoutLayer::with_status_code(
                http::StatusCode::REQUEST_TIMEOUT,
                REQUEST_TIMEOUT,
            ));
        // The API's serve loop: it refuses clients that trickle their headers (slowloris).
        aiq_core::service::serve_router(router, listener, shutdown, &self.http).await
    }
}
