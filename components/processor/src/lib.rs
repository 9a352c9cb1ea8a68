//! The processor component: for each file id published on the uploads
//! channel, computes the file's size, MIME type and SHA-256 and marks it
//! ready, then picks up stale work whose message was lost. The rules live
//! in `stowage_core::processing`.

use spin_sdk::redis_component;
use stowage_core::clock::SystemClock;
use stowage_core::processing::{handle_message_and_recover, ProcessingSettings};
use stowage_spin_adapter::{load_config, SpinDatabase};

/// Handles one message. An error makes Spin log the message as failed;
/// Spin does not deliver it again, so retries are scheduled in the
/// database instead.
#[redis_component]
fn on_message(message: Vec<u8>) -> Result<(), String> {
    let config = load_config().map_err(|error| error.to_string())?;
    let db = SpinDatabase::open_default().map_err(|error| error.to_string())?;
    stowage_core::schema::ensure_schema(&db).map_err(|error| error.to_string())?;

    let settings = ProcessingSettings::from_config(&config);
    handle_message_and_recover(&db, &SystemClock, &settings, &message)
        .map(|_| ())
        .map_err(|error| error.to_string())
}
