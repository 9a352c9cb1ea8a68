//! GET /files: an organization's files, newest first, with keyset
//! pagination.
//!
//! A page ends at the last file it returns, and the next page starts
//! strictly after that file's `(created_at, id)`. The query walks the
//! index `files_by_org_created (org_id, created_at DESC, id DESC)` from
//! that point, so a deep page costs the same as the first, and files
//! inserted meanwhile never shift a page.

use serde::Serialize;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::files::model::{FileJson, FileRecord, FileStatus, FILE_COLUMNS};
use crate::http::{Request, Response};
use crate::storage::{Database, SqlValue};

/// The page size when `?limit=` is absent.
pub const DEFAULT_LIMIT: i64 = 20;

/// The largest `?limit=` accepted.
pub const MAX_LIMIT: i64 = 100;

/// A position in the listing: the `(created_at, id)` of the last file of
/// the previous page. Clients receive it as an opaque string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    /// Encodes the cursor as lowercase hex of `created_at.id`. Clients
    /// must treat it as opaque; the format may change.
    pub fn encode(&self) -> String {
        hex::encode(format!("{}.{}", self.created_at, self.id))
    }

    /// Decodes a cursor from [`Cursor::encode`]. Anything else is 400
    /// `invalid_query`.
    pub fn decode(value: &str) -> Result<Cursor, ApiError> {
        let invalid = || invalid_query("cursor is invalid; pass next_cursor from a previous page");

        let bytes = hex::decode(value).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (created_at, id) = text.split_once('.').ok_or_else(invalid)?;
        let created_at = created_at.parse().map_err(|_| invalid())?;
        if !crate::ids::is_valid_id(id) {
            return Err(invalid());
        }

        Ok(Cursor {
            created_at,
            id: id.to_owned(),
        })
    }
}

/// The parameters of one listing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub limit: i64,
    pub cursor: Option<Cursor>,
    /// Only files with this status; never `uploading`.
    pub status: Option<FileStatus>,
}

impl ListQuery {
    /// Reads `?limit=` (1 to 100, default 20), `?cursor=` and `?status=`.
    /// An invalid value is 400 `invalid_query` naming the parameter.
    pub fn parse(request: &Request) -> Result<ListQuery, ApiError> {
        let limit = match request.query_param("limit") {
            None => DEFAULT_LIMIT,
            Some(value) => value
                .parse()
                .ok()
                .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                .ok_or_else(|| {
                    invalid_query(format!(
                        "limit {value:?} is invalid; expected a number from 1 to {MAX_LIMIT}"
                    ))
                })?,
        };

        let cursor = match request.query_param("cursor") {
            None => None,
            Some(value) => Some(Cursor::decode(&value)?),
        };

        let status = match request.query_param("status") {
            None => None,
            Some(value) => Some(
                FileStatus::parse(&value)
                    .filter(|status| *status != FileStatus::Uploading)
                    .ok_or_else(|| {
                        invalid_query(format!(
                            "status {value:?} is invalid; expected pending, processing, ready, \
                             rejected or failed"
                        ))
                    })?,
            ),
        };

        Ok(ListQuery {
            limit,
            cursor,
            status,
        })
    }
}

/// One page of the listing as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilePage {
    pub files: Vec<FileJson>,
    /// The cursor of the next page, or `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Answers GET /files with one page of the principal's files.
pub fn list(
    db: &dyn Database,
    principal: &Principal,
    request: &Request,
) -> Result<Response, ApiError> {
    let query = ListQuery::parse(request)?;
    let page = list_page(db, &principal.org_id, &query)?;
    Ok(Response::json(200, &page))
}

/// Returns one page of the files of `org_id` that are not `uploading`,
/// newest first.
pub fn list_page(db: &dyn Database, org_id: &str, query: &ListQuery) -> Result<FilePage, ApiError> {
    let mut sql =
        format!("SELECT {FILE_COLUMNS} FROM files WHERE org_id = ? AND status != 'uploading'");
    let mut params: Vec<SqlValue> = vec![org_id.into()];

    if let Some(status) = query.status {
        sql.push_str(" AND status = ?");
        params.push(status.as_str().into());
    }
    if let Some(cursor) = &query.cursor {
        // The first condition bounds the index range; the second drops
        // the files of the cursor's own millisecond up to its id.
        sql.push_str(" AND created_at <= ? AND (created_at < ? OR id < ?)");
        params.push(cursor.created_at.into());
        params.push(cursor.created_at.into());
        params.push(cursor.id.as_str().into());
    }
    // One row more than the page tells whether another page follows.
    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
    params.push((query.limit + 1).into());

    let rows = db.execute(&sql, &params)?;
    let mut records = FileRecord::from_rows(&rows)?;

    let has_more = records.len() as i64 > query.limit;
    records.truncate(query.limit as usize);
    let next_cursor = match records.last() {
        Some(last) if has_more => Some(
            Cursor {
                created_at: last.created_at,
                id: last.id.clone(),
            }
            .encode(),
        ),
        _ => None,
    };

    Ok(FilePage {
        files: records.iter().map(FileRecord::to_json).collect(),
        next_cursor,
    })
}

fn invalid_query(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}
