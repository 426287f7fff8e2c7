//! Reading the configuration from environment variables, and what production refuses.

use std::time::Duration;

use aiq_core::Config;
use aiq_core::config::{CorsOrigins, JwtAlgorithm, LogLevel, RateLimitStrategy};

const STRONG_SECRET: &str = "4f9d1c2b7e8a6f5d3c1b0a9e8d7c6b5a-strong";
const STRONG_JWT: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90-strong";
const BCRYPT_HASH: &str = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";

/// Environment variables as name/value pairs.
type Vars = Vec<(&'static str, String)>;

/// A production environment that passes every check; tests remove or spoil one variable.
fn production() -> Vars {
    vec![
        ("ENV", "production".into()),
        (
            "DATABASE_URL",
            "postgresql://aiq:pw@db.internal:5432/railway".into(),
        ),
        ("SECRET_KEY", STRONG_SECRET.into()),
        ("JWT_SECRET_KEY", STRONG_JWT.into()),
        ("CORS_ORIGINS", "https://a-iq-test.com".into()),
    ]
}

fn with(mut vars: Vars, name: &'static str, value: &str) -> Vars {
    vars.retain(|(k, _)| *k != name);
    vars.push((name, value.to_owned()));
    vars
}

fn without(mut vars: Vars, name: &str) -> Vars {
    vars.retain(|(k, _)| *k != name);
    vars
}

#[test]
fn defaults_are_the_old_backends() {
    let config = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
    assert_eq!(config.app.name, "AIQ API");
    assert_eq!(config.app.version, "0.1.0");
    assert_eq!(config.app.environment.name(), "development");
    assert_eq!(config.app.api_prefix, "/v1");
    assert_eq!(config.app.port, 8000);
    assert_eq!(config.app.log_level, LogLevel::Info);
    assert_eq!(config.security.jwt_algorithm, JwtAlgorithm::Hs256);
    assert_eq!(
        config.security.access_token_ttl,
        Duration::from_secs(30 * 60)
    );
    assert_eq!(
        config.security.refresh_token_ttl,
        Duration::from_secs(7 * 86400)
    );
    assert!(config.security.secrets_generated);
    assert_eq!(config.rate_limit.strategy, RateLimitStrategy::TokenBucket);
    assert_eq!(config.rate_limit.default_limit, 100);
    assert_eq!(config.test_rules.total_questions, 25);
    assert_eq!(config.test_rules.cadence_days, 90);
    assert_eq!(config.test_rules.domain_weights["pattern"], 0.22);
    assert_eq!(config.guest.test_limit, 3);
    assert_eq!(config.guest.token_ttl, Duration::from_secs(45 * 60));
    assert!(config.database.url.is_none());
    assert_eq!(
        config.http.cors_origins,
        CorsOrigins::List(vec![
            "http://localhost:3000".into(),
            "http://localhost:8080".into(),
            "http://localhost:8081".into()
        ])
    );
}

#[test]
fn cors_origins_take_a_comma_list_or_a_json_array() {
    let expected = CorsOrigins::List(vec!["https://a.example".into(), "https://b.example".into()]);
    for value in [
        "https://a.example,https://b.example",
        r#"["https://a.example", "https://b.example"]"#,
    ] {
        let config = Config::from_vars([("CORS_ORIGINS", value)]).unwrap();
        assert_eq!(config.http.cors_origins, expected, "{value}");
    }
    let config = Config::from_vars([("CORS_ORIGINS", "*")]).unwrap();
    assert!(config.http.cors_origins.is_any());
}

#[test]
fn env_falls_back_to_railway_environment() {
    let config = Config::from_vars([("RAILWAY_ENVIRONMENT", "staging")]).unwrap();
    assert_eq!(config.app.environment.name(), "staging");
    let config =
        Config::from_vars([("RAILWAY_ENVIRONMENT", "staging"), ("ENV", "development")]).unwrap();
    assert_eq!(config.app.environment.name(), "development");
    let err = Config::from_vars([("RAILWAY_ENVIRONMENT", "production")]).unwrap_err();
    assert!(err.production && err.names("DATABASE_URL"), "{err}");
}

#[test]
fn every_bad_value_is_reported_with_its_variable_and_what_it_accepts() {
    let err = Config::from_vars([
        ("PORT", "eighty"),
        ("LOG_LEVEL", "loud"),
        ("DEBUG", "sometimes"),
        ("RATE_LIMIT_STRATEGY", "leaky_bucket"),
        ("TEST_DOMAIN_WEIGHTS", r#"{"pattern": 1.0}"#),
        ("OTEL_TRACES_SAMPLE_RATE", "2"),
    ])
    .unwrap_err();
    let text = err.to_string();
    for (variable, accepts) in [
        ("PORT", "a port number"),
        ("LOG_LEVEL", "TRACE, DEBUG, INFO"),
        ("DEBUG", "true or false"),
        (
            "RATE_LIMIT_STRATEGY",
            "token_bucket, sliding_window, fixed_window",
        ),
        (
            "TEST_DOMAIN_WEIGHTS",
            "pattern, logic, verbal, spatial, math, memory",
        ),
        ("OTEL_TRACES_SAMPLE_RATE", "between 0.0 and 1.0"),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("{variable}:")))
            .unwrap_or_else(|| panic!("{variable} missing from:\n{text}"));
        assert!(line.contains(accepts), "{line}");
    }
}

