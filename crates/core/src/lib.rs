//! Stowage's domain logic, independent of Spin.
//!
//! The core owns every rule of the service: validation, the multipart
//! parser, sessions, pagination, SQL statements, tenant scoping and the
//! mapping of errors to HTTP. It reaches storage only through the traits
//! in [`storage`], so the same code runs inside the Spin components (see
//! `stowage-spin-adapter`) and in native tests against real SQLite.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod files;
pub mod http;
pub mod ids;
pub mod limits;
pub mod multipart;
pub mod processing;
pub mod schema;
pub mod seed;
pub mod services;
pub mod startup;
pub mod storage;

#[cfg(test)]
pub mod testing;

pub use error::ApiError;
pub use services::Services;
