//! Request ids and processing time.
//!
//! A client's `X-Request-ID` is kept when it is short and plain (letters, digits, `-_.:`), so
//! ids can be followed across services; anything else is replaced by a new uuid, which keeps
//! log lines and headers free of injected text.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The `X-Request-ID` header.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_PROCESS_TIME: HeaderName = HeaderName::from_static("x-process-time");

/// The id of the request being served, as a request extension.
///
/// ```
/// use aiq_core::middleware::RequestId;
/// async fn handler(axum::Extension(id): axum::Extension<RequestId>) -> String {
///     id.as_str().to_owned()
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The id as sent in `X-Request-ID`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Gives the request its id (header and [`RequestId`] extension) and returns the header value
/// to send back.
pub(super) fn assign(req: &mut Request) -> HeaderValue {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let value = HeaderValue::from_str(&id).expect("a sane request id is a valid header value");
    req.headers_mut().insert(X_REQUEST_ID, value.clone());
    req.extensions_mut().insert(RequestId(id));
    value
}

/// Sets `X-Request-ID` and `X-Process-Time` (seconds since `started`, four decimals) on a
/// response.
pub(super) fn answer(headers: &mut HeaderMap, id: HeaderValue, started: Instant) {
    headers.insert(X_REQUEST_ID, id);
    // Whole tenths of milliseconds, rounded, written with integer formatting (cheaper than
    // formatting the float).
    let tenths = (started.elapsed().as_micros() + 50) / 100;
    let text = format!("{}.{:04}", tenths / 10_000, tenths % 10_000);
    if let Ok(elapsed) = HeaderValue::from_maybe_shared(bytes::Bytes::from(text)) {
        headers.insert(X_PROCESS_TIME, elapsed);
    }
}

#[cfg(test)]
mod tests {
    use super::is_sane;

    #[test]
    fn sane_ids() {
        assert!(is_sane("3f2c1a9e-1b2c-4d5e-8f90-123456789abc"));
        assert!(is_sane("trace:abc.def_1"));
        assert!(!is_sane(""));
        assert!(!is_sane("<script>"));
        assert!(!is_sane("a b"));
        assert!(!is_sane(&"a".repeat(129)));
    }
}
