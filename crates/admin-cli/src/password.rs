//! The password a command sets: read from stdin or generated.

use std::io::BufRead;

use anyhow::{bail, Context};

/// Characters of generated passwords: lowercase letters and digits without
/// the look-alikes 0, 1, l and o. 32 symbols, so each carries 5 bits and a
/// random byte maps onto them without bias.
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// Length of a generated password: 20 symbols, 100 random bits.
const GENERATED_CHARS: usize = 20;

/// A password with where it came from, so that a generated one is printed.
pub struct Chosen {
    pub value: String,
    pub generated: bool,
}

/// Reads the password from the first line of stdin when `from_stdin`,
/// otherwise generates one from the operating system's random source.
pub fn obtain(from_stdin: bool) -> anyhow::Result<Chosen> {
    if from_stdin {
        let value = read_first_line(std::io::stdin().lock())?;
        return Ok(Chosen {
            value,
            generated: false,
        });
    }
    Ok(Chosen {
        value: generate()?,
        generated: true,
    })
}

/// Returns the first line without its line ending. The rest of the line is
/// kept exactly, because the service counts a password as received.
fn read_first_line(mut input: impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .context("failed to read the password from stdin")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("no password on stdin: --password-stdin expects it on the first line");
    }
    Ok(password.to_owned())
}

fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; GENERATED_CHARS];
    getrandom::fill(&mut bytes)
        .map_err(|error| anyhow::anyhow!("failed to read random bytes: {error}"))?;
    let password = bytes
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(byte % 32)]))
        .collect();
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_password_uses_alphabet() {
        let password = generate().unwrap();
        assert_eq!(password.len(), GENERATED_CHARS);
        assert!(
            password.bytes().all(|byte| ALPHABET.contains(&byte)),
            "{password}"
        );
    }

    #[test]
    fn generated_passwords_differ() {
        assert_ne!(generate().unwrap(), generate().unwrap());
    }

    #[test]
    fn first_line_keeps_inner_spaces() {
        let line = read_first_line(" two words \r\nsecond line\n".as_bytes()).unwrap();
        assert_eq!(line, " two words ");
    }

    #[test]
    fn empty_stdin_is_error() {
        let error = read_first_line("".as_bytes()).unwrap_err();
        assert!(error.to_string().contains("no password"), "{error}");
    }
}
