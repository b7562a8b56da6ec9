//! Who may call a route, and the check that enforces it. Every route of the router
//! states its [`Access`] (`app::routes`); the router wraps each guarded route in
//! [`guard`], which refuses before the handler runs, so before a byte of the body is
//! read. Tokens are compared in constant time after trimming
//! (`signature::token_matches`), and a route with no token configured is either open
//! (reads; ingest in `demo`) or refused with the variable to set.

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use shiplog_ingest::sources::payload::percent_decode;
use shiplog_ingest::sources::signature::token_matches;

use crate::app::{AppState, Mode};
use crate::error::ApiError;

/// What a route asks of a request before it runs (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing: the probes and the stylesheet.
    Public,
    /// `SHIPLOG_READ_TOKEN` (a bearer token, `?token=`, or the dashboard's cookie);
    /// open while none is set.
    Read,
    /// `SHIPLOG_INGEST_TOKEN` (a bearer token or `?token=`); refused while none is
    /// set, except in `demo`.
    Ingest,
    /// `SHIPLOG_ADMIN_TOKEN` (a bearer token or `?token=`); refused while none is set.
    Admin,
    /// The sender's own scheme (a signature over the body or the sender's token),
    /// which depends on the source in the path: checked by the handler
    /// (`routes::webhooks::admit`), still before the body is read. The ingest, read
    /// and admin tokens open nothing here.
    Webhook,
}

impl Access {
    /// Refuses a request that does not present what this access asks for; the query
    /// string is read only for a route that takes a token.
    pub fn check(self, state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<(), ApiError> {
        let tokens = &state.config.tokens;
        match self {
            Access::Public | Access::Webhook => Ok(()),
            Access::Read => {
                let token = query_token(uri);
                let presented = presented_for_read(headers, token.as_deref());
                require(
                    tokens.read.as_ref(),
                    presented.as_deref(),
                    "SHIPLOG_READ_TOKEN",
                    true,
                )
            }
            Access::Ingest => require(
                tokens.ingest.as_ref(),
                presented(headers, query_token(uri).as_deref()),
                "SHIPLOG_INGEST_TOKEN",
                state.mode == Mode::Demo,
            ),
            Access::Admin => require(
                tokens.admin.as_ref(),
                presented(headers, query_token(uri).as_deref()),
                "SHIPLOG_ADMIN_TOKEN",
                false,
            ),
        }
    }
}

/// The router's layer on a route with `access`: a refused request is answered here
/// (SPEC §5's `401` body; a dashboard page renders it as a page) and counted as the
/// handlers count the requests they answer.
pub async fn guard(
    State((state, access)): State<(AppState, Access)>,
    request: Request,
    next: Next,
) -> Response {
    match access.check(&state, request.headers(), request.uri()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            state.count_request();
            refusal.into_response()
        }
    }
}

/// The first `token` of the query string, decoded.
pub(crate) fn query_token(uri: &Uri) -> Option<String> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri).ok()?;
    pairs
        .into_iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v)
}

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
        Some(_) if presented.is_none() => Err(ApiError::Unauthorized(format!(
            "missing token: send `Authorization: Bearer <token>` with the value of {variable}"
        ))),
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
    fn the_query_token_is_the_first_one_decoded() {
        let uri: Uri = "/x?from=2026-01-01&token=a%2Bb%20&token=c".parse().unwrap();
        assert_eq!(query_token(&uri).as_deref(), Some("a+b "));
        assert_eq!(query_token(&"/x?tokens=a".parse().unwrap()), None);
        assert_eq!(query_token(&"/x".parse().unwrap()), None);
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
