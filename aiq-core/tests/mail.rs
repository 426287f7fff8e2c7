//! Outgoing mail: `SmtpMailer` against a small SMTP server run by the test, `LogMailer` against a
//! captured log.

mod support;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aiq_core::Config;
use aiq_core::config::{Environment, SmtpConfig, SmtpTls};
use aiq_core::mail::{self, LogMailer, MailError, Mailer, Message, SmtpMailer};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::SecretString;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const RESET_LINK: &str = "https://a-iq-test.com/reset-password?token=Zm9vYmFy-s3cr3t&lang=en";
const PASSWORD: &str = "pa ss:wörd-7f3a";

// ---------------------------------------------------------------------------------------------
// The SMTP server fixture

/// How the fixture answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// Accepts everything.
    Accept,
    /// Answers 550 to every RCPT TO.
    RejectRecipients,
    /// Accepts connections and never says a word.
    Silent,
}

/// One mail transaction as the server received it (MAIL FROM to the end of DATA).
#[derive(Debug, Clone, Default)]
struct Transaction {
    mail_from: String,
    rcpt_to: Vec<String>,
    /// The message as transmitted, dot-stuffing undone.
    data: String,
    /// User name and password of a successful AUTH PLAIN on this connection.
    auth: Option<(String, String)>,
}

#[derive(Debug, Default)]
struct Seen {
    connections: usize,
    /// Every command line, in order, over all connections.
    commands: Vec<String>,
    transactions: Vec<Transaction>,
}

/// An SMTP server on 127.0.0.1 that speaks just enough of the protocol for lettre: no STARTTLS,
/// AUTH PLAIN, one or more transactions per connection.
struct SmtpServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

impl SmtpServer {
    async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                lock(&shared).connections += 1;
                tokio::spawn(session(stream, script, Arc::clone(&shared)));
            }
        });
        Self { addr, seen }
    }

    /// Settings pointing at this server, unencrypted and without credentials.
    fn config(&self) -> SmtpConfig {
        local_config(self.addr.port())
    }

    fn transactions(&self) -> Vec<Transaction> {
        lock(&self.seen).transactions.clone()
    }

    fn commands(&self) -> Vec<String> {
        lock(&self.seen).commands.clone()
    }

    fn connections(&self) -> usize {
        lock(&self.seen).connections
    }

    /// The only transaction received; fails the test unless there is exactly one.
    fn single(&self) -> Transaction {
        let transactions = self.transactions();
        assert_eq!(transactions.len(), 1, "{transactions:#?}");
        transactions.into_iter().next().unwrap()
    }
}

/// Settings for an unencrypted server on 127.0.0.1:`port`, without credentials.
fn local_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        enabled: true,
        tls: SmtpTls::None,
        host: "127.0.0.1".into(),
        port,
        username: String::new(),
        password: None,
        from_email: "noreply@a-iq-test.com".into(),
        from_name: "AIQ Support".into(),
    }
}

fn lock(seen: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn session(stream: TcpStream, script: Script, seen: Arc<Mutex<Seen>>) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    if script == Script::Silent {
        // Hold the connection open until the client gives up.
        let mut sink = Vec::new();
        reader.read_to_end(&mut sink).await?;
        return Ok(());
    }
    write.write_all(b"220 fixture ESMTP ready\r\n").await?;
    let mut auth = None;
    let mut current = Transaction::default();
    while let Some(line) = read_line(&mut reader).await? {
        lock(&seen).commands.push(line.clone());
        let verb = line.to_ascii_uppercase();
        let reply = if verb.starts_with("EHLO") || verb.starts_with("HELO") {
            "250-fixture greets you\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SIZE 1048576\r\n"
        } else if verb.starts_with("AUTH PLAIN") {
            let mut payload = line["AUTH PLAIN".len()..].trim().to_owned();
            if payload.is_empty() {
                write.write_all(b"334 \r\n").await?;
                payload = read_line(&mut reader).await?.unwrap_or_default();
            }
            auth = Some(decode_plain(&payload));
            "235 2.7.0 authenticated\r\n"
        } else if verb.starts_with("MAIL FROM:") {
            current = Transaction {
                mail_from: between_angles(&line),
                auth: auth.clone(),
                ..Transaction::default()
            };
            "250 2.1.0 ok\r\n"
        } else if verb.starts_with("RCPT TO:") {
            if script == Script::RejectRecipients {
                "550 5.1.1 mailbox unavailable\r\n"
            } else {
                current.rcpt_to.push(between_angles(&line));
                "250 2.1.5 ok\r\n"
            }
        } else if verb == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            current.data = read_data(&mut reader).await?;
            lock(&seen).transactions.push(std::mem::take(&mut current));
            "250 2.0.0 queued\r\n"
        } else if verb == "RSET" {
            current = Transaction::default();
            "250 2.0.0 ok\r\n"
        } else if verb == "NOOP" {
            "250 2.0.0 ok\r\n"
        } else if verb == "QUIT" {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            "502 5.5.2 command not recognized\r\n"
        };
        write.write_all(reply.as_bytes()).await?;
    }
    Ok(())
}

