//! Limits and policy of processing, with their defaults.

use crate::config::Config;
use crate::processing::policy::MimePolicy;

/// How many times a file is claimed before it becomes `failed`. Five
/// attempts with the backoff of [`retry_delay_millis`] span at least 30 s
/// (2 + 4 + 8 + 16 s), which rides out a restarting database but gives up
/// on damaged bytes.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The age in milliseconds after which another processor may take over a
/// claimed file: 5 minutes. Processing the largest file (50 MiB, 50 chunk reads
/// and SHA-256) takes seconds, so a claim this old belongs to a processor
/// that crashed or was stopped.
pub const DEFAULT_CLAIM_TIMEOUT_MILLIS: i64 = 5 * 60 * 1000;

/// The maximum delay between two attempts: 5 minutes.
const MAX_RETRY_DELAY_MILLIS: i64 = 5 * 60 * 1000;

/// The policy and limits of [`process_file`](super::process_file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingSettings {
    /// The types a file may have to become `ready`. Files of other types
    /// become `rejected`.
    pub allowed_types: MimePolicy,
    /// Claims per file before it becomes `failed`.
    pub max_attempts: u32,
    /// Age in milliseconds after which a claim counts as abandoned.
    pub claim_timeout_millis: i64,
}

impl ProcessingSettings {
    /// Takes the allow-list from the configuration and the defaults for
    /// the rest.
    pub fn from_config(config: &Config) -> Self {
        Self {
            allowed_types: config.allowed_mime_types.clone(),
            ..Self::default()
        }
    }
}

impl Default for ProcessingSettings {
    fn default() -> Self {
        Self {
            allowed_types: MimePolicy::default(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            claim_timeout_millis: DEFAULT_CLAIM_TIMEOUT_MILLIS,
        }
    }
}

/// Returns the wait before the attempt after attempt number `attempts`
/// (counting from 1): 2^attempts seconds, at most 5 minutes.
pub fn retry_delay_millis(attempts: u32) -> i64 {
    let seconds = 1_i64.checked_shl(attempts.min(30)).unwrap_or(i64::MAX);
    seconds.saturating_mul(1000).min(MAX_RETRY_DELAY_MILLIS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles() {
        assert_eq!(retry_delay_millis(1), 2_000);
        assert_eq!(retry_delay_millis(2), 4_000);
        assert_eq!(retry_delay_millis(4), 16_000);
    }

    #[test]
    fn retry_delay_is_capped() {
        assert_eq!(retry_delay_millis(9), MAX_RETRY_DELAY_MILLIS);
        assert_eq!(retry_delay_millis(u32::MAX), MAX_RETRY_DELAY_MILLIS);
    }
}
