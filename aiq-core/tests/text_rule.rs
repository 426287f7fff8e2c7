//! One rule for text, on every string field of the API. The walk reads `/v1/openapi.json` and
//! sends every operation once per string field (body fields at any depth, map keys, string
//! query, path and header parameters) and hostile value: NUL, an unpaired surrogate escape,
//! control characters. Most answers are 4xx for other reasons (no such token, a 404), which is
//! fine; none may be a 5xx, on the in-memory store and on PostgreSQL (which cannot hold NUL).
//! Then the rule itself where it matters: free text keeps NUL as U+FFFD, identifiers and tokens
//! are refused with a 422 that names the field, passwords are taken as sent (only hashed).

#[macro_use]
mod support;

// The string fields of the OpenAPI document, and valid-ish requests to carry them.
#[path = "text_rule/spec.rs"]
mod spec;

use std::sync::Arc;

use aiq_core::storage::Storage;
use aiq_core::{AiqService, Config};
use axum::body::Body;
use http::{HeaderValue, Method, Request, StatusCode};
use serde_json::{Value, json};
use spec::{Field, Place, SLOT};
use support::{Reply, send};

const ADMIN_TOKEN: &str = "an-admin-token-of-some-length-0123456789";
const WALKER: &str = "walker@example.com";
const PASSWORD: &str = "correct horse 9";

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    let mut config = Config::default();
    // Hundreds of requests from one address; the limits have their own tests.
    config.rate_limit.enabled = false;
    config.admin.token = Some(ADMIN_TOKEN.to_owned().into());
    support::service_with(config, store)
}

both_stores!(
    every_string_field_of_the_spec_takes_hostile_text,
    free_text_keeps_nul_and_identifiers_refuse_control_characters,
);

/// A hostile value as each part of a request carries it: escapes inside a JSON string, raw
/// bytes in a query or path parameter (percent-encoded) and in a header. A header cannot carry
/// NUL or a control character other than tab, so it gets a tab and bytes that are not UTF-8.
struct Hostile {
    name: &'static str,
    json: &'static str,
    url: &'static [u8],
    header: &'static [u8],
}

const HOSTILE: [Hostile; 3] = [
    Hostile {
        name: "NUL (a tab in headers)",
        json: r"\u0000",
        url: b"\0",
        header: b"\t",
    },
    Hostile {
        name: "unpaired surrogate (its bytes outside JSON)",
        json: r"\ud800",
        url: b"\xed\xa0\x80",
        header: b"\xed\xa0\x80",
    },
    Hostile {
        name: "control characters (Latin-1 in headers)",
        json: r"\u0001\u001b[31m\u007f",
        url: b"\x01\x1b[31m\x7f",
        header: b"caf\xe9",
    },
];

/// What the requests need: a signed-in user, a question and a finished session with a result.
struct Fixture {
    token: String,
    user: i64,
    question: i64,
    session: i64,
}

impl Fixture {
    async fn new(service: &AiqService, store: &Arc<dyn Storage>) -> Self {
        let tokens = support::register(service, WALKER).await;
        let user = tokens["user"]["id"].as_i64().unwrap();
        let questions = aiq_testkit::fixtures::admin::bank(store, 6).await;
        let session = aiq_testkit::fixtures::admin::finished(store, user, 0, &questions, 100).await;
        Self {
            token: tokens["access_token"].as_str().unwrap().to_owned(),
            user,
            question: questions[0],
            session,
        }
    }

    /// A parameter's value when it is not the field walked: the fixture's record for an id.
    fn value_of(&self, param: &spec::Param) -> String {
        match param.name.as_str() {
            "question_id" => self.question.to_string(),
            "session_id" => self.session.to_string(),
            "user_id" => self.user.to_string(),
            _ => param.value.clone(),
        }
    }
}

