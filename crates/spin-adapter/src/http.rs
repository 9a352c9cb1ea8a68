//! Conversions between WASI HTTP (as spin-sdk exposes it) and the core's
//! request, body and response types.

use std::io;

use spin_sdk::http::{Fields, IncomingRequest, Method, OutgoingResponse, ResponseOutparam};
use spin_sdk::wit::wasi::http0_2_0::types::{IncomingBody, OutgoingBody};
use stowage_core::http::{self as core_http, Body, BodyReader, BodyWriter, FileContent, Response};
use stowage_core::ApiError;
use wasi::io::streams::{InputStream, OutputStream, StreamError};

/// Bytes requested from the host per read of the request body.
const READ_SIZE: u64 = 256 * 1024;

/// Converts the request line and headers. The body is read separately
/// through [`IncomingBodyReader`].
pub fn into_core_request(request: &IncomingRequest) -> core_http::Request {
    let method = match request.method() {
        Method::Get => core_http::Method::Get,
        Method::Head => core_http::Method::Head,
        Method::Post => core_http::Method::Post,
        Method::Put => core_http::Method::Put,
        Method::Patch => core_http::Method::Patch,
        Method::Delete => core_http::Method::Delete,
        Method::Options => core_http::Method::Options,
        Method::Connect => core_http::Method::Other("CONNECT".to_owned()),
        Method::Trace => core_http::Method::Other("TRACE".to_owned()),
        Method::Other(name) => core_http::Method::Other(name),
    };
    let path_and_query = request.path_with_query().unwrap_or_else(|| "/".to_owned());

    let mut core_request = core_http::Request::new(method, &path_and_query);
    for (name, value) in request.headers().entries() {
        core_request
            .headers
            .append(&name, String::from_utf8_lossy(&value).into_owned());
    }
    // WASI HTTP hosts (Spin and wasmtime-wasi-http) drop the forbidden
    // `Host` header and pass the authority separately. The core's
    // same-origin check reads it as `Host`.
    if core_request.headers.get("host").is_none() {
        if let Some(authority) = request.authority() {
            core_request.headers.append("host", authority);
        }
    }
    core_request.client_addr = core_request.headers.get("spin-client-addr").map(str::to_owned);
    core_request
}

/// Reads the request body from the host as it arrives.
pub struct IncomingBodyReader {
    // Declared before `body`: the stream is a child of the body resource
    // and must be dropped first.
    stream: Option<InputStream>,
    _body: Option<IncomingBody>,
}

impl IncomingBodyReader {
    /// Takes the body of `request`. A body that cannot be taken reads as
    /// empty.
    pub fn new(request: IncomingRequest) -> Self {
        let Ok(body) = request.consume() else {
            return Self {
                stream: None,
                _body: None,
            };
        };
        let stream = body.stream().ok();
        Self {
            stream,
            _body: Some(body),
        }
    }
}

impl BodyReader for IncomingBodyReader {
    fn read_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(stream) = &self.stream else {
            return Ok(None);
        };
        loop {
            match stream.blocking_read(READ_SIZE) {
                Ok(bytes) if bytes.is_empty() => continue,
                Ok(bytes) => return Ok(Some(bytes)),
                Err(StreamError::Closed) => return Ok(None),
                Err(StreamError::LastOperationFailed(error)) => {
                    return Err(io::Error::other(format!(
                        "reading the request body failed: {}",
                        error.to_debug_string()
                    )))
                }
            }
        }
    }
}

/// Sends `response`. A [`Body::File`] is streamed by `stream_file` after the
/// status line and headers. If that fails half-way, the body is left
/// unfinished so that the host aborts the response instead of ending it as
/// if it were complete.
pub fn send_response(
    out: ResponseOutparam,
    response: Response,
    stream_file: impl FnOnce(&FileContent, &mut dyn BodyWriter) -> Result<(), ApiError>,
) {
    let headers: Vec<(String, Vec<u8>)> = response
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&headers).unwrap_or_else(|error| {
        eprintln!("invalid response header dropped all headers: {error:?}");
        Fields::new()
    });

    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(response.status);
    let body = outgoing.body().expect("a new response has a body");
    out.set(outgoing);

    let stream = body.write().expect("a new body has an output stream");
    let mut writer = OutputStreamWriter { stream };
    let written = match &response.body {
        Body::Empty | Body::Omitted => Ok(()),
        Body::Bytes(bytes) => writer.write_all(bytes).map_err(|error| error.to_string()),
        Body::File(content) => stream_file(content, &mut writer).map_err(|error| {
            format!("streaming file {} failed: {error}", content.file_id)
        }),
    };

    drop(writer);
    if response.body == Body::Omitted {
        // A HEAD response keeps the GET response's `content-length`, and
        // WASI HTTP rejects finishing a body shorter than that. Dropping
        // the body skips the check. The HTTP server sends no body after
        // the head of a HEAD response anyway.
        drop(body);
        return;
    }
    match written {
        Ok(()) => {
            if let Err(error) = OutgoingBody::finish(body, None) {
                eprintln!("finishing the response body failed: {error:?}");
            }
        }
        Err(error) => eprintln!("{error}"),
    }
}

struct OutputStreamWriter {
    stream: OutputStream,
}

impl BodyWriter for OutputStreamWriter {
    fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let permitted = self.stream.check_write().map_err(stream_error)?;
            if permitted == 0 {
                self.stream.subscribe().block();
                continue;
            }
            let length = bytes.len().min(permitted as usize);
            self.stream.write(&bytes[..length]).map_err(stream_error)?;
            bytes = &bytes[length..];
        }
        self.stream.blocking_flush().map_err(stream_error)
    }
}

fn stream_error(error: StreamError) -> io::Error {
    match error {
        StreamError::Closed => io::Error::new(io::ErrorKind::BrokenPipe, "client closed the response"),
        StreamError::LastOperationFailed(error) => io::Error::other(error.to_debug_string()),
    }
}
