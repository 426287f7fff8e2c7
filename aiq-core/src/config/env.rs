//! Reading [`Config`] from environment variables.
//!
//! Every variable is optional and falls back to the old backend's default. Empty values count
//! as unset (Railway leaves unresolved references empty). All problems are collected, so one
//! start-up reports every bad variable at once.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use super::validate::{ConfigError, ConfigProblem};
use super::{
    CorsOrigins, Environment, JwtAlgorithm, LogLevel, OtelExporter, RateLimitStorage,
    RateLimitStrategy, RefreshRotation, SmtpTls, parse,
};
use crate::Config;

/// A snapshot of environment variables to build a [`Config`] from.
///
/// ```
/// use aiq_core::config::EnvVars;
/// let vars = EnvVars::new([("PORT", "9000")]);
/// assert_eq!(vars.get("PORT"), Some("9000"));
/// assert_eq!(vars.get("HOST"), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct EnvVars(BTreeMap<String, String>);

impl EnvVars {
    /// Takes the given name/value pairs; a later pair overrides an earlier one.
    pub fn new<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The variables of this process.
    pub fn from_process() -> Self {
        Self::new(std::env::vars())
    }

    /// Adds `vars` for names not set yet: used to layer a `.env` file under the process
    /// environment, which wins.
    pub fn with_defaults<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (k, v) in vars {
            self.0.entry(k.into()).or_insert_with(|| v.into());
        }
        self
    }

    /// The value of `name`, or `None` when it is unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

/// A random 256-bit secret, hex encoded, for development when none is configured.
pub(super) fn generated_secret() -> SecretString {
    let hex: String = (0..2)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    SecretString::from(hex)
}

/// Reads typed values and records a problem for each bad one.
struct Reader<'a> {
    vars: &'a EnvVars,
    problems: Vec<ConfigProblem>,
}

impl<'a> Reader<'a> {
    fn text(&self, name: &str) -> Option<&'a str> {
        self.vars.get(name)
    }

    fn string(&self, name: &str, default: &str) -> String {
        self.text(name).unwrap_or(default).trim().to_owned()
    }

    fn secret(&self, name: &str) -> Option<SecretString> {
        self.text(name).map(|v| SecretString::from(v.to_owned()))
    }

    /// Parses `name` with `parse`; on failure records "`accepts`, got `value`" and returns the
    /// default so the remaining variables are still checked.
    fn parsed<T>(
        &mut self,
        name: &'static str,
        default: T,
        accepts: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> T {
        let Some(text) = self.text(name) else {
            return default;
        };
        match parse(text) {
            Some(value) => value,
            None => {
                self.problems.push(ConfigProblem::new(
                    name,
                    format!("must be {accepts}, got {:?}", text.trim()),
                ));
                default
            }
        }
    }

    fn boolean(&mut self, name: &'static str, default: bool) -> bool {
        self.parsed(name, default, "true or false", parse::boolean)
    }

    fn number<T: FromStr>(&mut self, name: &'static str, default: T, accepts: &str) -> T {
        self.parsed(name, default, accepts, |t| t.trim().parse().ok())
    }

    fn seconds(&mut self, name: &'static str, default: u64, accepts: &str) -> Duration {
        Duration::from_secs(self.number(name, default, accepts))
    }
}

