//! Stowage core's storage traits and HTTP types implemented with spin-sdk.
//!
//! Everything Spin-specific the components need lives here, so that a
//! component is its routing entry point plus a few lines of glue.

mod app;
mod http;
mod key_value;
mod redis;
mod sqlite;
mod variables;

pub use app::{serve, Handler};
pub use http::{into_core_request, send_response, IncomingBodyReader};
pub use key_value::SpinKeyValue;
pub use redis::RedisPublisher;
pub use sqlite::SpinDatabase;
pub use variables::{load_config, variable};
