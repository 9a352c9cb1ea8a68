//! The database schema and its idempotent application on first use.

use crate::storage::{Database, SqlValue, StorageError};

/// The statements of `migrations.sql`, the file `spin up --sqlite
/// @migrations.sql` applies.
pub const MIGRATIONS_SQL: &str = include_str!("../../../migrations.sql");

/// The schema version written to `PRAGMA user_version` once
/// [`MIGRATIONS_SQL`] has been applied. Raise it with every change to the
/// file.
pub const SCHEMA_VERSION: i64 = 3;

/// Splits [`MIGRATIONS_SQL`] into statements: each ends with a semicolon at
/// the end of a line. Comment lines are dropped.
pub fn migration_statements() -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in MIGRATIONS_SQL.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            statements.push(current.trim().trim_end_matches(';').to_owned());
            current.clear();
        }
    }
    statements
}

/// Applies the schema unless the database already has it. Returns `true`
/// when this call created or upgraded the schema.
///
/// A database that is up to date costs one `PRAGMA user_version` read, so
/// calling this at the start of every request keeps read-only requests
/// free of writes.
pub fn ensure_schema(db: &dyn Database) -> Result<bool, StorageError> {
    ensure_schema_with(db, |_| Ok(()))
}

/// Applies the schema like [`ensure_schema`] and, when this call applies
/// it, runs `seed` in the same transaction. Other instances therefore
/// never see the new schema without the seeded rows.
pub fn ensure_schema_with(
    db: &dyn Database,
    seed: impl FnOnce(&dyn Database) -> Result<(), StorageError>,
) -> Result<bool, StorageError> {
    if is_current(db)? {
        return Ok(false);
    }

    // BEGIN IMMEDIATE takes the write lock before re-reading the version,
    // so two instances starting together apply the migrations once.
    db.execute("BEGIN IMMEDIATE", &[])?;
    let result = apply_locked(db, seed);
    match result {
        Ok(applied) => {
            db.execute("COMMIT", &[])?;
            Ok(applied)
        }
        Err(error) => {
            let _ = db.execute("ROLLBACK", &[]);
            Err(error)
        }
    }
}

/// Returns whether the database has the current schema, with one
/// `PRAGMA user_version` read.
pub fn is_current(db: &dyn Database) -> Result<bool, StorageError> {
    Ok(user_version(db)? >= SCHEMA_VERSION)
}

fn apply_locked(
    db: &dyn Database,
    seed: impl FnOnce(&dyn Database) -> Result<(), StorageError>,
) -> Result<bool, StorageError> {
    if is_current(db)? {
        return Ok(false);
    }
    for statement in migration_statements() {
        db.execute(&statement, &[])?;
    }
    seed(db)?;
    // PRAGMA takes no bound parameters; the version is a constant.
    db.execute(&format!("PRAGMA user_version = {SCHEMA_VERSION}"), &[])?;
    Ok(true)
}

fn user_version(db: &dyn Database) -> Result<i64, StorageError> {
    let rows = db.execute("PRAGMA user_version", &[])?;
    Ok(rows
        .rows
        .first()
        .and_then(|row| row.first())
        .and_then(SqlValue::as_i64)
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;

    #[test]
    fn schema_applies_once() {
        let db = TestDatabase::new();
        assert!(ensure_schema(&db).unwrap());
        assert!(!ensure_schema(&db).unwrap());
        let rows = db
            .execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", &[])
            .unwrap();
        let tables: Vec<&str> = rows.rows.iter().filter_map(|row| row[0].as_str()).collect();
        assert_eq!(
            tables,
            ["api_tokens", "file_chunks", "files", "organizations", "rate_limits", "users"]
        );
    }

    #[test]
    fn upgrade_from_version_2_makes_org_names_unique_ignoring_case() {
        let db = TestDatabase::new();
        ensure_schema(&db).unwrap();
        db.execute("DROP INDEX organizations_by_name_key", &[])
            .unwrap();
        db.execute("PRAGMA user_version = 2", &[]).unwrap();
        db.execute(
            "INSERT INTO organizations (id, name, created_at) VALUES ('a', 'Globex', 0)",
            &[],
        )
        .unwrap();

        assert!(ensure_schema(&db).unwrap());

        let duplicate = db.execute(
            "INSERT INTO organizations (id, name, created_at) VALUES ('b', 'GLOBEX', 0)",
            &[],
        );
        assert!(duplicate.is_err(), "{duplicate:?}");
    }

    #[test]
    fn migrations_are_idempotent() {
        let db = TestDatabase::new();
        for statement in migration_statements() {
            db.execute(&statement, &[]).unwrap();
        }
        for statement in migration_statements() {
            db.execute(&statement, &[]).unwrap();
        }
    }
}
