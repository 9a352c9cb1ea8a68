//! [`Publisher`] over Spin's outbound `fermyon:spin/redis` interface.

use spin_sdk::redis::Connection;
use stowage_core::storage::{Publisher, StorageError};

/// Publishes on the Redis server at `address`. The connection is opened on
/// first use, so requests that publish nothing never touch Redis.
pub struct RedisPublisher {
    address: String,
}

impl RedisPublisher {
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
        }
    }
}

impl Publisher for RedisPublisher {
    fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), StorageError> {
        let connection = Connection::open(&self.address)
            .map_err(|error| StorageError::new(format!("connecting to Redis: {error}")))?;
        connection
            .publish(channel, &payload.to_vec())
            .map_err(|error| StorageError::new(format!("publishing on {channel}: {error}")))
    }
}
