//! A blocking HTTP client for the Stowage API that keeps its own cookies.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use ureq::http;

use crate::multipart::multipart_body;
use crate::poll::poll_until;

/// Covers a 50 MiB upload or download through the wasm components on a
/// busy machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(180);

/// Above the largest response the tests read (a 50 MiB download).
const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// The name of the session cookie when `cookie_secure` is false.
pub const SESSION_COOKIE: &str = "stowage_session";

/// A status, headers and the whole body of a response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// Builds a response from its parts, for clients other than [`Client`].
    pub(crate) fn from_parts(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Response {
        Response {
            status,
            headers,
            body,
        }
    }

    /// Returns the first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).into_iter().next()
    }

    /// Returns every value of header `name` (case-insensitive), in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// Returns the body as text, for failure messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Parses the body as JSON.
    ///
    /// # Panics
    ///
    /// When the body is not JSON, with the status and body.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "expected a JSON body, got status {} with body {:?}: {error}",
                self.status,
                self.text()
            )
        })
    }

    /// Checks that this is an error response with `status` and a JSON body
    /// `{"error": {"code", "message"}}` whose code and message are non-empty
    /// strings, and returns the error object.
    pub fn expect_error(&self, status: u16, context: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "{context}: expected status {status}, got {} with body {}",
            self.status,
            self.text()
        );
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "{context}: expected a JSON error, got Content-Type {content_type:?}"
        );
        let error = self.json()["error"].clone();
        for field in ["code", "message"] {
            let value = error[field].as_str().unwrap_or_default();
            assert!(
                !value.is_empty(),
                "{context}: the error body lacks a non-empty error.{field}: {}",
                self.text()
            );
        }
        error
    }
}

/// An HTTP client bound to one Stowage host. Redirects are returned, not
/// followed, and error statuses are responses, not errors.
pub struct Client {
    agent: ureq::Agent,
    base_url: String,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Client {
    /// Creates a client without cookies for the host at `base_url`.
    pub fn new(base_url: &str) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .new_agent();
        Client {
            agent,
            base_url: base_url.to_owned(),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    /// Returns the value of cookie `name`, if the client has it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    /// Stores cookie `name` as if a response had set it.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    pub fn get(&self, path: &str) -> Response {
        let request = self.agent.get(self.url(path));
        let request = self.add_cookies(request);
        self.finish("GET", path, request.call())
    }

    pub fn delete(&self, path: &str) -> Response {
        let request = self.agent.delete(self.url(path));
        let request = self.add_cookies(request);
        self.finish("DELETE", path, request.call())
    }

    /// Sends a POST with `body` and the given extra headers.
    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut request = self.agent.post(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = self.add_cookies(request);
        self.finish("POST", path, request.send(body))
    }

    /// Sends any method with the given extra headers and body, and the
    /// client's cookies. An empty body is sent without one.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let method_name = http::Method::from_bytes(method.as_bytes())
            .unwrap_or_else(|error| panic!("invalid HTTP method {method:?}: {error}"));
        let mut builder = http::Request::builder()
            .method(method_name)
            .uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let cookies = self.cookie_header();
        if let Some(cookies) = &cookies {
            builder = builder.header("cookie", cookies.as_str());
        }
        let result = if body.is_empty() {
            let request = builder
                .body(())
                .unwrap_or_else(|error| panic!("{method} {path}: invalid request: {error}"));
            self.agent.run(request)
        } else {
            let request = builder
                .body(body.to_vec())
                .unwrap_or_else(|error| panic!("{method} {path}: invalid request: {error}"));
            self.agent.run(request)
        };
        self.finish(method, path, result)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        let bytes = serde_json::to_vec(body).expect("a JSON value serializes");
        self.post(path, &[("content-type", "application/json")], &bytes)
    }

    /// Sends POST /auth/login and returns the response, whatever its status.
    pub fn try_login(&self, username: &str, password: &str) -> Response {
        let credentials = json!({ "username": username, "password": password });
        self.post_json("/auth/login", &credentials)
    }

    /// Signs in and returns the response body.
    ///
    /// # Panics
    ///
    /// When the status is not 200 or no session cookie was set.
    pub fn login(&self, username: &str, password: &str) -> Value {
        let response = self.try_login(username, password);
        assert_eq!(
            response.status,
            200,
            "login as {username:?} failed with body {}",
            response.text()
        );
        assert!(
            self.cookie(SESSION_COOKIE).is_some(),
            "login as {username:?} set no {SESSION_COOKIE} cookie; Set-Cookie: {:?}",
            response.header_values("set-cookie")
        );
        response.json()
    }

