//! Browser sessions kept in the key-value store.
//!
//! The cookie contains a 256-bit random token. The store keeps the session
//! under `session:<SHA-256 of the token, hex>`, so that reading the store
//! does not yield usable tokens. A session ends 24 hours after sign-in
//! (absolute lifetime, which bounds the use of a stolen cookie) or after
//! `Config::session_idle_timeout_secs` without requests (idle timeout,
//! which ends sessions left open on shared machines).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::ids::random_bytes;
use crate::services::Services;

/// Absolute lifetime of a session, also the cookie's Max-Age.
pub const SESSION_LIFETIME_SECS: i64 = 24 * 60 * 60;

/// `last_seen_at` is written at most this often per session, so that
/// reading requests rarely write: each key-value write on Spin's default
/// SQLite store is a synchronous commit. The idle timeout is therefore
/// enforced with up to this much slack.
pub const LAST_SEEN_INTERVAL_SECS: i64 = 5 * 60;

const KEY_PREFIX: &str = "session:";

/// The secret a client presents: 32 random bytes as 64 lowercase hex
/// digits. It never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    fn generate() -> SessionToken {
        SessionToken(hex::encode(random_bytes::<32>()))
    }

    /// Parses a token from a cookie value; anything but 64 hex digits is
    /// `None`, so malformed cookies never reach the store.
    pub fn parse(value: &str) -> Option<SessionToken> {
        let valid = value.len() == 64 && value.bytes().all(|byte| byte.is_ascii_hexdigit());
        valid.then(|| SessionToken(value.to_ascii_lowercase()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn store_key(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        format!("{KEY_PREFIX}{}", hex::encode(digest))
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// A session as stored; times are milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: String,
    pub org_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// A session that is within its lifetime and idle timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token: SessionToken,
    pub record: SessionRecord,
}

/// Creates a session for the user and returns it with its new token.
pub fn create(services: &Services, user_id: &str, org_id: &str) -> Result<Session, ApiError> {
    let now = services.clock.now_millis();
    let token = SessionToken::generate();
    let record = SessionRecord {
        user_id: user_id.to_owned(),
        org_id: org_id.to_owned(),
        created_at: now,
        last_seen_at: now,
    };

    write(services, &token, &record)?;
    Ok(Session { token, record })
}

/// Loads the session of `token` without writing. Returns `None` when there
/// is none or it has expired; an expired session is deleted.
pub fn load(services: &Services, token: &SessionToken) -> Result<Option<Session>, ApiError> {
    let key = token.store_key();
    let Some(bytes) = services.kv.get(&key)? else {
        return Ok(None);
    };

    let record: SessionRecord = match serde_json::from_slice(&bytes) {
        Ok(record) => record,
        Err(error) => {
            // An unreadable entry cannot become readable again: drop it.
            eprintln!("warning: deleting unreadable session entry: {error}");
            services.kv.delete(&key)?;
            return Ok(None);
        }
    };

    if is_expired(services, &record) {
        services.kv.delete(&key)?;
        return Ok(None);
    }

    Ok(Some(Session {
        token: token.clone(),
        record,
    }))
}

/// Records activity on the session, writing only when the stored
/// `last_seen_at` is at least [`LAST_SEEN_INTERVAL_SECS`] old.
pub fn touch(services: &Services, session: &mut Session) -> Result<(), ApiError> {
    let now = services.clock.now_millis();
    if now - session.record.last_seen_at < LAST_SEEN_INTERVAL_SECS * 1000 {
        return Ok(());
    }

    session.record.last_seen_at = now;
    write(services, &session.token, &session.record)
}

/// Deletes the session of `token`; deleting a missing session succeeds.
pub fn delete(services: &Services, token: &SessionToken) -> Result<(), ApiError> {
    services.kv.delete(&token.store_key())?;
    Ok(())
}

fn is_expired(services: &Services, record: &SessionRecord) -> bool {
    let now = services.clock.now_millis();
    let lifetime_ends = record.created_at + SESSION_LIFETIME_SECS * 1000;
    let idle_ends = record.last_seen_at + services.config.session_idle_timeout_secs * 1000;
    now >= lifetime_ends || now >= idle_ends
}

fn write(
    services: &Services,
    token: &SessionToken,
    record: &SessionRecord,
) -> Result<(), ApiError> {
    let value = serde_json::to_vec(record)
        .map_err(|error| ApiError::internal(format!("failed to encode a session: {error}")))?;
    services.kv.set(&token.store_key(), &value)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::KeyValue;
    use crate::testing::TestEnv;

    fn stored_record(env: &TestEnv, token: &SessionToken) -> SessionRecord {
        let bytes = env.kv.get(&token.store_key()).unwrap().unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn store_key_is_hash_of_token() {
        let env = TestEnv::new();
        let session = create(&env.services(), "user-1", "org-1").unwrap();

        let keys = env.kv.keys();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].starts_with("session:"));
        assert!(!keys[0].contains(session.token.expose()));
        assert_eq!(keys[0].len(), "session:".len() + 64);
    }

    #[test]
    fn token_has_256_bits() {
        let env = TestEnv::new();
        let session = create(&env.services(), "user-1", "org-1").unwrap();
        assert_eq!(session.token.expose().len(), 64);
        assert!(SessionToken::parse(session.token.expose()).is_some());
    }

    #[test]
    fn malformed_token_does_not_parse() {
        assert_eq!(SessionToken::parse(""), None);
        assert_eq!(SessionToken::parse(&"g".repeat(64)), None);
        assert_eq!(SessionToken::parse(&"a".repeat(63)), None);
    }

    #[test]
    fn session_expires_after_absolute_lifetime() {
        let env = TestEnv::new();
        let services = env.services();
        let mut session = create(&services, "user-1", "org-1").unwrap();

        // Active every hour, so the idle timeout never applies.
        for _ in 0..23 {
            env.clock.advance_secs(60 * 60);
            let mut loaded = load(&services, &session.token).unwrap().unwrap();
            touch(&services, &mut loaded).unwrap();
            session = loaded;
        }
        env.clock.advance_secs(60 * 60);

        assert_eq!(load(&services, &session.token).unwrap(), None);
        assert!(env.kv.keys().is_empty(), "expired session was not deleted");
    }

    #[test]
    fn session_expires_after_idle_timeout() {
        let env = TestEnv::new();
        let services = env.services();
        let session = create(&services, "user-1", "org-1").unwrap();

        env.clock.advance_secs(2 * 60 * 60 - 1);
        assert!(load(&services, &session.token).unwrap().is_some());
        env.clock.advance_secs(1);

        assert_eq!(load(&services, &session.token).unwrap(), None);
        assert!(env.kv.keys().is_empty(), "expired session was not deleted");
    }

    #[test]
    fn idle_timeout_follows_config() {
        let mut env = TestEnv::new();
        env.config.session_idle_timeout_secs = 10 * 60;
        let services = env.services();
        let session = create(&services, "user-1", "org-1").unwrap();

        env.clock.advance_secs(10 * 60);

        assert_eq!(load(&services, &session.token).unwrap(), None);
    }

    #[test]
    fn last_seen_is_written_at_most_every_five_minutes() {
        let env = TestEnv::new();
        let services = env.services();
        let session = create(&services, "user-1", "org-1").unwrap();
        let created_at = session.record.created_at;

        env.clock.advance_secs(LAST_SEEN_INTERVAL_SECS - 1);
        let mut loaded = load(&services, &session.token).unwrap().unwrap();
        touch(&services, &mut loaded).unwrap();
        assert_eq!(stored_record(&env, &session.token).last_seen_at, created_at);

        env.clock.advance_secs(1);
        let mut loaded = load(&services, &session.token).unwrap().unwrap();
        touch(&services, &mut loaded).unwrap();
        let expected = created_at + LAST_SEEN_INTERVAL_SECS * 1000;
        assert_eq!(stored_record(&env, &session.token).last_seen_at, expected);
    }

    #[test]
    fn activity_extends_idle_timeout() {
        let env = TestEnv::new();
        let services = env.services();
        let session = create(&services, "user-1", "org-1").unwrap();

        env.clock.advance_secs(60 * 60);
        let mut loaded = load(&services, &session.token).unwrap().unwrap();
        touch(&services, &mut loaded).unwrap();
        env.clock.advance_secs(90 * 60);

        assert!(load(&services, &session.token).unwrap().is_some());
    }

    #[test]
    fn deleted_session_no_longer_loads() {
        let env = TestEnv::new();
        let services = env.services();
        let session = create(&services, "user-1", "org-1").unwrap();

        delete(&services, &session.token).unwrap();

        assert_eq!(load(&services, &session.token).unwrap(), None);
        assert!(env.kv.keys().is_empty());
    }

    #[test]
    fn unreadable_session_entry_is_deleted() {
        let env = TestEnv::new();
        let services = env.services();
        let token = SessionToken::generate();
        env.kv.set(&token.store_key(), b"not json").unwrap();

        assert_eq!(load(&services, &token).unwrap(), None);
        assert!(env.kv.keys().is_empty());
    }
}
