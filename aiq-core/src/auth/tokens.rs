//! Access and refresh tokens.
//!
//! HS256 (or `JWT_ALGORITHM`) JWTs with the old backend's claims: `user_id`, `email` (access
//! only), `type`, `jti`, `iat`, `exp`. Two claims are new and optional, so tokens issued by the
//! old backend with the same key keep working until they expire:
//! - `sid`: the login session; every token a login or its refreshes produce shares it, so a
//!   logout or a detected refresh-token reuse can revoke them together;
//! - `gen`: the user's token generation at issue time; logout-all and password resets bump it,
//!   which revokes exactly the tokens issued before, independent of clocks.
//!
//! Validation pins the algorithm (the `alg` header is the attacker's), requires
//! `exp`/`iat`/`jti`/`type`, checks `nbf` when present, and refuses tokens issued in the future.

use std::collections::HashSet;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::BoxError;
use crate::config::{JwtAlgorithm, SecurityConfig};
use crate::storage::User;

/// Seconds of clock difference tolerated between the instances that issue and check tokens:
/// a token is still accepted this long after its `exp`.
pub const LEEWAY_SECS: u64 = 5;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Sent on every request.
    Access,
    /// Exchanged for a new pair at `/v1/auth/refresh`.
    Refresh,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// The claims of both kinds of token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user (required on use; a token without it is "Invalid token payload.").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// The user's email, in access tokens only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `access` or `refresh`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A unique id, the key of this token's revocation.
    pub jti: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
    /// The login session every token of one login shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The user's token generation when issued (`gen`).
    #[serde(rename = "gen", default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i32>,
}

impl Claims {
    /// The last instant the token is still accepted: `exp` plus the clock leeway. A revocation
    /// must be remembered until then, or the token would work again inside the leeway.
    pub fn expires_at(&self) -> OffsetDateTime {
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        OffsetDateTime::from_unix_timestamp(self.exp.saturating_add(leeway))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The revocation key of this one token.
    pub fn token_key(&self) -> String {
        token_key(&self.jti)
    }

    /// The login session: `sid`, or for a token of the old backend (which has none) one named
    /// after the token itself, so the pairs refreshed from it and the token share a session that
    /// one logout revokes.
    pub fn session_id(&self) -> String {
        self.sid
            .clone()
            .unwrap_or_else(|| legacy_session_id(&self.jti))
    }

    /// The revocation key of its login session.
    pub fn session_key(&self) -> String {
        session_key(&self.session_id())
    }
}

/// The revocation key of the one token whose `jti` is given.
///
/// ```
/// assert_eq!(aiq_core::auth::tokens::token_key("abc"), "jti:abc");
/// ```
pub fn token_key(jti: &str) -> String {
    format!("jti:{jti}")
}

/// The revocation key of the login session `sid`.
///
/// ```
/// assert_eq!(aiq_core::auth::tokens::session_key("s1"), "sid:s1");
/// ```
pub fn session_key(sid: &str) -> String {
    format!("sid:{sid}")
}

/// The login session of an old-backend token (which carries no `sid`): named after the token,
/// so the pairs refreshed from it share it.
///
/// ```
/// use aiq_core::auth::tokens::{legacy_session_id, session_key};
/// assert_eq!(session_key(&legacy_session_id("abc")), "sid:legacy-abc");
/// ```
pub fn legacy_session_id(jti: &str) -> String {
    format!("legacy-{jti}")
}

/// A freshly issued access and refresh token.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The access token.
    pub access: String,
    /// The refresh token.
    pub refresh: String,
}

