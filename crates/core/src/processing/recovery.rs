//! Recovery of work whose message was lost or whose processor died, and
//! collection of uploads that never completed.
//!
//! Redis pub/sub drops messages while no processor listens, and a
//! processor can stop mid-file. Nothing retries on its own, so the
//! processor calls [`process_stale`] on each message it handles, and the
//! files component re-publishes the stale files its GET routes return
//! (see `files::requeue`).

use crate::clock::Clock;
#[cfg(doc)]
use crate::processing::is_stale;
use crate::processing::{
    handle_message, process_file, ProcessOutcome, ProcessingError, ProcessingSettings,
};
use crate::storage::{Database, SqlValue, StorageError};

/// Age in milliseconds after which an `uploading` row counts as
/// abandoned: 1 hour. An upload of the largest file (50 MiB) takes minutes
/// even on a slow link, so a row this old belongs to a client that went
/// away or an instance that stopped mid-upload.
pub const ABANDONED_UPLOAD_AGE_MILLIS: i64 = 60 * 60 * 1000;

/// The most abandoned uploads [`collect_abandoned_uploads`] deletes per
/// call, which bounds the time the write lock is held.
const ABANDONED_UPLOAD_BATCH: i64 = 20;

/// The maximum number of stale files [`handle_message_and_recover`]
/// processes besides the message's own file. Each message then costs at
/// most a few files of work, and a backlog drains over the next messages.
pub const STALE_FILES_PER_MESSAGE: usize = 5;

/// Handles one message of the uploads channel with [`handle_message`],
/// then processes up to [`STALE_FILES_PER_MESSAGE`] stale files and
/// collects abandoned uploads, which is all a processor component does
/// per message. Failures of the two recovery steps are logged, not returned,
/// because they do not concern the message's file.
pub fn handle_message_and_recover(
    db: &dyn Database,
    clock: &dyn Clock,
    settings: &ProcessingSettings,
    payload: &[u8],
) -> Result<ProcessOutcome, ProcessingError> {
    let outcome = handle_message(db, clock, settings, payload);

    if let Err(error) = process_stale(db, clock, settings, STALE_FILES_PER_MESSAGE) {
        eprintln!("processing: {error}");
    }
    if let Err(error) = collect_abandoned_uploads(db, clock) {
        eprintln!("processing: {error}");
    }
    outcome
}

/// Returns the ids of up to `limit` files that need processing but will
/// get no message, oldest first: the files [`is_stale`] accepts, found
/// with SQL. `pending` files are due for a retry or older than the stale
/// age with no retry scheduled; `processing` files hold a timed-out claim.
pub fn requeue_stale(
    db: &dyn Database,
    clock: &dyn Clock,
    settings: &ProcessingSettings,
    limit: usize,
) -> Result<Vec<String>, ProcessingError> {
    let now = clock.now_millis();
    let stale_before = now.saturating_sub(settings.limits.stale_pending_millis);
    let abandoned_before = now.saturating_sub(settings.limits.claim_timeout_millis);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);

    let rows = db
        .execute(
            "SELECT id FROM files \
             WHERE (status = 'pending' AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?1) \
                OR (status = 'pending' AND next_attempt_at IS NULL AND updated_at <= ?2) \
                OR (status = 'processing' AND claimed_at <= ?3) \
             ORDER BY updated_at, id LIMIT ?4",
            &[
                now.into(),
                stale_before.into(),
                abandoned_before.into(),
                limit.into(),
            ],
        )
        .map_err(ProcessingError::Recovery)?;

    Ok(ids(rows.rows))
}

/// Processes up to `limit` files found by [`requeue_stale`] and returns
/// each one's outcome. A file that fails with a storage error is logged
/// and skipped, so one broken file does not block the others.
pub fn process_stale(
    db: &dyn Database,
    clock: &dyn Clock,
    settings: &ProcessingSettings,
    limit: usize,
) -> Result<Vec<(String, ProcessOutcome)>, ProcessingError> {
    let mut outcomes = Vec::new();

    for file_id in requeue_stale(db, clock, settings, limit)? {
        println!("processing: picked up stale file {file_id}");
        match process_file(db, clock, settings, &file_id) {
            Ok(outcome) => outcomes.push((file_id, outcome)),
            Err(error) => eprintln!("processing: {error}"),
        }
    }
    Ok(outcomes)
}

/// Deletes up to 20 `uploading` rows older than
/// [`ABANDONED_UPLOAD_AGE_MILLIS`] with their chunks, and returns their
/// ids. Row and chunks go in one transaction, so no chunk outlives its row
/// and an upload that completes meanwhile is not touched.
pub fn collect_abandoned_uploads(
    db: &dyn Database,
    clock: &dyn Clock,
) -> Result<Vec<String>, ProcessingError> {
    let cutoff = clock
        .now_millis()
        .saturating_sub(ABANDONED_UPLOAD_AGE_MILLIS);

    // Every message calls this, and almost always there is nothing to
    // collect: a read first keeps those calls from taking the write lock.
    let candidates = db
        .execute(
            "SELECT 1 FROM files WHERE status = 'uploading' AND updated_at <= ? LIMIT 1",
            &[cutoff.into()],
        )
        .map_err(ProcessingError::Recovery)?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }

    // BEGIN IMMEDIATE takes the write lock before the rows are chosen, so
    // they are still abandoned when they are deleted.
    db.execute("BEGIN IMMEDIATE", &[])
        .map_err(ProcessingError::Recovery)?;
    match delete_abandoned(db, cutoff) {
        Ok(collected) => {
            db.execute("COMMIT", &[])
                .map_err(ProcessingError::Recovery)?;
            for file_id in &collected {
                println!("processing: collected abandoned upload {file_id}");
            }
            Ok(collected)
        }
        Err(error) => {
            let _ = db.execute("ROLLBACK", &[]);
            Err(ProcessingError::Recovery(error))
        }
    }
}

fn delete_abandoned(db: &dyn Database, cutoff: i64) -> Result<Vec<String>, StorageError> {
    let rows = db.execute(
        "SELECT id FROM files WHERE status = 'uploading' AND updated_at <= ? \
         ORDER BY updated_at, id LIMIT ?",
        &[cutoff.into(), ABANDONED_UPLOAD_BATCH.into()],
    )?;
    let collected = ids(rows.rows);

    for file_id in &collected {
        db.execute(
            "DELETE FROM file_chunks WHERE file_id = ?",
            &[file_id.as_str().into()],
        )?;
        db.execute("DELETE FROM files WHERE id = ?", &[file_id.as_str().into()])?;
    }
    Ok(collected)
}

fn ids(rows: Vec<Vec<SqlValue>>) -> Vec<String> {
    rows.into_iter()
        .filter_map(|row| match row.into_iter().next() {
            Some(SqlValue::Text(id)) => Some(id),
            _ => None,
        })
        .collect()
}
