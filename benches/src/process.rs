//! The child processes the benchmarks run: `redis-server` and
//! `stowage-host`, each on a free port of 127.0.0.1 and killed by its PID
//! when dropped.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tempfile::TempDir;

/// How long a host may take to compile its components and serve.
const HOST_START_TIMEOUT: Duration = Duration::from_secs(180);
const REDIS_START_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause between two attempts to reach a starting server.
const PROBE_INTERVAL: Duration = Duration::from_millis(2);

/// A `redis-server` without persistence.
pub struct Redis {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Redis {
    /// Starts `redis-server` and waits until it replies to PING.
    pub fn start() -> Result<Redis> {
        let dir = tempfile::Builder::new()
            .prefix("stowage-bench-redis-")
            .tempdir()
            .context("failed to create a folder for redis-server")?;
        let port = free_port()?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("failed to run redis-server; scripts/bench installs it when missing")?;
        let redis = Redis {
            child,
            port,
            _dir: dir,
        };

        let started = Instant::now();
        while !redis.replies_to_ping() {
            if started.elapsed() > REDIS_START_TIMEOUT {
                bail!("redis-server on port {port} did not reply to PING within {REDIS_START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn replies_to_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start one host.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The spin.toml to serve.
    pub manifest: PathBuf,
    /// Folder for compiled components; an empty folder forces compilation.
    pub cache_dir: PathBuf,
    /// Whether instances come from wasmtime's pooling allocator.
    pub pooling: bool,
    /// Application variables, passed as `--variable NAME=VALUE`.
    pub variables: Vec<(String, String)>,
    /// The host's `RUST_LOG`.
    pub log_filter: String,
    /// A path that a component of the manifest serves, requested until the
    /// host sends a response.
    pub probe_path: String,
}

/// A running `stowage-host` with its own state folder.
pub struct Host {
    child: Child,
    base_url: String,
    dir: TempDir,
    first_response: Duration,
}

impl Host {
    /// Starts the host and waits until it responds to `config.probe_path`
    /// with any HTTP status. The time from spawning the process to that
    /// response is [`Host::first_response`].
    pub fn start(config: &HostConfig) -> Result<Host> {
        let dir = tempfile::Builder::new()
            .prefix("stowage-bench-host-")
            .tempdir()
            .context("failed to create a folder for stowage-host")?;
        let log = File::create(dir.path().join("host.log")).context("failed to create the host log")?;
        let port = free_port()?;
        let root = crate::repo_root();

        let mut command = Command::new(root.join("target/release/stowage-host"));
        command
            .current_dir(&root)
            .arg("--from")
            .arg(&config.manifest)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--cache-dir")
            .arg(&config.cache_dir)
            .env("RUST_LOG", &config.log_filter)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("failed to share the host log")?)
            .stderr(log);
        if !config.pooling {
            command.arg("--no-pooling");
        }
        for (name, value) in &config.variables {
            command.arg("--variable").arg(format!("{name}={value}"));
        }

        let spawned = Instant::now();
        let child = command
            .spawn()
            .context("failed to run target/release/stowage-host; build it first")?;
        let mut host = Host {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            dir,
            first_response: Duration::ZERO,
        };
        host.wait_for_first_response(port, &config.probe_path, spawned)?;
        Ok(host)
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Returns the time from spawning the process to its first HTTP response.
    pub fn first_response(&self) -> Duration {
        self.first_response
    }

    /// Returns the SQLite file of the `default` database.
    pub fn database_path(&self) -> PathBuf {
        self.dir.path().join("state/sqlite_db.db")
    }

    /// Reads the host's stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("host.log")).unwrap_or_default()
    }

    fn wait_for_first_response(&mut self, port: u16, path: &str, spawned: Instant) -> Result<()> {
        loop {
            if http_status_line(port, path).is_some() {
                self.first_response = spawned.elapsed();
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("stowage-host exited early with {status}; its log:\n{}", self.log());
            }
            if spawned.elapsed() > HOST_START_TIMEOUT {
                bail!(
                    "stowage-host sent no response within {HOST_START_TIMEOUT:?}; its log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `GET path` over a new connection and returns the response's
/// status line, or `None` when nothing responds yet.
fn http_status_line(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 64];
    let read = stream.read(&mut head).ok()?;
    let text = String::from_utf8_lossy(&head[..read]);
    text.starts_with("HTTP/1.1 ")
        .then(|| text.lines().next().unwrap_or_default().to_owned())
}

/// Returns a port that was free a moment ago. Another process may take it
/// before the host binds it, which makes that host fail to start.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("failed to find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Creates an empty folder for compiled components under `parent`.
pub fn empty_cache_dir(parent: &Path) -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix("cache-")
        .tempdir_in(parent)
        .with_context(|| format!("failed to create a cache folder in {}", parent.display()))
}
