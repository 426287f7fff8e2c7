//! The settings of what the service talks to: telemetry export, Sign in with Apple / Google,
//! APNs, SMTP, and the reminders' timing.

use std::time::Duration;

use secrecy::SecretString;

/// Which OpenTelemetry exporter the binaries install (`OTEL_EXPORTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtelExporter {
    /// OTLP over HTTP to `OTEL_OTLP_ENDPOINT`.
    Otlp,
    /// Printed to stdout.
    #[default]
    Console,
    /// Nothing is exported.
    None,
}

/// Telemetry export settings (used by the binaries; the library only emits `tracing` data).
#[derive(Debug, Clone)]
pub struct OtelConfig {
    /// `OTEL_ENABLED`.
    pub enabled: bool,
    /// `OTEL_SERVICE_NAME`.
    pub service_name: String,
    /// `OTEL_EXPORTER`.
    pub exporter: OtelExporter,
    /// `OTEL_OTLP_ENDPOINT`: base URL; `/v1/traces`, `/v1/metrics` and `/v1/logs` are appended.
    pub otlp_endpoint: String,
    /// `OTEL_EXPORTER_OTLP_HEADERS`: `Key=Value,...` sent with every export.
    pub otlp_headers: Option<SecretString>,
    /// `OTEL_TRACES_SAMPLE_RATE`: parent-based ratio between 0 and 1.
    pub traces_sample_rate: f64,
    /// `OTEL_METRICS_ENABLED`.
    pub metrics_enabled: bool,
    /// `OTEL_METRICS_EXPORT_INTERVAL_MILLIS`.
    pub metrics_export_interval: Duration,
    /// `OTEL_LOGS_ENABLED`.
    pub logs_enabled: bool,
    /// `PROMETHEUS_METRICS_ENABLED`: serve the Prometheus exposition.
    pub prometheus_enabled: bool,
    /// `METRICS_PORT`: serve the exposition at `/metrics` on this port of `HOST` instead of at
    /// `/v1/metrics` on the API port (which then answers 404), so it need not be public.
    /// `0` picks a free port. Unset by default.
    pub metrics_port: Option<u16>,
}

impl Default for OtelConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            service_name: "aiq-backend".into(),
            exporter: OtelExporter::Console,
            otlp_endpoint: "http://localhost:4318".into(),
            otlp_headers: None,
            traces_sample_rate: 1.0,
            metrics_enabled: false,
            metrics_export_interval: Duration::from_millis(60_000),
            logs_enabled: false,
            prometheus_enabled: false,
            metrics_port: None,
        }
    }
}

/// Sign in with Apple and Google.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// `APPLE_OAUTH_CLIENT_IDS`: accepted `aud` values; empty disables Apple sign-in.
    pub apple_client_ids: Vec<String>,
    /// `GOOGLE_OAUTH_CLIENT_IDS`: accepted `aud` values; empty disables Google sign-in.
    pub google_client_ids: Vec<String>,
    /// `OAUTH_JWKS_CACHE_TTL_SECONDS`.
    pub jwks_cache_ttl: Duration,
    /// `APPLE_JWKS_URL`: where Apple's signing keys are fetched (tests point it elsewhere).
    pub apple_jwks_url: String,
    /// `GOOGLE_JWKS_URL`: where Google's signing keys are fetched.
    pub google_jwks_url: String,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            apple_client_ids: Vec::new(),
            google_client_ids: Vec::new(),
            jwks_cache_ttl: Duration::from_secs(3600),
            apple_jwks_url: "https://appleid.apple.com/auth/keys".into(),
            google_jwks_url: "https://www.googleapis.com/oauth2/v3/certs".into(),
        }
    }
}

/// Apple Push Notification service credentials.
#[derive(Debug, Clone, Default)]
pub struct ApnsConfig {
    /// `APNS_KEY_ID`.
    pub key_id: String,
    /// `APNS_TEAM_ID`.
    pub team_id: String,
    /// `APNS_BUNDLE_ID`.
    pub bundle_id: String,
    /// `APNS_KEY_PATH`: the `.p8` signing key.
    pub key_path: String,
    /// `APNS_USE_SANDBOX`.
    pub use_sandbox: bool,
}

/// How the SMTP connection is secured (`SMTP_TLS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587; the default).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

/// Outgoing mail.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `SMTP_ENABLED`: send mail through SMTP; by default true when `SMTP_USERNAME` is set.
    /// Otherwise mail is only logged.
    pub enabled: bool,
    /// `SMTP_TLS`: `starttls`, `tls` or `none`.
    pub tls: SmtpTls,
    /// `SMTP_HOST`.
    pub host: String,
    /// `SMTP_PORT`.
    pub port: u16,
    /// `SMTP_USERNAME`.
    pub username: String,
    /// `SMTP_PASSWORD`.
    pub password: Option<SecretString>,
    /// `SMTP_FROM_EMAIL`.
    pub from_email: String,
    /// `SMTP_FROM_NAME`.
    pub from_name: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            tls: SmtpTls::StartTls,
            host: "smtp.gmail.com".into(),
            port: 587,
            username: String::new(),
            password: None,
            from_email: "noreply@a-iq-test.com".into(),
            from_name: "AIQ Support".into(),
        }
    }
}

/// Push reminder timing.
#[derive(Debug, Clone)]
pub struct NotificationConfig {
    /// `NOTIFICATION_ADVANCE_DAYS`: remind this many days before the cadence ends.
    pub advance_days: u32,
    /// `NOTIFICATION_REMINDER_DAYS`: how long after the cadence ends reminders continue.
    pub reminder_days: u32,
}

impl Default for NotificationConfig {
    fn default() -> Self {
        Self {
            advance_days: 0,
            reminder_days: 7,
        }
    }
}
