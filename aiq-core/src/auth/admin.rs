//! The `X-Admin-Token` guard of operator-only JSON routes.
//!
//! The token is `ADMIN_TOKEN` (`config.admin.token`). Both sides are hashed with SHA-256 and
//! the digests compared in constant time, so neither the content nor the length of the secret
//! leaks through response timing. A missing or wrong token is a 401; when `ADMIN_TOKEN` is not
//! set the routes answer 503 saying so, rather than being open or looking broken.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::audit;
use crate::error::ApiError;
use crate::state::AppState;

/// The request header carrying the admin token.
pub(crate) const ADMIN_TOKEN_HEADER: &str = "x-admin-token";

/// Proof that the request carried the configured admin token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdminToken;

/// Whether `given` equals `expected`, in time independent of both.
pub(crate) fn token_matches(given: &[u8], expected: &[u8]) -> bool {
    let given = Sha256::digest(given);
    let expected = Sha256::digest(expected);
    given.as_slice().ct_eq(expected.as_slice()).into()
}

impl FromRequestParts<AppState> for AdminToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = state.config.admin.token.as_ref() else {
            return Err(ApiError::NotConfigured(
                "The admin API is disabled: ADMIN_TOKEN is not set.",
            ));
        };
        let given = parts
            .headers
            .get(ADMIN_TOKEN_HEADER)
            .map(|value| value.as_bytes())
            .unwrap_or_default();
        if !given.is_empty() && token_matches(given, expected.expose_secret().as_bytes()) {
            Ok(Self)
        } else {
            audit::token_rejected("admin token");
            Err(ApiError::AdminTokenRejected)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::token_matches;

    #[test]
    fn only_the_exact_token_matches() {
        assert!(token_matches(b"s3cret-token", b"s3cret-token"));
        assert!(!token_matches(b"s3cret-tokeN", b"s3cret-token"));
        assert!(!token_matches(b"s3cret", b"s3cret-token"));
        assert!(!token_matches(b"", b"s3cret-token"));
    }
}
