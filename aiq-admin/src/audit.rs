//! Writing the audit log: who did what, to what, when, from where.

use std::net::IpAddr;

use aiq_core::storage::NewAuditEntry;

use crate::error::PageError;
use crate::state::State;

/// One admin action about to be recorded.
#[derive(Debug)]
pub(crate) struct Event<'a> {
    /// Who.
    pub(crate) actor: &'a str,
    /// What (`user.delete`, `question.active.set`, ...).
    pub(crate) action: &'static str,
    /// On what (`user:42`).
    pub(crate) target: Option<String>,
    /// New values, counts; never secrets.
    pub(crate) detail: Option<String>,
    /// From where.
    pub(crate) ip: Option<IpAddr>,
}

/// Appends `event` to the audit log, stamped with the current time, and logs it.
pub(crate) async fn record(state: &State, event: Event<'_>) -> Result<(), PageError> {
    tracing::info!(
        target: "aiq_admin::audit",
        actor = event.actor,
        action = event.action,
        target_record = event.target.as_deref().unwrap_or(""),
        "admin action"
    );
    state
        .storage
        .record_audit(&NewAuditEntry {
            actor: event.actor.to_owned(),
            action: event.action.to_owned(),
            target: event.target,
            detail: event.detail,
            ip: event.ip.map(|ip| ip.to_string()),
            at: state.now(),
        })
        .await?;
    Ok(())
}
