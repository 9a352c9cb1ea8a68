//! Fixed-window rate limits kept in the key-value store, so that every
//! instance of a component shares them.
//!
//! Each limited subject has one key, `ratelimit:<scope>:<SHA-256 of the
//! subject, hex>`, holding the current window's start and count. Hashing
//! bounds the key length and keeps usernames and addresses out of key
//! names.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::services::Services;

/// A limit of `max_requests` per `window_secs` for one kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub scope: &'static str,
    pub max_requests: u32,
    pub window_secs: i64,
}

/// Sign-in attempts per client address.
pub const LOGIN_PER_ADDRESS: RateLimit = RateLimit {
    scope: "login-address",
    max_requests: 5,
    window_secs: 60,
};

/// Sign-in attempts per username, which slows guessing one account's
/// password from many addresses.
pub const LOGIN_PER_USERNAME: RateLimit = RateLimit {
    scope: "login-username",
    max_requests: 5,
    window_secs: 60,
};

#[derive(Debug, Serialize, Deserialize)]
struct Window {
    start: i64,
    count: u32,
}

/// Counts one request by `subject` and returns
/// [`ApiError::TooManyRequests`] when the window already contains
/// `max_requests`. A rejected request is not counted, so a client that
/// keeps retrying is admitted again when the window ends.
///
/// NOTE: the read and the write are separate key-value calls, because
/// Spin's key-value interface has no atomic increment, so concurrent
/// requests can exceed the limit by the number of instances racing.
/// TODO: delete keys of finished windows once the key-value trait can list
/// keys; until then each distinct subject leaves one small key behind.
pub fn check(services: &Services, limit: RateLimit, subject: &str) -> Result<(), ApiError> {
    let key = format!(
        "ratelimit:{}:{}",
        limit.scope,
        hex::encode(Sha256::digest(subject.as_bytes()))
    );
    let now = services.clock.now_millis();
    let window_millis = limit.window_secs * 1000;
    let current_start = now - now.rem_euclid(window_millis);

    let stored = services
        .kv
        .get(&key)?
        .and_then(|bytes| serde_json::from_slice::<Window>(&bytes).ok())
        .filter(|window| window.start == current_start);
    let count = stored.map_or(0, |window| window.count);

    if count >= limit.max_requests {
        let retry_after_millis = current_start + window_millis - now;
        return Err(ApiError::TooManyRequests {
            retry_after_secs: (retry_after_millis as u64).div_ceil(1000).max(1),
        });
    }

    let window = Window {
        start: current_start,
        count: count + 1,
    };
    let value = serde_json::to_vec(&window).map_err(|error| {
        ApiError::internal(format!("failed to encode a rate-limit window: {error}"))
    })?;
    services.kv.set(&key, &value)?;
    Ok(())
}

/// Returns the address part of `spin-client-addr` (`ip:port` or
/// `[ipv6]:port`), so that a client's connections share one limit.
pub fn client_ip(client_addr: &str) -> &str {
    if let Some(rest) = client_addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match client_addr.rsplit_once(':') {
        // A bare IPv6 address without port contains several colons.
        Some((ip, _)) if !ip.contains(':') => ip,
        _ => client_addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestEnv;

    const LIMIT: RateLimit = RateLimit {
        scope: "test",
        max_requests: 3,
        window_secs: 60,
    };

    #[test]
    fn requests_beyond_limit_are_rejected() {
        let env = TestEnv::new();
        let services = env.services();
        for _ in 0..3 {
            check(&services, LIMIT, "203.0.113.7").unwrap();
        }

        let error = check(&services, LIMIT, "203.0.113.7").unwrap_err();

        assert_eq!(error.status(), 429);
        assert_eq!(
            error,
            ApiError::TooManyRequests {
                retry_after_secs: 60
            }
        );
    }

    #[test]
    fn retry_after_counts_down_to_window_end() {
        let env = TestEnv::new();
        let services = env.services();
        env.clock.advance_secs(15);
        for _ in 0..3 {
            check(&services, LIMIT, "a").unwrap();
        }

        let error = check(&services, LIMIT, "a").unwrap_err();

        assert_eq!(
            error,
            ApiError::TooManyRequests {
                retry_after_secs: 45
            }
        );
    }

    #[test]
    fn new_window_admits_again() {
        let env = TestEnv::new();
        let services = env.services();
        for _ in 0..3 {
            check(&services, LIMIT, "a").unwrap();
        }

        env.clock.advance_secs(60);

        assert!(check(&services, LIMIT, "a").is_ok());
    }

    #[test]
    fn subjects_are_limited_separately() {
        let env = TestEnv::new();
        let services = env.services();
        for _ in 0..3 {
            check(&services, LIMIT, "a").unwrap();
        }

        assert!(check(&services, LIMIT, "b").is_ok());
    }

    #[test]
    fn key_does_not_contain_subject() {
        let env = TestEnv::new();
        check(&env.services(), LIMIT, "alice").unwrap();

        let keys = env.kv.keys();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].starts_with("ratelimit:test:"));
        assert!(!keys[0].contains("alice"));
    }

    #[test]
    fn client_ip_drops_port() {
        assert_eq!(client_ip("203.0.113.7:51234"), "203.0.113.7");
        assert_eq!(client_ip("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(client_ip("2001:db8::1"), "2001:db8::1");
        assert_eq!(client_ip("203.0.113.7"), "203.0.113.7");
    }
}
