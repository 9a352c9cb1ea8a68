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
use crate::files::model::{FileId, FileJson, FileRecord, FileStatus, FILE_COLUMNS};
use crate::files::{requeue, store};
use crate::http::{Request, Response};
use crate::services::Services;
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

/// Handles GET /files: returns one page of the principal's files, after
/// handing the stale files among them back to processing
/// ([`requeue::requeue_stale`]).
pub fn list(
    services: &Services,
    principal: &Principal,
    request: &Request,
) -> Result<Response, ApiError> {
    let query = ListQuery::parse(request)?;
    let (mut records, next_cursor) = read_page(services.db, &principal.org_id, &query)?;

    let processed = requeue::requeue_stale(services, &records);
    if !processed.is_empty() {
        refresh(services.db, &principal.org_id, &mut records, &processed)?;
    }

    let page = FilePage {
        files: records.iter().map(FileRecord::to_json).collect(),
        next_cursor,
    };
    Ok(Response::json(200, &page))
}

/// Returns one page of the files of `org_id` that are not `uploading`,
/// newest first.
pub fn list_page(db: &dyn Database, org_id: &str, query: &ListQuery) -> Result<FilePage, ApiError> {
    let (records, next_cursor) = read_page(db, org_id, query)?;
    Ok(FilePage {
        files: records.iter().map(FileRecord::to_json).collect(),
        next_cursor,
    })
}

/// Reads one page of records and the cursor of the next page.
fn read_page(
    db: &dyn Database,
    org_id: &str,
    query: &ListQuery,
) -> Result<(Vec<FileRecord>, Option<String>), ApiError> {
    let (sql, params) = page_statement(org_id, query);
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
    Ok((records, next_cursor))
}

/// Reads the records of `changed` again, and drops those deleted meanwhile.
fn refresh(
    db: &dyn Database,
    org_id: &str,
    records: &mut Vec<FileRecord>,
    changed: &[String],
) -> Result<(), ApiError> {
    let mut deleted = Vec::new();
    for record in records.iter_mut() {
        if !changed.contains(&record.id) {
            continue;
        }
        let id = FileId::parse(&record.id)?;
        match store::find_visible(db, org_id, &id)? {
            Some(current) => *record = current,
            None => deleted.push(record.id.clone()),
        }
    }
    records.retain(|record| !deleted.contains(&record.id));
    Ok(())
}

/// Builds the page query. It fetches one row more than the page, which
/// shows whether another page follows.
fn page_statement(org_id: &str, query: &ListQuery) -> (String, Vec<SqlValue>) {
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
    // The limit is a literal, not a bound parameter: SQLite's planner reads
    // a bound LIMIT's value, so it prepares such a statement again on every
    // run. `limit` is a parsed number from 1 to MAX_LIMIT.
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT {}",
        query.limit + 1
    ));

    (sql, params)
}

