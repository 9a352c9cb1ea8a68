//! A blocking JSON client for the Stowage API that turns error responses
//! into errors carrying the server's message.

use std::fmt;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;
use ureq::http::Response;
use ureq::Body;

/// Password hashing makes the slowest calls take a fraction of a second;
/// the rest is headroom for a busy service.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An error response of the service: its status and the `code` and
/// `message` of its JSON body.
#[derive(Debug)]
pub struct ServerError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {}, {})", self.message, self.status, self.code)
    }
}

impl std::error::Error for ServerError {}

/// The service at one base URL.
pub struct Api {
    agent: ureq::Agent,
    base_url: String,
}

impl Api {
    /// Checks that `base_url` is an http or https URL and creates a client
    /// for it.
    pub fn new(base_url: &str) -> anyhow::Result<Api> {
        let base_url = base_url.trim_end_matches('/');
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            bail!("invalid --url {base_url:?}: expected http://HOST[:PORT] or https://HOST[:PORT]");
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .new_agent();
        Ok(Api {
            agent,
            base_url: base_url.to_owned(),
        })
    }

    /// Sends GET `path` with a Bearer token and returns the JSON body.
    pub fn get(&self, path: &str, token: &str) -> anyhow::Result<Value> {
        let url = self.url(path);
        let result = self
            .agent
            .get(&url)
            .header("authorization", bearer(token))
            .call();
        self.finish("GET", &url, result)
    }

    /// Sends POST `path` with a JSON body and a Bearer token and returns
    /// the JSON body of the response.
    pub fn post(&self, path: &str, token: &str, body: &Value) -> anyhow::Result<Value> {
        let url = self.url(path);
        let result = self
            .agent
            .post(&url)
            .header("authorization", bearer(token))
            .header("content-type", "application/json")
            .send(body.to_string());
        self.finish("POST", &url, result)
    }

    /// Sends PATCH `path` with a JSON body and a Bearer token and returns
    /// the JSON body of the response.
    pub fn patch(&self, path: &str, token: &str, body: &Value) -> anyhow::Result<Value> {
        let url = self.url(path);
        let result = self
            .agent
            .patch(&url)
            .header("authorization", bearer(token))
            .header("content-type", "application/json")
            .send(body.to_string());
        self.finish("PATCH", &url, result)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn finish(
        &self,
        method: &str,
        url: &str,
        result: Result<Response<Body>, ureq::Error>,
    ) -> anyhow::Result<Value> {
        let mut response = result.with_context(|| format!("{method} {url} failed"))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("{method} {url}: failed to read the response"))?;
        let body: Option<Value> = serde_json::from_str(&text).ok();

        if (200..300).contains(&status) {
            return body.with_context(|| {
                format!("{method} {url}: expected a JSON response, got {text:?}")
            });
        }
        Err(server_error(status, body.as_ref(), &text))
            .with_context(|| format!("{method} {url} was rejected"))
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {}", token.trim())
}

/// Builds the error of a non-2xx response from Stowage's JSON error body,
/// or from the raw text when something else (a proxy) responded.
fn server_error(status: u16, body: Option<&Value>, text: &str) -> anyhow::Error {
    let error = body.map(|body| &body["error"]);
    let field = |name: &str| {
        error
            .and_then(|error| error[name].as_str())
            .map(str::to_owned)
    };
    match (field("code"), field("message")) {
        (Some(code), Some(message)) => ServerError {
            status,
            code,
            message,
        }
        .into(),
        _ => anyhow::anyhow!("HTTP {status} without a Stowage error body: {text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn server_error_shows_message_status_and_code() {
        let body = json!({ "error": { "code": "username_taken", "message": "the username bob is taken" } });
        let error = server_error(409, Some(&body), "");
        assert_eq!(
            error.to_string(),
            "the username bob is taken (HTTP 409, username_taken)"
        );
    }

    #[test]
    fn non_stowage_error_shows_raw_text() {
        let error = server_error(502, None, "Bad Gateway");
        assert_eq!(
            error.to_string(),
            "HTTP 502 without a Stowage error body: \"Bad Gateway\""
        );
    }

    #[test]
    fn url_without_scheme_is_rejected() {
        let error = Api::new("127.0.0.1:3000").err().unwrap();
        assert!(error.to_string().contains("invalid --url"), "{error}");
    }
}
