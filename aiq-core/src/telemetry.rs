//! The metrics the service records, in one place: their names and the histogram buckets.
//!
//! The library records through the `metrics` facade; the embedding binary installs a recorder
//! (`aiq-server` installs a Prometheus one when `PROMETHEUS_METRICS_ENABLED`). Names follow the
//! deployment guide with dots; Prometheus shows them as [`exposition_names`] says: dots become
//! underscores and counters end in `_total` (`http.server.requests` ->
//! `http_server_requests_total`, histograms -> `http_server_request_duration_bucket/_sum/_count`),
//! which are also the names Grafana Cloud gives the same metrics received over OTLP. Labels are
//! never ids: routes are templates, and paths no route knows share the route label `unmatched`.

/// Target of the client spans around storage and Redis calls (`db.query`, `redis`): children
/// of the request span, for trace export. No log line is ever written inside them, so a log
/// formatter may leave them out (`aiq-server` does).
///
/// ```
/// assert_eq!(aiq_core::telemetry::CLIENT_SPANS, "aiq::client");
/// ```
pub const CLIENT_SPANS: &str = "aiq::client";

/// Counter: requests, by `http.method`, `http.route`, `http.status_code`.
pub const HTTP_REQUESTS: &str = "http.server.requests";
/// Histogram (seconds): request duration, same labels.
pub const HTTP_REQUEST_DURATION: &str = "http.server.request.duration";
/// Histogram (seconds): one storage operation on PostgreSQL, by `db.operation` (the storage
/// call, e.g. `user_by_id`) and `db.table`.
pub const DB_QUERY_DURATION: &str = "db.query.duration";
/// Counter: logins (password and OAuth), by `auth.success`.
pub const AUTH_LOGIN: &str = "auth.login";
/// Counter: accounts created (registration, first OAuth sign-in).
pub const USERS_REGISTRATIONS: &str = "users.registrations";
/// Counter: rate-limit denials, by `route`.
pub const RATELIMIT_DENIED: &str = "ratelimit.denied";
/// Counter: rate-limit checks answered per instance because Redis was unreachable.
pub const RATELIMIT_FALLBACK_CHECKS: &str = "ratelimit.fallback_checks";
/// Gauge: keys tracked by an in-process rate limiter.
pub const RATELIMIT_TRACKED_KEYS: &str = "ratelimit.tracked_keys";
/// Counter: keys an in-process rate limiter forgot to stay under `RATE_LIMIT_MAX_KEYS` while
/// they still held some state (never a limited key).
pub const RATELIMIT_EVICTIONS: &str = "ratelimit.evictions";

/// Counter: server-side failures answered with a 5xx, by `error.type` (`internal`: a bug or an
/// unexpected backend answer, logged with an error id; `unavailable`: a dependency such as the
/// database could not be reached; `panic`: a handler panicked).
pub const APP_ERRORS: &str = "app.errors";
/// Gauge: test sessions in progress across all users (set from storage at start-up by
/// [`crate::AiqService::sync_gauges`], then moved by starts, submits and abandons).
pub const TEST_SESSIONS_ACTIVE: &str = "test.sessions.active";
/// Counter: test sessions started, by `test.kind` (`user`, `guest`).
pub const TEST_SESSIONS_STARTED: &str = "test.sessions.started";
/// Counter: test sessions completed, by `test.kind`.
pub const TEST_SESSIONS_COMPLETED: &str = "test.sessions.completed";
/// Counter: test sessions abandoned, by `test.kind`.
pub const TEST_SESSIONS_ABANDONED: &str = "test.sessions.abandoned";
/// Histogram: IQ scores of completed tests (buckets [`IQ_SCORE_BUCKETS`]).
pub const TEST_IQ_SCORE: &str = "test.iq_score";
/// Counter: questions served in tests.
pub const QUESTIONS_SERVED: &str = "questions.served";
/// Counter: items moved to `under_review` by the statistics job.
pub const QUESTIONS_FLAGGED: &str = "questions.flagged";
/// Counter: push notifications handed to APNs, labelled `notification.success` and
/// `notification.type`.
pub const NOTIFICATIONS_APNS: &str = "notifications.apns";

