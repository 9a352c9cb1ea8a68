//! `fermyon:spin/redis@2.0.0`: outbound Redis, limited to the addresses the
//! component's `allowed_outbound_hosts` allows.
//!
//! Instances share one multiplexed connection per address, so a burst of
//! requests that publish does not open a socket each. The connection is
//! made on first use and made again after it fails.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use wasmtime::component::Resource;

use super::bindings::fermyon::spin::redis::{
    Error, Host, HostConnection, Payload, RedisParameter, RedisResult,
};
use crate::outbound::redact_url;
use crate::state::HostState;

/// Time allowed to open a connection and complete the Redis handshake.
/// Loopback needs milliseconds when idle, but under a burst of uploads on
/// two cores a 1 s limit (the redis crate's default) was seen to expire;
/// this bounds the wait when the server is unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for the reply to one command, for the same reason raised
/// from the redis crate's default of 500 ms.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Extra connection attempts after a failed one, before the command fails.
/// One retry covers a server that is restarting; more would hold requests
/// for seconds while Redis is down.
const CONNECT_RETRIES: usize = 1;
/// Delay before that retry.
const CONNECT_RETRY_DELAY: Duration = Duration::from_millis(100);
/// Addresses whose connections are kept for reuse. An allowed-hosts
/// wildcard could let a component reach many addresses; beyond this many,
/// a connection serves only the instance that opened it.
const MAX_SHARED_ADDRESSES: usize = 64;

/// Connections shared by every instance of the application, by address.
#[derive(Default)]
pub struct RedisConnections {
    by_address: Mutex<HashMap<String, ConnectionManager>>,
}

impl RedisConnections {
    /// Returns the connection for `address`, creating it without connecting
    /// when there is none: the first command connects.
    fn get(&self, address: &str) -> redis::RedisResult<ConnectionManager> {
        let mut by_address = self
            .by_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(connection) = by_address.get(address) {
            return Ok(connection.clone());
        }
        let client = redis::Client::open(address)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(CONNECT_RETRIES)
            .set_min_delay(CONNECT_RETRY_DELAY);
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        if by_address.len() < MAX_SHARED_ADDRESSES {
            by_address.insert(address.to_string(), connection.clone());
        }
        Ok(connection)
    }
}

/// An open connection of one component instance: a handle onto the
/// application's shared connection for its address.
pub struct RedisConnection {
    connection: ConnectionManager,
    /// The address with any password removed, for logs.
    address: String,
}

type HostResult<T> = wasmtime::Result<Result<T, Error>>;

impl HostState {
    /// Returns a handle onto the connection and its address for logs. A
    /// connection manager is a cheap handle onto one socket, so a clone lets
    /// the command run without borrowing the store.
    fn redis_connection(
        &mut self,
        connection: &Resource<RedisConnection>,
    ) -> wasmtime::Result<(ConnectionManager, String)> {
        let connection = self.table.get(connection)?;
        Ok((connection.connection.clone(), connection.address.clone()))
    }

    /// Converts a failed command's error for the component, and logs
    /// failures to reach the server, which the component may only see as
    /// a failed publish.
    fn redis_error(&self, address: &str, err: redis::RedisError) -> Error {
        if err.is_io_error() || err.is_timeout() || err.is_connection_dropped() {
            tracing::warn!(
                component = %self.component.id,
                address = %address,
                error = %err,
                "Redis command failed: the server is unreachable"
            );
        }
        match err.kind() {
            redis::ErrorKind::UnexpectedReturnType | redis::ErrorKind::Parse => Error::TypeError,
            _ => Error::Other(err.to_string()),
        }
    }
}

impl Host for HostState {}

impl HostConnection for HostState {
    async fn open(&mut self, address: String) -> HostResult<Resource<RedisConnection>> {
        if !self.component.outbound.allows(&address) {
            tracing::warn!(
                component = %self.component.id,
                address = %redact_url(&address),
                "outbound Redis connection denied: address not in allowed_outbound_hosts"
            );
            return Ok(Err(Error::InvalidAddress));
        }
        let connection = match self.app.redis_connections.get(&address) {
            Ok(connection) => connection,
            Err(_) => return Ok(Err(Error::InvalidAddress)),
        };
        let address = redact_url(&address);
        Ok(Ok(self.table.push(RedisConnection {
            connection,
            address,
        })?))
    }

