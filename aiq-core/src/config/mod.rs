//! Typed configuration for the whole service.
//!
//! [`Config`] holds every setting of the deployment guide that applies to this backend, grouped by
//! concern, with the old backend's defaults. It is built from environment variables by
//! [`Config::from_env`] / [`Config::from_vars`] (the binaries), or in code by an embedding
//! application starting from [`Config::default`]. Either way [`Config::validate`] runs before a
//! service is built, and with `ENV=production` it refuses weak settings (see `DECISIONS.md`).

mod env;
mod integrations;
mod parse;
mod validate;

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;

pub use self::env::EnvVars;
pub use self::integrations::{
    ApnsConfig, NotificationConfig, OAuthConfig, OtelConfig, OtelExporter, SmtpConfig, SmtpTls,
};
pub use self::validate::{ConfigError, ConfigProblem};

/// The deployment environment (`ENV`, falling back to `RAILWAY_ENVIRONMENT`).
///
/// Only `production` changes behaviour (JSON logs, HSTS, the refusals of [`Config::validate`]);
/// the name is kept so logs and `check-config` can show it.
///
/// ```
/// use aiq_core::config::Environment;
/// assert!(Environment::new("Production").is_production());
/// assert!(!Environment::default().is_production());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment(String);

impl Environment {
    /// Wraps an environment name such as `development`, `staging` or `production`.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name as configured.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// Whether this is production. The comparison ignores case, so `Production` is not
    /// silently treated as a development deployment.
    pub fn is_production(&self) -> bool {
        self.0.eq_ignore_ascii_case("production")
    }
}

impl Default for Environment {
    fn default() -> Self {
        Self::new("development")
    }
}

/// Verbosity of the service's logs (`LOG_LEVEL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    /// Everything, including per-request detail.
    Trace,
    /// Diagnostic detail.
    Debug,
    /// Normal operation (the default).
    #[default]
    Info,
    /// Only problems.
    Warn,
    /// Only failures.
    Error,
}

impl LogLevel {
    /// The lowercase name, as `tracing` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Application identity and where it listens.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// `APP_NAME`: the OpenAPI title, the health `service` field and the welcome message.
    pub name: String,
    /// `APP_VERSION`: the OpenAPI version and the health `version` field.
    pub version: String,
    /// `ENV` (or `RAILWAY_ENVIRONMENT`).
    pub environment: Environment,
    /// `DEBUG`: kept for compatibility; it enables nothing that is unsafe in production.
    pub debug: bool,
    /// `LOG_LEVEL`.
    pub log_level: LogLevel,
    /// `API_V1_PREFIX`: where the `/v1` API is mounted.
    pub api_prefix: String,
    /// `HOST`: the address the server binary binds.
    pub host: String,
    /// `PORT`: the port the server binary binds (`0` picks a free one).
    pub port: u16,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            name: "AIQ API".into(),
            version: "0.1.0".into(),
            environment: Environment::default(),
            debug: true,
            log_level: LogLevel::Info,
            api_prefix: "/v1".into(),
            host: "0.0.0.0".into(),
            port: 8000,
        }
    }
}

/// Where browsers may call from (`CORS_ORIGINS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Any origin (`*`); credentials are then not allowed. Refused in production.
    Any,
    /// Exactly these origins, with credentials allowed.
    List(Vec<String>),
}

impl CorsOrigins {
    /// Whether `*` was configured.
    pub fn is_any(&self) -> bool {
        matches!(self, Self::Any)
    }
}

/// HTTP behaviour of the service.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `CORS_ORIGINS`: a comma-separated list or a JSON array.
    pub cors_origins: CorsOrigins,
    /// `REQUEST_TIMEOUT_SECONDS`: a request still running after this gets 408.
    pub request_timeout: Duration,
    /// `SHUTDOWN_TIMEOUT_SECONDS`: how long in-flight requests may run after SIGTERM.
    pub shutdown_timeout: Duration,
    /// The largest accepted request body, in bytes (1 MiB, as the old backend).
    pub max_body_bytes: usize,
    /// `REQUEST_LOG_PER_SECOND`: completion lines of successful requests written per second;
    /// the others are counted on the next line written. `0` writes every one.
    pub request_log_per_second: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            cors_origins: CorsOrigins::List(vec![
                "http://localhost:3000".into(),
                "http://localhost:8080".into(),
                "http://localhost:8081".into(),
            ]),
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            max_body_bytes: 1024 * 1024,
            request_log_per_second: 100,
        }
    }
}

