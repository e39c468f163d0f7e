//! Which SP-API failures are retried, and the client's default [`Backoff`].

use crate::retry::Backoff;
use std::time::Duration;

/// The SP-API client's default: 8 attempts, waits from 500 ms up to 60 s (server time;
/// the client divides by its time scale).
pub const DEFAULT_RETRY: Backoff =
    Backoff::new(8, Duration::from_millis(500), Duration::from_secs(60));

/// HTTP statuses worth retrying: throttled, and the transient server errors.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_statuses() {
        assert!(is_retryable_status(429) && is_retryable_status(503) && !is_retryable_status(400));
    }
}
