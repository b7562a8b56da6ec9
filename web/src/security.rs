//! The pages' security headers, and the read token carried by a cookie instead of
//! every link: a request with `?token=` sets an `HttpOnly`, `SameSite=Strict` cookie
//! and is redirected to the same URL without it, so the token leaves the address bar,
//! the history and every link on the page.

use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::auth;
use crate::routes::dashboard::query_escape;

/// The cookie that carries the read token.
pub const READ_COOKIE: &str = "shiplog_read";

/// No script from anywhere, styles and images only from Shiplog itself, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every response.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// On a page: a right `?token=` becomes the cookie, and the answer is a redirect to
/// the URL without it. A wrong token goes on to the page, which refuses it with `401`.
pub async fn token_to_cookie(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(request.uri()) else {
        return next.run(request).await;
    };
    let Some(token) = pairs
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.clone())
    else {
        return next.run(request).await;
    };
    let expected = state.config.tokens.read.as_ref();
    if expected.is_some()
        && auth::require(expected, Some(token.trim()), "SHIPLOG_READ_TOKEN", true).is_err()
    {
        return next.run(request).await;
    }
    let rest: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k != "token")
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect();
    let path = request.uri().path();
    let location = if rest.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", rest.join("&"))
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if expected.is_some() {
        let cookie = format!(
            "{READ_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
            query_escape(token.trim())
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}
