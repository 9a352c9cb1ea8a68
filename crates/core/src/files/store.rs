//! SQL on the `files` and `file_chunks` tables. Every lookup a client can
//! reach takes the organization id from the principal.

use crate::error::ApiError;
use crate::files::model::{FileId, FileRecord, FILE_COLUMNS};
use crate::files::Filename;
use crate::storage::{Database, SqlValue};

/// The values of a new `files` row in status `uploading`.
pub struct NewFile<'a> {
    pub id: &'a FileId,
    pub org_id: &'a str,
    pub uploaded_by: &'a str,
    pub filename: &'a Filename,
    pub declared_type: Option<&'a str>,
    pub now: i64,
}

/// Inserts the row of an upload whose bytes are about to arrive. Until
/// [`mark_pending`] it is invisible to every route.
pub fn insert_uploading(db: &dyn Database, file: &NewFile) -> Result<(), ApiError> {
    db.execute(
        "INSERT INTO files (id, org_id, uploaded_by, filename, declared_type, status, \
         chunk_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'uploading', 0, ?, ?)",
        &[
            file.id.as_str().into(),
            file.org_id.into(),
            file.uploaded_by.into(),
            file.filename.as_str().into(),
            file.declared_type.into(),
            file.now.into(),
            file.now.into(),
        ],
    )?;
    Ok(())
}

/// Inserts chunk number `seq` (from 0) of a file's content.
pub fn insert_chunk(db: &dyn Database, id: &FileId, seq: i64, data: &[u8]) -> Result<(), ApiError> {
    db.execute(
        "INSERT INTO file_chunks (file_id, seq, data) VALUES (?, ?, ?)",
        &[id.as_str().into(), seq.into(), data.to_vec().into()],
    )?;
    Ok(())
}

/// Marks a completely stored upload `pending`, ready for processing.
pub fn mark_pending(
    db: &dyn Database,
    id: &FileId,
    size: i64,
    chunk_count: i64,
    now: i64,
) -> Result<(), ApiError> {
    db.execute(
        "UPDATE files SET status = 'pending', size = ?, chunk_count = ?, updated_at = ? \
         WHERE id = ? AND status = 'uploading'",
        &[
            size.into(),
            chunk_count.into(),
            now.into(),
            id.as_str().into(),
        ],
    )?;
    Ok(())
}

/// Finds a file of `org_id` that clients may see: any status but
/// `uploading`.
pub fn find_visible(
    db: &dyn Database,
    org_id: &str,
    id: &FileId,
) -> Result<Option<FileRecord>, ApiError> {
    let rows = db.execute(
        &format!(
            "SELECT {FILE_COLUMNS} FROM files \
             WHERE id = ? AND org_id = ? AND status != 'uploading'"
        ),
        &[id.as_str().into(), org_id.into()],
    )?;
    Ok(FileRecord::from_rows(&rows)?.into_iter().next())
}

/// Deletes a file's chunks and row in one transaction, so a file never
/// remains without its bytes. Returns whether a row of `org_id` was
/// deleted.
pub fn delete(db: &dyn Database, org_id: &str, id: &FileId) -> Result<bool, ApiError> {
    db.execute("BEGIN IMMEDIATE", &[])?;

    let result = delete_in_transaction(db, org_id, id);
    match result {
        Ok(deleted) => {
            db.execute("COMMIT", &[])?;
            Ok(deleted)
        }
        Err(error) => {
            let _ = db.execute("ROLLBACK", &[]);
            Err(error)
        }
    }
}

fn delete_in_transaction(db: &dyn Database, org_id: &str, id: &FileId) -> Result<bool, ApiError> {
    let params: [SqlValue; 2] = [id.as_str().into(), org_id.into()];
    db.execute(
        "DELETE FROM file_chunks WHERE file_id = \
         (SELECT id FROM files WHERE id = ? AND org_id = ?)",
        &params,
    )?;
    let rows = db.execute(
        "DELETE FROM files WHERE id = ? AND org_id = ? RETURNING id",
        &params,
    )?;
    Ok(!rows.is_empty())
}
