//! Routes of the auth component: `/auth/...`, `/users/...`, `/orgs/...`.

mod json;
mod orgs;
mod sessions;
mod tokens;
mod users;

#[cfg(test)]
mod tests;

use crate::error::ApiError;
use crate::http::{BodyReader, Method, Request, Response};
use crate::services::Services;

/// Routes `request` to its handler and turns every error into its JSON
/// response.
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

    let segments = request.path_segments();
    let method = &request.method;
    match segments.as_slice() {
        ["auth", "login"] => match method {
            Method::Post => sessions::login(services, request, body),
            _ => not_allowed(method, "POST"),
        },
        ["auth", "logout"] => match method {
            Method::Post => sessions::logout(services, request),
            _ => not_allowed(method, "POST"),
        },
        ["auth", "me"] => match method {
            Method::Get => sessions::me(services, request),
            _ => not_allowed(method, "GET"),
        },
        ["auth", "password"] => match method {
            Method::Post => sessions::change_password(services, request, body),
            _ => not_allowed(method, "POST"),
        },
        ["auth", "tokens"] => match method {
            Method::Get => tokens::list(services, request),
            Method::Post => tokens::create(services, request, body),
            _ => not_allowed(method, "GET, POST"),
        },
        ["auth", "tokens", token_id] => match method {
            Method::Delete => tokens::revoke(services, request, token_id),
            _ => not_allowed(method, "DELETE"),
        },
        ["users"] => match method {
            Method::Get => users::list(services, request),
            Method::Post => users::create(services, request, body),
            _ => not_allowed(method, "GET, POST"),
        },
        ["users", user_id] => match method {
            Method::Get => users::get(services, request, user_id),
            Method::Patch => users::update(services, request, body, user_id),
            Method::Delete => users::delete(services, request, user_id),
            _ => not_allowed(method, "GET, PATCH, DELETE"),
        },
        ["orgs"] => orgs::route(services, request, body),
        _ => Err(ApiError::not_found(format!(
            "no route for {}",
            request.path
        ))),
    }
}

fn not_allowed(method: &Method, allowed: &'static str) -> Result<Response, ApiError> {
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
    Err(ApiError::MethodNotAllowed {
        method: method.to_owned(),
        allowed,
    })
}