/// Signing secrets and token lifetimes.
#[derive(Debug, Clone)]
pub struct SecurityConfig {
    /// `SECRET_KEY`: signs admin session cookies.
    pub secret_key: SecretString,
    /// `JWT_SECRET_KEY`: the HMAC key of access and refresh tokens.
    pub jwt_secret_key: SecretString,
    /// True when the two secrets above were generated at start-up because none was configured
    /// (development only): tokens then do not survive a restart.
    pub secrets_generated: bool,
    /// `JWT_ALGORITHM`: `HS256` (default), `HS384` or `HS512`.
    pub jwt_algorithm: JwtAlgorithm,
    /// `ACCESS_TOKEN_EXPIRE_MINUTES`.
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_EXPIRE_DAYS`.
    pub refresh_token_ttl: Duration,
    /// `REFRESH_TOKEN_ROTATION`: what a refresh does to the refresh token it was given.
    pub refresh_token_rotation: RefreshRotation,
    /// `REFRESH_TOKEN_REUSE_GRACE_SECONDS`: with rotation on, how long a just-rotated refresh
    /// token may be presented again (a mobile client retrying a refresh whose response it lost)
    /// before it is refused (and, with reuse detection, before it counts as reuse).
    pub refresh_reuse_grace: Duration,
    /// `TOKEN_BLACKLIST_REDIS_URL`: the Redis that answers revocation checks (the storage stays
    /// their record); empty means the storage answers them.
    pub token_blacklist_redis_url: Option<SecretString>,
    /// `PASSWORD_RESET_URL_BASE`: the link mailed for a password reset; the token is appended.
    pub password_reset_url_base: String,
}

impl Default for SecurityConfig {
    /// Freshly generated random secrets (marked as generated) and the old lifetimes.
    fn default() -> Self {
        Self {
            secret_key: env::generated_secret(),
            jwt_secret_key: env::generated_secret(),
            secrets_generated: true,
            jwt_algorithm: JwtAlgorithm::Hs256,
            access_token_ttl: Duration::from_secs(30 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            refresh_token_rotation: RefreshRotation::Off,
            refresh_reuse_grace: Duration::ZERO,
            token_blacklist_redis_url: None,
            password_reset_url_base: "https://a-iq-test.com/reset-password?token=".into(),
        }
    }
}

impl SecurityConfig {
    /// The Redis that answers revocation checks: `TOKEN_BLACKLIST_REDIS_URL`, or else the rate
    /// limiter's Redis when `RATE_LIMIT_STORAGE=redis`. `None`: the storage answers them (it is
    /// their record either way).
    pub fn revocations_redis_url<'a>(
        &'a self,
        rate_limit: &'a RateLimitConfig,
    ) -> Option<&'a SecretString> {
        self.token_blacklist_redis_url
            .as_ref()
            .or((rate_limit.storage == RateLimitStorage::Redis).then_some(&rate_limit.redis_url))
    }
}

/// What `POST /v1/auth/refresh` does to the refresh token it was given
/// (`REFRESH_TOKEN_ROTATION`).
///
/// The shipped iOS app keeps refreshed tokens in memory only and refreshes with the keychain's
/// older token at every launch (`ios-client.md`), so rotation would sign its users out: the
/// default keeps a used refresh token valid for its whole lifetime, as the old backend did.
/// Logout, logout-all, password reset and account deletion revoke it whatever the mode.
///
/// ```
/// use aiq_core::config::RefreshRotation;
/// assert_eq!(RefreshRotation::parse("rotate_detect_reuse"), Some(RefreshRotation::RotateDetectReuse));
/// assert_eq!(RefreshRotation::default().as_str(), "off");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefreshRotation {
    /// `off` (default): a refresh token stays valid until it expires or is revoked; each
    /// refresh returns a new pair in the same login.
    #[default]
    Off,
    /// `rotate`: a used refresh token is revoked; presenting it again is a 401 (after the reuse
    /// grace period), and the login goes on with the new token.
    Rotate,
    /// `rotate_detect_reuse`: as `rotate`, and presenting a used token again (after the grace
    /// period) revokes the whole login, since someone may have copied it.
    RotateDetectReuse,
}

