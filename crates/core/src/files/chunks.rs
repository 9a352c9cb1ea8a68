//! Writing a file's content into `file_chunks` rows as it arrives.

use crate::error::ApiError;
use crate::files::model::FileId;
use crate::files::store;
use crate::storage::Database;

/// The size of every chunk row but a file's last: 1 MiB. Large rows keep
/// a 50 MiB upload to 50 inserts, each committed on its own, while one
/// chunk is all the memory an upload or a download needs.
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// The maximum file content: 50 MiB (52,428,800 bytes).
pub const MAX_FILE_BYTES: u64 = 50 * 1024 * 1024;

/// Buffers a file's content and inserts each full [`CHUNK_BYTES`] chunk,
/// so at most one chunk of a file is in memory.
pub struct ChunkWriter<'a> {
    db: &'a dyn Database,
    file_id: FileId,
    buffer: Vec<u8>,
    next_seq: i64,
    size: u64,
}

impl<'a> ChunkWriter<'a> {
    pub fn new(db: &'a dyn Database, file_id: FileId) -> ChunkWriter<'a> {
        ChunkWriter {
            db,
            file_id,
            buffer: Vec::new(),
            next_seq: 0,
            size: 0,
        }
    }

    pub fn file_id(&self) -> &FileId {
        &self.file_id
    }

    /// Appends `bytes` to the content. Returns 413 `payload_too_large`
    /// as soon as the content passes [`MAX_FILE_BYTES`], before storing
    /// the bytes past the limit.
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<(), ApiError> {
        self.size += bytes.len() as u64;
        if self.size > MAX_FILE_BYTES {
            return Err(file_too_large());
        }

        while !bytes.is_empty() {
            if self.buffer.capacity() == 0 {
                self.buffer.reserve_exact(CHUNK_BYTES);
            }
            let room = CHUNK_BYTES - self.buffer.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.buffer.extend_from_slice(now);
            bytes = later;

            if self.buffer.len() == CHUNK_BYTES {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Stores the last partial chunk and returns the content's size in
    /// bytes and its number of chunks. Empty content has zero chunks.
    pub fn finish(mut self) -> Result<(i64, i64), ApiError> {
        if !self.buffer.is_empty() {
            self.flush()?;
        }
        Ok((self.size as i64, self.next_seq))
    }

    fn flush(&mut self) -> Result<(), ApiError> {
        store::insert_chunk(self.db, &self.file_id, self.next_seq, &self.buffer)?;
        self.next_seq += 1;
        self.buffer.clear();
        Ok(())
    }
}

/// The 413 for content over [`MAX_FILE_BYTES`].
pub fn file_too_large() -> ApiError {
    ApiError::PayloadTooLarge {
        message: format!("file is larger than the limit of {MAX_FILE_BYTES} bytes (50 MiB)"),
    }
}
