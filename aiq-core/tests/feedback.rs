//! `POST /v1/feedback/submit` through the service, on both stores: validation, what is
//! stored, the per-address limit and the operator's notification.

mod support;

use std::sync::Arc;
use std::time::Duration;

use aiq_core::mail::Message;
use aiq_core::storage::{FeedbackCategory, Storage};
use aiq_core::{Aiq, AiqService, Config};
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use support::{RecordingMailer, Reply, register, send};
use tokio::sync::mpsc::UnboundedReceiver;

const ADMIN_EMAIL: &str = "ops@example.com";

fn config() -> Config {
    let mut config = Config::default();
    config.rate_limit.enabled = true;
    config.admin.email = ADMIN_EMAIL.to_owned();
    config
}

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    support::service_with(config(), store)
}

/// A service whose mail the test reads.
fn with_mailer(store: Arc<dyn Storage>) -> (AiqService, UnboundedReceiver<Message>) {
    let (mailer, sent) = RecordingMailer::new();
    let service = Aiq::builder(config())
        .storage(store)
        .mailer(mailer)
        .build()
        .unwrap();
    (service, sent)
}

both_stores!(
    anonymous_feedback_is_stored_with_the_app_headers,
    a_signed_in_user_is_attributed_and_a_bad_token_is_anonymous,
    sql_looking_descriptions_are_accepted_verbatim,
    invalid_submissions_are_422_without_echo,
    the_sixth_submission_in_an_hour_from_one_address_is_refused,
    the_operator_is_mailed_without_user_text_in_the_subject,
);

fn body(description: &str) -> Value {
    json!({
        "name": "Ada Lovelace",
        "email": " Ada@Example.com ",
        "category": "bug_report",
        "description": description,
    })
}

fn submit(body: &Value, ip: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::post("/v1/feedback/submit")
        .header("content-type", "application/json")
        .header("x-envoy-external-address", ip);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

fn submission_id(reply: &Reply) -> i64 {
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["success"], true);
    assert_eq!(
        body["message"],
        "Thank you for your feedback! We'll review it shortly."
    );
    body["submission_id"].as_i64().unwrap()
}

async fn anonymous_feedback_is_stored_with_the_app_headers(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let long_device = "d".repeat(150);
    let reply = send(
        &service,
        submit(
            &body("  The results screen froze after submitting.  "),
            "203.0.113.1",
            None,
            &[
                ("x-app-version", "2.3.1"),
                ("x-platform", "iOS 18.2"),
                ("x-device-id", &long_device),
            ],
        ),
    )
    .await;
    let id = submission_id(&reply);
    let stored = store.feedback(id).await.unwrap().unwrap();
    assert_eq!(stored.status, "pending");
    let f = stored.feedback;
    assert_eq!(f.user_id, None);
    assert_eq!(f.name, "Ada Lovelace");
    assert_eq!(f.email, "ada@example.com");
    assert_eq!(f.category, FeedbackCategory::BugReport);
    assert_eq!(f.description, "The results screen froze after submitting.");
    assert_eq!(f.app_version.as_deref(), Some("2.3.1"));
    assert_eq!(f.ios_version.as_deref(), Some("iOS 18.2"));
    assert_eq!(f.device_id.map(|d| d.len()), Some(100), "cut to the column");

    let bare = send(
        &service,
        submit(&body("No headers on this one."), "203.0.113.1", None, &[]),
    )
    .await;
    let stored = store.feedback(submission_id(&bare)).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.feedback.app_version,
            stored.feedback.ios_version,
            stored.feedback.device_id
        ),
        (None, None, None)
    );
}

async fn a_signed_in_user_is_attributed_and_a_bad_token_is_anonymous(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let tokens = register(&service, "writer@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();
    let user_id = tokens["user"]["id"].as_i64().unwrap();
    let mine = send(
        &service,
        submit(
            &body("Please add dark mode."),
            "203.0.113.2",
            Some(token),
            &[],
        ),
    )
    .await;
    let stored = store.feedback(submission_id(&mine)).await.unwrap().unwrap();
    assert_eq!(stored.feedback.user_id, Some(user_id));

    let bad = send(
        &service,
        submit(
            &body("Please add dark mode."),
            "203.0.113.2",
            Some("garbage.token.here"),
            &[],
        ),
    )
    .await;
    let stored = store.feedback(submission_id(&bad)).await.unwrap().unwrap();
    assert_eq!(stored.feedback.user_id, None);
}

async fn sql_looking_descriptions_are_accepted_verbatim(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    for text in [
        "delete from users; --",
        "SELECT the option 'Create'; then # update -- it /* breaks */",
    ] {
        let reply = send(&service, submit(&body(text), "203.0.113.3", None, &[])).await;
        let stored = store
            .feedback(submission_id(&reply))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.feedback.description, text);
    }
}

