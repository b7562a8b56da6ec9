//! Bearer-token checks. Tokens are compared in constant time after trimming
//! (`signature::token_matches`), and a route with no
//! token configured is either open (reads) or refused with the variable to set.

use axum::http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use shiplog_ingest::sources::payload::percent_decode;
use shiplog_ingest::sources::signature::token_matches;

use crate::error::ApiError;

/// The token a request presents: `Authorization: Bearer …` (the scheme name in any
/// case, SPEC §5), else `?token=`.
pub fn presented<'a>(headers: &'a HeaderMap, query_token: Option<&'a str>) -> Option<&'a str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .or(query_token)
}

/// The credentials of an `Authorization` value in the `Bearer` scheme.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The token a read presents: as [`presented`], else the dashboard's read cookie
/// (only reads take the cookie, so a page visit can never authorise a write).
pub fn presented_for_read(headers: &HeaderMap, query_token: Option<&str>) -> Option<String> {
    presented(headers, query_token)
        .map(str::to_owned)
        .or_else(|| cookie(headers, crate::security::READ_COOKIE))
}

/// The value of cookie `name`, percent-decoded.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| percent_decode(v))
}

fn matches(expected: &SecretString, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| token_matches(expected.expose_secret().as_bytes(), p.as_bytes()))
}

/// A route that needs a token: refused when none is configured (unless `open`).
pub fn require(
    expected: Option<&SecretString>,
    presented: Option<&str>,
    variable: &str,
    open: bool,
) -> Result<(), ApiError> {
    match expected {
        None if open => Ok(()),
        None => Err(ApiError::Unauthorized(format!(
            "this route is disabled until a token is configured: set {variable}"
        ))),
        Some(expected) if matches(expected, presented) => Ok(()),
        Some(_) if presented.is_none() => Err(ApiError::Unauthorized(
            "missing token: send `Authorization: Bearer <token>`".into(),
        )),
        Some(_) => Err(ApiError::Unauthorized(format!(
            "wrong token (compare it with {variable})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use axum::http::header::AUTHORIZATION;

    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_bearer_scheme_is_read_in_any_case() {
        for value in ["Bearer t0k", "bearer t0k", "BEARER  t0k ", "  Bearer t0k"] {
            assert_eq!(
                presented(&with_authorization(value), None),
                Some("t0k"),
                "{value:?}"
            );
        }
        assert_eq!(presented(&with_authorization("Basic dTpw"), None), None);
        assert_eq!(presented(&with_authorization("Bearer"), None), None);
        assert_eq!(
            presented(&with_authorization("Basic dTpw"), Some("q")),
            Some("q")
        );
    }

    #[test]
    fn a_configured_token_with_a_trailing_newline_matches() {
        let expected = SecretString::from("s3cret\n");
        let headers = with_authorization("bearer s3cret");
        assert!(
            require(
                Some(&expected),
                presented(&headers, None),
                "SHIPLOG_X",
                false
            )
            .is_ok()
        );
        let wrong = with_authorization("Bearer s3cret2");
        assert!(matches!(
            require(Some(&expected), presented(&wrong, None), "SHIPLOG_X", false),
            Err(ApiError::Unauthorized(message)) if message.contains("SHIPLOG_X")
        ));
    }
}
