//! Group API helpers: members with tokens, calls, and stored results for leaderboards.

use std::sync::Arc;

use aiq_core::AiqService;
use aiq_core::storage::{Completion, NewResult, NewSession, Storage};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

use super::{Reply, authed, detail, register, send};

/// A registered user: their access token and id.
pub struct Member {
    pub token: String,
    pub id: i64,
}

pub async fn member(service: &AiqService, email: &str) -> Member {
    let token = register(service, email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = super::profile(service, &token).await.json()["id"]
        .as_i64()
        .unwrap();
    Member { token, id }
}

pub async fn call(service: &AiqService, method: Method, uri: &str, who: &Member) -> Reply {
    send(service, authed(method, uri, &who.token)).await
}

pub async fn call_json(
    service: &AiqService,
    method: Method,
    uri: &str,
    body: Value,
    who: &Member,
) -> Reply {
    send(service, super::json(method, uri, body, Some(&who.token))).await
}

pub async fn create(service: &AiqService, who: &Member, name: &str) -> Value {
    let reply = call_json(
        service,
        Method::POST,
        "/v1/groups/",
        json!({"name": name}),
        who,
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

pub async fn join(service: &AiqService, who: &Member, code: &str) -> Reply {
    call_json(
        service,
        Method::POST,
        "/v1/groups/join",
        json!({"invite_code": code}),
        who,
    )
    .await
}

pub async fn invite(service: &AiqService, who: &Member, group: i64) -> Reply {
    call(
        service,
        Method::POST,
        &format!("/v1/groups/{group}/invite"),
        who,
    )
    .await
}

pub fn assert_error(reply: &Reply, status: StatusCode, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(detail(reply), message);
}

pub fn is_code(value: &Value) -> bool {
    let code = value.as_str().unwrap();
    code.len() == 8
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Stores a completed test for `user` with this IQ score, completed `days_ago`.
pub async fn result(store: &Arc<dyn Storage>, user: i64, iq_score: i32, days_ago: i64) {
    let at = aiq_core::time::now() - Duration::days(days_ago);
    let session = store
        .start_session(NewSession {
            user_id: user,
            started_at: at - Duration::minutes(10),
            question_ids: Vec::new(),
            composition_metadata: json!({}),
            is_adaptive: false,
            record_seen: false,
        })
        .await
        .unwrap();
    store
        .complete_session(Completion {
            session_id: session.id,
            completed_at: at,
            time_limit_exceeded: false,
            responses: Vec::new(),
            result: NewResult {
                iq_score,
                percentile_rank: None,
                total_questions: 25,
                correct_answers: 12,
                completion_time_seconds: Some(600),
                standard_error: None,
                ci_lower: None,
                ci_upper: None,
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
