//! Reading small JSON request bodies with a size bound.

use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::http::{BodyReader, Request};

/// The largest JSON body the auth routes accept, in bytes. Their bodies
/// hold a few short strings.
pub const MAX_JSON_BODY_BYTES: usize = 64 * 1024;

/// Reads the body as JSON of type `T`. `expected` describes the body for
/// the 400 message, e.g. `an object with string fields username and
/// password`.
///
/// A missing `Content-Type` is accepted for clients that omit it; any
/// other type than `application/json` (parameters allowed) is 415. Bodies
/// larger than [`MAX_JSON_BODY_BYTES`] are 413, checked against
/// `Content-Length` before reading and again while reading.
pub fn read_json<T: DeserializeOwned>(
    request: &Request,
    body: &mut dyn BodyReader,
    expected: &str,
) -> Result<T, ApiError> {
    check_content_type(request)?;
    let bytes = read_bounded(request, body)?;

    // The serde message is not returned because it can quote values,
    // and a value may be a password.
    serde_json::from_slice(&bytes).map_err(|error| {
        let problem = if error.is_data() {
            "the JSON body has the wrong shape"
        } else {
            "the body is not valid JSON"
        };
        ApiError::bad_request("invalid_json", format!("{problem}: expected {expected}"))
    })
}

fn check_content_type(request: &Request) -> Result<(), ApiError> {
    let Some(content_type) = request.headers.get("content-type") else {
        return Ok(());
    };
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType {
            message: format!("expected Content-Type application/json, got {media_type:?}"),
        })
    }
}

fn read_bounded(request: &Request, body: &mut dyn BodyReader) -> Result<Vec<u8>, ApiError> {
    let declared = request
        .headers
        .get("content-length")
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_JSON_BODY_BYTES as u64) {
        return Err(too_large());
    }

    let mut bytes = Vec::new();
    while let Some(chunk) = body.read_chunk().map_err(|error| {
        ApiError::bad_request(
            "body_read_failed",
            format!("failed to read the request body: {error}"),
        )
    })? {
        if bytes.len() + chunk.len() > MAX_JSON_BODY_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge {
        message: format!("the JSON body is larger than {MAX_JSON_BODY_BYTES} bytes"),
    }
}
