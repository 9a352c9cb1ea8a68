//! The storage traits through which the core reaches SQLite, the key-value
//! store and Redis. The Spin adapter implements them with spin-sdk; tests
//! implement them with rusqlite.

use std::fmt;

/// A value bound to or read from an SQL statement, the same set of types as
/// Spin's `fermyon:spin/sqlite` interface.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

impl SqlValue {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Integer(value) => Some(*value),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(value) => Some(value),
            _ => None,
        }
    }

    pub fn as_blob(&self) -> Option<&[u8]> {
        match self {
            SqlValue::Blob(value) => Some(value),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, SqlValue::Null)
    }
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> Self {
        SqlValue::Integer(value)
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> Self {
        SqlValue::Text(value.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(value: String) -> Self {
        SqlValue::Text(value)
    }
}

impl From<Vec<u8>> for SqlValue {
    fn from(value: Vec<u8>) -> Self {
        SqlValue::Blob(value)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(SqlValue::Null, Into::into)
    }
}

/// The result of one statement: column names and rows in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<SqlValue>>,
}

impl Rows {
    /// Returns the index of `column`, or an error naming it.
    pub fn column_index(&self, column: &str) -> Result<usize, StorageError> {
        self.columns
            .iter()
            .position(|name| name == column)
            .ok_or_else(|| StorageError::new(format!("result has no column {column:?}")))
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A failure of the storage below the core: SQLite, key-value or Redis.
///
/// The message is for logs only; it may contain SQL or host details and is
/// never sent to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageError {
    pub message: String,
}

impl StorageError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StorageError {}

/// One SQLite connection. Statements on the same value share a connection,
/// so `BEGIN` and `COMMIT` statements bracket a transaction.
pub trait Database {
    /// Runs one SQL statement with positional parameters (`?`).
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError>;
}

/// A key-value store with Spin's semantics: keys are strings, values bytes.
pub trait KeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StorageError>;
    fn delete(&self, key: &str) -> Result<(), StorageError>;
}

/// Publishes messages on a Redis pub/sub channel.
pub trait Publisher {
    fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), StorageError>;
}
