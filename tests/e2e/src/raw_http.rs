//! A bare HTTP/1.1 client over one TCP connection, for requests that a
//! well-behaved client library refuses or reshapes: repeated or malformed
//! headers, bodies streamed with chunked encoding, and a hard deadline for
//! the whole exchange.
//!
//! The body is written from a second thread while the response is read,
//! so a response sent before the body ends (413, 400) is read at once
//! instead of after the whole upload.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::client::Response;

/// What follows the request head.
pub enum RawBody {
    /// No body and no framing headers.
    Empty,
    /// A body sent with `Content-Length`, unless the request sets that
    /// header itself (to lie about it, say).
    Fixed(Vec<u8>),
    /// A body sent with `Transfer-Encoding: chunked`, one HTTP chunk per
    /// item, produced as the connection accepts them.
    Chunked(Box<dyn Iterator<Item = Vec<u8>> + Send>),
}

/// One request: method, path with query, extra headers and body. `Host`
/// and `Connection: close` are always sent.
pub struct RawRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: RawBody,
}

impl RawRequest {
    pub fn new(method: &str, path: &str) -> RawRequest {
        RawRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: RawBody::Empty,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> RawRequest {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: RawBody) -> RawRequest {
        self.body = body;
        self
    }

    /// Sends the request to the server at `base_url` (`http://HOST:PORT`)
    /// and returns its response.
    ///
    /// # Panics
    ///
    /// When the connection fails, the response is malformed, or the whole
    /// response has not arrived within `timeout`.
    pub fn send(self, base_url: &str, timeout: Duration) -> Response {
        let description = format!("{} {}", self.method, self.path);
        let deadline = Instant::now() + timeout;
        let authority = base_url
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("{base_url} is not an http:// URL"));
        let stream = TcpStream::connect(authority)
            .unwrap_or_else(|error| panic!("{description}: connecting to {authority}: {error}"));
        stream
            .set_write_timeout(Some(timeout))
            .expect("setting a write timeout succeeds");

        let head = self.head(authority);
        let mut writer = stream.try_clone().expect("a TCP stream can be cloned");
        let body = self.body;
        // Write errors are expected when the server responds early and
        // closes the connection, and the response shows why.
        let sender = std::thread::spawn(move || {
            let _ = write_request(&mut writer, &head, body);
        });

        let response = read_response(stream, deadline)
            .unwrap_or_else(|error| panic!("{description}: {error} (timeout {timeout:?})"));
        drop(sender);
        response
    }

    fn head(&self, authority: &str) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n",
            self.method, self.path
        );
        let sets = |name: &str| {
            self.headers
                .iter()
                .any(|(key, _)| key.eq_ignore_ascii_case(name))
        };
        match &self.body {
            RawBody::Fixed(bytes) if !sets("content-length") => {
                head.push_str(&format!("content-length: {}\r\n", bytes.len()));
            }
            RawBody::Chunked(_) if !sets("transfer-encoding") => {
                head.push_str("transfer-encoding: chunked\r\n");
            }
            _ => {}
        }
        let mut bytes = head.into_bytes();
        for (name, value) in &self.headers {
            bytes.extend_from_slice(name.as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        bytes
    }
}

fn write_request(stream: &mut TcpStream, head: &[u8], body: RawBody) -> std::io::Result<()> {
    stream.write_all(head)?;
    match body {
        RawBody::Empty => {}
        RawBody::Fixed(bytes) => stream.write_all(&bytes)?,
        RawBody::Chunked(chunks) => {
            for chunk in chunks.filter(|chunk| !chunk.is_empty()) {
                stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                stream.write_all(&chunk)?;
                stream.write_all(b"\r\n")?;
            }
            stream.write_all(b"0\r\n\r\n")?;
        }
    }
    stream.flush()
}

/// Reads one response, returning as soon as its body is complete.
fn read_response(mut stream: TcpStream, deadline: Instant) -> Result<Response, String> {
    let mut received = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        if let Some(response) = parse_response(&received)? {
            return Ok(response);
        }
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| format!("no complete response; received {}", preview(&received)))?;
        stream
            .set_read_timeout(Some(left))
            .expect("setting a read timeout succeeds");
        match stream.read(&mut buffer) {
            Ok(0) => {
                return parse_response_at_close(&received)?
                    .ok_or_else(|| format!("connection closed; received {}", preview(&received)))
            }
            Ok(read) => received.extend_from_slice(&buffer[..read]),
            Err(error) if received.is_empty() => return Err(format!("reading failed: {error}")),
            Err(error) => {
                return parse_response_at_close(&received)?.ok_or_else(|| {
                    format!("reading failed: {error}; received {}", preview(&received))
                })
            }
        }
    }
}

/// Parses a complete response, or returns `None` when more bytes are
/// needed. A `100 Continue` interim response is skipped.
fn parse_response(received: &[u8]) -> Result<Option<Response>, String> {
    parse(received, false)
}

/// Parses a response whose connection has ended: a body without framing
/// ends here.
fn parse_response_at_close(received: &[u8]) -> Result<Option<Response>, String> {
    parse(received, true)
}

fn parse(mut received: &[u8], closed: bool) -> Result<Option<Response>, String> {
    loop {
        let Some(head_end) = find(received, b"\r\n\r\n") else {
            return Ok(None);
        };
        let head = std::str::from_utf8(&received[..head_end])
            .map_err(|_| format!("response head is not UTF-8: {}", preview(received)))?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("malformed status line {status_line:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let rest = &received[head_end + 4..];

        if status == 100 {
            received = rest;
            continue;
        }

        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let body = if let Some(length) = header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| format!("malformed Content-Length {length:?}"))?;
            if rest.len() < length {
                return Ok(None);
            }
            rest[..length].to_vec()
        } else if header("transfer-encoding").is_some_and(|value| value.contains("chunked")) {
            match decode_chunked(rest)? {
                Some(body) => body,
                None => return Ok(None),
            }
        } else if closed {
            rest.to_vec()
        } else {
            return Ok(None);
        };
        return Ok(Some(Response::from_parts(status, headers, body)));
    }
}

fn decode_chunked(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(data, b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap_or_default();
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("malformed chunk size {size_text:?}"))?;
        let chunk_start = line_end + 2;
        if size == 0 {
            return Ok(Some(body));
        }
        if data.len() < chunk_start + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&data[chunk_start..chunk_start + size]);
        data = &data[chunk_start + size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn preview(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(300)];
    format!("{} bytes {:?}", bytes.len(), String::from_utf8_lossy(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_with_length_is_complete_when_body_arrives() {
        let partial = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 4\r\n\r\n{}";
        assert!(parse_response(partial).unwrap().is_none());

        let full = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 4\r\n\r\n{\"a\"";
        let response = parse_response(full).unwrap().unwrap();
        assert_eq!(response.status, 400);
        assert_eq!(response.body, b"{\"a\"");
    }

    #[test]
    fn interim_continue_is_skipped() {
        let bytes =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_response(bytes).unwrap().unwrap().status, 202);
    }

    #[test]
    fn chunked_body_is_decoded() {
        let bytes = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(bytes).unwrap().unwrap().body, b"abcde");
    }
}
