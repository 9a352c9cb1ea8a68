//! Signing in when the login rate limit may be reached.

use std::time::{Duration, Instant};

use crate::client::{Client, Response};

/// The longest wait for the login rate limit: one window of 60 s plus
/// slack.
const LOGIN_RETRY_LIMIT: Duration = Duration::from_secs(65);

/// Sends POST /auth/login and returns the response. A 429 is retried after
/// its Retry-After for up to 65 s, for tests that sign in more often than
/// the limit (5 per minute from one address by default) allows.
pub fn login_with_retry(client: &Client, username: &str, password: &str) -> Response {
    let started = Instant::now();
    loop {
        let response = client.try_login(username, password);
        if response.status != 429 || started.elapsed() > LOGIN_RETRY_LIMIT {
            return response;
        }
        let seconds: u64 = response
            .header("retry-after")
            .and_then(|value| value.parse().ok())
            .unwrap_or(1);
        std::thread::sleep(Duration::from_secs(seconds));
    }
}
