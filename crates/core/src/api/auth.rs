//! Routes of the auth component: `/auth/...`, `/users/...`, `/orgs/...`.

mod json;
mod orgs;
mod sessions;
mod tokens;
mod users;

#[cfg(test)]
mod tests;

use super::{no_route, not_allowed};
use crate::error::ApiError;
use crate::http::{BodyReader, Method, Request, Response};
use crate::services::Services;

/// Path prefixes of this component's routes in spin.toml. The catch-all
/// route `/...` also sends every other path here, to get the JSON 404.
const ROUTE_PREFIXES: [&str; 3] = ["/auth", "/users", "/orgs"];

/// Routes `request` to its handler and turns every error into its JSON
/// response. A HEAD request gets the GET response without its body.
pub fn handle(services: &Services, request: &Request, body: &mut dyn BodyReader) -> Response {
    super::finish(request, route(services, request, body))
}

fn route(
    services: &Services,
    request: &Request,
    body: &mut dyn BodyReader,
) -> Result<Response, ApiError> {
    // Paths of no route end here, before the schema check and before
    // authentication, so the catch-all route costs no database access.
    if !has_route_prefix(&request.path) {
        return Err(no_route(request));
    }
    crate::startup::prepare(services)?;

    let segments = request.path_segments();
    let method = &request.method;
    match segments.as_slice() {
        ["auth", "login"] => match method {
            Method::Post => sessions::login(services, request, body),
            _ => Err(not_allowed(method, "POST")),
        },
        ["auth", "logout"] => match method {
            Method::Post => sessions::logout(services, request),
            _ => Err(not_allowed(method, "POST")),
        },
        ["auth", "me"] => match method {
            Method::Get | Method::Head => sessions::me(services, request),
            _ => Err(not_allowed(method, "GET, HEAD")),
        },
        ["auth", "password"] => match method {
            Method::Post => sessions::change_password(services, request, body),
            _ => Err(not_allowed(method, "POST")),
        },
        ["auth", "tokens"] => match method {
            Method::Get | Method::Head => tokens::list(services, request),
            Method::Post => tokens::create(services, request, body),
            _ => Err(not_allowed(method, "GET, HEAD, POST")),
        },
        ["auth", "tokens", token_id] => match method {
            Method::Delete => tokens::revoke(services, request, token_id),
            _ => Err(not_allowed(method, "DELETE")),
        },
        ["users"] => match method {
            Method::Get | Method::Head => users::list(services, request),
            Method::Post => users::create(services, request, body),
            _ => Err(not_allowed(method, "GET, HEAD, POST")),
        },
        ["users", user_id] => match method {
            Method::Get | Method::Head => users::get(services, request, user_id),
            Method::Patch => users::update(services, request, body, user_id),
            Method::Delete => users::delete(services, request, user_id),
            _ => Err(not_allowed(method, "GET, HEAD, PATCH, DELETE")),
        },
        ["orgs"] => orgs::route(services, request, body),
        _ => Err(no_route(request)),
    }
}

/// Returns whether `path` is one of [`ROUTE_PREFIXES`] or below one. The
/// raw path is compared, so `//auth/me` has no route, as in Spin's router.
fn has_route_prefix(path: &str) -> bool {
    ROUTE_PREFIXES.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}
