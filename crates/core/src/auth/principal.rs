//! The authenticated caller of a request.

use crate::auth::session::{self, Session, SessionToken};
use crate::auth::users::{self, User};
use crate::auth::{cookie, origin, tokens};
use crate::error::ApiError;
use crate::http::Request;
use crate::services::Services;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// The user a request acts for. Every query on a tenant-owned table takes
/// its organization from `org_id` here, never from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub org_id: String,
    pub username: String,
    pub role: Role,
}

/// The credential a caller authenticated with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session from the session cookie.
    Session(Session),
    /// An API token from `Authorization: Bearer`, by its id.
    ApiToken { token_id: String },
}

/// The caller of a request with their user row and credential, for the
/// auth routes that need more than a [`Principal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: User,
    pub credential: Credential,
}

/// Authenticates `request` by its session cookie or `Authorization: Bearer`
/// token. Returns `ApiError::Unauthorized` when neither is valid, and
/// `ApiError::CrossSiteRequest` (403) for a cookie-authenticated unsafe
/// request whose `Origin` is not the service's own.
pub fn authenticate(services: &Services, request: &Request) -> Result<Principal, ApiError> {
    authenticate_caller(services, request).map(|caller| caller.user.principal())
}

/// Authenticates like [`authenticate`] and returns the whole caller.
///
/// An `Authorization` header takes precedence. When present it must
/// contain a valid Bearer token, and the cookie is not consulted.
pub fn authenticate_caller(services: &Services, request: &Request) -> Result<Caller, ApiError> {
    if let Some(authorization) = request.headers.get("authorization") {
        let secret = bearer_secret(authorization).ok_or(ApiError::Unauthorized)?;
        return tokens::authenticate_token(services, secret);
    }

    let token =
        cookie::session_token(&services.config, &request.headers).ok_or(ApiError::Unauthorized)?;
    if request.method.is_unsafe() {
        origin::check_same_origin(request)?;
    }
    authenticate_session(services, &token)
}

/// Authenticates like [`authenticate_caller`] and also requires a session,
/// for actions that a leaked API token must not be able to take: creating
/// more tokens and changing the password.
pub fn authenticate_session_caller(
    services: &Services,
    request: &Request,
) -> Result<Caller, ApiError> {
    let caller = authenticate_caller(services, request)?;
    match caller.credential {
        Credential::Session(_) => Ok(caller),
        Credential::ApiToken { .. } => Err(ApiError::forbidden(
            "this action requires signing in with a password; API tokens cannot perform it",
        )),
    }
}

/// Loads the session of `token` and its user. A session whose user is
/// gone or disabled, or that began before the user's last password change,
/// is deleted and rejected.
pub fn authenticate_session(services: &Services, token: &SessionToken) -> Result<Caller, ApiError> {
    let Some(mut session) = session::load(services, token)? else {
        return Err(ApiError::Unauthorized);
    };

    let record = &session.record;
    let user = users::find_in_org(services.db, &record.org_id, &record.user_id)?;
    let Some(user) = user.filter(|user| is_valid_for(user, &session)) else {
        session::delete(services, token)?;
        return Err(ApiError::Unauthorized);
    };

    session::touch(services, &mut session)?;
    Ok(Caller {
        user,
        credential: Credential::Session(session),
    })
}

// NOTE: a session created in the same millisecond as a password change
// survives it, because the rotated session of that change must.
fn is_valid_for(user: &User, session: &Session) -> bool {
    !user.disabled && session.record.created_at >= user.password_changed_at
}

/// Returns the token of `Bearer <token>`; the scheme is case-insensitive.
fn bearer_secret(authorization: &str) -> Option<&str> {
    let (scheme, secret) = authorization.trim().split_once(' ')?;
    let secret = secret.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty()).then_some(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::cookie::cookie_name;
    use crate::http::Method;
    use crate::testing::{create_org_and_user, TestEnv};

    fn cookie_request(env: &TestEnv, method: Method, origin: &str) -> Request {
        let user = create_org_and_user(env, "Acme Corp", "alice", Role::Member);
        let session = session::create(&env.services(), &user.user_id, &user.org_id).unwrap();
        let cookie = format!("{}={}", cookie_name(&env.config), session.token.expose());
        Request::new(method, "/files")
            .with_header("cookie", cookie)
            .with_header("host", "files.example")
            .with_header("origin", origin)
    }

    #[test]
    fn unsafe_methods_with_foreign_origin_are_rejected() {
        for method in [Method::Post, Method::Put, Method::Patch, Method::Delete] {
            let env = TestEnv::new();
            let request = cookie_request(&env, method.clone(), "https://evil.example");
            let result = authenticate(&env.services(), &request);
            assert_eq!(result, Err(ApiError::CrossSiteRequest), "{method:?}");
        }
    }

    #[test]
    fn unsafe_methods_with_own_origin_pass() {
        for method in [Method::Post, Method::Put, Method::Patch, Method::Delete] {
            let env = TestEnv::new();
            let request = cookie_request(&env, method.clone(), "http://files.example");
            assert!(
                authenticate(&env.services(), &request).is_ok(),
                "{method:?}"
            );
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_secret("bearer abc"), Some("abc"));
        assert_eq!(bearer_secret("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_secret("Basic abc"), None);
        assert_eq!(bearer_secret("Bearer "), None);
    }
}
