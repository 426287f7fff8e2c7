//! The checks on one identity token, given the key its `kid` names.
//!
//! Every accept/reject rule lives here: [`validation`] is the single place the jsonwebtoken
//! settings are chosen, the rest reads the claims jsonwebtoken leaves to us (`nonce`, `email`).

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{OAuthError, Provider, VerifiedIdentity};

/// The only accepted signature algorithm: both providers sign with it.
const ALGORITHM: Algorithm = Algorithm::RS256;

/// Clock skew tolerated on `exp` (and `nbf`, when present), in seconds.
const LEEWAY_SECONDS: u64 = 60;

/// The `iss` values each provider signs with.
fn issuers(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::Apple => &["https://appleid.apple.com"],
        // Google's documentation allows both spellings.
        Provider::Google => &["https://accounts.google.com", "accounts.google.com"],
    }
}

/// The jsonwebtoken settings for `provider`'s tokens meant for `client_ids`.
pub(super) fn validation(provider: Provider, client_ids: &[String]) -> Validation {
    let mut validation = Validation::new(ALGORITHM);
    // `algorithms` is what the `alg` header is checked against: exactly one, never a family.
    validation.algorithms = vec![ALGORITHM];
    // jsonwebtoken checks `iss` and `aud` only when present, unless they are required here.
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.leeway = LEEWAY_SECONDS;
    validation.set_issuer(issuers(provider));
    validation.set_audience(client_ids);
    validation
}

/// The claims read after jsonwebtoken has checked the signature and the standard claims.
///
/// Everything is optional so that a missing claim is reported by name rather than as a
/// deserialization error.
#[derive(Debug, Deserialize)]
pub(super) struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    nonce: Option<String>,
}

fn invalid(reason: impl Into<String>) -> OAuthError {
    OAuthError::InvalidToken(reason.into())
}

/// The `kid` of a token whose header names the pinned algorithm; anything else is rejected
/// before a key is looked up.
pub(super) fn pinned_kid(token: &str) -> Result<String, OAuthError> {
    // An unknown `alg` such as "none" fails here already: jsonwebtoken has no such algorithm.
    let header = jsonwebtoken::decode_header(token)
        .map_err(|err| invalid(format!("malformed header ({})", reason(&err))))?;
    if header.alg != ALGORITHM {
        return Err(invalid(format!(
            "algorithm {:?} is not accepted",
            header.alg
        )));
    }
    match header.kid {
        Some(kid) if !kid.is_empty() => Ok(kid),
        _ => Err(invalid("header has no kid")),
    }
}

/// Checks the signature with `key` and the standard claims, and returns the claims.
pub(super) fn decode(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<Claims, OAuthError> {
    jsonwebtoken::decode::<Claims>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|err| invalid(reason(&err)))
}

/// A log-safe reason for a jsonwebtoken failure. Parser messages can quote claim values (an
/// email), so those are summarised instead of displayed.
fn reason(err: &jsonwebtoken::errors::Error) -> String {
    match err.kind() {
        ErrorKind::InvalidSignature => "signature does not verify".into(),
        ErrorKind::ExpiredSignature => "token has expired".into(),
        ErrorKind::ImmatureSignature => "token is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "issuer not accepted".into(),
        ErrorKind::InvalidAudience => "audience not accepted".into(),
        ErrorKind::InvalidAlgorithm => "algorithm not accepted".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("missing claim {claim}"),
        ErrorKind::InvalidClaimFormat(claim) => format!("claim {claim} has the wrong type"),
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            "provider key is not a usable RSA key".into()
        }
        ErrorKind::Base64(_) | ErrorKind::Utf8(_) => "not base64url-encoded JSON".into(),
        ErrorKind::Json(_) => "JSON does not have the expected shape".into(),
        ErrorKind::InvalidToken => "not a JWT".into(),
        other => format!("{other:?}"),
    }
}

/// Lowercase hex SHA-256 of `raw_nonce`: what the app puts in Apple's request and Apple copies
/// into the token's `nonce`.
pub(super) fn nonce_hash(raw_nonce: &str) -> String {
    Sha256::digest(raw_nonce.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Apple's replay protection: the token must be bound to the nonce of this sign-in.
pub(super) fn check_nonce(claims: &Claims, raw_nonce: &str) -> Result<(), OAuthError> {
    match &claims.nonce {
        None => Err(invalid("missing claim nonce")),
        Some(nonce) if *nonce == nonce_hash(raw_nonce) => Ok(()),
        Some(_) => Err(invalid("nonce does not match")),
    }
}

/// The identity of a token that passed every check.
pub(super) fn identity(provider: Provider, claims: Claims) -> Result<VerifiedIdentity, OAuthError> {
    let subject = claims
        .sub
        .filter(|sub| !sub.is_empty())
        .ok_or_else(|| invalid("missing claim sub"))?;
    let email_verified = match claims.email_verified {
        Some(serde_json::Value::Bool(verified)) => verified,
        Some(serde_json::Value::String(verified)) => verified == "true",
        _ => false,
    };
    Ok(VerifiedIdentity {
        provider,
        subject,
        email: claims
            .email
            .filter(|email| !email.is_empty())
            .map(|email| email.to_lowercase()),
        email_verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_hash_is_lowercase_hex_sha256() {
        // sha256("abc") from FIPS 180-2.
        assert_eq!(
            nonce_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn validation_pins_rs256_and_requires_the_standard_claims() {
        let validation = validation(Provider::Apple, &["com.example".into()]);
        assert_eq!(validation.algorithms, vec![Algorithm::RS256]);
        for claim in ["exp", "iss", "aud", "sub"] {
            assert!(validation.required_spec_claims.contains(claim), "{claim}");
        }
    }
}