impl RefreshRotation {
    /// Parses the setting's value (`off`, `rotate`, `rotate_detect_reuse`; any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Some(Self::Off),
            "rotate" => Some(Self::Rotate),
            "rotate_detect_reuse" => Some(Self::RotateDetectReuse),
            _ => None,
        }
    }

    /// The setting's value for this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Rotate => "rotate",
            Self::RotateDetectReuse => "rotate_detect_reuse",
        }
    }
}

/// The HMAC algorithms accepted for `JWT_ALGORITHM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256, the old backend's choice.
    #[default]
    Hs256,
    /// HMAC-SHA384.
    Hs384,
    /// HMAC-SHA512.
    Hs512,
}

impl JwtAlgorithm {
    /// The JOSE name (`HS256` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
        }
    }
}

/// The PostgreSQL connection, when there is one.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL` (`postgres://` or `postgresql://`); `None` selects the in-memory store.
    pub url: Option<SecretString>,
    /// `DB_POOL_SIZE`: the most connections this instance opens.
    pub pool_size: usize,
    /// `DB_POOL_TIMEOUT`: how long a request waits for a free connection.
    pub pool_wait_timeout: Duration,
    /// `DB_CONNECT_TIMEOUT`: how long opening a connection may take.
    pub connect_timeout: Duration,
    /// `DB_STATEMENT_TIMEOUT`: the longest a statement of the pool may run (the server ends it),
    /// and one second more is the longest the database may stay silent before the connection
    /// is dropped and requests fail fast with 503 (`None`, `0` in the environment: no limit, as
    /// the one-shot commands use).
    pub statement_timeout: Option<Duration>,
    /// `SEED_STARTER_BANK`: load the starter question bank at start-up when the database's bank
    /// is empty (once, under the migration lock). Default: on, except with `ENV=production`.
    pub seed_starter_bank: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            pool_size: 16,
            pool_wait_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Some(Duration::from_secs(5)),
            seed_starter_bank: true,
        }
    }
}

/// How requests are counted against limits (`RATE_LIMIT_STRATEGY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateLimitStrategy {
    /// Capacity = limit, refilled at limit/window per second (the default).
    #[default]
    TokenBucket,
    /// Requests in the trailing window.
    SlidingWindow,
    /// Requests in the current aligned window.
    FixedWindow,
}

/// Where rate-limit counters live (`RATE_LIMIT_STORAGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateLimitStorage {
    /// In this process.
    #[default]
    Memory,
    /// In Redis, shared by every instance.
    Redis,
}

/// Rate limiting settings.
#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    /// `RATE_LIMIT_ENABLED`.
    pub enabled: bool,
    /// `RATE_LIMIT_STRATEGY`.
    pub strategy: RateLimitStrategy,
    /// `RATE_LIMIT_DEFAULT_LIMIT`: requests per window for endpoints without their own row.
    pub default_limit: u32,
    /// `RATE_LIMIT_DEFAULT_WINDOW` (seconds).
    pub default_window: Duration,
    /// `RATE_LIMIT_STORAGE`.
    pub storage: RateLimitStorage,
    /// `RATE_LIMIT_REDIS_URL`.
    pub redis_url: SecretString,
    /// `RATE_LIMIT_MAX_KEYS`: cap on in-process keys (`0` = unlimited).
    pub max_keys: usize,
    /// `RATE_LIMIT_TRUSTED_IP_HEADER`: the header a trusted proxy sets to the client address.
    pub trusted_ip_header: String,
    /// Endpoints with a bucket of their own (default: the deployment guide's table,
    /// [`EndpointQuota::defaults`]); every other route shares the default quota. Set in code
    /// by an embedder.
    pub endpoints: Vec<EndpointQuota>,
}

/// Who a rate-limit bucket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedBy {
    /// The signed-in user when a valid access token comes along, else the client address.
    Caller,
    /// Always the client address: endpoints used before signing in (login, register, password
    /// reset, guest tests), where a token of some other account must not buy a fresh bucket.
    Address,
}

