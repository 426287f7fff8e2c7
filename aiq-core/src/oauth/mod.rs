//! Sign in with Apple and Google: checking the identity token the app got from the provider.
//!
//! The iOS app signs the user in with Apple or Google and hands the backend the provider's
//! identity token, a JWT. [`OAuthVerifier`] decides whether to believe it and, if so, says whom
//! it names ([`VerifiedIdentity`]). A token is believed only when:
//! - it is signed with RS256 by a key of the provider's published key set (JWKS), chosen by the
//!   token's `kid` header. The `alg` header is written by whoever made the token, so the
//!   algorithm is pinned rather than read from it (no `none`, no HMAC keyed with a public key);
//! - `iss` is the provider, `aud` one of our configured client ids, `exp` has not passed (60 s of
//!   clock leeway) and `sub` is present;
//! - for Apple, the `nonce` claim is the lowercase hex SHA-256 of the raw nonce the app generated
//!   for this sign-in, so a token captured from another sign-in cannot be replayed.
//!
//! A provider without client ids is switched off: its tokens get [`OAuthError::NotConfigured`]
//! before anything is fetched. How the keys are fetched and cached is described in `jwks`.
//!
//! Without the `oauth` feature no key is ever fetched (reqwest is not in the build): both
//! providers are switched off, and building a service whose configuration names client ids
//! fails.

#[cfg(feature = "oauth")]
mod jwks;
#[cfg(feature = "oauth")]
mod verify;

use std::fmt;
#[cfg(feature = "oauth")]
use std::sync::Arc;

#[cfg(feature = "oauth")]
use jsonwebtoken::Validation;

use crate::config::OAuthConfig;

#[cfg(feature = "oauth")]
use self::jwks::KeyCache;

/// An identity provider the app can sign in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Sign in with Apple.
    Apple,
    /// Google sign-in.
    Google,
}

impl Provider {
    /// The provider's name as stored and logged: `"apple"` or `"google"`.
    ///
    /// ```
    /// use aiq_core::oauth::Provider;
    /// assert_eq!(Provider::Google.as_str(), "google");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apple => "apple",
            Self::Google => "google",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whom a verified identity token names.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedIdentity {
    /// The provider that signed the token.
    pub provider: Provider,
    /// The `sub` claim: the provider's stable id of the user.
    pub subject: String,
    /// The `email` claim, lowercased; Apple sends it only at the first sign-in.
    pub email: Option<String>,
    /// Whether the provider vouches for the email (`email_verified` is `true` or `"true"`;
    /// Apple sends the string).
    pub email_verified: bool,
}

/// Why an identity token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// No client ids are configured for this provider, so its sign-in is switched off.
    #[error("{0} sign-in is not configured")]
    NotConfigured(Provider),
    /// The token failed a check. The reason is for logs; it never contains the token.
    #[error("invalid identity token: {0}")]
    InvalidToken(String),
    /// The provider's keys could not be fetched and none are cached.
    #[error("provider keys unavailable: {0}")]
    KeysUnavailable(String),
}

/// Verifies Apple and Google identity tokens against the providers' published keys.
///
/// Build one per process and clone it freely: clones share the key caches.
///
/// ```no_run
/// # async fn sign_in(token: &str, raw_nonce: &str) -> Result<(), aiq_core::oauth::OAuthError> {
/// use aiq_core::oauth::OAuthVerifier;
///
/// let mut config = aiq_core::config::OAuthConfig::default();
/// config.apple_client_ids = vec!["com.example.aiq".into()];
/// let verifier = OAuthVerifier::new(&config);
/// let identity = verifier.verify_apple(token, raw_nonce).await?;
/// println!("signed in as {} ({})", identity.subject, identity.provider.as_str());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct OAuthVerifier {
    #[cfg(feature = "oauth")]
    inner: Arc<Inner>,
}