    async fn publish(
        &mut self,
        connection: Resource<RedisConnection>,
        channel: String,
        payload: Payload,
    ) -> HostResult<()> {
        let (mut conn, address) = self.redis_connection(&connection)?;
        Ok(conn
            .publish::<_, _, ()>(channel, payload)
            .await
            .map_err(|err| self.redis_error(&address, err)))
    }

    async fn get(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
    ) -> HostResult<Option<Payload>> {
        let (mut conn, address) = self.redis_connection(&connection)?;
        Ok(conn
            .get::<_, Option<Vec<u8>>>(key)
            .await
            .map_err(|err| self.redis_error(&address, err)))
    }

    async fn set(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        value: Payload,
    ) -> HostResult<()> {
        let (mut conn, address) = self.redis_connection(&connection)?;
        Ok(conn
            .set::<_, _, ()>(key, value)
            .await
            .map_err(|err| self.redis_error(&address, err)))
    }

    async fn incr(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
    ) -> HostResult<i64> {
        let (mut conn, address) = self.redis_connection(&connection)?;
        Ok(conn
            .incr::<_, _, i64>(key, 1)
            .await
            .map_err(|err| self.redis_error(&address, err)))
    }

    async fn del(
        &mut self,
        connection: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> HostResult<u32> {
        let (mut conn, address) = self.redis_connection(&connection)?;
        Ok(conn
            .del::<_, u32>(keys)
            .await
            .map_err(|err| self.redis_error(&address, err)))
    }

    async fn sadd(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> HostResult<u32> {
        let (mut conn, address) = self.redis_connection(&connection)?;
        Ok(conn
            .sadd::<_, _, u32>(key, values)
            .await
            .map_err(|err| self.redis_error(&address, err)))
    }

    async fn smembers(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
    ) -> HostResult<Vec<String>> {
        let (mut conn, address) = self.redis_connection(&connection)?;
        Ok(conn
            .smembers::<_, Vec<String>>(key)
            .await
            .map_err(|err| self.redis_error(&address, err)))
    }

    async fn srem(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> HostResult<u32> {
        let (mut conn, address) = self.redis_connection(&connection)?;
        Ok(conn
            .srem::<_, _, u32>(key, values)
            .await
            .map_err(|err| self.redis_error(&address, err)))
    }

    async fn execute(
        &mut self,
        connection: Resource<RedisConnection>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> HostResult<Vec<RedisResult>> {
        let (mut conn, address) = self.redis_connection(&connection)?;
        let mut cmd = redis::cmd(&command);
        for argument in arguments {
            match argument {
                RedisParameter::Int64(i) => cmd.arg(i),
                RedisParameter::Binary(b) => cmd.arg(b),
            };
        }
        let value = match cmd.query_async::<redis::Value>(&mut conn).await {
            Ok(value) => value,
            Err(err) => return Ok(Err(self.redis_error(&address, err))),
        };
        let mut results = Vec::new();
        Ok(append_value(&mut results, value).map(|()| results))
    }

    async fn drop(&mut self, connection: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

/// Flattens a Redis reply into `execute`'s result list: arrays contribute
/// their elements in order.
fn append_value(results: &mut Vec<RedisResult>, value: redis::Value) -> Result<(), Error> {
    match value {
        redis::Value::Nil => results.push(RedisResult::Nil),
        redis::Value::Int(i) => results.push(RedisResult::Int64(i)),
        redis::Value::BulkString(bytes) => results.push(RedisResult::Binary(bytes)),
        redis::Value::SimpleString(s) => results.push(RedisResult::Status(s)),
        redis::Value::Okay => results.push(RedisResult::Status("OK".to_string())),
        redis::Value::Array(values) | redis::Value::Set(values) => {
            for value in values {
                append_value(results, value)?;
            }
        }
        other => {
            return Err(Error::Other(format!(
                "unsupported Redis reply type: {other:?}"
            )))
        }
    }
    Ok(())
}