async fn invalid_submissions_are_422_without_echo(service: AiqService, store: Arc<dyn Storage>) {
    let cases = [
        ("category", json!("complaint"), vec!["body", "category"]),
        ("email", json!("not-an-email-secret"), vec!["body", "email"]),
        (
            "description",
            json!("too short"),
            vec!["body", "description"],
        ),
        (
            "description",
            json!("          "),
            vec!["body", "description"],
        ),
        (
            "description",
            json!("x".repeat(5001)),
            vec!["body", "description"],
        ),
        ("name", json!(""), vec!["body", "name"]),
        (
            "name",
            json!("Bad\u{0007}Name-secret"),
            vec!["body", "name"],
        ),
    ];
    // Invalid attempts count against the per-address limit too, so each comes from its own.
    for (n, (field, value, loc)) in cases.into_iter().enumerate() {
        let ip = format!("203.0.113.{}", 10 + n);
        let mut request = body("A perfectly fine description.");
        request[field] = value.clone();
        let reply = send(&service, submit(&request, &ip, None, &[])).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {value}"
        );
        assert_eq!(reply.json()["detail"][0]["loc"], json!(loc), "{field}");
        assert!(!reply.text().contains("secret"), "{}", reply.text());
        assert!(!reply.text().contains("complaint"), "{}", reply.text());
    }
    let mut missing = body("A perfectly fine description.");
    missing.as_object_mut().unwrap().remove("email");
    let reply = send(&service, submit(&missing, "203.0.113.4", None, &[])).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(store.feedback(1).await.unwrap().is_none(), "nothing stored");
}

async fn the_sixth_submission_in_an_hour_from_one_address_is_refused(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    for n in 1..=5 {
        let reply = send(
            &service,
            submit(&body("Feedback number n."), "198.51.100.7", None, &[]),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "submission {n}");
        assert_eq!(reply.header("x-ratelimit-limit"), Some("5"));
    }
    // A token does not buy a fresh bucket: feedback is limited per address.
    let tokens = register(&service, "limited@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();
    let sixth = send(
        &service,
        submit(
            &body("Feedback number six."),
            "198.51.100.7",
            Some(token),
            &[],
        ),
    )
    .await;
    assert_eq!(
        sixth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        sixth.text()
    );
    let limited = sixth.json();
    assert_eq!(limited["error"], "rate_limit_exceeded");
    assert_eq!(
        limited["message"],
        "Too many requests. Please try again later."
    );
    let retry_after = limited["retry_after"].as_u64().unwrap();
    assert!(
        retry_after >= 600,
        "one submission back every 12 minutes: {retry_after}"
    );
    assert_eq!(
        sixth.header("retry-after"),
        Some(retry_after.to_string().as_str())
    );
    assert_eq!(
        limited["detail"], limited["message"],
        "the app shows `detail`"
    );

    let other = send(
        &service,
        submit(&body("From another address."), "198.51.100.8", None, &[]),
    )
    .await;
    assert_eq!(other.status, StatusCode::CREATED);
    // Five from the first address, one from the second: the refused one was not stored.
    for id in 1..=6 {
        assert!(store.feedback(id).await.unwrap().is_some(), "{id}");
    }
    assert!(store.feedback(7).await.unwrap().is_none());
}

async fn the_operator_is_mailed_without_user_text_in_the_subject(
    _service: AiqService,
    store: Arc<dyn Storage>,
) {
    let (service, mut sent) = with_mailer(store);
    let mut request = body("Line one.\r\nBcc: victim@example.com\r\nSubject: injected");
    request["name"] = json!("Eve Bcc: someone@example.com");
    request["category"] = json!("question_help");
    let reply = send(
        &service,
        submit(&request, "203.0.113.5", None, &[("x-app-version", "2.0")]),
    )
    .await;
    let id = submission_id(&reply);

    let message = tokio::time::timeout(support::PATIENCE, sent.recv())
        .await
        .expect("the notification is sent")
        .unwrap();
    assert_eq!(message.to, ADMIN_EMAIL);
    assert_eq!(message.subject, "[AIQ feedback] question_help");
    assert!(message.text_body.contains(&format!("#{id}")));
    assert!(
        message.text_body.contains("Bcc: victim@example.com"),
        "the text is in the body"
    );
    assert!(message.text_body.contains("ada@example.com"));
    assert!(message.text_body.contains("App version: 2.0"));
}

#[tokio::test]
async fn a_failing_mailer_never_fails_the_submission() {
    #[derive(Debug)]
    struct Broken;
    #[async_trait::async_trait]
    impl aiq_core::mail::Mailer for Broken {
        async fn send(&self, _: Message) -> Result<(), aiq_core::mail::MailError> {
            Err(aiq_core::mail::MailError::Timeout(Duration::from_secs(1)))
        }
    }
    let service = Aiq::builder(config())
        .storage(Arc::new(aiq_core::storage::MemoryStore::new()))
        .mailer(Arc::new(Broken))
        .build()
        .unwrap();
    let reply = send(
        &service,
        submit(&body("Mail is down today."), "203.0.113.6", None, &[]),
    )
    .await;
    assert_eq!(submission_id(&reply), 1);
}
