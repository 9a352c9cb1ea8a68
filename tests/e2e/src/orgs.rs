//! Creating a second organization for the isolation tests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rusqlite::{params, Connection, OpenFlags};
use serde_json::json;

use crate::poll::poll_until;
use crate::stowage::Stowage;

/// Creates organization `name` with an admin user `username` who signs in
/// with `password`.
///
/// With a `platform_token` variable this calls POST /orgs as the operator
/// does. Without one (spin.toml does not declare it yet), it writes the
/// rows into the host's database file the way the auth rules would: random
/// UUIDs and an argon2id PHC hash with OWASP's minimum parameters.
pub fn create_organization(stowage: &Stowage, name: &str, username: &str, password: &str) {
    match stowage.options().variable_value("platform_token") {
        Some(token) => create_with_api(stowage, token, name, username, password),
        None => insert_into_database(stowage, name, username, password),
    }
}

fn create_with_api(stowage: &Stowage, token: &str, name: &str, username: &str, password: &str) {
    let body = json!({
        "name": name,
        "admin_username": username,
        "admin_password": password,
    });
    let bytes = serde_json::to_vec(&body).expect("a JSON value serializes");
    let authorization = format!("Bearer {token}");
    let headers = [
        ("content-type", "application/json"),
        ("authorization", authorization.as_str()),
    ];

    let response = stowage.client().post("/orgs", &headers, &bytes);

    assert_eq!(
        response.status,
        201,
        "POST /orgs for {name:?} failed: {}",
        response.text()
    );
}

fn insert_into_database(stowage: &Stowage, name: &str, username: &str, password: &str) {
    wait_for_schema(stowage);

    let path = stowage.database_path();
    let mut connection = Connection::open(&path)
        .unwrap_or_else(|error| panic!("failed to open {}: {error}", path.display()));
    connection
        .busy_timeout(Duration::from_secs(10))
        .expect("setting a busy timeout succeeds");

    let now = now_millis();
    let org_id = uuid::Uuid::new_v4().to_string();
    let user_id = uuid::Uuid::new_v4().to_string();
    let password_hash = hash_password(password);
    let transaction = connection
        .transaction()
        .expect("starting a transaction succeeds");
    transaction
        .execute(
            "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)",
            params![org_id, name, now],
        )
        .unwrap_or_else(|error| panic!("failed to insert organization {name:?}: {error}"));
    transaction
        .execute(
            "INSERT INTO users (id, org_id, username, password_hash, role, disabled, \
             created_at, password_changed_at) VALUES (?1, ?2, ?3, ?4, 'admin', 0, ?5, ?5)",
            params![user_id, org_id, username, password_hash, now],
        )
        .unwrap_or_else(|error| panic!("failed to insert user {username:?}: {error}"));
    transaction
        .commit()
        .expect("committing the new organization succeeds");
}

/// Makes a request so that the components apply the schema, then waits
/// until the database reports it (`PRAGMA user_version` of 1 or more).
fn wait_for_schema(stowage: &Stowage) {
    let _ = stowage.client().get("/auth/me");

    let path = stowage.database_path();
    let applied = poll_until(Duration::from_secs(10), || {
        let connection =
            Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .ok()?;
        (version >= 1).then_some(())
    });
    assert!(
        applied.is_some(),
        "the host did not create the schema in {} after a request",
        path.display()
    );
}

fn hash_password(password: &str) -> String {
    let params = Params::new(19 * 1024, 2, 1, None).expect("the argon2 parameters are valid");
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes make a valid salt");
    hasher
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing a password succeeds")
        .to_string()
}

fn now_millis() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(elapsed.as_millis()).expect("the time fits in i64")
}
