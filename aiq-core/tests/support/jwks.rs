//! A fake identity provider for the OAuth tests: RSA keys, signed identity tokens and a JWKS
//! endpoint on a local port that counts its fetches and can fail, or hold its answers until the
//! test lets them go, on demand.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aiq_core::config::OAuthConfig;
use aiq_core::oauth::OAuthVerifier;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

pub const APPLE_AUD: &str = "com.example.aiq";
pub const GOOGLE_AUD: &str = "1234-example.apps.googleusercontent.com";
pub const APPLE_ISS: &str = "https://appleid.apple.com";
pub const RAW_NONCE: &str = "0b6f1d62-raw-nonce";

/// A signing key and the JWK that publishes it.
pub struct TestKey {
    pub kid: &'static str,
    pub private_der: Vec<u8>,
    pub public_der: Vec<u8>,
    pub jwk: Value,
}

/// Two keys, made once per test binary: RSA key generation is the slow part of these tests.
pub fn keys() -> &'static [TestKey; 2] {
    static KEYS: OnceLock<[TestKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| [make_key("key-one", 1), make_key("key-two", 2)])
}

pub fn make_key(kid: &'static str, seed: u64) -> TestKey {
    // A fixed seed: the keys need no secrecy, and the same keys make failures reproducible.
    let private =
        rsa::PrivateKey::new(&mut StdRng::seed_from_u64(seed), 2048).expect("RSA key generation");
    let public = private.to_public_key();
    TestKey {
        kid,
        private_der: private.to_pkcs1_der().expect("PKCS#1").as_bytes().to_vec(),
        public_der: public.to_pkcs1_der().expect("PKCS#1").as_bytes().to_vec(),
        jwk: json!({
            "kty": "RSA",
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(public.n_bytes()),
            "e": URL_SAFE_NO_PAD.encode(public.e_bytes()),
        }),
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The claims of a valid Apple token for `RAW_NONCE`.
pub fn apple_claims() -> Value {
    json!({
        "iss": APPLE_ISS,
        "aud": APPLE_AUD,
        "sub": "001234.abcdef",
        "iat": now(),
        "exp": now() + 600,
        "nonce": hex_sha256(RAW_NONCE),
        "email": "Someone@Example.COM",
        "email_verified": "true",
    })
}

pub fn google_claims(iss: &str) -> Value {
    json!({
        "iss": iss,
        "aud": GOOGLE_AUD,
        "sub": "10987654321",
        "iat": now(),
        "exp": now() + 600,
        "email": "Person@Gmail.com",
        "email_verified": true,
    })
}

pub fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An RS256 token signed by `key`, whose header names `kid`.
pub fn sign_with(key: &TestKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_der(&key.private_der),
    )
    .expect("signing")
}

pub fn sign(claims: &Value) -> String {
    let key = &keys()[0];
    sign_with(key, Some(key.kid), claims)
}

/// The JWKS server: what it serves, whether it answers, how often it was asked.
#[derive(Clone)]
pub struct KeyServer {
    pub jwks: Arc<Mutex<Value>>,
    pub failing: Arc<AtomicBool>,
    /// Whether answers may leave. While it is closed a fetch is counted and then held, so that
    /// concurrent callers find it in flight for as long as the test needs.
    pub gate: Arc<watch::Sender<bool>>,
    pub fetches: Arc<AtomicUsize>,
}

pub struct Running {
    pub server: KeyServer,
    pub url: String,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn fetches(&self) -> usize {
        self.server.fetches.load(Ordering::SeqCst)
    }

    pub fn publish(&self, keys: &[&TestKey]) {
        *self.server.jwks.lock().expect("lock") = jwks(keys);
    }

    /// Holds every fetch from now on until [`release_fetches`](Self::release_fetches). The
    /// verifier gives up on a fetch after 5 s, so release it well before that.
    pub fn hold_fetches(&self) {
        self.server.gate.send_replace(false);
    }

    /// Lets the held fetches answer, and every later one at once.
    pub fn release_fetches(&self) {
        self.server.gate.send_replace(true);
    }

    /// Stops the server and waits until its port refuses connections.
    pub async fn shut_down(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.expect("server task");
    }
}

pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

pub async fn serve_jwks(State(server): State<KeyServer>) -> Response {
    server.fetches.fetch_add(1, Ordering::SeqCst);
    // The sender lives in `server` itself, so this waits only for the gate to open.
    let _ = server.gate.subscribe().wait_for(|open| *open).await;
    if server.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let body = server.jwks.lock().expect("lock").clone();
    axum::Json(body).into_response()
}

pub async fn start(keys: &[&TestKey]) -> Running {
    let server = KeyServer {
        jwks: Arc::new(Mutex::new(jwks(keys))),
        failing: Arc::new(AtomicBool::new(false)),
        gate: Arc::new(watch::channel(true).0),
        fetches: Arc::new(AtomicUsize::new(0)),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/keys", listener.local_addr().expect("address"));
    let app = Router::new()
        .route("/keys", get(serve_jwks))
        .with_state(server.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
    });
    Running {
        server,
        url,
        stop: Some(stop),
        task,
    }
}

pub fn config(url: &str) -> OAuthConfig {
    OAuthConfig {
        apple_client_ids: vec![APPLE_AUD.into()],
        google_client_ids: vec![GOOGLE_AUD.into()],
        jwks_cache_ttl: Duration::from_secs(3600),
        apple_jwks_url: url.to_owned(),
        google_jwks_url: url.to_owned(),
    }
}

pub async fn with_server() -> (Running, OAuthVerifier) {
    let running = start(&[&keys()[0]]).await;
    let verifier = OAuthVerifier::new(&config(&running.url));
    (running, verifier)
}
