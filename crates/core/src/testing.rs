//! Storage for unit tests: the core's traits implemented with rusqlite on
//! real SQLite files in a temporary folder, and a clock tests can move.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;

use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;

use crate::clock::Clock;
use crate::config::Config;
use crate::services::Services;
use crate::storage::{Database, KeyValue, Publisher, Rows, SqlValue, StorageError};

/// A SQLite database file, deleted with its folder on drop.
pub struct TestDatabase {
    connection: Connection,
    path: PathBuf,
    /// `None` for a second connection, which leaves the file to its owner.
    _folder: Option<TempFolder>,
}

impl TestDatabase {
    pub fn new() -> Self {
        let folder = TempFolder::new();
        let path = folder.path.join("db.sqlite");
        let connection = Connection::open(&path).unwrap();
        Self {
            connection,
            path,
            _folder: Some(folder),
        }
    }

    /// Opens another connection to the database file at `path`, as a
    /// second instance of a component would. The file's owner deletes it.
    pub fn open(path: &std::path::Path) -> Self {
        Self {
            connection: Connection::open(path).unwrap(),
            path: path.to_owned(),
            _folder: None,
        }
    }

    /// Returns the path of the database file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Database for TestDatabase {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        let mut statement = self
            .connection
            .prepare(sql)
            .map_err(|error| StorageError::new(format!("{error}: {sql}")))?;
        let columns: Vec<String> = statement
            .column_names()
            .iter()
            .map(|name| name.to_string())
            .collect();
        let values: Vec<Value> = params.iter().map(to_rusqlite).collect();
        let mut rows = statement
            .query(rusqlite::params_from_iter(values))
            .map_err(|error| StorageError::new(error.to_string()))?;

        let mut result = Rows {
            columns: columns.clone(),
            rows: Vec::new(),
        };
        while let Some(row) = rows
            .next()
            .map_err(|error| StorageError::new(error.to_string()))?
        {
            let mut values = Vec::with_capacity(columns.len());
            for index in 0..columns.len() {
                let value = row
                    .get_ref(index)
                    .map_err(|error| StorageError::new(error.to_string()))?;
                values.push(from_rusqlite(value));
            }
            result.rows.push(values);
        }
        Ok(result)
    }
}

fn to_rusqlite(value: &SqlValue) -> Value {
    match value {
        SqlValue::Integer(value) => Value::Integer(*value),
        SqlValue::Real(value) => Value::Real(*value),
        SqlValue::Text(value) => Value::Text(value.clone()),
        SqlValue::Blob(value) => Value::Blob(value.clone()),
        SqlValue::Null => Value::Null,
    }
}

fn from_rusqlite(value: ValueRef<'_>) -> SqlValue {
    match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(value) => SqlValue::Integer(value),
        ValueRef::Real(value) => SqlValue::Real(value),
        ValueRef::Text(value) => SqlValue::Text(String::from_utf8_lossy(value).into_owned()),
        ValueRef::Blob(value) => SqlValue::Blob(value.to_vec()),
    }
}

/// A key-value store with Spin's SQLite layout, in its own database file.
pub struct TestKeyValue {
    database: TestDatabase,
}

impl TestKeyValue {
    pub fn new() -> Self {
        let database = TestDatabase::new();
        database
            .execute(
                "CREATE TABLE spin_key_value (store TEXT NOT NULL, key TEXT NOT NULL, \
                 value BLOB NOT NULL, PRIMARY KEY (store, key))",
                &[],
            )
            .unwrap();
        Self { database }
    }

    /// Returns every key, for assertions on what was stored.
    pub fn keys(&self) -> Vec<String> {
        let rows = self
            .database
            .execute("SELECT key FROM spin_key_value ORDER BY key", &[])
            .unwrap();
        rows.rows
            .into_iter()
            .filter_map(|row| row[0].as_str().map(str::to_owned))
            .collect()
    }
}