/// Signs and checks tokens with the configured key and algorithm.
#[derive(Clone)]
pub struct Tokens {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// An access token already decoded for this request (by the rate limiter, to key its bucket),
/// kept in the request's extensions so that authentication does not decode it again.
#[derive(Debug, Clone)]
pub(crate) struct DecodedAccess {
    /// The token as it came in `Authorization`.
    pub(crate) token: String,
    /// What decoding it as an access token gave.
    pub(crate) outcome: Result<Claims, Rejection>,
}

impl DecodedAccess {
    /// The claims of `token` as a `kind` token: the earlier outcome when it was this very token
    /// decoded as an access token, otherwise `decode`'s.
    pub(crate) fn claims_for(
        earlier: Option<&Self>,
        token: &str,
        kind: TokenKind,
        decode: impl FnOnce() -> Result<Claims, Rejection>,
    ) -> Result<Claims, Rejection> {
        match earlier {
            Some(earlier) if kind == TokenKind::Access && earlier.token == token => {
                earlier.outcome.clone()
            }
            _ => decode(),
        }
    }
}

/// Why a token was refused before any state was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Bad signature, expired, malformed, wrong algorithm, missing claims.
    Invalid,
    /// A valid token of the other kind.
    WrongKind,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Tokens {
    /// Signs with `JWT_SECRET_KEY` and `JWT_ALGORITHM`; fails for an empty key.
    ///
    /// ```
    /// use aiq_core::auth::tokens::{TokenKind, Tokens};
    /// use aiq_core::storage::NewUser;
    /// let tokens = Tokens::new(&aiq_core::config::SecurityConfig::default())?;
    /// let user = NewUser::with_password("ada@example.com", "h").into_user(1);
    /// let now = aiq_core::time::now();
    /// let pair = tokens.issue(&user, &Tokens::new_session(), now)?;
    /// assert_eq!(tokens.decode(&pair.access, TokenKind::Access, now).unwrap().user_id, Some(1));
    /// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    /// ```
    pub fn new(config: &SecurityConfig) -> Result<Self, BoxError> {
        let algorithm = match config.jwt_algorithm {
            JwtAlgorithm::Hs256 => Algorithm::HS256,
            JwtAlgorithm::Hs384 => Algorithm::HS384,
            JwtAlgorithm::Hs512 => Algorithm::HS512,
        };
        let secret = config.jwt_secret_key.expose_secret().as_bytes();
        Ok(Self {
            algorithm,
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            access_ttl: config.access_token_ttl,
            refresh_ttl: config.refresh_token_ttl,
        })
    }

    /// How long a refresh token lives: a session's revocation must outlive its last token.
    pub fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    /// The configured lifetime of tokens of `kind`.
    fn ttl(&self, kind: TokenKind) -> Duration {
        match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        }
    }

    fn claims(&self, user: &User, kind: TokenKind, sid: &str, now: OffsetDateTime) -> Claims {
        let ttl = self.ttl(kind);
        let iat = now.unix_timestamp();
        Claims {
            user_id: Some(user.id),
            email: (kind == TokenKind::Access).then(|| user.email.clone()),
            kind: kind.as_str().to_owned(),
            jti: new_id(),
            iat,
            exp: iat.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            sid: Some(sid.to_owned()),
            generation: Some(user.token_generation),
        }
    }

    fn encode(&self, claims: &Claims) -> Result<String, BoxError> {
        Ok(jsonwebtoken::encode(
            &Header::new(self.algorithm),
            claims,
            &self.encoding,
        )?)
    }

    /// A new session id, for a login.
    pub fn new_session() -> String {
        new_id()
    }

    /// An access and a refresh token for `user` in session `sid`.
    pub fn issue(
        &self,
        user: &User,
        sid: &str,
        now: OffsetDateTime,
    ) -> Result<TokenPair, BoxError> {
        Ok(TokenPair {
            access: self.encode(&self.claims(user, TokenKind::Access, sid, now))?,
            refresh: self.encode(&self.claims(user, TokenKind::Refresh, sid, now))?,
        })
    }

    /// The one place token validation is configured.
    fn validation(&self) -> Validation {
        let mut validation = Validation::new(self.algorithm);
        validation.algorithms = vec![self.algorithm];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false; // our tokens carry no audience
        validation.required_spec_claims = HashSet::from(["exp".to_owned()]);
        validation
    }

