//! User rows: lookups for sign-in and sessions, and the writes that
//! change a user's password or state.
//!
//! Every function but [`find_by_username`] takes the organization id and
//! puts it in the `WHERE` clause, so that a user id from a request never
//! reaches a row of another organization. Sign-in is the exception: it
//! runs before there is a principal, and usernames are unique across
//! organizations.

use serde::Serialize;

use crate::auth::principal::{Principal, Role};
use crate::auth::username::Username;
use crate::error::ApiError;
use crate::storage::{Database, Rows, SqlValue};

/// A user with the name of their organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub org_id: String,
    pub org_name: String,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    /// The argon2id PHC string.
    pub password_hash: String,
    pub created_at: i64,
    /// Milliseconds since the epoch. Sessions created before it are invalid.
    pub password_changed_at: i64,
}

/// The user as the API returns it: never the hash or internal state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub role: &'static str,
    pub org_id: String,
    pub org_name: String,
}

impl User {
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.id.clone(),
            org_id: self.org_id.clone(),
            username: self.username.clone(),
            role: self.role,
        }
    }

    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.clone(),
            username: self.username.clone(),
            role: self.role.as_str(),
            org_id: self.org_id.clone(),
            org_name: self.org_name.clone(),
        }
    }
}

const SELECT_USER: &str = "SELECT u.id, u.org_id, o.name AS org_name, u.username, u.role, \
     u.disabled, u.password_hash, u.created_at, u.password_changed_at \
     FROM users u JOIN organizations o ON o.id = u.org_id";

/// Finds the user who signs in as `username`, in any organization.
pub fn find_by_username(db: &dyn Database, username: &Username) -> Result<Option<User>, ApiError> {
    let sql = format!("{SELECT_USER} WHERE u.username = ?");
    let rows = db.execute(&sql, &[username.as_str().into()])?;
    first_user(&rows)
}

/// Finds user `user_id` of organization `org_id`; a user of another
/// organization is `None`, like a missing one.
pub fn find_in_org(
    db: &dyn Database,
    org_id: &str,
    user_id: &str,
) -> Result<Option<User>, ApiError> {
    let sql = format!("{SELECT_USER} WHERE u.id = ? AND u.org_id = ?");
    let rows = db.execute(&sql, &[user_id.into(), org_id.into()])?;
    first_user(&rows)
}

/// Lists the users of one organization by username.
pub fn list_in_org(db: &dyn Database, org_id: &str) -> Result<Vec<User>, ApiError> {
    let sql = format!("{SELECT_USER} WHERE u.org_id = ? ORDER BY u.username");
    let rows = db.execute(&sql, &[org_id.into()])?;
    (0..rows.rows.len())
        .map(|index| user_from_row(&rows, index))
        .collect()
}

/// Stores a new password hash and moves `password_changed_at` to `now`,
/// which ends every session created before it.
pub fn set_password_hash(
    db: &dyn Database,
    org_id: &str,
    user_id: &str,
    password_hash: &str,
    now: i64,
) -> Result<(), ApiError> {
    db.execute(
        "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ? AND org_id = ?",
        &[
            password_hash.into(),
            now.into(),
            user_id.into(),
            org_id.into(),
        ],
    )?;
    Ok(())
}

fn first_user(rows: &Rows) -> Result<Option<User>, ApiError> {
    if rows.is_empty() {
        return Ok(None);
    }
    user_from_row(rows, 0).map(Some)
}

fn user_from_row(rows: &Rows, index: usize) -> Result<User, ApiError> {
    let row = &rows.rows[index];
    let text = |column: &str| -> Result<String, ApiError> {
        let value = &row[rows.column_index(column)?];
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::internal(format!("users.{column} is not text: {value:?}")))
    };
    let integer = |column: &str| -> Result<i64, ApiError> {
        let value = &row[rows.column_index(column)?];
        value.as_i64().ok_or_else(|| {
            ApiError::internal(format!("users.{column} is not an integer: {value:?}"))
        })
    };

    let role = text("role")?;
    let role = Role::parse(&role)
        .ok_or_else(|| ApiError::internal(format!("users.role has unknown value {role:?}")))?;

    Ok(User {
        id: text("id")?,
        org_id: text("org_id")?,
        org_name: text("org_name")?,
        username: text("username")?,
        role,
        disabled: integer("disabled")? != 0,
        password_hash: text("password_hash")?,
        created_at: integer("created_at")?,
        password_changed_at: integer("password_changed_at")?,
    })
}

