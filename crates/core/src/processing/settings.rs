//! Limits and policy of processing, with their defaults and the Spin
//! variables that override them.

use crate::config::Config;
use crate::error::ApiError;
use crate::processing::policy::MimePolicy;

/// How many times a file is claimed before it becomes `failed`. Five
/// attempts with the default backoff span at least 30 s (2 + 4 + 8 + 16 s),
/// which rides out a restarting database but gives up on damaged bytes.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The age in milliseconds after which another processor may take over a
/// claimed file: 5 minutes. Processing the largest file (50 MiB, 50 chunk
/// reads and SHA-256) takes seconds, so a claim this old belongs to a
/// processor that crashed or was stopped.
pub const DEFAULT_CLAIM_TIMEOUT_MILLIS: i64 = 5 * 60 * 1000;

/// The wait after the first failed attempt: 2 s. Each later wait doubles.
pub const DEFAULT_RETRY_BASE_MILLIS: i64 = 2 * 1000;

/// Age in milliseconds after which a `pending` file with no scheduled
/// attempt counts as stale: 30 s. Its message is normally handled within
/// a second, so a file this old most likely lost its message.
pub const DEFAULT_STALE_PENDING_MILLIS: i64 = 30 * 1000;

/// The maximum delay between two attempts: 5 minutes.
const MAX_RETRY_DELAY_MILLIS: i64 = 5 * 60 * 1000;

/// The largest value of the variables in seconds: one day. A longer claim
/// timeout or stale age would leave lost work waiting for days.
const MAX_SECONDS: i64 = 24 * 60 * 60;

/// The largest `processing_max_attempts`. More attempts would only
/// prolong the wait for a file whose bytes are damaged.
const MAX_ATTEMPTS_LIMIT: i64 = 100;

/// The timing of claims, retries and recovery. Each field comes from one
/// Spin variable (see docs/configuration.md) or its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessingLimits {
    /// Claims per file before it becomes `failed`, from
    /// `processing_max_attempts`.
    pub max_attempts: u32,
    /// Age in milliseconds after which a claim counts as abandoned, from
    /// `processing_claim_timeout_seconds`.
    pub claim_timeout_millis: i64,
    /// Wait in milliseconds after the first failed attempt, from
    /// `processing_retry_base_ms`.
    pub retry_base_millis: i64,
    /// Age in milliseconds after which a `pending` file without a
    /// scheduled attempt counts as stale, from
    /// `processing_stale_pending_seconds`.
    pub stale_pending_millis: i64,
}

impl Default for ProcessingLimits {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            claim_timeout_millis: DEFAULT_CLAIM_TIMEOUT_MILLIS,
            retry_base_millis: DEFAULT_RETRY_BASE_MILLIS,
            stale_pending_millis: DEFAULT_STALE_PENDING_MILLIS,
        }
    }
}

