//! Fixed-window rate limits counted in the `rate_limits` table.
//!
//! Each limited subject has one row keyed `<scope>:<SHA-256 of the
//! subject, hex>`, holding the end of its current window and the number
//! of requests counted in it. Hashing bounds the key length and keeps
//! usernames and addresses out of the table.
//!
//! One `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` statement both
//! counts a request and reads the new count. SQLite runs it under the
//! database's write lock, so concurrent requests on any number of
//! instances each see a distinct count and no more than the limit are
//! admitted. Spin's key-value interface has no such atomic operation:
//! a get followed by a set lets racing instances admit extra requests.

use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::services::Services;
use crate::storage::{Rows, SqlValue, StorageError};

/// A limit of `max_requests` per `window_secs` for one kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Names the kind of request in the row key, e.g. `login-address`.
    pub scope: &'static str,
    pub max_requests: u32,
    pub window_secs: i64,
}

/// Counts one request by `subject` and returns
/// [`ApiError::TooManyRequests`] when the window already contains
/// `max_requests` admitted requests. Retry-After counts down to the end
/// of the window.
///
/// A subject that is already over its limit is answered from one read,
/// so a client that keeps retrying costs no writes until its window ends.
pub fn check(services: &Services, limit: RateLimit, subject: &str) -> Result<(), ApiError> {
    let key = row_key(limit, subject);
    let now = services.clock.now_millis();
    let window_millis = limit.window_secs * 1000;
    let window_end = now - now.rem_euclid(window_millis) + window_millis;

    if let Some(counted) = read_window(services, &key)? {
        if counted.window_end >= window_end && counted.count >= i64::from(limit.max_requests) {
            return Err(too_many_requests(counted.window_end, now));
        }
    }

    let counted = count_request(services, &key, window_end)?;
    if counted.count == 1 {
        // The first request of a window: a cheap moment to drop the rows
        // of windows that have ended, about once per subject per window.
        prune_ended_windows(services, now)?;
    }
    if counted.count > i64::from(limit.max_requests) {
        return Err(too_many_requests(counted.window_end, now));
    }
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

/// One row of `rate_limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    /// Milliseconds since the epoch at which the window ends.
    window_end: i64,
    /// Requests counted in the window, admitted or not.
    count: i64,
}

fn row_key(limit: RateLimit, subject: &str) -> String {
    let digest = hex::encode(Sha256::digest(subject.as_bytes()));
    format!("{}:{digest}", limit.scope)
}

fn read_window(services: &Services, key: &str) -> Result<Option<Window>, StorageError> {
    let rows = services.db.execute(
        "SELECT window_end, count FROM rate_limits WHERE key = ?",
        &[key.into()],
    )?;
    first_window(&rows)
}

/// Adds one request to the row of `key`: a window that ended restarts at
/// one. A row with a later window than `window_end` (an instance whose
/// clock runs ahead) keeps its window, so clocks that disagree by less
/// than a window never reset a count early.
fn count_request(services: &Services, key: &str, window_end: i64) -> Result<Window, StorageError> {
    let rows = services.db.execute(
        "INSERT INTO rate_limits (key, window_end, count) VALUES (?, ?, 1) \
         ON CONFLICT (key) DO UPDATE SET \
             count = CASE WHEN rate_limits.window_end < excluded.window_end \
                          THEN 1 ELSE rate_limits.count + 1 END, \
             window_end = MAX(rate_limits.window_end, excluded.window_end) \
         RETURNING window_end, count",
        &[key.into(), SqlValue::Integer(window_end)],
    )?;
    first_window(&rows)?
        .ok_or_else(|| StorageError::new("counting a rate-limited request returned no row"))
}

fn prune_ended_windows(services: &Services, now: i64) -> Result<(), StorageError> {
    services.db.execute(
        "DELETE FROM rate_limits WHERE window_end <= ?",
        &[SqlValue::Integer(now)],
    )?;
    Ok(())
}

