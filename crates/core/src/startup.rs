//! Work done before a component handles its first request.

use crate::error::ApiError;
use crate::schema::{ensure_schema, ensure_schema_with, is_current};
use crate::seed::{warn_sample_data_created, SampleData};
use crate::services::Services;

/// Applies the schema when the database lacks it and, on that first run
/// with `sample_data` set, creates the sample organization and user.
///
/// The sample rows are inserted in the transaction that applies the
/// schema, so a request served by another instance meanwhile waits for
/// both and never finds the schema without the sample user.
pub fn prepare(services: &Services) -> Result<(), ApiError> {
    if !services.config.sample_data {
        ensure_schema(services.db)?;
        return Ok(());
    }
    if is_current(services.db)? {
        return Ok(());
    }

    let sample = SampleData::prepare(services)?;
    let mut created = false;
    ensure_schema_with(services.db, |db| {
        created = sample.insert(db)?;
        Ok(())
    })?;

    if created {
        warn_sample_data_created();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::SAMPLE_ORG_NAME;
    use crate::storage::Database;
    use crate::testing::{TestDatabase, TestEnv};

    fn count(db: &dyn Database, sql: &str) -> i64 {
        db.execute(sql, &[]).unwrap().rows[0][0].as_i64().unwrap()
    }

    /// Builds a TestEnv whose database has no schema yet, like a first start.
    fn fresh_env(sample_data: bool) -> TestEnv {
        let mut env = TestEnv::new();
        env.db = TestDatabase::new();
        env.config.sample_data = sample_data;
        env
    }

    #[test]
    fn sample_data_is_created_on_first_start() {
        let env = fresh_env(true);

        prepare(&env.services()).unwrap();

        let orgs = env
            .db
            .execute("SELECT name FROM organizations", &[])
            .unwrap();
        assert_eq!(orgs.rows.len(), 1);
        assert_eq!(orgs.rows[0][0].as_str(), Some(SAMPLE_ORG_NAME));
        let users = env
            .db
            .execute("SELECT username, role, password_hash FROM users", &[])
            .unwrap();
        assert_eq!(users.rows.len(), 1);
        assert_eq!(users.rows[0][0].as_str(), Some("admin"));
        assert_eq!(users.rows[0][1].as_str(), Some("admin"));
        let hash = users.rows[0][2].as_str().unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }

    #[test]
    fn sample_data_is_created_once() {
        let env = fresh_env(true);

        prepare(&env.services()).unwrap();
        prepare(&env.services()).unwrap();
        // An instance that prepared the sample before another one applied
        // the schema inserts nothing.
        let sample = SampleData::prepare(&env.services()).unwrap();
        let inserted_again = sample.insert(&env.db).unwrap();

        assert!(!inserted_again);
        assert_eq!(count(&env.db, "SELECT COUNT(*) FROM organizations"), 1);
        assert_eq!(count(&env.db, "SELECT COUNT(*) FROM users"), 1);
    }

    #[test]
    fn sample_data_is_committed_with_schema() {
        let env = fresh_env(true);
        let sample = SampleData::prepare(&env.services()).unwrap();

        let mut seeded = false;
        ensure_schema_with(&env.db, |db| {
            seeded = sample.insert(db)?;
            Ok(())
        })
        .unwrap();

        assert!(seeded);
        assert!(is_current(&env.db).unwrap());
        assert_eq!(count(&env.db, "SELECT COUNT(*) FROM users"), 1);
    }

    #[test]
    fn failed_seed_leaves_no_schema() {
        let env = fresh_env(true);

        let result = ensure_schema_with(&env.db, |_| {
            Err(crate::storage::StorageError::new("seed failed (test)"))
        });

        assert!(result.is_err());
        assert!(!is_current(&env.db).unwrap());
        prepare(&env.services()).unwrap();
        assert_eq!(count(&env.db, "SELECT COUNT(*) FROM users"), 1);
    }

    #[test]
    fn sample_data_is_skipped_when_disabled() {
        let env = fresh_env(false);

        prepare(&env.services()).unwrap();

        assert!(is_current(&env.db).unwrap());
        assert_eq!(count(&env.db, "SELECT COUNT(*) FROM organizations"), 0);
        assert_eq!(count(&env.db, "SELECT COUNT(*) FROM users"), 0);
    }

    #[test]
    fn sample_data_is_skipped_when_schema_exists() {
        // TestEnv::new applies the schema, as an earlier start would have.
        let mut env = TestEnv::new();
        env.config.sample_data = true;

        prepare(&env.services()).unwrap();

        assert_eq!(count(&env.db, "SELECT COUNT(*) FROM organizations"), 0);
    }
}
