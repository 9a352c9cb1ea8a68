//! `allowed_outbound_hosts` checks.
//!
//! An entry is `scheme://host[:port]`, where the scheme, the host and the
//! port may each be `*`, the host may be `*.domain` for any subdomain, and
//! the port may be a range `low..high` (high exclusive) or `low..=high`.
//! Without a port, the scheme's default port applies (6379 for `redis`,
//! 6380 for `rediss`). Entries and addresses may carry user information and a
//! path, such as `redis://:password@host:6379/0`; only scheme, host and port
//! are compared.

use anyhow::{anyhow, bail, Context, Result};

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Pattern,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Any,
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.example.com`: any subdomain of the stored suffix `example.com`.
    Subdomain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    /// Inclusive range.
    Range(u16, u16),
}

/// The scheme, host and port of an outbound address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "redis" => Some(6379),
        "rediss" => Some(6380),
        "http" => Some(80),
        "https" => Some(443),
        "mysql" => Some(3306),
        "postgres" => Some(5432),
        "mqtt" => Some(1883),
        _ => None,
    }
}

/// Splits `scheme://[userinfo@]authority[/path]` into scheme and authority.
fn split_url(text: &str) -> Result<(&str, &str)> {
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| anyhow!("missing scheme (expected scheme://host:port)"))?;
    if scheme.is_empty() {
        bail!("empty scheme");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = match authority.rsplit_once('@') {
        Some((_userinfo, host)) => host,
        None => authority,
    };
    if authority.is_empty() {
        bail!("missing host");
    }
    Ok((scheme, authority))
}

/// Splits `host[:port]`, keeping IPv6 literals such as `[::1]:6379` intact.
fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        if let Some(end) = authority.find(']') {
            let host = &authority[..=end];
            let port = authority[end + 1..].strip_prefix(':');
            return (host, port);
        }
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

impl AllowedHost {
    /// Parses one `allowed_outbound_hosts` entry (after template expansion).
    pub fn parse(entry: &str) -> Result<Self> {
        Self::parse_inner(entry)
            .with_context(|| format!("invalid allowed_outbound_hosts entry {entry:?}"))
    }

    fn parse_inner(entry: &str) -> Result<Self> {
        let (scheme, authority) = split_url(entry)?;
        let (host, port) = split_host_port(authority);
        let scheme_pattern = if scheme == "*" {
            Pattern::Any
        } else {
            Pattern::Exact(scheme.to_ascii_lowercase())
        };
        let host = host.to_ascii_lowercase();
        let host_pattern = if host == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            HostPattern::Subdomain(suffix.to_string())
        } else if host.contains('*') {
            bail!("a host wildcard must be '*' or '*.domain'");
        } else {
            HostPattern::Exact(host)
        };
        let port_pattern = match port {
            Some("*") => PortPattern::Any,
            Some(port) => parse_port_range(port)?,
            None => {
                let scheme = match &scheme_pattern {
                    Pattern::Exact(s) => s.as_str(),
                    Pattern::Any => bail!("a port is required when the scheme is '*'"),
                };
                let port = default_port(scheme).ok_or_else(|| {
                    anyhow!("a port is required: scheme {scheme:?} has no default port")
                })?;
                PortPattern::Range(port, port)
            }
        };
        Ok(Self {
            scheme: scheme_pattern,
            host: host_pattern,
            port: port_pattern,
        })
    }

    /// Returns true if this entry allows `address`.
    pub fn allows(&self, address: &Address) -> bool {
        let scheme_ok = match &self.scheme {
            Pattern::Any => true,
            Pattern::Exact(s) => *s == address.scheme,
        };
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => *h == address.host,
            HostPattern::Subdomain(suffix) => address
                .host
                .strip_suffix(suffix.as_str())
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Range(low, high) => (low..=high).contains(&address.port),
        };
        scheme_ok && host_ok && port_ok
    }
}

fn parse_port_range(text: &str) -> Result<PortPattern> {
    let parse = |s: &str| {
        s.parse::<u16>()
            .with_context(|| format!("invalid port {s:?}"))
    };
    if let Some((low, high)) = text.split_once("..=") {
        Ok(PortPattern::Range(parse(low)?, parse(high)?))
    } else if let Some((low, high)) = text.split_once("..") {
        let high = parse(high)?;
        if high == 0 {
            bail!("empty port range {text:?}");
        }
        Ok(PortPattern::Range(parse(low)?, high - 1))
    } else {
        let port = parse(text)?;
        Ok(PortPattern::Range(port, port))
    }
}

