//! The security headers of the deployment guide, set on every response.
//!
//! The API's Content-Security-Policy forbids scripts, which is right for JSON but would break
//! the bundled Swagger UI; the docs pages get a policy that allows only this origin's own scripts
//! and styles, so they still load nothing from elsewhere.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::Config;

// Built at compile time: `from_static` checks every byte, which per response adds up.
const API_CSP: HeaderValue = HeaderValue::from_static(
    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests",
);
const DOCS_CSP: HeaderValue = HeaderValue::from_static(
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'",
);
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000; includeSubDomains; preload");
const PERMISSIONS_POLICY: HeaderName = HeaderName::from_static("permissions-policy");
const X_PERMITTED_CROSS_DOMAIN_POLICIES: HeaderName =
    HeaderName::from_static("x-permitted-cross-domain-policies");
/// The headers every response gets, whatever the path and environment.
const ALWAYS: [(HeaderName, HeaderValue); 6] = [
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (
        header::X_XSS_PROTECTION,
        HeaderValue::from_static("1; mode=block"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    ),
    (
        PERMISSIONS_POLICY,
        HeaderValue::from_static("geolocation=(), microphone=(), camera=(), payment=(), usb=()"),
    ),
    (
        X_PERMITTED_CROSS_DOMAIN_POLICIES,
        HeaderValue::from_static("none"),
    ),
];

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

impl SecurityHeaders {
    /// Whether `path` is one of the docs pages (which get their own Content-Security-Policy).
    pub(super) fn is_docs(&self, path: &str) -> bool {
        path.starts_with(&self.0.docs_path)
    }

    /// Sets the headers on a response; `docs` as answered by [`is_docs`](Self::is_docs).
    pub(super) fn apply(&self, headers: &mut HeaderMap, docs: bool) {
        for (name, value) in ALWAYS {
            headers.insert(name, value);
        }
        // Routes merged beside the API (the admin dashboard) bring their own policy.
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(if docs { DOCS_CSP } else { API_CSP });
        if self.0.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
        }
    }
}
