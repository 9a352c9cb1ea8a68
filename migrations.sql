-- Stowage schema, version 3.
--
-- Every statement is idempotent, so this file can be applied on each start:
--   spin up --sqlite @migrations.sql
-- The components apply the same statements on first use (stowage-core
-- includes this file). Statements are separated by a semicolon at the end
-- of a line, because Spin's SQLite interface runs one statement per call.
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE IF NOT EXISTS organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- Organization names are unique ignoring case, so "Globex" and "globex"
-- cannot both exist. SQLite's lower() folds ASCII letters only. Creating
-- the index fails on a database that already holds two names differing
-- only in case; rename one of them first.
CREATE UNIQUE INDEX IF NOT EXISTS organizations_by_name_key ON organizations (lower(name));

-- Usernames are unique across organizations because sign-in takes only a
-- username and a password.
CREATE TABLE IF NOT EXISTS users (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL REFERENCES organizations (id),
    username             TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    disabled             INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    password_changed_at  INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS users_by_org ON users (org_id, username);

-- API tokens for scripts. Only the SHA-256 of the secret is stored.
CREATE TABLE IF NOT EXISTS api_tokens (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER
);

CREATE INDEX IF NOT EXISTS api_tokens_by_user ON api_tokens (org_id, user_id);

-- One row per upload. status moves uploading -> pending -> processing ->
-- ready | rejected | failed; only ready files can be downloaded.
CREATE TABLE IF NOT EXISTS files (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    uploaded_by     TEXT NOT NULL REFERENCES users (id),
    filename        TEXT NOT NULL,
    declared_type   TEXT,
    status          TEXT NOT NULL CHECK (status IN
                        ('uploading', 'pending', 'processing', 'ready', 'rejected', 'failed')),
    size            INTEGER,
    chunk_count     INTEGER NOT NULL DEFAULT 0,
    mime_type       TEXT,
    sha256          TEXT,
    status_reason   TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    claimed_at      INTEGER,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    processed_at    INTEGER
);

-- Listing: newest first within one organization, with keyset pagination.
CREATE INDEX IF NOT EXISTS files_by_org_created ON files (org_id, created_at DESC, id DESC);

-- Recovery: finding stale uploading, pending and processing rows.
CREATE INDEX IF NOT EXISTS files_by_status ON files (status, updated_at);

-- File bytes, in order. seq starts at 0.
CREATE TABLE IF NOT EXISTS file_chunks (
    file_id  TEXT NOT NULL REFERENCES files (id),
    seq      INTEGER NOT NULL,
    data     BLOB NOT NULL,
    PRIMARY KEY (file_id, seq)
);

-- Fixed-window rate limits (docs/limits.md). One row per limited subject,
-- keyed "<scope>:<SHA-256 of the subject>"; a single upsert counts a
-- request, so instances sharing this database share the limits exactly.
CREATE TABLE IF NOT EXISTS rate_limits (
    key         TEXT PRIMARY KEY,
    window_end  INTEGER NOT NULL,
    count       INTEGER NOT NULL
);

-- Pruning rows whose window has ended.
CREATE INDEX IF NOT EXISTS rate_limits_by_window_end ON rate_limits (window_end);
