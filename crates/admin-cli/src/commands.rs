//! The three commands, each a few API calls.

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::api::Api;
use crate::password::Chosen;

/// POST /orgs with the platform token.
pub fn create_org(
    api: &Api,
    platform_token: &str,
    name: &str,
    admin_username: &str,
    password: &Chosen,
) -> anyhow::Result<()> {
    let body = json!({
        "name": name,
        "admin_username": admin_username,
        "admin_password": password.value,
    });
    let created = api.post("/orgs", platform_token, &body)?;

    println!(
        "created organization {} ({}) with admin {} ({})",
        text(&created["org"]["name"])?,
        text(&created["org"]["id"])?,
        text(&created["user"]["username"])?,
        text(&created["user"]["id"])?,
    );
    print_generated(password);
    Ok(())
}

/// POST /users with an admin's API token.
pub fn create_user(
    api: &Api,
    admin_token: &str,
    username: &str,
    role: &str,
    password: &Chosen,
) -> anyhow::Result<()> {
    let body = json!({ "username": username, "password": password.value, "role": role });
    let created = api.post("/users", admin_token, &body)?;

    let user = &created["user"];
    println!(
        "created {} {} ({})",
        text(&user["role"])?,
        text(&user["username"])?,
        text(&user["id"])?,
    );
    print_generated(password);
    Ok(())
}

/// Finds the user in GET /users and sends PATCH /users/{id} with the new
/// password, which also ends the user's sessions and deletes their tokens.
pub fn reset_password(
    api: &Api,
    admin_token: &str,
    username: &str,
    password: &Chosen,
) -> anyhow::Result<()> {
    let listing = api.get("/users", admin_token)?;
    let user_id = find_user_id(&listing, username)?;

    let body = json!({ "password": password.value });
    api.patch(&format!("/users/{user_id}"), admin_token, &body)?;

    println!("reset the password of {username} ({user_id}); their sessions and API tokens ended");
    print_generated(password);
    Ok(())
}

/// Finds `username` in a GET /users body. Usernames are case-insensitive,
/// as at sign-in.
fn find_user_id(listing: &Value, username: &str) -> anyhow::Result<String> {
    let users = listing["users"]
        .as_array()
        .context("GET /users returned no users array")?;
    let expected = username.to_lowercase();
    let found = users
        .iter()
        .find(|user| user["username"].as_str().map(str::to_lowercase) == Some(expected.clone()));
    match found {
        Some(user) => text(&user["id"]),
        None => bail!("no user {username:?} in the organization of this admin token"),
    }
}

fn print_generated(password: &Chosen) {
    if password.generated {
        println!("password: {}", password.value);
        eprintln!("note: the password is shown only now; hand it over through a safe channel");
    }
}

fn text(value: &Value) -> anyhow::Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("expected a string in the response, got {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_is_found_case_insensitively() {
        let listing = json!({ "users": [
            { "id": "1", "username": "alice" },
            { "id": "2", "username": "bob" },
        ] });
        assert_eq!(find_user_id(&listing, "BOB").unwrap(), "2");
    }

    #[test]
    fn missing_user_is_error() {
        let listing = json!({ "users": [{ "id": "1", "username": "alice" }] });
        let error = find_user_id(&listing, "carol").unwrap_err();
        assert!(error.to_string().contains("no user \"carol\""), "{error}");
    }
}
