//! The HTTP routes, one module per component: each `handle` function
//! routes a request to its handler and turns every error into the JSON
//! error response.

pub mod auth;
pub mod files;