fn first_window(rows: &Rows) -> Result<Option<Window>, StorageError> {
    let Some(row) = rows.rows.first() else {
        return Ok(None);
    };
    let window_end = row[rows.column_index("window_end")?].as_i64();
    let count = row[rows.column_index("count")?].as_i64();
    match (window_end, count) {
        (Some(window_end), Some(count)) => Ok(Some(Window { window_end, count })),
        _ => Err(StorageError::new(
            "a rate_limits row contains a non-integer value",
        )),
    }
}

fn too_many_requests(window_end: i64, now: i64) -> ApiError {
    let remaining_millis = u64::try_from(window_end - now).unwrap_or(0);
    ApiError::TooManyRequests {
        retry_after_secs: remaining_millis.div_ceil(1000).max(1),
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

    fn row_count(env: &TestEnv) -> i64 {
        use crate::storage::Database;
        env.db
            .execute("SELECT COUNT(*) FROM rate_limits", &[])
            .unwrap()
            .rows[0][0]
            .as_i64()
            .unwrap()
    }

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
        for _ in 0..5 {
            let _ = check(&services, LIMIT, "a");
        }

        env.clock.advance_secs(60);

        for _ in 0..3 {
            check(&services, LIMIT, "a").unwrap();
        }
        assert!(check(&services, LIMIT, "a").is_err());
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
        use crate::storage::Database;
        let env = TestEnv::new();
        check(&env.services(), LIMIT, "alice").unwrap();

        let rows = env.db.execute("SELECT key FROM rate_limits", &[]).unwrap();
        assert_eq!(rows.rows.len(), 1);
        let key = rows.rows[0][0].as_str().unwrap();
        assert!(key.starts_with("test:"), "{key}");
        assert!(!key.contains("alice"), "{key}");
        assert!(
            env.kv.keys().is_empty(),
            "rate limits wrote key-value entries"
        );
    }

    #[test]
    fn ended_windows_are_pruned() {
        let env = TestEnv::new();
        let services = env.services();
        for subject in ["a", "b", "c"] {
            check(&services, LIMIT, subject).unwrap();
        }
        assert_eq!(row_count(&env), 3);

        env.clock.advance_secs(60);
        check(&services, LIMIT, "d").unwrap();

        assert_eq!(row_count(&env), 1);
    }

    #[test]
    fn limited_subject_is_answered_without_a_write() {
        use crate::storage::Database;
        let env = TestEnv::new();
        let services = env.services();
        for _ in 0..4 {
            let _ = check(&services, LIMIT, "a");
        }
        let count_of = || {
            env.db
                .execute("SELECT count FROM rate_limits", &[])
                .unwrap()
                .rows[0][0]
                .as_i64()
                .unwrap()
        };
        let before = count_of();

        assert!(check(&services, LIMIT, "a").is_err());

        assert_eq!(count_of(), before);
    }

    #[test]
    fn a_clock_behind_the_stored_window_keeps_counting_in_it() {
        let env = TestEnv::new();
        let services = env.services();
        env.clock.advance_secs(60);
        for _ in 0..3 {
            check(&services, LIMIT, "a").unwrap();
        }

        // Another instance whose clock is in the previous window.
        let behind = crate::testing::TestClock::new();
        let mut services_behind = env.services();
        services_behind.clock = &behind;

        assert!(check(&services_behind, LIMIT, "a").is_err());
    }

    #[test]
    fn concurrent_connections_admit_exactly_the_limit() {
        // Separate connections to one database file stand in for
        // separate instances; each thread's check is one request.
        let env = TestEnv::new();
        let path = env.db.path().to_owned();
        let admitted = std::sync::atomic::AtomicU32::new(0);

        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    let mut instance = TestEnv::new();
                    instance.db = crate::testing::TestDatabase::open(&path);
                    if check(&instance.services(), LIMIT, "shared").is_ok() {
                        admitted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });

        assert_eq!(admitted.into_inner(), LIMIT.max_requests);
    }

    #[test]
    fn client_ip_drops_port() {
        assert_eq!(client_ip("203.0.113.7:51234"), "203.0.113.7");
        assert_eq!(client_ip("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(client_ip("2001:db8::1"), "2001:db8::1");
        assert_eq!(client_ip("203.0.113.7"), "203.0.113.7");
    }
}
