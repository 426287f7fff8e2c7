//! A dashboard over an in-memory store with a hand-moved clock, a logged-in browser stand-in
//! (cookies and CSRF tokens read from the pages), and records written straight into the store.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;

use aiq_admin::Dashboard;
use aiq_core::Config;
use aiq_core::clock::ManualClock;
use aiq_core::questions::starter_bank;
use aiq_core::storage::{
    Completion, MemoryStore, NewResponse, NewResult, NewSession, NewUser, PgStore, QuestionId,
    SessionId, Storage, UserId,
};
use aiq_testkit::TestDb;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::json;
use time::OffsetDateTime;
use tower::ServiceExt;

pub const USERNAME: &str = "operator";
pub const PASSWORD: &str = "a long and good admin password";

/// 2026-11-30 12:00 UTC, in microseconds.
pub const NOW_MICROS: i64 = 1_796_040_000_000_000;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW_MICROS / 1_000_000).unwrap()
}

/// A configuration whose admin password is [`PASSWORD`].
pub fn config() -> Config {
    let mut config = Config::default();
    config.admin.username = USERNAME.to_owned();
    config.admin.password_hash = Some(SecretString::from(
        aiq_core::auth::password::hash_password(PASSWORD).unwrap(),
    ));
    config
}

/// A dashboard under test.
pub struct Harness {
    pub router: Router,
    pub store: Arc<dyn Storage>,
    pub clock: Arc<ManualClock>,
}

/// A response, read whole.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `name=value` of every `Set-Cookie`, and the whole headers.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The first CSRF token in the page's forms.
    pub fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = self.body.find(marker).expect("the page has a form") + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_owned()
    }
}

