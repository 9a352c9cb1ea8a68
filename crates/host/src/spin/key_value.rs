//! `fermyon:spin/key-value@2.0.0`: key-value stores backed by SQLite files
//! with Spin's schema, so `spin up` can read stores written by this host and
//! the other way round.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};
use wasmtime::component::Resource;

use super::bindings::fermyon::spin::key_value::{Error, Host, HostStore};
use crate::state::HostState;

/// Maximum key-value stores one instance may hold open at once
/// (`store-table-full` beyond it).
const MAX_OPEN_STORES: usize = 256;

/// A SQLite file holding key-value stores in Spin's `spin_key_value` table,
/// with one row per `(store label, key)`.
pub struct KeyValueFile {
    path: PathBuf,
    // Spin also serialises all operations on a store file through one
    // connection.
    connection: Mutex<Connection>,
}

impl KeyValueFile {
    /// Opens or creates the file and its table. The host uses WAL mode.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create folder {}", dir.display()))?;
        }
        let connection = Connection::open(path)
            .with_context(|| format!("failed to open key-value store file {}", path.display()))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 CREATE TABLE IF NOT EXISTS spin_key_value (
                     store TEXT NOT NULL,
                     key   TEXT NOT NULL,
                     value BLOB NOT NULL,
                     PRIMARY KEY (store, key)
                 );",
            )
            .with_context(|| {
                format!("failed to initialise key-value store file {}", path.display())
            })?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Self {
            path: path.to_path_buf(),
            connection: Mutex::new(connection),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_connection<R>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R>,
    ) -> Result<R, Error> {
        let connection = self
            .connection
            .lock()
            .map_err(|_| Error::Other("key-value store lock poisoned".into()))?;
        f(&connection).map_err(|err| Error::Other(err.to_string()))
    }

    pub fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.with_connection(|c| {
            c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row(params![store, key], |row| row.get(0))
                .optional()
        })
    }

    pub fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        self.with_connection(|c| {
            c.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![store, key, value])
            .map(|_| ())
        })
    }

    pub fn delete(&self, store: &str, key: &str) -> Result<(), Error> {
        self.with_connection(|c| {
            c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute(params![store, key])
                .map(|_| ())
        })
    }

    pub fn exists(&self, store: &str, key: &str) -> Result<bool, Error> {
        self.with_connection(|c| {
            c.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .exists(params![store, key])
        })
    }

    pub fn get_keys(&self, store: &str) -> Result<Vec<String>, Error> {
        self.with_connection(|c| {
            c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?
                .query_map(params![store], |row| row.get(0))?
                .collect()
        })
    }
}

/// An open store: the label and its file.
pub struct KeyValueHandle {
    label: String,
    file: std::sync::Arc<KeyValueFile>,
}

type HostResult<T> = wasmtime::Result<Result<T, Error>>;

impl HostState {
    fn key_value_handle(&self, store: &Resource<KeyValueHandle>) -> wasmtime::Result<&KeyValueHandle> {
        Ok(self.table.get(store)?)
    }
}

impl Host for HostState {}

impl HostStore for HostState {
    fn open(&mut self, label: String) -> HostResult<Resource<KeyValueHandle>> {
        if !self.component.key_value_stores.contains(&label) {
            return Ok(Err(Error::AccessDenied));
        }
        let Some(file) = self.app.key_value_stores.get(&label).cloned() else {
            return Ok(Err(Error::NoSuchStore));
        };
        if self.open_key_value_stores >= MAX_OPEN_STORES {
            return Ok(Err(Error::StoreTableFull));
        }
        let handle = self.table.push(KeyValueHandle { label, file })?;
        self.open_key_value_stores += 1;
        Ok(Ok(handle))
    }

    fn get(&mut self, store: Resource<KeyValueHandle>, key: String) -> HostResult<Option<Vec<u8>>> {
        let handle = self.key_value_handle(&store)?;
        Ok(handle.file.get(&handle.label, &key))
    }

    fn set(&mut self, store: Resource<KeyValueHandle>, key: String, value: Vec<u8>) -> HostResult<()> {
        let handle = self.key_value_handle(&store)?;
        Ok(handle.file.set(&handle.label, &key, &value))
    }

    fn delete(&mut self, store: Resource<KeyValueHandle>, key: String) -> HostResult<()> {
        let handle = self.key_value_handle(&store)?;
        Ok(handle.file.delete(&handle.label, &key))
    }

    fn exists(&mut self, store: Resource<KeyValueHandle>, key: String) -> HostResult<bool> {
        let handle = self.key_value_handle(&store)?;
        Ok(handle.file.exists(&handle.label, &key))
    }

    fn get_keys(&mut self, store: Resource<KeyValueHandle>) -> HostResult<Vec<String>> {
        let handle = self.key_value_handle(&store)?;
        Ok(handle.file.get_keys(&handle.label))
    }

    fn drop(&mut self, store: Resource<KeyValueHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        self.open_key_value_stores = self.open_key_value_stores.saturating_sub(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let file = KeyValueFile::open(&dir.path().join("kv.db")).unwrap();
        assert_eq!(file.get("default", "a").unwrap(), None);
        file.set("default", "a", b"1").unwrap();
        file.set("default", "a", b"2").unwrap();
        file.set("other", "a", b"3").unwrap();
        assert_eq!(file.get("default", "a").unwrap(), Some(b"2".to_vec()));
        assert!(file.exists("default", "a").unwrap());
        assert_eq!(file.get_keys("default").unwrap(), vec!["a".to_string()]);
        file.delete("default", "a").unwrap();
        file.delete("default", "a").unwrap();
        assert!(!file.exists("default", "a").unwrap());
        assert_eq!(file.get("other", "a").unwrap(), Some(b"3".to_vec()));
    }
}
