//! Checks a [`Config`] is coherent, and that a production one is not weak.
//!
//! The production refusals are the ones `DECISIONS.md` lists: no database, short or example
//! secrets, a wildcard CORS origin, an admin dashboard without a real password hash. Each
//! problem names the variable and says what to set.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::{CorsOrigins, DOMAINS};
use crate::Config;
use crate::auth::password::is_password_hash;

/// One bad setting: the variable and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The environment variable concerned.
    pub variable: &'static str,
    /// What is wrong and how to fix it. Never contains a secret's value.
    pub message: String,
}

impl ConfigProblem {
    pub(crate) fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self {
            variable,
            message: message.into(),
        }
    }
}

/// Why a configuration was refused: every problem found, not just the first.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    /// Whether the refused configuration was a production one.
    pub production: bool,
    /// The problems, in the order the variables were read.
    pub problems: Vec<ConfigProblem>,
}

impl ConfigError {
    /// Whether `variable` is among the problems.
    pub fn names(&self, variable: &str) -> bool {
        self.problems.iter().any(|p| p.variable == variable)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = if self.production {
            "invalid configuration (ENV=production)"
        } else {
            "invalid configuration"
        };
        write!(f, "{scope}:")?;
        for problem in &self.problems {
            write!(f, "\n  - {}: {}", problem.variable, problem.message)?;
        }
        Ok(())
    }
}

/// Secrets shorter than this are refused in production.
const MIN_SECRET_BYTES: usize = 32;

/// Values that appear in the old backend's `.env.example`, our README and similar documents.
/// A production secret equal to (or starting with) one of them is refused.
const EXAMPLE_SECRET_PREFIXES: [&str; 6] = [
    "dev-secret-key-change-in-production",
    "dev-jwt-secret-key",
    "change-this-admin-token-in-production",
    "your-secret-key",
    "changeme",
    "replace-me",
];

fn weak_secret(secret: &SecretString) -> Option<&'static str> {
    let value = secret.expose_secret();
    let lowered = value.to_ascii_lowercase();
    if EXAMPLE_SECRET_PREFIXES
        .iter()
        .any(|example| lowered.starts_with(example))
    {
        Some("is an example value from the documentation")
    } else if value.len() < MIN_SECRET_BYTES {
        Some("is shorter than 32 bytes")
    } else {
        None
    }
}

impl Config {
    /// Checks the configuration; with `ENV=production` it also refuses weak settings.
    ///
    /// ```
    /// use aiq_core::Config;
    /// use aiq_core::config::Environment;
    /// let mut config = Config::default();
    /// config.app.environment = Environment::new("production");
    /// let err = config.validate().unwrap_err();
    /// assert!(err.names("DATABASE_URL"));
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut problem = |variable, message: &str| {
            problems.push(ConfigProblem::new(variable, message));
        };

