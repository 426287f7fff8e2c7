//! Writing the audit log: who did what, to what, when, from where.

use std::net::IpAddr;

use aiq_core::admin::Actor;

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

/// Appends `event` to the audit log, stamped with the current time, and logs it
/// ([`aiq_core::admin::record`], as the admin JSON API does).
pub(crate) async fn record(state: &State, event: Event<'_>) -> Result<(), PageError> {
    let actor = Actor::new(event.actor, event.ip);
    let storage = state.storage.as_ref();
    aiq_core::admin::record(
        storage,
        &actor,
        event.action,
        event.target,
        event.detail,
        state.now(),
    )
    .await?;
    Ok(())
}
