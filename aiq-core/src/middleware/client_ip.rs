//! Who is on the other end of a request, by network address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::{Extensions, HeaderMap, HeaderName};

/// The client's address: the first address of `trusted_header` (`RATE_LIMIT_TRUSTED_IP_HEADER`,
/// set by a proxy in front of the service) when configured and well-formed, else the peer of the
/// connection (`ConnectInfo<SocketAddr>`, which [`crate::AiqService::serve`] records).
///
/// ```
/// use std::net::IpAddr;
/// use http::{Extensions, HeaderMap, HeaderName};
/// use aiq_core::middleware::client_ip;
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "203.0.113.9, 10.0.0.1".parse().unwrap());
/// let trusted = HeaderName::from_static("x-forwarded-for");
/// let ip = client_ip(&headers, &Extensions::new(), Some(&trusted));
/// assert_eq!(ip, Some("203.0.113.9".parse::<IpAddr>().unwrap()));
/// assert_eq!(client_ip(&headers, &Extensions::new(), None), None);
/// ```
pub fn client_ip(
    headers: &HeaderMap,
    extensions: &Extensions,
    trusted_header: Option<&HeaderName>,
) -> Option<IpAddr> {
    let from_header = trusted_header.and_then(|name| {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .split(',')
            .next()?
            .trim()
            .parse::<IpAddr>()
            .ok()
    });
    from_header.or_else(|| {
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
    })
}
