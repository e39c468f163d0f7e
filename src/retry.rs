//! The one retry backoff of both clients (SP-API and EBS): exponential, full jitter,
//! bounded in attempts and in the length of one wait.
//!
//! Which failures are retried stays with each client; this only says how often and how long.
//!
//! Counting convention: `failures` is the number of attempts that have failed so far,
//! counted from 1 (the first failed attempt is failure 1). After failure `n` the caller
//! retries while [`Backoff::allows_retry`]`(n)` and first sleeps [`Backoff::delay`]`(n)`.

use rand::Rng;
use std::time::Duration;

/// Exponential backoff with full jitter, bounded in attempts and per-wait length.
///
/// Each client has its own default (`amazon::DEFAULT_RETRY`, `ebs::DEFAULT_RETRY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Total attempts per call, the first included.
    pub max_attempts: u32,
    /// Ceiling of the first wait.
    pub base: Duration,
    /// Ceiling of any wait.
    pub cap: Duration,
}

impl Backoff {
    pub const fn new(max_attempts: u32, base: Duration, cap: Duration) -> Self {
        Backoff {
            max_attempts,
            base,
            cap,
        }
    }

    /// Whether another attempt may follow after `failures` failed ones.
    pub fn allows_retry(&self, failures: u32) -> bool {
        failures < self.max_attempts
    }

    /// The wait after failure number `failures` (from 1): uniformly random in
    /// `[0, min(cap, base · 2^(failures-1))]`.
    pub fn delay(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let ceiling = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let ceiling_us = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        if ceiling_us == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(rand::rng().random_range(0..=ceiling_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = Backoff {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        for failures in 1..40 {
            let ceiling = Duration::from_millis(100)
                .saturating_mul(1 << (failures - 1).min(30))
                .min(p.cap);
            for _ in 0..20 {
                assert!(p.delay(failures) <= ceiling);
            }
        }
        // Full jitter: over many draws the wait is not constant.
        let draws: std::collections::HashSet<_> = (0..50).map(|_| p.delay(4)).collect();
        assert!(draws.len() > 1);
    }

    #[test]
    fn jitter_is_bounded() {
        let p = Backoff {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(350),
        };
        for failures in 1..=10 {
            let d = p.delay(failures);
            assert!(d <= Duration::from_millis(350));
            if failures == 1 {
                assert!(d <= Duration::from_millis(100));
            }
        }
    }

    #[test]
    fn attempts_are_bounded() {
        let p = Backoff::new(3, Duration::ZERO, Duration::ZERO);
        assert!(p.allows_retry(1) && p.allows_retry(2));
        assert!(!p.allows_retry(3));
        assert_eq!(p.delay(1), Duration::ZERO);
    }
}