/// One line without its line ending; `None` at the end of the stream. Bytes that are not UTF-8
/// (a TLS hello) are replaced, not fatal.
async fn read_line(reader: &mut (impl AsyncBufRead + Unpin)) -> io::Result<Option<String>> {
    let mut raw = Vec::new();
    if reader.read_until(b'\n', &mut raw).await? == 0 {
        return Ok(None);
    }
    let line = String::from_utf8_lossy(&raw);
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

/// The DATA section up to the lone `.`, with the transparency dots removed (RFC 5321 4.5.2).
async fn read_data(reader: &mut (impl AsyncBufRead + Unpin)) -> io::Result<String> {
    let mut data = Vec::new();
    loop {
        let mut raw = Vec::new();
        if reader.read_until(b'\n', &mut raw).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if raw == b".\r\n" {
            break;
        }
        let unstuffed = raw.strip_prefix(b".").unwrap_or(&raw);
        data.extend_from_slice(unstuffed);
    }
    Ok(String::from_utf8(data).expect("the message is sent as UTF-8/ASCII"))
}

fn between_angles(line: &str) -> String {
    let start = line.find('<').expect("an address in angle brackets") + 1;
    let end = line[start..].find('>').expect("a closing bracket") + start;
    line[start..end].to_owned()
}

/// `base64("\0user\0password")` (RFC 4616) -> (user, password).
fn decode_plain(payload: &str) -> (String, String) {
    let raw = BASE64
        .decode(payload.trim())
        .expect("AUTH PLAIN payload is base64");
    let text = String::from_utf8(raw).expect("credentials are UTF-8");
    let mut parts = text.split('\0');
    let _authzid = parts.next();
    let user = parts.next().expect("a user name").to_owned();
    let password = parts.next().expect("a password").to_owned();
    (user, password)
}

// ---------------------------------------------------------------------------------------------
// Reading the received message

/// A received message, split into unfolded headers and a decoded body.
#[derive(Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn parse(data: &str) -> Self {
        let (head, raw_body) = data
            .split_once("\r\n\r\n")
            .expect("headers end with an empty line");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                let (_, value) = headers.last_mut().expect("a continuation follows a header");
                value.push_str(line);
            } else {
                let (name, value) = line.split_once(':').expect("a header line has a colon");
                headers.push((name.to_owned(), value.trim_start().to_owned()));
            }
        }
        let mut received = Self {
            headers,
            body: String::new(),
        };
        let encoding = received
            .header("Content-Transfer-Encoding")
            .unwrap_or("7bit")
            .to_ascii_lowercase();
        received.body = match encoding.as_str() {
            "7bit" | "8bit" => raw_body.to_owned(),
            "quoted-printable" => decode_quoted_printable(raw_body),
            "base64" => {
                let compact: String = raw_body.split_whitespace().collect();
                String::from_utf8(BASE64.decode(compact).unwrap()).unwrap()
            }
            other => panic!("unexpected Content-Transfer-Encoding {other}"),
        };
        received
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A header with its RFC 2047 encoded words decoded.
    fn decoded_header(&self, name: &str) -> String {
        decode_encoded_words(
            self.header(name)
                .unwrap_or_else(|| panic!("no {name} header")),
        )
    }

    /// A single-mailbox header (`Name <address>`) as its decoded, unquoted display name and its
    /// address.
    fn mailbox(&self, name: &str) -> (String, String) {
        let value = self
            .header(name)
            .unwrap_or_else(|| panic!("no {name} header"));
        let (display, rest) = value.split_once('<').expect("an address in angle brackets");
        let address = rest
            .strip_suffix('>')
            .expect("a closing bracket")
            .to_owned();
        let display = display.trim();
        let display = match display.strip_prefix('"').and_then(|d| d.strip_suffix('"')) {
            Some(quoted) => {
                // Undo quoted-pair escapes: `\x` stands for `x`.
                let mut chars = quoted.chars();
                let mut unquoted = String::new();
                while let Some(c) = chars.next() {
                    unquoted.push(if c == '\\' { chars.next().unwrap() } else { c });
                }
                unquoted
            }
            None => decode_encoded_words(display),
        };
        (display, address)
    }

    /// The body with CRLF line endings turned back into `\n`.
    fn text(&self) -> String {
        self.body.replace("\r\n", "\n")
    }
}

