//! User administration for organization admins: list, create, update and
//! delete the users of the caller's own organization.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::json::read_json;
use crate::auth::password::{hash_password, NewPassword, Password};
use crate::auth::principal::{authenticate, Principal, Role};
use crate::auth::users::{self, User};
use crate::auth::{tokens, Username};
use crate::clock::format_rfc3339;
use crate::error::ApiError;
use crate::http::{BodyReader, Request, Response};
use crate::ids::{is_valid_id, new_id};
use crate::services::Services;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserRequest {
    username: String,
    password: String,
    role: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateUserRequest {
    role: Option<String>,
    disabled: Option<bool>,
    password: Option<String>,
}

/// A user as admins see it.
#[derive(Serialize)]
struct AdminUserView {
    id: String,
    username: String,
    role: &'static str,
    disabled: bool,
    created_at: String,
}

impl From<&User> for AdminUserView {
    fn from(user: &User) -> Self {
        AdminUserView {
            id: user.id.clone(),
            username: user.username.clone(),
            role: user.role.as_str(),
            disabled: user.disabled,
            created_at: format_rfc3339(user.created_at),
        }
    }
}

/// GET /users
pub fn list(services: &Services, request: &Request) -> Result<Response, ApiError> {
    let admin = authenticate_admin(services, request)?;
    let users = users::list_in_org(services.db, &admin.org_id)?;
    let views: Vec<AdminUserView> = users.iter().map(AdminUserView::from).collect();
    Ok(Response::json(200, &json!({ "users": views })))
}

/// GET /users/{id}
pub fn get(services: &Services, request: &Request, user_id: &str) -> Result<Response, ApiError> {
    let admin = authenticate_admin(services, request)?;
    let user = find_in_org(services, &admin, user_id)?;
    Ok(Response::json(
        200,
        &json!({ "user": AdminUserView::from(&user) }),
    ))
}

/// POST /users: creates a user in the admin's organization.
pub fn create(
    services: &Services,
    request: &Request,
    body: &mut dyn BodyReader,
) -> Result<Response, ApiError> {
    let admin = authenticate_admin(services, request)?;
    let create: CreateUserRequest = read_json(
        request,
        body,
        "an object with string fields username, password and optionally role",
    )?;
    let username = Username::parse(&create.username)?;
    let password = NewPassword::parse(Password::new(create.password))?;
    let role = match create.role.as_deref() {
        Some(role) => parse_role(role)?,
        None => Role::Member,
    };

    let hash = hash_password(password.as_password())?;
    let user_id = new_id();
    let now = services.clock.now_millis();
    let inserted = users::insert_user_unless_taken(
        services.db,
        &user_id,
        &admin.org_id,
        &username,
        &hash,
        role,
        now,
    )?;
    if !inserted {
        return Err(ApiError::conflict(
            "username_taken",
            format!("the username {username} is taken"),
        ));
    }

    let user = find_in_org(services, &admin, &user_id)?;
    Ok(
        Response::json(201, &json!({ "user": AdminUserView::from(&user) }))
            .with_header("location", format!("/users/{user_id}")),
    )
}

/// PATCH /users/{id}: changes a user's role, disables or enables them, or
/// sets a new password. Disabling and a new password end the user's
/// sessions, and disabling also stops their API tokens.
pub fn update(
    services: &Services,
    request: &Request,
    body: &mut dyn BodyReader,
    user_id: &str,
) -> Result<Response, ApiError> {
    let admin = authenticate_admin(services, request)?;
    let user = find_in_org(services, &admin, user_id)?;
    let update: UpdateUserRequest = read_json(
        request,
        body,
        "an object with optional fields role (string), disabled (boolean) and password (string)",
    )?;
    let role = update.role.as_deref().map(parse_role).transpose()?;
    let password = update
        .password
        .map(|password| NewPassword::parse(Password::new(password)))
        .transpose()?;

    // An admin cannot lock themselves out, so every organization keeps at
    // least one enabled admin.
    let demotes_self = role.is_some_and(|role| role != Role::Admin);
    let disables_self = update.disabled == Some(true);
    if user.id == admin.user_id && (demotes_self || disables_self) {
        return Err(ApiError::conflict(
            "cannot_change_own_access",
            "admins cannot disable or demote themselves; ask another admin",
        ));
    }

    let now = services.clock.now_millis();
    if let Some(role) = role {
        users::set_role(services.db, &user.id, role)?;
    }
    if let Some(disabled) = update.disabled {
        users::set_disabled(services.db, &user.id, disabled)?;
    }
    if let Some(password) = password {
        let hash = hash_password(password.as_password())?;
        users::set_password_hash(services.db, &user.id, &hash, now)?;
    }

    let user = find_in_org(services, &admin, user_id)?;
    Ok(Response::json(
        200,
        &json!({ "user": AdminUserView::from(&user) }),
    ))
}

/// DELETE /users/{id}: deletes a user and their API tokens. Their
/// sessions end at their next request, when the user is not found.
pub fn delete(services: &Services, request: &Request, user_id: &str) -> Result<Response, ApiError> {
    let admin = authenticate_admin(services, request)?;
    let user = find_in_org(services, &admin, user_id)?;
    if user.id == admin.user_id {
        return Err(ApiError::conflict(
            "cannot_change_own_access",
            "admins cannot delete themselves; ask another admin",
        ));
    }

    // NOTE: files keep the deleted user's id in `uploaded_by`, because they
    // belong to the organization and stay with it.
    tokens::revoke_all_of_user(services, &user.id)?;
    users::delete_user(services.db, &user.id)?;
    Ok(Response::new(204))
}

fn authenticate_admin(services: &Services, request: &Request) -> Result<Principal, ApiError> {
    let principal = authenticate(services, request)?;
    if principal.role != Role::Admin {
        return Err(ApiError::forbidden(
            "only organization admins can manage users",
        ));
    }
    Ok(principal)
}

/// Loads a user of the admin's organization; a user of another
/// organization is not found, like a missing one.
fn find_in_org(services: &Services, admin: &Principal, user_id: &str) -> Result<User, ApiError> {
    let not_found = || ApiError::not_found("user not found");
    if !is_valid_id(user_id) {
        return Err(not_found());
    }
    users::find_by_id(services.db, user_id)?
        .filter(|user| user.org_id == admin.org_id)
        .ok_or_else(not_found)
}

fn parse_role(value: &str) -> Result<Role, ApiError> {
    Role::parse(value).ok_or_else(|| {
        ApiError::validation(
            "invalid_role",
            format!("unknown role {value:?}; expected \"admin\" or \"member\""),
        )
    })
}