impl ProcessingLimits {
    /// Reads the limits from Spin variables; `lookup` returns `None` for a
    /// variable the component does not define, which keeps its default. An
    /// invalid value is an internal error naming the variable.
    pub fn from_variables(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ApiError> {
        let mut limits = ProcessingLimits::default();

        if let Some(value) = lookup("processing_max_attempts") {
            let attempts = parse_in_range("processing_max_attempts", &value, MAX_ATTEMPTS_LIMIT)?;
            limits.max_attempts = attempts as u32;
        }
        if let Some(value) = lookup("processing_claim_timeout_seconds") {
            let seconds = parse_in_range("processing_claim_timeout_seconds", &value, MAX_SECONDS)?;
            limits.claim_timeout_millis = seconds * 1000;
        }
        if let Some(value) = lookup("processing_retry_base_ms") {
            let millis = parse_in_range("processing_retry_base_ms", &value, MAX_RETRY_DELAY_MILLIS)?;
            limits.retry_base_millis = millis;
        }
        if let Some(value) = lookup("processing_stale_pending_seconds") {
            let seconds = parse_in_range("processing_stale_pending_seconds", &value, MAX_SECONDS)?;
            limits.stale_pending_millis = seconds * 1000;
        }

        Ok(limits)
    }

    /// Returns the wait in milliseconds before the attempt after attempt
    /// number `attempts` (counting from 1): the base, doubled for each
    /// earlier failure, at most 5 minutes.
    pub fn retry_delay_millis(&self, attempts: u32) -> i64 {
        let factor = 1_i64
            .checked_shl(attempts.saturating_sub(1).min(40))
            .unwrap_or(i64::MAX);
        self.retry_base_millis
            .saturating_mul(factor)
            .min(MAX_RETRY_DELAY_MILLIS)
    }
}

/// Parses a whole number from 1 to `max`.
fn parse_in_range(name: &str, value: &str, max: i64) -> Result<i64, ApiError> {
    match value.trim().parse::<i64>() {
        Ok(number) if (1..=max).contains(&number) => Ok(number),
        _ => Err(ApiError::internal(format!(
            "invalid variable {name}={value:?}: expected a whole number from 1 to {max}"
        ))),
    }
}

/// The policy and limits of [`process_file`](super::process_file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessingSettings {
    /// The types a file may have to become `ready`. Files of other types
    /// become `rejected`.
    pub allowed_types: MimePolicy,
    pub limits: ProcessingLimits,
}

impl ProcessingSettings {
    /// Takes the allow-list and the limits from the configuration.
    pub fn from_config(config: &Config) -> Self {
        Self {
            allowed_types: config.allowed_mime_types.clone(),
            limits: config.processing_limits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits_from(pairs: &[(&str, &str)]) -> Result<ProcessingLimits, ApiError> {
        ProcessingLimits::from_variables(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn retry_delay_doubles_from_default_base() {
        let limits = ProcessingLimits::default();
        assert_eq!(limits.retry_delay_millis(1), 2_000);
        assert_eq!(limits.retry_delay_millis(2), 4_000);
        assert_eq!(limits.retry_delay_millis(4), 16_000);
    }

    #[test]
    fn retry_delay_is_capped() {
        let limits = ProcessingLimits::default();
        assert_eq!(limits.retry_delay_millis(9), MAX_RETRY_DELAY_MILLIS);
        assert_eq!(limits.retry_delay_millis(u32::MAX), MAX_RETRY_DELAY_MILLIS);
    }

    #[test]
    fn retry_delay_follows_configured_base() {
        let limits = limits_from(&[("processing_retry_base_ms", "100")]).unwrap();
        assert_eq!(limits.retry_delay_millis(1), 100);
        assert_eq!(limits.retry_delay_millis(3), 400);
    }

    #[test]
    fn missing_variables_keep_defaults() {
        assert_eq!(limits_from(&[]).unwrap(), ProcessingLimits::default());
    }

    #[test]
    fn each_variable_sets_its_limit() {
        let limits = limits_from(&[
            ("processing_max_attempts", "3"),
            ("processing_claim_timeout_seconds", "4"),
            ("processing_retry_base_ms", "250"),
            ("processing_stale_pending_seconds", " 2 "),
        ])
        .unwrap();

        assert_eq!(limits.max_attempts, 3);
        assert_eq!(limits.claim_timeout_millis, 4_000);
        assert_eq!(limits.retry_base_millis, 250);
        assert_eq!(limits.stale_pending_millis, 2_000);
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (name, value) in [
            ("processing_max_attempts", "0"),
            ("processing_max_attempts", "101"),
            ("processing_claim_timeout_seconds", "-5"),
            ("processing_claim_timeout_seconds", "86401"),
            ("processing_retry_base_ms", "fast"),
            ("processing_stale_pending_seconds", ""),
        ] {
            let error = limits_from(&[(name, value)]).unwrap_err();
            assert_eq!(error.status(), 500, "{name}={value:?}");
            assert!(
                error.to_string().contains(name),
                "{name}={value:?}: {error}"
            );
        }
    }
}
