//! The status changes of a file during processing, each one atomic
//! `UPDATE`. Every change after the claim is conditional on the claim
//! (`status = 'processing' AND claimed_at = ?`), so only the processor
//! holding it writes the result, even if another one took the file over.

use crate::storage::{Database, Rows, SqlValue, StorageError};

/// A file this processor holds: the row values processing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub file_id: String,
    /// The time of the claim in milliseconds, which identifies it.
    pub claimed_at: i64,
    /// Claims of this file so far, this one included.
    pub attempts: u32,
    pub chunk_count: i64,
    /// The size recorded when the upload completed. `None` would be an
    /// upload bug, which processing reports as a failure.
    pub size: Option<i64>,
}

/// The result written to a file when processing succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished<'a> {
    pub size: i64,
    pub mime_type: &'a str,
    pub sha256: &'a str,
}

/// Claims `file_id` when it is `pending` and due (no `next_attempt_at` in
/// the future), or `processing` under a claim made at or before
/// `abandoned_before`. Returns `None` when the file is unknown, final or
/// held by a live claim: then nothing was written.
pub fn claim(
    db: &dyn Database,
    file_id: &str,
    now: i64,
    abandoned_before: i64,
) -> Result<Option<Claim>, StorageError> {
    let rows = db.execute(
        "UPDATE files SET status = 'processing', claimed_at = ?1, attempts = attempts + 1, \
         updated_at = ?1 \
         WHERE id = ?2 AND ( \
             (status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)) \
             OR (status = 'processing' AND claimed_at <= ?3)) \
         RETURNING attempts, chunk_count, size",
        &[now.into(), file_id.into(), abandoned_before.into()],
    )?;
    let Some(row) = rows.rows.first() else {
        return Ok(None);
    };

    let attempts = integer(&rows, row, "attempts")?;
    Ok(Some(Claim {
        file_id: file_id.to_owned(),
        claimed_at: now,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        chunk_count: integer(&rows, row, "chunk_count")?,
        size: row
            .get(rows.column_index("size")?)
            .and_then(SqlValue::as_i64),
    }))
}

/// Marks the claimed file `ready` with its metadata. Returns `false` when
/// the claim was lost to another processor, which then owns the file.
pub fn mark_ready(
    db: &dyn Database,
    claim: &Claim,
    finished: &Finished,
    now: i64,
) -> Result<bool, StorageError> {
    let rows = db.execute(
        "UPDATE files SET status = 'ready', size = ?1, mime_type = ?2, sha256 = ?3, \
         processed_at = ?4, updated_at = ?4, status_reason = NULL, last_error = NULL, \
         next_attempt_at = NULL \
         WHERE id = ?5 AND status = 'processing' AND claimed_at = ?6 \
         RETURNING id",
        &[
            finished.size.into(),
            finished.mime_type.into(),
            finished.sha256.into(),
            now.into(),
            claim.file_id.as_str().into(),
            claim.claimed_at.into(),
        ],
    )?;
    Ok(!rows.is_empty())
}

/// Marks the claimed file `rejected` because its type is not allowed, and
/// deletes its bytes: a rejected file can never be downloaded, so keeping
/// them would only use space. The metadata stays for the file's owner to
/// see why. Returns `false` when the claim was lost.
pub fn mark_rejected(
    db: &dyn Database,
    claim: &Claim,
    finished: &Finished,
    reason: &str,
    now: i64,
) -> Result<bool, StorageError> {
    let rows = db.execute(
        "UPDATE files SET status = 'rejected', size = ?1, mime_type = ?2, sha256 = ?3, \
         status_reason = ?4, processed_at = ?5, updated_at = ?5, last_error = NULL, \
         next_attempt_at = NULL \
         WHERE id = ?6 AND status = 'processing' AND claimed_at = ?7 \
         RETURNING id",
        &[
            finished.size.into(),
            finished.mime_type.into(),
            finished.sha256.into(),
            reason.into(),
            now.into(),
            claim.file_id.as_str().into(),
            claim.claimed_at.into(),
        ],
    )?;
    if rows.is_empty() {
        return Ok(false);
    }

    // The status is written, so a failed delete only leaves unreachable
    // bytes behind: it is logged rather than reported as a failed attempt.
    let deleted = db.execute(
        "DELETE FROM file_chunks WHERE file_id = ?",
        &[claim.file_id.as_str().into()],
    );
    if let Err(error) = deleted {
        eprintln!(
            "processing: deleting the chunks of rejected file {} failed: {error}",
            claim.file_id
        );
    }
    Ok(true)
}

/// Puts the claimed file back to `pending`, due at `next_attempt_at`, with
/// the error of this attempt. Returns `false` when the claim was lost.
pub fn schedule_retry(
    db: &dyn Database,
    claim: &Claim,
    error: &str,
    next_attempt_at: i64,
    now: i64,
) -> Result<bool, StorageError> {
    let rows = db.execute(
        "UPDATE files SET status = 'pending', claimed_at = NULL, next_attempt_at = ?1, \
         last_error = ?2, updated_at = ?3 \
         WHERE id = ?4 AND status = 'processing' AND claimed_at = ?5 \
         RETURNING id",
        &[
            next_attempt_at.into(),
            error.into(),
            now.into(),
            claim.file_id.as_str().into(),
            claim.claimed_at.into(),
        ],
    )?;
    Ok(!rows.is_empty())
}

/// Marks the claimed file `failed` for good: `reason` is shown to the
/// file's owner, `error` is the detail for operators. Returns `false` when
/// the claim was lost.
pub fn mark_failed(
    db: &dyn Database,
    claim: &Claim,
    reason: &str,
    error: &str,
    now: i64,
) -> Result<bool, StorageError> {
    let rows = db.execute(
        "UPDATE files SET status = 'failed', status_reason = ?1, last_error = ?2, \
         processed_at = ?3, updated_at = ?3, next_attempt_at = NULL \
         WHERE id = ?4 AND status = 'processing' AND claimed_at = ?5 \
         RETURNING id",
        &[
            reason.into(),
            error.into(),
            now.into(),
            claim.file_id.as_str().into(),
            claim.claimed_at.into(),
        ],
    )?;
    Ok(!rows.is_empty())
}

fn integer(rows: &Rows, row: &[SqlValue], column: &str) -> Result<i64, StorageError> {
    row.get(rows.column_index(column)?)
        .and_then(SqlValue::as_i64)
        .ok_or_else(|| StorageError::new(format!("files.{column} is not an integer")))
}
