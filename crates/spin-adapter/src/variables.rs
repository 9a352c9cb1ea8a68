//! Configuration from Spin variables.

use stowage_core::config::Config;
use stowage_core::ApiError;

/// Returns the component variable `name`, or `None` when the component does
/// not define it.
pub fn variable(name: &str) -> Option<String> {
    spin_sdk::variables::get(name).ok()
}

/// Reads the core's [`Config`] from the component's variables.
pub fn load_config() -> Result<Config, ApiError> {
    Config::from_variables(variable)
}
