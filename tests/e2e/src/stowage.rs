//! A `stowage-host` child process serving spin.toml on a free port.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tempfile::TempDir;

use crate::client::Client;
use crate::paths::{built_host_binary, repo_root};
use crate::poll::poll_until;

/// How long the host may take to compile the components and listen. A
/// cold start compiles three components with Cranelift; later starts load
/// them from the shared cache.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The lines of the host's log printed when a test fails.
const LOG_TAIL_LINES: usize = 60;

/// How to start the host.
#[derive(Debug, Clone)]
pub struct StowageOptions {
    /// Application variables passed as `--variable NAME=VALUE`, in order, so
    /// a later entry overrides an earlier one of the same name.
    pub variables: Vec<(String, String)>,
    /// The folder for the key-value store and database files. `None`
    /// gives the host a fresh folder of its own; two hosts given the same
    /// folder share their data, like two replicas sharing a database.
    pub state_dir: Option<PathBuf>,
    /// Further command-line options for the host, such as
    /// `--http-body-timeout 2`, passed after the others.
    pub host_args: Vec<String>,
    /// The manifest to serve, relative to the repository root.
    pub manifest: String,
}

/// The operator's Bearer token for POST /orgs in the tests.
const PLATFORM_TOKEN: &str = "stowage-e2e-platform-token";

/// The rate-limit variables that [`StowageOptions::new`] raises, with the
/// value it sets.
const GENEROUS_RATE_LIMITS: [(&str, &str); 2] = [
    ("login_limit_per_minute", "1000"),
    ("upload_limit_per_minute", "1000"),
];

impl StowageOptions {
    /// Options for local HTTP with the sample organization "Acme Corp"
    /// (user admin / password), using the Redis server at `redis_url`, and
    /// with a platform token for POST /orgs when spin.toml declares the
    /// `platform_token` variable.
    ///
    /// The login and upload rate limits are raised to 1,000 per minute,
    /// because tests sign in and upload from one address as one user far
    /// more often than the limits allow. Tests of the limits themselves
    /// call [`StowageOptions::with_default_rate_limits`].
    pub fn new(redis_url: &str) -> StowageOptions {
        let mut options = StowageOptions {
            variables: Vec::new(),
            state_dir: None,
            host_args: Vec::new(),
            manifest: DEFAULT_MANIFEST.to_owned(),
        }
        .variable("cookie_secure", "false")
        .variable("sample_data", "true")
        .variable("redis_address", redis_url);
        if manifest_declares(DEFAULT_MANIFEST, "platform_token") {
            options = options.variable("platform_token", PLATFORM_TOKEN);
        }
        for (name, value) in GENEROUS_RATE_LIMITS {
            if manifest_declares(DEFAULT_MANIFEST, name) {
                options = options.variable(name, value);
            }
        }
        options
    }

    /// Drops the raised rate limits of [`StowageOptions::new`], so the host
    /// uses spin.toml's defaults.
    pub fn with_default_rate_limits(self) -> StowageOptions {
        GENEROUS_RATE_LIMITS
            .iter()
            .fold(self, |options, (name, _)| options.without_variable(name))
    }

    /// Removes every value set for variable `name`, so the host uses its
    /// default.
    pub fn without_variable(mut self, name: &str) -> StowageOptions {
        self.variables.retain(|(key, _)| key != name);
        self
    }

