//! Outgoing mail, behind the [`Mailer`] trait.
//!
//! The service sends little mail (password resets, later feedback notifications), always plain
//! text, so the contract is one call: [`Mailer::send`] a [`Message`]. Two mailers ship with the
//! crate and [`from_config`] picks one:
//! - `SmtpMailer` (feature `smtp`): delivers through an SMTP server (`SMTP_*` settings), over
//!   STARTTLS, implicit TLS or, for a relay on the same host, no encryption;
//! - [`LogMailer`]: the default when SMTP is not enabled. It only writes the message to the log,
//!   and in production it leaves the body out, because bodies carry password-reset tokens.
//!
//! Bodies and credentials never appear in a [`MailError`], in [`Message`]'s `Debug` output or in
//! production logs; recipients are logged masked (`ali***@example.com`).

mod log;
#[cfg(feature = "smtp")]
mod smtp;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::BoxError;
use crate::Config;
use crate::auth::audit::mask_email;

pub use self::log::LogMailer;
#[cfg(feature = "smtp")]
pub use self::smtp::SmtpMailer;

/// One plain-text mail to one recipient.
///
/// Its `Debug` output masks the recipient and leaves the body out, so a message can be logged
/// or put in an error without leaking the reset link it carries.
///
/// ```
/// use aiq_core::mail::Message;
/// let message = Message {
///     to: "alice@example.com".into(),
///     subject: "Reset your password".into(),
///     text_body: "https://a-iq-test.com/reset-password?token=s3cret".into(),
/// };
/// assert!(!format!("{message:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct Message {
    /// The recipient's address (`alice@example.com`, without a display name).
    pub to: String,
    /// The subject line; any Unicode is fine, it is encoded for the header.
    pub subject: String,
    /// The plain-text body, sent as UTF-8.
    pub text_body: String,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("to", &mask_email(&self.to))
            .field("subject", &self.subject)
            .field(
                "text_body",
                &format_args!("<{} bytes withheld>", self.text_body.len()),
            )
            .finish()
    }
}

/// Why a message was not sent.
///
/// The messages name the failure, never the body or the credentials, so they can be logged as
/// they are. [`Rejected`](Self::Rejected) is final; the other runtime failures may pass on a
/// later attempt.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The settings cannot make a mailer (a sender that is not an address, a missing password).
    #[error("invalid mail configuration: {0}")]
    Config(String),
    /// The recipient is not a valid email address. The address itself is not repeated: it may
    /// be whatever a user typed.
    #[error("invalid recipient address")]
    InvalidRecipient,
    /// The message could not be put together.
    #[error("cannot build the message: {0}")]
    InvalidMessage(#[source] BoxError),
    /// The server answered with a permanent (5xx) error: unknown recipient, authentication
    /// refused, message refused. Sending it again will not help.
    #[error("mail server rejected the message: {0}")]
    Rejected(#[source] BoxError),
    /// The server could not be reached or answered with a temporary error (connection refused,
    /// TLS failure, 4xx).
    #[error("mail server unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Connecting and delivering took longer than the mailer's timeout.
    #[error("mail server did not finish within {0:?}")]
    Timeout(std::time::Duration),
}

/// Something that delivers mail. Implement it to plug in another transport (or a test double).
///
/// ```
/// use aiq_core::config::Environment;
/// use aiq_core::mail::{LogMailer, Mailer, Message};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mailer = LogMailer::new(&Environment::default());
/// let message = Message {
///     to: "alice@example.com".into(),
///     subject: "Welcome".into(),
///     text_body: "Hello".into(),
/// };
/// mailer.send(message).await?;
/// # Ok::<(), aiq_core::mail::MailError>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait Mailer: Send + Sync + fmt::Debug + 'static {
    /// Sends `message`; `Ok` once the server (or the log) has taken it.
    async fn send(&self, message: Message) -> Result<(), MailError>;
}

/// The mailer the configuration asks for: `SmtpMailer` when `SMTP_ENABLED`, otherwise
/// [`LogMailer`].
///
/// It fails only when SMTP is enabled with settings that cannot work (see `SmtpMailer::new`),
/// or in a build without the `smtp` feature; nothing is sent or connected here.
///
/// ```
/// use aiq_core::{Config, mail};
/// let mailer = mail::from_config(&Config::default())?;
/// assert!(format!("{mailer:?}").starts_with("LogMailer"));
/// # Ok::<(), aiq_core::mail::MailError>(())
/// ```
pub fn from_config(config: &Config) -> Result<Arc<dyn Mailer>, MailError> {
    if config.smtp.enabled {
        #[cfg(feature = "smtp")]
        return Ok(Arc::new(SmtpMailer::new(&config.smtp)?));
        #[cfg(not(feature = "smtp"))]
        return Err(MailError::Config(
            "SMTP is enabled, but aiq-core was built without its `smtp` feature".into(),
        ));
    }
    if config.app.environment.is_production() {
        // Password resets cannot work like this; say so once at start-up rather than leaving
        // operators to wonder why no mail arrives.
        tracing::warn!("SMTP is not enabled: mail is logged without its body, not sent");
    }
    Ok(Arc::new(LogMailer::new(&config.app.environment)))
}

/// Parses the recipient, without echoing it in the error (it may be anything a user typed).
#[cfg(feature = "smtp")]
fn parse_recipient(to: &str) -> Result<lettre::Address, MailError> {
    to.parse().map_err(|_| MailError::InvalidRecipient)
}

/// Checks the recipient as sign-up checks an address (without `smtp`, lettre's parser is not
/// in the build), without echoing it in the error.
#[cfg(not(feature = "smtp"))]
fn parse_recipient(to: &str) -> Result<(), MailError> {
    crate::input::Email::try_from(to.to_owned())
        .map(drop)
        .map_err(|_| MailError::InvalidRecipient)
}
