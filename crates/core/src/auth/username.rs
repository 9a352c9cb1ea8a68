//! Usernames: the sign-in name of a user, unique across organizations.

use std::fmt;

use crate::error::ApiError;

pub const MAX_USERNAME_CHARS: usize = 64;

/// A valid username: 1 to 64 characters from `a-z`, `0-9`, `.`, `_`, `-`
/// and `@`. Parsing lowercases ASCII letters, so `Admin` and `admin` are
/// the same user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(value: &str) -> Result<Username, ApiError> {
        if value.is_empty() {
            return Err(invalid("the username is empty"));
        }
        if value.chars().count() > MAX_USERNAME_CHARS {
            return Err(invalid(&format!(
                "the username is longer than {MAX_USERNAME_CHARS} characters"
            )));
        }
        if let Some(bad) = value.chars().find(|&c| !is_allowed(c)) {
            return Err(invalid(&format!(
                "the username contains {bad:?}; use letters a-z, digits and . _ - @"
            )));
        }
        Ok(Username(value.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')
}

fn invalid(message: &str) -> ApiError {
    ApiError::validation("invalid_username", message)
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_is_lowercased() {
        assert_eq!(
            Username::parse("Alice.B@Example").unwrap().as_str(),
            "alice.b@example"
        );
    }

    #[test]
    fn empty_username_is_rejected() {
        assert_eq!(Username::parse("").unwrap_err().code(), "invalid_username");
    }

    #[test]
    fn username_with_space_or_slash_is_rejected() {
        for value in ["al ice", "a/b", "a\u{0}", "ädmin", " admin"] {
            assert!(Username::parse(value).is_err(), "{value:?}");
        }
    }

    #[test]
    fn username_length_is_bounded() {
        assert!(Username::parse(&"a".repeat(MAX_USERNAME_CHARS)).is_ok());
        assert!(Username::parse(&"a".repeat(MAX_USERNAME_CHARS + 1)).is_err());
    }
}
