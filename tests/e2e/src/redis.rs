//! A `redis-server` child process on a free port of 127.0.0.1.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::poll::poll_until;

const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` without persistence, killed by its PID on drop.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    dir: TempDir,
}

impl RedisServer {
    /// Starts `redis-server` on a free port and waits until it replies to
    /// PING.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed or does not answer in time.
    pub fn start() -> RedisServer {
        let dir = tempfile::Builder::new()
            .prefix("stowage-e2e-redis-")
            .tempdir()
            .expect("failed to create a temporary folder for redis-server");
        let mut server = RedisServer {
            port: free_port(),
            child: None,
            dir,
        };
        server.start_again();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns the URL for the host's `redis_address` variable.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server, so that tests can see how Stowage copes without
    /// Redis. Does nothing when it is already stopped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port after [`RedisServer::stop`],
    /// and waits until it replies to PING. Does nothing when it is running.
    pub fn start_again(&mut self) {
        if self.child.is_some() {
            return;
        }

        let log = File::create(self.log_path()).expect("failed to create the redis-server log");
        let stderr = log
            .try_clone()
            .expect("failed to share the redis-server log");
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "failed to run redis-server: {error}. Install it (scripts/test installs \
                     it from the OS packages when missing)"
                )
            });
        self.child = Some(child);

        let answered = poll_until(START_TIMEOUT, || self.answers_ping().then_some(()));
        if answered.is_none() {
            let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
            self.stop();
            panic!("redis-server on port {port} did not answer PING within {START_TIMEOUT:?}; its log:\n{log}");
        }
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Returns a port that was free a moment ago. Another process may take it
/// before the caller binds it; the chance is small enough for tests.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("failed to find a free port on 127.0.0.1")
}
