//! The rules a test request can break, and how each one answers.

use time::{Date, OffsetDateTime};

use crate::error::ApiError;
use crate::storage::{QuestionId, SessionId, SessionStatus, StorageError};

/// Why a test operation was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AssessmentError {
    #[error("Test session not found.")]
    SessionNotFound,
    #[error("Not authorized to access this test session.")]
    NotYourSession,
    #[error(
        "Test session is already {}. Only in-progress sessions can be modified.",
        .0.as_str()
    )]
    NotInProgress(SessionStatus),
    #[error(
        "User already has an active test session (ID: {0}). Please complete or abandon the \
         existing session before starting a new one."
    )]
    ActiveSession(SessionId),
    #[error(
        "You must wait {cadence_days} days (3 months) between tests. Your last test was completed \
         on {last}. You can take your next test on {next} ({days_remaining} days remaining)."
    )]
    Cadence {
        cadence_days: u32,
        last: Date,
        next: Date,
        days_remaining: i64,
    },
    #[error(
        "You must wait {cooldown_days} days after abandoning a substantive test attempt. Your last \
         attempt was abandoned on {last}. You can take your next test on {next} \
         ({days_remaining} days remaining)."
    )]
    AbandonCooldown {
        cooldown_days: u32,
        last: Date,
        next: Date,
        days_remaining: i64,
    },
    #[error("No unseen questions available. Question pool may be exhausted.")]
    PoolExhausted,
    #[error(
        "A test session is already in progress. Please complete or abandon the existing session \
         before starting a new one."
    )]
    StartRace,
    #[error("Response list cannot be empty.")]
    EmptyResponses,
    #[error(
        "Invalid question IDs: {}. These questions do not belong to this test session.",
        join_ids(.0)
    )]
    ForeignQuestions(Vec<QuestionId>),
    #[error("User answer for question {0} cannot be empty.")]
    BlankAnswer(QuestionId),
    #[error("Question {0} not found.")]
    QuestionNotFound(QuestionId),
    #[error("A response has already been submitted for one or more questions in this session.")]
    DuplicateResponse,
    #[error("This endpoint is only available for adaptive (CAT) test sessions.")]
    NotAdaptive,
    #[error("User answer cannot be empty.")]
    EmptyAnswer,
    #[error(
        "Question {0} was not served in this adaptive session. Only the most recently served \
         question can be answered."
    )]
    NotServed(QuestionId),
    #[error("A response for question {0} has already been submitted in this session.")]
    AlreadyAnswered(QuestionId),
    #[error("Test result not found.")]
    ResultNotFound,
    #[error("Not authorized to access this test result.")]
    NotYourResult,
    #[error(
        "X-Device-Id header is required for guest tests. Please provide a non-empty device \
         identifier."
    )]
    BlankDeviceId,
    #[error("Guest test limit reached ({0} tests). Please create an account to continue.")]
    GuestLimit(u32),
    #[error("Invalid or expired guest token. Please start a new guest test session.")]
    InvalidGuestToken,
    #[error("Invalid or expired guest claim token. Please submit a guest test again.")]
    InvalidClaimToken,
    #[error("This guest result is already claimed by an account.")]
    AlreadyClaimed,
    /// The adaptive engine failed on the stored items or state (bad calibration data, a
    /// corrupt session): the server's fault, answered with a logged 500.
    #[error("adaptive engine: {0}")]
    Engine(#[source] crate::cat::CatError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn join_ids(ids: &[QuestionId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The waiting period that ends `days` after `since`, as the messages state it: the dates, and
/// the whole days remaining rounded down plus one (the old backend's arithmetic).
pub(super) fn waiting(
    since: OffsetDateTime,
    days: u32,
    now: OffsetDateTime,
) -> Option<(Date, Date, i64)> {
    let next = since + time::Duration::days(i64::from(days));
    (next > now).then(|| (since.date(), next.date(), (next - now).whole_days() + 1))
}

impl From<AssessmentError> for ApiError {
    fn from(err: AssessmentError) -> Self {
        use AssessmentError as E;
        let message = err.to_string();
        match err {
            E::SessionNotFound | E::PoolExhausted | E::QuestionNotFound(_) | E::ResultNotFound => {
                Self::NotFound(message)
            }
            E::NotYourSession | E::NotYourResult => Self::Forbidden(message),
            E::NotInProgress(_)
            | E::ActiveSession(_)
            | E::Cadence { .. }
            | E::AbandonCooldown { .. }
            | E::EmptyResponses
            | E::ForeignQuestions(_)
            | E::BlankAnswer(_)
            | E::BlankDeviceId
            | E::NotAdaptive
            | E::EmptyAnswer
            | E::NotServed(_)
            | E::InvalidGuestToken
            | E::InvalidClaimToken => Self::BadRequest(message),
            E::StartRace | E::DuplicateResponse | E::AlreadyClaimed | E::AlreadyAnswered(_) => {
                Self::Conflict(message)
            }
            E::GuestLimit(_) => Self::GuestLimitReached(message),
            E::Engine(engine) => Self::Internal(Box::new(engine)),
            E::Storage(storage) => storage.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn cadence_message_matches_what_ios_parses() {
        let now = datetime!(2025-03-01 12:00 UTC);
        let (last, next, days) = waiting(datetime!(2025-01-01 10:00 UTC), 90, now).unwrap();
        let message = AssessmentError::Cadence {
            cadence_days: 90,
            last,
            next,
            days_remaining: days,
        }
        .to_string();
        assert!(message.contains("must wait 90 days"), "{message}");
        assert!(
            message.contains("You can take your next test on 2025-04-01 (31 days remaining)."),
            "{message}"
        );
        assert!(message.contains("completed on 2025-01-01"), "{message}");
    }

    #[test]
    fn no_wait_once_the_period_is_over() {
        let since = datetime!(2025-01-01 10:00 UTC);
        assert!(waiting(since, 7, since + time::Duration::days(7)).is_none());
        let (_, _, days) = waiting(since, 7, since + time::Duration::hours(1)).unwrap();
        assert_eq!(days, 7);
    }

    #[test]
    fn invalid_ids_are_listed() {
        let message = AssessmentError::ForeignQuestions(vec![3, 7]).to_string();
        assert_eq!(
            message,
            "Invalid question IDs: 3, 7. These questions do not belong to this test session."
        );
    }

    #[test]
    fn not_in_progress_names_the_status() {
        assert_eq!(
            AssessmentError::NotInProgress(SessionStatus::Completed).to_string(),
            "Test session is already completed. Only in-progress sessions can be modified."
        );
    }

    #[test]
    fn engine_failures_are_server_errors_not_conflicts() {
        let engine = AssessmentError::Engine(crate::cat::CatError::InvalidPrior {
            mean: f64::NAN,
            sd: 1.0,
        });
        assert_eq!(
            ApiError::from(engine).status(),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            ApiError::from(AssessmentError::AlreadyAnswered(7)).status(),
            axum::http::StatusCode::CONFLICT
        );
    }
}