pub(super) fn from_vars(vars: &EnvVars) -> Result<Config, ConfigError> {
    let mut r = Reader {
        vars,
        problems: Vec::new(),
    };
    let mut config = Config::default();

    let app = &mut config.app;
    app.name = r.string("APP_NAME", &app.name);
    app.version = r.string("APP_VERSION", &app.version);
    app.environment = Environment::new(
        r.text("ENV")
            .or_else(|| r.text("RAILWAY_ENVIRONMENT"))
            .unwrap_or("development")
            .trim(),
    );
    app.debug = r.boolean("DEBUG", app.debug);
    app.log_level = r.parsed(
        "LOG_LEVEL",
        app.log_level,
        "one of TRACE, DEBUG, INFO, WARNING, ERROR",
        |t| match t.trim().to_ascii_uppercase().as_str() {
            "TRACE" => Some(LogLevel::Trace),
            "DEBUG" => Some(LogLevel::Debug),
            "INFO" => Some(LogLevel::Info),
            "WARN" | "WARNING" => Some(LogLevel::Warn),
            "ERROR" | "CRITICAL" => Some(LogLevel::Error),
            _ => None,
        },
    );
    app.api_prefix = r.string("API_V1_PREFIX", &app.api_prefix);
    app.host = r.string("HOST", &app.host);
    app.port = r.number("PORT", app.port, "a port number from 0 to 65535");

    let http = &mut config.http;
    http.cors_origins = r.parsed(
        "CORS_ORIGINS",
        http.cors_origins.clone(),
        "a comma-separated list or a JSON array of origins",
        |t| {
            let origins = parse::list(t)?;
            Some(if origins.iter().any(|o| o == "*") {
                CorsOrigins::Any
            } else {
                CorsOrigins::List(origins)
            })
        },
    );
    http.request_timeout = r.seconds(
        "REQUEST_TIMEOUT_SECONDS",
        http.request_timeout.as_secs(),
        "a whole number of seconds",
    );
    http.shutdown_timeout = r.seconds(
        "SHUTDOWN_TIMEOUT_SECONDS",
        http.shutdown_timeout.as_secs(),
        "a whole number of seconds",
    );

    http.request_log_per_second = r.number(
        "REQUEST_LOG_PER_SECOND",
        http.request_log_per_second,
        "a whole number of lines (0: every request)",
    );

    let security = &mut config.security;
    match (r.secret("SECRET_KEY"), r.secret("JWT_SECRET_KEY")) {
        (None, None) => {} // keep the generated pair from Config::default()
        (secret, jwt) => {
            security.secret_key = secret.unwrap_or_else(generated_secret);
            security.jwt_secret_key = jwt.unwrap_or_else(generated_secret);
            security.secrets_generated =
                r.text("SECRET_KEY").is_none() || r.text("JWT_SECRET_KEY").is_none();
        }
    }
    security.jwt_algorithm = r.parsed(
        "JWT_ALGORITHM",
        security.jwt_algorithm,
        "one of HS256, HS384, HS512",
        |t| match t.trim().to_ascii_uppercase().as_str() {
            "HS256" => Some(JwtAlgorithm::Hs256),
            "HS384" => Some(JwtAlgorithm::Hs384),
            "HS512" => Some(JwtAlgorithm::Hs512),
            _ => None,
        },
    );
    security.access_token_ttl = Duration::from_secs(
        60 * r.number::<u64>(
            "ACCESS_TOKEN_EXPIRE_MINUTES",
            30,
            "a whole number of minutes",
        ),
    );
    security.refresh_token_ttl = Duration::from_secs(
        24 * 3600 * r.number::<u64>("REFRESH_TOKEN_EXPIRE_DAYS", 7, "a whole number of days"),
    );
    security.refresh_token_rotation = r.parsed(
        "REFRESH_TOKEN_ROTATION",
        security.refresh_token_rotation,
        "one of off, rotate, rotate_detect_reuse",
        RefreshRotation::parse,
    );
    security.refresh_reuse_grace = r.seconds(
        "REFRESH_TOKEN_REUSE_GRACE_SECONDS",
        0,
        "a whole number of seconds",
    );
    security.token_blacklist_redis_url = r.secret("TOKEN_BLACKLIST_REDIS_URL");
    security.password_reset_url_base =
        r.string("PASSWORD_RESET_URL_BASE", &security.password_reset_url_base);

    let database = &mut config.database;
    database.url = r.secret("DATABASE_URL");
    database.pool_size = r.number(
        "DB_POOL_SIZE",
        database.pool_size,
        "a whole number of connections",
    );
    database.pool_wait_timeout = r.seconds(
        "DB_POOL_TIMEOUT",
        database.pool_wait_timeout.as_secs(),
        "a whole number of seconds",
    );
    database.connect_timeout = r.seconds(
        "DB_CONNECT_TIMEOUT",
        database.connect_timeout.as_secs(),
        "a whole number of seconds",
    );
    let statement_timeout = r.seconds(
        "DB_STATEMENT_TIMEOUT",
        database
            .statement_timeout
            .map_or(0, |limit| limit.as_secs()),
        "a whole number of seconds (0: no limit)",
    );
    database.statement_timeout = (!statement_timeout.is_zero()).then_some(statement_timeout);
    // A production bank is loaded on purpose; a development one is useful at once.
    let production = config.app.environment.is_production();
    database.seed_starter_bank = r.boolean("SEED_STARTER_BANK", !production);

    let rate_limit = &mut config.rate_limit;
    rate_limit.enabled = r.boolean("RATE_LIMIT_ENABLED", rate_limit.enabled);
    rate_limit.strategy = r.parsed(
        "RATE_LIMIT_STRATEGY",
        rate_limit.strategy,
        "one of token_bucket, sliding_window, fixed_window",
        |t| match t.trim().to_ascii_lowercase().as_str() {
            "token_bucket" => Some(RateLimitStrategy::TokenBucket),
            "sliding_window" => Some(RateLimitStrategy::SlidingWindow),
            "fixed_window" => Some(RateLimitStrategy::FixedWindow),
            _ => None,
        },
    );
    rate_limit.default_limit = r.number(
        "RATE_LIMIT_DEFAULT_LIMIT",
        rate_limit.default_limit,
        "a whole number of requests",
    );
    rate_limit.default_window = r.seconds(
        "RATE_LIMIT_DEFAULT_WINDOW",
        rate_limit.default_window.as_secs(),
        "a whole number of seconds",
    );
    rate_limit.storage = r.parsed(
        "RATE_LIMIT_STORAGE",
        rate_limit.storage,
        "memory or redis",
        |t| match t.trim().to_ascii_lowercase().as_str() {
            "memory" => Some(RateLimitStorage::Memory),
            "redis" => Some(RateLimitStorage::Redis),
            _ => None,
        },
    );
    if let Some(url) = r.secret("RATE_LIMIT_REDIS_URL") {
        rate_limit.redis_url = url;
    }
    rate_limit.max_keys = r.number(
        "RATE_LIMIT_MAX_KEYS",
        rate_limit.max_keys,
        "a whole number (0 = unlimited)",
    );
    rate_limit.trusted_ip_header = r.string(
        "RATE_LIMIT_TRUSTED_IP_HEADER",
        &rate_limit.trusted_ip_header,
    );

    let rules = &mut config.test_rules;
    rules.total_questions = r.number(
        "TEST_TOTAL_QUESTIONS",
        rules.total_questions,
        "a whole number",
    );
    rules.cadence_days = r.number("TEST_CADENCE_DAYS", rules.cadence_days, "a whole number");
    rules.disable_cadence = r.boolean("DISABLE_TEST_CADENCE", rules.disable_cadence);
    rules.abandon_cooldown_days = r.number(
        "ABANDON_COOLDOWN_DAYS",
        rules.abandon_cooldown_days,
        "a whole number",
    );
    rules.abandon_answer_threshold = r.number(
        "ABANDON_ANSWER_THRESHOLD",
        rules.abandon_answer_threshold,
        "a whole number",
    );
    rules.time_limit_minutes = r.number(
        "TEST_TIME_LIMIT_MINUTES",
        rules.time_limit_minutes,
        "a whole number",
    );
    rules.difficulty_distribution = r.parsed(
        "TEST_DIFFICULTY_DISTRIBUTION",
        rules.difficulty_distribution.clone(),
        r#"a JSON object such as {"easy":0.2,"medium":0.5,"hard":0.3}"#,
        parse::number_map,
    );
    rules.domain_weights = r.parsed(
        "TEST_DOMAIN_WEIGHTS",
        rules.domain_weights.clone(),
        r#"a JSON object such as {"pattern":0.22,...}"#,
        parse::number_map,
    );
    rules.cat_min_calibrated_items_per_domain = r.number(
        "CAT_MIN_CALIBRATED_ITEMS_PER_DOMAIN",
        rules.cat_min_calibrated_items_per_domain,
        "a whole number",
    );
    rules.cat_max_se_difficulty = r.number(
        "CAT_MAX_SE_DIFFICULTY",
        rules.cat_max_se_difficulty,
        "a number",
    );
    rules.cat_max_se_discrimination = r.number(
        "CAT_MAX_SE_DISCRIMINATION",
        rules.cat_max_se_discrimination,
        "a number",
    );
    rules.cat_min_items_per_difficulty_band = r.number(
        "CAT_MIN_ITEMS_PER_DIFFICULTY_BAND",
        rules.cat_min_items_per_difficulty_band,
        "a whole number",
    );

    let guest = &mut config.guest;
    guest.test_limit = r.number("GUEST_TEST_LIMIT", guest.test_limit, "a whole number");
    guest.token_ttl = Duration::from_secs(
        60 * r.number::<u64>("GUEST_TOKEN_TTL_MINUTES", 45, "a whole number of minutes"),
    );
    guest.token_redis_url = r.secret("GUEST_TOKEN_REDIS_URL");

    let admin = &mut config.admin;
    admin.enabled = r.boolean("ADMIN_ENABLED", admin.enabled);
    admin.username = r.string("ADMIN_USERNAME", &admin.username);
    admin.password_hash = r.secret("ADMIN_PASSWORD_HASH");
    admin.token = r.secret("ADMIN_TOKEN");
    admin.email = r.string("ADMIN_EMAIL", &admin.email);

    let otel = &mut config.otel;
    otel.enabled = r.boolean("OTEL_ENABLED", otel.enabled);
    otel.service_name = r.string("OTEL_SERVICE_NAME", &otel.service_name);
    otel.exporter = r.parsed(
        "OTEL_EXPORTER",
        otel.exporter,
        "one of otlp, console, none",
        |t| match t.trim().to_ascii_lowercase().as_str() {
            "otlp" => Some(OtelExporter::Otlp),
            "console" => Some(OtelExporter::Console),
            "none" => Some(OtelExporter::None),
            _ => None,
        },
    );
    otel.otlp_endpoint = r.string("OTEL_OTLP_ENDPOINT", &otel.otlp_endpoint);
    otel.otlp_headers = r.secret("OTEL_EXPORTER_OTLP_HEADERS");
    otel.traces_sample_rate = r.number(
        "OTEL_TRACES_SAMPLE_RATE",
        otel.traces_sample_rate,
        "a number from 0.0 to 1.0",
    );
    otel.metrics_enabled = r.boolean("OTEL_METRICS_ENABLED", otel.metrics_enabled);
    otel.metrics_export_interval = Duration::from_millis(r.number(
        "OTEL_METRICS_EXPORT_INTERVAL_MILLIS",
        60_000,
        "a whole number of milliseconds",
    ));
    otel.logs_enabled = r.boolean("OTEL_LOGS_ENABLED", otel.logs_enabled);
    otel.prometheus_enabled = r.boolean("PROMETHEUS_METRICS_ENABLED", otel.prometheus_enabled);
    otel.metrics_port = r.parsed(
        "METRICS_PORT",
        otel.metrics_port,
        "a port number from 0 to 65535",
        |t| t.trim().parse().ok().map(Some),
    );

    let oauth = &mut config.oauth;
    oauth.apple_client_ids = r.parsed(
        "APPLE_OAUTH_CLIENT_IDS",
        Vec::new(),
        "a comma-separated list",
        parse::list,
    );
    oauth.google_client_ids = r.parsed(
        "GOOGLE_OAUTH_CLIENT_IDS",
        Vec::new(),
        "a comma-separated list",
        parse::list,
    );
    oauth.jwks_cache_ttl = r.seconds(
        "OAUTH_JWKS_CACHE_TTL_SECONDS",
        oauth.jwks_cache_ttl.as_secs(),
        "a whole number of seconds",
    );
    oauth.apple_jwks_url = r.string("APPLE_JWKS_URL", &oauth.apple_jwks_url);
    oauth.google_jwks_url = r.string("GOOGLE_JWKS_URL", &oauth.google_jwks_url);

    let apns = &mut config.apns;
    apns.key_id = r.string("APNS_KEY_ID", "");
    apns.team_id = r.string("APNS_TEAM_ID", "");
    apns.bundle_id = r.string("APNS_BUNDLE_ID", "");
    apns.key_path = r.string("APNS_KEY_PATH", "");
    apns.use_sandbox = r.boolean("APNS_USE_SANDBOX", true);

    let smtp = &mut config.smtp;
    smtp.host = r.string("SMTP_HOST", &smtp.host);
    smtp.port = r.number("SMTP_PORT", smtp.port, "a port number");
    smtp.username = r.string("SMTP_USERNAME", "");
    smtp.password = r.secret("SMTP_PASSWORD");
    smtp.from_email = r.string("SMTP_FROM_EMAIL", &smtp.from_email);
    smtp.from_name = r.string("SMTP_FROM_NAME", &smtp.from_name);
    smtp.enabled = r.boolean("SMTP_ENABLED", !smtp.username.is_empty());
    smtp.tls = r.parsed(
        "SMTP_TLS",
        smtp.tls,
        "one of starttls, tls, none",
        |t| match t.trim().to_ascii_lowercase().as_str() {
            "starttls" => Some(SmtpTls::StartTls),
            "tls" => Some(SmtpTls::Tls),
            "none" => Some(SmtpTls::None),
            _ => None,
        },
    );

    let notifications = &mut config.notifications;
    notifications.advance_days = r.number(
        "NOTIFICATION_ADVANCE_DAYS",
        notifications.advance_days,
        "a whole number",
    );
    notifications.reminder_days = r.number(
        "NOTIFICATION_REMINDER_DAYS",
        notifications.reminder_days,
        "a whole number",
    );

    let mut problems = r.problems;
    if let Err(invalid) = config.validate() {
        problems.extend(invalid.problems);
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError {
            production: config.app.environment.is_production(),
            problems,
        })
    }
}

impl Config {
    /// Reads the configuration from this process's environment, then [validates](Self::validate) it.
    pub fn from_env() -> Result<Self, ConfigError> {
        from_vars(&EnvVars::from_process())
    }

    /// Reads the configuration from the given variables, then [validates](Self::validate) it.
    ///
    /// ```
    /// use aiq_core::Config;
    /// let err = Config::from_vars([("PORT", "eighty")]).unwrap_err();
    /// assert!(err.to_string().contains("PORT"));
    /// ```
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ConfigError> {
        from_vars(&EnvVars::new(vars))
    }

    /// Reads the configuration from an [`EnvVars`] snapshot, then [validates](Self::validate) it.
    pub fn from_env_vars(vars: &EnvVars) -> Result<Self, ConfigError> {
        from_vars(vars)
    }
}
