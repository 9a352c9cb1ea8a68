//! API token routes: create, list and revoke the caller's own tokens.

use serde::Deserialize;
use serde_json::json;

use super::json::read_json;
use crate::auth::principal::{authenticate_caller, authenticate_session_caller};
use crate::auth::tokens::{self, TokenName};
use crate::error::ApiError;
use crate::http::{BodyReader, Request, Response};
use crate::ids::is_valid_id;
use crate::services::Services;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTokenRequest {
    name: String,
    expires_in_days: Option<i64>,
}

/// POST /auth/tokens: creates a token and returns its secret, the only
/// time the secret is shown. Requires a session, so that a leaked token
/// cannot create replacements for itself.
pub fn create(
    services: &Services,
    request: &Request,
    body: &mut dyn BodyReader,
) -> Result<Response, ApiError> {
    let caller = authenticate_session_caller(services, request)?;
    let create: CreateTokenRequest = read_json(
        request,
        body,
        "an object with a string field name and an optional integer field expires_in_days",
    )?;
    let name = TokenName::parse(&create.name)?;

    let created = tokens::create(services, &caller, &name, create.expires_in_days)?;
    Ok(Response::json(201, &created).with_header("cache-control", "no-store"))
}

/// GET /auth/tokens: the caller's tokens, without secrets.
pub fn list(services: &Services, request: &Request) -> Result<Response, ApiError> {
    let caller = authenticate_caller(services, request)?;
    let tokens = tokens::list(services, &caller)?;
    Ok(Response::json(200, &json!({ "tokens": tokens })))
}

/// DELETE /auth/tokens/{id}: revokes one of the caller's tokens.
pub fn revoke(
    services: &Services,
    request: &Request,
    token_id: &str,
) -> Result<Response, ApiError> {
    let caller = authenticate_caller(services, request)?;
    if !is_valid_id(token_id) {
        return Err(ApiError::not_found("token not found"));
    }
    tokens::revoke(services, &caller, token_id)?;
    Ok(Response::new(204))
}
