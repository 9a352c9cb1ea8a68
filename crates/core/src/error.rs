//! The one error type of the HTTP API and its mapping to a status code and
//! the JSON body `{"error": {"code": ..., "message": ...}}`.

use serde_json::json;

use crate::http::Response;
use crate::storage::StorageError;

/// An error returned to the client. Every route returns this type, and
/// [`ApiError::into_response`] is the only place that turns it into HTTP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, bad multipart, bad query).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 401: no valid session or token.
    #[error("authentication required")]
    Unauthorized,
    /// 401: sign-in failed. One message for an unknown user and a wrong
    /// password, so that responses do not reveal which usernames exist.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// 403: authenticated but not allowed (role, cross-site request).
    #[error("{message}")]
    Forbidden { message: String },
    /// 403: a cookie-authenticated unsafe request came from another site.
    #[error("cross-site request rejected: the Origin header does not match this service")]
    CrossSiteRequest,
    /// 404: no such resource, or it belongs to another organization.
    #[error("{message}")]
    NotFound { message: String },
    /// 405: the route exists but not with this method.
    #[error("method {method} is not allowed on this route")]
    MethodNotAllowed { method: String, allowed: &'static str },
    /// 409: the request conflicts with the resource's state.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 413: the body or file is larger than allowed.
    #[error("{message}")]
    PayloadTooLarge { message: String },
    /// 415: the request's content type is not accepted.
    #[error("{message}")]
    UnsupportedMediaType { message: String },
    /// 422: well-formed but invalid values (password rules, names).
    #[error("{message}")]
    Validation { code: &'static str, message: String },
    /// 429: a rate limit was reached; retry after the given seconds.
    #[error("too many requests, retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// 500: a failure on our side. The detail is logged, never sent.
    #[error("internal error: {detail}")]
    Internal { detail: String },
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound {
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn validation(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Validation {
            code,
            message: message.into(),
        }
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        ApiError::Internal {
            detail: detail.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest { .. } => 400,
            ApiError::Unauthorized => 401,
            ApiError::InvalidCredentials => 401,
            ApiError::Forbidden { .. } => 403,
            ApiError::CrossSiteRequest => 403,
            ApiError::NotFound { .. } => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict { .. } => 409,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::Validation { .. } => 422,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Internal { .. } => 500,
        }
    }

    /// Returns the stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::CrossSiteRequest => "cross_site_request",
            ApiError::NotFound { .. } => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Conflict { code, .. } => code,
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ApiError::Validation { code, .. } => code,
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Internal { .. } => "internal_error",
        }
    }

    /// Returns the message sent to the client. Internal details are
    /// replaced by a generic sentence.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal { .. } => "internal error, try again later".to_owned(),
            other => other.to_string(),
        }
    }

    pub fn into_response(self) -> Response {
        if let ApiError::Internal { detail } = &self {
            // Components forward stderr to the host's log.
            eprintln!("internal error: {detail}");
        }

        let body = json!({
            "error": { "code": self.code(), "message": self.public_message() }
        });
        let mut response = Response::json(self.status(), &body);
        match &self {
            ApiError::TooManyRequests { retry_after_secs } => {
                response = response.with_header("retry-after", retry_after_secs.to_string());
            }
            ApiError::MethodNotAllowed { allowed, .. } => {
                response = response.with_header("allow", *allowed);
            }
            ApiError::Unauthorized => {
                response = response.with_header("www-authenticate", "Bearer");
            }
            _ => {}
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        ApiError::internal(format!("storage: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: &Response) -> serde_json::Value {
        serde_json::from_slice(response.body_bytes()).unwrap()
    }

    #[test]
    fn not_found_has_json_body() {
        let response = ApiError::not_found("file not found").into_response();
        assert_eq!(response.status, 404);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(body_of(&response)["error"]["code"], "not_found");
        assert_eq!(body_of(&response)["error"]["message"], "file not found");
    }

    #[test]
    fn internal_error_hides_detail() {
        let response = ApiError::internal("no such table: files").into_response();
        assert_eq!(response.status, 500);
        let message = body_of(&response)["error"]["message"].to_string();
        assert!(!message.contains("files"), "leaked detail: {message}");
    }

    #[test]
    fn too_many_requests_sets_retry_after() {
        let response = ApiError::TooManyRequests {
            retry_after_secs: 42,
        }
        .into_response();
        assert_eq!(response.status, 429);
        assert_eq!(response.header("retry-after"), Some("42"));
    }
}
