//! A streaming `multipart/form-data` parser (RFC 7578, RFC 2046).
//!
//! [`Parser`] is a push parser: the caller feeds it the body chunk by chunk
//! and receives [`Event`]s (a part's headers, slices of its content, its
//! end) as soon as they are known. Between calls it keeps at most a partial
//! delimiter or a partial header line, and part headers are bounded, so
//! an upload of any size runs in bounded memory and linear time.

mod boundary;
mod disposition;
mod params;
mod parser;

pub use boundary::{form_data_boundary, Boundary};
pub use disposition::ContentDisposition;
pub use parser::{Event, Parser, PartHeaders, MAX_HEADER_BYTES, MAX_HEADER_LINES, MAX_PARTS};

use crate::error::ApiError;

/// A 400 `invalid_multipart` error with `message`.
pub(crate) fn invalid_multipart(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_multipart", message)
}