/// One endpoint's own quota.
///
/// ```
/// use std::time::Duration;
/// use aiq_core::Config;
/// use aiq_core::config::{EndpointQuota, KeyedBy};
/// let mut config = Config::default();
/// // Ten logins per five minutes per address instead of five.
/// config.rate_limit.endpoints.retain(|e| e.route != "/auth/login");
/// config.rate_limit.endpoints.push(EndpointQuota::new("/auth/login", 10, 300, KeyedBy::Address));
/// assert!(config.rate_limit.endpoints.iter().any(|e| e.route == "/auth/login" && e.limit == 10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointQuota {
    /// The route template under the API prefix (`/auth/login`, `/groups/{group_id}`).
    pub route: String,
    /// Requests per window.
    pub limit: u32,
    /// The window.
    pub window: Duration,
    /// Who the bucket belongs to.
    pub keyed_by: KeyedBy,
}

impl EndpointQuota {
    /// `limit` requests per `window_secs` seconds on `route`.
    pub fn new(route: &str, limit: u32, window_secs: u64, keyed_by: KeyedBy) -> Self {
        Self {
            route: route.to_owned(),
            limit,
            window: Duration::from_secs(window_secs),
            keyed_by,
        }
    }

    /// The deployment guide's table.
    pub fn defaults() -> Vec<Self> {
        use KeyedBy::{Address, Caller};
        [
            ("/auth/login", 5, 300, Address),
            ("/auth/register", 3, 3600, Address),
            ("/auth/refresh", 10, 60, Address),
            ("/auth/oauth/apple", 10, 60, Address),
            ("/auth/oauth/google", 10, 60, Address),
            ("/auth/logout-all", 3, 300, Caller),
            ("/auth/request-password-reset", 3, 900, Address),
            ("/auth/reset-password", 5, 3600, Address),
            ("/test/guest/start", 5, 3600, Address),
            ("/test/guest/submit", 5, 3600, Address),
            // The old handler's own 5/hour per IP, now one more row of this table.
            ("/feedback/submit", 5, 3600, Address),
            ("/admin/reliability", 10, 60, Caller),
            ("/admin/analytics/factor-analysis", 10, 60, Caller),
            ("/admin/questions/discrimination-report", 10, 60, Caller),
            ("/admin/questions/distractor-summary", 10, 60, Caller),
            ("/admin/questions/calibration-health", 10, 60, Caller),
            ("/admin/calibration-status", 10, 60, Caller),
            ("/admin/validity-report", 10, 60, Caller),
            ("/admin/analytics/response-times", 10, 60, Caller),
        ]
        .into_iter()
        .map(|(route, limit, window, keyed_by)| Self::new(route, limit, window, keyed_by))
        .collect()
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            strategy: RateLimitStrategy::TokenBucket,
            default_limit: 100,
            default_window: Duration::from_secs(60),
            storage: RateLimitStorage::Memory,
            redis_url: SecretString::from("redis://localhost:6379/0".to_owned()),
            max_keys: 100_000,
            trusted_ip_header: "X-Envoy-External-Address".into(),
            endpoints: EndpointQuota::defaults(),
        }
    }
}

/// The six question domains, in the order the product lists them.
pub const DOMAINS: [&str; 6] = ["pattern", "logic", "verbal", "spatial", "math", "memory"];

/// Rules of the fixed-form and adaptive tests.
#[derive(Debug, Clone)]
pub struct TestRules {
    /// `TEST_TOTAL_QUESTIONS`.
    pub total_questions: u32,
    /// `TEST_CADENCE_DAYS`: days between two completed tests.
    pub cadence_days: u32,
    /// `DISABLE_TEST_CADENCE`: lifts the cadence (testing only).
    pub disable_cadence: bool,
    /// `ABANDON_COOLDOWN_DAYS`.
    pub abandon_cooldown_days: u32,
    /// `ABANDON_ANSWER_THRESHOLD`: answers after which abandoning starts the cooldown.
    pub abandon_answer_threshold: u32,
    /// `TEST_TIME_LIMIT_MINUTES`: after this a submit is flagged as over time.
    pub time_limit_minutes: u32,
    /// `TEST_DIFFICULTY_DISTRIBUTION`: share of easy, medium and hard items.
    pub difficulty_distribution: BTreeMap<String, f64>,
    /// `TEST_DOMAIN_WEIGHTS`: share of each domain; keys are [`DOMAINS`], values sum to 1.
    pub domain_weights: BTreeMap<String, f64>,
    /// `CAT_MIN_CALIBRATED_ITEMS_PER_DOMAIN`.
    pub cat_min_calibrated_items_per_domain: u32,
    /// `CAT_MAX_SE_DIFFICULTY`.
    pub cat_max_se_difficulty: f64,
    /// `CAT_MAX_SE_DISCRIMINATION`.
    pub cat_max_se_discrimination: f64,
    /// `CAT_MIN_ITEMS_PER_DIFFICULTY_BAND`.
    pub cat_min_items_per_difficulty_band: u32,
}