    /// Returns the value of variable `name`, the last one set.
    pub fn variable_value(&self, name: &str) -> Option<&str> {
        self.variables
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Makes the host keep its data in `state_dir`, which another host
    /// may share.
    pub fn in_state_dir(mut self, state_dir: PathBuf) -> StowageOptions {
        self.state_dir = Some(state_dir);
        self
    }

    /// Passes one more command-line option and its value to the host.
    pub fn host_option(mut self, name: &str, value: &str) -> StowageOptions {
        self.host_args.push(name.to_owned());
        self.host_args.push(value.to_owned());
        self
    }

    /// Serves `manifest` (relative to the repository root) instead of
    /// spin.toml, and drops the variables set so far that it does not
    /// declare, such as `redis_address` for a manifest without Redis.
    pub fn with_manifest(mut self, manifest: &str) -> StowageOptions {
        self.manifest = manifest.to_owned();
        self.variables
            .retain(|(name, _)| manifest_declares(manifest, name));
        self
    }

    /// Sets one more application variable.
    pub fn variable(mut self, name: &str, value: &str) -> StowageOptions {
        self.variables.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A running host with its own state folder, killed by its PID on drop.
pub struct Stowage {
    child: Child,
    options: StowageOptions,
    base_url: String,
    dir: TempDir,
    state_dir: PathBuf,
    log_printed: AtomicBool,
}

impl Stowage {
    /// Starts the host on a free port of 127.0.0.1 with a fresh state
    /// folder, and waits until it prints the address it serves.
    ///
    /// # Panics
    ///
    /// When the host or a component was not built, when the host exits
    /// early or does not listen within two minutes. The message contains
    /// the end of its log.
    pub fn start(options: StowageOptions) -> Stowage {
        let binary = built_host_binary();
        let root = repo_root();
        let dir = tempfile::Builder::new()
            .prefix("stowage-e2e-host-")
            .tempdir()
            .expect("failed to create a temporary folder for stowage-host");
        let state_dir = options
            .state_dir
            .clone()
            .unwrap_or_else(|| dir.path().join("state"));
        let log_path = dir.path().join("host.log");
        let log = File::create(&log_path).expect("failed to create the host log");
        let stderr = log.try_clone().expect("failed to share the host log");

        let mut command = Command::new(&binary);
        command
            .current_dir(&root)
            .arg("--from")
            .arg(root.join(&options.manifest))
            .args(["--listen", "127.0.0.1:0"])
            .arg("--state-dir")
            .arg(&state_dir)
            // Compiled components are keyed by a hash of the wasm, so one
            // cache serves every test and compilation happens once.
            .arg("--cache-dir")
            .arg(root.join("target/e2e-component-cache"))
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr);
        for (name, value) in &options.variables {
            command.arg("--variable").arg(format!("{name}={value}"));
        }
        command.args(&options.host_args);
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("failed to run {}: {error}", binary.display()));

        let mut stowage = Stowage {
            child,
            options,
            base_url: String::new(),
            dir,
            state_dir,
            log_printed: AtomicBool::new(false),
        };
        stowage.base_url = stowage.wait_for_serving_line();
        stowage
    }

    /// Returns the URL the host serves, such as `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Returns the process id of the host.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Returns the options the host was started with.
    pub fn options(&self) -> &StowageOptions {
        &self.options
    }

    /// Creates a client without cookies.
    pub fn client(&self) -> Client {
        Client::new(&self.base_url)
    }

    /// Returns the host's folder for its key-value store and database files.
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir.clone()
    }

    /// Returns the SQLite file of the `default` database.
    pub fn database_path(&self) -> PathBuf {
        self.state_dir().join("sqlite_db.db")
    }

    /// Kills the host at once with SIGKILL, as a crash would, and waits for
    /// it to exit. Work it was doing stops mid-way.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Reads the host's stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Prints the end of the host's log to stderr, once; the test harness
    /// shows it beside the failed test's panic message.
    pub fn print_log_tail(&self) {
        if self.log_printed.swap(true, Ordering::SeqCst) {
            return;
        }
        eprintln!(
            "--- last {LOG_TAIL_LINES} lines of the stowage-host log ({}) ---\n{}",
            self.log_path().display(),
            tail(&self.log(), LOG_TAIL_LINES)
        );
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("host.log")
    }

    /// Waits for `Serving http://ADDRESS` on stdout and returns the URL.
    fn wait_for_serving_line(&mut self) -> String {
        let found = poll_until(START_TIMEOUT, || {
            if let Some(url) = serving_url(&self.log()) {
                return Some(Ok(url));
            }
            match self.child.try_wait() {
                Ok(Some(status)) => Some(Err(format!("exited early with {status}"))),
                Ok(None) => None,
                Err(error) => Some(Err(format!("could not be waited for: {error}"))),
            }
        });

        match found {
            Some(Ok(url)) => url,
            Some(Err(reason)) => self.fail_start(&reason),
            None => self.fail_start(&format!("did not listen within {START_TIMEOUT:?}")),
        }
    }

    fn fail_start(&self, reason: &str) -> ! {
        self.log_printed.store(true, Ordering::SeqCst);
        panic!(
            "stowage-host {reason}; the end of its log:\n{}",
            tail(&self.log(), LOG_TAIL_LINES)
        )
    }
}

impl Drop for Stowage {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_log_tail();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The manifest the host serves unless a test chooses another.
const DEFAULT_MANIFEST: &str = "spin.toml";

/// Checks whether `manifest` declares application variable `name`: the
/// host rejects values for variables the manifest lacks.
fn manifest_declares(manifest: &str, name: &str) -> bool {
    let path = repo_root().join(manifest);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()));
    text.lines()
        .any(|line| line.trim_start().starts_with(&format!("{name} =")))
}

/// Finds the URL in the host's `Serving http://127.0.0.1:PORT` line. Only
/// complete lines count, because the log may end inside a line being written.
fn serving_url(log: &str) -> Option<String> {
    let complete = &log[..log.rfind('\n')?];
    complete
        .lines()
        .find_map(|line| line.trim().strip_prefix("Serving "))
        .map(|url| url.trim().trim_end_matches('/').to_owned())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serving_url_is_read_from_the_host_output() {
        let log = "INFO loading\nServing http://127.0.0.1:40123\nAvailable Routes:\n";
        assert_eq!(serving_url(log).as_deref(), Some("http://127.0.0.1:40123"));
    }

    #[test]
    fn serving_url_is_absent_before_the_line() {
        assert_eq!(serving_url("INFO compiling components\n"), None);
    }

    #[test]
    fn serving_url_needs_complete_line() {
        assert_eq!(serving_url("Serving http://127.0.0.1:401"), None);
    }
}
