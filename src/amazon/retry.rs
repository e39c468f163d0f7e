//! Retry policy: which failures are retried and how long to back off (full jitter).

use rand::Rng;
use std::time::Duration;

/// Exponential backoff with full jitter, bounded in attempts and per-wait length.
///
/// Waits are in server time; the client divides by its time scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts per call, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A uniformly random wait in `[0, min(cap, base · 2^(failures-1))]`.
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let ceiling = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let ceiling_us = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        if ceiling_us == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(rand::rng().random_range(0..=ceiling_us))
    }
}

/// HTTP statuses worth retrying: throttled, and the transient server errors.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        for failures in 1..40 {
            let ceiling = Duration::from_millis(100)
                .saturating_mul(1 << (failures - 1).min(30))
                .min(p.cap);
            for _ in 0..20 {
                assert!(p.backoff(failures) <= ceiling);
            }
        }
        // Full jitter: over many draws the wait is not constant.
        let draws: std::collections::HashSet<_> = (0..50).map(|_| p.backoff(4)).collect();
        assert!(draws.len() > 1);
        assert!(is_retryable_status(429) && is_retryable_status(503) && !is_retryable_status(400));
    }
}
