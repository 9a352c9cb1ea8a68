//! Fixtures for the files tests: organizations, users and file rows
//! inserted with plain SQL, and request bodies.

use std::io;

use crate::auth::{Principal, Role};
use crate::files::model::FileStatus;
use crate::http::{BodyReader, Method, Request};
use crate::storage::Database;
use crate::testing::TestEnv;

/// Inserts an organization named `org_name` with one member and returns
/// that member as a principal.
pub fn insert_principal(env: &TestEnv, org_name: &str) -> Principal {
    let org_id = crate::ids::new_id();
    let user_id = crate::ids::new_id();
    let username = format!("{org_name}-user");
    env.db
        .execute(
            "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, 0)",
            &[org_id.as_str().into(), org_name.into()],
        )
        .unwrap();
    env.db
        .execute(
            "INSERT INTO users (id, org_id, username, password_hash, role, created_at, \
             password_changed_at) VALUES (?, ?, ?, 'unused', 'member', 0, 0)",
            &[
                user_id.as_str().into(),
                org_id.as_str().into(),
                username.as_str().into(),
            ],
        )
        .unwrap();

    Principal {
        user_id,
        org_id,
        username,
        role: Role::Member,
    }
}

/// Inserts a file row of `principal`'s organization with 3 bytes in one
/// chunk and returns its id.
pub fn insert_file(
    env: &TestEnv,
    principal: &Principal,
    status: FileStatus,
    created_at: i64,
) -> String {
    let id = crate::ids::new_id();
    env.db
        .execute(
            "INSERT INTO files (id, org_id, uploaded_by, filename, status, size, chunk_count, \
             mime_type, created_at, updated_at) VALUES (?, ?, ?, 'a.txt', ?, 3, 1, 'text/plain', ?, ?)",
            &[
                id.as_str().into(),
                principal.org_id.as_str().into(),
                principal.user_id.as_str().into(),
                status.as_str().into(),
                created_at.into(),
                created_at.into(),
            ],
        )
        .unwrap();
    env.db
        .execute(
            "INSERT INTO file_chunks (file_id, seq, data) VALUES (?, 0, ?)",
            &[id.as_str().into(), b"abc".to_vec().into()],
        )
        .unwrap();
    id
}

/// Returns the number of rows in `table`.
pub fn count_rows(env: &TestEnv, table: &str) -> i64 {
    let rows = env
        .db
        .execute(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .unwrap();
    rows.rows[0][0].as_i64().unwrap()
}

/// Builds a `multipart/form-data` body with boundary `BOUNDARY` and one part
/// per `(headers, content)` pair.
pub fn multipart_body(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (headers, content) in parts {
        body.extend_from_slice(b"--BOUNDARY\r\n");
        body.extend_from_slice(headers.as_bytes());
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--BOUNDARY--\r\n");
    body
}

/// Returns the part headers of a file part named `file`.
pub fn file_part_headers(filename: &str) -> String {
    format!(
        "Content-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: text/plain"
    )
}

/// Builds a POST /files request with the multipart Content-Type of
/// [`multipart_body`].
pub fn multipart_request() -> Request {
    Request::new(Method::Post, "/files")
        .with_header("content-type", "multipart/form-data; boundary=BOUNDARY")
}

/// A body served in chunks of `chunk_size` bytes.
pub struct ChunkedBody {
    data: Vec<u8>,
    position: usize,
    chunk_size: usize,
}

impl ChunkedBody {
    pub fn new(data: Vec<u8>, chunk_size: usize) -> Self {
        ChunkedBody {
            data,
            position: 0,
            chunk_size,
        }
    }
}

impl BodyReader for ChunkedBody {
    fn read_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.position >= self.data.len() {
            return Ok(None);
        }
        let end = (self.position + self.chunk_size).min(self.data.len());
        let chunk = self.data[self.position..end].to_vec();
        self.position = end;
        Ok(Some(chunk))
    }
}

/// A body of `prefix`, then `len` generated content bytes, then
/// `suffix`, produced in 64 KiB chunks so large bodies are never held
/// whole.
pub struct GeneratedBody {
    prefix: Option<Vec<u8>>,
    remaining: u64,
    suffix: Option<Vec<u8>>,
}

impl GeneratedBody {
    pub fn new(prefix: &[u8], len: u64, suffix: &[u8]) -> Self {
        GeneratedBody {
            prefix: Some(prefix.to_vec()),
            remaining: len,
            suffix: Some(suffix.to_vec()),
        }
    }
}

impl BodyReader for GeneratedBody {
    fn read_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        if let Some(prefix) = self.prefix.take().filter(|bytes| !bytes.is_empty()) {
            return Ok(Some(prefix));
        }
        if self.remaining > 0 {
            let len = self.remaining.min(64 * 1024);
            self.remaining -= len;
            return Ok(Some(vec![b'x'; len as usize]));
        }
        Ok(self.suffix.take().filter(|bytes| !bytes.is_empty()))
    }
}

/// A body that fails the test if anything reads it.
pub struct UnreadableBody;

impl BodyReader for UnreadableBody {
    fn read_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        panic!("the body was read although the request was rejected before reading");
    }
}

/// A body that fails with an I/O error after its first chunk.
pub struct FailingBody {
    first: Option<Vec<u8>>,
}

impl FailingBody {
    pub fn new(first: Vec<u8>) -> Self {
        FailingBody { first: Some(first) }
    }
}

impl BodyReader for FailingBody {
    fn read_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        match self.first.take() {
            Some(chunk) => Ok(Some(chunk)),
            None => Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset",
            )),
        }
    }
}
