//! Accounts and authentication through the service: every status and message of the old
//! backend's auth and user endpoints, token attacks, revocation and concurrency. The flows run
//! on the in-memory store and on PostgreSQL.

#[macro_use]
mod support;

use std::sync::Arc;

use aiq_core::config::RefreshRotation;
use aiq_core::storage::{MemoryStore, NewUser, Storage};
use aiq_core::{AiqService, Config};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{
    authed, detail, json as json_request, login, profile, register, registration, send,
    service_with,
};

// Forged, stale, replayed and revoked tokens.
#[path = "auth/tokens.rs"]
mod tokens;

const SECRET: &str = "auth-tests-signing-key-0123456789abcdef";

fn config() -> Config {
    let mut config = Config::default();
    config.security.jwt_secret_key = SECRET.to_owned().into();
    // These tests register and log in far more often than the per-address limits allow;
    // rate limiting has its own tests.
    config.rate_limit.enabled = false;
    config
}

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    service_with(config(), store)
}

both_stores!(
    register_login_profile_refresh_logout,
    duplicate_registration_is_409,
    login_failures_share_one_message,
    login_normalises_the_email_like_register,
    bcrypt_hashes_are_upgraded_on_login,
    refresh_rotates_and_reuse_revokes_the_login,
    logout_all_revokes_older_tokens_only,
    profile_updates_apply_only_given_fields,
    deleted_accounts_lose_their_tokens,
    concurrent_registrations_of_one_email,
);

fn token(body: &Value, kind: &str) -> String {
    body[format!("{kind}_token")].as_str().unwrap().to_owned()
}

async fn refresh(service: &AiqService, refresh_token: &str) -> support::Reply {
    send(
        service,
        authed(Method::POST, "/v1/auth/refresh", refresh_token),
    )
    .await
}

async fn register_login_profile_refresh_logout(service: AiqService, _store: Arc<dyn Storage>) {
    let registered = register(&service, "flow@example.com").await;
    assert_eq!(registered["token_type"], "bearer");
    let user = &registered["user"];
    assert_eq!(user["email"], "flow@example.com");
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(
        user["last_login_at"],
        Value::Null,
        "registration is not a login"
    );
    assert_eq!(user["notification_enabled"], true);
    assert_eq!(user["is_admin"], false);
    for hidden in [
        "password_hash",
        "bypass_cooldown",
        "token_revoked_before",
        "apns_device_token",
    ] {
        assert!(user.get(hidden).is_none(), "{hidden} must not be exposed");
    }
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));

    let reply = login(&service, "flow@example.com", "correct horse 9").await;
    assert_eq!(reply.status, StatusCode::OK);
    let logged_in = reply.json();
    assert!(
        logged_in["user"]["last_login_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let access = token(&logged_in, "access");

    let me = profile(&service, &access).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["email"], "flow@example.com");

    let refreshed = refresh(&service, &token(&logged_in, "refresh")).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
    let new_access = token(&refreshed.json(), "access");
    assert_eq!(profile(&service, &new_access).await.status, StatusCode::OK);

    let logout = send(
        &service,
        authed(Method::POST, "/v1/auth/logout", &new_access),
    )
    .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    let after = profile(&service, &new_access).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(detail(&after), "Token has been revoked.");
    assert_eq!(after.header("www-authenticate"), Some("Bearer"));
    // The session is over: its refresh token is revoked too.
    let reused = refresh(&service, &token(&refreshed.json(), "refresh")).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    // Another login of the same user is untouched.
    assert_eq!(
        profile(&service, &token(&registered, "access"))
            .await
            .status,
        StatusCode::OK
    );
}

