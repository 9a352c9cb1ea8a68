//! Which files need processing but will get no message on their own.
//!
//! [`is_stale`] decides it from a row already read, so the files component
//! can check the files it returns without another query.
//! [`requeue_stale`](super::requeue_stale) asks the same question in SQL;
//! a test holds the two to the same answers.

use crate::files::FileStatus;
use crate::processing::ProcessingLimits;

/// The columns of a `files` row that decide whether it is stale. Times are
/// milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkState {
    pub status: FileStatus,
    pub updated_at: i64,
    pub claimed_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
}

/// Returns whether a file needs processing that no message will bring:
/// a `pending` file whose retry is due, a `pending` file without a retry
/// that has waited [`ProcessingLimits::stale_pending_millis`] (its
/// message was lost), or a `processing` file whose claim is older than
/// [`ProcessingLimits::claim_timeout_millis`] (its processor died).
pub fn is_stale(work: &WorkState, now: i64, limits: &ProcessingLimits) -> bool {
    match work.status {
        FileStatus::Pending => match work.next_attempt_at {
            Some(due) => due <= now,
            None => work.updated_at <= now.saturating_sub(limits.stale_pending_millis),
        },
        FileStatus::Processing => work
            .claimed_at
            .is_some_and(|claimed| claimed <= now.saturating_sub(limits.claim_timeout_millis)),
        FileStatus::Uploading | FileStatus::Ready | FileStatus::Rejected | FileStatus::Failed => {
            false
        }
    }
}
