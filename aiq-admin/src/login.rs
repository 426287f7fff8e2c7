//! Logging in and out.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::State as Shared;
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::header::{RETRY_AFTER, SET_COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::audit::{self, Event};
use crate::error::PageError;
use crate::forms::Action;
use crate::session::{self, LOGIN_COOKIE, set_cookie};
use crate::state::State;
use crate::{BASE_PATH, LOGIN_WINDOW};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    message: Option<&'static str>,
}

/// The fields of the login form.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// The login form with a fresh pre-login nonce, answered with `status`.
fn form(state: &State, status: StatusCode, message: Option<&'static str>) -> Response {
    let nonce = match session::random_secret() {
        Ok(nonce) => nonce,
        Err(error) => return error.into_response(),
    };
    let page = LoginPage {
        csrf: state.keys.csrf_token(&nonce),
        message,
    };
    match page.render() {
        Ok(html) => {
            let cookie = set_cookie(
                LOGIN_COOKIE,
                &state.keys.signed(LOGIN_COOKIE, &nonce),
                LOGIN_WINDOW.as_secs(),
                state.secure_cookies,
            );
            (status, [(SET_COOKIE, cookie)], Html(html)).into_response()
        }
        Err(error) => PageError::Internal(error.to_string()).into_response(),
    }
}

/// `GET /admin/login`.
pub(crate) async fn show(Shared(state): Shared<Arc<State>>) -> Response {
    form(&state, StatusCode::OK, None)
}

/// Whether the login form's token belongs to the nonce in the pre-login cookie.
fn login_csrf_matches(state: &State, headers: &HeaderMap, token: &str) -> bool {
    session::cookie(headers, LOGIN_COOKIE)
        .and_then(|value| state.keys.unsigned(LOGIN_COOKIE, value))
        .is_some_and(|nonce| {
            state
                .keys
                .csrf_token(nonce)
                .as_bytes()
                .ct_eq(token.as_bytes())
                .into()
        })
}

/// The audit log's actor of a failed login.
const FAILED_LOGIN_ACTOR: &str = "(failed login)";

/// All login attempts, from every address, per [`LOGIN_WINDOW`]: an attacker who rotates
/// addresses (or spoofs a forwarding header) still meets a ceiling.
const GLOBAL_ATTEMPTS: u32 = 50;

/// Counts an attempt against the address's quota and the global one; the address's verdict
/// unless the global ceiling is reached.
async fn attempt_allowed(
    state: &State,
    key: &str,
) -> Result<aiq_core::ratelimit::Decision, aiq_core::ratelimit::LimiterError> {
    let mine = state.limiter.check(key, state.login_quota).await?;
    if !mine.allowed {
        return Ok(mine);
    }
    let everyone = aiq_core::ratelimit::Quota::new(GLOBAL_ATTEMPTS, LOGIN_WINDOW);
    state.limiter.check("admin-login:*", everyone).await
}

/// Whether the credentials are the operator's: both compared in constant time, and the
/// password hash is checked even when the username is wrong, so timing tells nothing.
async fn credentials_match(state: &State, username: &str, password: String) -> bool {
    let expected = Sha256::digest(state.username.as_bytes());
    let given = Sha256::digest(username.as_bytes());
    let username_ok: bool = expected.ct_eq(&given).into();
    let hash = state.password_hash.expose_secret().to_owned();
    // One check at a time: a burst of logins queues instead of taking every blocking thread.
    let Ok(_permit) = state.password_checks.acquire().await else {
        return false;
    };
    let password_ok = tokio::task::spawn_blocking(move || {
        aiq_core::auth::password::verify_password_hash(&password, &hash)
    })
    .await
    .unwrap_or(false);
    username_ok & password_ok
}

/// `POST /admin/login`.
pub(crate) async fn submit(
    Shared(state): Shared<Arc<State>>,
    parts: Parts,
    Form(login): Form<LoginForm>,
) -> Response {
    if !login_csrf_matches(&state, &parts.headers, &login.csrf) {
        return form(
            &state,
            StatusCode::FORBIDDEN,
            Some("The login form expired or did not come from this page. Please try again."),
        );
    }
    let ip = state.client_ip(&parts);
    let key = format!(
        "admin-login:{}",
        ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    );
    match attempt_allowed(&state, &key).await {
        Ok(decision) if decision.allowed => {}
        Ok(decision) => {
            tracing::warn!(ip = ?ip, "admin login refused: too many attempts");
            let mut response = form(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                Some(
                    "Too many login attempts from your address. Wait 15 minutes before trying \
                     again.",
                ),
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(decision.retry_after.max(1)));
            return response;
        }
        Err(error) => {
            // Without a count there is no limit: refuse rather than allow unlimited guessing.
            tracing::error!(%error, "admin login refused: the attempt limiter is unavailable");
            return form(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Logins are paused: the attempt counter is unavailable. Try again shortly."),
            );
        }
    }
    if !credentials_match(&state, &login.username, login.password).await {
        tracing::warn!(ip = ?ip, "admin login failed: invalid credentials");
        // Not the typed username: a password typed into that field must not be kept.
        let event = Event {
            actor: FAILED_LOGIN_ACTOR,
            action: "login.failed",
            target: None,
            detail: None,
            ip,
        };
        if let Err(error) = audit::record(&state, event).await {
            return error.into_response();
        }
        return form(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("Wrong username or password."),
        );
    }
    let cookie = match session::start(&state, &state.username).await {
        Ok(cookie) => cookie,
        Err(error) => return error.into_response(),
    };
    let event = Event {
        actor: &state.username,
        action: "login",
        target: None,
        detail: None,
        ip,
    };
    if let Err(error) = audit::record(&state, event).await {
        return error.into_response();
    }
    let mut response = Redirect::to(BASE_PATH).into_response();
    let headers = response.headers_mut();
    headers.append(SET_COOKIE, cookie);
    headers.append(
        SET_COOKIE,
        set_cookie(LOGIN_COOKIE, "", 0, state.secure_cookies),
    );
    response
}

/// `POST /admin/logout`: the session is revoked in the store, not only forgotten by the
/// browser.
pub(crate) async fn logout(
    Shared(state): Shared<Arc<State>>,
    action: Action<serde::de::IgnoredAny>,
) -> Result<Response, PageError> {
    state
        .storage
        .revoke_admin_session(&action.admin.id_hash)
        .await?;
    audit::record(
        &state,
        Event {
            actor: &action.admin.username,
            action: "logout",
            target: None,
            detail: None,
            ip: action.ip,
        },
    )
    .await?;
    let mut response = Redirect::to(&format!("{BASE_PATH}/login")).into_response();
    let (name, value) = session::clear(&state);
    response.headers_mut().insert(name, value);
    Ok(response)
}
