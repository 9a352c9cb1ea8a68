//! Routes of the files component: `/files/...`.
//!
//! | method | path                  | handler                    |
//! |--------|-----------------------|----------------------------|
//! | GET    | `/files`              | [`files::list`]            |
//! | POST   | `/files`              | [`files::upload`]          |
//! | GET    | `/files/{id}`         | [`files::details`]         |
//! | DELETE | `/files/{id}`         | [`files::delete`]          |
//! | GET    | `/files/{id}/content` | [`files::download`]        |
//!
//! Every route requires authentication. A trailing slash is ignored.

use crate::auth;
use crate::error::ApiError;
use crate::files;
use crate::http::{BodyReader, Method, Request, Response};
use crate::services::Services;

/// Handles one request to the files component and turns every error into
/// its JSON response.
pub fn handle(services: &Services, request: &Request, body: &mut dyn BodyReader) -> Response {
    match route(services, request, body) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn route(
    services: &Services,
    request: &Request,
    body: &mut dyn BodyReader,
) -> Result<Response, ApiError> {
    crate::startup::prepare(services)?;
    let principal = auth::authenticate(services, request)?;

    let db = services.db;
    let method = &request.method;
    match request.path_segments().as_slice() {
        ["files"] => match method {
            Method::Get => files::list(db, &principal, request),
            Method::Post => files::upload(services, &principal, request, body),
            _ => Err(not_allowed(method, "GET, POST")),
        },
        ["files", id] => match method {
            Method::Get => files::details(db, &principal, id),
            Method::Delete => files::delete(db, &principal, id),
            _ => Err(not_allowed(method, "GET, DELETE")),
        },
        ["files", id, "content"] => match method {
            Method::Get => files::download(db, &principal, id),
            _ => Err(not_allowed(method, "GET")),
        },
        _ => Err(ApiError::not_found(format!(
            "no route for {}",
            request.path
        ))),
    }
}

fn not_allowed(method: &Method, allowed: &'static str) -> ApiError {
    let method = match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Options => "OPTIONS",
        Method::Other(name) => name,
    };
    ApiError::MethodNotAllowed {
        method: method.to_owned(),
        allowed,
    }
}
