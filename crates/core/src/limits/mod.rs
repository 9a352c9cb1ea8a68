//! Limits on how often a client may call the routes that cost the most:
//! sign-in (password hashing, password guessing) and upload (storage).
//!
//! The limits are fixed windows counted in the `rate_limits` table of the
//! default database, which every instance of every component shares; see
//! [`rate_limit`] for why a table and not the key-value store.

mod rate_limit;

pub use rate_limit::{check, client_ip, RateLimit};

use crate::error::ApiError;
use crate::services::Services;

/// The window of every limit below.
const MINUTE_SECS: i64 = 60;

/// Counts one sign-in attempt against the limit per client address and
/// the limit per username (case-insensitive), both
/// `login_limit_per_minute`. The username limit slows guessing one
/// account's password from many addresses.
pub fn check_login(
    services: &Services,
    client_addr: Option<&str>,
    username: &str,
) -> Result<(), ApiError> {
    let max_requests = services.config.login_limit_per_minute;
    if let Some(address) = client_addr {
        let per_address = RateLimit {
            scope: "login-address",
            max_requests,
            window_secs: MINUTE_SECS,
        };
        check(services, per_address, client_ip(address))?;
    }

    let per_username = RateLimit {
        scope: "login-username",
        max_requests,
        window_secs: MINUTE_SECS,
    };
    check(services, per_username, &username.to_lowercase())
}

/// Counts one upload by user `user_id` against `upload_limit_per_minute`.
/// Every attempt counts, including ones that later fail, because each
/// one makes the service read and store a body.
pub fn check_upload(services: &Services, user_id: &str) -> Result<(), ApiError> {
    let per_user = RateLimit {
        scope: "upload-user",
        max_requests: services.config.upload_limit_per_minute,
        window_secs: MINUTE_SECS,
    };
    check(services, per_user, user_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestEnv;

    #[test]
    fn login_limit_comes_from_config() {
        let mut env = TestEnv::new();
        env.config.login_limit_per_minute = 2;
        let services = env.services();

        check_login(&services, Some("198.51.100.1:1000"), "a").unwrap();
        check_login(&services, Some("198.51.100.1:1001"), "b").unwrap();
        let error = check_login(&services, Some("198.51.100.1:1002"), "c").unwrap_err();

        assert_eq!(error.status(), 429);
    }

    #[test]
    fn login_limit_per_username_ignores_case_and_address() {
        let env = TestEnv::new();
        let services = env.services();
        for index in 0..5 {
            let address = format!("198.51.100.{index}:1000");
            check_login(&services, Some(&address), "Alice").unwrap();
        }

        let error = check_login(&services, Some("198.51.100.9:1000"), "ALICE").unwrap_err();

        assert_eq!(error.status(), 429);
    }

    #[test]
    fn eleventh_upload_in_a_minute_is_limited() {
        let env = TestEnv::new();
        let services = env.services();
        for _ in 0..10 {
            check_upload(&services, "user-1").unwrap();
        }

        assert_eq!(check_upload(&services, "user-1").unwrap_err().status(), 429);
        assert!(check_upload(&services, "user-2").is_ok());
    }
}
