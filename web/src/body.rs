//! Reading a request body, after the request has shown its credentials: within the
//! route's limit, and within one budget of body bytes held by the whole server at
//! once, so that many large uploads together cannot take more memory than that.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Body bytes the server holds at once, over every request (ten GitHub-sized bodies).
pub const BODY_BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// How long a body waits for room in the budget before it is refused with `503`.
const BUDGET_WAIT: Duration = Duration::from_secs(5);

/// The server's budget of body bytes.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
    wait: Duration,
}

impl Default for BodyBudget {
    fn default() -> Self {
        BodyBudget::new(BODY_BUDGET_BYTES, BUDGET_WAIT)
    }
}

/// A body read whole, holding its share of the budget until dropped.
#[derive(Debug)]
pub struct ReadBody {
    pub bytes: Bytes,
    _held: OwnedSemaphorePermit,
}

impl std::ops::Deref for ReadBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl BodyBudget {
    /// A budget of `total` bytes; a body waits up to `wait` for its share.
    pub fn new(total: usize, wait: Duration) -> Self {
        let total = total.clamp(1, Semaphore::MAX_PERMITS);
        BodyBudget {
            bytes: Arc::new(Semaphore::new(total)),
            total,
            wait,
        }
    }

    /// Reads `body` up to `limit` bytes. A declared `Content-Length` over the limit is
    /// refused before a byte is read; a body without one reserves the whole limit while
    /// it is read.
    pub async fn read(
        &self,
        headers: &HeaderMap,
        body: Body,
        limit: usize,
    ) -> Result<ReadBody, ApiError> {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        if declared.is_some_and(|length| length > limit) {
            return Err(ApiError::TooLarge { limit });
        }
        let reserved = declared.unwrap_or(limit).clamp(1, self.total);
        let wanted = u32::try_from(reserved).unwrap_or(u32::MAX);
        let held = tokio::time::timeout(self.wait, self.bytes.clone().acquire_many_owned(wanted))
            .await
            .map_err(|_| ApiError::unavailable("the server is reading too many uploads at once"))?
            .map_err(|_| ApiError::unavailable("the server is shutting down"))?;
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
            if is_over_limit(&e) {
                ApiError::TooLarge { limit }
            } else {
                ApiError::BadRequest(format!("cannot read the body: {e}"))
            }
        })?;
        Ok(ReadBody { bytes, _held: held })
    }
}

/// Whether reading stopped at the limit (`to_bytes` wraps a `LengthLimitError`).
fn is_over_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn sized(length: usize) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        headers
    }

    #[tokio::test]
    async fn bodies_held_together_stay_within_the_budget() {
        let budget = BodyBudget::new(100, Duration::from_millis(20));
        let first = budget
            .read(&sized(60), Body::from(vec![b'x'; 60]), 1_000)
            .await
            .unwrap();
        assert_eq!(first.len(), 60);
        // While the first is held, a second 60 bytes do not fit: refused for now.
        let refused = budget
            .read(&sized(60), Body::from(vec![b'y'; 60]), 1_000)
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, ApiError::Unavailable { message, .. } if message.contains("too many uploads")),
            "{refused:?}"
        );
        drop(first);
        let second = budget
            .read(&sized(60), Body::from(vec![b'y'; 60]), 1_000)
            .await
            .unwrap();
        assert_eq!(&second[..3], b"yyy");
    }

    #[tokio::test]
    async fn a_body_over_its_limit_is_refused_declared_or_not() {
        let budget = BodyBudget::new(1_000, Duration::from_millis(20));
        let declared = budget
            .read(&sized(11), Body::from(vec![b'x'; 11]), 10)
            .await
            .unwrap_err();
        assert!(matches!(declared, ApiError::TooLarge { limit: 10 }));
        // No length declared (chunked): read up to the limit, then refused.
        let undeclared = budget
            .read(&HeaderMap::new(), Body::from(vec![b'x'; 11]), 10)
            .await
            .unwrap_err();
        assert!(matches!(undeclared, ApiError::TooLarge { limit: 10 }));
        let fits = budget
            .read(&HeaderMap::new(), Body::from(vec![b'x'; 10]), 10)
            .await
            .unwrap();
        assert_eq!(fits.len(), 10);
    }
}
