//! Routes of the auth component: `/auth/...`, `/users/...`, `/orgs/...`.

use crate::error::ApiError;
use crate::http::{BodyReader, Request, Response};
use crate::services::Services;

pub fn handle(services: &Services, request: &Request, body: &mut dyn BodyReader) -> Response {
    let _ = (services, body);
    ApiError::not_found(format!("no route for {}", request.path)).into_response()
}
