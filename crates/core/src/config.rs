//! Settings read from Spin variables, with the defaults documented in
//! spin.toml and docs/configuration.md.

use std::fmt;

use crate::error::ApiError;
use crate::processing::{MimePolicy, ProcessingLimits};

/// The path by which uploads reach the processing step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingMode {
    /// The files component publishes each upload on the Redis channel and
    /// the processor component handles it.
    Redis,
    /// The files component processes each upload itself right after it is
    /// stored, for hosts without a Redis trigger (Fermyon Cloud).
    Inline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Adds `Secure` and the `__Host-` prefix to the session cookie.
    pub cookie_secure: bool,
    /// Creates the sample organization and user on first start.
    pub sample_data: bool,
    pub processing_mode: ProcessingMode,
    pub redis_channel: String,
    /// Seconds without a request after which a session ends, read from the
    /// variable `session_idle_minutes`.
    pub session_idle_timeout_secs: i64,
    /// The Bearer token that authorizes creating organizations
    /// (`POST /orgs`); `None` turns that route off.
    pub platform_token: Option<Secret>,
    /// The MIME types a processed file may have. Processing rejects files
    /// of other types.
    pub allowed_mime_types: MimePolicy,
    /// Attempts, claim timeout, retry backoff and stale age of processing,
    /// read from the `processing_*` variables.
    pub processing_limits: ProcessingLimits,
    /// Sign-in attempts per minute, counted per client address and per
    /// username, read from the variable `login_limit_per_minute`.
    pub login_limit_per_minute: u32,
    /// Uploads per minute per user, read from the variable
    /// `upload_limit_per_minute`.
    pub upload_limit_per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            cookie_secure: true,
            sample_data: false,
            processing_mode: ProcessingMode::Redis,
            redis_channel: "stowage-uploads".to_owned(),
            session_idle_timeout_secs: 2 * 60 * 60,
            platform_token: None,
            allowed_mime_types: MimePolicy::default(),
            processing_limits: ProcessingLimits::default(),
            login_limit_per_minute: 5,
            upload_limit_per_minute: 10,
        }
    }
}

impl Config {
    /// Builds the configuration from variable values; `lookup` returns
    /// `None` for a variable the component does not define, which keeps
    /// its default. An invalid value is an error naming the variable.
    pub fn from_variables(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ApiError> {
        let mut config = Config::default();

        if let Some(value) = lookup("cookie_secure") {
            config.cookie_secure = parse_bool("cookie_secure", &value)?;
        }
        if let Some(value) = lookup("sample_data") {
            config.sample_data = parse_bool("sample_data", &value)?;
        }
        if let Some(value) = lookup("processing_mode") {
            config.processing_mode = match value.trim() {
                "redis" => ProcessingMode::Redis,
                "inline" => ProcessingMode::Inline,
                other => {
                    return Err(ApiError::internal(format!(
                        "invalid variable processing_mode={other:?}: expected \"redis\" or \"inline\""
                    )))
                }
            };
        }
        if let Some(value) = lookup("redis_channel") {
            config.redis_channel = value;
        }
        if let Some(value) = lookup("allowed_mime_types") {
            config.allowed_mime_types = MimePolicy::parse(&value).map_err(|error| {
                ApiError::internal(format!("invalid variable allowed_mime_types: {error}"))
            })?;
        }
        if let Some(value) = lookup("session_idle_minutes") {
            config.session_idle_timeout_secs = parse_minutes("session_idle_minutes", &value)? * 60;
        }
        if let Some(value) = lookup("login_limit_per_minute") {
            config.login_limit_per_minute = parse_rate("login_limit_per_minute", &value)?;
        }
        if let Some(value) = lookup("upload_limit_per_minute") {
            config.upload_limit_per_minute = parse_rate("upload_limit_per_minute", &value)?;
        }
        if let Some(value) = lookup("platform_token") {
            config.platform_token = (!value.trim().is_empty()).then_some(Secret(value));
        }
        config.processing_limits = ProcessingLimits::from_variables(&lookup)?;

        Ok(config)
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(ApiError::internal(format!(
            "invalid variable {name}={other:?}: expected \"true\" or \"false\""
        ))),
    }
}

/// A secret setting, which never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Parses a positive whole number of minutes, at most one year.
fn parse_minutes(name: &str, value: &str) -> Result<i64, ApiError> {
    match value.trim().parse::<i64>() {
        Ok(minutes) if (1..=525_600).contains(&minutes) => Ok(minutes),
        _ => Err(ApiError::internal(format!(
            "invalid variable {name}={value:?}: expected whole minutes from 1 to 525600"
        ))),
    }
}

/// The largest accepted requests-per-minute limit, high enough to turn a
/// limit off in practice (load tests, end-to-end tests).
const MAX_RATE_PER_MINUTE: u32 = 1_000_000;

/// Parses a positive whole number of requests per minute.
fn parse_rate(name: &str, value: &str) -> Result<u32, ApiError> {
    match value.trim().parse::<u32>() {
        Ok(rate) if (1..=MAX_RATE_PER_MINUTE).contains(&rate) => Ok(rate),
        _ => Err(ApiError::internal(format!(
            "invalid variable {name}={value:?}: expected whole requests per minute from 1 to \
             {MAX_RATE_PER_MINUTE}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_variables_keep_defaults() {
        let config = Config::from_variables(|_| None).unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn reads_each_variable() {
        let config = Config::from_variables(|name| {
            Some(
                match name {
                    "cookie_secure" => "false",
                    "sample_data" => "true",
                    "processing_mode" => "inline",
                    "redis_channel" => "uploads-test",
                    "session_idle_minutes" => "30",
                    "platform_token" => "platform-secret",
                    "allowed_mime_types" => "image/*, application/pdf",
                    "login_limit_per_minute" => "7",
                    "upload_limit_per_minute" => "1000",
                    _ => return None,
                }
                .to_owned(),
            )
        })
        .unwrap();
        assert!(!config.cookie_secure);
        assert!(config.sample_data);
        assert_eq!(config.processing_mode, ProcessingMode::Inline);
        assert_eq!(config.redis_channel, "uploads-test");
        assert_eq!(config.session_idle_timeout_secs, 30 * 60);
        assert_eq!(config.platform_token, Some(Secret::new("platform-secret")));
        assert_eq!(format!("{:?}", config.platform_token), "Some(Secret(***))");
        assert!(config.allowed_mime_types.allows("image/png"));
        assert!(!config.allowed_mime_types.allows("text/plain"));
        assert_eq!(config.login_limit_per_minute, 7);
        assert_eq!(config.upload_limit_per_minute, 1000);
    }

    #[test]
    fn rate_limits_must_be_positive_whole_numbers() {
        for value in ["0", "-1", "ten", "1.5", "1000001"] {
            let error = Config::from_variables(|name| {
                (name == "upload_limit_per_minute").then(|| value.to_owned())
            })
            .unwrap_err();
            assert!(
                error.to_string().contains("upload_limit_per_minute"),
                "{value}: {error}"
            );
        }
    }

    #[test]
    fn invalid_processing_mode_is_rejected() {
        let error = Config::from_variables(|name| {
            (name == "processing_mode").then(|| "kafka".to_owned())
        })
        .unwrap_err();
        assert!(error.to_string().contains("processing_mode"));
    }

    #[test]
    fn invalid_allowed_mime_types_is_rejected() {
        let error = Config::from_variables(|name| {
            (name == "allowed_mime_types").then(|| "image".to_owned())
        })
        .unwrap_err();
        assert!(error.to_string().contains("allowed_mime_types"));
    }
}
