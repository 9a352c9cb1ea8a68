//! Password hashing with argon2id and the rules for new passwords.

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::ApiError;
use crate::ids::random_bytes;

/// Memory cost in KiB, passes and lanes: OWASP's minimum for argon2id
/// (19 MiB, 2 iterations, 1 degree of parallelism).
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// A hash with the same parameters as [`hash_password`], verified when the
/// username is unknown so that a failed sign-in costs the same time whether
/// or not the user exists. No password produces it.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3Rvd2FnZS1kdW1teS1zYQ\
                          $690BSeuJTyA5GUNlphYFiS70nO/miu4LLcF8ree+LNI";

/// Bounds of a new password in characters, counted exactly as received
/// (no trimming or normalization). 128 bounds the hashing input.
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Passwords that attackers try first: the entries of 8 or more characters
/// of the 20,000-password list Django 5.2 ships
/// (`django/contrib/auth/common-passwords.txt.gz`, created by Royce
/// Williams), lowercase, one per line, most common first.
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// A password as the client sent it. It implements no `Display`, and
/// `Debug` prints `Password(***)`, so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Password(value.into())
    }

    /// Returns the password for hashing. Callers must not log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A password that satisfies the rules for new passwords: 8 to 128
/// characters and not in the list of common passwords.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(Password);

impl NewPassword {
    pub fn parse(password: Password) -> Result<NewPassword, ApiError> {
        let length = password.expose().chars().count();
        if length < MIN_PASSWORD_CHARS {
            return Err(ApiError::validation(
                "password_too_short",
                format!("the password must have at least {MIN_PASSWORD_CHARS} characters"),
            ));
        }
        if length > MAX_PASSWORD_CHARS {
            return Err(ApiError::validation(
                "password_too_long",
                format!("the password must have at most {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        if is_common_password(password.expose()) {
            return Err(ApiError::validation(
                "password_too_common",
                "the password is on a list of commonly used passwords; choose another one",
            ));
        }
        Ok(NewPassword(password))
    }

    pub fn as_password(&self) -> &Password {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

fn is_common_password(password: &str) -> bool {
    let lowercase = password.to_lowercase();
    COMMON_PASSWORDS.lines().any(|line| line == lowercase)
}

/// Hashes `password` into an argon2id PHC string with a fresh random salt.
pub fn hash_password(password: &Password) -> Result<String, ApiError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|error| ApiError::internal(format!("failed to encode a salt: {error}")))?;
    let hash = hasher()
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|error| ApiError::internal(format!("failed to hash a password: {error}")))?;
    Ok(hash.to_string())
}

/// Verifies `password` against the stored PHC string, or against a dummy
/// hash when `stored` is `None` (unknown user), so both cases take the same
/// time. Any mismatch is [`ApiError::InvalidCredentials`]; a stored hash
/// that does not parse is an internal error.
pub fn verify_password(password: &Password, stored: Option<&str>) -> Result<(), ApiError> {
    let known_user = stored.is_some();
    let stored = stored.unwrap_or(DUMMY_HASH);
    let hash = PasswordHash::new(stored)
        .map_err(|error| ApiError::internal(format!("stored password hash is invalid: {error}")))?;

    // The verifier takes the algorithm and parameters from the PHC string.
    let matches = Argon2::default()
        .verify_password(password.expose().as_bytes(), &hash)
        .is_ok();

    if matches && known_user {
        Ok(())
    } else {
        Err(ApiError::InvalidCredentials)
    }
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("the argon2 parameters are valid constants");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_uses_owasp_parameters() {
        let hash = hash_password(&Password::new("a long passphrase")).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }

    #[test]
    fn dummy_hash_has_same_parameters_as_real_hashes() {
        let prefix = "$argon2id$v=19$m=19456,t=2,p=1$";
        assert!(DUMMY_HASH.starts_with(prefix));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn correct_password_verifies() {
        let password = Password::new("a long passphrase");
        let hash = hash_password(&password).unwrap();
        assert_eq!(verify_password(&password, Some(&hash)), Ok(()));
    }

    #[test]
    fn wrong_password_is_invalid_credentials() {
        let hash = hash_password(&Password::new("a long passphrase")).unwrap();
        let result = verify_password(&Password::new("another passphrase"), Some(&hash));
        assert_eq!(result, Err(ApiError::InvalidCredentials));
    }

    #[test]
    fn unknown_user_is_invalid_credentials() {
        let result = verify_password(&Password::new("anything at all"), None);
        assert_eq!(result, Err(ApiError::InvalidCredentials));
    }

    #[test]
    fn corrupt_stored_hash_is_internal_error() {
        let result = verify_password(&Password::new("anything"), Some("plaintext"));
        assert!(matches!(result, Err(ApiError::Internal { .. })));
    }

    #[test]
    fn password_never_prints() {
        let password = Password::new("hunter22hunter22");
        assert_eq!(format!("{password:?}"), "Password(***)");
        let new_password = NewPassword::parse(password).unwrap();
        assert_eq!(format!("{new_password:?}"), "NewPassword(***)");
    }

    #[test]
    fn short_password_is_rejected() {
        let error = NewPassword::parse(Password::new("seven77")).unwrap_err();
        assert_eq!(error.code(), "password_too_short");
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        // Eight characters, sixteen bytes in UTF-8.
        assert!(NewPassword::parse(Password::new("ääääääää")).is_ok());
        let long = "ä".repeat(MAX_PASSWORD_CHARS + 1);
        let error = NewPassword::parse(Password::new(long)).unwrap_err();
        assert_eq!(error.code(), "password_too_long");
    }

    #[test]
    fn password_is_not_trimmed() {
        // Seven visible characters plus a space is eight as received.
        assert!(NewPassword::parse(Password::new(" tr0ub4d")).is_ok());
    }

    #[test]
    fn common_password_is_rejected_in_any_case() {
        for candidate in ["password", "PassWord", "12345678", "qwertyuiop"] {
            let error = NewPassword::parse(Password::new(candidate)).unwrap_err();
            assert_eq!(error.code(), "password_too_common", "{candidate}");
        }
    }
}
