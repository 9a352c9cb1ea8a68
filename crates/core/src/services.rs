//! What a request handler may use: storage, the clock and configuration.

use crate::clock::Clock;
use crate::config::Config;
use crate::storage::{Database, KeyValue, Publisher};

pub struct Services<'a> {
    pub db: &'a dyn Database,
    pub kv: &'a dyn KeyValue,
    /// Redis publisher; `None` in components that do not publish.
    pub publisher: Option<&'a dyn Publisher>,
    pub clock: &'a dyn Clock,
    pub config: Config,
}
