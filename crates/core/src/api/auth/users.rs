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
/// sets a new password. Disabling ends the user's sessions and stops their
/// API tokens while disabled. A new password ends their sessions and
/// deletes their API tokens, because an admin resets a password when the
/// old credentials may be known to someone else.
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

    if user.id == admin.user_id {
        check_own_update(role, update.disabled, password.is_some())?;
    }

    let password_hash = match &password {
        Some(password) => Some(hash_password(password.as_password())?),
        None => None,
    };
    let now = services.clock.now_millis();

    services.db.execute("BEGIN IMMEDIATE", &[])?;
    let change = UserChange {
        role,
        disabled: update.disabled,
        password_hash: password_hash.as_deref(),
    };
    let result = apply_update(services, &admin.org_id, &user.id, &change, now);
    match result {
        Ok(()) => services.db.execute("COMMIT", &[]).map(drop)?,
        Err(error) => {
            let _ = services.db.execute("ROLLBACK", &[]);
            return Err(error);
        }
    }

    let user = find_in_org(services, &admin, user_id)?;
    Ok(Response::json(
        200,
        &json!({ "user": AdminUserView::from(&user) }),
    ))
}

/// The validated fields of a PATCH /users/{id} request.
struct UserChange<'a> {
    role: Option<Role>,
    disabled: Option<bool>,
    password_hash: Option<&'a str>,
}

/// Rejects the changes an admin may not make to their own account. Losing
/// the admin role or being disabled would lock them out, so every
/// organization keeps at least one enabled admin. Their own password goes
/// through POST /auth/password, which asks for the current one, so that a
/// leaked API token cannot take over the account.
fn check_own_update(
    role: Option<Role>,
    disabled: Option<bool>,
    sets_password: bool,
) -> Result<(), ApiError> {
    let demotes_self = role.is_some_and(|role| role != Role::Admin);
    if demotes_self || disabled == Some(true) {
        return Err(ApiError::conflict(
            "cannot_change_own_access",
            "admins cannot disable or demote themselves; ask another admin",
        ));
    }
    if sets_password {
        return Err(ApiError::conflict(
            "cannot_change_own_access",
            "admins change their own password with POST /auth/password, which checks the \
             current one",
        ));
    }
    Ok(())
}

fn apply_update(
    services: &Services,
    org_id: &str,
    user_id: &str,
    change: &UserChange,
    now: i64,
) -> Result<(), ApiError> {
    if let Some(role) = change.role {
        users::set_role(services.db, org_id, user_id, role)?;
    }
    if let Some(disabled) = change.disabled {
        users::set_disabled(services.db, org_id, user_id, disabled)?;
    }
    if let Some(hash) = change.password_hash {
        users::set_password_hash(services.db, org_id, user_id, hash, now)?;
        tokens::revoke_all_of_user(services, org_id, user_id)?;
    }
    Ok(())
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
    tokens::revoke_all_of_user(services, &admin.org_id, &user.id)?;
    users::delete_user(services.db, &admin.org_id, &user.id)?;
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
    users::find_in_org(services.db, &admin.org_id, user_id)?.ok_or_else(not_found)
}

fn parse_role(value: &str) -> Result<Role, ApiError> {
    Role::parse(value).ok_or_else(|| {
        ApiError::validation(
            "invalid_role",
            format!("unknown role {value:?}; expected \"admin\" or \"member\""),
        )
    })
}
