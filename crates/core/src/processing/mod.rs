//! Processing of stored uploads: claim, hash, sniff the MIME type and mark
//! the file ready.
//!
//! A file arrives here `pending`, with all its bytes in `file_chunks`. The
//! processor component calls [`handle_message`] for each Redis message, and
//! the files component calls [`process_file`] itself in inline mode. Redis
//! pub/sub delivers at most once, to every subscriber, and Spin never
//! retries a failed handler, so:
//!
//! - a claim is one atomic `UPDATE` (`pending` to `processing`), and only
//!   its holder writes the result, so any number of processors is safe;
//! - processing a file that is not `pending` changes nothing, so repeated
//!   messages are harmless;
//! - a failed attempt goes back to `pending` with a backoff until
//!   [`ProcessingLimits::max_attempts`], then becomes `failed`;
//! - [`requeue_stale`] finds files whose message was lost or whose
//!   processor died, for the caller to process (see [`process_stale`]);
//!   the processor component handles each message with
//!   [`handle_message_and_recover`], which does both.
//!
//! Informational log lines (a claim, a result, a recovered file) go to
//! stdout and warnings and errors to stderr; Spin forwards both to the
//! host's log. They name file ids and never contain file content.

mod compound;
mod markup;
mod policy;
mod reader;
mod recovery;
mod settings;
mod sniff;
mod stale;
mod state;

#[cfg(test)]
mod tests;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::storage::{Database, StorageError};

pub use policy::{InvalidMimePolicy, MimePolicy, DEFAULT_ALLOWED_MIME_TYPES};
pub use reader::Metadata;
pub use recovery::{
    collect_abandoned_uploads, handle_message_and_recover, process_stale, requeue_stale,
    ABANDONED_UPLOAD_AGE_MILLIS, STALE_FILES_PER_MESSAGE,
};
pub use settings::{
    ProcessingLimits, ProcessingSettings, DEFAULT_CLAIM_TIMEOUT_MILLIS, DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_BASE_MILLIS, DEFAULT_STALE_PENDING_MILLIS,
};
pub use stale::{is_stale, WorkState};
pub use sniff::{BINARY_MIME_TYPE, EMPTY_MIME_TYPE, HEAD_LEN, TEXT_MIME_TYPE};

use reader::ReadError;
use state::{Claim, Finished};

/// The result of one processing call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessOutcome {
    /// The file is `ready` with this metadata.
    Ready(Metadata),
    /// The file is `rejected` because its type is not allowed.
    Rejected { mime_type: String },
    /// This attempt failed, so the file is `pending` again and due at
    /// `next_attempt_at` (milliseconds since the epoch).
    RetryScheduled { attempts: u32, next_attempt_at: i64 },
    /// The last allowed attempt failed, so the file is `failed`.
    Failed { attempts: u32 },
    /// The file was not claimed because it is unknown, already final,
    /// waiting for its next attempt or held by another processor. Nothing
    /// was written.
    NotClaimed,
    /// Another processor took the file over while this one worked on it
    /// (the claim timed out), so this one wrote nothing.
    ClaimLost,
    /// The file was deleted while this processor worked on it, so it
    /// wrote nothing.
    Deleted,
    /// The message was not a file id and was ignored.
    MalformedMessage,
}

/// A storage failure that left the file's status unchanged or unknown.
/// A file left `processing` this way is taken over once its claim times
/// out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessingError {
    /// A status change of `file_id` could not be written.
    #[error("processing file {file_id} failed: {source}")]
    Storage {
        file_id: String,
        source: StorageError,
    },
    /// Searching for stale or abandoned files failed.
    #[error("searching for stale files failed: {0}")]
    Recovery(StorageError),
}

impl From<ProcessingError> for ApiError {
    fn from(error: ProcessingError) -> Self {
        ApiError::internal(error.to_string())
    }
}

/// Handles one message of the uploads channel: its payload is the id of
/// a stored file. A payload that is not a file id is logged and ignored,
/// because Spin would not deliver it again anyway.
pub fn handle_message(
    db: &dyn Database,
    clock: &dyn Clock,
    settings: &ProcessingSettings,
    payload: &[u8],
) -> Result<ProcessOutcome, ProcessingError> {
    let file_id = match std::str::from_utf8(payload) {
        Ok(text) if crate::ids::is_valid_id(text.trim()) => text.trim(),
        _ => {
            eprintln!(
                "processing: ignored a message of {} bytes that is not a file id",
                payload.len()
            );
            return Ok(ProcessOutcome::MalformedMessage);
        }
    };

    process_file(db, clock, settings, file_id)
}

