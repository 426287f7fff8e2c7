//! Logging in and out: credentials, cookies, CSRF, the attempt limit, expiry, revocation.

mod support;

use std::time::Duration;

use aiq_admin::{Dashboard, DashboardConfigError, LOGIN_ATTEMPTS};
use aiq_core::config::Environment;
use aiq_core::storage::PageRequest;
use http::StatusCode;
use secrecy::SecretString;
use support::{Harness, PASSWORD, Session, USERNAME, config, cookie_pair};

async fn audit_actions(harness: &Harness) -> Vec<String> {
    harness
        .store
        .audit_log(PageRequest::first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|line| line.entry.action)
        .collect()
}

#[tokio::test]
async fn the_login_form_carries_a_token_bound_to_a_strict_cookie() {
    let harness = Harness::new();
    let page = harness.get("/admin/login", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"action="/admin/login""#));
    assert!(!page.csrf().is_empty());
    let cookie = &page.set_cookies()[0];
    assert!(cookie.starts_with("aiq_admin_login="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
}

#[tokio::test]
async fn the_right_credentials_open_a_four_hour_session() {
    let harness = Harness::new();
    let response = harness
        .try_login_from(USERNAME, PASSWORD, "198.51.100.1:1")
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), "/admin");
    let cookies = response.set_cookies();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("aiq_admin_session="))
        .unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=14400",
        "Path=/admin",
    ] {
        assert!(session.contains(attribute), "{session} lacks {attribute}");
    }
    // Not Secure outside production (plain http in development).
    assert!(!session.contains("Secure"));
    // The pre-login cookie is dropped.
    assert!(cookies.iter().any(|c| c.starts_with("aiq_admin_login=;")));
    let session = Session {
        cookie: cookie_pair(session),
        csrf: String::new(),
    };
    let overview = harness.get("/admin/", Some(&session)).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains(USERNAME));
    assert_eq!(audit_actions(&harness).await, ["login"]);
}