/// Bucket bounds for [`TEST_IQ_SCORE`]: 5-point steps over the reachable range.
pub const IQ_SCORE_BUCKETS: [f64; 17] = [
    80.0, 85.0, 90.0, 95.0, 100.0, 105.0, 110.0, 115.0, 120.0, 125.0, 130.0, 135.0, 140.0, 145.0,
    150.0, 155.0, 160.0,
];

/// Bucket bounds, in seconds (5 ms to 10 s), for every histogram whose name ends in `duration`.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Every histogram the service records, with its bucket bounds: what a recorder (Prometheus,
/// OpenTelemetry) is configured with, so both expose the same buckets.
///
/// ```
/// use aiq_core::telemetry::{HISTOGRAMS, HTTP_REQUEST_DURATION};
/// let (_, bounds) = HISTOGRAMS.iter().find(|(name, _)| *name == HTTP_REQUEST_DURATION).unwrap();
/// assert_eq!(bounds.first(), Some(&0.005));
/// ```
pub const HISTOGRAMS: [(&str, &[f64]); 3] = [
    (HTTP_REQUEST_DURATION, &DURATION_BUCKETS),
    (DB_QUERY_DURATION, &DURATION_BUCKETS),
    (TEST_IQ_SCORE, &IQ_SCORE_BUCKETS),
];

/// What kind of instrument a metric is, which decides its names in Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up; shown with a `_total` suffix.
    Counter,
    /// Goes up and down; shown as it is.
    Gauge,
    /// Distribution; shown as `_bucket`, `_sum` and `_count` series.
    Histogram,
}

/// Every metric the service records, with its kind.
///
/// ```
/// use aiq_core::telemetry::{HTTP_REQUESTS, Kind, METRICS};
/// assert!(METRICS.contains(&(HTTP_REQUESTS, Kind::Counter)));
/// ```
pub const METRICS: [(&str, Kind); 18] = [
    (HTTP_REQUESTS, Kind::Counter),
    (HTTP_REQUEST_DURATION, Kind::Histogram),
    (DB_QUERY_DURATION, Kind::Histogram),
    (AUTH_LOGIN, Kind::Counter),
    (USERS_REGISTRATIONS, Kind::Counter),
    (RATELIMIT_DENIED, Kind::Counter),
    (RATELIMIT_FALLBACK_CHECKS, Kind::Counter),
    (RATELIMIT_TRACKED_KEYS, Kind::Gauge),
    (RATELIMIT_EVICTIONS, Kind::Counter),
    (APP_ERRORS, Kind::Counter),
    (TEST_SESSIONS_ACTIVE, Kind::Gauge),
    (TEST_SESSIONS_STARTED, Kind::Counter),
    (TEST_SESSIONS_COMPLETED, Kind::Counter),
    (TEST_SESSIONS_ABANDONED, Kind::Counter),
    (TEST_IQ_SCORE, Kind::Histogram),
    (QUESTIONS_SERVED, Kind::Counter),
    (QUESTIONS_FLAGGED, Kind::Counter),
    (NOTIFICATIONS_APNS, Kind::Counter),
];

/// The series names under which Prometheus shows a metric: the name with underscores for dots,
/// `_total` after a counter's, `_bucket`, `_sum` and `_count` after a histogram's. These are the
/// names of the `/v1/metrics` exposition (OpenMetrics' recommended naming; the instruments
/// declare no unit, so no unit suffix) and the names Grafana Cloud stores the OTLP export
/// under, so one dashboard reads either.
///
/// ```
/// use aiq_core::telemetry::{Kind, exposition_names};
/// assert_eq!(exposition_names("http.server.requests", Kind::Counter), ["http_server_requests_total"]);
/// assert_eq!(exposition_names("test.sessions.active", Kind::Gauge), ["test_sessions_active"]);
/// assert_eq!(
///     exposition_names("db.query.duration", Kind::Histogram),
///     ["db_query_duration_bucket", "db_query_duration_sum", "db_query_duration_count"],
/// );
/// ```
pub fn exposition_names(name: &str, kind: Kind) -> Vec<String> {
    let base = name.replace('.', "_");
    let suffixes: &[&str] = match kind {
        Kind::Counter => &["_total"],
        Kind::Gauge => &[""],
        Kind::Histogram => &["_bucket", "_sum", "_count"],
    };
    suffixes
        .iter()
        .map(|suffix| format!("{base}{suffix}"))
        .collect()
}
