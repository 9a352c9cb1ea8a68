//! [`KeyValue`] over Spin's `fermyon:spin/key-value` interface.

use spin_sdk::key_value::Store;
use stowage_core::storage::{KeyValue, StorageError};

/// The key-value store labelled `default` in spin.toml.
pub struct SpinKeyValue {
    store: Store,
}

impl SpinKeyValue {
    pub fn open_default() -> Result<Self, StorageError> {
        let store = Store::open_default()
            .map_err(|error| StorageError::new(format!("opening key-value store default: {error}")))?;
        Ok(Self { store })
    }
}

impl KeyValue for SpinKeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.store
            .get(key)
            .map_err(|error| StorageError::new(format!("key-value get: {error}")))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        self.store
            .set(key, value)
            .map_err(|error| StorageError::new(format!("key-value set: {error}")))
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.store
            .delete(key)
            .map_err(|error| StorageError::new(format!("key-value delete: {error}")))
    }
}
