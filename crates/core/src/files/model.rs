//! A stored file's metadata: its id, status, the row it is read from and
//! the JSON clients receive.

use std::fmt;

use serde::Serialize;

use crate::clock::format_rfc3339;
use crate::error::ApiError;
use crate::files::Filename;
use crate::processing::WorkState;
use crate::storage::{Rows, SqlValue};

/// A file id: the shape of [`crate::ids::new_id`], checked before it
/// reaches SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileId(String);

impl FileId {
    /// Returns a new random id.
    pub fn generate() -> FileId {
        FileId(crate::ids::new_id())
    }

    /// Parses an id from a URL. A malformed id is 404 `not_found`, the
    /// same response as for an unknown one.
    pub fn parse(value: &str) -> Result<FileId, ApiError> {
        if crate::ids::is_valid_id(value) {
            Ok(FileId(value.to_owned()))
        } else {
            Err(file_not_found())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Returns the 404 for a file that does not exist, is malformed, belongs to
/// another organization or is still uploading. One message for all, so a
/// client learns nothing about other tenants.
pub fn file_not_found() -> ApiError {
    ApiError::not_found("file not found")
}

/// The state of a file: `uploading` while its bytes arrive,
/// `pending` once stored, `processing` while claimed, then `ready`,
/// `rejected` (content not allowed) or `failed` (processing gave up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Uploading,
    Pending,
    Processing,
    Ready,
    Rejected,
    Failed,
}

impl FileStatus {
    pub const ALL: [FileStatus; 6] = [
        FileStatus::Uploading,
        FileStatus::Pending,
        FileStatus::Processing,
        FileStatus::Ready,
        FileStatus::Rejected,
        FileStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Uploading => "uploading",
            FileStatus::Pending => "pending",
            FileStatus::Processing => "processing",
            FileStatus::Ready => "ready",
            FileStatus::Rejected => "rejected",
            FileStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<FileStatus> {
        FileStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// One row of the `files` table, as every route reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub id: String,
    pub org_id: String,
    pub uploaded_by: String,
    pub filename: Filename,
    pub declared_type: Option<String>,
    pub status: FileStatus,
    /// Content size in bytes; known once the upload completes.
    pub size: Option<i64>,
    pub chunk_count: i64,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub status_reason: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Milliseconds since the Unix epoch, as every time below.
    pub created_at: i64,
    pub updated_at: i64,
    pub processed_at: Option<i64>,
    /// The time of the current claim while `processing`.
    pub claimed_at: Option<i64>,
    /// The time the next attempt is due while `pending` after a failed
    /// attempt.
    pub next_attempt_at: Option<i64>,
}

/// The columns [`FileRecord::from_rows`] reads, for `SELECT` statements.
pub const FILE_COLUMNS: &str = "id, org_id, uploaded_by, filename, declared_type, status, size, \
     chunk_count, mime_type, sha256, status_reason, attempts, last_error, created_at, \
     updated_at, processed_at, claimed_at, next_attempt_at";

impl FileRecord {
    /// Reads every row of a `SELECT FILE_COLUMNS ...` result. A missing
    /// column or an unknown status is an internal error.
    pub fn from_rows(rows: &Rows) -> Result<Vec<FileRecord>, ApiError> {
        let columns = ColumnIndexes::of(rows)?;
        rows.rows.iter().map(|row| columns.read(row)).collect()
    }

    /// Converts the file to the JSON clients receive.
    pub fn to_json(&self) -> FileJson {
        FileJson {
            id: self.id.clone(),
            filename: self.filename.as_str().to_owned(),
            status: self.status.as_str(),
            size: self.size,
            mime_type: self.mime_type.clone(),
            declared_type: self.declared_type.clone(),
            type_mismatch: types_disagree(self.declared_type.as_deref(), self.mime_type.as_deref()),
            sha256: self.sha256.clone(),
            status_reason: self.status_reason.clone(),
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            created_at: format_rfc3339(self.created_at),
            updated_at: format_rfc3339(self.updated_at),
            processed_at: self.processed_at.map(format_rfc3339),
            claimed_at: self.claimed_at.map(format_rfc3339),
            next_attempt_at: self.next_attempt_at.map(format_rfc3339),
        }
    }

    /// Returns the columns that decide whether the file needs recovery.
    pub fn work_state(&self) -> WorkState {
        WorkState {
            status: self.status,
            updated_at: self.updated_at,
            claimed_at: self.claimed_at,
            next_attempt_at: self.next_attempt_at,
        }
    }
}

/// A file as JSON. Unknown values are `null`; times are RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileJson {
    pub id: String,
    pub filename: String,
    pub status: &'static str,
    pub size: Option<i64>,
    pub mime_type: Option<String>,
    pub declared_type: Option<String>,
    /// Whether the declared type contradicts the detected `mime_type`
    /// (see [`types_disagree`]). `false` until the file is processed.
    pub type_mismatch: bool,
    pub sha256: Option<String>,
    pub status_reason: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub processed_at: Option<String>,
    /// When the current processing attempt started, while `processing`.
    pub claimed_at: Option<String>,
    /// When the next attempt is due, while `pending` after a failed one.
    pub next_attempt_at: Option<String>,
}

/// Reports whether a client's declared type contradicts the type detected
/// from the bytes. Both must be known, and the declared type must not be
/// `application/octet-stream`, which declares no type in particular.
/// Media types are compared without parameters and case-insensitively, so
/// `text/plain; charset=utf-8` agrees with `text/plain`.
pub fn types_disagree(declared: Option<&str>, detected: Option<&str>) -> bool {
    fn essence(media_type: &str) -> String {
        let essence = media_type.split(';').next().unwrap_or_default();
        essence.trim().to_ascii_lowercase()
    }

    match (declared.map(essence), detected.map(essence)) {
        (Some(declared), Some(detected)) => {
            declared != "application/octet-stream" && declared != detected
        }
        _ => false,
    }
}

/// The position of each [`FILE_COLUMNS`] column in a result.
struct ColumnIndexes([usize; 18]);

const COLUMN_NAMES: [&str; 18] = [
    "id",
    "org_id",
    "uploaded_by",
    "filename",
    "declared_type",
    "status",
    "size",
    "chunk_count",
    "mime_type",
    "sha256",
    "status_reason",
    "attempts",
    "last_error",
    "created_at",
    "updated_at",
    "processed_at",
    "claimed_at",
    "next_attempt_at",
];

impl ColumnIndexes {
    fn of(rows: &Rows) -> Result<ColumnIndexes, ApiError> {
        let mut indexes = [0; 18];
        for (slot, name) in indexes.iter_mut().zip(COLUMN_NAMES) {
            *slot = rows.column_index(name)?;
        }
        Ok(ColumnIndexes(indexes))
    }

    fn read(&self, row: &[SqlValue]) -> Result<FileRecord, ApiError> {
        let value = |column: usize| &row[self.0[column]];
        let text = |column: usize| value(column).as_str().map(str::to_owned);
        let integer = |column: usize| value(column).as_i64();
        let required_text = |column: usize| {
            text(column).ok_or_else(|| invalid_column(COLUMN_NAMES[column], value(column)))
        };
        let required_integer = |column: usize| {
            integer(column).ok_or_else(|| invalid_column(COLUMN_NAMES[column], value(column)))
        };

        let status_text = required_text(5)?;
        let status = FileStatus::parse(&status_text).ok_or_else(|| {
            ApiError::internal(format!("files.status {status_text:?} is unknown"))
        })?;

        Ok(FileRecord {
            id: required_text(0)?,
            org_id: required_text(1)?,
            uploaded_by: required_text(2)?,
            filename: Filename::from_stored(required_text(3)?),
            declared_type: text(4),
            status,
            size: integer(6),
            chunk_count: required_integer(7)?,
            mime_type: text(8),
            sha256: text(9),
            status_reason: text(10),
            attempts: required_integer(11)?,
            last_error: text(12),
            created_at: required_integer(13)?,
            updated_at: required_integer(14)?,
            processed_at: integer(15),
            claimed_at: integer(16),
            next_attempt_at: integer(17),
        })
    }
}

fn invalid_column(name: &str, value: &SqlValue) -> ApiError {
    ApiError::internal(format!("files.{name} has unexpected value {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::types_disagree;

    #[test]
    fn types_disagree_only_when_both_are_known_and_differ() {
        assert!(types_disagree(Some("application/json"), Some("text/plain")));
        assert!(types_disagree(Some("image/png"), Some("application/pdf")));
        assert!(!types_disagree(Some("Text/Plain; charset=utf-8"), Some("text/plain")));
        assert!(!types_disagree(Some("application/octet-stream"), Some("image/png")));
        assert!(!types_disagree(None, Some("image/png")));
        assert!(!types_disagree(Some("image/png"), None));
    }
}