#[test]
fn domain_weights_must_sum_to_one() {
    let weights =
        r#"{"pattern":0.5,"logic":0.2,"verbal":0.19,"spatial":0.16,"math":0.13,"memory":0.10}"#;
    let err = Config::from_vars([("TEST_DOMAIN_WEIGHTS", weights)]).unwrap_err();
    assert!(err.to_string().contains("sum to 1.0"), "{err}");
}

#[test]
fn a_complete_production_configuration_is_accepted() {
    let config = Config::from_vars(production()).unwrap();
    assert!(config.app.environment.is_production());
    assert!(!config.security.secrets_generated);
    let config = Config::from_vars(with(
        with(production(), "ADMIN_ENABLED", "true"),
        "ADMIN_PASSWORD_HASH",
        BCRYPT_HASH,
    ))
    .unwrap();
    assert!(config.admin.enabled);
}

#[test]
fn production_refuses_each_weak_setting_naming_the_variable() {
    let cases: Vec<(&str, Vars, &str)> = vec![
        (
            "DATABASE_URL",
            without(production(), "DATABASE_URL"),
            "is required in production",
        ),
        (
            "SECRET_KEY",
            without(without(production(), "SECRET_KEY"), "JWT_SECRET_KEY"),
            "is required",
        ),
        (
            "SECRET_KEY",
            with(production(), "SECRET_KEY", "short-secret"),
            "shorter than 32 bytes",
        ),
        (
            "JWT_SECRET_KEY",
            with(
                production(),
                "JWT_SECRET_KEY",
                "dev-jwt-secret-key-change-in-production-0123456789",
            ),
            "example value",
        ),
        (
            "JWT_SECRET_KEY",
            with(production(), "JWT_SECRET_KEY", STRONG_SECRET),
            "must differ",
        ),
        (
            "CORS_ORIGINS",
            with(production(), "CORS_ORIGINS", "https://a-iq-test.com,*"),
            "must not contain '*'",
        ),
        (
            "ADMIN_PASSWORD_HASH",
            with(production(), "ADMIN_ENABLED", "true"),
            "bcrypt or argon2 hash",
        ),
        (
            "ADMIN_PASSWORD_HASH",
            with(
                with(production(), "ADMIN_ENABLED", "true"),
                "ADMIN_PASSWORD_HASH",
                "$2b$12$example",
            ),
            "bcrypt or argon2 hash",
        ),
        (
            "ADMIN_TOKEN",
            with(
                production(),
                "ADMIN_TOKEN",
                "change-this-admin-token-in-production",
            ),
            "example value",
        ),
    ];
    for (variable, vars, why) in cases {
        let err = Config::from_vars(vars).unwrap_err();
        let line = err
            .to_string()
            .lines()
            .find(|l| l.contains(&format!("{variable}:")))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{variable} not named in:\n{err}"));
        assert!(line.contains(why), "{line}");
        assert!(err.production);
    }
}

#[test]
fn refusals_never_print_secret_values() {
    let err = Config::from_vars(with(
        with(production(), "SECRET_KEY", "tiny-secret-value"),
        "DATABASE_URL",
        "mysql://root:hunter2@db/aiq",
    ))
    .unwrap_err();
    let text = err.to_string();
    assert!(
        err.names("SECRET_KEY") && err.names("DATABASE_URL"),
        "{text}"
    );
    assert!(!text.contains("tiny-secret-value"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn development_accepts_what_production_refuses() {
    let config = Config::from_vars([("CORS_ORIGINS", "*"), ("SECRET_KEY", "short")]).unwrap();
    assert!(config.http.cors_origins.is_any());
    // One secret given, the other generated: still a development convenience.
    assert!(config.security.secrets_generated);
}

#[test]
fn metrics_port_needs_the_prometheus_exposition_and_a_port_of_its_own() {
    let config = Config::from_vars([
        ("PROMETHEUS_METRICS_ENABLED", "true"),
        ("METRICS_PORT", "9464"),
    ])
    .unwrap();
    assert_eq!(config.otel.metrics_port, Some(9464));
    assert_eq!(Config::default().otel.metrics_port, None);

    let err = Config::from_vars([("METRICS_PORT", "9464")]).unwrap_err();
    assert!(err.names("METRICS_PORT"), "{err}");
    assert!(
        err.to_string().contains("PROMETHEUS_METRICS_ENABLED"),
        "{err}"
    );
    let err = Config::from_vars([
        ("PROMETHEUS_METRICS_ENABLED", "true"),
        ("PORT", "8000"),
        ("METRICS_PORT", "8000"),
    ])
    .unwrap_err();
    assert!(err.names("METRICS_PORT"), "{err}");
    let err = Config::from_vars([("METRICS_PORT", "ninety")]).unwrap_err();
    assert!(err.to_string().contains("a port number"), "{err}");
}
