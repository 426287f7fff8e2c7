//! `POST /v1/feedback/submit`: feedback from the app, stored and announced to the operator.
//!
//! The old handler's own 5-per-hour limit per address is a row of the rate limiter's table
//! (`EndpointQuota::defaults`), so its 429 is the standard one. The notification mail is best effort:
//! it is sent in the background and its failure never reaches the client. Its recipient is the
//! configured `ADMIN_EMAIL` and its subject is built from the category alone, so nothing the
//! user typed can reach a mail header; what they typed goes in the plain-text body only.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::MaybeUser;
use crate::error::ApiError;
use crate::extract::{ApiJson, header_identifier};
use crate::input::{Email, PersonName};
use crate::mail::Message;
use crate::state::AppState;
use crate::storage::{Feedback, FeedbackCategory, FeedbackId, NewFeedback};

/// A feedback text: stripped, not blank, 10 to 5000 characters. No keyword filter
/// (DECISIONS.md "Input"): "delete", "select" or "--" are fine in a bug report. Free text: NUL
/// is kept as U+FFFD, other control characters as sent (the rule in `text`).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Description(String);

impl TryFrom<String> for Description {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let text = raw.trim();
        let length = text.chars().count();
        if length == 0 {
            Err("Description cannot be empty")
        } else if length < 10 {
            Err("String should have at least 10 characters")
        } else if length > 5000 {
            Err("String should have at most 5000 characters")
        } else {
            Ok(Self(crate::text::storable(text).into_owned()))
        }
    }
}

/// A feedback submission.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct FeedbackSubmitRequest {
    /// Who is writing.
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    name: PersonName,
    /// Where to answer.
    #[schema(value_type = String, format = Email)]
    email: Email,
    category: FeedbackCategory,
    /// 10 to 5000 characters.
    #[schema(value_type = String, min_length = 10, max_length = 5000)]
    description: Description,
}

/// The stored submission's id.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FeedbackSubmitResponse {
    success: bool,
    submission_id: FeedbackId,
    message: &'static str,
}

/// A stored header (the rule for identifiers: refused with a 422 naming it when it holds a control
/// character), trimmed and cut to its column of `max` characters; `None` when absent or blank.
fn header_text(
    headers: &HeaderMap,
    name: &'static str,
    max: usize,
) -> Result<Option<String>, ApiError> {
    Ok(header_identifier(headers, name)?
        .map(|text| {
            text.chars()
                .take(max)
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .filter(|text| !text.is_empty()))
}

/// Sends feedback, signed in or not (a bad token counts as anonymous). Limited to 5 per hour
/// per address.
#[utoipa::path(
    post,
    path = "/feedback/submit",
    tag = "feedback",
    operation_id = "submit_feedback_v1_feedback_submit_post",
    security((), ("HTTPBearer" = [])),
    params(
        ("X-App-Version" = Option<String>, Header, description = "The app's version"),
        ("X-Platform" = Option<String>, Header, description = "The OS and its version"),
        ("X-Device-ID" = Option<String>, Header, description = "The device's id"),
    ),
    request_body = FeedbackSubmitRequest,
    responses(
        (status = 201, description = "Stored", body = FeedbackSubmitResponse),
        (status = 422, description = "Invalid submission, or a header with a control character or beyond visible ASCII"),
        (status = 429, description = "More than 5 submissions in an hour from this address"),
    )
)]
pub(super) async fn submit(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FeedbackSubmitRequest>,
) -> Result<(StatusCode, Json<FeedbackSubmitResponse>), ApiError> {
    let feedback = state
        .storage
        .create_feedback(NewFeedback {
            user_id: user.map(|user| user.id),
            name: body.name.into_string(),
            email: body.email.into_string(),
            category: body.category,
            description: body.description.0,
            app_version: header_text(&headers, "X-App-Version", 20)?,
            ios_version: header_text(&headers, "X-Platform", 50)?,
            device_id: header_text(&headers, "X-Device-ID", 100)?,
            created_at: crate::time::now(),
        })
        .await?;
    tracing::info!(
        submission_id = feedback.id,
        category = feedback.feedback.category.as_str(),
        "feedback received"
    );
    notify(&state, &feedback);
    Ok((
        StatusCode::CREATED,
        Json(FeedbackSubmitResponse {
            success: true,
            submission_id: feedback.id,
            message: "Thank you for your feedback! We'll review it shortly.",
        }),
    ))
}

/// The operator's notification of a submission.
pub(crate) fn notification(to: &str, feedback: &Feedback) -> Message {
    let f = &feedback.feedback;
    let or_none = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    let user = f
        .user_id
        .map_or_else(|| "anonymous".to_owned(), |id| id.to_string());
    Message {
        to: to.to_owned(),
        subject: format!("[AIQ feedback] {}", f.category.as_str()),
        text_body: format!(
            "New feedback #{id} ({category})\n\n\
             From: {name} <{email}>\nUser id: {user}\n\
             App version: {app}\nPlatform: {platform}\nDevice: {device}\n\n\
             {description}\n",
            id = feedback.id,
            category = f.category.as_str(),
            name = f.name,
            email = f.email,
            app = or_none(&f.app_version),
            platform = or_none(&f.ios_version),
            device = or_none(&f.device_id),
            description = f.description,
        ),
    }
}

/// Mails the operator in the background; a failure is logged, never returned.
fn notify(state: &AppState, feedback: &Feedback) {
    let to = state.config.admin.email.trim();
    if to.is_empty() {
        return;
    }
    let message = notification(to, feedback);
    let mailer = state.mailer.clone();
    let id = feedback.id;
    tokio::spawn(async move {
        if let Err(error) = mailer.send(message).await {
            tracing::warn!(submission_id = id, %error, "feedback notification not sent");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_trimmed_and_bounded() {
        let text = Description::try_from("  delete from users; --  ".to_owned()).unwrap();
        assert_eq!(text.0, "delete from users; --");
        assert!(Description::try_from("   ".to_owned()).is_err());
        assert!(Description::try_from("too short".to_owned()).is_err());
        assert!(Description::try_from("x".repeat(5001)).is_err());
    }

    #[test]
    fn headers_are_trimmed_cut_to_the_column_or_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-app-version",
            "  1.2.3-build-0123456789-extra ".parse().unwrap(),
        );
        headers.insert("x-platform", "   ".parse().unwrap());
        headers.insert("x-device-id", "dev\tice".parse().unwrap());
        assert_eq!(
            header_text(&headers, "X-App-Version", 20)
                .unwrap()
                .as_deref(),
            Some("1.2.3-build-01234567")
        );
        assert_eq!(header_text(&headers, "X-Platform", 50).unwrap(), None);
        let Err(ApiError::Validation(issues)) = header_text(&headers, "X-Device-ID", 100) else {
            panic!("a tab is refused");
        };
        assert_eq!(issues[0].loc, ["header", "X-Device-ID"].map(Into::into));
        headers.remove("x-device-id");
        assert_eq!(header_text(&headers, "X-Device-ID", 100).unwrap(), None);
    }
}
