//! [`Database`] over Spin's `fermyon:spin/sqlite` interface.

use spin_sdk::sqlite::{Connection, Value};
use stowage_core::storage::{Database, Rows, SqlValue, StorageError};

/// A connection to the database labelled `default` in spin.toml.
pub struct SpinDatabase {
    connection: Connection,
}

impl SpinDatabase {
    pub fn open_default() -> Result<Self, StorageError> {
        let connection = Connection::open_default()
            .map_err(|error| StorageError::new(format!("opening SQLite database default: {error}")))?;
        Ok(Self { connection })
    }
}

impl Database for SpinDatabase {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        let params: Vec<Value> = params.iter().map(to_spin).collect();
        let result = self
            .connection
            .execute(sql, &params)
            .map_err(|error| StorageError::new(format!("{error}: {sql}")))?;

        Ok(Rows {
            columns: result.columns,
            rows: result
                .rows
                .into_iter()
                .map(|row| row.values.into_iter().map(from_spin).collect())
                .collect(),
        })
    }
}

fn to_spin(value: &SqlValue) -> Value {
    match value {
        SqlValue::Integer(value) => Value::Integer(*value),
        SqlValue::Real(value) => Value::Real(*value),
        SqlValue::Text(value) => Value::Text(value.clone()),
        SqlValue::Blob(value) => Value::Blob(value.clone()),
        SqlValue::Null => Value::Null,
    }
}

fn from_spin(value: Value) -> SqlValue {
    match value {
        Value::Integer(value) => SqlValue::Integer(value),
        Value::Real(value) => SqlValue::Real(value),
        Value::Text(value) => SqlValue::Text(value),
        Value::Blob(value) => SqlValue::Blob(value),
        Value::Null => SqlValue::Null,
    }
}
