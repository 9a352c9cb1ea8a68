//! Bulk inserts into the default database, for listings of known size.
//! Rows are written straight to the SQLite file in one transaction,
//! beside the running host, because creating a million files through the
//! API would take hours.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rusqlite::{params, Connection};

/// The newest file's `created_at` in milliseconds; file `i` is `i`
/// milliseconds older, so the listing order is the insertion order.
const NEWEST_CREATED_AT: i64 = 1_767_225_600_000;

/// The position and cursor fields of one inserted file.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: String,
    pub created_at: i64,
}

/// Opens the host's database, waiting for the host's own writes.
pub fn open(path: &Path) -> Result<Connection> {
    let connection =
        Connection::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    connection.busy_timeout(Duration::from_secs(30))?;
    Ok(connection)
}

/// Returns the organization id of user `username`.
pub fn org_of_user(db: &Connection, username: &str) -> Result<(String, String)> {
    db.query_row(
        "SELECT org_id, id FROM users WHERE username = ?",
        [username],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .with_context(|| format!("user {username:?} not found in the database"))
}

/// Creates an organization named `name` with the admin `username` and
/// `password`, hashed with the login's argon2id parameters. Returns the
/// organization id and the user id.
pub fn create_org(db: &Connection, name: &str, username: &str, password: &str) -> Result<(String, String)> {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()).expect("a 16-byte salt");
    let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| anyhow::anyhow!("failed to hash the password: {error}"))?
        .to_string();

    let org_id = uuid::Uuid::new_v4().to_string();
    let user_id = uuid::Uuid::new_v4().to_string();
    db.execute(
        "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)",
        params![org_id, name, NEWEST_CREATED_AT],
    )?;
    db.execute(
        "INSERT INTO users (id, org_id, username, password_hash, role, disabled, created_at, \
         password_changed_at) VALUES (?, ?, ?, ?, 'admin', 0, ?, ?)",
        params![user_id, org_id, username, hash, NEWEST_CREATED_AT, NEWEST_CREATED_AT],
    )?;
    Ok((org_id, user_id))
}

/// Inserts `count` ready files of 1 KiB each into `org_id`, newest first,
/// in one transaction, and returns the file at listing position `keep`
/// (0 is the newest).
pub fn insert_files(
    db: &mut Connection,
    org_id: &str,
    user_id: &str,
    count: usize,
    keep: usize,
) -> Result<FileRow> {
    let transaction = db.transaction()?;
    let mut kept = None;
    {
        let mut insert = transaction.prepare(
            "INSERT INTO files (id, org_id, uploaded_by, filename, declared_type, status, size, \
             chunk_count, mime_type, sha256, attempts, created_at, updated_at, processed_at) \
             VALUES (?1, ?2, ?3, ?4, 'text/plain', 'ready', 1024, 1, 'text/plain', ?5, 1, ?6, ?6, ?6)",
        )?;
        for position in 0..count {
            let id = uuid::Uuid::new_v4().to_string();
            let created_at = NEWEST_CREATED_AT - position as i64;
            let filename = format!("report-{position:07}.txt");
            // A fixed digest: listing reads it but nothing checks it.
            let sha256 = "0".repeat(64);
            insert.execute(params![id, org_id, user_id, filename, sha256, created_at])?;
            if position == keep {
                kept = Some(FileRow { id, created_at });
            }
        }
    }
    transaction.commit()?;
    kept.with_context(|| format!("position {keep} is beyond the {count} inserted files"))
}

/// Builds the `?cursor=` that starts the listing right after `row`: hex of
/// `created_at.id`, the format `stowage_core::files::list::Cursor`
/// encodes. It is opaque to clients; the benchmark builds it to reach a
/// deep page without walking every page before it.
pub fn cursor_after(row: &FileRow) -> String {
    hex::encode(format!("{}.{}", row.created_at, row.id))
}