impl Default for TestKeyValue {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyValue for TestKeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let rows = self.database.execute(
            "SELECT value FROM spin_key_value WHERE store = 'default' AND key = ?",
            &[key.into()],
        )?;
        Ok(rows
            .rows
            .first()
            .and_then(|row| row[0].as_blob().map(<[u8]>::to_vec)))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        self.database.execute(
            "INSERT INTO spin_key_value (store, key, value) VALUES ('default', ?, ?) \
             ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            &[key.into(), value.to_vec().into()],
        )?;
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.database.execute(
            "DELETE FROM spin_key_value WHERE store = 'default' AND key = ?",
            &[key.into()],
        )?;
        Ok(())
    }
}

/// Records published messages. Setting `fail` makes it fail like an
/// unreachable Redis.
#[derive(Default)]
pub struct TestPublisher {
    pub messages: RefCell<Vec<(String, Vec<u8>)>>,
    pub fail: Cell<bool>,
}

impl Publisher for TestPublisher {
    fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), StorageError> {
        if self.fail.get() {
            return Err(StorageError::new("connection refused (test)"));
        }
        self.messages
            .borrow_mut()
            .push((channel.to_owned(), payload.to_vec()));
        Ok(())
    }
}

/// A clock that does not move until a test advances it.
pub struct TestClock {
    millis: Cell<i64>,
}

impl TestClock {
    /// Starts at 2026-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self {
            millis: Cell::new(1_767_225_600_000),
        }
    }

    pub fn advance_secs(&self, seconds: i64) {
        self.millis.set(self.millis.get() + seconds * 1000);
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TestClock {
    fn now_millis(&self) -> i64 {
        self.millis.get()
    }
}

/// Everything a handler needs, on fresh storage with the schema applied.
#[derive(Default)]
pub struct TestEnv {
    pub db: TestDatabase,
    pub kv: TestKeyValue,
    pub publisher: TestPublisher,
    pub clock: TestClock,
    pub config: Config,
}

impl TestEnv {
    pub fn new() -> Self {
        let env = Self {
            config: Config {
                cookie_secure: false,
                ..Config::default()
            },
            ..Self::default()
        };
        crate::schema::ensure_schema(&env.db).unwrap();
        env
    }

    pub fn services(&self) -> Services<'_> {
        Services {
            db: &self.db,
            kv: &self.kv,
            publisher: Some(&self.publisher),
            clock: &self.clock,
            config: self.config.clone(),
        }
    }
}

struct TempFolder {
    path: PathBuf,
}

impl TempFolder {
    fn new() -> Self {
        let name = format!("stowage-core-test-{}", crate::ids::new_id());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        Self { path }
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The password of every user that [`create_org_and_user`] creates.
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// Creates a user with [`TEST_PASSWORD`] in the organization named `org`,
/// creating the organization unless it exists, and returns the user as a
/// principal. The password is hashed once per test process, because each
/// argon2id hash takes tens of milliseconds.
pub fn create_org_and_user(
    env: &TestEnv,
    org: &str,
    username: &str,
    role: crate::auth::Role,
) -> crate::auth::Principal {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = HASH.get_or_init(|| {
        crate::auth::password::hash_password(&crate::auth::Password::new(TEST_PASSWORD)).unwrap()
    });
    let now = env.clock.now_millis();

    let existing = env
        .db
        .execute("SELECT id FROM organizations WHERE name = ?", &[org.into()])
        .unwrap();
    let org_id = match existing.rows.first() {
        Some(row) => row[0].as_str().unwrap().to_owned(),
        None => {
            let org_id = crate::ids::new_id();
            crate::auth::users::insert_org(&env.db, &org_id, org, now).unwrap();
            org_id
        }
    };

    let username = crate::auth::Username::parse(username).unwrap();
    let user_id = crate::ids::new_id();
    crate::auth::users::insert_user(&env.db, &user_id, &org_id, &username, hash, role, now)
        .unwrap();

    crate::auth::Principal {
        user_id,
        org_id,
        username: username.as_str().to_owned(),
        role,
    }
}
