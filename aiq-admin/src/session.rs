//! The login session: a random secret in a signed cookie, a hash of it in the store, and the
//! CSRF token derived from it.
//!
//! The cookie holds `<secret>.<signature>`: 32 random bytes and their HMAC-SHA256 under a key
//! derived from `SECRET_KEY`, both base64url. A cookie that was not signed by this key is refused
//! before the store is asked; one that was is accepted only while the store holds an unexpired,
//! unrevoked session with the secret's SHA-256. The CSRF token of every form is another HMAC of
//! the same secret, so it is worthless without the cookie and dies with the session.

use std::sync::Arc;

use aiq_core::storage::AdminSession;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use http::header::{COOKIE, SET_COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::PageError;
use crate::state::State;
use crate::{BASE_PATH, SESSION_LIFETIME};

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "aiq_admin_session";
/// The pre-login cookie whose nonce the login form's CSRF token is bound to.
pub(crate) const LOGIN_COOKIE: &str = "aiq_admin_login";

type HmacSha256 = Hmac<Sha256>;

/// The dashboard's signing key, derived from `SECRET_KEY` so it signs nothing else's data.
pub(crate) struct Keys {
    key: [u8; 32],
}

impl Keys {
    pub(crate) fn new(secret_key: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret_key).expect("HMAC accepts any key length");
        mac.update(b"aiq-admin dashboard key v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, purpose: &str, value: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        mac
    }

    /// The base64url HMAC of `value` for `purpose`.
    pub(crate) fn sign(&self, purpose: &str, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, value).finalize().into_bytes())
    }

    /// Whether `signature` is [`Keys::sign`]'s for `value`, compared in constant time.
    pub(crate) fn verify(&self, purpose: &str, value: &str, signature: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(signature)
            .is_ok_and(|bytes| self.mac(purpose, value).verify_slice(&bytes).is_ok())
    }

    /// `<value>.<signature>`, for a cookie.
    pub(crate) fn signed(&self, purpose: &str, value: &str) -> String {
        format!("{value}.{}", self.sign(purpose, value))
    }

    /// The value of a [`Keys::signed`] string, if the signature is right.
    pub(crate) fn unsigned<'a>(&self, purpose: &str, signed: &'a str) -> Option<&'a str> {
        let (value, signature) = signed.rsplit_once('.')?;
        self.verify(purpose, value, signature).then_some(value)
    }

    /// The CSRF token bound to a session (or pre-login) secret.
    pub(crate) fn csrf_token(&self, secret: &str) -> String {
        self.sign("csrf", secret)
    }
}

/// 32 random bytes, base64url.
pub(crate) fn random_secret() -> Result<String, PageError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The hex SHA-256 the store keeps instead of the secret.
pub(crate) fn id_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` header for the dashboard's path: HttpOnly, SameSite=Strict, Secure when
/// `secure`; `max_age` 0 deletes it.
pub(crate) fn set_cookie(name: &str, value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let header = format!(
        "{name}={value}; Path={BASE_PATH}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&header).expect("cookie values are base64url and fixed text")
}

/// Adds the cookie that starts a session and stores the session; returns the header.
pub(crate) async fn start(state: &State, username: &str) -> Result<HeaderValue, PageError> {
    let secret = random_secret()?;
    let now = state.now();
    let lifetime = time::Duration::try_from(SESSION_LIFETIME).expect("four hours fit");
    state
        .storage
        .create_admin_session(&AdminSession {
            id_hash: id_hash(&secret),
            username: username.to_owned(),
            created_at: now,
            expires_at: now + lifetime,
        })
        .await?;
    Ok(set_cookie(
        SESSION_COOKIE,
        &state.keys.signed(SESSION_COOKIE, &secret),
        SESSION_LIFETIME.as_secs(),
        state.secure_cookies,
    ))
}

/// The `Set-Cookie` header that removes the session cookie.
pub(crate) fn clear(state: &State) -> (http::HeaderName, HeaderValue) {
    (
        SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, state.secure_cookies),
    )
}

/// A logged-in operator: what every page but the login form requires.
#[derive(Debug, Clone)]
pub(crate) struct Admin {
    /// Who.
    pub(crate) username: String,
    /// The CSRF token every form of theirs carries.
    pub(crate) csrf: String,
    /// The session's id in the store.
    pub(crate) id_hash: String,
}

impl Admin {
    /// Whether `token` is this session's CSRF token (constant time).
    pub(crate) fn csrf_matches(&self, token: &str) -> bool {
        self.csrf.as_bytes().ct_eq(token.as_bytes()).into()
    }
}

/// What happens to a request without a valid session.
#[derive(Debug)]
pub(crate) enum NoSession {
    /// Go and log in (`true`: the cookie is cleared with the `Secure` flag).
    Login(bool),
    /// The store could not be asked.
    Failed(PageError),
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            Self::Login(secure) => {
                // A stale or forged cookie is removed on the way to the form.
                let mut response = Redirect::to(&format!("{BASE_PATH}/login")).into_response();
                response
                    .headers_mut()
                    .insert(SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, secure));
                response
            }
            Self::Failed(error) => error.into_response(),
        }
    }
}

impl FromRequestParts<Arc<State>> for Admin {
    type Rejection = NoSession;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<State>,
    ) -> Result<Self, Self::Rejection> {
        let secret = cookie(&parts.headers, SESSION_COOKIE)
            .and_then(|value| state.keys.unsigned(SESSION_COOKIE, value))
            .ok_or(NoSession::Login(state.secure_cookies))?;
        let hash = id_hash(secret);
        let session = state
            .storage
            .admin_session(&hash, state.now())
            .await
            .map_err(|e| NoSession::Failed(e.into()))?
            // A session of a former ADMIN_USERNAME ends when the setting changes.
            .filter(|session| session.username == state.username)
            .ok_or(NoSession::Login(state.secure_cookies))?;
        Ok(Self {
            username: session.username,
            csrf: state.keys.csrf_token(secret),
            id_hash: hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_their_key_purpose_and_value() {
        let keys = Keys::new(b"a secret key of some length 0123456789");
        let signed = keys.signed("cookie", "value");
        assert_eq!(keys.unsigned("cookie", &signed), Some("value"));
        assert_eq!(keys.unsigned("other", &signed), None);
        assert_eq!(
            keys.unsigned("cookie", &signed.replace("value", "valuf")),
            None
        );
        let other = Keys::new(b"another secret key of some length 012345");
        assert_eq!(other.unsigned("cookie", &signed), None);
        assert_eq!(keys.unsigned("cookie", "no-dot"), None);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; aiq_admin_session=x.y"),
        );
        headers.append(COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("x.y"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn cookie_attributes_are_strict() {
        let value = set_cookie(SESSION_COOKIE, "v", 14_400, true);
        let value = value.to_str().unwrap();
        for attribute in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Max-Age=14400",
            "Path=/admin",
        ] {
            assert!(value.contains(attribute), "{value} lacks {attribute}");
        }
        assert!(
            !set_cookie(SESSION_COOKIE, "v", 1, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}