fn decode_quoted_printable(encoded: &str) -> String {
    let mut out = Vec::new();
    let bytes = encoded.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Decodes `=?utf-8?b?...?=` words; whitespace between two encoded words is dropped (RFC 2047 6.2).
fn decode_encoded_words(value: &str) -> String {
    let mut out = String::new();
    let mut previous_was_encoded = false;
    for (index, word) in value.split_whitespace().enumerate() {
        let encoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                Some((parts.next()?, parts.next()?, parts.next()?))
            });
        match encoded {
            Some((charset, encoding, text)) => {
                assert!(charset.eq_ignore_ascii_case("utf-8"), "charset {charset}");
                assert!(encoding.eq_ignore_ascii_case("b"), "encoding {encoding}");
                if index > 0 && !previous_was_encoded {
                    out.push(' ');
                }
                out.push_str(&String::from_utf8(BASE64.decode(text).unwrap()).unwrap());
                previous_was_encoded = true;
            }
            None => {
                if index > 0 {
                    out.push(' ');
                }
                out.push_str(word);
                previous_was_encoded = false;
            }
        }
    }
    out
}

fn reset_message(to: &str) -> Message {
    Message {
        to: to.into(),
        subject: "Reset your AIQ password".into(),
        text_body: format!(
            "Hello,\n\nOpen this link to choose a new password:\n{RESET_LINK}\n\n\
             .a line starting with a dot\n.\nThe link expires in one hour.\n"
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// SmtpMailer

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

    let started = Instant::now();
    let err = mailer
        .send(reset_message("alice@example.com"))
        .await
        .unwrap_err();

    assert!(started.elapsed() < SmtpMailer::DEFAULT_TIMEOUT);
    assert!(
        matches!(err, MailError::Unavailable(_) | MailError::Timeout(_)),
        "{err:?}"
    );
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

// ---------------------------------------------------------------------------------------------
// LogMailer

/// Sends `message` through a `LogMailer` for `environment` and returns what it logged.
async fn log_of(environment: &str, message: Message) -> (Result<(), MailError>, String) {
    let captured = support::logs::Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    // `#[tokio::test]` runs on the current thread, so the thread's default sees every event.
    let guard = tracing::subscriber::set_default(subscriber);
    let result = LogMailer::new(&Environment::new(environment))
        .send(message)
        .await;
    drop(guard);
    (result, captured.text())
}

#[tokio::test]
async fn log_mailer_logs_the_body_outside_production() {
    let (result, log) = log_of("development", reset_message("alice@example.com")).await;

    result.unwrap();
    assert_eq!(
        log.lines().filter(|l| l.contains("INFO")).count(),
        1,
        "{log}"
    );
    assert!(log.contains("ali***@example.com"), "{log}");
    assert!(!log.contains("alice@example.com"), "{log}");
    assert!(log.contains("Reset your AIQ password"), "{log}");
    assert!(log.contains(RESET_LINK), "{log}");
}

#[tokio::test]
async fn log_mailer_never_logs_the_body_in_production() {
    for environment in ["production", "Production"] {
        let (result, log) = log_of(environment, reset_message("alice@example.com")).await;

        result.unwrap();
        assert_eq!(
            log.lines().filter(|l| l.contains("INFO")).count(),
            1,
            "{log}"
        );
        assert!(log.contains("ali***@example.com"), "{log}");
        assert!(log.contains("Reset your AIQ password"), "{log}");
        assert!(!log.contains("Zm9vYmFy-s3cr3t"), "{log}");
        assert!(!log.contains("Open this link"), "{log}");
    }
}

#[tokio::test]
async fn log_mailer_refuses_what_smtp_would_refuse() {
    let (result, log) = log_of("development", reset_message("not an address")).await;

    assert!(
        matches!(result, Err(MailError::InvalidRecipient)),
        "{result:?}"
    );
    assert!(!log.contains("token="), "{log}");
}

#[test]
fn message_debug_leaves_the_body_out() {
    let message = reset_message("alice@example.com");

    let shown = format!("{message:?} {message:#?}");

    assert!(!shown.contains("Zm9vYmFy-s3cr3t"), "{shown}");
    assert!(!shown.contains("Open this link"), "{shown}");
    assert!(!shown.contains("alice@example.com"), "{shown}");
    assert!(shown.contains("Reset your AIQ password"), "{shown}");
}
