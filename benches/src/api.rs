//! The few Stowage API calls the benchmarks make outside wrk.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// The session cookie's name when `cookie_secure` is false.
pub const SESSION_COOKIE: &str = "stowage_session";

const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// The pause between two status checks while a file is processed.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
const PROCESSING_TIMEOUT: Duration = Duration::from_secs(300);

/// A client of one host, signed in or not.
pub struct Api {
    agent: ureq::Agent,
    base_url: String,
    /// `Cookie` header value once signed in.
    cookie: Option<String>,
}

impl Api {
    pub fn new(base_url: &str) -> Api {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .new_agent();
        Api {
            agent,
            base_url: base_url.to_owned(),
            cookie: None,
        }
    }

    /// Returns the `Cookie` header of the signed-in session.
    pub fn cookie_header(&self) -> Result<&str> {
        self.cookie.as_deref().context("the client has not signed in")
    }

    /// Signs in and keeps the session cookie. Returns how long the request
    /// took.
    pub fn login(&mut self, username: &str, password: &str) -> Result<Duration> {
        let body = json!({ "username": username, "password": password }).to_string();
        let started = Instant::now();
        let mut response = self
            .agent
            .post(format!("{}/auth/login", self.base_url))
            .header("content-type", "application/json")
            .send(body.as_str())
            .context("POST /auth/login failed")?;
        let elapsed = started.elapsed();

        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        if status != 200 {
            bail!("login as {username:?} returned {status}: {text}");
        }
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split(';').next())
            .find(|pair| pair.starts_with(&format!("{SESSION_COOKIE}=")))
            .with_context(|| format!("login as {username:?} set no {SESSION_COOKIE} cookie"))?;
        self.cookie = Some(cookie.to_owned());
        Ok(elapsed)
    }

    /// Sends GET `path` with the session and returns the JSON body of a 200
    /// response.
    pub fn get_json(&self, path: &str) -> Result<Value> {
        let mut response = self
            .agent
            .get(format!("{}{path}", self.base_url))
            .header("cookie", self.cookie_header()?)
            .call()
            .with_context(|| format!("GET {path} failed"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string()?;
        if status != 200 {
            bail!("GET {path} returned {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("GET {path} returned invalid JSON"))
    }

    /// Uploads the file at `path` as the raw request body and returns the
    /// new file's id.
    pub fn upload(&self, path: &Path) -> Result<String> {
        let file = File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
        let mut response = self
            .agent
            .post(format!("{}/files?filename=bench.bin", self.base_url))
            .header("cookie", self.cookie_header()?)
            .header("content-type", "application/octet-stream")
            .send(&file)
            .context("POST /files failed")?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string()?;
        if status != 202 {
            bail!("POST /files returned {status}: {text}");
        }
        let body: Value = serde_json::from_str(&text).context("POST /files returned invalid JSON")?;
        body["id"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("POST /files returned no id: {text}"))
    }

    /// Polls GET /files/{id} until the file is `ready` and returns its JSON.
    pub fn wait_until_ready(&self, id: &str) -> Result<Value> {
        let started = Instant::now();
        loop {
            let file = self.get_json(&format!("/files/{id}"))?;
            match file["status"].as_str().unwrap_or_default() {
                "ready" => return Ok(file),
                "rejected" | "failed" => bail!("file {id} was not processed: {file}"),
                _ => {}
            }
            if started.elapsed() > PROCESSING_TIMEOUT {
                bail!("file {id} was not ready within {PROCESSING_TIMEOUT:?}: {file}");
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}
