//! The APNs sender against a local HTTP/2 stand-in for Apple: request, provider token, errors.

mod support;

use aiq_testkit::fixtures::push::{pushable_user, store_token};

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use aiq_core::Config;
use aiq_core::clock::ManualClock;
use aiq_core::config::ApnsConfig;
use aiq_core::push::{ApnsSender, Delivery, Notification, PushError, PushSender, deliver};
use aiq_core::storage::MemoryStore;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// A local stand-in for APNs: HTTP/2 without TLS (prior knowledge).

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    version: http::Version,
    method: http::Method,
    path: String,
    headers: http::HeaderMap,
    body: serde_json::Value,
}

/// Serves APNs-like answers chosen by the device token's first characters: `dead` → 410
/// Unregistered, `bad0` → 400 BadDeviceToken, `4000` → 400 BadTopic, `e500` → 500; else 200.
async fn apns_server() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let log = log.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let path = parts.uri.path().to_owned();
                        log.lock().unwrap().push(Seen {
                            version: parts.version,
                            method: parts.method,
                            path: path.clone(),
                            headers: parts.headers,
                            body: serde_json::from_slice(&body).unwrap_or_default(),
                        });
                        let token = path.rsplit('/').next().unwrap_or_default();
                        let (status, reason) = match &token[..4.min(token.len())] {
                            "dead" => (410, Some("Unregistered")),
                            "bad0" => (400, Some("BadDeviceToken")),
                            "4000" => (400, Some("BadTopic")),
                            "e500" => (500, Some("InternalServerError")),
                            _ => (200, None),
                        };
                        let body = reason
                            .map(|reason| json!({"reason": reason}).to_string())
                            .unwrap_or_default();
                        Ok::<_, std::convert::Infallible>(
                            http::Response::builder()
                                .status(status)
                                .header("apns-id", "00000000-0000-0000-0000-000000000001")
                                .body(Full::new(Bytes::from(body)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{address}"), seen)
}

const KEY_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/apns-test-key.p8"
);
const PUBLIC_KEY: &str = include_str!("fixtures/apns-test-key.pub.pem");
const START: i64 = 1_780_000_000;

fn apns_config() -> ApnsConfig {
    ApnsConfig {
        key_id: "KEY1234567".into(),
        team_id: "TEAM123456".into(),
        bundle_id: "com.example.aiq".into(),
        key_path: KEY_PATH.into(),
        use_sandbox: true,
    }
}

async fn sender() -> (ApnsSender, Arc<Mutex<Vec<Seen>>>, Arc<ManualClock>) {
    let (url, seen) = apns_server().await;
    let clock = Arc::new(ManualClock::new(START * 1_000_000));
    let sender = ApnsSender::new(&apns_config())
        .unwrap()
        .with_base_url(url)
        .with_clock(clock.clone());
    (sender, seen, clock)
}

#[derive(Debug, serde::Deserialize)]
struct ProviderClaims {
    iss: String,
    iat: i64,
}

/// Verifies the provider JWT with the test key's public half.
fn verify_provider_token(authorization: &str) -> (jsonwebtoken::Header, ProviderClaims) {
    let jwt = authorization
        .strip_prefix("bearer ")
        .expect("bearer scheme");
    let der: String = PUBLIC_KEY
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let spki = base64::engine::general_purpose::STANDARD
        .decode(der)
        .unwrap();
    // The SubjectPublicKeyInfo ends with the uncompressed point (0x04 || x || y).
    let point = &spki[spki.len() - 65..];
    assert_eq!(point[0], 4);
    let key = jsonwebtoken::DecodingKey::from_ec_der(point);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_exp = false;
    validation.required_spec_claims = HashSet::new();
    let data = jsonwebtoken::decode::<ProviderClaims>(jwt, &key, &validation)
        .expect("the provider token verifies with the team key");
    (data.header, data.claims)
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn a_notification_is_posted_over_http2_with_a_signed_provider_token() {
    let (sender, seen, _) = sender().await;
    let notification = Notification::logout_all();
    sender.send(TOKEN, &notification).await.unwrap();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.version, http::Version::HTTP_2);
    assert_eq!(request.method, http::Method::POST);
    assert_eq!(request.path, format!("/3/device/{TOKEN}"));
    let header = |name: &str| request.headers.get(name).unwrap().to_str().unwrap();
    assert_eq!(header("apns-topic"), "com.example.aiq");
    assert_eq!(header("apns-push-type"), "alert");
    assert_eq!(header("apns-priority"), "10");
    let (jwt_header, claims) = verify_provider_token(header("authorization"));
    assert_eq!(jwt_header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(jwt_header.kid.as_deref(), Some("KEY1234567"));
    assert_eq!(claims.iss, "TEAM123456");
    assert_eq!(claims.iat, START);
    assert_eq!(
        request.body,
        json!({
            "aps": {
                "alert": {
                    "title": "Security Alert",
                    "body": "All sessions have been logged out. If this wasn't you, please change your password immediately.",
                },
                "sound": "default",
            },
            "type": "logout_all",
            "deep_link": "aiq://login",
        })
    );
}

#[tokio::test]
async fn the_provider_token_is_reused_then_renewed_before_fifty_minutes() {
    let (sender, seen, clock) = sender().await;
    let notification = Notification::logout_all();
    sender.send(TOKEN, &notification).await.unwrap();
    clock.advance(std::time::Duration::from_secs(49 * 60));
    sender.send(TOKEN, &notification).await.unwrap();
    clock.advance(std::time::Duration::from_secs(60));
    sender.send(TOKEN, &notification).await.unwrap();

    let iats: Vec<i64> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| {
            verify_provider_token(s.headers["authorization"].to_str().unwrap())
                .1
                .iat
        })
        .collect();
    assert_eq!(iats, [START, START, START + 50 * 60]);
}

#[tokio::test]
async fn apple_error_replies_are_classified() {
    let (sender, _, _) = sender().await;
    let notification = Notification::logout_all();
    let reply = |prefix: &str| format!("{prefix}{}", &TOKEN[prefix.len()..]);
    for (prefix, expected) in [("dead", "Unregistered"), ("bad0", "BadDeviceToken")] {
        match sender.send(&reply(prefix), &notification).await {
            Err(PushError::InvalidToken { reason }) => assert_eq!(reason, expected),
            other => panic!("{prefix}: {other:?}"),
        }
    }
    for (prefix, status, expected) in [
        ("4000", 400, "BadTopic"),
        ("e500", 500, "InternalServerError"),
    ] {
        match sender.send(&reply(prefix), &notification).await {
            Err(PushError::Rejected {
                status: got,
                reason,
            }) => {
                assert_eq!((got, reason.as_str()), (status, expected));
            }
            other => panic!("{prefix}: {other:?}"),
        }
    }
    // Not hex: refused without a request (it would go into the URL path).
    assert!(matches!(
        sender.send("../../etc", &notification).await,
        Err(PushError::InvalidToken { .. })
    ));
}

#[tokio::test]
async fn an_unregistered_token_is_cleared_and_other_failures_keep_it() {
    let (sender, _, _) = sender().await;
    let store = MemoryStore::new();
    let dead = format!("dead{}", &TOKEN[4..]);
    let user = pushable_user(&store, "dead@example.com", &dead).await;
    let delivery = deliver(&store, &sender, user, &dead, &Notification::logout_all())
        .await
        .unwrap();
    assert!(matches!(delivery, Delivery::TokenCleared(_)));
    assert_eq!(store_token(&store, user).await, None);

    let failing = format!("e500{}", &TOKEN[4..]);
    let user = pushable_user(&store, "e500@example.com", &failing).await;
    let delivery = deliver(&store, &sender, user, &failing, &Notification::logout_all())
        .await
        .unwrap();
    assert!(matches!(delivery, Delivery::Failed(_)));
    assert_eq!(store_token(&store, user).await, Some(failing));
}

#[tokio::test]
async fn a_token_registered_after_the_send_is_not_cleared() {
    let (sender, _, _) = sender().await;
    let store = MemoryStore::new();
    let dead = format!("dead{}", &TOKEN[4..]);
    let user = pushable_user(&store, "moved@example.com", TOKEN).await;
    let delivery = deliver(&store, &sender, user, &dead, &Notification::logout_all())
        .await
        .unwrap();
    assert!(matches!(delivery, Delivery::TokenCleared(_)));
    assert_eq!(store_token(&store, user).await.as_deref(), Some(TOKEN));
}

#[test]
fn configuration_picks_the_sender() {
    let mut config = Config::default();
    let sender = aiq_core::push::from_config(&config).unwrap();
    assert!(format!("{sender:?}").starts_with("LogPush"));
    config.apns = apns_config();
    let sender = aiq_core::push::from_config(&config).unwrap();
    assert!(format!("{sender:?}").contains("api.sandbox.push.apple.com"));
    config.apns.use_sandbox = false;
    let sender = aiq_core::push::from_config(&config).unwrap();
    assert!(format!("{sender:?}").contains("\"https://api.push.apple.com\""));
    config.apns.team_id = String::new();
    let error = aiq_core::push::from_config(&config).unwrap_err();
    assert!(error.to_string().contains("APNS_TEAM_ID"), "{error}");
    config.apns = apns_config();
    config.apns.key_path = "/nonexistent/key.p8".into();
    assert!(matches!(
        aiq_core::push::from_config(&config),
        Err(PushError::Config(_))
    ));
}
