//! POST /orgs: creates an organization with its first admin. The operator
//! of the service calls it with the `platform_token` variable as Bearer
//! token; without that variable the route does not exist.

use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::json::read_json;
use crate::auth::password::{hash_password, NewPassword, Password};
use crate::auth::principal::Role;
use crate::auth::users::{self, insert_user_unless_taken};
use crate::auth::Username;
use crate::error::ApiError;
use crate::http::{BodyReader, Method, Request, Response};
use crate::ids::new_id;
use crate::services::Services;
use crate::storage::Database;

pub const MAX_ORG_NAME_CHARS: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateOrgRequest {
    name: String,
    admin_username: String,
    admin_password: String,
}

/// An organization name: 1 to 100 characters after trimming, without
/// control characters.
struct OrgName(String);

impl OrgName {
    fn parse(value: &str) -> Result<OrgName, ApiError> {
        let value = value.trim();
        let problem = if value.is_empty() {
            Some("the organization name is empty".to_owned())
        } else if value.chars().count() > MAX_ORG_NAME_CHARS {
            Some(format!(
                "the organization name is longer than {MAX_ORG_NAME_CHARS} characters"
            ))
        } else if value.chars().any(char::is_control) {
            Some("the organization name contains control characters".to_owned())
        } else {
            None
        };
        match problem {
            Some(message) => Err(ApiError::validation("invalid_org_name", message)),
            None => Ok(OrgName(value.to_owned())),
        }
    }
}

pub fn route(
    services: &Services,
    request: &Request,
    body: &mut dyn BodyReader,
) -> Result<Response, ApiError> {
    let Some(platform_token) = &services.config.platform_token else {
        return Err(crate::api::no_route(request));
    };
    if request.method != Method::Post {
        return Err(crate::api::not_allowed(&request.method, "POST"));
    }
    if !presents_token(request, platform_token.expose()) {
        return Err(ApiError::Unauthorized);
    }
    create(services, request, body)
}

fn create(
    services: &Services,
    request: &Request,
    body: &mut dyn BodyReader,
) -> Result<Response, ApiError> {
    let create: CreateOrgRequest = read_json(
        request,
        body,
        "an object with string fields name, admin_username and admin_password",
    )?;
    let name = OrgName::parse(&create.name)?;
    let username = Username::parse(&create.admin_username)?;
    let password = NewPassword::parse(Password::new(create.admin_password))?;

    let hash = hash_password(password.as_password())?;
    let org_id = new_id();
    let user_id = new_id();
    let now = services.clock.now_millis();

    services.db.execute("BEGIN IMMEDIATE", &[])?;
    let result = insert_org_and_admin(services.db, &org_id, &name, &user_id, &username, &hash, now);
    match result {
        Ok(()) => services.db.execute("COMMIT", &[]).map(drop)?,
        Err(error) => {
            let _ = services.db.execute("ROLLBACK", &[]);
            return Err(error);
        }
    }

    let admin = users::find_in_org(services.db, &org_id, &user_id)?
        .ok_or_else(|| ApiError::internal(format!("created user {user_id} is missing")))?;
    Ok(Response::json(
        201,
        &json!({ "org": { "id": org_id, "name": name.0 }, "user": admin.view() }),
    ))
}

fn insert_org_and_admin(
    db: &dyn Database,
    org_id: &str,
    name: &OrgName,
    user_id: &str,
    username: &Username,
    password_hash: &str,
    now: i64,
) -> Result<(), ApiError> {
    let org = db.execute(
        "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?) \
         ON CONFLICT (lower(name)) DO NOTHING RETURNING id",
        &[org_id.into(), name.0.as_str().into(), now.into()],
    )?;
    if org.is_empty() {
        return Err(ApiError::conflict(
            "org_name_taken",
            format!(
                "an organization named {:?} exists (names are compared ignoring case)",
                name.0
            ),
        ));
    }

    let inserted = insert_user_unless_taken(
        db,
        user_id,
        org_id,
        username,
        password_hash,
        Role::Admin,
        now,
    )?;
    if !inserted {
        return Err(ApiError::conflict(
            "username_taken",
            format!("the username {username} is taken"),
        ));
    }
    Ok(())
}

/// Compares SHA-256 digests, so the comparison time does not depend on
/// how much of the secret a guess got right.
fn presents_token(request: &Request, expected: &str) -> bool {
    let Some(presented) = request
        .headers
        .get("authorization")
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
    else {
        return false;
    };
    Sha256::digest(presented.as_bytes()) == Sha256::digest(expected.as_bytes())
}
