//! Request extractors whose failures use the API's error shape.
//!
//! [`ApiJson`] replaces `axum::Json` for request bodies: a wrong content type is a 415, a body over
//! the limit a 413, malformed JSON or a value of the wrong shape a 422 in FastAPI's list shape
//! (`{"detail": [{"loc": ["body", ...], "msg": ..., "type": ...}]}`), listing every field at
//! fault in the model's field order as pydantic did (`fields`), in pydantic's words
//! (`describe`). Messages never repeat the submitted value, so a password cannot leak back
//! through an error body.

mod describe;
mod fields;

use axum::body::Bytes;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use utoipa::PartialSchema;

pub(crate) use self::describe::value_issue;
use crate::error::{ApiError, LocPart, ValidationIssue};

/// A JSON request body, deserialized into `T`.
///
/// Validation that belongs to a field is best done in `T`'s `Deserialize` (newtypes such as an
/// email): its error message then reaches the client as `"Value error, <message>"`, or as it is
/// when it is one of pydantic's constraint messages (`"String should have at least 8
/// characters"`). When the body is a JSON object, the 422 lists every field at fault, in
/// declaration order; `T`'s schema (the OpenAPI contract) says which fields are required.
///
/// ```
/// use aiq_core::extract::ApiJson;
/// #[derive(serde::Deserialize, utoipa::ToSchema)]
/// struct Login { email: String }
/// async fn login(ApiJson(body): ApiJson<Login>) -> String { body.email }
/// let _router: axum::Router = axum::Router::new().route("/login", axum::routing::post(login));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Whether a JSON content type's `charset` parameter, if any, names UTF-8: JSON is UTF-8
/// (RFC 8259), and a body declared as UTF-16 must not be read as if it were.
fn utf8_or_unstated(content_type: &str) -> bool {
    content_type
        .split(';')
        .skip(1)
        .all(|parameter| match parameter.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
                let value = value.trim().trim_matches('"');
                value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")
            }
            _ => true,
        })
}

/// Reads the body: `None` when it is empty, an error when it is not JSON or too large.
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Option<Bytes>, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest("Could not read the request body".into())
        }
    })?;
    if bytes.is_empty() {
        return Ok(None);
    }
    if !content_type.as_deref().is_some_and(is_json) {
        return Err(ApiError::UnsupportedMediaType(
            "Content-Type must be application/json".into(),
        ));
    }
    if !content_type.as_deref().is_some_and(utf8_or_unstated) {
        return Err(ApiError::UnsupportedMediaType(
            "JSON bodies must be UTF-8 (Content-Type charset=utf-8, or no charset)".into(),
        ));
    }
    Ok(Some(bytes))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + PartialSchema,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match read_body(req, state).await? {
            Some(bytes) => parse(&bytes).map(ApiJson),
            None => Err(ApiError::Validation(vec![ValidationIssue::new(
                ["body"],
                "Field required",
                "missing",
            )])),
        }
    }
}

/// `Option<ApiJson<T>>`: an empty body is `None` (an endpoint whose body is optional), anything
/// else must be valid JSON for `T`.
impl<S, T> OptionalFromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + PartialSchema,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        read_body(req, state)
            .await?
            .map(|bytes| parse(&bytes).map(ApiJson))
            .transpose()
    }
}

/// Query parameters as `T`; a malformed query string is a 422 in the JSON error shape (axum's
/// own rejection is plain text).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|_| {
                ApiError::Validation(vec![ValidationIssue::new(
                    ["query"],
                    "Input should be a valid integer or boolean where one is expected",
                    "type_error",
                )])
            })
    }
}

/// A path parameter as `T`; one that does not parse (`/test/session/abc`) is a 422 in the JSON
/// error shape, as FastAPI answered, instead of axum's plain-text 400. A string parameter whose
/// percent-encoded bytes are not UTF-8 is a 422 that names it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| {
                let issue = if let PathRejection::FailedToDeserializePathParams(failed) = &rejection
                    && let ErrorKind::InvalidUtf8InPathParam { key } = failed.kind()
                {
                    ValidationIssue::new(
                        ["path", key.as_str()],
                        "Input should be a valid string, unable to parse raw data as a unicode \
                         string",
                        "string_unicode",
                    )
                } else {
                    ValidationIssue::new(["path"], "Input should be a valid integer", "int_parsing")
                };
                ApiError::Validation(vec![issue])
            })
    }
}

/// A request header that is stored, read as an identifier (the rule in `text`): `None` when
/// absent, else trimmed; a 422 at `["header", name]` (`name` as the contract spells it) when it is
/// not visible ASCII text or holds a control character (HTTP lets only a tab through).
pub(crate) fn header_identifier<'h>(
    headers: &'h axum::http::HeaderMap,
    name: &'static str,
) -> Result<Option<&'h str>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        ApiError::Validation(vec![ValidationIssue::new(
            ["header", name],
            "Input should be visible ASCII text",
            "string_type",
        )])
    })?;
    if !crate::text::is_identifier(text) {
        return Err(ApiError::Validation(vec![value_issue(
            vec!["header".into(), name.into()],
            "String should not contain control characters",
        )]));
    }
    Ok(Some(text.trim()))
}