/// Inserts an organization.
pub fn insert_org(db: &dyn Database, id: &str, name: &str, now: i64) -> Result<(), ApiError> {
    db.execute(
        "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)",
        &[id.into(), name.into(), now.into()],
    )?;
    Ok(())
}

/// Inserts a user; `password_changed_at` starts at `now`.
pub fn insert_user(
    db: &dyn Database,
    id: &str,
    org_id: &str,
    username: &Username,
    password_hash: &str,
    role: Role,
    now: i64,
) -> Result<(), ApiError> {
    db.execute(
        "INSERT INTO users (id, org_id, username, password_hash, role, disabled, created_at, \
         password_changed_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
        &[
            id.into(),
            org_id.into(),
            username.as_str().into(),
            password_hash.into(),
            role.as_str().into(),
            SqlValue::Integer(now),
            SqlValue::Integer(now),
        ],
    )?;
    Ok(())
}

/// Inserts a user unless the username exists, in one statement so that
/// two concurrent requests cannot both insert it. Returns whether the
/// user was inserted.
pub fn insert_user_unless_taken(
    db: &dyn Database,
    id: &str,
    org_id: &str,
    username: &Username,
    password_hash: &str,
    role: Role,
    now: i64,
) -> Result<bool, ApiError> {
    let rows = db.execute(
        "INSERT INTO users (id, org_id, username, password_hash, role, disabled, created_at, \
         password_changed_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?) \
         ON CONFLICT (username) DO NOTHING RETURNING id",
        &[
            id.into(),
            org_id.into(),
            username.as_str().into(),
            password_hash.into(),
            role.as_str().into(),
            SqlValue::Integer(now),
            SqlValue::Integer(now),
        ],
    )?;
    Ok(!rows.is_empty())
}

pub fn set_role(
    db: &dyn Database,
    org_id: &str,
    user_id: &str,
    role: Role,
) -> Result<(), ApiError> {
    db.execute(
        "UPDATE users SET role = ? WHERE id = ? AND org_id = ?",
        &[role.as_str().into(), user_id.into(), org_id.into()],
    )?;
    Ok(())
}

/// Disables or enables a user. Sessions and API tokens check this flag on
/// every request, so disabling takes effect at once.
pub fn set_disabled(
    db: &dyn Database,
    org_id: &str,
    user_id: &str,
    disabled: bool,
) -> Result<(), ApiError> {
    db.execute(
        "UPDATE users SET disabled = ? WHERE id = ? AND org_id = ?",
        &[i64::from(disabled).into(), user_id.into(), org_id.into()],
    )?;
    Ok(())
}

pub fn delete_user(db: &dyn Database, org_id: &str, user_id: &str) -> Result<(), ApiError> {
    db.execute(
        "DELETE FROM users WHERE id = ? AND org_id = ?",
        &[user_id.into(), org_id.into()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{create_org_and_user, TestEnv};

    #[test]
    fn lookups_and_writes_ignore_other_organizations() {
        let env = TestEnv::new();
        let alice = create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
        let oscar = create_org_and_user(&env, "Other Inc", "oscar", Role::Admin);
        let foreign_org = oscar.org_id.as_str();

        assert_eq!(
            find_in_org(&env.db, foreign_org, &alice.user_id).unwrap(),
            None
        );
        set_role(&env.db, foreign_org, &alice.user_id, Role::Admin).unwrap();
        set_disabled(&env.db, foreign_org, &alice.user_id, true).unwrap();
        set_password_hash(&env.db, foreign_org, &alice.user_id, "x", 1).unwrap();
        delete_user(&env.db, foreign_org, &alice.user_id).unwrap();

        let alice_now = find_in_org(&env.db, &alice.org_id, &alice.user_id)
            .unwrap()
            .expect("alice still exists");
        assert_eq!(alice_now.role, Role::Member);
        assert!(!alice_now.disabled);
        assert!(alice_now.password_hash.starts_with("$argon2id$"));
    }
}
