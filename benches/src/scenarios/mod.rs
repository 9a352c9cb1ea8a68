//! The measurements, one module each, and what they share: the hosts
//! they start and the run's settings.

pub mod cold_start;
pub mod ingest;
pub mod instance;
pub mod login;
pub mod scale;
pub mod small;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use tempfile::TempDir;

use crate::api::Api;
use crate::process::{Host, HostConfig, Redis};

/// The sample organization's admin, created by `sample_data=true`.
pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "password";

/// Rate limits high enough that no benchmark request is limited.
const UNLIMITED_PER_MINUTE: &str = "1000000";

/// The host's log filter with the per-instance peak memory lines.
pub const LOG_WITH_MEMORY: &str = "info,stowage_host::metrics=debug";

/// Settings and shared resources of one benchmark run.
pub struct Bench {
    /// Repetitions of each measurement; tables show medians.
    pub runs: usize,
    /// Length of each wrk run.
    pub duration: Duration,
    /// Files of the large tenant in the scale benchmark.
    pub large_tenant_files: usize,
    /// Scratch space: upload files and component caches.
    pub work: TempDir,
    redis: Redis,
}

impl Bench {
    pub fn new(runs: usize, duration: Duration, large_tenant_files: usize) -> Result<Bench> {
        let work = tempfile::Builder::new().prefix("stowage-bench-").tempdir()?;
        Ok(Bench {
            runs,
            duration,
            large_tenant_files,
            work,
            redis: Redis::start()?,
        })
    }

    /// Returns the cache folder that the first host of the run fills and
    /// later hosts load compiled components from.
    pub fn warm_cache(&self) -> PathBuf {
        self.work.path().join("cache-warm")
    }

    /// Configures the Stowage application of spin.toml, with local HTTP cookies, the
    /// sample organization, this run's Redis server, and rate limits
    /// raised when spin.toml declares them.
    pub fn stowage_config(&self) -> HostConfig {
        let mut variables = vec![
            ("cookie_secure".to_string(), "false".to_string()),
            ("sample_data".to_string(), "true".to_string()),
            ("redis_address".to_string(), self.redis.url()),
        ];
        for limit in ["login_limit_per_minute", "upload_limit_per_minute"] {
            if stowage_declares(limit) {
                variables.push((limit.to_string(), UNLIMITED_PER_MINUTE.to_string()));
            }
        }
        HostConfig {
            manifest: crate::repo_root().join("spin.toml"),
            cache_dir: self.warm_cache(),
            pooling: true,
            variables,
            log_filter: "info".to_string(),
            probe_path: "/auth/me".to_string(),
        }
    }

    /// Configures the constant-response reference application.
    pub fn constant_config(&self) -> HostConfig {
        HostConfig {
            manifest: crate::repo_root().join("benches/constant.spin.toml"),
            cache_dir: self.warm_cache(),
            pooling: true,
            variables: Vec::new(),
            log_filter: "info".to_string(),
            probe_path: "/".to_string(),
        }
    }

    /// Starts Stowage and signs in as the sample admin.
    pub fn start_stowage(&self, config: &HostConfig) -> Result<(Host, Api)> {
        let host = Host::start(config)?;
        let mut admin = Api::new(host.base_url());
        admin.login(ADMIN_USERNAME, ADMIN_PASSWORD)?;
        Ok((host, admin))
    }
}

/// Checks whether spin.toml declares application variable `name`: the
/// host rejects values for undeclared variables.
pub fn stowage_declares(name: &str) -> bool {
    let manifest = std::fs::read_to_string(crate::repo_root().join("spin.toml")).unwrap_or_default();
    manifest
        .lines()
        .any(|line| line.trim_start().starts_with(&format!("{name} =")))
}