async fn duplicate_registration_is_409(service: AiqService, _store: Arc<dyn Storage>) {
    register(&service, "dup@example.com").await;
    let again = send(
        &service,
        json_request(
            Method::POST,
            "/v1/auth/register",
            registration(" DUP@example.com "),
            None,
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(detail(&again), "Email already registered.");
}

async fn login_failures_share_one_message(service: AiqService, store: Arc<dyn Storage>) {
    register(&service, "known@example.com").await;
    let mut oauth_only = NewUser::with_password(
        "sso@example.com",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
    );
    oauth_only.password_login_enabled = false;
    store
        .create_oauth_user(oauth_only, "apple", "s-1")
        .await
        .unwrap();
    for (email, password) in [
        ("known@example.com", "wrong horse 9"),
        ("unknown@example.com", "correct horse 9"),
        ("sso@example.com", "correct horse 9"),
    ] {
        let reply = login(&service, email, password).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{email}");
        assert_eq!(detail(&reply), "Invalid email or password.");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
    let bad_email = login(&service, "not-an-email", "x").await;
    assert_eq!(bad_email.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn login_normalises_the_email_like_register(service: AiqService, _store: Arc<dyn Storage>) {
    register(&service, "Mixed.Case@Example.com").await;
    assert_eq!(
        login(&service, "  MIXED.case@example.COM", "correct horse 9")
            .await
            .status,
        StatusCode::OK
    );
}

async fn bcrypt_hashes_are_upgraded_on_login(service: AiqService, store: Arc<dyn Storage>) {
    let legacy = bcrypt::hash("legacy horse 9", 4).unwrap();
    let user = store
        .create_user(NewUser::with_password("legacy@example.com", legacy))
        .await
        .unwrap();
    assert_eq!(
        login(&service, "legacy@example.com", "legacy horse 9")
            .await
            .status,
        StatusCode::OK
    );
    let stored = store.user_by_id(user.id).await.unwrap().unwrap();
    assert!(
        stored.password_hash.starts_with("$argon2id$"),
        "{}",
        stored.password_hash
    );
    assert_eq!(
        login(&service, "legacy@example.com", "legacy horse 9")
            .await
            .status,
        StatusCode::OK
    );
}

async fn refresh_rotates_and_reuse_revokes_the_login(
    _service: AiqService,
    store: Arc<dyn Storage>,
) {
    // Opt-in: the default keeps used refresh tokens valid (ios_refresh.rs).
    let mut config = config();
    config.security.refresh_token_rotation = RefreshRotation::RotateDetectReuse;
    let service = service_with(config, store);
    let registered = register(&service, "rotate@example.com").await;
    let first_refresh = token(&registered, "refresh");
    let rotated = refresh(&service, &first_refresh).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let rotated = rotated.json();
    assert_ne!(token(&rotated, "refresh"), first_refresh);

    // The rotated-away token is presented again: someone copied it. The whole login goes.
    let reuse = refresh(&service, &first_refresh).await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    assert_eq!(detail(&reuse), "Token has been revoked.");
    assert_eq!(
        profile(&service, &token(&rotated, "access")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&service, &token(&rotated, "refresh")).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A fresh login is a new session and works.
    let again = login(&service, "rotate@example.com", "correct horse 9")
        .await
        .json();
    assert_eq!(
        profile(&service, &token(&again, "access")).await.status,
        StatusCode::OK
    );

    // Kinds are not interchangeable.
    let access_as_refresh = refresh(&service, &token(&again, "access")).await;
    assert_eq!(detail(&access_as_refresh), "Invalid token type.");
    let refresh_as_access = profile(&service, &token(&again, "refresh")).await;
    assert_eq!(detail(&refresh_as_access), "Invalid token type.");
}

async fn logout_all_revokes_older_tokens_only(service: AiqService, _store: Arc<dyn Storage>) {
    let first = register(&service, "everywhere@example.com").await;
    let second = login(&service, "everywhere@example.com", "correct horse 9")
        .await
        .json();
    let reply = send(
        &service,
        authed(
            Method::POST,
            "/v1/auth/logout-all",
            &token(&second, "access"),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    for old in [&first, &second] {
        assert_eq!(
            detail(&profile(&service, &token(old, "access")).await),
            "Token has been revoked."
        );
        assert_eq!(
            refresh(&service, &token(old, "refresh")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Immediately afterwards, within the same second: the new login works.
    let fresh = login(&service, "everywhere@example.com", "correct horse 9")
        .await
        .json();
    assert_eq!(
        profile(&service, &token(&fresh, "access")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        refresh(&service, &token(&fresh, "refresh")).await.status,
        StatusCode::OK
    );
}

async fn profile_updates_apply_only_given_fields(service: AiqService, _store: Arc<dyn Storage>) {
    let access = token(&register(&service, "profile@example.com").await, "access");
    let put = |body: Value| json_request(Method::PUT, "/v1/user/profile", body, Some(&access));
    let reply = send(&service, put(json!({}))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["first_name"], "Ada");

    let reply = send(
        &service,
        put(json!({"first_name": "Grace 2nd", "notification_enabled": false, "email": "x@y.zz"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["first_name"], "Grace 2nd");
    assert_eq!(body["last_name"], "Lovelace");
    assert_eq!(body["notification_enabled"], false);
    assert_eq!(
        body["email"], "profile@example.com",
        "the email cannot change"
    );

    let reply = send(&service, put(json!({"last_name": null}))).await;
    assert_eq!(reply.json()["last_name"], Value::Null);

    let reply = send(&service, put(json!({"first_name": "bad\u{7}name"}))).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.json()["detail"][0]["msg"],
        "Value error, Name contains invalid characters"
    );
    let reply = send(&service, put(json!({"notification_enabled": null}))).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "null leaves the preference as it is"
    );
}

async fn deleted_accounts_lose_their_tokens(service: AiqService, store: Arc<dyn Storage>) {
    let registered = register(&service, "leaving@example.com").await;
    let access = token(&registered, "access");
    let reply = send(
        &service,
        authed(Method::DELETE, "/v1/user/delete-account", &access),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(
        store
            .user_by_email("leaving@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let after = profile(&service, &access).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(detail(&after), "User not found.");
    assert_eq!(
        detail(&refresh(&service, &token(&registered, "refresh")).await),
        "User not found."
    );
}

async fn concurrent_registrations_of_one_email(service: AiqService, store: Arc<dyn Storage>) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let service = service.clone();
        tasks.spawn(async move {
            send(
                &service,
                json_request(
                    Method::POST,
                    "/v1/auth/register",
                    registration("crowd@example.com"),
                    None,
                ),
            )
            .await
            .status
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        19,
        "{statuses:?}"
    );
    let user = store.user_by_email("crowd@example.com").await.unwrap();
    assert!(user.is_some());
}

fn memory_service() -> AiqService {
    service_with(config(), Arc::new(MemoryStore::new()))
}

#[tokio::test]
async fn registration_validates_every_field_with_the_old_messages() {
    let service = memory_service();
    let cases = [
        (
            json!({"password": "short1"}),
            "password",
            "String should have at least 8 characters",
        ),
        (
            json!({"password": "Password123"}),
            "password",
            "Value error, Password is too common. Please choose a stronger password",
        ),
        (
            json!({"password": "1234567890"}),
            "password",
            "Value error, Password must contain at least one letter",
        ),
        (
            json!({"password": "abcdefghij"}),
            "password",
            "Value error, Password must contain at least one digit",
        ),
        (
            json!({"password": "abcdddd123"}),
            "password",
            "Value error, Password contains too many repeated characters",
        ),
        (
            json!({"email": "nope"}),
            "email",
            "value is not a valid email address: An email address must have an @-sign.",
        ),
        (
            json!({"first_name": "\u{1b}[31m"}),
            "first_name",
            "Value error, Name contains invalid characters",
        ),
        (
            json!({"country": "\n"}),
            "country",
            "Value error, Location contains invalid characters",
        ),
        (
            json!({"birth_year": 1800}),
            "birth_year",
            "Input should be greater than or equal to 1900",
        ),
        (
            json!({"birth_year": 3000}),
            "birth_year",
            "Value error, Birth year cannot be later than",
        ),
    ];
    for (change, field, message) in cases {
        let mut body = registration("valid@example.com");
        body.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        let reply = send(
            &service,
            json_request(Method::POST, "/v1/auth/register", body.clone(), None),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let issue = &reply.json()["detail"][0];
        assert_eq!(issue["loc"], json!(["body", field]));
        assert!(
            issue["msg"].as_str().unwrap().starts_with(message),
            "{issue}"
        );
        // The submitted value is never echoed.
        let sent = change[field].to_string();
        assert!(
            !reply.text().contains(sent.trim_matches('"')) || sent.len() < 4,
            "{}",
            reply.text()
        );
    }
    let mut body = registration("valid@example.com");
    body["education_level"] = json!("phd");
    let reply = send(
        &service,
        json_request(Method::POST, "/v1/auth/register", body, None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["detail"][0]["type"], "enum");

    let mut body = registration("names@example.com");
    body["first_name"] = json!("Jean-Luc 3rd");
    body["last_name"] = json!("O'Brien");
    body["education_level"] = json!("masters");
    body["birth_year"] = json!(1990);
    let reply = send(
        &service,
        json_request(Method::POST, "/v1/auth/register", body, None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let user = &reply.json()["user"];
    assert_eq!(user["first_name"], "Jean-Luc 3rd", "digits are kept");
    assert_eq!(user["last_name"], "O'Brien", "no HTML escaping");
    assert_eq!(user["education_level"], "masters");
    assert_eq!(user["birth_year"], 1990);
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_401() {
    let service = memory_service();
    let reply = send(&service, support::get("/v1/user/profile")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(detail(&reply), "Not authenticated");
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));

    let basic = http::Request::get("/v1/user/profile")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = send(&service, basic).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(detail(&reply), "Invalid authentication credentials");

    let reply = profile(&service, "not.a.jwt").await;
    assert_eq!(detail(&reply), "Invalid authentication token.");
    let reply = refresh(&service, "not.a.jwt").await;
    assert_eq!(detail(&reply), "Invalid refresh token.");
}

#[tokio::test]
async fn accounts_with_addresses_the_new_rules_refuse_can_still_sign_in() {
    // The old backend accepted Unicode local parts; such accounts must not be locked out.
    let store: Arc<dyn Storage> = Arc::new(MemoryStore::new());
    let service = service_with(config(), store.clone());
    let hash = bcrypt::hash("legacy horse 9", 4).unwrap();
    store
        .create_user(NewUser::with_password("zoë@example.de", hash))
        .await
        .unwrap();
    assert_eq!(
        login(&service, "Zoë@Example.de", "legacy horse 9")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn failed_logins_take_the_same_minimum_time_whatever_the_account() {
    // A legacy bcrypt account takes far longer to check than an unknown email; the answer
    // time must not tell them apart. Each failure waits out the same floor.
    let store: Arc<dyn Storage> = Arc::new(MemoryStore::new());
    let service = service_with(config(), store.clone());
    let legacy = bcrypt::hash("legacy horse 9", 10).unwrap();
    store
        .create_user(NewUser::with_password("legacy@example.com", legacy))
        .await
        .unwrap();
    for email in ["nobody@example.com", "legacy@example.com"] {
        let started = std::time::Instant::now();
        let reply = login(&service, email, "wrong horse 9").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(400),
            "{email}: {:?}",
            started.elapsed()
        );
    }
}
