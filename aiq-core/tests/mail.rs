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

// `SmtpMailer` against the server below.
#[path = "mail/smtp_mailer.rs"]
mod smtp_mailer;

// `LogMailer` against a captured log.
#[path = "mail/log_mailer.rs"]
mod log_mailer;

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
