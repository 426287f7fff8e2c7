//! From a bearer token to a user.
//!
//! The checks run in the old backend's order, each with its message (all 401 with
//! `WWW-Authenticate: Bearer`): signature and expiry, token kind, revocation of the token or its
//! session, `user_id` present, logout-all / password-reset generation, user still exists.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use time::OffsetDateTime;

use super::audit;
use super::tokens::{Claims, DecodedAccess, Rejection, TokenKind};
use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::{StorageError, User, UserId};

/// Why a request is not authenticated.
#[derive(Debug)]
pub(crate) enum AuthError {
    NotAuthenticated,
    BadScheme,
    InvalidToken(TokenKind),
    WrongType,
    Revoked,
    InvalidPayload,
    UserNotFound,
    Storage(StorageError),
}

impl From<StorageError> for AuthError {
    fn from(err: StorageError) -> Self {
        Self::Storage(err)
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let message = match err {
            AuthError::Storage(err) => return err.into(),
            AuthError::NotAuthenticated => "Not authenticated",
            AuthError::BadScheme => "Invalid authentication credentials",
            AuthError::InvalidToken(TokenKind::Access) => "Invalid authentication token.",
            AuthError::InvalidToken(TokenKind::Refresh) => "Invalid refresh token.",
            AuthError::WrongType => "Invalid token type.",
            AuthError::Revoked => "Token has been revoked.",
            AuthError::InvalidPayload => "Invalid token payload.",
            AuthError::UserNotFound => "User not found.",
        };
        ApiError::Unauthorized(message.to_owned())
    }
}

/// The bearer token of a request.
pub(crate) fn bearer(parts: &Parts) -> Result<&str, AuthError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(AuthError::NotAuthenticated)?;
    let value = header.to_str().map_err(|_| AuthError::BadScheme)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::BadScheme)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::BadScheme);
    }
    Ok(token.trim())
}

/// A token that passed every check, with what the checks found.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) user: User,
    pub(crate) claims: Claims,
    /// When this very token was revoked, if it was and the caller tolerates that (refresh
    /// rotation decides between a retry within the grace period and a reuse).
    pub(crate) token_revoked_at: Option<OffsetDateTime>,
}

/// Whether logout-all or a password reset revoked a token with these claims.
fn revoked_for_user(claims: &Claims, user: &User) -> bool {
    match claims.generation {
        Some(generation) => generation < user.token_generation,
        // Tokens without a generation (the old backend's) use its timestamp rule.
        None => user.token_revoked_before.is_some_and(|before| {
            i128::from(claims.iat) * 1_000_000_000 < before.unix_timestamp_nanos()
        }),
    }
}

/// Runs every check on `token`. With `tolerate_revoked_token` a revoked token (but not a
/// revoked session) passes, reporting when it was revoked.
pub(crate) async fn verify(
    state: &AppState,
    token: &str,
    kind: TokenKind,
    tolerate_revoked_token: bool,
) -> Result<Verified, AuthError> {
    verify_decoded(state, token, kind, tolerate_revoked_token, None).await
}

/// [`verify`], reusing `earlier` (the same token decoded by the rate limiter) when it applies.
pub(crate) async fn verify_decoded(
    state: &AppState,
    token: &str,
    kind: TokenKind,
    tolerate_revoked_token: bool,
    earlier: Option<&DecodedAccess>,
) -> Result<Verified, AuthError> {
    let now = crate::time::now();
    let decoded = DecodedAccess::claims_for(earlier, token, kind, || {
        state.tokens.decode(token, kind, now)
    });
    let claims = decoded.map_err(|rejection| {
        audit::token_rejected(match rejection {
            Rejection::Invalid => "invalid",
            Rejection::WrongKind => "wrong type",
        });
        match rejection {
            Rejection::Invalid => AuthError::InvalidToken(kind),
            Rejection::WrongKind => AuthError::WrongType,
        }
    })?;

    let token_key = claims.token_key();
    let session_key = claims.session_key();
    let keys = [token_key.as_str(), session_key.as_str()];
    let (user, revoked) = read_user_and_revocations(state, claims.user_id, &keys, now).await?;
    let token_revoked_at = revoked.first().copied().flatten();
    let session_revoked = revoked.get(1).copied().flatten().is_some();
    if session_revoked || (token_revoked_at.is_some() && !tolerate_revoked_token) {
        audit::token_rejected("revoked");
        return Err(AuthError::Revoked);
    }

    claims.user_id.ok_or(AuthError::InvalidPayload)?;
    let user = user.ok_or(AuthError::UserNotFound)?;
    if revoked_for_user(&claims, &user) {
        audit::token_rejected("revoked by logout-all or password reset");
        return Err(AuthError::Revoked);
    }
    Ok(Verified {
        user,
        claims,
        token_revoked_at,
    })
}

