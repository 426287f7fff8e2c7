//! Push notifications to the iOS app, behind the [`PushSender`] trait.
//!
//! The contract is one call: [`PushSender::send`] a [`Notification`] to a device token. Two
//! senders ship with the crate and [`from_config`] picks one:
//! - `ApnsSender` (feature `apns`): Apple's HTTP/2 provider API with a token-based (`.p8`)
//!   provider JWT, when every `APNS_*` credential is set;
//! - [`LogPush`]: the default otherwise; it only logs what would have been sent.
//!
//! [`deliver`] wraps a send for one user: when Apple says the device token is no longer valid
//! it clears the token in storage, so it is not tried again. [`reminders`] holds the daily
//! reminder run of `aiq-server notify`.
//!
//! Device tokens are never logged in full, and no credential appears in a [`PushError`].

#[cfg(feature = "apns")]
mod apns;
mod log;
pub mod reminders;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::BoxError;
use crate::Config;
use crate::storage::{StorageError, UserId, UserStore};

#[cfg(feature = "apns")]
pub use self::apns::{ApnsSender, PRODUCTION_URL, SANDBOX_URL};
pub use self::log::LogPush;

/// One alert notification.
///
/// ```
/// use aiq_core::push::Notification;
/// let notification = Notification::logout_all();
/// let payload = notification.apns_payload();
/// assert_eq!(payload["aps"]["alert"]["title"], "Security Alert");
/// assert_eq!(payload["type"], "logout_all");
/// assert_eq!(notification.kind(), "logout_all");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The alert's title.
    pub title: String,
    /// The alert's text.
    pub body: String,
    /// The app icon's badge number, if it should change.
    pub badge: Option<u32>,
    /// The sound to play (`"default"`), if any.
    pub sound: Option<String>,
    /// Custom keys for the app, sent next to `aps` (`type`, `user_id`, `deep_link`, ...).
    pub data: Map<String, Value>,
}

impl Notification {
    /// The push sent after `POST /v1/auth/logout-all`.
    pub fn logout_all() -> Self {
        let mut data = Map::new();
        data.insert("type".into(), "logout_all".into());
        data.insert("deep_link".into(), "aiq://login".into());
        Self {
            title: "Security Alert".into(),
            body: "All sessions have been logged out. If this wasn't you, please change your \
                   password immediately."
                .into(),
            badge: None,
            sound: Some("default".into()),
            data,
        }
    }

    /// The notification type the app dispatches on (`data.type`), or `"unknown"`.
    pub fn kind(&self) -> &str {
        self.data
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
    }

    /// The JSON body APNs expects: `{"aps": {"alert": {...}, "badge", "sound"}, ...data}`.
    pub fn apns_payload(&self) -> Value {
        let mut aps = Map::new();
        aps.insert(
            "alert".into(),
            json!({"title": self.title, "body": self.body}),
        );
        if let Some(badge) = self.badge {
            aps.insert("badge".into(), badge.into());
        }
        if let Some(sound) = &self.sound {
            aps.insert("sound".into(), sound.as_str().into());
        }
        let mut payload = self.data.clone();
        payload.insert("aps".into(), Value::Object(aps));
        Value::Object(payload)
    }
}

/// Why a notification was not delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The settings cannot make a sender (an unreadable or invalid key, missing credentials).
    #[error("invalid push configuration: {0}")]
    Config(String),
    /// Apple says the device token is not (or no longer) valid (`BadDeviceToken`,
    /// `Unregistered`): it should be forgotten.
    #[error("device token rejected by APNs: {reason}")]
    InvalidToken {
        /// Apple's reason.
        reason: String,
    },
    /// APNs refused the notification for another reason.
    #[error("APNs answered {status}: {reason}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Apple's reason, or `"unknown"`.
        reason: String,
    },
    /// APNs could not be reached or did not answer in time.
    #[error("APNs unavailable: {0}")]
    Unavailable(#[source] BoxError),
}

/// Something that delivers push notifications. Implement it to plug in another transport (or a
/// test double).
///
/// ```
/// use aiq_core::push::{LogPush, Notification, PushSender};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let sender = LogPush;
/// sender.send(&"ab".repeat(32), &Notification::logout_all()).await?;
/// # Ok::<(), aiq_core::push::PushError>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait PushSender: Send + Sync + fmt::Debug + 'static {
    /// Sends `notification` to the device with this token; `Ok` once APNs (or the log) took it.
    async fn send(&self, device_token: &str, notification: &Notification) -> Result<(), PushError>;
}

