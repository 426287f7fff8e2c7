//! `aiq_core::oauth` against a local JWKS server and tokens signed with keys made here.
//!
//! Each test starts its own key server on `127.0.0.1:0`, which counts the fetches it answers, so
//! the caching rules are checked by counting requests rather than by trusting the cache.

use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use aiq_core::oauth::{OAuthError, OAuthVerifier, Provider, VerifiedIdentity};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

mod support;

use support::jwks::*;

#[track_caller]
fn assert_invalid(result: Result<VerifiedIdentity, OAuthError>, reason_contains: &str) {
    match result {
        Err(OAuthError::InvalidToken(reason)) => assert!(
            reason.contains(reason_contains),
            "reason {reason:?} does not mention {reason_contains:?}"
        ),
        other => panic!("expected InvalidToken({reason_contains:?}), got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_apple_token_names_the_user() {
    let (server, verifier) = with_server().await;
    let identity = verifier
        .verify_apple(&sign(&apple_claims()), RAW_NONCE)
        .await
        .expect("valid token");
    assert_eq!(
        identity,
        VerifiedIdentity {
            provider: Provider::Apple,
            subject: "001234.abcdef".into(),
            email: Some("someone@example.com".into()),
            email_verified: true,
        }
    );
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn email_verified_is_read_from_a_bool_or_the_string_true_only() {
    let (_server, verifier) = with_server().await;
    for (claim, expected) in [
        (json!(true), true),
        (json!("true"), true),
        (json!(false), false),
        (json!("false"), false),
        (json!("yes"), false),
        (Value::Null, false),
    ] {
        let mut claims = apple_claims();
        claims["email_verified"] = claim.clone();
        let identity = verifier
            .verify_apple(&sign(&claims), RAW_NONCE)
            .await
            .expect("valid token");
        assert_eq!(identity.email_verified, expected, "email_verified: {claim}");
    }
    let mut claims = apple_claims();
    claims.as_object_mut().expect("object").remove("email");
    let identity = verifier
        .verify_apple(&sign(&claims), RAW_NONCE)
        .await
        .expect("valid token");
    assert_eq!(identity.email, None);
}

#[tokio::test]
async fn apple_tokens_are_bound_to_the_nonce() {
    let (_server, verifier) = with_server().await;
    let token = sign(&apple_claims());
    assert_invalid(
        verifier.verify_apple(&token, "another-nonce").await,
        "nonce",
    );
    // The hash itself is not the raw nonce.
    assert_invalid(
        verifier.verify_apple(&token, &hex_sha256(RAW_NONCE)).await,
        "nonce",
    );
    let mut claims = apple_claims();
    claims.as_object_mut().expect("object").remove("nonce");
    assert_invalid(
        verifier.verify_apple(&sign(&claims), RAW_NONCE).await,
        "nonce",
    );
    let mut claims = apple_claims();
    claims["nonce"] = json!(hex_sha256(RAW_NONCE).to_uppercase());
    assert_invalid(
        verifier.verify_apple(&sign(&claims), RAW_NONCE).await,
        "nonce",
    );
}

#[tokio::test]
async fn audience_must_be_a_configured_client_id() {
    let (_server, verifier) = with_server().await;
    let mut claims = apple_claims();
    claims["aud"] = json!("com.someone.else");
    assert_invalid(
        verifier.verify_apple(&sign(&claims), RAW_NONCE).await,
        "audience",
    );
    // A Google client id is not an Apple audience.
    claims["aud"] = json!(GOOGLE_AUD);
    assert_invalid(
        verifier.verify_apple(&sign(&claims), RAW_NONCE).await,
        "audience",
    );
    claims.as_object_mut().expect("object").remove("aud");
    assert_invalid(
        verifier.verify_apple(&sign(&claims), RAW_NONCE).await,
        "aud",
    );
}

#[tokio::test]
async fn issuer_must_be_the_provider() {
    let (_server, verifier) = with_server().await;
    let mut claims = apple_claims();
    for iss in [
        "https://appleid.apple.com.evil.example",
        "https://accounts.google.com",
    ] {
        claims["iss"] = json!(iss);
        assert_invalid(
            verifier.verify_apple(&sign(&claims), RAW_NONCE).await,
            "issuer",
        );
    }
    claims.as_object_mut().expect("object").remove("iss");
    assert_invalid(
        verifier.verify_apple(&sign(&claims), RAW_NONCE).await,
        "iss",
    );
    // Apple's issuer is not a Google issuer.
    let token = sign(&google_claims(APPLE_ISS));
    assert_invalid(verifier.verify_google(&token).await, "issuer");
}

#[tokio::test]
async fn expired_tokens_are_refused_beyond_the_leeway() {
    let (_server, verifier) = with_server().await;
    let mut claims = apple_claims();
    claims["exp"] = json!(now() - 120);
    assert_invalid(
        verifier.verify_apple(&sign(&claims), RAW_NONCE).await,
        "expired",
    );
    // Within the 60 s leeway a clock a little behind Apple's still accepts it.
    claims["exp"] = json!(now() - 5);
    verifier
        .verify_apple(&sign(&claims), RAW_NONCE)
        .await
        .expect("within leeway");
    claims.as_object_mut().expect("object").remove("exp");
    assert_invalid(
        verifier.verify_apple(&sign(&claims), RAW_NONCE).await,
        "exp",
    );
}

#[tokio::test]
async fn sub_is_required() {
    let (_server, verifier) = with_server().await;
    let mut claims = apple_claims();
    claims.as_object_mut().expect("object").remove("sub");
    assert_invalid(
        verifier.verify_apple(&sign(&claims), RAW_NONCE).await,
        "sub",
    );
    claims["sub"] = json!("");
    assert_invalid(
        verifier.verify_apple(&sign(&claims), RAW_NONCE).await,
        "sub",
    );
}

#[tokio::test]
async fn kid_is_required_and_checked_before_any_fetch() {
    let (server, verifier) = with_server().await;
    let token = sign_with(&keys()[0], None, &apple_claims());
    assert_invalid(verifier.verify_apple(&token, RAW_NONCE).await, "kid");
    assert_eq!(server.fetches(), 0);
}

/// `header.payload.` with an unsigned header naming `alg`.
fn unsigned_token(alg: &str, claims: &Value) -> String {
    let header = json!({ "alg": alg, "typ": "JWT", "kid": keys()[0].kid });
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test]
async fn alg_none_is_refused() {
    let (server, verifier) = with_server().await;
    for alg in ["none", "None", "NONE"] {
        let token = unsigned_token(alg, &apple_claims());
        assert_invalid(verifier.verify_apple(&token, RAW_NONCE).await, "header");
    }
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key_is_refused() {
    let (server, verifier) = with_server().await;
    let key = &keys()[0];
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.into());
    // The classic confusion attack: the public key, which anyone can fetch, as an HMAC secret.
    let mut secrets = vec![key.public_der.clone()];
    secrets.push(key.jwk["n"].as_str().expect("n").as_bytes().to_vec());
    for secret in secrets {
        let token = jsonwebtoken::encode(
            &header,
            &apple_claims(),
            &EncodingKey::from_secret(&secret).expect("secret"),
        )
        .expect("signing");
        assert_invalid(verifier.verify_apple(&token, RAW_NONCE).await, "HS256");
    }
    // Other RSA-family algorithms are refused too: RS256 is pinned, not the family.
    let mut header = Header::new(Algorithm::RS512);
    header.kid = Some(key.kid.into());
    let token = jsonwebtoken::encode(
        &header,
        &apple_claims(),
        &EncodingKey::from_rsa_der(&key.private_der),
    )
    .expect("signing");
    assert_invalid(verifier.verify_apple(&token, RAW_NONCE).await, "RS512");
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused() {
    let (_server, verifier) = with_server().await;
    // Signed by key two, but claiming to be key one, which the JWKS publishes.
    let token = sign_with(&keys()[1], Some(keys()[0].kid), &apple_claims());
    assert_invalid(verifier.verify_apple(&token, RAW_NONCE).await, "signature");
    // A tampered payload no longer matches the signature.
    let token = sign(&apple_claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims = apple_claims();
    claims["sub"] = json!("someone-else");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_invalid(
        verifier.verify_apple(&parts.join("."), RAW_NONCE).await,
        "signature",
    );
}

#[tokio::test]
async fn cached_keys_are_not_fetched_again() {
    let (server, verifier) = with_server().await;
    for _ in 0..5 {
        verifier
            .verify_apple(&sign(&apple_claims()), RAW_NONCE)
            .await
            .expect("valid token");
    }
    // Clones share the cache.
    verifier
        .clone()
        .verify_apple(&sign(&apple_claims()), RAW_NONCE)
        .await
        .expect("valid token");
    assert_eq!(server.fetches(), 1);
}

/// Starts `count` concurrent verifications of `token` and returns once every one of them is
/// waiting in the key cache: one making the fetch, the others queued behind it. Hold the
/// server's fetches first, so that none can finish meanwhile.
///
/// A caller is queued once its first poll has returned `Pending`: verification does not await
/// anything before the key cache has read its fetch counter, the mark by which a queued caller
/// later sees that a fetch ran for it.
async fn queued_callers(
    verifier: &OAuthVerifier,
    token: &str,
    count: usize,
) -> Vec<JoinHandle<Result<VerifiedIdentity, OAuthError>>> {
    let (queued, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let callers = (0..count)
        .map(|_| {
            let (verifier, token, queued) = (verifier.clone(), token.to_owned(), queued.clone());
            tokio::spawn(async move {
                let mut call = std::pin::pin!(verifier.verify_apple(&token, RAW_NONCE));
                match std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await {
                    Poll::Ready(result) => {
                        let _ = queued.send(false);
                        result
                    }
                    Poll::Pending => {
                        let _ = queued.send(true);
                        call.await
                    }
                }
            })
        })
        .collect();
    for _ in 0..count {
        let waiting = tokio::time::timeout(support::PATIENCE, reports.recv())
            .await
            .expect("every caller reaches the key cache")
            .expect("a report from each caller");
        assert!(waiting, "a caller finished while the fetch was held");
    }
    callers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_share_one_fetch() {
    let (server, verifier) = with_server().await;
    server.hold_fetches();
    let callers = queued_callers(&verifier, &sign(&apple_claims()), 16).await;
    server.release_fetches();
    for caller in callers {
        caller.await.expect("task").expect("valid token");
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_a_failed_fetch_too() {
    let running = start(&[]).await;
    running.server.failing.store(true, Ordering::SeqCst);
    running.hold_fetches();
    let verifier = OAuthVerifier::new(&config(&running.url));
    let token = sign(&apple_claims());
    let callers = queued_callers(&verifier, &token, 16).await;
    running.release_fetches();
    for caller in callers {
        let result = caller.await.expect("task");
        assert!(
            matches!(result, Err(OAuthError::KeysUnavailable(_))),
            "{result:?}"
        );
    }
    // Callers queued behind the fetch take its outcome; with nothing cached a later caller
    // tries again.
    assert_eq!(running.fetches(), 1);
    running.server.failing.store(false, Ordering::SeqCst);
    running.publish(&[&keys()[0]]);
    verifier
        .verify_apple(&token, RAW_NONCE)
        .await
        .expect("keys after the server recovered");
    assert_eq!(running.fetches(), 2);
}

#[tokio::test]
async fn an_unknown_kid_forces_one_refetch_and_finds_the_rotated_key() {
    let (server, verifier) = with_server().await;
    verifier
        .verify_apple(&sign(&apple_claims()), RAW_NONCE)
        .await
        .expect("valid token");
    assert_eq!(server.fetches(), 1);

    // The provider rotates: key two is published after our fetch.
    let [one, two] = keys();
    server.publish(&[one, two]);
    let rotated = sign_with(two, Some(two.kid), &apple_claims());
    let identity = verifier
        .verify_apple(&rotated, RAW_NONCE)
        .await
        .expect("rotated key");
    assert_eq!(identity.subject, "001234.abcdef");
    assert_eq!(server.fetches(), 2);

    // Now cached: no further fetch.
    verifier
        .verify_apple(&rotated, RAW_NONCE)
        .await
        .expect("rotated key");
    assert_eq!(server.fetches(), 2);

    // Made-up kids right after a refetch do not reach the provider.
    for n in 0..10 {
        let bogus = sign_with(two, Some(&format!("bogus-{n}")), &apple_claims());
        assert_invalid(verifier.verify_apple(&bogus, RAW_NONCE).await, "kid");
    }
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn stale_keys_are_served_when_the_key_server_is_down() {
    let running = start(&[&keys()[0]]).await;
    let mut config = config(&running.url);
    // Every use is past the TTL, so every use wants to refresh.
    config.jwks_cache_ttl = Duration::ZERO;
    let verifier = OAuthVerifier::new(&config);
    let token = sign(&apple_claims());
    verifier
        .verify_apple(&token, RAW_NONCE)
        .await
        .expect("valid token");
    assert_eq!(running.fetches(), 1);

    running.shut_down().await;
    for _ in 0..3 {
        verifier
            .verify_apple(&token, RAW_NONCE)
            .await
            .expect("stale keys still verify");
    }
}

#[tokio::test]
async fn a_failing_refresh_keeps_the_keys_and_is_not_retried_at_once() {
    let running = start(&[&keys()[0]]).await;
    let mut config = config(&running.url);
    config.jwks_cache_ttl = Duration::ZERO;
    let verifier = OAuthVerifier::new(&config);
    let token = sign(&apple_claims());
    verifier
        .verify_apple(&token, RAW_NONCE)
        .await
        .expect("valid token");
    // With a zero TTL a working server is asked every time.
    verifier
        .verify_apple(&token, RAW_NONCE)
        .await
        .expect("valid token");
    assert_eq!(running.fetches(), 2);

    running.server.failing.store(true, Ordering::SeqCst);
    for _ in 0..5 {
        verifier
            .verify_apple(&token, RAW_NONCE)
            .await
            .expect("stale keys still verify");
    }
    // One failed attempt, then the retry waits out the interval.
    assert_eq!(running.fetches(), 3);
}

#[tokio::test]
async fn keys_unavailable_only_when_nothing_is_cached() {
    // A port that was just free: nothing listens there.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/keys", listener.local_addr().expect("address"));
    drop(listener);
    let verifier = OAuthVerifier::new(&config(&url));
    let result = verifier
        .verify_apple(&sign(&apple_claims()), RAW_NONCE)
        .await;
    assert!(
        matches!(result, Err(OAuthError::KeysUnavailable(_))),
        "{result:?}"
    );

    // A server answering with an error status is no better.
    let running = start(&[]).await;
    running.server.failing.store(true, Ordering::SeqCst);
    let verifier = OAuthVerifier::new(&config(&running.url));
    let result = verifier
        .verify_google(&sign(&google_claims("accounts.google.com")))
        .await;
    assert!(
        matches!(result, Err(OAuthError::KeysUnavailable(_))),
        "{result:?}"
    );
    assert_eq!(running.fetches(), 1);
}

#[tokio::test]
async fn https_key_urls_are_fetched_over_tls() {
    use tokio::io::AsyncReadExt;

    // Not a TLS server: it records the first bytes the client sends and hangs up.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("https://{}/keys", listener.local_addr().expect("address"));
    let first_bytes = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut bytes = [0_u8; 3];
        socket.read_exact(&mut bytes).await.expect("read");
        bytes
    });
    let verifier = OAuthVerifier::new(&config(&url));
    let result = verifier
        .verify_apple(&sign(&apple_claims()), RAW_NONCE)
        .await;
    assert!(
        matches!(result, Err(OAuthError::KeysUnavailable(_))),
        "{result:?}"
    );
    // A TLS handshake record (0x16), version 3.x: the client spoke TLS, not plain HTTP.
    let bytes = first_bytes.await.expect("listener task");
    assert_eq!(bytes[..2], [0x16, 0x03], "{bytes:?}");
}

#[tokio::test]
async fn a_provider_without_client_ids_is_not_configured_and_fetches_nothing() {
    let running = start(&[&keys()[0]]).await;
    let mut config = config(&running.url);
    config.apple_client_ids.clear();
    config.google_client_ids.clear();
    let verifier = OAuthVerifier::new(&config);
    assert_eq!(
        verifier
            .verify_apple(&sign(&apple_claims()), RAW_NONCE)
            .await,
        Err(OAuthError::NotConfigured(Provider::Apple))
    );
    assert_eq!(
        verifier
            .verify_google(&sign(&google_claims("accounts.google.com")))
            .await,
        Err(OAuthError::NotConfigured(Provider::Google))
    );
    // Even a garbage token: the provider check comes first.
    assert_eq!(
        verifier.verify_google("not a token").await,
        Err(OAuthError::NotConfigured(Provider::Google))
    );
    assert_eq!(running.fetches(), 0);
}

#[tokio::test]
async fn google_accepts_both_issuer_spellings() {
    let (server, verifier) = with_server().await;
    for iss in ["https://accounts.google.com", "accounts.google.com"] {
        let identity = verifier
            .verify_google(&sign(&google_claims(iss)))
            .await
            .expect("valid token");
        assert_eq!(
            identity,
            VerifiedIdentity {
                provider: Provider::Google,
                subject: "10987654321".into(),
                email: Some("person@gmail.com".into()),
                email_verified: true,
            }
        );
    }
    let mut claims = google_claims("accounts.google.com");
    claims["aud"] = json!(APPLE_AUD);
    assert_invalid(verifier.verify_google(&sign(&claims)).await, "audience");
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn garbage_is_an_invalid_token() {
    let (server, verifier) = with_server().await;
    for token in ["", "abc", "a.b.c", "...."] {
        assert_invalid(verifier.verify_google(token).await, "");
    }
    assert_eq!(server.fetches(), 0);
}
