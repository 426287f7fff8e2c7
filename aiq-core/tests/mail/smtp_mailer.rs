//! `SmtpMailer` against the SMTP server the test runs (`super`).

use super::*;

#[tokio::test]
async fn delivers_envelope_headers_and_body_intact() {
    let server = SmtpServer::start(Script::Accept).await;
    let mailer = SmtpMailer::new(&server.config()).unwrap();
    let message = reset_message("alice@example.com");

    mailer.send(message.clone()).await.unwrap();

    let transaction = server.single();
    assert_eq!(transaction.mail_from, "noreply@a-iq-test.com");
    assert_eq!(transaction.rcpt_to, ["alice@example.com"]);
    assert_eq!(transaction.auth, None);
    let received = Received::parse(&transaction.data);
    // lettre quotes every display name; `"AIQ Support" <...>` is the same mailbox.
    assert_eq!(
        received.mailbox("From"),
        ("AIQ Support".to_owned(), "noreply@a-iq-test.com".to_owned())
    );
    assert_eq!(received.header("To"), Some("alice@example.com"));
    let message_id = received.header("Message-ID").unwrap();
    assert!(
        message_id.starts_with('<') && message_id.ends_with("@a-iq-test.com>"),
        "{message_id}"
    );
    assert!(received.header("Date").is_some());
    assert_eq!(
        received.decoded_header("Subject"),
        "Reset your AIQ password"
    );
    let content_type = received
        .header("Content-Type")
        .unwrap()
        .to_ascii_lowercase();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(content_type.contains("charset=utf-8"), "{content_type}");
    assert!(received.text().contains(RESET_LINK), "{received:?}");
    // The lone `.` line must survive without ending the DATA section early.
    assert_eq!(received.text().trim_end(), message.text_body.trim_end());
}

#[tokio::test]
async fn utf8_subject_and_body_arrive_intact() {
    let server = SmtpServer::start(Script::Accept).await;
    let config = SmtpConfig {
        from_name: "L’équipe AIQ".into(),
        ..server.config()
    };
    let mailer = SmtpMailer::new(&config).unwrap();
    let subject = "Réinitialisez votre mot de passe – AIQ ✓ 日本語の件名";
    let body = format!("Grüße, Zoë!\n\n{RESET_LINK}\n\n— l’équipe AIQ 🧠\n");

    mailer
        .send(Message {
            to: "zoe@example.de".into(),
            subject: subject.into(),
            text_body: body.clone(),
        })
        .await
        .unwrap();

    let received = Received::parse(&server.single().data);
    assert_eq!(received.decoded_header("Subject"), subject);
    assert_eq!(
        received.mailbox("From"),
        (
            "L’équipe AIQ".to_owned(),
            "noreply@a-iq-test.com".to_owned()
        )
    );
    assert_eq!(received.text().trim_end(), body.trim_end());
}

#[tokio::test]
async fn a_subject_cannot_inject_headers() {
    let server = SmtpServer::start(Script::Accept).await;
    let mailer = SmtpMailer::new(&server.config()).unwrap();
    let mut message = reset_message("alice@example.com");
    message.subject = "Hello\r\nBcc: mallory@example.com\r\n\r\nforged body".into();

    mailer.send(message).await.unwrap();

    let transaction = server.single();
    assert_eq!(transaction.rcpt_to, ["alice@example.com"]);
    let received = Received::parse(&transaction.data);
    assert!(received.header("Bcc").is_none(), "{received:?}");
    assert!(received.text().contains(RESET_LINK));
}

#[tokio::test]
async fn sends_credentials_when_a_username_is_configured() {
    let server = SmtpServer::start(Script::Accept).await;
    let config = SmtpConfig {
        username: "mailer@a-iq-test.com".into(),
        password: Some(SecretString::from(PASSWORD.to_owned())),
        ..server.config()
    };
    let mailer = SmtpMailer::new(&config).unwrap();

    mailer.send(reset_message("bob@example.com")).await.unwrap();

    let transaction = server.single();
    assert_eq!(
        transaction.auth,
        Some(("mailer@a-iq-test.com".to_owned(), PASSWORD.to_owned()))
    );
    assert_eq!(transaction.rcpt_to, ["bob@example.com"]);
    assert!(
        !format!("{mailer:?}").contains(PASSWORD),
        "Debug shows the password: {mailer:?}"
    );
}

#[tokio::test]
async fn does_not_authenticate_without_a_username() {
    let server = SmtpServer::start(Script::Accept).await;
    // A password alone (left over from another set-up) is not used.
    let config = SmtpConfig {
        password: Some(SecretString::from(PASSWORD.to_owned())),
        ..server.config()
    };
    SmtpMailer::new(&config)
        .unwrap()
        .send(reset_message("bob@example.com"))
        .await
        .unwrap();

    assert_eq!(server.single().auth, None);
    let commands = server.commands();
    assert!(
        !commands
            .iter()
            .any(|c| c.to_ascii_uppercase().starts_with("AUTH")),
        "{commands:?}"
    );
}

#[tokio::test]
async fn a_rejected_recipient_is_an_error_that_leaks_nothing() {
    let server = SmtpServer::start(Script::RejectRecipients).await;
    let config = SmtpConfig {
        username: "mailer@a-iq-test.com".into(),
        password: Some(SecretString::from(PASSWORD.to_owned())),
        ..server.config()
    };
    let mailer = SmtpMailer::new(&config).unwrap();

    let err = mailer
        .send(reset_message("nobody@example.com"))
        .await
        .unwrap_err();

    assert!(matches!(err, MailError::Rejected(_)), "{err:?}");
    let shown = format!("{err} / {err:?}");
    assert!(shown.contains("550"), "{shown}");
    for secret in [RESET_LINK, "Zm9vYmFy-s3cr3t", PASSWORD] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(server.transactions().is_empty());
}

