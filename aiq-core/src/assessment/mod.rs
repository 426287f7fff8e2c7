//! Taking a test: the rules of starting, abandoning, submitting and claiming, independent of
//! HTTP. Handlers in `api::test_sessions` parse requests, call these functions and shape the
//! answers; every rule a client can break is an [`AssessmentError`], mapped to a status and the
//! old backend's message in one place (`From<AssessmentError> for ApiError`).

mod abandon;
mod adaptive;
mod common;
mod error;
mod guest;
mod reliability;
mod start;
mod statistics;
mod submit;

pub(crate) use self::abandon::abandon_test;
pub(crate) use self::adaptive::{
    AdaptiveAnswer, adaptive_progress, answer_adaptive, start_adaptive_test,
};
pub(crate) use self::common::{owned_session, questions_in_order};
pub(crate) use self::error::AssessmentError;
pub(crate) use self::guest::{claim_guest_result, start_guest_test, submit_guest_test};
pub(crate) use self::reliability::AlphaCache;
pub(crate) use self::start::{StartedTest, start_test};
pub(crate) use self::statistics::StatisticsQueue;
pub(crate) use self::submit::{Answered, Submitted, submit_test};

use crate::storage::UserId;

/// Who a test is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taker {
    /// A signed-in user.
    User(UserId),
    /// An anonymous device.
    Guest,
}

impl Taker {
    /// The `test.kind` metric label.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Guest => "guest",
        }
    }
}