impl Address {
    /// Parses an outbound address such as `redis://user:pw@host:6379/0`.
    pub fn parse(address: &str) -> Result<Self> {
        let (scheme, authority) = split_url(address)?;
        let scheme = scheme.to_ascii_lowercase();
        let (host, port) = split_host_port(authority);
        let port = match port {
            Some(port) => port
                .parse::<u16>()
                .with_context(|| format!("invalid port {port:?}"))?,
            None => default_port(&scheme)
                .ok_or_else(|| anyhow!("missing port and scheme {scheme:?} has no default"))?,
        };
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// The parsed `allowed_outbound_hosts` of one component.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allowed: Vec<AllowedHost>,
}

impl OutboundPolicy {
    pub fn new(allowed: Vec<AllowedHost>) -> Self {
        Self { allowed }
    }

    /// Returns true if some entry allows `address`. Unparsable addresses are
    /// not allowed.
    pub fn allows(&self, address: &str) -> bool {
        match Address::parse(address) {
            Ok(address) => self.allowed.iter().any(|entry| entry.allows(&address)),
            Err(_) => false,
        }
    }
}

/// Returns `url` with any password replaced by `***`, for logging.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                format!("{scheme}://***@{host}{tail}")
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> OutboundPolicy {
        OutboundPolicy::new(
            entries
                .iter()
                .map(|entry| AllowedHost::parse(entry).unwrap())
                .collect(),
        )
    }

    #[test]
    fn exact_entry_allows_only_its_address() {
        let p = policy(&["redis://127.0.0.1:6379"]);
        assert!(p.allows("redis://127.0.0.1:6379"));
        assert!(p.allows("redis://127.0.0.1"));
        assert!(p.allows("redis://:secret@127.0.0.1:6379/0"));
        assert!(!p.allows("redis://127.0.0.1:6380"));
        assert!(!p.allows("redis://localhost:6379"));
        assert!(!p.allows("rediss://127.0.0.1:6379"));
        assert!(!p.allows("not a url"));
    }

    #[test]
    fn empty_policy_denies_everything() {
        let p = policy(&[]);
        assert!(!p.allows("redis://127.0.0.1:6379"));
    }

    #[test]
    fn wildcards_allow_matching_parts() {
        let p = policy(&["redis://*:*"]);
        assert!(p.allows("redis://example.com:1234"));
        assert!(!p.allows("http://example.com:1234"));

        let p = policy(&["*://cache.internal:6379"]);
        assert!(p.allows("redis://cache.internal:6379"));
        assert!(p.allows("rediss://cache.internal:6379"));

        let p = policy(&["redis://*.example.com:6379"]);
        assert!(p.allows("redis://a.example.com:6379"));
        assert!(p.allows("redis://a.b.example.com:6379"));
        assert!(!p.allows("redis://example.com:6379"));
        assert!(!p.allows("redis://badexample.com:6379"));
    }

    #[test]
    fn port_ranges_are_checked() {
        let p = policy(&["redis://localhost:6379..6381"]);
        assert!(p.allows("redis://localhost:6379"));
        assert!(p.allows("redis://localhost:6380"));
        assert!(!p.allows("redis://localhost:6381"));
        let p = policy(&["redis://localhost:6379..=6381"]);
        assert!(p.allows("redis://localhost:6381"));
    }

    #[test]
    fn ipv6_addresses_parse() {
        let p = policy(&["redis://[::1]:6379"]);
        assert!(p.allows("redis://[::1]:6379"));
        assert!(!p.allows("redis://[::1]:6380"));
    }

    #[test]
    fn invalid_entries_are_rejected() {
        assert!(AllowedHost::parse("127.0.0.1:6379").is_err());
        assert!(AllowedHost::parse("*://host").is_err());
        assert!(AllowedHost::parse("foo://host").is_err());
        assert!(AllowedHost::parse("redis://ho*st:1").is_err());
        assert!(AllowedHost::parse("redis://host:notaport").is_err());
    }

    #[test]
    fn redact_url_hides_password() {
        assert_eq!(
            redact_url("redis://user:pw@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(redact_url("redis://:pw@host:6379"), "redis://:***@host:6379");
        assert_eq!(redact_url("redis://token@host"), "redis://***@host");
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
    }
}
