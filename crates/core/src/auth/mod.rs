//! Who is calling: passwords, sessions, API tokens and the principal that
//! every other route is scoped by.

pub mod principal;

pub use principal::{authenticate, Principal, Role};
