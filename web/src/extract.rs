//! The extractors the routes use in place of axum's, so that a request the router
//! cannot read is refused with SPEC §5's JSON error body (`400`, naming what is
//! wrong) instead of axum's plain-text rejection. A dashboard page renders the same
//! refusal as a page (`routes::dashboard::errors_as_pages`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The query string read as `T` (axum's `Query`, refused as [`ApiError::BadRequest`]).
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| {
                ApiError::BadRequest(format!(
                    "cannot read the query string: {}",
                    rejection.body_text()
                ))
            })
    }
}

/// The path's parameters read as `T` (axum's `Path`, refused as
/// [`ApiError::BadRequest`]).
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| {
                ApiError::BadRequest(format!("cannot read the path: {}", rejection.body_text()))
            })
    }
}
