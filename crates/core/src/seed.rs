//! Sample data for trying the service: one organization with one admin.

use crate::auth::password::{hash_password, Password};
use crate::auth::principal::Role;
use crate::auth::username::Username;
use crate::error::ApiError;
use crate::ids::new_id;
use crate::services::Services;
use crate::storage::Database;

pub const SAMPLE_ORG_NAME: &str = "Acme Corp";
pub const SAMPLE_USERNAME: &str = "admin";
pub const SAMPLE_PASSWORD: &str = "password";

/// Creates the organization "Acme Corp" with the admin user `admin` and
/// password `password`, unless an organization of that name exists.
/// Returns `true` when it created them, and then logs a warning, because
/// the password is public.
///
/// The inserts run in one transaction and skip existing rows, so two
/// instances seeding at once create the data once.
pub fn create_sample_data(services: &Services) -> Result<bool, ApiError> {
    // Hashed now with a fresh salt, so no two deployments share a hash.
    let password_hash = hash_password(&Password::new(SAMPLE_PASSWORD))?;
    let username = Username::parse(SAMPLE_USERNAME)?;
    let now = services.clock.now_millis();

    services.db.execute("BEGIN IMMEDIATE", &[])?;
    let result = insert_sample_rows(services.db, &username, &password_hash, now);
    let created = match result {
        Ok(created) => {
            services.db.execute("COMMIT", &[])?;
            created
        }
        Err(error) => {
            let _ = services.db.execute("ROLLBACK", &[]);
            return Err(error);
        }
    };

    if created {
        eprintln!(
            "warning: created sample organization {SAMPLE_ORG_NAME:?} with user \
             {SAMPLE_USERNAME} and password {SAMPLE_PASSWORD:?}; change the password \
             before exposing this service"
        );
    }
    Ok(created)
}

fn insert_sample_rows(
    db: &dyn Database,
    username: &Username,
    password_hash: &str,
    now: i64,
) -> Result<bool, ApiError> {
    let org = db.execute(
        "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?) \
         ON CONFLICT (name) DO NOTHING RETURNING id",
        &[new_id().into(), SAMPLE_ORG_NAME.into(), now.into()],
    )?;
    let Some(org_id) = org.rows.first().and_then(|row| row[0].as_str()) else {
        return Ok(false);
    };

    let user = db.execute(
        "INSERT INTO users (id, org_id, username, password_hash, role, disabled, created_at, \
         password_changed_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?) \
         ON CONFLICT (username) DO NOTHING RETURNING id",
        &[
            new_id().into(),
            org_id.into(),
            username.as_str().into(),
            password_hash.into(),
            Role::Admin.as_str().into(),
            now.into(),
            now.into(),
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