/// Checks that query parameter `name` lies in `min..=max`, as a 422 naming the parameter.
pub(crate) fn query_in_range<T: PartialOrd + std::fmt::Display + Copy>(
    name: &str,
    value: T,
    min: T,
    max: Option<T>,
) -> Result<T, ApiError> {
    let (msg, kind) = if value < min {
        (
            format!("Input should be greater than or equal to {min}"),
            "greater_than_equal",
        )
    } else if let Some(max) = max.filter(|max| value > *max) {
        (
            format!("Input should be less than or equal to {max}"),
            "less_than_equal",
        )
    } else {
        return Ok(value);
    };
    Err(ApiError::Validation(vec![ValidationIssue::new(
        ["query", name],
        msg,
        kind,
    )]))
}

/// Deserializes a request body, reporting where and why it failed without echoing the input:
/// every field at fault when the body is an object, else the one problem found.
/// Unpaired surrogate escapes read as U+FFFD (the text rule in `text`).
fn parse<T: DeserializeOwned + PartialSchema>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = crate::text::repair_surrogate_escapes(bytes);
    parse_at(&bytes, vec![LocPart::from("body")]).map_err(|first| {
        let every = fields::every_issue::<T>(&bytes);
        ApiError::Validation(if every.is_empty() { vec![first] } else { every })
    })
}

/// Deserializes the JSON value `bytes` found at `loc` of a request (a whole body, or one item of
/// a batch read apart), as one 422 issue on failure: the first problem serde meets.
pub(crate) fn parse_at<T: DeserializeOwned>(
    bytes: &[u8],
    mut loc: Vec<LocPart>,
) -> Result<T, ValidationIssue> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(deserializer);
    result.map_err(|err| {
        loc.extend(err.path().iter().filter_map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => Some(LocPart::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(LocPart::Field(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => Some(LocPart::Field(variant.clone())),
            serde_path_to_error::Segment::Unknown => None,
        }));
        describe::describe(&err.into_inner(), loc)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
    #[allow(dead_code)]
    struct Body {
        password: String,
        count: u32,
        tags: Vec<u8>,
    }

    fn issues(json: &str) -> Vec<ValidationIssue> {
        match parse::<Body>(json.as_bytes()).unwrap_err() {
            ApiError::Validation(issues) => issues,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn issue(json: &str) -> ValidationIssue {
        let mut issues = issues(json);
        assert_eq!(issues.len(), 1, "{issues:?}");
        issues.remove(0)
    }

    #[test]
    fn missing_fields_are_named() {
        let issue = issue(r#"{"password": "x", "tags": []}"#);
        assert_eq!(
            issue.loc,
            vec![LocPart::from("body"), LocPart::from("count")]
        );
        assert_eq!(
            (issue.msg.as_str(), issue.kind.as_str()),
            ("Field required", "missing")
        );
    }

    #[test]
    fn wrong_types_do_not_echo_the_input() {
        let number = issue(r#"{"password": 1234567, "count": 1, "tags": []}"#);
        assert_eq!(
            number.loc,
            vec![LocPart::from("body"), LocPart::from("password")]
        );
        assert_eq!(number.kind, "string_type");
        assert!(!number.msg.contains("1234567"), "{}", number.msg);

        let text = issue(r#"{"password": "hunter2", "count": "hunter2", "tags": []}"#);
        assert!(!text.msg.contains("hunter2"), "{}", text.msg);

        // serde quotes the value before ", expected ...": a value that looks like one stays out.
        let sly = issue(r#"{"password": "x", "count": "1, expected hunter2", "tags": []}"#);
        assert!(!sly.msg.contains("hunter2"), "{}", sly.msg);
    }

    #[test]
    fn every_field_at_fault_is_listed_in_order() {
        let all = issues(r#"{"tags": "hunter2", "password": null}"#);
        let listed: Vec<_> = all
            .iter()
            .map(|issue| (issue.loc[1].clone(), issue.msg.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                (LocPart::from("password"), "Input should be a valid string"),
                (LocPart::from("count"), "Field required"),
                (LocPart::from("tags"), "Input should be a valid list"),
            ]
        );
    }

    #[test]
    fn list_positions_are_in_the_location() {
        let issue = issue(r#"{"password": "x", "count": 1, "tags": [1, 900]}"#);
        assert_eq!(
            issue.loc,
            vec![
                LocPart::from("body"),
                LocPart::from("tags"),
                LocPart::Index(1)
            ]
        );
    }

    #[test]
    fn only_utf8_or_no_charset_is_json() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/json;charset=UTF8",
            "application/json; charset=\"utf-8\"",
        ] {
            assert!(utf8_or_unstated(ok), "{ok}");
        }
        for refused in [
            "application/json; charset=utf-16",
            "application/json; charset=latin1",
            "application/json; charset=",
        ] {
            assert!(!utf8_or_unstated(refused), "{refused}");
        }
    }

    #[test]
    fn malformed_json_is_json_invalid() {
        assert_eq!(issue(r#"{"password": "#).kind, "json_invalid");
        assert_eq!(issue("not json").kind, "json_invalid");
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
