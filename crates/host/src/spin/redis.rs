//! `fermyon:spin/redis@2.0.0`: outbound Redis, limited to the addresses the
//! component's `allowed_outbound_hosts` allows.

use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;
use wasmtime::component::Resource;

use super::bindings::fermyon::spin::redis::{
    Error, Host, HostConnection, Payload, RedisParameter, RedisResult,
};
use crate::outbound::redact_url;
use crate::state::HostState;

/// An open connection owned by one component instance.
pub struct RedisConnection {
    connection: MultiplexedConnection,
}

type HostResult<T> = wasmtime::Result<Result<T, Error>>;

fn other_error(err: redis::RedisError) -> Error {
    match err.kind() {
        redis::ErrorKind::UnexpectedReturnType | redis::ErrorKind::Parse => Error::TypeError,
        _ => Error::Other(err.to_string()),
    }
}

impl HostState {
    fn redis_connection(
        &mut self,
        connection: &Resource<RedisConnection>,
    ) -> wasmtime::Result<MultiplexedConnection> {
        // A multiplexed connection is a cheap handle onto one socket, so a
        // clone lets the command run without borrowing the store.
        Ok(self.table.get(connection)?.connection.clone())
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
        let client = match redis::Client::open(address.as_str()) {
            Ok(client) => client,
            Err(_) => return Ok(Err(Error::InvalidAddress)),
        };
        let connection = match client.get_multiplexed_async_connection().await {
            Ok(connection) => connection,
            Err(err) => {
                tracing::warn!(
                    component = %self.component.id,
                    address = %redact_url(&address),
                    error = %err,
                    "failed to connect to Redis"
                );
                return Ok(Err(Error::Other(err.to_string())));
            }
        };
        Ok(Ok(self.table.push(RedisConnection { connection })?))
    }

    async fn publish(
        &mut self,
        connection: Resource<RedisConnection>,
        channel: String,
        payload: Payload,
    ) -> HostResult<()> {
        let mut conn = self.redis_connection(&connection)?;
        Ok(conn
            .publish::<_, _, ()>(channel, payload)
            .await
            .map_err(other_error))
    }

    async fn get(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
    ) -> HostResult<Option<Payload>> {
        let mut conn = self.redis_connection(&connection)?;
        Ok(conn
            .get::<_, Option<Vec<u8>>>(key)
            .await
            .map_err(other_error))
    }

    async fn set(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        value: Payload,
    ) -> HostResult<()> {
        let mut conn = self.redis_connection(&connection)?;
        Ok(conn.set::<_, _, ()>(key, value).await.map_err(other_error))
    }

    async fn incr(&mut self, connection: Resource<RedisConnection>, key: String) -> HostResult<i64> {
        let mut conn = self.redis_connection(&connection)?;
        Ok(conn.incr::<_, _, i64>(key, 1).await.map_err(other_error))
    }

    async fn del(
        &mut self,
        connection: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> HostResult<u32> {
        let mut conn = self.redis_connection(&connection)?;
        Ok(conn.del::<_, u32>(keys).await.map_err(other_error))
    }

    async fn sadd(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> HostResult<u32> {
        let mut conn = self.redis_connection(&connection)?;
        Ok(conn.sadd::<_, _, u32>(key, values).await.map_err(other_error))
    }

    async fn smembers(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
    ) -> HostResult<Vec<String>> {
        let mut conn = self.redis_connection(&connection)?;
        Ok(conn
            .smembers::<_, Vec<String>>(key)
            .await
            .map_err(other_error))
    }

    async fn srem(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> HostResult<u32> {
        let mut conn = self.redis_connection(&connection)?;
        Ok(conn.srem::<_, _, u32>(key, values).await.map_err(other_error))
    }

    async fn execute(
        &mut self,
        connection: Resource<RedisConnection>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> HostResult<Vec<RedisResult>> {
        let mut conn = self.redis_connection(&connection)?;
        let mut cmd = redis::cmd(&command);
        for argument in arguments {
            match argument {
                RedisParameter::Int64(i) => cmd.arg(i),
                RedisParameter::Binary(b) => cmd.arg(b),
            };
        }
        let value = match cmd.query_async::<redis::Value>(&mut conn).await {
            Ok(value) => value,
            Err(err) => return Ok(Err(other_error(err))),
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