#[tokio::test]
async fn nothing_listening_fails_within_the_timeout() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer = SmtpMailer::new(&local_config(port)).unwrap();

    let err = mailer
        .send(reset_message("alice@example.com"))
        .await
        .unwrap_err();

    // Refused, not waited out: a `Timeout` would mean the whole of `DEFAULT_TIMEOUT` passed.
    assert!(matches!(err, MailError::Unavailable(_)), "{err:?}");
    assert!(!err.to_string().contains("token="), "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = SmtpServer::start(Script::Silent).await;
    let timeout = Duration::from_millis(300);
    let mailer = SmtpMailer::with_timeout(&server.config(), timeout).unwrap();

    // The connection is up at once and then nothing is read: only the mailer's own deadline
    // can end this. The outer bound turns a missing deadline into a failure, not a hang.
    let started = Instant::now();
    let err = tokio::time::timeout(
        Duration::from_secs(5),
        mailer.send(reset_message("alice@example.com")),
    )
    .await
    .expect("send gave up within its timeout")
    .unwrap_err();

    assert!(
        matches!(err, MailError::Timeout(t) if t == timeout),
        "{err:?}"
    );
    assert!(started.elapsed() >= timeout);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn starttls_is_required_not_opportunistic() {
    // The fixture does not offer STARTTLS: nothing but the greeting exchange may happen.
    let server = SmtpServer::start(Script::Accept).await;
    let config = SmtpConfig {
        tls: SmtpTls::StartTls,
        username: "mailer@a-iq-test.com".into(),
        password: Some(SecretString::from(PASSWORD.to_owned())),
        ..server.config()
    };
    let mailer = SmtpMailer::new(&config).unwrap();

    let err = mailer
        .send(reset_message("alice@example.com"))
        .await
        .unwrap_err();

    assert!(!matches!(err, MailError::Rejected(_)), "{err:?}");
    assert!(!err.to_string().contains(PASSWORD), "{err}");
    let commands = server.commands();
    assert!(
        commands.iter().all(|c| {
            let c = c.to_ascii_uppercase();
            c.starts_with("EHLO") || c.starts_with("HELO") || c == "QUIT"
        }),
        "{commands:?}"
    );
    assert!(server.transactions().is_empty());
}

#[tokio::test]
async fn implicit_tls_does_not_fall_back_to_plain_text() {
    let server = SmtpServer::start(Script::Accept).await;
    let config = SmtpConfig {
        tls: SmtpTls::Tls,
        ..server.config()
    };
    let mailer = SmtpMailer::new(&config).unwrap();

    let err = mailer
        .send(reset_message("alice@example.com"))
        .await
        .unwrap_err();

    assert!(matches!(err, MailError::Unavailable(_)), "{err:?}");
    assert!(server.transactions().is_empty());
    let commands = server.commands();
    assert!(
        !commands
            .iter()
            .any(|c| c.to_ascii_uppercase().starts_with("MAIL")),
        "{commands:?}"
    );
}

#[tokio::test]
async fn an_invalid_recipient_is_refused_before_connecting() {
    let server = SmtpServer::start(Script::Accept).await;
    let mailer = SmtpMailer::new(&server.config()).unwrap();

    for to in [
        "not an address",
        "alice@",
        "a@b.com\r\nRCPT TO:<mallory@example.com>",
    ] {
        let err = mailer.send(reset_message(to)).await.unwrap_err();
        assert!(
            matches!(err, MailError::InvalidRecipient),
            "{to:?}: {err:?}"
        );
        assert!(!err.to_string().contains(to), "{err}");
    }
    assert_eq!(server.connections(), 0);
}

#[test]
fn unusable_settings_are_refused_up_front() {
    let base = local_config(2525);
    let cases = [
        SmtpConfig {
            from_email: "not an address".into(),
            ..base.clone()
        },
        SmtpConfig {
            username: "mailer".into(),
            password: None,
            ..base.clone()
        },
        SmtpConfig {
            host: String::new(),
            ..base.clone()
        },
    ];
    for config in cases {
        let err = SmtpMailer::new(&config).unwrap_err();
        assert!(matches!(err, MailError::Config(_)), "{config:?}: {err:?}");
    }
    SmtpMailer::new(&base).unwrap();
}

#[test]
fn from_config_follows_smtp_enabled() {
    let mut config = Config::default();
    let mailer = mail::from_config(&config).unwrap();
    assert!(format!("{mailer:?}").starts_with("LogMailer"), "{mailer:?}");

    config.smtp.enabled = true;
    config.smtp.username = "mailer@a-iq-test.com".into();
    config.smtp.password = Some(SecretString::from(PASSWORD.to_owned()));
    let mailer = mail::from_config(&config).unwrap();
    let shown = format!("{mailer:?}");
    assert!(shown.starts_with("SmtpMailer"), "{shown}");
    assert!(
        shown.contains("smtp.gmail.com") && !shown.contains(PASSWORD),
        "{shown}"
    );

    config.smtp.from_email = "nope".into();
    assert!(matches!(
        mail::from_config(&config),
        Err(MailError::Config(_))
    ));
}
