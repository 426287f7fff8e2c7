//! The security audit log during a whole auth flow: the events are there, with masked emails,
//! and no password, token or reset link appears in any log line.

mod support;

use std::sync::Arc;

use aiq_core::storage::MemoryStore;
use aiq_core::{Aiq, Config};
use http::Method;
use serde_json::json;
use support::logs::Captured;
use support::{RecordingMailer, authed, json as json_request, login, register, send};

#[tokio::test]
async fn the_auth_flow_logs_security_events_and_no_secrets() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.subscriber());

    let (mailer, mut inbox) = RecordingMailer::new();
    let service = Aiq::builder(Config::default())
        .storage(Arc::new(MemoryStore::new()))
        .mailer(mailer)
        .build()
        .unwrap();

    let registered = register(&service, "audited.person@example.com").await;
    let wrong = login(&service, "audited.person@example.com", "wrong password 1").await;
    assert_eq!(wrong.status, 401);
    let logged_in = login(&service, "audited.person@example.com", "correct horse 9")
        .await
        .json();
    let refresh = logged_in["refresh_token"].as_str().unwrap();
    let refreshed = send(&service, authed(Method::POST, "/v1/auth/refresh", refresh))
        .await
        .json();
    let access = refreshed["access_token"].as_str().unwrap();
    send(&service, authed(Method::POST, "/v1/auth/logout", access)).await;
    send(
        &service,
        json_request(
            Method::POST,
            "/v1/auth/request-password-reset",
            json!({"email": "audited.person@example.com"}),
            None,
        ),
    )
    .await;
    let reset_mail = inbox.recv().await.unwrap();
    let reset_token = reset_mail
        .text_body
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let reply = send(
        &service,
        json_request(
            Method::POST,
            "/v1/auth/reset-password",
            json!({"token": reset_token, "new_password": "brand new pass 7"}),
            None,
        ),
    )
    .await;
    assert_eq!(reply.status, 200);

    let logs = captured.text();
    for event in [
        "security.account_created",
        "security.login_failed",
        "security.login_success",
        "security.token_revoked",
        "security.password_reset_initiated",
        "security.password_reset_completed",
    ] {
        assert!(logs.contains(event), "{event} missing from:\n{logs}");
    }
    assert!(
        logs.contains("aud***@example.com"),
        "emails are masked:\n{logs}"
    );
    let secrets = [
        "audited.person@example.com".to_owned(),
        "correct horse 9".to_owned(),
        "wrong password 1".to_owned(),
        "brand new pass 7".to_owned(),
        reset_token,
        registered["access_token"].as_str().unwrap().to_owned(),
        registered["refresh_token"].as_str().unwrap().to_owned(),
        refresh.to_owned(),
        access.to_owned(),
    ];
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the logs: {secret}"
        );
    }
}
