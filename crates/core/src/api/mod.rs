//! The HTTP routes, one module per component: each `handle` function
//! routes a request to its handler and turns every error into the JSON
//! error response.

pub mod auth;
pub mod files;

use crate::error::ApiError;
use crate::http::{Method, Request, Response};

/// Turns a route's result into its response: an error becomes its JSON
/// body, and a HEAD request gets the GET response without its body.
fn finish(request: &Request, result: Result<Response, ApiError>) -> Response {
    let response = result.unwrap_or_else(ApiError::into_response);
    match request.method {
        Method::Head => response.into_head_response(),
        _ => response,
    }
}

/// Returns the JSON 404 for a path that no route handles.
fn no_route(request: &Request) -> ApiError {
    ApiError::not_found(format!("no route for {}", request.path))
}

/// Returns the 405 for `method` on a route that allows only `allowed`.
fn not_allowed(method: &Method, allowed: &'static str) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.as_str().to_owned(),
        allowed,
    }
}
