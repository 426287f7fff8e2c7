//! The security audit log: one structured `tracing` event per security-relevant action, with
//! target `security` and an `event` field (`security.login_success`, ...).
//!
//! Emails are masked (first three characters of the local part); passwords and tokens are never
//! passed in, so they cannot end up in a log line. The events anyone can cause at will (failed
//! logins, rejected tokens, failed password resets) are limited in rate, each line carrying the
//! count of those held back since the last (`suppressed`).

use crate::log_budget::{LogBudget, limited};
use crate::storage::UserId;

static LOGIN_FAILED: LogBudget = LogBudget::new(10);
static TOKEN_REJECTED: LogBudget = LogBudget::new(5);
static PASSWORD_RESET_FAILED: LogBudget = LogBudget::new(5);

/// `ada.lovelace@example.com` -> `ada***@example.com`: enough to tell accounts apart in a log,
/// not enough to identify a person.
///
/// ```
/// use aiq_core::auth::audit::mask_email;
/// assert_eq!(mask_email("ada.lovelace@example.com"), "ada***@example.com");
/// assert_eq!(mask_email("zoë.müller@example.de"), "zoë***@example.de");
/// // The domain follows the last `@`: a quoted local part may contain one.
/// assert_eq!(mask_email("\"a@b\"@example.com"), "\"a@***@example.com");
/// assert_eq!(mask_email("not an address"), "***");
/// ```
pub fn mask_email(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let shown: String = local.chars().take(3).collect();
            format!("{shown}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

pub(crate) fn login_success(user_id: UserId, email: &str, method: &str) {
    tracing::info!(target: "security", event = "security.login_success", user_id, email = %mask_email(email), method);
}

pub(crate) fn login_failed(email: &str, reason: &str) {
    limited!(LOGIN_FAILED, warn, target: "security", event = "security.login_failed", email = %mask_email(email), reason);
}

pub(crate) fn token_rejected(reason: &str) {
    limited!(TOKEN_REJECTED, info, target: "security", event = "security.token_validation_failed", reason);
}

pub(crate) fn token_revoked(user_id: UserId, scope: &str) {
    tracing::info!(target: "security", event = "security.token_revoked", user_id, scope);
}

pub(crate) fn refresh_reuse(user_id: UserId) {
    tracing::warn!(target: "security", event = "security.token_revoked", user_id, scope = "session", reason = "refresh token reuse");
}

pub(crate) fn account_created(user_id: UserId, email: &str, method: &str) {
    tracing::info!(target: "security", event = "security.account_created", user_id, email = %mask_email(email), method);
}

pub(crate) fn account_deleted(user_id: UserId, email: &str) {
    tracing::info!(target: "security", event = "security.account_deleted", user_id, email = %mask_email(email));
}

pub(crate) fn password_reset_initiated(email: &str, issued: bool) {
    tracing::info!(target: "security", event = "security.password_reset_initiated", email = %mask_email(email), issued);
}

pub(crate) fn password_reset_completed(user_id: UserId) {
    tracing::info!(target: "security", event = "security.password_reset_completed", user_id);
}

pub(crate) fn password_reset_failed(reason: &str) {
    limited!(PASSWORD_RESET_FAILED, warn, target: "security", event = "security.password_reset_failed", reason);
}

pub(crate) fn oauth_identity_linked(user_id: UserId, provider: &str) {
    tracing::info!(target: "security", event = "security.oauth_identity_linked", user_id, provider);
}
