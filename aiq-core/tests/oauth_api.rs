//! Sign in with Apple / Google through the service, against a local key server.

mod support;

use std::sync::Arc;

use aiq_core::storage::{MemoryStore, NewUser, Storage};
use aiq_core::{Aiq, AiqService, Config};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::jwks::{self, RAW_NONCE, Running};
use support::{RecordingMailer, detail, json as json_request, login, send};

struct Fixture {
    service: AiqService,
    store: Arc<dyn Storage>,
    keys: Running,
    inbox: tokio::sync::mpsc::UnboundedReceiver<aiq_core::mail::Message>,
}

async fn fixture() -> Fixture {
    let keys = jwks::start(&[&jwks::keys()[0]]).await;
    let mut config = Config::default();
    config.oauth = jwks::config(&keys.url);
    let store: Arc<dyn Storage> = Arc::new(MemoryStore::new());
    let (mailer, inbox) = RecordingMailer::new();
    let service = Aiq::builder(config)
        .storage(store.clone())
        .mailer(mailer)
        .build()
        .unwrap();
    Fixture {
        service,
        store,
        keys,
        inbox,
    }
}

async fn apple(service: &AiqService, claims: &Value) -> support::Reply {
    let body = json!({"identity_token": jwks::sign(claims), "nonce": RAW_NONCE});
    send(
        service,
        json_request(Method::POST, "/v1/auth/oauth/apple", body, None),
    )
    .await
}

async fn google(service: &AiqService, claims: &Value) -> support::Reply {
    let body = json!({"identity_token": jwks::sign(claims)});
    send(
        service,
        json_request(Method::POST, "/v1/auth/oauth/google", body, None),
    )
    .await
}

#[tokio::test]
async fn a_new_apple_user_is_created_once_without_a_password() {
    let f = fixture().await;
    let first = apple(&f.service, &jwks::apple_claims()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let body = first.json();
    assert_eq!(body["user"]["email"], "someone@example.com");
    assert_eq!(body["user"]["first_name"], Value::Null);
    assert!(body["user"]["last_login_at"].is_string());
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(
        support::profile(&f.service, access).await.status,
        StatusCode::OK
    );

    let again = apple(&f.service, &jwks::apple_claims()).await.json();
    assert_eq!(
        again["user"]["id"], body["user"]["id"],
        "the same identity is the same user"
    );
    let user = f
        .store
        .user_by_email("someone@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!user.password_login_enabled);
    // No password matches an account created through a provider.
    assert_eq!(
        login(&f.service, "someone@example.com", "!oauth")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_verified_email_links_to_the_existing_account() {
    let mut f = fixture().await;
    let existing = f
        .store
        .create_user(NewUser::with_password("person@gmail.com", "hash"))
        .await
        .unwrap();
    let reply = google(&f.service, &jwks::google_claims("accounts.google.com")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["user"]["id"], existing.id);
    let linked = f
        .store
        .user_by_oauth_identity("google", "10987654321")
        .await
        .unwrap();
    assert_eq!(linked.map(|u| u.id), Some(existing.id));
    let notice = tokio::time::timeout(support::PATIENCE, f.inbox.recv())
        .await
        .expect("a linked notice is mailed")
        .unwrap();
    assert_eq!(notice.to, "person@gmail.com");
    assert!(notice.subject.contains("google"), "{}", notice.subject);
}

#[tokio::test]
async fn an_unverified_email_does_not_take_over_an_account() {
    let f = fixture().await;
    f.store
        .create_user(NewUser::with_password("someone@example.com", "hash"))
        .await
        .unwrap();
    let mut claims = jwks::apple_claims();
    claims["email_verified"] = json!(false);
    let reply = apple(&f.service, &claims).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&reply),
        "An account already exists for this email. Sign in with your password to link this provider."
    );
    assert!(
        f.store
            .user_by_oauth_identity("apple", "001234.abcdef")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_new_account_needs_an_email() {
    let f = fixture().await;
    let mut claims = jwks::apple_claims();
    claims.as_object_mut().unwrap().remove("email");
    let reply = apple(&f.service, &claims).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&reply),
        "OAuth provider did not return an email; cannot create an account."
    );
}

#[tokio::test]
async fn bad_tokens_and_missing_fields() {
    let f = fixture().await;
    let mut wrong_audience = jwks::apple_claims();
    wrong_audience["aud"] = json!("com.someone.else");
    let reply = apple(&f.service, &wrong_audience).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(detail(&reply), "Invalid authentication token.");

    let body = json!({"identity_token": jwks::sign(&jwks::apple_claims())});
    let reply = send(
        &f.service,
        json_request(Method::POST, "/v1/auth/oauth/apple", body, None),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the nonce is required"
    );

    // Google is not configured on this service: its tokens are refused the same way.
    let mut config = Config::default();
    config.oauth.apple_client_ids = vec![jwks::APPLE_AUD.into()];
    config.oauth.apple_jwks_url = f.keys.url.clone();
    let apple_only = Aiq::builder(config).build().unwrap();
    let reply = google(&apple_only, &jwks::google_claims("accounts.google.com")).await;
    assert_eq!(detail(&reply), "Invalid authentication token.");
}

#[tokio::test]
async fn unreachable_provider_keys_are_a_503() {
    let f = fixture().await;
    let url = f.keys.url.clone();
    f.keys.shut_down().await;
    let mut config = Config::default();
    config.oauth = jwks::config(&url);
    let service = Aiq::builder(config).build().unwrap();
    let reply = apple(&service, &jwks::apple_claims()).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_sign_ins_make_one_account() {
    let f = fixture().await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let service = f.service.clone();
        tasks.spawn(async move { apple(&service, &jwks::apple_claims()).await });
    }
    let mut ids = Vec::new();
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        ids.push(reply.json()["user"]["id"].as_i64().unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
}

#[tokio::test]
async fn no_account_is_created_for_an_unverified_email() {
    let f = fixture().await;
    let mut claims = jwks::google_claims("https://accounts.google.com");
    claims["email_verified"] = json!(false);
    let reply = google(&f.service, &claims).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&reply),
        "OAuth provider did not verify this email; cannot create an account."
    );
    assert!(
        f.store
            .user_by_email("person@gmail.com")
            .await
            .unwrap()
            .is_none()
    );
}
