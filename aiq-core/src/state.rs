//! What every handler can reach: the configuration, the stores and the auth machinery.

use std::sync::Arc;

use crate::Config;
use crate::analytics::BenchmarkCache;
use crate::assessment::{AlphaCache, StatisticsQueue};
use crate::auth::login_floor::LoginFloor;
use crate::auth::password::Passwords;
use crate::auth::tokens::Tokens;
use crate::mail::Mailer;
use crate::oauth::OAuthVerifier;
use crate::push::PushSender;
use crate::storage::{GuestTokenStore, RevocationStore, Storage};

/// Shared state of one service instance: one `Arc`, so the clone every middleware layer makes
/// of the handlers below it costs one reference count, not one per field.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl AppState {
    pub(crate) fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub(crate) struct Shared {
    pub(crate) config: Arc<Config>,
    pub(crate) storage: Arc<dyn Storage>,
    /// Where revoked tokens and sessions are remembered: the storage itself, or Redis when
    /// several instances share one.
    pub(crate) revocations: Arc<dyn RevocationStore>,
    /// Whether `revocations` is `storage` itself, so that checking a token reads the user and
    /// the revocations in one round trip ([`Storage::user_with_revocations`]).
    pub(crate) revocations_in_storage: bool,
    pub(crate) passwords: Passwords,
    /// How long failed logins wait, from recent verification times.
    pub(crate) login_floor: LoginFloor,
    pub(crate) tokens: Tokens,
    pub(crate) mailer: Arc<dyn Mailer>,
    /// Push notifications (the logout-all alert).
    pub(crate) push: Arc<dyn PushSender>,
    pub(crate) oauth: OAuthVerifier,
    /// Renders the installed metrics recorder for `/v1/metrics`, if the embedder gave one.
    pub(crate) metrics_renderer: Option<MetricsRenderer>,
    /// Guest submit and claim tokens.
    pub(crate) guest_tokens: Arc<dyn GuestTokenStore>,
    /// Item statistics refreshes queued by submits.
    pub(crate) statistics: StatisticsQueue,
    /// Cronbach's alpha for confidence intervals.
    pub(crate) reliability: AlphaCache,
    /// Benchmark summaries, per `min_runs`.
    pub(crate) benchmarks: BenchmarkCache,
}

/// A function that renders the metrics in the Prometheus text format.
pub(crate) type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("storage", &self.storage)
            .field("revocations", &self.revocations)
            .field("mailer", &self.mailer)
            .field("push", &self.push)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