/// A new access token of the walker's (logout revokes the one it is called with).
async fn fresh_token(service: &AiqService) -> String {
    let reply = support::login(service, WALKER, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

/// Every byte but letters and digits as `%XX`.
fn percent(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(*b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The request of `field`'s operation with `hostile` in the middle of the field's valid value,
/// every other field valid-ish, signed in as `token` (and the operator on admin routes).
fn request(field: &Field<'_>, hostile: &Hostile, fixture: &Fixture, token: &str) -> Request<Body> {
    let operation = field.operation;
    let (head, tail) = field.base.split_at(field.base.len() / 2);
    let mut uri = operation.path.clone();
    let mut query = Vec::new();
    let mut builder = Request::builder()
        .method(operation.method.clone())
        .header("authorization", format!("Bearer {token}"));
    if uri.starts_with("/v1/admin/") {
        builder = builder.header("x-admin-token", ADMIN_TOKEN);
    }
    for (index, param) in operation.params.iter().enumerate() {
        let walked = matches!(field.place, Place::Param(i) if i == index);
        if !walked && !param.required {
            continue;
        }
        let value = if walked {
            let inserted = match param.location.as_str() {
                "header" => hostile.header,
                _ => hostile.url,
            };
            [head.as_bytes(), inserted, tail.as_bytes()].concat()
        } else {
            fixture.value_of(param).into_bytes()
        };
        match param.location.as_str() {
            "path" => uri = uri.replace(&format!("{{{}}}", param.name), &percent(&value)),
            "query" => query.push(format!("{}={}", param.name, percent(&value))),
            "header" => {
                let value = HeaderValue::from_bytes(&value).expect("a header value");
                builder = builder.header(param.name.as_str(), value);
            }
            other => panic!("a parameter in {other}"),
        }
    }
    if !query.is_empty() {
        uri = format!("{uri}?{}", query.join("&"));
    }
    let body = match (&field.place, &operation.body) {
        (Place::Body(steps), Some(body)) => spec::template(body, steps).replace(
            &format!("\"{SLOT}\""),
            &format!("\"{head}{}{tail}\"", hostile.json),
        ),
        (_, Some(body)) => body.to_string(),
        (_, None) => String::new(),
    };
    if !body.is_empty() {
        builder = builder.header("content-type", "application/json");
    }
    builder.uri(uri).body(Body::from(body)).unwrap()
}

/// Fields the walk must find, or it is not walking what it claims to.
const EXPECTED_FIELDS: [&str; 9] = [
    "override_reason",
    "reason",
    "weights.<key>",
    "events[].event_name",
    "responses[].user_answer",
    "header X-Device-Id",
    "header X-App-Version",
    "path email",
    "query email",
];

async fn every_string_field_of_the_spec_takes_hostile_text(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let fixture = Fixture::new(&service, &store).await;
    let spec = support::send(&service, support::get("/v1/openapi.json"))
        .await
        .json();
    let operations = spec::operations(&spec);
    let fields = spec::string_fields(&spec, &operations);
    let names: Vec<&str> = fields.iter().map(|field| field.name.as_str()).collect();
    for expected in EXPECTED_FIELDS {
        assert!(names.contains(&expected), "{expected} walked: {names:?}");
    }
    assert!(fields.len() > 40, "{} fields: {names:?}", fields.len());

    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut failures = Vec::new();
    for field in &fields {
        for hostile in &HOSTILE {
            // Logout revokes the token it is called with; every other case shares one.
            let token = if field.operation.path == "/v1/auth/logout" {
                fresh_token(&service).await
            } else {
                fixture.token.clone()
            };
            let request = request(field, hostile, &fixture, &token);
            let context = format!(
                "{} {} {} <- {}",
                field.operation.method, field.operation.path, field.name, hostile.name
            );
            let reply = send(&service, request).await;
            if reply.status.is_server_error() {
                failures.push(format!("{context}: {} {}", reply.status, reply.text()));
            }
            *statuses.entry(reply.status.as_u16()).or_default() += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let cases: usize = statuses.values().sum();
    println!(
        "{} operations, {} string fields, {cases} cases, by status: {statuses:?}",
        operations.len(),
        fields.len()
    );
}

/// A request with this JSON text as its body, the operator's token, and `token` as bearer.
fn raw(method: Method, uri: &str, body: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("x-admin-token", ADMIN_TOKEN);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

/// A 422 whose items include one at `loc`.
fn assert_refused_at(reply: &Reply, loc: &Value, context: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{context}: {}",
        reply.text()
    );
    let issues = reply.json()["detail"].clone();
    assert!(
        issues
            .as_array()
            .is_some_and(|issues| issues.iter().any(|issue| issue["loc"] == *loc)),
        "{context}: a 422 at {loc}: {issues}"
    );
}

async fn free_text_keeps_nul_and_identifiers_refuse_control_characters(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let fixture = Fixture::new(&service, &store).await;
    let token = Some(fixture.token.as_str());

    // Free text: the operator's reasons are stored with NUL as U+FFFD (PostgreSQL refused it).
    let uri = format!("/v1/admin/questions/{}/quality-flag", fixture.question);
    let body = r#"{"quality_flag": "under_review", "reason": "Two\u0000 right answers"}"#;
    let reply = send(&service, raw(Method::PATCH, &uri, body, None)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["reason"], "Two\u{fffd} right answers");
    let question = store.questions_by_ids(&[fixture.question]).await.unwrap();
    assert_eq!(
        question[0].quality_flag_reason.as_deref(),
        Some("Two\u{fffd} right answers")
    );
    let uri = format!("/v1/admin/sessions/{}/validity", fixture.session);
    let body =
        r#"{"validity_status": "suspect", "override_reason": "Reviewed\u0000 by hand\ud800"}"#;
    let reply = send(&service, raw(Method::PATCH, &uri, body, None)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let stored = store.validity(fixture.session).await.unwrap().unwrap();
    assert_eq!(
        stored.override_reason.as_deref(),
        Some("Reviewed\u{fffd} by hand\u{fffd}")
    );

    // Identifiers and tokens: a 422 that names the field.
    for (uri, body, field) in [
        (
            "/v1/auth/logout",
            r#"{"refresh_token": "eyJ\u0000x"}"#,
            "refresh_token",
        ),
        (
            "/v1/auth/reset-password",
            r#"{"token": "abc\u0001", "new_password": "abc123abc123"}"#,
            "token",
        ),
        (
            "/v1/auth/oauth/google",
            r#"{"identity_token": "eyJ\u001bx"}"#,
            "identity_token",
        ),
        (
            "/v1/auth/oauth/apple",
            r#"{"identity_token": "eyJx", "nonce": "n\u0000"}"#,
            "nonce",
        ),
        (
            "/v1/test/guest/submit",
            r#"{"guest_token": "t\u0000", "responses": []}"#,
            "guest_token",
        ),
        (
            "/v1/test/guest/claim",
            r#"{"claim_token": "t\u007f"}"#,
            "claim_token",
        ),
    ] {
        let reply = send(&service, raw(Method::POST, uri, body, token)).await;
        assert_refused_at(&reply, &json!(["body", field]), uri);
    }
    for (method, uri, loc) in [
        (
            Method::PATCH,
            "/v1/admin/user-flags/by-email/cooldown-bypass?email=a%00b%40example.com",
            json!(["query", "email"]),
        ),
        (
            Method::DELETE,
            "/v1/admin/sessions/by-email/a%ED%A0%80b%40example.com",
            json!(["path", "email"]),
        ),
    ] {
        let body = r#"{"bypass_cooldown": true}"#;
        let reply = send(&service, raw(method, uri, body, None)).await;
        assert_refused_at(&reply, &loc, uri);
    }
    let guest = Request::post("/v1/test/guest/start")
        .header("x-device-id", "device\t1")
        .body(Body::empty())
        .unwrap();
    let reply = send(&service, guest).await;
    assert_refused_at(&reply, &json!(["header", "X-Device-Id"]), "guest start");
    let feedback = json!({"name": "Ada", "email": "ada@example.com", "category": "other",
                          "description": "The results screen froze."});
    let mut request = raw(
        Method::POST,
        "/v1/feedback/submit",
        &feedback.to_string(),
        None,
    );
    request
        .headers_mut()
        .insert("x-app-version", HeaderValue::from_static("1.4\t.0"));
    let reply = send(&service, request).await;
    assert_refused_at(&reply, &json!(["header", "X-App-Version"]), "feedback");

    // Passwords are only hashed, never stored as text: taken as sent, NUL and all.
    let password = r"abc123\u0000\u0001xyz";
    let body = format!(
        r#"{{"email": "nul@example.com", "password": "{password}",
            "first_name": "Ada", "last_name": "Lovelace"}}"#
    );
    let reply = send(
        &service,
        raw(Method::POST, "/v1/auth/register", &body, None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    for (typed, status) in [
        (password, StatusCode::OK),
        ("abc123xyz", StatusCode::UNAUTHORIZED),
    ] {
        let body = format!(r#"{{"email": "nul@example.com", "password": "{typed}"}}"#);
        let reply = send(&service, raw(Method::POST, "/v1/auth/login", &body, None)).await;
        assert_eq!(reply.status, status, "{typed}: {}", reply.text());
    }
}