#[tokio::test]
async fn production_cookies_are_secure() {
    let mut config = config();
    config.app.environment = Environment::new("production");
    // Production needs a SECRET_KEY of its own (a generated one dies with the process).
    assert_eq!(
        Dashboard::builder(config.clone()).build().unwrap_err(),
        DashboardConfigError::MissingSecretKey
    );
    config.security.secret_key = SecretString::from("a production secret key, 32+ bytes long");
    config.security.secrets_generated = false;
    let harness = Harness::with_config(config);
    let response = harness
        .try_login_from(USERNAME, PASSWORD, "198.51.100.1:1")
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let cookies = response.set_cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies.iter().all(|c| c.contains("; Secure")),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_audited() {
    let harness = Harness::new();
    for (username, password) in [
        (USERNAME, "wrong password"),
        ("someone", PASSWORD),
        ("", ""),
    ] {
        let response = harness
            .try_login_from(username, password, "198.51.100.2:1")
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert!(response.body.contains("Wrong username or password."));
        assert!(
            response
                .set_cookies()
                .iter()
                .all(|c| !c.starts_with("aiq_admin_session="))
        );
        // The password never comes back in the page.
        assert!(!response.body.contains(password) || password.is_empty());
    }
    let audit = harness
        .store
        .audit_log(PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(audit.total, aiq_core::storage::Total::Exact(3));
    for line in audit.items {
        assert_eq!(line.entry.action, "login.failed");
        // What was typed as the username is not kept: it may be a misplaced password.
        assert_eq!(line.entry.actor, "(failed login)");
    }
}

#[tokio::test]
async fn rotating_addresses_meets_a_global_ceiling() {
    let harness = Harness::new();
    for n in 0..50 {
        let response = harness
            .try_login_from(USERNAME, "guess", &format!("203.0.113.{n}:1"))
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let fresh_address = harness
        .try_login_from(USERNAME, PASSWORD, "192.0.2.200:1")
        .await;
    assert_eq!(fresh_address.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn renaming_the_operator_ends_their_sessions() {
    let harness = Harness::new();
    let session = harness.login().await;
    let mut renamed = config();
    renamed.admin.username = "someone-else".into();
    // The same store and key, another ADMIN_USERNAME: the old session is not theirs.
    let dashboard = aiq_admin::Dashboard::builder(renamed)
        .storage(std::sync::Arc::clone(&harness.store))
        .clock(harness.clock.clone())
        .build()
        .unwrap();
    let request = http::Request::get("/admin/users")
        .header("cookie", &session.cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(dashboard.router(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        harness.get("/admin/users", Some(&session)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_login_without_the_forms_token_is_refused() {
    let harness = Harness::new();
    let body =
        serde_urlencoded::to_string([("username", USERNAME), ("password", PASSWORD)]).unwrap();
    let request = http::Request::post("/admin/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = harness.send(request).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.body.contains("expired"));
    // A token from another browser's form (a different pre-login cookie) does not pass either.
    let theirs = harness.get("/admin/login", None).await;
    let mine = harness.get("/admin/login", None).await;
    let body = serde_urlencoded::to_string([
        ("username", USERNAME),
        ("password", PASSWORD),
        ("csrf", &theirs.csrf()),
    ])
    .unwrap();
    let request = http::Request::post("/admin/login")
        .header("cookie", cookie_pair(&mine.set_cookies()[0]))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body))
        .unwrap();
    assert_eq!(harness.send(request).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn login_attempts_are_limited_per_address() {
    let harness = Harness::new();
    for _ in 0..LOGIN_ATTEMPTS {
        let response = harness
            .try_login_from(USERNAME, "guess", "203.0.113.5:1")
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused once the address is over its limit.
    let limited = harness
        .try_login_from(USERNAME, PASSWORD, "203.0.113.5:2")
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.body.contains("Too many login attempts"));
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    // Another address is unaffected.
    let other = harness
        .try_login_from(USERNAME, PASSWORD, "203.0.113.6:1")
        .await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    // After the window the first address may try again.
    harness.clock.advance(Duration::from_secs(15 * 60 + 1));
    let later = harness
        .try_login_from(USERNAME, PASSWORD, "203.0.113.5:3")
        .await;
    assert_eq!(later.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sessions_expire_after_four_hours() {
    let harness = Harness::new();
    let session = harness.login().await;
    harness.clock.advance(Duration::from_secs(4 * 3600 - 1));
    assert_eq!(
        harness.get("/admin/users", Some(&session)).await.status,
        StatusCode::OK
    );
    harness.clock.advance(Duration::from_secs(2));
    let expired = harness.get("/admin/users", Some(&session)).await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(expired.location(), "/admin/login");
    // The stale cookie is removed on the way.
    assert!(expired.set_cookies()[0].starts_with("aiq_admin_session=;"));
}

#[tokio::test]
async fn logout_revokes_the_session_on_the_server() {
    let harness = Harness::new();
    let session = harness.login().await;
    // Logging out needs the form's token too.
    let forged = harness.post("/admin/logout", &session, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        harness.get("/admin/users", Some(&session)).await.status,
        StatusCode::OK
    );
    let out = harness.act("/admin/logout", &session, &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/admin/login");
    // A copy of the cookie kept by someone else no longer works.
    let after = harness.get("/admin/users", Some(&session)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), "/admin/login");
    assert_eq!(audit_actions(&harness).await, ["logout", "login"]);
}

#[tokio::test]
async fn forged_cookies_are_refused() {
    let harness = Harness::new();
    let session = harness.login().await;
    let (name_and_secret, signature) = session.cookie.rsplit_once('.').unwrap();
    let tampered = Session {
        cookie: format!("{name_and_secret}x.{signature}"),
        csrf: session.csrf.clone(),
    };
    assert_eq!(
        harness.get("/admin/users", Some(&tampered)).await.status,
        StatusCode::SEE_OTHER
    );
    // The same cookie is worthless to a dashboard with another SECRET_KEY.
    let mut other_config = config();
    other_config.security.secret_key = SecretString::from("another secret key for this test ok");
    let other = Harness::with_config(other_config);
    assert_eq!(
        other.get("/admin/users", Some(&session)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn bcrypt_hashes_from_other_tools_are_accepted() {
    let mut config = config();
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    assert!(hash.starts_with("$2"));
    config.admin.password_hash = Some(SecretString::from(hash));
    let harness = Harness::with_config(config);
    let response = harness
        .try_login_from(USERNAME, PASSWORD, "198.51.100.9:1")
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
}

#[test]
fn weak_admin_settings_are_refused_with_the_fix() {
    let mut missing = config();
    missing.admin.password_hash = None;
    let error = Dashboard::builder(missing).build().unwrap_err();
    assert_eq!(error, DashboardConfigError::MissingPasswordHash);
    assert!(error.to_string().contains("aiq-admin hash-password"));

    let mut plain = config();
    plain.admin.password_hash = Some(SecretString::from("hunter2"));
    assert_eq!(
        Dashboard::builder(plain).build().unwrap_err(),
        DashboardConfigError::InvalidPasswordHash
    );

    let mut nameless = config();
    nameless.admin.username = " ".into();
    assert_eq!(
        Dashboard::builder(nameless).build().unwrap_err(),
        DashboardConfigError::EmptyUsername
    );
}
