//! The harness of the end-to-end tests in `tests/`: it runs the real wasm
//! components in `stowage-host` against a real `redis-server`, both as
//! child processes on free ports of 127.0.0.1, and talks HTTP to them.
//!
//! `scripts/test` builds what the harness runs (`target/release/stowage-host`
//! and the three `.wasm` files) and then runs these tests in release mode.

mod client;
mod database;
mod fixtures;
mod login;
mod multipart;
mod orgs;
mod paths;
mod pipeline;
mod poll;
mod processors;
mod raw_http;
mod redis;
mod stack;
mod stowage;

pub use client::{percent_encode, Client, Response, SESSION_COOKIE};
pub use database::Database;
pub use fixtures::{fixture, random_file, sha256sum, EMPTY_SHA256, MAX_UPLOAD_BYTES};
pub use login::login_with_retry;
pub use orgs::create_organization;
pub use paths::repo_root;
pub use pipeline::{check_download, check_metadata, upload_and_wait, UploadKind};
pub use poll::poll_until;
pub use processors::TwoProcessors;
pub use raw_http::{RawBody, RawRequest};
pub use redis::RedisServer;
pub use stack::{Stack, StackHandle, ADMIN_PASSWORD, ADMIN_USERNAME};
pub use stowage::{Stowage, StowageOptions};
