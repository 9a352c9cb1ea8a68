//! The same-origin check for cookie-authenticated requests that change
//! state.
//!
//! Browsers send `Origin` with every cross-origin request and with
//! same-origin POST, PUT, PATCH and DELETE requests. The service's own
//! origin is taken from the request itself: the `Host` header, and the
//! scheme of `spin-full-url` when the host sets it. A reverse proxy in
//! front of the service must therefore pass the client's `Host` through.

use crate::error::ApiError;
use crate::http::Request;

/// Rejects the request with [`ApiError::CrossSiteRequest`] when it carries
/// an `Origin` header that does not name this service. A request without
/// `Origin` passes, because non-browser clients do not send it and
/// browsers always do on the requests this check guards.
pub fn check_same_origin(request: &Request) -> Result<(), ApiError> {
    let Some(origin) = request.headers.get("origin") else {
        return Ok(());
    };

    if is_same_origin(request, origin.trim()) {
        Ok(())
    } else {
        Err(ApiError::CrossSiteRequest)
    }
}

fn is_same_origin(request: &Request, origin: &str) -> bool {
    // A sandboxed or privacy-sensitive context sends `Origin: null`.
    let Some((origin_scheme, origin_authority)) = origin.split_once("://") else {
        return false;
    };
    let origin_scheme = origin_scheme.to_ascii_lowercase();
    let Some(origin_authority) = Authority::parse(origin_authority, &origin_scheme) else {
        return false;
    };

    let own_scheme = match request.headers.get("spin-full-url") {
        Some(url) => match url.split_once("://") {
            Some((scheme, _)) => scheme.to_ascii_lowercase(),
            None => return false,
        },
        None => origin_scheme.clone(),
    };
    if own_scheme != origin_scheme {
        return false;
    }

    let Some(host) = request.headers.get("host") else {
        return false;
    };
    Authority::parse(host.trim(), &own_scheme) == Some(origin_authority)
}

/// A host and port, with the scheme's default port filled in.
#[derive(Debug, PartialEq, Eq)]
struct Authority {
    host: String,
    port: u16,
}

impl Authority {
    fn parse(value: &str, scheme: &str) -> Option<Authority> {
        if value.is_empty() || value.contains(['/', '@', '?', '#']) {
            return None;
        }

        let (host, port) = split_port(value)?;
        let port = match port {
            Some(port) => port.parse().ok()?,
            None => default_port(scheme)?,
        };
        Some(Authority {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// Splits `host[:port]`, where host may be a bracketed IPv6 address.
fn split_port(value: &str) -> Option<(&str, Option<&str>)> {
    if value.starts_with('[') {
        let end = value.find(']')?;
        let (host, rest) = value.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        };
    }
    match value.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((value, None)),
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn post(headers: &[(&str, &str)]) -> Request {
        headers.iter().fold(
            Request::new(Method::Post, "/files"),
            |request, (name, value)| request.with_header(name, *value),
        )
    }

    fn allowed(headers: &[(&str, &str)]) -> bool {
        check_same_origin(&post(headers)).is_ok()
    }

    #[test]
    fn request_without_origin_is_allowed() {
        assert!(allowed(&[("host", "files.example.com")]));
    }

    #[test]
    fn same_origin_is_allowed() {
        assert!(allowed(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ]));
        assert!(allowed(&[
            ("host", "Example.COM"),
            ("origin", "https://example.com")
        ]));
    }

    #[test]
    fn default_port_matches_missing_port() {
        assert!(allowed(&[
            ("host", "example.com:443"),
            ("origin", "https://example.com")
        ]));
        assert!(allowed(&[
            ("host", "example.com"),
            ("origin", "http://example.com:80")
        ]));
    }

    #[test]
    fn other_host_is_rejected() {
        let error = check_same_origin(&post(&[
            ("host", "stowage.example.com"),
            ("origin", "https://evil.example.net"),
        ]))
        .unwrap_err();
        assert_eq!(error, ApiError::CrossSiteRequest);
        assert_eq!(error.status(), 403);
        assert_eq!(error.code(), "cross_site_request");
    }

    #[test]
    fn other_port_is_rejected() {
        assert!(!allowed(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:4000")
        ]));
    }

    #[test]
    fn null_origin_is_rejected() {
        assert!(!allowed(&[("host", "127.0.0.1:3000"), ("origin", "null")]));
    }

    #[test]
    fn scheme_is_compared_when_full_url_is_known() {
        let host = ("host", "example.com");
        let full_url = ("spin-full-url", "https://example.com/files");
        assert!(allowed(&[
            host,
            full_url,
            ("origin", "https://example.com")
        ]));
        assert!(!allowed(&[
            host,
            full_url,
            ("origin", "http://example.com")
        ]));
    }

    #[test]
    fn origin_without_host_header_is_rejected() {
        assert!(!allowed(&[("origin", "http://127.0.0.1:3000")]));
    }

    #[test]
    fn ipv6_hosts_are_compared_with_ports() {
        assert!(allowed(&[
            ("host", "[::1]:3000"),
            ("origin", "http://[::1]:3000")
        ]));
        assert!(!allowed(&[
            ("host", "[::1]:3000"),
            ("origin", "http://[::1]:3001")
        ]));
    }

    #[test]
    fn origin_with_userinfo_or_path_is_rejected() {
        assert!(!allowed(&[
            ("host", "example.com"),
            ("origin", "http://a@example.com")
        ]));
        assert!(!allowed(&[
            ("host", "example.com"),
            ("origin", "http://example.com/x")
        ]));
    }
}
