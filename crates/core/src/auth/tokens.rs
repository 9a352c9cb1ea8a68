//! API tokens for scripts, sent as `Authorization: Bearer <token>`.
//!
//! A token is `stw_` followed by 64 hex digits (256 random bits); the
//! prefix lets secret scanners recognize leaked tokens. Only its SHA-256
//! is stored, and the secret is shown once, when the token is created.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::principal::{Caller, Credential};
use crate::auth::users;
use crate::clock::format_rfc3339;
use crate::error::ApiError;
use crate::ids::{new_id, random_bytes};
use crate::services::Services;
use crate::storage::{Rows, SqlValue};

const TOKEN_PREFIX: &str = "stw_";

/// `last_used_at` is written at most this often per token, so that
/// requests authenticated by a token rarely write.
pub const LAST_USED_INTERVAL_SECS: i64 = 5 * 60;

pub const MAX_TOKEN_NAME_CHARS: usize = 100;
pub const MAX_EXPIRES_IN_DAYS: i64 = 3650;

/// A token as listed: never the secret or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// A newly created token with its secret, which is not stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub view: TokenView,
    pub token: String,
}

/// A token name: 1 to 100 characters after trimming, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(value: &str) -> Result<TokenName, ApiError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ApiError::validation(
                "invalid_token_name",
                "the token name is empty",
            ));
        }
        if value.chars().count() > MAX_TOKEN_NAME_CHARS {
            return Err(ApiError::validation(
                "invalid_token_name",
                format!("the token name is longer than {MAX_TOKEN_NAME_CHARS} characters"),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(ApiError::validation(
                "invalid_token_name",
                "the token name contains control characters",
            ));
        }
        Ok(TokenName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Creates a token for the caller's user. `expires_in_days` of `None`
/// creates a token that does not expire.
pub fn create(
    services: &Services,
    caller: &Caller,
    name: &TokenName,
    expires_in_days: Option<i64>,
) -> Result<CreatedToken, ApiError> {
    if let Some(days) = expires_in_days {
        if !(1..=MAX_EXPIRES_IN_DAYS).contains(&days) {
            return Err(ApiError::validation(
                "invalid_expiry",
                format!("expires_in_days must be from 1 to {MAX_EXPIRES_IN_DAYS}"),
            ));
        }
    }

    let now = services.clock.now_millis();
    let id = new_id();
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(random_bytes::<32>()));
    let expires_at = expires_in_days.map(|days| now + days * 24 * 60 * 60 * 1000);

    services.db.execute(
        "INSERT INTO api_tokens (id, org_id, user_id, name, token_hash, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        &[
            id.as_str().into(),
            caller.user.org_id.as_str().into(),
            caller.user.id.as_str().into(),
            name.as_str().into(),
            hash_secret(&secret).into(),
            now.into(),
            expires_at.into(),
        ],
    )?;

    Ok(CreatedToken {
        view: TokenView {
            id,
            name: name.as_str().to_owned(),
            created_at: format_rfc3339(now),
            expires_at: expires_at.map(format_rfc3339),
            last_used_at: None,
        },
        token: secret,
    })
}

/// Lists the tokens of the caller's user, newest first.
pub fn list(services: &Services, caller: &Caller) -> Result<Vec<TokenView>, ApiError> {
    let rows = services.db.execute(
        "SELECT id, name, created_at, expires_at, last_used_at FROM api_tokens \
         WHERE org_id = ? AND user_id = ? ORDER BY created_at DESC, id",
        &[
            caller.user.org_id.as_str().into(),
            caller.user.id.as_str().into(),
        ],
    )?;
    rows.rows
        .iter()
        .map(|row| {
            Ok(TokenView {
                id: text(&rows, row, "id")?,
                name: text(&rows, row, "name")?,
                created_at: format_rfc3339(integer(&rows, row, "created_at")?.unwrap_or(0)),
                expires_at: integer(&rows, row, "expires_at")?.map(format_rfc3339),
                last_used_at: integer(&rows, row, "last_used_at")?.map(format_rfc3339),
            })
        })
        .collect()
}

/// Deletes one of the caller's tokens. A token of another user is
/// not found, like a missing one.
pub fn revoke(services: &Services, caller: &Caller, token_id: &str) -> Result<(), ApiError> {
    let deleted = services.db.execute(
        "DELETE FROM api_tokens WHERE id = ? AND org_id = ? AND user_id = ? RETURNING id",
        &[
            token_id.into(),
            caller.user.org_id.as_str().into(),
            caller.user.id.as_str().into(),
        ],
    )?;
    if deleted.is_empty() {
        return Err(ApiError::not_found("token not found"));
    }
    Ok(())
}

/// Deletes every token of a user, when an admin deletes the user or sets
/// a new password for them.
pub fn revoke_all_of_user(
    services: &Services,
    org_id: &str,
    user_id: &str,
) -> Result<(), ApiError> {
    services.db.execute(
        "DELETE FROM api_tokens WHERE user_id = ? AND org_id = ?",
        &[user_id.into(), org_id.into()],
    )?;
    Ok(())
}

/// Authenticates a Bearer secret. Unknown, expired and malformed tokens,
/// and tokens of disabled users, are all `Unauthorized`.
///
/// The lookup by hash is the one query on `api_tokens` without an
/// organization, because it is what finds the organization. Everything
/// after it is scoped to the token row's `org_id`.
pub fn authenticate_token(services: &Services, secret: &str) -> Result<Caller, ApiError> {
    if !is_well_formed(secret) {
        return Err(ApiError::Unauthorized);
    }

    let rows = services.db.execute(
        "SELECT id, user_id, org_id, expires_at, last_used_at FROM api_tokens \
         WHERE token_hash = ?",
        &[hash_secret(secret).into()],
    )?;
    let Some(row) = rows.rows.first() else {
        return Err(ApiError::Unauthorized);
    };

    let now = services.clock.now_millis();
    let token_id = text(&rows, row, "id")?;
    let expires_at = integer(&rows, row, "expires_at")?;
    if expires_at.is_some_and(|expires_at| now >= expires_at) {
        return Err(ApiError::Unauthorized);
    }

    let user_id = text(&rows, row, "user_id")?;
    let org_id = text(&rows, row, "org_id")?;
    let user = users::find_in_org(services.db, &org_id, &user_id)?
        .filter(|user| !user.disabled)
        .ok_or(ApiError::Unauthorized)?;

    let last_used_at = integer(&rows, row, "last_used_at")?;
    if last_used_at.is_none_or(|last| now - last >= LAST_USED_INTERVAL_SECS * 1000) {
        services.db.execute(
            "UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND org_id = ?",
            &[now.into(), token_id.as_str().into(), org_id.as_str().into()],
        )?;
    }

    Ok(Caller {
        user,
        credential: Credential::ApiToken { token_id },
    })
}

fn is_well_formed(secret: &str) -> bool {
    secret.strip_prefix(TOKEN_PREFIX).is_some_and(|digits| {
        digits.len() == 64 && digits.bytes().all(|byte| byte.is_ascii_hexdigit())
    })
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn text(rows: &Rows, row: &[SqlValue], column: &str) -> Result<String, ApiError> {
    let value = &row[rows.column_index(column)?];
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ApiError::internal(format!("api_tokens.{column} is not text: {value:?}")))
}

fn integer(rows: &Rows, row: &[SqlValue], column: &str) -> Result<Option<i64>, ApiError> {
    let value = &row[rows.column_index(column)?];
    if value.is_null() {
        return Ok(None);
    }
    value.as_i64().map(Some).ok_or_else(|| {
        ApiError::internal(format!("api_tokens.{column} is not an integer: {value:?}"))
    })
}
