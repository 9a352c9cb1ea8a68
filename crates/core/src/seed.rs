//! Sample data for trying the service: one organization with one admin.

use crate::auth::password::{hash_password, Password};
use crate::auth::principal::Role;
use crate::error::ApiError;
use crate::ids::new_id;
use crate::services::Services;
use crate::storage::{Database, StorageError};

pub const SAMPLE_ORG_NAME: &str = "Acme Corp";
pub const SAMPLE_USERNAME: &str = "admin";
pub const SAMPLE_PASSWORD: &str = "password";

/// The organization "Acme Corp" with the admin `admin` and password
/// `password`, ready to insert.
pub struct SampleData {
    password_hash: String,
    now: i64,
}

impl SampleData {
    /// Hashes the sample password with a fresh salt, so that no two
    /// deployments share a hash. Hashing takes tens of milliseconds, which
    /// is why it happens before the schema's write lock is taken.
    pub fn prepare(services: &Services) -> Result<SampleData, ApiError> {
        Ok(SampleData {
            password_hash: hash_password(&Password::new(SAMPLE_PASSWORD))?,
            now: services.clock.now_millis(),
        })
    }

    /// Inserts the organization and its admin unless an organization of
    /// that name exists. Returns whether it inserted them. Callers run it
    /// inside a transaction, so that both rows appear together.
    pub fn insert(&self, db: &dyn Database) -> Result<bool, StorageError> {
        let org = db.execute(
            "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (lower(name)) DO NOTHING RETURNING id",
            &[new_id().into(), SAMPLE_ORG_NAME.into(), self.now.into()],
        )?;
        let Some(org_id) = org.rows.first().and_then(|row| row[0].as_str()) else {
            return Ok(false);
        };

        let user = db.execute(
            "INSERT INTO users (id, org_id, username, password_hash, role, disabled, \
             created_at, password_changed_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?) \
             ON CONFLICT (username) DO NOTHING RETURNING id",
            &[
                new_id().into(),
                org_id.into(),
                SAMPLE_USERNAME.into(),
                self.password_hash.as_str().into(),
                Role::Admin.as_str().into(),
                self.now.into(),
                self.now.into(),
            ],
        )?;
        if user.is_empty() {
            eprintln!(
                "warning: created sample organization {SAMPLE_ORG_NAME:?} without a user, \
                 because the username {SAMPLE_USERNAME:?} is taken"
            );
        }
        Ok(true)
    }
}

/// Logs that the sample data exists, because its password is public.
pub fn warn_sample_data_created() {
    eprintln!(
        "warning: created sample organization {SAMPLE_ORG_NAME:?} with user \
         {SAMPLE_USERNAME} and password {SAMPLE_PASSWORD:?}; change the password \
         before exposing this service"
    );
}