        let prefix = &self.app.api_prefix;
        if !prefix.starts_with('/') || prefix.len() < 2 || prefix.ends_with('/') {
            problem(
                "API_V1_PREFIX",
                "must start with '/' and not end with '/', e.g. /v1",
            );
        }
        if self.security.jwt_secret_key.expose_secret().is_empty() {
            problem("JWT_SECRET_KEY", "must not be empty");
        }
        if self.rate_limit.default_limit == 0 {
            problem("RATE_LIMIT_DEFAULT_LIMIT", "must be at least 1");
        }
        if self.rate_limit.default_window.is_zero() {
            problem("RATE_LIMIT_DEFAULT_WINDOW", "must be at least 1 second");
        }
        if self.http.request_timeout.is_zero() {
            problem("REQUEST_TIMEOUT_SECONDS", "must be at least 1 second");
        }
        if self.database.pool_size == 0 {
            problem("DB_POOL_SIZE", "must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.otel.traces_sample_rate) {
            problem("OTEL_TRACES_SAMPLE_RATE", "must be between 0.0 and 1.0");
        }
        if let Some(port) = self.otel.metrics_port {
            if !self.otel.prometheus_enabled {
                problem(
                    "METRICS_PORT",
                    "serves the Prometheus exposition: set PROMETHEUS_METRICS_ENABLED=true too, or unset METRICS_PORT",
                );
            } else if port != 0 && port == self.app.port {
                problem("METRICS_PORT", "must differ from PORT");
            }
        }
        if self.otel.metrics_export_interval.is_zero() {
            problem("OTEL_METRICS_EXPORT_INTERVAL_MILLIS", "must be at least 1");
        }
        if self.test_rules.total_questions == 0 {
            problem("TEST_TOTAL_QUESTIONS", "must be at least 1");
        }
        let weights = &self.test_rules.domain_weights;
        if !weights.keys().map(String::as_str).eq({
            let mut sorted = DOMAINS;
            sorted.sort_unstable();
            sorted
        }) {
            problem(
                "TEST_DOMAIN_WEIGHTS",
                "must have exactly the keys pattern, logic, verbal, spatial, math, memory",
            );
        } else if weights.values().any(|w| *w <= 0.0) {
            problem("TEST_DOMAIN_WEIGHTS", "every weight must be positive");
        } else if (weights.values().sum::<f64>() - 1.0).abs() > 1e-6 {
            problem("TEST_DOMAIN_WEIGHTS", "the weights must sum to 1.0");
        }
        let difficulty = &self.test_rules.difficulty_distribution;
        if !difficulty
            .keys()
            .map(String::as_str)
            .eq(["easy", "hard", "medium"])
            || difficulty.values().any(|w| *w < 0.0)
            || (difficulty.values().sum::<f64>() - 1.0).abs() > 1e-6
        {
            problem(
                "TEST_DIFFICULTY_DISTRIBUTION",
                "must have the keys easy, medium, hard with non-negative shares summing to 1.0",
            );
        }
        // Without the `postgres` feature the service refuses `DATABASE_URL` when it is built.
        #[cfg(feature = "postgres")]
        if let Some(url) = &self.database.url
            && !crate::storage::postgres_url_is_valid(url.expose_secret())
        {
            problem(
                "DATABASE_URL",
                "must be a PostgreSQL URL such as postgresql://user:password@host:5432/dbname",
            );
        }
        if self.smtp.enabled {
            if self.smtp.host.is_empty() {
                problem("SMTP_HOST", "must be set when SMTP is enabled");
            }
            if !self.smtp.username.is_empty() && self.smtp.password.is_none() {
                problem("SMTP_PASSWORD", "must be set when SMTP_USERNAME is");
            }
            if !self.smtp.from_email.contains('@') {
                problem("SMTP_FROM_EMAIL", "must be an email address");
            }
        }
        if self.admin.enabled
            && !self
                .admin
                .password_hash
                .as_ref()
                .is_some_and(|h| is_password_hash(h.expose_secret()))
        {
            problem(
                "ADMIN_PASSWORD_HASH",
                "must be a bcrypt or argon2 hash when ADMIN_ENABLED is true; generate one with `aiq-admin hash-password`",
            );
        }

        if self.app.environment.is_production() {
            if self.database.url.is_none() {
                problem(
                    "DATABASE_URL",
                    "is required in production (the in-memory store loses all data on restart); on Railway set it to ${{Postgres.DATABASE_URL}}",
                );
            }
            if self.security.secrets_generated {
                for variable in ["SECRET_KEY", "JWT_SECRET_KEY"] {
                    problem(
                        variable,
                        "is required in production; generate one with `openssl rand -hex 32`",
                    );
                }
            } else {
                for (variable, secret) in [
                    ("SECRET_KEY", &self.security.secret_key),
                    ("JWT_SECRET_KEY", &self.security.jwt_secret_key),
                ] {
                    if let Some(why) = weak_secret(secret) {
                        problem(
                            variable,
                            &format!("{why}; generate one with `openssl rand -hex 32`"),
                        );
                    }
                }
                if self.security.secret_key.expose_secret()
                    == self.security.jwt_secret_key.expose_secret()
                {
                    problem(
                        "JWT_SECRET_KEY",
                        "must differ from SECRET_KEY; generate one with `openssl rand -hex 32`",
                    );
                }
            }
            if let Some(token) = &self.admin.token
                && let Some(why) = weak_secret(token)
            {
                problem(
                    "ADMIN_TOKEN",
                    &format!("{why}; generate one with `openssl rand -hex 32`"),
                );
            }
            for (variable, url) in [
                ("APPLE_JWKS_URL", &self.oauth.apple_jwks_url),
                ("GOOGLE_JWKS_URL", &self.oauth.google_jwks_url),
            ] {
                if !url.starts_with("https://") {
                    problem(variable, "must be an https:// URL in production");
                }
            }
            if self.http.cors_origins == CorsOrigins::Any {
                problem(
                    "CORS_ORIGINS",
                    "must not contain '*' in production; list the allowed origins, e.g. https://a-iq-test.com",
                );
            }
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                production: self.app.environment.is_production(),
                problems,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_password_hashes() {
        assert!(is_password_hash(
            "$2b$12$KIXQJ8ZqZ6Yx3o2o9mZ3UOZ8r0x1Qk5m7Gm9z2vJ6c3WlS0e4rN2e"
        ));
        assert!(is_password_hash(
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
        ));
        assert!(!is_password_hash("$2b$12$example"));
        assert!(!is_password_hash("hunter2"));
    }

    #[test]
    fn weak_secrets_are_named_without_their_value() {
        let short = SecretString::from("short".to_owned());
        assert_eq!(weak_secret(&short), Some("is shorter than 32 bytes"));
        let example = SecretString::from(
            "dev-secret-key-change-in-production-use-random-64-char-string".to_owned(),
        );
        assert_eq!(
            weak_secret(&example),
            Some("is an example value from the documentation")
        );
        let good = SecretString::from("9f1c4e0b7a2d4c6e8f0a1b3c5d7e9f11aa22bb33".to_owned());
        assert_eq!(weak_secret(&good), None);
    }
}
