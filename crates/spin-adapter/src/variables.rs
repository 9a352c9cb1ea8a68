//! Configuration from Spin variables.

use stowage_core::config::Config;
use stowage_core::ApiError;

/// Returns the component variable `name`, or `None` when the component does
/// not define it or its value is empty. spin.toml gives optional settings
/// an empty default, which keeps the core's default.
pub fn variable(name: &str) -> Option<String> {
    spin_sdk::variables::get(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Reads the core's [`Config`] from the component's variables.
pub fn load_config() -> Result<Config, ApiError> {
    Config::from_variables(variable)
}
