//! Delivery through an SMTP server, with `lettre`.
//!
//! Each message opens its own connection: mail is rare here (password resets), so a pool would
//! only hold idle connections that servers close anyway. TLS is rustls with the
//! bundled webpki roots, so the slim runtime image needs no CA bundle.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::{MailError, Mailer, Message, parse_recipient};
use crate::config::{SmtpConfig, SmtpTls};

/// Sends mail through the SMTP server of an [`SmtpConfig`].
///
/// - [`SmtpTls::StartTls`]: STARTTLS is required; a server that does not offer it gets neither
///   credentials nor mail.
/// - [`SmtpTls::Tls`]: TLS from the first byte (port 465).
/// - [`SmtpTls::None`]: no encryption, for a relay on the same host or network. Credentials,
///   when configured, then travel in clear text.
///
/// Certificates are checked against the webpki roots and `SMTP_HOST`. The mail goes out as
/// `From: {from_name} <{from_email}>`, with a UTF-8 plain-text body and a `Message-ID` on the
/// sender's domain.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    message_id_domain: String,
    timeout: Duration,
    host: String,
    port: u16,
    tls: SmtpTls,
    authenticated: bool,
}

impl SmtpMailer {
    /// How long one delivery (connect, TLS, every command) may take by default.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A mailer for `config`, with [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT). Nothing is
    /// connected until the first [`send`](Mailer::send).
    ///
    /// Fails with [`MailError::Config`] when `SMTP_HOST` is empty or unusable for TLS,
    /// `SMTP_FROM_EMAIL` is not an address, or `SMTP_USERNAME` is set without `SMTP_PASSWORD`.
    ///
    /// ```
    /// use aiq_core::config::SmtpConfig;
    /// use aiq_core::mail::SmtpMailer;
    /// let mailer = SmtpMailer::new(&SmtpConfig::default())?;
    /// assert!(format!("{mailer:?}").contains("smtp.gmail.com"));
    /// # Ok::<(), aiq_core::mail::MailError>(())
    /// ```
    pub fn new(config: &SmtpConfig) -> Result<Self, MailError> {
        Self::with_timeout(config, Self::DEFAULT_TIMEOUT)
    }

    /// Like [`new`](Self::new), with another bound on how long one delivery may take.
    pub fn with_timeout(config: &SmtpConfig, timeout: Duration) -> Result<Self, MailError> {
        if config.host.is_empty() {
            return Err(MailError::Config("SMTP_HOST is empty".into()));
        }
        let from_email: lettre::Address = config
            .from_email
            .parse()
            .map_err(|_| MailError::Config("SMTP_FROM_EMAIL is not an email address".into()))?;
        let message_id_domain = from_email.domain().to_owned();
        let from_name = Some(config.from_name.clone()).filter(|name| !name.is_empty());
        let from = Mailbox::new(from_name, from_email);

        let tls = match config.tls {
            SmtpTls::StartTls => Tls::Required(tls_parameters(&config.host)?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters(&config.host)?),
            SmtpTls::None => Tls::None,
        };
        // lettre's own timeout only bounds connecting on tokio; `send` bounds the rest.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(timeout));
        let authenticated = !config.username.is_empty();
        if authenticated {
            let password = config.password.as_ref().ok_or_else(|| {
                MailError::Config("SMTP_USERNAME is set but SMTP_PASSWORD is not".into())
            })?;
            builder = builder.credentials(Credentials::new(
                config.username.clone(),
                password.expose_secret().to_owned(),
            ));
        }

        Ok(Self {
            transport: builder.build(),
            from,
            message_id_domain,
            timeout,
            host: config.host.clone(),
            port: config.port,
            tls: config.tls,
            authenticated,
        })
    }

    fn build(&self, message: Message) -> Result<lettre::Message, MailError> {
        let to = parse_recipient(&message.to)?;
        lettre::Message::builder()
            .from(self.from.clone())
            // lettre would use this machine's host name, a random container id in production;
            // spam filters look for the sender's own domain.
            .message_id(Some(format!(
                "<{}@{}>",
                Uuid::new_v4().simple(),
                self.message_id_domain
            )))
            .to(Mailbox::new(None, to))
            .subject(message.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(message.text_body)
            .map_err(|err| MailError::InvalidMessage(Box::new(err)))
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailError> {
    TlsParameters::new(host.to_owned())
        .map_err(|err| MailError::Config(format!("cannot set up TLS for SMTP_HOST: {err}")))
}

impl fmt::Debug for SmtpMailer {
    // The transport holds the credentials; show only what identifies the server.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("authenticated", &self.authenticated)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        let email = self.build(message)?;
        // Without an overall deadline a server that accepts the connection and then stalls
        // would hold the caller forever.
        match tokio::time::timeout(self.timeout, self.transport.send(email)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) if err.is_permanent() => Err(MailError::Rejected(Box::new(err))),
            Ok(Err(err)) if err.is_timeout() => Err(MailError::Timeout(self.timeout)),
            Ok(Err(err)) => Err(MailError::Unavailable(Box::new(err))),
            Err(_) => Err(MailError::Timeout(self.timeout)),
        }
    }
}
