//! GET and DELETE /files/{id}, and the lookup that every per-file route
//! shares.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::files::content::download_response;
use crate::files::model::{file_not_found, FileId, FileRecord};
use crate::files::{requeue, store};
use crate::http::Response;
use crate::services::Services;
use crate::storage::Database;

/// Finds a file of the principal's organization by the id from the URL.
/// A malformed id, another organization's file and a file still
/// uploading are all 404 `not_found`.
pub fn find_file(
    db: &dyn Database,
    principal: &Principal,
    id: &str,
) -> Result<FileRecord, ApiError> {
    let id = FileId::parse(id)?;
    store::find_visible(db, &principal.org_id, &id)?.ok_or_else(file_not_found)
}

/// Handles GET /files/{id}: returns the file's JSON, after handing the
/// file back to processing when it is stale ([`requeue::requeue_stale`]).
pub fn details(
    services: &Services,
    principal: &Principal,
    id: &str,
) -> Result<Response, ApiError> {
    let mut record = find_file(services.db, principal, id)?;

    let processed = requeue::requeue_stale(services, std::slice::from_ref(&record));
    if !processed.is_empty() {
        record = find_file(services.db, principal, id)?;
    }
    Ok(Response::json(200, &record.to_json()))
}

/// Handles GET /files/{id}/content with [`download_response`].
pub fn download(db: &dyn Database, principal: &Principal, id: &str) -> Result<Response, ApiError> {
    let record = find_file(db, principal, id)?;
    download_response(&record)
}

/// Handles DELETE /files/{id}: returns 204 after deleting the file's chunks
/// and row, in any status but `uploading`.
pub fn delete(db: &dyn Database, principal: &Principal, id: &str) -> Result<Response, ApiError> {
    let record = find_file(db, principal, id)?;
    let file_id = FileId::parse(&record.id)?;

    if !store::delete(db, &principal.org_id, &file_id)? {
        // Another request deleted it between the lookup and now.
        return Err(file_not_found());
    }
    Ok(Response::new(204))
}
