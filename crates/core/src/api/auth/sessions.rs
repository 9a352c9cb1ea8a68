//! Sign-in, sign-out, the current user and password changes.

use serde::Deserialize;
use serde_json::json;

use super::json::read_json;
use crate::auth::password::{hash_password, verify_password, NewPassword, Password};
use crate::auth::principal::{authenticate_caller, authenticate_session_caller, Credential};
use crate::auth::{cookie, origin, session, users, Username};
use crate::error::ApiError;
use crate::http::{BodyReader, Request, Response};
use crate::limits;
use crate::services::Services;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChangeRequest {
    current_password: String,
    new_password: String,
}

/// POST /auth/login: checks the username and password and starts a new
/// session. Every failure is the same 401, whether the user is unknown,
/// disabled or the password is wrong.
pub fn login(
    services: &Services,
    request: &Request,
    body: &mut dyn BodyReader,
) -> Result<Response, ApiError> {
    // A cross-site sign-in would put the victim's browser into the
    // attacker's account.
    origin::check_same_origin(request)?;
    let login: LoginRequest = read_json(
        request,
        body,
        "an object with string fields username and password",
    )?;

    limits::check_login(services, request.client_addr.as_deref(), &login.username)?;

    let password = Password::new(login.password);
    let user = match Username::parse(&login.username) {
        Ok(username) => users::find_by_username(services.db, &username)?,
        Err(_) => None,
    };
    // Verifies against a dummy hash when there is no user, so that the
    // time taken does not reveal whether the username exists.
    verify_password(
        &password,
        user.as_ref().map(|user| user.password_hash.as_str()),
    )?;
    let user = user
        .filter(|user| !user.disabled)
        .ok_or(ApiError::InvalidCredentials)?;

    let session = session::create(services, &user.id, &user.org_id)?;
    Ok(Response::json(200, &json!({ "user": user.view() }))
        .with_header(
            "set-cookie",
            cookie::session_cookie(&services.config, &session.token),
        )
        .with_header("cache-control", "no-store"))
}

/// POST /auth/logout: ends the cookie's session and clears the cookie.
/// Succeeds without a session too, so that clients can always sign out.
pub fn logout(services: &Services, request: &Request) -> Result<Response, ApiError> {
    origin::check_same_origin(request)?;

    if let Some(token) = cookie::session_token(&services.config, &request.headers) {
        session::delete(services, &token)?;
    }

    Ok(Response::new(204)
        .with_header("set-cookie", cookie::clearing_cookie(&services.config))
        .with_header("cache-control", "no-store"))
}

/// GET /auth/me: the signed-in user, the object that login returns under
/// `user`.
pub fn me(services: &Services, request: &Request) -> Result<Response, ApiError> {
    let caller = authenticate_caller(services, request)?;
    Ok(Response::json(200, &caller.user.view()).with_header("cache-control", "no-store"))
}

/// POST /auth/password: replaces the signed-in user's password. Every
/// session of the user created before the change ends, and the caller
/// gets a new session in place of the current one. API tokens stay valid.
pub fn change_password(
    services: &Services,
    request: &Request,
    body: &mut dyn BodyReader,
) -> Result<Response, ApiError> {
    let caller = authenticate_session_caller(services, request)?;
    let change: PasswordChangeRequest = read_json(
        request,
        body,
        "an object with string fields current_password and new_password",
    )?;

    let current = Password::new(change.current_password);
    if let Err(error) = verify_password(&current, Some(&caller.user.password_hash)) {
        return Err(match error {
            ApiError::InvalidCredentials => ApiError::validation(
                "invalid_current_password",
                "the current password is incorrect",
            ),
            other => other,
        });
    }
    let new_password = NewPassword::parse(Password::new(change.new_password))?;
    if new_password.as_password() == &current {
        return Err(ApiError::validation(
            "password_unchanged",
            "the new password is the same as the current one",
        ));
    }

    let hash = hash_password(new_password.as_password())?;
    let now = services.clock.now_millis();
    users::set_password_hash(
        services.db,
        &caller.user.org_id,
        &caller.user.id,
        &hash,
        now,
    )?;

    let mut response = Response::new(204).with_header("cache-control", "no-store");
    if let Credential::Session(current_session) = &caller.credential {
        // Sessions are valid from `password_changed_at` on, so the new
        // session, created at the same instant, stays valid.
        session::delete(services, &current_session.token)?;
        let fresh = session::create(services, &caller.user.id, &caller.user.org_id)?;
        response = response.with_header(
            "set-cookie",
            cookie::session_cookie(&services.config, &fresh.token),
        );
    }
    Ok(response)
}