impl Default for TestRules {
    fn default() -> Self {
        Self {
            total_questions: 25,
            cadence_days: 90,
            disable_cadence: false,
            abandon_cooldown_days: 7,
            abandon_answer_threshold: 7,
            time_limit_minutes: 30,
            difficulty_distribution: [("easy", 0.20), ("medium", 0.50), ("hard", 0.30)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            domain_weights: DOMAINS
                .iter()
                .zip([0.22, 0.20, 0.19, 0.16, 0.13, 0.10])
                .map(|(k, v)| ((*k).to_owned(), v))
                .collect(),
            cat_min_calibrated_items_per_domain: 30,
            cat_max_se_difficulty: 0.50,
            cat_max_se_discrimination: 0.30,
            cat_min_items_per_difficulty_band: 5,
        }
    }
}

/// Anonymous (guest) tests.
#[derive(Debug, Clone)]
pub struct GuestConfig {
    /// `GUEST_TEST_LIMIT`: tests per device.
    pub test_limit: u32,
    /// `GUEST_TOKEN_TTL_MINUTES`: lifetime of the submit and claim tokens.
    pub token_ttl: Duration,
    /// `GUEST_TOKEN_REDIS_URL`: shared token store; empty means in-process.
    pub token_redis_url: Option<SecretString>,
}

impl Default for GuestConfig {
    fn default() -> Self {
        Self {
            test_limit: 3,
            token_ttl: Duration::from_secs(45 * 60),
            token_redis_url: None,
        }
    }
}

/// The operator's dashboard and admin API.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// `ADMIN_ENABLED`: mount the dashboard at `/admin`.
    pub enabled: bool,
    /// `ADMIN_USERNAME`.
    pub username: String,
    /// `ADMIN_PASSWORD_HASH`: a bcrypt or argon2 hash of the dashboard password.
    pub password_hash: Option<SecretString>,
    /// `ADMIN_TOKEN`: the `X-Admin-Token` secret of the admin JSON API.
    pub token: Option<SecretString>,
    /// `ADMIN_EMAIL`: receives feedback notifications.
    pub email: String,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            username: "admin".into(),
            password_hash: None,
            token: None,
            email: "admin@a-iq-test.com".into(),
        }
    }
}

/// Every setting of the service. See the README's configuration table for each variable.
///
/// Build it from the environment:
///
/// ```
/// use aiq_core::Config;
/// let config = Config::from_vars([("PORT", "9000"), ("CORS_ORIGINS", "https://a.example,https://b.example")])?;
/// assert_eq!(config.app.port, 9000);
/// # Ok::<(), aiq_core::config::ConfigError>(())
/// ```
///
/// or in code, starting from the defaults:
///
/// ```
/// use aiq_core::Config;
/// let mut config = Config::default();
/// config.app.api_prefix = "/api/v1".into();
/// config.validate()?;
/// # Ok::<(), aiq_core::config::ConfigError>(())
/// ```
///
/// `Config::default()` carries freshly generated signing secrets, so it is usable at once in
/// development and tests; production must configure its own.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Identity, environment, logging, prefix, bind address.
    pub app: AppConfig,
    /// CORS, timeouts, body size.
    pub http: HttpConfig,
    /// Secrets and tokens.
    pub security: SecurityConfig,
    /// PostgreSQL.
    pub database: DatabaseConfig,
    /// Rate limiting.
    pub rate_limit: RateLimitConfig,
    /// Test rules.
    pub test_rules: TestRules,
    /// Guest tests.
    pub guest: GuestConfig,
    /// Admin dashboard and API.
    pub admin: AdminConfig,
    /// Telemetry export.
    pub otel: OtelConfig,
    /// Sign in with Apple / Google.
    pub oauth: OAuthConfig,
    /// Push notifications.
    pub apns: ApnsConfig,
    /// Outgoing mail.
    pub smtp: SmtpConfig,
    /// Reminder timing.
    pub notifications: NotificationConfig,
}
