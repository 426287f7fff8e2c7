//! The load generator: closed-loop HTTP/1.1 connections, each with one request in flight, for a
//! fixed time, recording every request's latency.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One kind of request, sent again and again.
#[derive(Clone, Debug)]
pub(crate) struct Shot {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) token: Option<String>,
    /// The operator's `X-Admin-Token`, for the admin API.
    pub(crate) admin_token: Option<String>,
    pub(crate) body: Option<Bytes>,
    /// The body's media type.
    pub(crate) content_type: &'static str,
    /// A `Cookie` header (the admin dashboard's session).
    pub(crate) cookie: Option<String>,
    /// The status every answer must have; anything else counts as an error.
    pub(crate) expect: StatusCode,
}

impl Shot {
    /// `GET path`, expecting 200.
    pub(crate) fn get(path: &str) -> Self {
        Self {
            method: Method::GET,
            path: path.to_owned(),
            token: None,
            admin_token: None,
            body: None,
            content_type: "application/json",
            cookie: None,
            expect: StatusCode::OK,
        }
    }

    /// `POST path` with a JSON body, expecting 200.
    pub(crate) fn post(path: &str, body: &serde_json::Value) -> Self {
        Self {
            method: Method::POST,
            body: Some(Bytes::from(body.to_string())),
            ..Self::get(path)
        }
    }

    /// `POST path` with a form body (`application/x-www-form-urlencoded`), expecting 200.
    pub(crate) fn form(path: &str, fields: &[(&str, &str)]) -> Self {
        Self {
            method: Method::POST,
            body: Some(Bytes::from(
                serde_urlencoded::to_string(fields).unwrap_or_default(),
            )),
            content_type: "application/x-www-form-urlencoded",
            ..Self::get(path)
        }
    }

    /// The same request with a `Cookie` header.
    pub(crate) fn cookie(self, cookie: &str) -> Self {
        Self {
            cookie: Some(cookie.to_owned()),
            ..self
        }
    }

    /// The same request with a bearer token.
    pub(crate) fn bearer(self, token: &str) -> Self {
        Self {
            token: Some(format!("Bearer {token}")),
            ..self
        }
    }

    fn request(&self, host: &HeaderValue) -> Request<Full<Bytes>> {
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(self.path.as_str())
            .header(header::HOST, host);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, token);
        }
        if let Some(token) = &self.admin_token {
            request = request.header("x-admin-token", token);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        if self.body.is_some() {
            request = request.header(header::CONTENT_TYPE, self.content_type);
        }
        request
            .body(Full::new(self.body.clone().unwrap_or_default()))
            .expect("a request built from a valid path and headers")
    }
}

/// One open keep-alive connection to the server under test.
pub(crate) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl Connection {
    /// Connects to `address`.
    pub(crate) async fn open(address: SocketAddr) -> Result<Self, String> {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|error| format!("cannot connect to {address}: {error}"))?;
        stream
            .set_nodelay(true)
            .map_err(|error| error.to_string())?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| format!("HTTP handshake with {address} failed: {error}"))?;
        tokio::spawn(connection);
        let host = HeaderValue::from_str(&address.to_string()).map_err(|e| e.to_string())?;
        Ok(Self { sender, host })
    }

    /// Sends `shot` and reads the whole answer: its status and body.
    pub(crate) async fn send(&mut self, shot: &Shot) -> Result<(StatusCode, Bytes), String> {
        let (status, _, body) = self.exchange(shot).await?;
        Ok((status, body))
    }

    /// Sends `shot` and reads the whole answer: its status, headers and body.
    pub(crate) async fn exchange(
        &mut self,
        shot: &Shot,
    ) -> Result<(StatusCode, HeaderMap, Bytes), String> {
        // The connection takes the next request once it has finished with the last answer.
        self.sender
            .ready()
            .await
            .map_err(|error| format!("{} {}: {error}", shot.method, shot.path))?;
        let response = self
            .sender
            .send_request(shot.request(&self.host))
            .await
            .map_err(|error| format!("{} {}: {error}", shot.method, shot.path))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|error| format!("{} {}: {error}", shot.method, shot.path))?
            .to_bytes();
        Ok((parts.status, parts.headers, body))
    }

    /// Sends `shot` and reads the answer's body, which must come with the expected status.
    pub(crate) async fn checked(&mut self, shot: &Shot) -> Result<Bytes, String> {
        let (status, body) = self.send(shot).await?;
        if status != shot.expect {
            return Err(format!(
                "{} {} answered {status}: {}",
                shot.method,
                shot.path,
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(body)
    }

    /// Sends `shot` and parses the JSON answer, which must have the expected status.
    pub(crate) async fn json(&mut self, shot: &Shot) -> Result<serde_json::Value, String> {
        let body = self.checked(shot).await?;
        serde_json::from_slice(&body).map_err(|error| format!("{}: {error}", shot.path))
    }
}

/// What one run measured.
#[derive(Debug, Default)]
pub(crate) struct Sample {
    /// Latency of every request that got an answer, in microseconds, sorted.
    pub(crate) micros: Vec<u32>,
    /// Answers with another status than expected, and requests that failed.
    pub(crate) errors: u64,
    /// The first error seen, to say what went wrong.
    pub(crate) first_error: Option<String>,
    pub(crate) elapsed: Duration,
}

impl Sample {
    /// Requests per second over the run.
    pub(crate) fn rate(&self) -> f64 {
        self.micros.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The `p`-quantile latency in milliseconds (`p` in 0..=1); 0 when nothing was measured.
    pub(crate) fn quantile_ms(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return 0.0;
        }
        let rank = ((self.micros.len() - 1) as f64 * p).round() as usize;
        f64::from(self.micros[rank]) / 1000.0
    }

    /// Adds what another run (or connection) measured.
    pub(crate) fn merge(&mut self, other: Self) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.elapsed = self.elapsed.max(other.elapsed);
    }

    /// Records one request that took `took` and answered as expected or not.
    pub(crate) fn record(&mut self, took: Duration, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self
                .micros
                .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX)),
            Err(error) => {
                self.errors += 1;
                self.first_error.get_or_insert(error);
            }
        }
    }

    fn sorted(mut self) -> Self {
        self.micros.sort_unstable();
        self
    }
}

