//! Authentication: passwords, sessions, API tokens and the principal
//! that scopes every other route to one organization.

pub mod cookie;
pub mod origin;
pub mod password;
pub mod principal;
pub mod session;
pub mod tokens;
pub mod username;
pub mod users;

pub use password::{NewPassword, Password};
pub use principal::{authenticate, authenticate_caller, Caller, Credential, Principal, Role};
pub use username::Username;
