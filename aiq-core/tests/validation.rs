//! 422 bodies list every problem of a JSON request body, as the old backend (pydantic) did: in
//! the request model's field order, one item per field at fault, with the old texts
//! (pydantic's own for a field's constraints, `"Value error, ..."` for a custom validator's),
//! never the submitted value, and in the contract's `HTTPValidationError` shape the iOS client
//! decodes whether it holds one item or several.

mod support;

use std::sync::Arc;

use aiq_core::storage::MemoryStore;
use aiq_core::{AiqService, Config};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Reply, json as json_request, register, send, service_with};

fn service() -> AiqService {
    let mut config = Config::default();
    // Several registrations and feedback submissions from one address.
    config.rate_limit.enabled = false;
    service_with(config, Arc::new(MemoryStore::new()))
}

/// The 422's items as (loc, msg, type), after checking that each has exactly the contract's
/// `ValidationError` members: `loc` (strings and integers), `msg` and `type`, no `input`.
fn items(reply: &Reply) -> Vec<(Value, String, String)> {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    let body = reply.json();
    let object = body.as_object().unwrap();
    assert_eq!(object.len(), 1, "only `detail`: {body}");
    body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("detail is a list: {body}"))
        .iter()
        .map(|item| {
            let mut members: Vec<&String> = item.as_object().unwrap().keys().collect();
            members.sort();
            assert_eq!(members, ["loc", "msg", "type"], "{item}");
            assert!(
                item["loc"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|part| part.is_string() || part.is_u64()),
                "{item}"
            );
            (
                item["loc"].clone(),
                item["msg"].as_str().unwrap().to_owned(),
                item["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn item(loc: Value, msg: &str, kind: &str) -> (Value, String, String) {
    (loc, msg.to_owned(), kind.to_owned())
}

async fn post(service: &AiqService, uri: &str, body: Value, token: Option<&str>) -> Reply {
    send(service, json_request(Method::POST, uri, body, token)).await
}

async fn access_token(service: &AiqService, email: &str) -> String {
    register(service, email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn register_lists_every_problem_in_field_order_with_the_old_texts() {
    let service = service();
    // Sent out of the model's order: the answer follows the model (email, password, first_name,
    // last_name, ...), not the body.
    let body = json!({
        "first_name": "Ada",
        "password": "pw-secret",
        "email": "ada.secret.example.com",
    });
    let reply = post(&service, "/v1/auth/register", body, None).await;
    assert_eq!(
        items(&reply),
        [
            item(
                json!(["body", "email"]),
                "value is not a valid email address: An email address must have an @-sign.",
                "value_error",
            ),
            item(
                json!(["body", "password"]),
                "Value error, Password must contain at least one digit",
                "value_error",
            ),
            item(json!(["body", "last_name"]), "Field required", "missing"),
        ]
    );
    assert!(!reply.text().contains("secret"), "{}", reply.text());

    let body = json!({"email": "not-an-email", "password": "short1", "first_name": "Ada"});
    let reply = post(&service, "/v1/auth/register", body, None).await;
    assert_eq!(
        items(&reply),
        [
            item(
                json!(["body", "email"]),
                "value is not a valid email address: An email address must have an @-sign.",
                "value_error",
            ),
            item(
                json!(["body", "password"]),
                "String should have at least 8 characters",
                "string_too_short",
            ),
            item(json!(["body", "last_name"]), "Field required", "missing"),
        ]
    );
    for sent in ["not-an-email", "short1"] {
        assert!(!reply.text().contains(sent), "{}", reply.text());
    }
}

#[tokio::test]
async fn optional_fields_are_listed_only_when_wrong() {
    let service = service();
    let body = json!({
        "email": "ada@example.com",
        "password": "correct horse 9",
        "first_name": "",
        "last_name": "Lovelace",
        "birth_year": 1800,
        "education_level": "phd",
        "region": "\n",
    });
    let reply = post(&service, "/v1/auth/register", body, None).await;
    assert_eq!(
        items(&reply),
        [
            item(
                json!(["body", "first_name"]),
                "String should have at least 1 character",
                "string_too_short",
            ),
            item(
                json!(["body", "birth_year"]),
                "Input should be greater than or equal to 1900",
                "greater_than_equal",
            ),
            item(
                json!(["body", "education_level"]),
                "Input should be 'high_school', 'some_college', 'associates', 'bachelors', \
                 'masters', 'doctorate' or 'prefer_not_to_say'",
                "enum",
            ),
            item(
                json!(["body", "region"]),
                "Value error, Location contains invalid characters",
                "value_error",
            ),
        ]
    );
}

#[tokio::test]
async fn a_single_problem_is_still_one_item() {
    let service = service();
    let mut body = support::registration("one@example.com");
    body["password"] = json!("Password123");
    let reply = post(&service, "/v1/auth/register", body, None).await;
    assert_eq!(
        items(&reply),
        [item(
            json!(["body", "password"]),
            "Value error, Password is too common. Please choose a stronger password",
            "value_error",
        )]
    );

    // Not an object, or not JSON: one item about the whole body, as before.
    for not_an_object in [json!("ada@example.com"), json!(["ada@example.com"])] {
        let reply = post(&service, "/v1/auth/register", not_an_object, None).await;
        assert_eq!(
            items(&reply),
            [item(
                json!(["body"]),
                "Input should be a valid dictionary or object to extract fields from",
                "model_attributes_type",
            )]
        );
    }
    let malformed = http::Request::post("/v1/auth/register")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"email": "ada@example.com", "#))
        .unwrap();
    let reply = send(&service, malformed).await;
    assert_eq!(
        items(&reply),
        [item(json!(["body"]), "JSON decode error", "json_invalid")]
    );
}

#[tokio::test]
async fn feedback_lists_every_problem() {
    let service = service();
    let body = json!({
        "name": "",
        "email": "secret@",
        "category": "complaint",
        "description": "too short",
    });
    let reply = post(&service, "/v1/feedback/submit", body, None).await;
    assert_eq!(
        items(&reply),
        [
            item(
                json!(["body", "name"]),
                "String should have at least 1 character",
                "string_too_short",
            ),
            item(
                json!(["body", "email"]),
                "value is not a valid email address: There must be something after the @-sign.",
                "value_error",
            ),
            item(
                json!(["body", "category"]),
                "Input should be 'bug_report', 'feature_request', 'general_feedback', \
                 'question_help' or 'other'",
                "enum",
            ),
            item(
                json!(["body", "description"]),
                "String should have at least 10 characters",
                "string_too_short",
            ),
        ]
    );
    for sent in ["secret", "complaint", "too short"] {
        assert!(!reply.text().contains(sent), "{}", reply.text());
    }
}

#[tokio::test]
async fn profile_update_lists_every_problem() {
    let service = service();
    let token = access_token(&service, "profile@example.com").await;
    let body = json!({
        "notification_enabled": "yes",
        "last_name": "bad\u{7}name",
        "first_name": "x".repeat(101),
    });
    let reply = send(
        &service,
        json_request(Method::PUT, "/v1/user/profile", body, Some(&token)),
    )
    .await;
    assert_eq!(
        items(&reply),
        [
            item(
                json!(["body", "first_name"]),
                "String should have at most 100 characters",
                "string_too_long",
            ),
            item(
                json!(["body", "last_name"]),
                "Value error, Name contains invalid characters",
                "value_error",
            ),
            item(
                json!(["body", "notification_enabled"]),
                "Input should be a valid boolean",
                "bool_type",
            ),
        ]
    );
}

#[tokio::test]
async fn nested_lists_report_their_first_problem_with_its_full_location() {
    let service = service();
    let token = access_token(&service, "submit@example.com").await;
    // `time_limit_exceeded` is absent but has a default: not a problem.
    let body = json!({
        "session_id": 0,
        "responses": [
            {"question_id": 1, "user_answer": "a"},
            {"question_id": 2.5, "user_answer": "b"},
            {"user_answer": 3},
        ],
    });
    let reply = post(&service, "/v1/test/submit", body, Some(&token)).await;
    assert_eq!(
        items(&reply),
        [
            item(
                json!(["body", "session_id"]),
                "Input should be greater than 0",
                "greater_than",
            ),
            item(
                json!(["body", "responses", 1, "question_id"]),
                "Input should be a valid integer, got a number with a fractional part",
                "int_from_float",
            ),
        ]
    );

    let reply = post(
        &service,
        "/v1/test/submit",
        json!({"responses": [{"question_id": 1}]}),
        Some(&token),
    )
    .await;
    assert_eq!(
        items(&reply),
        [
            item(json!(["body", "session_id"]), "Field required", "missing"),
            item(
                json!(["body", "responses", 0, "user_answer"]),
                "Field required",
                "missing",
            ),
        ]
    );
}

#[tokio::test]
async fn password_reset_and_group_bodies_list_every_problem() {
    let service = service();
    let body = json!({"token": "", "new_password": "x".repeat(129)});
    let reply = post(&service, "/v1/auth/reset-password", body, None).await;
    assert_eq!(
        items(&reply),
        [
            item(
                json!(["body", "token"]),
                "String should have at least 1 character",
                "string_too_short",
            ),
            item(
                json!(["body", "new_password"]),
                "String should have at most 128 characters",
                "string_too_long",
            ),
        ]
    );

    let token = access_token(&service, "groups@example.com").await;
    let reply = post(&service, "/v1/groups/", json!({}), Some(&token)).await;
    assert_eq!(
        items(&reply),
        [item(json!(["body", "name"]), "Field required", "missing")]
    );
    let reply = send(
        &service,
        json_request(
            Method::PUT,
            "/v1/groups/1/transfer-ownership",
            json!({"new_owner_id": "me"}),
            Some(&token),
        ),
    )
    .await;
    assert_eq!(
        items(&reply),
        [item(
            json!(["body", "new_owner_id"]),
            "Input should be a valid integer, unable to parse string as an integer",
            "int_parsing",
        )]
    );
}