/// The user of the claims (none without a `user_id`) and when each of `keys` was revoked: one
/// round trip when the revocations are kept in the storage, else one read from each.
async fn read_user_and_revocations(
    state: &AppState,
    user_id: Option<UserId>,
    keys: &[&str],
    now: OffsetDateTime,
) -> Result<(Option<User>, Vec<Option<OffsetDateTime>>), StorageError> {
    if let Some(id) = user_id
        && state.revocations_in_storage
    {
        return state.storage.user_with_revocations(id, keys, now).await;
    }
    let revoked = state.revocations.revoked_at(keys, now).await?;
    let user = match user_id {
        Some(id) => state.storage.user_by_id(id).await?,
        None => None,
    };
    Ok((user, revoked))
}

/// The authenticated caller of an endpoint that requires an access token.
#[derive(Debug)]
pub(crate) struct CurrentUser {
    pub(crate) user: User,
    pub(crate) claims: Claims,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let earlier = parts.extensions.get::<DecodedAccess>();
        let verified = verify_decoded(state, token, TokenKind::Access, false, earlier).await?;
        Ok(Self {
            user: verified.user,
            claims: verified.claims,
        })
    }
}

/// The caller of an endpoint where signing in is optional (analytics events, feedback): the
/// user of a valid access token, or `None` when the token is missing or fails any check. A bad
/// token never turns into an error, nor does a storage failure while checking it (the caller is
/// then anonymous).
#[derive(Debug)]
pub(crate) struct MaybeUser(pub(crate) Option<User>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Ok(token) = bearer(parts) else {
            return Ok(Self(None));
        };
        let earlier = parts.extensions.get::<DecodedAccess>();
        match verify_decoded(state, token, TokenKind::Access, false, earlier).await {
            Ok(verified) => Ok(Self(Some(verified.user))),
            // Optional authentication never fails the request (original-api.md §0.3): when the
            // token cannot be checked, the caller is served as anonymous.
            Err(AuthError::Storage(error)) => {
                tracing::warn!(%error, "optional token not checked (storage); serving anonymously");
                Ok(Self(None))
            }
            Err(_) => Ok(Self(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tokens::{DecodedAccess, Rejection, TokenKind};

    #[test]
    fn an_access_token_decoded_by_the_rate_limiter_is_not_decoded_again() {
        let earlier = DecodedAccess {
            token: "the-token".to_owned(),
            outcome: Err(Rejection::Invalid),
        };
        let decodes = std::cell::Cell::new(0);
        let decode = || {
            decodes.set(decodes.get() + 1);
            Err(Rejection::WrongKind)
        };
        // The same token as an access token: the earlier outcome, no decode.
        let same =
            DecodedAccess::claims_for(Some(&earlier), "the-token", TokenKind::Access, decode);
        assert_eq!(same, Err(Rejection::Invalid));
        assert_eq!(decodes.get(), 0);
        // Another token, or another kind: decoded.
        let other = DecodedAccess::claims_for(Some(&earlier), "other", TokenKind::Access, decode);
        assert_eq!(other, Err(Rejection::WrongKind));
        let refresh =
            DecodedAccess::claims_for(Some(&earlier), "the-token", TokenKind::Refresh, decode);
        assert_eq!(refresh, Err(Rejection::WrongKind));
        assert_eq!(decodes.get(), 2);
    }
}