#[cfg(feature = "oauth")]
#[derive(Debug)]
struct Inner {
    apple: ProviderVerifier,
    google: ProviderVerifier,
}

/// What one provider's tokens are checked with.
#[cfg(feature = "oauth")]
#[derive(Debug)]
struct ProviderVerifier {
    provider: Provider,
    /// `None` when no client ids are configured.
    validation: Option<Validation>,
    keys: KeyCache,
}

#[cfg(feature = "oauth")]
impl OAuthVerifier {
    /// A verifier for the providers and key URLs of `config`. Nothing is fetched until the first
    /// token arrives.
    pub fn new(config: &OAuthConfig) -> Self {
        let http = jwks::http_client();
        if let Err(reason) = &http {
            // Not fatal: sign-in then fails with `KeysUnavailable` and says why.
            tracing::error!(%reason, "cannot build the HTTP client for provider keys");
        }
        let verifier = |provider, client_ids: &[String], url: &str| ProviderVerifier {
            provider,
            validation: (!client_ids.is_empty()).then(|| verify::validation(provider, client_ids)),
            keys: KeyCache::new(provider, url, config.jwks_cache_ttl, http.clone()),
        };
        Self {
            inner: Arc::new(Inner {
                apple: verifier(
                    Provider::Apple,
                    &config.apple_client_ids,
                    &config.apple_jwks_url,
                ),
                google: verifier(
                    Provider::Google,
                    &config.google_client_ids,
                    &config.google_jwks_url,
                ),
            }),
        }
    }

    /// Verifies a Sign in with Apple identity token. `raw_nonce` is the nonce the app generated
    /// for this sign-in; the token must carry its SHA-256.
    pub async fn verify_apple(
        &self,
        identity_token: &str,
        raw_nonce: &str,
    ) -> Result<VerifiedIdentity, OAuthError> {
        let claims = self.inner.apple.verify(identity_token).await?;
        verify::check_nonce(&claims, raw_nonce)?;
        verify::identity(Provider::Apple, claims)
    }

    /// Verifies a Google sign-in ID token.
    pub async fn verify_google(
        &self,
        identity_token: &str,
    ) -> Result<VerifiedIdentity, OAuthError> {
        let claims = self.inner.google.verify(identity_token).await?;
        verify::identity(Provider::Google, claims)
    }
}

#[cfg(feature = "oauth")]
impl ProviderVerifier {
    /// Signature and standard claims; the provider-specific checks are the caller's.
    async fn verify(&self, token: &str) -> Result<verify::Claims, OAuthError> {
        let validation = self
            .validation
            .as_ref()
            .ok_or(OAuthError::NotConfigured(self.provider))?;
        // Header checks come before the key lookup, so a forged header never causes a fetch.
        let kid = verify::pinned_kid(token)?;
        let key = self.keys.key(&kid).await?;
        verify::decode(token, &key, validation)
    }
}

/// Without the `oauth` feature: both providers are switched off.
#[cfg(not(feature = "oauth"))]
impl OAuthVerifier {
    /// A verifier with both providers switched off: this build cannot fetch their keys, so
    /// `config` is not read (the service refuses client ids when it is built).
    pub fn new(config: &OAuthConfig) -> Self {
        let _ = config;
        Self {}
    }

    /// Always [`OAuthError::NotConfigured`]: this build has no `oauth` feature.
    pub async fn verify_apple(
        &self,
        identity_token: &str,
        raw_nonce: &str,
    ) -> Result<VerifiedIdentity, OAuthError> {
        let _ = (identity_token, raw_nonce);
        Err(OAuthError::NotConfigured(Provider::Apple))
    }

    /// Always [`OAuthError::NotConfigured`]: this build has no `oauth` feature.
    pub async fn verify_google(
        &self,
        identity_token: &str,
    ) -> Result<VerifiedIdentity, OAuthError> {
        let _ = identity_token;
        Err(OAuthError::NotConfigured(Provider::Google))
    }
}
