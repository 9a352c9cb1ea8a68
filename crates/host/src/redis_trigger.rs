//! The Redis trigger: subscribes to a channel and calls the component's
//! `fermyon:spin/inbound-redis` export once per message, each in a fresh
//! instance. Messages run concurrently, as in Spin.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::{watch, Semaphore};

use crate::outbound::redact_url;
use crate::spin::inbound_redis::exports::fermyon::spin::inbound_redis::Error as HandlerError;
use crate::spin::inbound_redis::RedisTriggerPre;
use crate::state::{AppState, ComponentContext, HostState};

/// First delay before reconnecting after a failed or dropped connection.
const RECONNECT_MIN: Duration = Duration::from_millis(100);
/// Maximum delay between reconnect attempts.
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// One `[[trigger.redis]]` subscription.
pub struct RedisSubscription {
    pub address: String,
    pub channel: String,
    pub pre: RedisTriggerPre<HostState>,
    pub context: Arc<ComponentContext>,
    pub app: Arc<AppState>,
    /// Instances reserved for Redis messages, shared by every subscription.
    /// A message waits for a free one, so the subscription stops reading
    /// while all are busy.
    pub instances: Arc<Semaphore>,
}

impl RedisSubscription {
    /// Subscribes and dispatches messages until `shutdown` turns true,
    /// reconnecting with exponential backoff whenever the connection fails.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let address = redact_url(&self.address);
        let mut delay = RECONNECT_MIN;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            tokio::select! {
                result = self.subscribe_once(&address) => match result {
                    Ok(()) => {
                        tracing::warn!(address = %address, channel = %self.channel, "Redis subscription ended; reconnecting");
                        delay = RECONNECT_MIN;
                        attempt = 0;
                    }
                    Err(err) => tracing::warn!(
                        address = %address,
                        channel = %self.channel,
                        attempt,
                        retry_in_ms = delay.as_millis() as u64,
                        error = %err,
                        "failed to subscribe to Redis channel"
                    ),
                },
                _ = shutdown.changed() => return,
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => return,
            }
            delay = (delay * 2).min(RECONNECT_MAX);
        }
    }

    /// Connects, subscribes and handles messages until the connection ends.
    /// Returns an error if connecting or subscribing fails.
    async fn subscribe_once(self: &Arc<Self>, address: &str) -> redis::RedisResult<()> {
        let client = redis::Client::open(self.address.as_str())?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(&self.channel).await?;
        tracing::info!(
            address = %address,
            channel = %self.channel,
            component = %self.context.id,
            "subscribed to Redis channel"
        );
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let payload = message.get_payload_bytes().to_vec();
            let Ok(permit) = self.instances.clone().acquire_owned().await else {
                // The semaphore is never closed.
                return Ok(());
            };
            let subscription = self.clone();
            tokio::spawn(async move {
                subscription.handle_message(payload).await;
                drop(permit);
            });
        }
        Ok(())
    }

    async fn handle_message(&self, payload: Vec<u8>) {
        let started = Instant::now();
        let state = HostState::new(self.app.clone(), self.context.clone());
        let mut store = state.into_store(self.pre.engine());
        let result = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            instance
                .fermyon_spin_inbound_redis()
                .call_handle_message(&mut store, &payload)
                .await
        }
        .await;
        let duration_ms = format!("{:.2}", started.elapsed().as_secs_f64() * 1000.0);
        match result {
            Ok(Ok(())) => tracing::info!(
                component = %self.context.id,
                channel = %self.channel,
                bytes = payload.len(),
                duration_ms = %duration_ms,
                result = "ok",
                "Redis message"
            ),
            Ok(Err(HandlerError::Success)) => tracing::info!(
                component = %self.context.id,
                channel = %self.channel,
                bytes = payload.len(),
                duration_ms = %duration_ms,
                result = "success",
                "Redis message"
            ),
            Ok(Err(HandlerError::Error)) => tracing::error!(
                component = %self.context.id,
                channel = %self.channel,
                bytes = payload.len(),
                duration_ms = %duration_ms,
                result = "error",
                "Redis message handler returned an error"
            ),
            Err(err) => tracing::error!(
                component = %self.context.id,
                channel = %self.channel,
                bytes = payload.len(),
                duration_ms = %duration_ms,
                error = ?err,
                "Redis message handler trapped"
            ),
        }
    }
}