/// A logged-in operator: the session cookie and the CSRF token of their forms.
#[derive(Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Harness {
    /// A dashboard over a store holding the starter bank.
    pub fn new() -> Self {
        Self::with_config(config())
    }

    pub fn with_config(config: Config) -> Self {
        Self::with_store(
            config,
            Arc::new(MemoryStore::with_questions(&starter_bank())),
        )
    }

    /// A dashboard over `store`.
    pub fn with_store(config: Config, store: Arc<dyn Storage>) -> Self {
        let clock = Arc::new(ManualClock::new(NOW_MICROS));
        let dashboard = Dashboard::builder(config)
            .storage(Arc::clone(&store))
            .clock(clock.clone())
            .build()
            .unwrap();
        Self {
            router: dashboard.router(),
            store,
            clock,
        }
    }

    /// Sends `request` from `peer`.
    pub async fn send_from(&self, mut request: Request<Body>, peer: &str) -> Page {
        let peer: SocketAddr = peer.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Page {
        self.send_from(request, "198.51.100.7:40000").await
    }

    /// `GET path` with the session's cookie, if any.
    pub async fn get(&self, path: &str, session: Option<&Session>) -> Page {
        let mut request = Request::get(path);
        if let Some(session) = session {
            request = request.header(COOKIE, &session.cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// `POST path` with a form body and the session's cookie.
    pub async fn post(&self, path: &str, session: &Session, form: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(form).unwrap();
        let request = Request::post(path)
            .header(COOKIE, &session.cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// `POST path` with the session's own CSRF token added to `form`.
    pub async fn act(&self, path: &str, session: &Session, form: &[(&str, &str)]) -> Page {
        let mut fields = vec![("csrf", session.csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(path, session, &fields).await
    }

    /// Submits the login form from `peer` with these credentials; the login page's cookie and
    /// token are fetched first, as a browser would.
    pub async fn try_login_from(&self, username: &str, password: &str, peer: &str) -> Page {
        let form = self
            .send_from(
                Request::get("/admin/login").body(Body::empty()).unwrap(),
                peer,
            )
            .await;
        let cookie = cookie_pair(&form.set_cookies()[0]);
        let body = serde_urlencoded::to_string([
            ("username", username),
            ("password", password),
            ("csrf", &form.csrf()),
        ])
        .unwrap();
        let request = Request::post("/admin/login")
            .header(COOKIE, cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send_from(request, peer).await
    }

    /// Logs in with the right credentials and reads a page for the CSRF token.
    pub async fn login(&self) -> Session {
        let response = self
            .try_login_from(USERNAME, PASSWORD, "198.51.100.7:40000")
            .await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
        let cookie = response
            .set_cookies()
            .iter()
            .find(|c| c.starts_with("aiq_admin_session="))
            .map(|c| cookie_pair(c))
            .expect("a session cookie");
        let mut session = Session {
            cookie,
            csrf: String::new(),
        };
        let overview = self.get("/admin/", Some(&session)).await;
        assert_eq!(overview.status, StatusCode::OK, "{}", overview.body);
        session.csrf = overview.csrf();
        session
    }
}

/// A migrated PostgreSQL store holding the starter bank, on its own database (dropped with the
/// returned guard).
pub async fn pg_store() -> (Arc<dyn Storage>, TestDb) {
    let db = TestDb::create().await;
    let mut config = Config::default();
    config.database.url = Some(db.url().to_owned().into());
    let store = PgStore::connect(&config.database).unwrap();
    store.migrate_and_seed(&starter_bank()).await.unwrap();
    (Arc::new(store), db)
}

/// A multipart body with the CSRF token, if any, and `file` as the upload: (content type,
/// body).
pub fn multipart(csrf: Option<&str>, file: &str) -> (String, String) {
    let boundary = "----aiq-test-boundary";
    let mut body = String::new();
    if let Some(csrf) = csrf {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bank.jsonl\"\r\nContent-Type: application/json\r\n\r\n{file}\r\n--{boundary}--\r\n"
    ));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `name=value` of a `Set-Cookie` header.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// A password account, optionally named.
pub async fn user(store: &Arc<dyn Storage>, email: &str, first_name: Option<&str>) -> UserId {
    let mut new = NewUser::with_password(email, "not-a-hash");
    new.first_name = first_name.map(str::to_owned);
    new.created_at = now();
    store.create_user(new).await.unwrap().id
}

/// The ids of the first `n` questions of the bank.
pub async fn question_ids(store: &Arc<dyn Storage>, n: usize) -> Vec<QuestionId> {
    let page = store
        .list_questions(
            &aiq_core::storage::QuestionQuery::default(),
            aiq_core::storage::PageRequest::first(u32::try_from(n).unwrap()),
        )
        .await
        .unwrap();
    page.items.iter().map(|q| q.id).collect()
}

/// A session over `questions`, started at `started_at`.
pub async fn start(
    store: &Arc<dyn Storage>,
    owner: UserId,
    started_at: OffsetDateTime,
    questions: &[QuestionId],
) -> SessionId {
    store
        .start_session(NewSession {
            user_id: owner,
            started_at,
            question_ids: questions.to_vec(),
            composition_metadata: json!({}),
            is_adaptive: false,
            record_seen: true,
        })
        .await
        .unwrap()
        .id
}

/// Completes `session`: `answers` says which questions were right.
pub async fn complete(
    store: &Arc<dyn Storage>,
    session: SessionId,
    completed_at: OffsetDateTime,
    answers: &[(QuestionId, bool)],
    iq: i32,
) {
    let correct = answers.iter().filter(|(_, c)| *c).count();
    store
        .complete_session(Completion {
            session_id: session,
            completed_at,
            time_limit_exceeded: false,
            responses: answers
                .iter()
                .map(|(id, right)| NewResponse {
                    question_id: *id,
                    user_answer: format!("answer {id}"),
                    is_correct: *right,
                    time_spent_seconds: Some(7),
                })
                .collect(),
            result: NewResult {
                iq_score: iq,
                percentile_rank: Some(50.0),
                total_questions: i32::try_from(answers.len()).unwrap(),
                correct_answers: i32::try_from(correct).unwrap(),
                completion_time_seconds: Some(300),
                standard_error: None,
                ci_lower: Some(iq - 5),
                ci_upper: Some(iq + 5),
                response_time_flags: None,
                validity_status: "valid".to_owned(),
                validity_flags: None,
                domain_scores: None,
                scoring_method: "ctt".to_owned(),
            },
        })
        .await
        .unwrap();
}
