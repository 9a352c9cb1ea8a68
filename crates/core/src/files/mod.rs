//! Files: filenames, the upload into chunk rows, listing, details,
//! download and deletion, always scoped to one organization.
//!
//! A file's bytes live in `file_chunks` rows of [`CHUNK_BYTES`] beside its
//! `files` row, so both are deleted and backed up together. Storage is
//! keyed by random file ids, never by filenames.

pub mod chunks;
pub mod content;
pub mod details;
pub mod filename;
pub mod list;
pub mod model;
pub mod requeue;
pub mod store;
pub mod upload;

#[cfg(test)]
pub(crate) mod test_support;

pub use chunks::{CHUNK_BYTES, MAX_FILE_BYTES};
pub use content::write_content;
pub use details::{delete, details, download, find_file};
pub use filename::Filename;
pub use list::list;
pub use model::{FileId, FileJson, FileRecord, FileStatus};
pub use upload::upload;
