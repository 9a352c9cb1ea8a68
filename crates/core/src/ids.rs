//! Random identifiers and secrets.

/// Returns a new random identifier (UUID v4, lowercase hyphenated). Ids are
/// random so that they reveal neither counts nor order across tenants.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Returns `N` bytes from the operating system's CSPRNG (WASI `random`
/// inside a component).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the system random source failed");
    bytes
}

/// Checks that `value` has the shape of an id from [`new_id`], so that
/// malformed ids are rejected before they reach SQL.
pub fn is_valid_id(value: &str) -> bool {
    uuid::Uuid::try_parse(value).is_ok() && value.len() == 36
}
