//! `fermyon:spin/sqlite@2.0.0`: one rusqlite connection per `open`, taken
//! from a pool of idle connections to the same file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use wasmtime::component::Resource;

use super::bindings::fermyon::spin::sqlite::{
    Error, Host, HostConnection, QueryResult, RowResult, Value,
};
use crate::state::HostState;

/// How long a statement waits for another connection's lock before failing
/// with "database is locked".
// NOTE: Spin's own SQLite connections may not wait this long; contention
// errors can appear on Spin where this host retries.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a database's WAL is copied back into the database file. The
/// connections that components use never checkpoint themselves.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);

/// Idle connections kept per database file. More instances than this may
/// hold connections at once; the surplus is closed when they return it.
const MAX_IDLE_CONNECTIONS: usize = 32;

/// Connections to one database file, reused by later instances.
///
/// Opening a connection per `open` costs a file open and a schema parse,
/// and closing the last connection of a WAL database checkpoints it and
/// deletes its `-wal` file: together most of a small request's time.
/// A reused connection keeps its prepared statements; it carries no
/// transaction, because one left open is closed (rolled back) instead of
/// reused. Connection settings a component changes with PRAGMA or
/// temporary tables would carry over, and no Stowage component uses them.
pub struct ConnectionPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ConnectionPool {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Creates the pool and a thread that checkpoints the database's WAL
    /// every [`CHECKPOINT_INTERVAL`] until the pool is dropped.
    ///
    /// By default the commit that takes the WAL past 1,000 pages copies it
    /// into the database file, so one request pays for the writes of
    /// many: with 1 MiB chunks, an upload of 50 MiB spent about a third of
    /// its time checkpointing. A passive checkpoint copies as many frames
    /// as it can without waiting for readers or writers (SQLite's
    /// `wal_checkpoint` documentation).
    pub fn with_checkpoints(path: PathBuf) -> Arc<Self> {
        let pool = Arc::new(Self::new(path));
        let weak = Arc::downgrade(&pool);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".to_string())
            .spawn(move || checkpoint_until_dropped(weak))
            .expect("failed to spawn the SQLite checkpoint thread");
        pool
    }

    fn take(&self) -> anyhow::Result<Connection> {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        match idle {
            Some(connection) => Ok(connection),
            None => {
                let connection = open_database(&self.path)?;
                connection.pragma_update(None, "wal_autocheckpoint", 0)?;
                Ok(connection)
            }
        }
    }

    fn put_back(&self, connection: Connection) {
        if !connection.is_autocommit() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(connection);
        }
    }
}

/// Runs a passive checkpoint of the pool's database every
/// [`CHECKPOINT_INTERVAL`] while the pool exists. Failures are logged and
/// retried on the next tick.
fn checkpoint_until_dropped(pool: std::sync::Weak<ConnectionPool>) {
    let mut connection = None;
    loop {
        std::thread::sleep(CHECKPOINT_INTERVAL);
        let Some(pool) = pool.upgrade() else {
            return;
        };
        if connection.is_none() {
            match open_database(&pool.path) {
                Ok(opened) => connection = Some(opened),
                Err(err) => {
                    tracing::warn!(
                        database = %pool.path.display(),
                        error = %format!("{err:#}"),
                        "failed to open SQLite database for checkpoints"
                    );
                    continue;
                }
            }
        }
        let Some(open) = &connection else { continue };
        if let Err(err) = open.execute_batch("PRAGMA wal_checkpoint(PASSIVE);") {
            tracing::warn!(
                database = %pool.path.display(),
                error = %err,
                "failed to checkpoint SQLite database"
            );
            connection = None;
        }
    }
}

/// An open database connection owned by one component instance. Dropping
/// it returns the connection to its pool.
pub struct SqliteConnection {
    connection: Option<Connection>,
    pool: Arc<ConnectionPool>,
}

impl SqliteConnection {
    fn connection(&self) -> &Connection {
        self.connection
            .as_ref()
            .expect("the connection is present until drop")
    }
}

impl Drop for SqliteConnection {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.pool.put_back(connection);
        }
    }
}

/// Opens a connection to the database file, creating the file and its
/// folder if needed.
pub fn open_database(path: &Path) -> anyhow::Result<Connection> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create folder {}", dir.display()))?;
    }
    let connection = Connection::open(path)
        .with_context(|| format!("failed to open SQLite database {}", path.display()))?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    Ok(connection)
}

/// Switches a database file to WAL mode, which lets readers run during a
/// write. The mode is stored in the file, so this runs once at startup.
pub fn enable_wal(path: &Path) -> anyhow::Result<()> {
    let connection = open_database(path)?;
    connection
        .execute_batch("PRAGMA journal_mode = WAL;")
        .with_context(|| format!("failed to enable WAL mode on {}", path.display()))
}

/// Runs one statement with positional parameters and collects all rows.
pub fn execute(
    connection: &Connection,
    statement: &str,
    parameters: Vec<Value>,
) -> Result<QueryResult, rusqlite::Error> {
    let mut prepared = connection.prepare_cached(statement)?;
    let columns: Vec<String> = prepared
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let parameters: Vec<rusqlite::types::Value> =
        parameters.into_iter().map(to_sqlite_value).collect();
    let mut rows = prepared.query(rusqlite::params_from_iter(parameters))?;
    let mut results = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns.len());
        for index in 0..columns.len() {
            values.push(from_sqlite_value(row.get_ref(index)?)?);
        }
        results.push(RowResult { values });
    }
    Ok(QueryResult {
        columns,
        rows: results,
    })
}

