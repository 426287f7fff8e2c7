//! `LogMailer` against a captured log.

use super::*;

/// Sends `message` through a `LogMailer` for `environment` and returns what it logged.
async fn log_of(environment: &str, message: Message) -> (Result<(), MailError>, String) {
    let captured = support::logs::Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    // `#[tokio::test]` runs on the current thread, so the thread's default sees every event.
    let guard = tracing::subscriber::set_default(subscriber);
    let result = LogMailer::new(&Environment::new(environment))
        .send(message)
        .await;
    drop(guard);
    (result, captured.text())
}

#[tokio::test]
async fn log_mailer_logs_the_body_outside_production() {
    let (result, log) = log_of("development", reset_message("alice@example.com")).await;

    result.unwrap();
    assert_eq!(
        log.lines().filter(|l| l.contains("INFO")).count(),
        1,
        "{log}"
    );
    assert!(log.contains("ali***@example.com"), "{log}");
    assert!(!log.contains("alice@example.com"), "{log}");
    assert!(log.contains("Reset your AIQ password"), "{log}");
    assert!(log.contains(RESET_LINK), "{log}");
}

#[tokio::test]
async fn log_mailer_never_logs_the_body_in_production() {
    for environment in ["production", "Production"] {
        let (result, log) = log_of(environment, reset_message("alice@example.com")).await;

        result.unwrap();
        assert_eq!(
            log.lines().filter(|l| l.contains("INFO")).count(),
            1,
            "{log}"
        );
        assert!(log.contains("ali***@example.com"), "{log}");
        assert!(log.contains("Reset your AIQ password"), "{log}");
        assert!(!log.contains("Zm9vYmFy-s3cr3t"), "{log}");
        assert!(!log.contains("Open this link"), "{log}");
    }
}

#[tokio::test]
async fn log_mailer_refuses_what_smtp_would_refuse() {
    let (result, log) = log_of("development", reset_message("not an address")).await;

    assert!(
        matches!(result, Err(MailError::InvalidRecipient)),
        "{result:?}"
    );
    assert!(!log.contains("token="), "{log}");
}

#[test]
fn message_debug_leaves_the_body_out() {
    let message = reset_message("alice@example.com");

    let shown = format!("{message:?} {message:#?}");

    assert!(!shown.contains("Zm9vYmFy-s3cr3t"), "{shown}");
    assert!(!shown.contains("Open this link"), "{shown}");
    assert!(!shown.contains("alice@example.com"), "{shown}");
    assert!(shown.contains("Reset your AIQ password"), "{shown}");
}
