//! The AIQ backend as a library.
//!
//! `aiq-core` serves the whole `/v1` API of the AIQ iOS app as one composable
//! [`tower::Service`], built from a [`Config`] with a pluggable [`Storage`](storage::Storage):
//!
//! ```
//! use std::sync::Arc;
//! use aiq_core::{Aiq, Config};
//! use aiq_core::storage::MemoryStore;
//!
//! let service = Aiq::builder(Config::default())
//!     .storage(Arc::new(MemoryStore::new()))
//!     .build()?;
//! // Mount it in another axum application...
//! let app: axum::Router = axum::Router::new().nest_service("/aiq", service.clone());
//! // ...or serve it on a listener: `service.serve(listener, shutdown).await`.
//! # Ok::<(), aiq_core::config::ConfigError>(())
//! ```
//!
//! Map of the crate:
//! - [`config`]: every setting, read from the environment or built in code;
//! - [`auth`]: passwords, tokens, revocation, the security audit log;
//! - [`service`]: the builder, the service and [`AiqService::serve`];
//! - [`storage`]: the storage contract, the in-memory and PostgreSQL backends;
//! - [`error`] and [`extract`]: how failures become JSON responses;
//! - [`mail`]: outgoing mail over SMTP, or to the log when SMTP is not enabled;
//! - [`middleware`]: request ids, security headers, CORS, limits, tracing;
//! - [`ratelimit`]: the rate limiter contract, its strategies and stores;
//! - [`scoring`]: scoring a finished test (IQ, percentiles, domain scores, time and validity
//!   analyses, reliability);
//! - [`selection`]: which questions a new fixed-form test gets;
//! - [`cat`]: adaptive testing (2PL, EAP, item selection, stopping rules, the storable session
//!   state), 2PL calibration and the simulation study;
//! - [`clock`]: where time comes from (tests move it by hand);
//! - [`oauth`]: verifying Sign in with Apple / Google identity tokens against the providers' keys;
//! - [`telemetry`]: the names of the metrics the service records, and their buckets;
//! - [`text`]: the one rule for text clients send (NUL, unpaired surrogates, control
//!   characters);
//! - [`time`]: timestamps as the API writes them.
//!
//! # Cargo features
//!
//! Each integration is a feature, all on by default. Without any, the crate serves the whole
//! API on the in-memory store (or a [`Storage`](storage::Storage) of your own), with the
//! in-process rate limiter, mail and push written to the log, and no Apple/Google sign-in.
//!
//! | Feature | What it brings | Variables that need it |
//! |---|---|---|
//! | `postgres` | `storage::PgStore` (tokio-postgres, deadpool, refinery, rustls) | `DATABASE_URL` |
//! | `redis` | `ratelimit::RedisLimiter`, `storage::RedisRevocations`, `storage::CachedRevocations`, `storage::RedisGuestTokens` | `RATE_LIMIT_STORAGE=redis`, `TOKEN_BLACKLIST_REDIS_URL`, `GUEST_TOKEN_REDIS_URL` |
//! | `smtp` | `mail::SmtpMailer` (lettre) | `SMTP_ENABLED` |
//! | `apns` | `push::ApnsSender` (reqwest, HTTP/2) | `APNS_*` |
//! | `oauth` | [`oauth::OAuthVerifier`] fetching the providers' keys (reqwest) | `APPLE_OAUTH_CLIENT_IDS`, `GOOGLE_OAUTH_CLIENT_IDS` |
//! | `swagger-ui` | the Swagger UI page at `<prefix>/docs` (`<prefix>/openapi.json` is always served) | none |
//!
//! A variable that asks for a part the build left out is refused, never ignored: building the
//! service fails with a [`ConfigError`](config::ConfigError) naming the variable and the
//! feature to enable (see [`wiring`]). Without `oauth` the sign-in endpoints answer as for a
//! provider with no client ids.

#![warn(missing_docs)]

pub mod admin;
mod analytics;
mod api;
mod assessment;
pub mod auth;
pub mod calibration;
pub mod cat;
pub mod clock;
pub mod config;
pub mod error;
pub mod extract;
pub mod groups;
mod input;
mod log_budget;
pub mod mail;
pub mod middleware;
pub mod oauth;
pub mod push;
pub mod questions;
pub mod ratelimit;
pub mod reliability;
pub mod scoring;
pub mod selection;
pub mod service;
mod state;
pub mod storage;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod wiring;

pub use config::Config;

/// A boxed error from a layer below the one handling it (a driver, a pool).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub use service::{Aiq, AiqBuilder, AiqService};
pub use wiring::StartError;
