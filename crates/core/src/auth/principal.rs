//! The authenticated caller of a request.

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

/// Authenticates `request` by its session cookie or `Authorization: Bearer`
/// token. Returns `ApiError::Unauthorized` when neither is valid, and
/// `ApiError::Forbidden` for a cookie-authenticated unsafe request whose
/// `Origin` is not the service's own.
pub fn authenticate(services: &Services, request: &Request) -> Result<Principal, ApiError> {
    let _ = (services, request);
    todo!("session and token authentication")
}