/// The sender the configuration asks for: `ApnsSender` when `APNS_KEY_ID`, `APNS_TEAM_ID`,
/// `APNS_BUNDLE_ID` and `APNS_KEY_PATH` are all set, [`LogPush`] when none is.
///
/// # Errors
/// Only some of the four are set, or the key file cannot be read or is not an EC key in
/// PKCS#8 PEM; any is set in a build without the `apns` feature.
///
/// ```
/// use aiq_core::{Config, push};
/// let sender = push::from_config(&Config::default())?;
/// assert!(format!("{sender:?}").starts_with("LogPush"));
/// # Ok::<(), aiq_core::push::PushError>(())
/// ```
pub fn from_config(config: &Config) -> Result<Arc<dyn PushSender>, PushError> {
    let settings = apns_settings(config);
    let missing: Vec<&str> = settings
        .iter()
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(name, _)| *name)
        .collect();
    if missing.len() == settings.len() {
        if config.app.environment.is_production() {
            tracing::warn!("APNS_* is not set: push notifications are logged, not sent");
        }
        return Ok(Arc::new(LogPush));
    }
    #[cfg(not(feature = "apns"))]
    return Err(PushError::Config(
        "APNS_* is set, but aiq-core was built without its `apns` feature".into(),
    ));
    #[cfg(feature = "apns")]
    if !missing.is_empty() {
        return Err(PushError::Config(format!(
            "APNs is partly configured; also set {}",
            missing.join(", ")
        )));
    }
    #[cfg(feature = "apns")]
    Ok(Arc::new(ApnsSender::new(&config.apns)?))
}

/// The four APNs settings, by variable.
fn apns_settings(config: &Config) -> [(&'static str, &String); 4] {
    let apns = &config.apns;
    [
        ("APNS_KEY_ID", &apns.key_id),
        ("APNS_TEAM_ID", &apns.team_id),
        ("APNS_BUNDLE_ID", &apns.bundle_id),
        ("APNS_KEY_PATH", &apns.key_path),
    ]
}

/// The first APNs variable that is set, if any.
#[cfg(not(feature = "apns"))]
pub(crate) fn first_apns_setting(config: &Config) -> Option<&'static str> {
    apns_settings(config)
        .into_iter()
        .find(|(_, value)| !value.trim().is_empty())
        .map(|(name, _)| name)
}

/// What became of a notification for one user.
#[derive(Debug)]
pub enum Delivery {
    /// APNs (or the log) took it.
    Sent,
    /// The token was invalid and has been cleared from the user (unless it changed meanwhile).
    TokenCleared(PushError),
    /// Not delivered; the token was kept.
    Failed(PushError),
}

impl Delivery {
    /// Whether the notification went out.
    pub fn is_sent(&self) -> bool {
        matches!(self, Self::Sent)
    }
}

/// Sends `notification` to `user`'s device `token`; when APNs reports the token invalid,
/// clears it from the user in `store` (only if it is still that token), so it is not retried.
///
/// # Errors
/// Only a storage failure while clearing the token; a failed send is a [`Delivery`].
pub async fn deliver(
    store: &(impl UserStore + ?Sized),
    sender: &dyn PushSender,
    user: UserId,
    token: &str,
    notification: &Notification,
) -> Result<Delivery, StorageError> {
    let outcome = sender.send(token, notification).await;
    metrics::counter!(
        crate::telemetry::NOTIFICATIONS_APNS,
        "notification.success" => if outcome.is_ok() { "true" } else { "false" },
        "notification.type" => notification.kind().to_owned(),
    )
    .increment(1);
    match outcome {
        Ok(()) => Ok(Delivery::Sent),
        Err(error @ PushError::InvalidToken { .. }) => {
            let cleared = store.clear_device_token_if(user, token).await?;
            tracing::info!(user_id = user, cleared, %error, "forgetting an invalid device token");
            Ok(Delivery::TokenCleared(error))
        }
        Err(error) => {
            tracing::warn!(user_id = user, kind = notification.kind(), %error, "push not delivered");
            Ok(Delivery::Failed(error))
        }
    }
}

/// The start of a device token, enough to tell tokens apart in logs.
pub(crate) fn token_prefix(token: &str) -> String {
    let prefix: String = token.chars().take(8).collect();
    format!("{prefix}…")
}
