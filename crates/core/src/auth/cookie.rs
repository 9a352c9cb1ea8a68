//! The session cookie: its name, its `Set-Cookie` attributes and reading it
//! from the `Cookie` request header.

use crate::auth::session::{SessionToken, SESSION_LIFETIME_SECS};
use crate::config::Config;
use crate::http::Headers;

/// The cookie name over HTTPS. The `__Host-` prefix makes browsers accept
/// the cookie only with `Secure`, `Path=/` and no `Domain`, so a sibling
/// subdomain cannot set or shadow it.
pub const SECURE_COOKIE_NAME: &str = "__Host-stowage_session";

/// The cookie name when `cookie_secure` is off, for plain-HTTP localhost,
/// where browsers reject `__Host-` cookies.
pub const INSECURE_COOKIE_NAME: &str = "stowage_session";

pub fn cookie_name(config: &Config) -> &'static str {
    if config.cookie_secure {
        SECURE_COOKIE_NAME
    } else {
        INSECURE_COOKIE_NAME
    }
}

/// Returns the `Set-Cookie` value that stores `token` for the session's
/// absolute lifetime.
pub fn session_cookie(config: &Config, token: &SessionToken) -> String {
    set_cookie(config, token.expose(), SESSION_LIFETIME_SECS)
}

/// Returns the `Set-Cookie` value that makes the browser drop the cookie.
pub fn clearing_cookie(config: &Config) -> String {
    set_cookie(config, "", 0)
}

fn set_cookie(config: &Config, value: &str, max_age_secs: i64) -> String {
    let name = cookie_name(config);
    let secure = if config.cookie_secure { "; Secure" } else { "" };
    format!("{name}={value}; Max-Age={max_age_secs}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

/// Returns the value of the first cookie called `name` in the request's
/// `Cookie` headers, without surrounding double quotes.
///
/// Pairs are separated by `;` with optional whitespace; pairs without `=`
/// are skipped. Browsers send one header, but proxies and HTTP/2 clients
/// may split it, so every `Cookie` header is read.
pub fn read_cookie(headers: &Headers, name: &str) -> Option<String> {
    headers
        .get_all("cookie")
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| unquote(value.trim()).to_owned())
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(value)
}

/// Returns the session token of the request's cookie, if it is well-formed.
pub fn session_token(config: &Config, headers: &Headers) -> Option<SessionToken> {
    let value = read_cookie(headers, cookie_name(config))?;
    SessionToken::parse(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(cookie_secure: bool) -> Config {
        Config {
            cookie_secure,
            ..Config::default()
        }
    }

    fn token() -> SessionToken {
        SessionToken::parse(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn secure_cookie_has_host_prefix_and_secure() {
        let cookie = session_cookie(&config(true), &token());
        assert!(cookie.starts_with(&format!("__Host-stowage_session={}", "ab".repeat(32))));
        for attribute in ["; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/"] {
            assert!(
                cookie.contains(attribute),
                "{attribute} missing in {cookie}"
            );
        }
        assert!(cookie.contains("; Max-Age=86400"), "{cookie}");
        assert!(!cookie.contains("Domain"), "{cookie}");
    }

    #[test]
    fn insecure_cookie_has_no_prefix_and_no_secure() {
        let cookie = session_cookie(&config(false), &token());
        assert!(cookie.starts_with("stowage_session="), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
        for attribute in [
            "; HttpOnly",
            "; SameSite=Lax",
            "; Path=/",
            "; Max-Age=86400",
        ] {
            assert!(
                cookie.contains(attribute),
                "{attribute} missing in {cookie}"
            );
        }
    }

    #[test]
    fn clearing_cookie_has_zero_max_age() {
        let cookie = clearing_cookie(&config(true));
        assert!(cookie.starts_with("__Host-stowage_session=;"), "{cookie}");
        assert!(cookie.contains("; Max-Age=0"), "{cookie}");
        assert!(cookie.contains("; Secure"), "{cookie}");
    }

    #[test]
    fn reads_cookie_among_several() {
        let headers = Headers::from([("Cookie", "theme=dark;stowage_session=abc ; lang=en")]);
        assert_eq!(
            read_cookie(&headers, "stowage_session").as_deref(),
            Some("abc")
        );
        assert_eq!(read_cookie(&headers, "lang").as_deref(), Some("en"));
        assert_eq!(read_cookie(&headers, "missing"), None);
    }

    #[test]
    fn reads_quoted_cookie_value() {
        let headers = Headers::from([("Cookie", "stowage_session=\"abc\"")]);
        assert_eq!(
            read_cookie(&headers, "stowage_session").as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn reads_cookie_from_second_header() {
        let headers = Headers::from([("Cookie", "a=1"), ("Cookie", "stowage_session=xyz")]);
        assert_eq!(
            read_cookie(&headers, "stowage_session").as_deref(),
            Some("xyz")
        );
    }

    #[test]
    fn cookie_name_must_match_exactly() {
        let headers = Headers::from([("Cookie", "xstowage_session=1; flag; stowage_session=2")]);
        assert_eq!(
            read_cookie(&headers, "stowage_session").as_deref(),
            Some("2")
        );
    }

    #[test]
    fn insecure_name_is_ignored_when_secure() {
        let value = "ab".repeat(32);
        let headers = Headers::from([("Cookie", format!("stowage_session={value}").as_str())]);
        assert!(session_token(&config(true), &headers).is_none());
        assert!(session_token(&config(false), &headers).is_some());
    }
}
