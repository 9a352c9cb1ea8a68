//! Work done before a component handles its first request.

use crate::error::ApiError;
use crate::services::Services;

/// Applies the schema when the database lacks it and, on that first run
/// with `sample_data` set, creates the sample organization and user.
///
/// Only the instance whose call created the schema seeds, so instances
/// starting together seed once; the seed also skips existing rows.
pub fn prepare(services: &Services) -> Result<(), ApiError> {
    let created = crate::schema::ensure_schema(services.db)?;
    if created && services.config.sample_data {
        // NOTE: a failure here leaves the schema without sample data, and
        // later starts do not retry because the schema then exists.
        crate::seed::create_sample_data(services)?;
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
        // A second instance that raced past the schema check seeds again.
        let created_again = crate::seed::create_sample_data(&env.services()).unwrap();

        assert!(!created_again);
        assert_eq!(count(&env.db, "SELECT COUNT(*) FROM organizations"), 1);
        assert_eq!(count(&env.db, "SELECT COUNT(*) FROM users"), 1);
    }

    #[test]
    fn sample_data_is_skipped_when_disabled() {
        let env = fresh_env(false);

        prepare(&env.services()).unwrap();

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