    /// Uploads `bytes` as the multipart field `file` with `filename`.
    ///
    /// Uploads send `Expect: 100-continue`, as curl does for large bodies,
    /// so that a host rejecting the request by its headers responds before
    /// the body is sent instead of breaking the connection under it.
    pub fn upload_multipart(&self, filename: &str, bytes: &[u8]) -> Response {
        let (content_type, body) = multipart_body("file", filename, bytes);
        let headers = [
            ("content-type", content_type.as_str()),
            ("expect", "100-continue"),
        ];
        self.post("/files", &headers, &body)
    }

    /// Uploads `bytes` as the raw request body with `?filename=`.
    pub fn upload_raw(&self, filename: &str, bytes: &[u8]) -> Response {
        let path = format!("/files?filename={}", percent_encode(filename));
        let headers = [
            ("content-type", "application/octet-stream"),
            ("expect", "100-continue"),
        ];
        self.post(&path, &headers, bytes)
    }

    /// Sends GET `path` and returns its JSON body.
    ///
    /// # Panics
    ///
    /// When the status is not 200 or the body is not JSON.
    pub fn get_json(&self, path: &str) -> Value {
        let response = self.get(path);
        assert_eq!(
            response.status,
            200,
            "GET {path}: expected status 200, got body {}",
            response.text()
        );
        response.json()
    }

    /// Polls GET /files/{id} until the file is `ready` and returns it.
    ///
    /// # Panics
    ///
    /// When the file reaches another final status (`rejected`, `failed`)
    /// or is not ready within `timeout`, with the file's last JSON.
    pub fn wait_until_ready(&self, id: &str, timeout: Duration) -> Value {
        let path = format!("/files/{id}");
        let mut last = Value::Null;
        let done = poll_until(timeout, || {
            last = self.get_json(&path);
            let status = last["status"].as_str().unwrap_or_default();
            matches!(status, "ready" | "rejected" | "failed").then_some(())
        });

        assert!(
            done.is_some(),
            "file {id} was not processed within {timeout:?}; last state: {last}"
        );
        assert_eq!(
            last["status"], "ready",
            "file {id} was not accepted: {last}"
        );
        last
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn cookie_header(&self) -> Option<String> {
        let cookies = self.cookies.lock().unwrap();
        if cookies.is_empty() {
            return None;
        }
        let header = cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        Some(header)
    }

    fn add_cookies<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let cookies = self.cookies.lock().unwrap();
        if cookies.is_empty() {
            return request;
        }
        let header = cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        request.header("cookie", header)
    }

    fn finish(
        &self,
        method: &str,
        path: &str,
        result: Result<http::Response<ureq::Body>, ureq::Error>,
    ) -> Response {
        let mut response = result.unwrap_or_else(|error| panic!("{method} {path} failed: {error}"));
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .unwrap_or_else(|error| panic!("{method} {path}: reading the body failed: {error}"));
        let response = Response {
            status: response.status().as_u16(),
            headers,
            body,
        };

        for set_cookie in response.header_values("set-cookie") {
            self.store_cookie(set_cookie);
        }
        response
    }

    /// Applies one Set-Cookie header: an empty value or `Max-Age=0` (or a
    /// negative one) removes the cookie. `Expires` is not read, because
    /// Stowage clears cookies with `Max-Age`.
    fn store_cookie(&self, set_cookie: &str) {
        let mut parts = set_cookie.split(';').map(str::trim);
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
            return;
        };
        let expired = parts.any(|attribute| {
            let lower = attribute.to_ascii_lowercase();
            lower
                .strip_prefix("max-age=")
                .is_some_and(|age| age.trim().parse::<i64>().map_or(false, |age| age <= 0))
        });

        let mut cookies = self.cookies.lock().unwrap();
        if expired || value.is_empty() {
            cookies.remove(name);
        } else {
            cookies.insert(name.to_owned(), value.to_owned());
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_stores_and_clears_the_session() {
        let client = Client::new("http://127.0.0.1:9");
        client.store_cookie("stowage_session=abc; HttpOnly; SameSite=Lax; Path=/");
        assert_eq!(client.cookie(SESSION_COOKIE).as_deref(), Some("abc"));

        client.store_cookie("stowage_session=; Max-Age=0; Path=/");
        assert_eq!(client.cookie(SESSION_COOKIE), None);
    }

    #[test]
    fn percent_encode_keeps_unreserved_characters() {
        assert_eq!(percent_encode("a b/ü.txt"), "a%20b%2F%C3%BC.txt");
    }
}