/// Claims the file, reads its bytes to compute size, MIME type and SHA-256,
/// and marks it `ready` or `rejected`. A failed read schedules a retry, or
/// marks the file `failed` after the last attempt.
pub fn process_file(
    db: &dyn Database,
    clock: &dyn Clock,
    settings: &ProcessingSettings,
    file_id: &str,
) -> Result<ProcessOutcome, ProcessingError> {
    let storage_error = |source| ProcessingError::Storage {
        file_id: file_id.to_owned(),
        source,
    };
    let now = clock.now_millis();
    let abandoned_before = now.saturating_sub(settings.limits.claim_timeout_millis);

    let Some(claim) = state::claim(db, file_id, now, abandoned_before).map_err(storage_error)?
    else {
        return Ok(ProcessOutcome::NotClaimed);
    };
    println!(
        "processing: claimed file {file_id} (attempt {})",
        claim.attempts
    );

    if claim.attempts > settings.limits.max_attempts {
        // The previous attempt was the last and never finished.
        let error = "the last attempt did not finish before its claim timed out";
        return give_up(db, clock, settings, &claim, error, error).map_err(storage_error);
    }

    let outcome = match reader::read_metadata(db, &claim) {
        Ok(metadata) => finish(db, clock, settings, &claim, metadata),
        Err(error) => record_failure(db, clock, settings, &claim, &error),
    };
    outcome.map_err(storage_error)
}

/// Writes the result of a complete read: `ready` when the type is allowed,
/// `rejected` otherwise.
fn finish(
    db: &dyn Database,
    clock: &dyn Clock,
    settings: &ProcessingSettings,
    claim: &Claim,
    metadata: Metadata,
) -> Result<ProcessOutcome, StorageError> {
    let now = clock.now_millis();
    let finished = Finished {
        size: metadata.size,
        mime_type: &metadata.mime_type,
        sha256: &metadata.sha256,
    };
    let file_id = &claim.file_id;

    if !settings.allowed_types.allows(&metadata.mime_type) {
        let reason = format!("file type {} is not allowed", metadata.mime_type);
        if !state::mark_rejected(db, claim, &finished, &reason, now)? {
            return claim_lost(db, file_id);
        }
        println!("processing: rejected file {file_id}: {reason}");
        return Ok(ProcessOutcome::Rejected {
            mime_type: metadata.mime_type,
        });
    }

    if !state::mark_ready(db, claim, &finished, now)? {
        return claim_lost(db, file_id);
    }
    println!(
        "processing: file {file_id} is ready ({} bytes, {})",
        metadata.size, metadata.mime_type
    );
    Ok(ProcessOutcome::Ready(metadata))
}

/// Schedules the next attempt after a failed read, or gives up after the
/// last one.
fn record_failure(
    db: &dyn Database,
    clock: &dyn Clock,
    settings: &ProcessingSettings,
    claim: &Claim,
    error: &ReadError,
) -> Result<ProcessOutcome, StorageError> {
    if claim.attempts >= settings.limits.max_attempts {
        let detail = error.to_string();
        return give_up(db, clock, settings, claim, &error.public_message(), &detail);
    }

    let now = clock.now_millis();
    let delay = settings.limits.retry_delay_millis(claim.attempts);
    let next_attempt_at = now.saturating_add(delay);
    let file_id = &claim.file_id;
    if !state::schedule_retry(db, claim, &error.to_string(), next_attempt_at, now)? {
        return claim_lost(db, file_id);
    }

    eprintln!(
        "processing: attempt {} on file {file_id} failed, retrying in {} ms: {error}",
        claim.attempts,
        next_attempt_at - now
    );
    Ok(ProcessOutcome::RetryScheduled {
        attempts: claim.attempts,
        next_attempt_at,
    })
}

/// Marks the file `failed`: `public_error` goes into the reason its owner
/// reads, `detail` into `last_error` and the log.
fn give_up(
    db: &dyn Database,
    clock: &dyn Clock,
    settings: &ProcessingSettings,
    claim: &Claim,
    public_error: &str,
    detail: &str,
) -> Result<ProcessOutcome, StorageError> {
    let attempts = claim.attempts.min(settings.limits.max_attempts);
    let reason = format!("processing failed after {attempts} attempts: {public_error}");
    let file_id = &claim.file_id;

    if !state::mark_failed(db, claim, &reason, detail, clock.now_millis())? {
        return claim_lost(db, file_id);
    }
    eprintln!("processing: file {file_id} failed after {attempts} attempts: {detail}");
    Ok(ProcessOutcome::Failed { attempts })
}

/// Tells apart why a result could not be written under the claim: the
/// file was deleted, or another processor took over a timed-out claim.
fn claim_lost(db: &dyn Database, file_id: &str) -> Result<ProcessOutcome, StorageError> {
    let exists = db.execute("SELECT 1 FROM files WHERE id = ?", &[file_id.into()])?;
    if exists.is_empty() {
        println!("processing: file {file_id} was deleted during processing");
        return Ok(ProcessOutcome::Deleted);
    }
    eprintln!(
        "processing: lost the claim on file {file_id} to another processor \
         after the claim timed out"
    );
    Ok(ProcessOutcome::ClaimLost)
}
