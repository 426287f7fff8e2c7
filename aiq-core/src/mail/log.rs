//! The mailer used when SMTP is not enabled: messages go to the log instead of a server.
//!
//! Developers need the reset link a mail carries, so outside production the body is logged.
//! In production it never is: the body holds a password-reset token, and logs are read by more
//! people, and kept longer, than a mailbox.

use async_trait::async_trait;

use super::{MailError, Mailer, Message, parse_recipient};
use crate::auth::audit::mask_email;
use crate::config::Environment;

/// Writes each message to the log (one `info` event) instead of sending it.
///
/// The recipient is masked; the body is included only outside production.
#[derive(Debug, Clone)]
pub struct LogMailer {
    log_body: bool,
}

impl LogMailer {
    /// A log mailer for `environment`: with bodies in development and staging, without in
    /// production.
    pub fn new(environment: &Environment) -> Self {
        Self {
            log_body: !environment.is_production(),
        }
    }
}

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        // Refuse what SMTP would refuse, so callers see the same errors in development.
        parse_recipient(&message.to)?;
        let to = mask_email(&message.to);
        if self.log_body {
            tracing::info!(
                to = %to,
                subject = %message.subject,
                body = %message.text_body,
                "mail not sent (SMTP disabled), logged instead",
            );
        } else {
            tracing::info!(
                to = %to,
                subject = %message.subject,
                "mail not sent (SMTP disabled), body withheld in production",
            );
        }
        Ok(())
    }
}
