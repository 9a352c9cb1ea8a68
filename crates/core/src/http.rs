//! Host-neutral HTTP request and response types. The components convert
//! Spin's WASI HTTP types to these and back, so the core has no Spin
//! dependency.

use std::io;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other(String),
}

impl Method {
    pub fn parse(name: &str) -> Method {
        match name.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The method name as sent on the wire, e.g. `GET`.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other(name) => name,
        }
    }

    /// Methods that change state, for which cross-site checks apply.
    pub fn is_unsafe(&self) -> bool {
        !matches!(self, Method::Get | Method::Head | Method::Options)
    }
}

/// Request headers with lowercase names, in the order received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn append(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((name.to_ascii_lowercase(), value.into()));
    }

    /// Returns the first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Returns every value of `name` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

impl<const N: usize> From<[(&str, &str); N]> for Headers {
    fn from(pairs: [(&str, &str); N]) -> Self {
        let mut headers = Headers::new();
        for (name, value) in pairs {
            headers.append(name, value);
        }
        headers
    }
}

/// An incoming request without its body, which is read through
/// [`BodyReader`] so that uploads are streamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The path without the query, percent-encoded as received, e.g.
    /// `/files/4f1c.../content`.
    pub path: String,
    /// The query string without the leading `?`; empty when absent.
    pub query: String,
    pub headers: Headers,
    /// The client's address (`ip:port`) as the host reports it in
    /// `spin-client-addr`.
    pub client_addr: Option<String>,
}

impl Request {
    pub fn new(method: Method, path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        Self {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            headers: Headers::new(),
            client_addr: None,
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Returns the first query parameter called `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key) == name).then(|| percent_decode(value))
            })
            .next()
    }

    /// Returns the path split into its non-empty segments.
    pub fn path_segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|part| !part.is_empty()).collect()
    }
}

/// Decodes `%XX` escapes and `+` as space (the form encoding of query
/// strings). Invalid escapes are kept as written; invalid UTF-8 is replaced.
pub fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                match (hex_value(bytes[index + 1]), hex_value(bytes[index + 2])) {
                    (Some(high), Some(low)) => {
                        decoded.push(high << 4 | low);
                        index += 2;
                    }
                    _ => decoded.push(b'%'),
                }
            }
            byte => decoded.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The request body, read in chunks as it arrives.
pub trait BodyReader {
    /// Returns the next chunk of the body, or `None` at its end. Chunks may
    /// have any non-zero length.
    fn read_chunk(&mut self) -> io::Result<Option<Vec<u8>>>;
}

/// A body that is already in memory, for tests and small requests.
pub struct BytesBody {
    data: Option<Vec<u8>>,
}

impl BytesBody {
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        Self {
            data: Some(data.into()),
        }
    }

    pub fn empty() -> Self {
        Self { data: None }
    }
}

impl BodyReader for BytesBody {
    fn read_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        Ok(self.data.take().filter(|data| !data.is_empty()))
    }
}

/// The destination of a response body with streamed content.
pub trait BodyWriter {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
}

impl BodyWriter for Vec<u8> {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// A stored file's bytes, streamed from its chunk rows after the status
/// line and headers were sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    pub file_id: String,
    pub org_id: String,
    pub chunk_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    File(FileContent),
    /// The response to a HEAD request: no body is sent, although the
    /// headers (`content-length` included) are those of the GET response.
    Omitted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// A JSON response with `Content-Type: application/json`.
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        let body = serde_json::to_vec(value).expect("serializing a response value cannot fail");
        Self::new(status)
            .with_header("content-type", "application/json")
            .with_body(body)
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = Body::Bytes(body);
        self
    }

    /// Turns the response to a GET into the response to a HEAD: the same
    /// status and headers without the body. A file's content is never read.
    pub fn into_head_response(mut self) -> Self {
        self.body = Body::Omitted;
        self
    }

    /// Returns the first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Returns the body bytes of an in-memory body (empty for others).
    pub fn body_bytes(&self) -> &[u8] {
        match &self.body {
            Body::Bytes(bytes) => bytes,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_param_decodes_percent_and_plus() {
        let request = Request::new(Method::Get, "/files?filename=a%20b+c.txt&x=1");
        assert_eq!(request.query_param("filename").as_deref(), Some("a b c.txt"));
        assert_eq!(request.query_param("x").as_deref(), Some("1"));
        assert_eq!(request.query_param("missing"), None);
    }

    #[test]
    fn percent_decode_keeps_invalid_escapes() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%C3%BC"), "ü");
    }

    #[test]
    fn headers_are_case_insensitive() {
        let headers = Headers::from([("Content-Type", "text/plain")]);
        assert_eq!(headers.get("content-type"), Some("text/plain"));
        assert_eq!(headers.get("CONTENT-TYPE"), Some("text/plain"));
    }
}