    /// Checks signature, algorithm, expiry and claims, then the kind.
    pub fn decode(
        &self,
        token: &str,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<Claims, Rejection> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation())
            .map_err(|_| Rejection::Invalid)?
            .claims;
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        if claims.iat > now.unix_timestamp() + leeway {
            return Err(Rejection::Invalid);
        }
        if claims.kind != kind.as_str() {
            return Err(Rejection::WrongKind);
        }
        // A signed token that claims more than this service ever issues was not issued by it
        // as configured: a user id of the guest placeholder (-1) or below, or a lifetime longer
        // than the configured one (an `exp` years ahead).
        if claims.user_id.is_some_and(|id| id <= 0) {
            return Err(Rejection::Invalid);
        }
        let longest = i64::try_from(self.ttl(kind).as_secs()).unwrap_or(i64::MAX);
        if claims.exp.saturating_sub(claims.iat) > longest.saturating_add(leeway) {
            return Err(Rejection::Invalid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::NewUser;

    fn tokens() -> Tokens {
        Tokens::new(&SecurityConfig::default()).unwrap()
    }

    fn user() -> User {
        NewUser::with_password("ada@example.com", "h").into_user(7)
    }

    #[test]
    fn issued_tokens_carry_the_old_claims_and_decode() {
        let tokens = tokens();
        let now = crate::time::now();
        let pair = tokens.issue(&user(), "s1", now).unwrap();
        let access = tokens.decode(&pair.access, TokenKind::Access, now).unwrap();
        assert_eq!(access.user_id, Some(7));
        assert_eq!(access.email.as_deref(), Some("ada@example.com"));
        assert_eq!(access.exp - access.iat, 30 * 60);
        assert_eq!(access.sid.as_deref(), Some("s1"));
        let refresh = tokens
            .decode(&pair.refresh, TokenKind::Refresh, now)
            .unwrap();
        assert_eq!(refresh.email, None);
        assert_eq!(refresh.exp - refresh.iat, 7 * 24 * 3600);
        assert_ne!(access.jti, refresh.jti);
        assert_eq!(
            tokens.decode(&pair.refresh, TokenKind::Access, now),
            Err(Rejection::WrongKind)
        );
        assert_eq!(
            tokens.decode(&pair.access, TokenKind::Refresh, now),
            Err(Rejection::WrongKind)
        );
    }

    #[test]
    fn tokens_from_the_future_or_the_past_are_invalid() {
        let tokens = tokens();
        let now = crate::time::now();
        let later = tokens
            .issue(&user(), "s", now + time::Duration::minutes(5))
            .unwrap();
        assert_eq!(
            tokens.decode(&later.access, TokenKind::Access, now),
            Err(Rejection::Invalid)
        );
        let old = tokens
            .issue(&user(), "s", now - time::Duration::hours(1))
            .unwrap();
        assert_eq!(
            tokens.decode(&old.access, TokenKind::Access, now),
            Err(Rejection::Invalid)
        );
    }

    /// Signs `claims` with the key `tokens` checks.
    fn signed(tokens: &Tokens, claims: &Claims) -> String {
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &tokens.encoding).unwrap()
    }

    #[test]
    fn ids_of_no_user_and_lifetimes_beyond_the_configured_are_invalid() {
        let tokens = tokens();
        let now = crate::time::now().unix_timestamp();
        let claims = |user_id: i64, iat: i64, exp: i64| Claims {
            user_id: Some(user_id),
            email: None,
            kind: "access".into(),
            jti: "j".into(),
            iat,
            exp,
            sid: None,
            generation: None,
        };
        let at = crate::time::now();
        // The configured lifetime (30 minutes) passes, so the refusals below are about the claims.
        let fine = signed(&tokens, &claims(7, now, now + 30 * 60));
        assert!(tokens.decode(&fine, TokenKind::Access, at).is_ok());
        for (what, bad) in [
            ("guest placeholder", claims(-1, now, now + 60)),
            ("zero", claims(0, now, now + 60)),
            ("ten years", claims(7, now, now + 10 * 365 * 24 * 3600)),
            ("a minute too long", claims(7, now, now + 31 * 60)),
        ] {
            assert_eq!(
                tokens.decode(&signed(&tokens, &bad), TokenKind::Access, at),
                Err(Rejection::Invalid),
                "{what}"
            );
        }
    }
}
