//! Files: filenames, the upload into chunk rows, listing, details,
//! download and deletion, always scoped to one organization.
