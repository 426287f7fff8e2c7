//! The sender used when APNs is not configured: notifications go to the log.

use async_trait::async_trait;

use super::{Notification, PushError, PushSender, token_prefix};

/// Writes each notification to the log (one `info` event) instead of sending it.
///
/// Only the start of the device token is logged.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogPush;

#[async_trait]
impl PushSender for LogPush {
    async fn send(&self, device_token: &str, notification: &Notification) -> Result<(), PushError> {
        tracing::info!(
            device = %token_prefix(device_token),
            kind = notification.kind(),
            title = %notification.title,
            "push not sent (APNs not configured), logged instead",
        );
        Ok(())
    }
}
