//! Read-only queries on the host's SQLite database, the independent view
//! of what Stowage stored.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// A read-only connection to a host's `default` database.
pub struct Database {
    connection: Connection,
}

impl Database {
    /// Opens the database file at `path` read-only.
    pub fn open_read_only(path: &Path) -> Database {
        let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|error| panic!("failed to open {}: {error}", path.display()));
        connection
            .busy_timeout(Duration::from_secs(5))
            .expect("setting a busy timeout succeeds");
        Database { connection }
    }

    /// Runs a query that returns one integer, such as a count.
    pub fn query_i64(&self, sql: &str) -> i64 {
        self.connection
            .query_row(sql, [], |row| row.get(0))
            .unwrap_or_else(|error| panic!("query {sql:?} failed: {error}"))
    }

    /// Counts the rows in `files`, whatever their status.
    pub fn file_rows(&self) -> i64 {
        self.query_i64("SELECT COUNT(*) FROM files")
    }

    /// Counts the rows in `file_chunks`.
    pub fn chunk_rows(&self) -> i64 {
        self.query_i64("SELECT COUNT(*) FROM file_chunks")
    }

    /// Returns the status of file `id`, or `None` when it has no row.
    pub fn file_status(&self, id: &str) -> Option<String> {
        self.connection
            .query_row("SELECT status FROM files WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .map(Some)
            .or_else(|error| match error {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                other => Err(other),
            })
            .unwrap_or_else(|error| panic!("reading the status of file {id} failed: {error}"))
    }

    /// Counts the chunk rows of file `id`.
    pub fn chunk_rows_of(&self, id: &str) -> i64 {
        self.connection
            .query_row(
                "SELECT COUNT(*) FROM file_chunks WHERE file_id = ?1",
                [id],
                |row| row.get(0),
            )
            .unwrap_or_else(|error| panic!("counting the chunks of file {id} failed: {error}"))
    }
}