/// Sends `shot` over `connections` connections, each sending its next request as soon as the
/// previous answer is read, for `duration`.
pub(crate) async fn flood(
    address: SocketAddr,
    shot: Shot,
    connections: usize,
    duration: Duration,
) -> Result<Sample, String> {
    let shot = Arc::new(shot);
    let mut opened = Vec::with_capacity(connections);
    for _ in 0..connections {
        opened.push(Connection::open(address).await?);
    }
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let workers: Vec<_> = opened
        .into_iter()
        .map(|mut connection| {
            let shot = Arc::clone(&shot);
            tokio::spawn(async move {
                let mut sample = Sample::default();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let outcome = match connection.send(&shot).await {
                        Ok((status, _)) if status == shot.expect => Ok(()),
                        Ok((status, body)) => Err(format!(
                            "{} {} answered {status}: {}",
                            shot.method,
                            shot.path,
                            String::from_utf8_lossy(&body)
                        )),
                        Err(error) => Err(error),
                    };
                    let failed = outcome.is_err();
                    sample.record(sent.elapsed(), outcome);
                    if failed && connection.sender.is_closed() {
                        break;
                    }
                }
                sample
            })
        })
        .collect();
    let mut total = Sample::default();
    for worker in workers {
        total.merge(worker.await.map_err(|error| error.to_string())?);
    }
    total.elapsed = started.elapsed();
    Ok(total.sorted())
}

/// Sends `shot` on one connection, one request after another, until `stop` resolves.
pub(crate) async fn probe(
    address: SocketAddr,
    shot: Shot,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> Result<Sample, String> {
    let mut connection = Connection::open(address).await?;
    let started = Instant::now();
    let mut sample = Sample::default();
    tokio::pin!(stop);
    loop {
        let sent = Instant::now();
        tokio::select! {
            _ = &mut stop => break,
            answer = connection.send(&shot) => {
                let outcome = match answer {
                    Ok((status, _)) if status == shot.expect => Ok(()),
                    Ok((status, _)) => Err(format!("{} answered {status}", shot.path)),
                    Err(error) => Err(error),
                };
                sample.record(sent.elapsed(), outcome);
            }
        }
    }
    sample.elapsed = started.elapsed();
    Ok(sample.sorted())
}

/// Times one step of a sequence (start, then submit, ...) into `sample`, returning the
/// answer's body when it had the expected status.
pub(crate) async fn timed(
    connection: &mut Connection,
    shot: &Shot,
    sample: &mut Sample,
) -> Option<Bytes> {
    let sent = Instant::now();
    match connection.checked(shot).await {
        Ok(answer) => {
            sample.record(sent.elapsed(), Ok(()));
            Some(answer)
        }
        Err(error) => {
            sample.record(sent.elapsed(), Err(error));
            None
        }
    }
}

/// Sorts a sample assembled by [`timed`] steps.
pub(crate) fn finish(sample: Sample, started: Instant) -> Sample {
    Sample {
        elapsed: started.elapsed(),
        ..sample
    }
    .sorted()
}
