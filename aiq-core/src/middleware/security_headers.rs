//! The security headers of the deployment guide, set on every response.
//!
//! The API's Content-Security-Policy forbids scripts, which is right for JSON but would break
//! the bundled Swagger UI; the docs pages get a policy that allows only this origin's own scripts
//! and styles, so they still load nothing from elsewhere.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::Config;

const API_CSP: &str = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests";
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";
const HSTS: &str = "max-age=31536000; includeSubDomains; preload";

#[derive(Debug, Clone)]
pub(super) struct SecurityHeaders(Arc<Settings>);

#[derive(Debug)]
struct Settings {
    hsts: bool,
    docs_path: String,
}

impl SecurityHeaders {
    pub(super) fn new(config: &Config) -> Self {
        Self(Arc::new(Settings {
            hsts: config.app.environment.is_production(),
            docs_path: crate::api::docs_path(&config.app.api_prefix),
        }))
    }
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

impl SecurityHeaders {
    /// Whether `path` is one of the docs pages (which get their own Content-Security-Policy).
    pub(super) fn is_docs(&self, path: &str) -> bool {
        path.starts_with(&self.0.docs_path)
    }

    /// Sets the headers on a response; `docs` as answered by [`is_docs`](Self::is_docs).
    pub(super) fn apply(&self, headers: &mut HeaderMap, docs: bool) {
        // Room for all of them (and the request id and timing) at once, not one growth each.
        headers.reserve(11);
        set(headers, header::X_FRAME_OPTIONS, "DENY");
        set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        set(headers, header::X_XSS_PROTECTION, "1; mode=block");
        set(
            headers,
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin",
        );
        set(
            headers,
            HeaderName::from_static("permissions-policy"),
            "geolocation=(), microphone=(), camera=(), payment=(), usb=()",
        );
        set(
            headers,
            header::CONTENT_SECURITY_POLICY,
            if docs { DOCS_CSP } else { API_CSP },
        );
        set(
            headers,
            HeaderName::from_static("x-permitted-cross-domain-policies"),
            "none",
        );
        if self.0.hsts {
            set(headers, header::STRICT_TRANSPORT_SECURITY, HSTS);
        }
    }
}
