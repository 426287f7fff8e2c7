//! Password reset through the service: the mailed link, single use, session revocation, and an
//! answer that does not reveal whether an account exists.

#[macro_use]
mod support;

use std::sync::Arc;

use aiq_core::storage::Storage;
use aiq_core::{Aiq, AiqService, Config};
use http::{Method, StatusCode};
use serde_json::json;
use support::{RecordingMailer, detail, json as json_request, login, profile, register, send};

const REQUESTED: &str =
    "If an account exists with that email, you will receive password reset instructions.";

/// A service whose mail the test reads, on `store`.
fn with_mail(
    store: Arc<dyn Storage>,
) -> (
    AiqService,
    tokio::sync::mpsc::UnboundedReceiver<aiq_core::mail::Message>,
) {
    let (mailer, inbox) = RecordingMailer::new();
    let mut config = Config::default();
    config.security.password_reset_url_base = "https://app.example/reset?token=".into();
    let service = Aiq::builder(config)
        .storage(store)
        .mailer(mailer)
        .build()
        .unwrap();
    (service, inbox)
}

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    with_mail(store).0
}

async fn request(service: &AiqService, email: &str) -> support::Reply {
    send(
        service,
        json_request(
            Method::POST,
            "/v1/auth/request-password-reset",
            json!({"email": email}),
            None,
        ),
    )
    .await
}

async fn reset(service: &AiqService, token: &str, password: &str) -> support::Reply {
    send(
        service,
        json_request(
            Method::POST,
            "/v1/auth/reset-password",
            json!({"token": token, "new_password": password}),
            None,
        ),
    )
    .await
}

/// The token in the next mail, after checking the mail itself.
async fn next_token(
    inbox: &mut tokio::sync::mpsc::UnboundedReceiver<aiq_core::mail::Message>,
    to: &str,
) -> String {
    let message = tokio::time::timeout(support::PATIENCE, inbox.recv())
        .await
        .expect("a reset mail is sent")
        .unwrap();
    assert_eq!(message.to, to);
    assert!(message.subject.contains("Reset"), "{}", message.subject);
    let link = message
        .text_body
        .lines()
        .find(|line| line.starts_with("https://app.example/reset?token="))
        .expect("the body carries the link");
    let token = link
        .trim_start_matches("https://app.example/reset?token=")
        .to_owned();
    assert_eq!(token.len(), 43, "32 random bytes, URL-safe base64");
    token
}

both_stores!(reset_flow_changes_the_password_once_and_signs_everything_out);

async fn reset_flow_changes_the_password_once_and_signs_everything_out(
    _unused: AiqService,
    store: Arc<dyn Storage>,
) {
    let (service, mut inbox) = with_mail(store);
    let registered = register(&service, "forgetful@example.com").await;

    let reply = request(&service, "  Forgetful@Example.com ").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"message": REQUESTED}));
    let token = next_token(&mut inbox, "forgetful@example.com").await;

    let weak = reset(&service, &token, "password").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = reset(&service, &token, "brand new pass 7").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(
        done.json(),
        json!({"message": "Password has been reset successfully."})
    );

    let again = reset(&service, &token, "another new pass 8").await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&again),
        "Invalid or expired password reset token. Please request a new one."
    );

    assert_eq!(
        login(&service, "forgetful@example.com", "correct horse 9")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&service, "forgetful@example.com", "brand new pass 7")
            .await
            .status,
        StatusCode::OK
    );
    let old_access = registered["access_token"].as_str().unwrap();
    assert_eq!(
        detail(&profile(&service, old_access).await),
        "Token has been revoked."
    );
}

#[tokio::test]
async fn unknown_emails_get_the_same_answer_and_no_mail() {
    let (service, mut inbox) = with_mail(Arc::new(aiq_core::storage::MemoryStore::new()));
    register(&service, "known@example.com").await;
    let unknown = request(&service, "nobody@example.com").await;
    let known = request(&service, "known@example.com").await;
    assert_eq!(
        (unknown.status, known.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(unknown.body, known.body);
    next_token(&mut inbox, "known@example.com").await;
    assert!(
        inbox.try_recv().is_err(),
        "nothing was mailed for the unknown address"
    );

    let invalid = request(&service, "not an email").await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_newer_link_retires_the_older_one() {
    let (service, mut inbox) = with_mail(Arc::new(aiq_core::storage::MemoryStore::new()));
    register(&service, "twice@example.com").await;
    request(&service, "twice@example.com").await;
    let first = next_token(&mut inbox, "twice@example.com").await;
    request(&service, "twice@example.com").await;
    let second = next_token(&mut inbox, "twice@example.com").await;
    assert_ne!(first, second);
    assert_eq!(
        reset(&service, &first, "brand new pass 7").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        reset(&service, &second, "brand new pass 7").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn made_up_tokens_are_refused() {
    let (service, _inbox) = with_mail(Arc::new(aiq_core::storage::MemoryStore::new()));
    let reply = reset(&service, "made-up-token", "brand new pass 7").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = reset(&service, "", "brand new pass 7").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
}