fn to_sqlite_value(value: Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as Sql;
    match value {
        Value::Integer(i) => Sql::Integer(i),
        Value::Real(r) => Sql::Real(r),
        Value::Text(t) => Sql::Text(t),
        Value::Blob(b) => Sql::Blob(b),
        Value::Null => Sql::Null,
    }
}

fn from_sqlite_value(value: ValueRef<'_>) -> Result<Value, rusqlite::Error> {
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec()).map_err(|e| rusqlite::Error::Utf8Error(e.utf8_error()))?,
        ),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

fn to_wit_error(err: rusqlite::Error) -> Error {
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => Error::DatabaseFull,
        _ => Error::Io(err.to_string()),
    }
}

type HostResult<T> = wasmtime::Result<Result<T, Error>>;

impl Host for HostState {}

impl HostConnection for HostState {
    fn open(&mut self, database: String) -> HostResult<Resource<SqliteConnection>> {
        if !self.component.sqlite_databases.contains(&database) {
            return Ok(Err(Error::AccessDenied));
        }
        let Some(pool) = self.app.sqlite_databases.get(&database) else {
            return Ok(Err(Error::NoSuchDatabase));
        };
        let connection = match pool.take() {
            Ok(connection) => connection,
            Err(err) => {
                tracing::error!(
                    component = %self.component.id,
                    database = %database,
                    error = %format!("{err:#}"),
                    "failed to open SQLite database"
                );
                return Ok(Err(Error::Io(format!("{err:#}"))));
            }
        };
        let handle = self.table.push(SqliteConnection {
            connection: Some(connection),
            pool: pool.clone(),
        })?;
        Ok(Ok(handle))
    }

    fn execute(
        &mut self,
        connection: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> HostResult<QueryResult> {
        let Ok(connection) = self.table.get(&connection) else {
            return Ok(Err(Error::InvalidConnection));
        };
        Ok(execute(connection.connection(), &statement, parameters).map_err(to_wit_error))
    }

    fn drop(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execute_binds_parameters_and_returns_rows() {
        let connection = Connection::open_in_memory().unwrap();
        execute(&connection, "CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)", vec![])
            .unwrap();
        execute(
            &connection,
            "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
            vec![
                Value::Integer(7),
                Value::Real(1.5),
                Value::Text("x".into()),
                Value::Blob(vec![1, 2]),
                Value::Null,
            ],
        )
        .unwrap();
        let result = execute(&connection, "SELECT i, r, s, b, n FROM t", vec![]).unwrap();
        assert_eq!(result.columns, vec!["i", "r", "s", "b", "n"]);
        assert_eq!(result.rows.len(), 1);
        let values = &result.rows[0].values;
        assert!(matches!(values[0], Value::Integer(7)));
        assert!(matches!(values[1], Value::Real(r) if r == 1.5));
        assert!(matches!(&values[2], Value::Text(s) if s == "x"));
        assert!(matches!(&values[3], Value::Blob(b) if b == &[1, 2]));
        assert!(matches!(values[4], Value::Null));
    }

    #[test]
    fn pool_reuses_a_returned_connection() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Arc::new(ConnectionPool::new(dir.path().join("db.sqlite")));
        let first = SqliteConnection {
            connection: Some(pool.take().unwrap()),
            pool: pool.clone(),
        };
        execute(first.connection(), "CREATE TEMP TABLE marker (i)", vec![]).unwrap();
        drop(first);

        let second = pool.take().unwrap();
        let marker = execute(&second, "SELECT count(*) FROM temp.marker", vec![]);
        assert!(marker.is_ok(), "the pool opened a new connection");
    }

    #[test]
    fn pool_closes_a_connection_inside_a_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Arc::new(ConnectionPool::new(dir.path().join("db.sqlite")));
        let connection = pool.take().unwrap();
        execute(&connection, "CREATE TABLE t (i)", vec![]).unwrap();
        execute(&connection, "BEGIN", vec![]).unwrap();
        execute(&connection, "INSERT INTO t VALUES (1)", vec![]).unwrap();
        pool.put_back(connection);

        assert!(pool.idle.lock().unwrap().is_empty());
        let fresh = pool.take().unwrap();
        let rows = execute(&fresh, "SELECT count(*) FROM t", vec![]).unwrap();
        assert!(matches!(rows.rows[0].values[0], Value::Integer(0)));
    }

    #[test]
    fn checkpoint_thread_copies_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        enable_wal(&path).unwrap();
        let pool = ConnectionPool::with_checkpoints(path.clone());
        let connection = pool.take().unwrap();
        execute(&connection, "CREATE TABLE t (b BLOB)", vec![]).unwrap();
        for _ in 0..20 {
            let blob = Value::Blob(vec![7; 64 * 1024]);
            execute(&connection, "INSERT INTO t VALUES (?)", vec![blob]).unwrap();
        }

        // The inserts go to the WAL; only a checkpoint copies them into
        // the database file, which then grows beyond their 1.25 MiB.
        let copied_everything = (0..50).any(|_| {
            std::thread::sleep(CHECKPOINT_INTERVAL);
            std::fs::metadata(&path).unwrap().len() > 20 * 64 * 1024
        });
        assert!(copied_everything, "the WAL was never checkpointed");
    }

    #[test]
    fn pool_connections_do_not_checkpoint_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let pool = ConnectionPool::new(dir.path().join("db.sqlite"));
        let connection = pool.take().unwrap();
        let pages: i64 = connection
            .query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))
            .unwrap();
        assert_eq!(pages, 0);
    }

    #[test]
    fn execute_rejects_multiple_statements() {
        let connection = Connection::open_in_memory().unwrap();
        let result = execute(&connection, "SELECT 1; SELECT 2", vec![]);
        assert!(result.is_err());
    }
}