fn invalid_query(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::files::test_support::{insert_file, insert_principal};
    use crate::http::Method;
    use crate::testing::TestEnv;

    fn query(path_and_query: &str) -> Result<ListQuery, ApiError> {
        ListQuery::parse(&Request::new(Method::Get, path_and_query))
    }

    fn ids_of(page: &FilePage) -> Vec<String> {
        page.files.iter().map(|file| file.id.clone()).collect()
    }

    #[test]
    fn files_are_listed_newest_first() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let old = insert_file(&env, &principal, FileStatus::Ready, 1_000);
        let new = insert_file(&env, &principal, FileStatus::Pending, 3_000);
        let middle = insert_file(&env, &principal, FileStatus::Rejected, 2_000);

        let page = list_page(&env.db, &principal.org_id, &query("/files").unwrap()).unwrap();

        assert_eq!(ids_of(&page), [new, middle, old]);
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn pages_cover_all_files_once() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        // Pairs share a millisecond, so the id breaks ties across pages.
        let mut inserted: Vec<String> = (0..45)
            .map(|index| insert_file(&env, &principal, FileStatus::Ready, index / 2))
            .collect();

        let mut seen = Vec::new();
        let mut page_sizes = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(cursor) => format!("/files?limit=20&cursor={cursor}"),
                None => "/files?limit=20".to_owned(),
            };
            let page = list_page(&env.db, &principal.org_id, &query(&path).unwrap()).unwrap();
            page_sizes.push(page.files.len());
            seen.extend(ids_of(&page));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }

        assert_eq!(page_sizes, [20, 20, 5]);
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), 45, "a file was listed twice");
        inserted.sort();
        let mut sorted_seen = seen.clone();
        sorted_seen.sort();
        assert_eq!(sorted_seen, inserted);
    }

    #[test]
    fn full_last_page_has_no_cursor() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        for index in 0..20 {
            insert_file(&env, &principal, FileStatus::Ready, index);
        }

        let page = list_page(&env.db, &principal.org_id, &query("/files").unwrap()).unwrap();

        assert_eq!(page.files.len(), 20);
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn other_organizations_are_never_listed() {
        let env = TestEnv::new();
        let acme = insert_principal(&env, "acme");
        let globex = insert_principal(&env, "globex");
        let own = insert_file(&env, &acme, FileStatus::Ready, 1);
        insert_file(&env, &globex, FileStatus::Ready, 2);

        let page = list_page(&env.db, &acme.org_id, &query("/files").unwrap()).unwrap();

        assert_eq!(ids_of(&page), [own]);
    }

    #[test]
    fn uploading_files_are_not_listed() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        insert_file(&env, &principal, FileStatus::Uploading, 1);
        let done = insert_file(&env, &principal, FileStatus::Pending, 2);

        let page = list_page(&env.db, &principal.org_id, &query("/files").unwrap()).unwrap();

        assert_eq!(ids_of(&page), [done]);
    }

    #[test]
    fn status_filter_selects_one_status() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let ready = insert_file(&env, &principal, FileStatus::Ready, 1);
        insert_file(&env, &principal, FileStatus::Pending, 2);

        let listing = query("/files?status=ready").unwrap();
        let page = list_page(&env.db, &principal.org_id, &listing).unwrap();

        assert_eq!(ids_of(&page), [ready]);
    }

    #[test]
    fn limit_defaults_to_twenty() {
        assert_eq!(query("/files").unwrap().limit, 20);
        assert_eq!(query("/files?limit=1").unwrap().limit, 1);
        assert_eq!(query("/files?limit=100").unwrap().limit, 100);
    }

    #[test]
    fn limit_outside_range_is_rejected() {
        for bad in ["0", "101", "-1", "ten", ""] {
            let error = query(&format!("/files?limit={bad}")).unwrap_err();
            assert_eq!(error.status(), 400, "limit {bad:?}");
            assert_eq!(error.code(), "invalid_query", "limit {bad:?}");
        }
    }

    #[test]
    fn invalid_cursor_is_rejected() {
        let not_an_id = hex::encode("5.not-an-id");
        for bad in ["zz", "abc", not_an_id.as_str()] {
            let error = query(&format!("/files?cursor={bad}")).unwrap_err();
            assert_eq!(error.code(), "invalid_query", "cursor {bad:?}");
            assert!(error.to_string().contains("cursor"), "{error}");
        }
    }

    #[test]
    fn invalid_status_is_rejected() {
        for bad in ["uploading", "done", "READY"] {
            let error = query(&format!("/files?status={bad}")).unwrap_err();
            assert_eq!(error.code(), "invalid_query", "status {bad:?}");
        }
    }

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor {
            created_at: 1_767_225_600_000,
            id: crate::ids::new_id(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
    }

    #[test]
    fn deep_page_walks_the_org_index() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let cursor = Cursor {
            created_at: 5,
            id: crate::ids::new_id(),
        };

        let listing = ListQuery {
            limit: 20,
            cursor: Some(cursor),
            status: None,
        };
        let (sql, params) = page_statement(&principal.org_id, &listing);

        let plan = env
            .db
            .execute(&format!("EXPLAIN QUERY PLAN {sql}"), &params)
            .unwrap();
        let detail: Vec<String> = plan
            .rows
            .iter()
            .filter_map(|row| row.last().and_then(SqlValue::as_str).map(str::to_owned))
            .collect();
        let detail = detail.join("; ");

        assert!(
            detail.contains("files_by_org_created (org_id=? AND created_at<?)"),
            "plan: {detail}"
        );
        assert!(!detail.contains("TEMP B-TREE"), "plan sorts: {detail}");
    }
}
