//! Bearer-token checks. Tokens are compared in constant time, and a route with no
//! token configured is either open (reads) or refused with the variable to set.

use axum::http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use shiplog_ingest::sources::payload::percent_decode;
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The token a request presents: `Authorization: Bearer …`, else `?token=`.
pub fn presented<'a>(headers: &'a HeaderMap, query_token: Option<&'a str>) -> Option<&'a str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .or(query_token)
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
    presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(expected.expose_secret().as_bytes())))
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
