//! The security headers of the deployment guide, set on every response.
//!
//! The API's Content-Security-Policy forbids scripts, which is right for JSON but would break
//! the bundled Swagger UI; the docs pages get a policy that allows only this origin's own scripts
//! and styles, so they still load nothing from elsewhere.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

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

pub(super) async fn security_headers(
    State(settings): State<SecurityHeaders>,
    req: Request,
    next: Next,
) -> Response {
    let docs = req.uri().path().starts_with(&settings.0.docs_path);
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
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
    // Routes merged beside the API (the admin dashboard) bring their own policy.
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(if docs {
            DOCS_CSP
        } else {
            API_CSP
        }));
    set(
        headers,
        HeaderName::from_static("x-permitted-cross-domain-policies"),
        "none",
    );
    if settings.0.hsts {
        set(headers, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}
