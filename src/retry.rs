//! The one retry backoff of both clients (SP-API and EBS): exponential, full jitter,
//! bounded in attempts and in the length of one wait.
//!
//! Which failures are retried stays with each client; this only says how often and how long.
//!
//! Counting convention: `failures` is the number of attempts that have failed so far,
//! counted from 1 (the first failed attempt is failure 1). After failure `n` the caller
//! retries while [`Backoff::allows_retry`]`(n)` and first sleeps [`Backoff::delay`]`(n)`.
//!
//! Every wait of the clients (backoff, rate-limit pause, import polling, a request in
//! flight) goes through [`pause`] or [`watch`]: it ends early when the run's
//! [`CancellationToken`] fires (SIGINT/SIGTERM), and a long one says so in the log, so a
//! stalled run is never silent.

use rand::Rng;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A wait ended because the run was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stopped on request")]
pub struct Cancelled;

/// Waits shorter than this are not worth a log line.
pub const LOG_AFTER: Duration = Duration::from_secs(5);
/// A long wait repeats its log line this often.
pub const LOG_EVERY: Duration = Duration::from_secs(30);

/// A limit in words: `250ms`, `30s`, `1.5s`.
pub fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// The one log line of a wait: `waiting Ns for <what> (<why>)`.
pub fn log_wait(wait: Duration, what: &str, why: &str) {
    let secs = wait.as_secs_f64().ceil() as u64;
    tracing::info!(
        operation = what,
        wait_secs = secs,
        reason = why,
        "waiting {secs}s for {what} ({why})"
    );
}

/// Sleeps `wait` unless `cancel` fires first. A wait of [`LOG_AFTER`] or more is logged
/// when it starts and then every [`LOG_EVERY`] with the time left.
pub async fn pause(
    wait: Duration,
    cancel: &CancellationToken,
    what: &str,
    why: &str,
) -> Result<(), Cancelled> {
    if cancel.is_cancelled() {
        return Err(Cancelled);
    }
    if wait.is_zero() {
        return Ok(());
    }
    let end = tokio::time::Instant::now() + wait;
    loop {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        if wait >= LOG_AFTER {
            log_wait(left, what, why);
        }
        let until = if wait >= LOG_AFTER {
            left.min(LOG_EVERY)
        } else {
            left
        };
        tokio::select! {
            _ = tokio::time::sleep(until) => {}
            _ = cancel.cancelled() => return Err(Cancelled),
        }
    }
}

/// Sleeps `wait` unless `cancel` fires first, without logging (a caller that logs its
/// own progress, such as a polling loop).
pub async fn sleep(wait: Duration, cancel: &CancellationToken) -> Result<(), Cancelled> {
    tokio::select! {
        _ = tokio::time::sleep(wait) => Ok(()),
        _ = cancel.cancelled() => Err(Cancelled),
    }
}

/// Runs `work` (a request in flight) unless `cancel` fires first; while it has not
/// finished after [`LOG_AFTER`], and then every [`LOG_EVERY`], logs how long it has waited.
pub async fn watch<T>(
    work: impl Future<Output = T>,
    cancel: &CancellationToken,
    what: &str,
    why: &str,
) -> Result<T, Cancelled> {
    if cancel.is_cancelled() {
        return Err(Cancelled);
    }
    let started = tokio::time::Instant::now();
    let mut next_log = started + LOG_AFTER;
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return Ok(out),
            _ = cancel.cancelled() => return Err(Cancelled),
            _ = tokio::time::sleep_until(next_log) => {
                let waited = started.elapsed().as_secs();
                tracing::info!(
                    operation = what,
                    waited_secs = waited,
                    reason = why,
                    "no answer from {what} after {waited}s ({why})"
                );
                next_log += LOG_EVERY;
            }
        }
    }
}

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
    fn limits_in_words() {
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_secs(30)), "30s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
    }

    #[tokio::test(start_paused = true)]
    async fn pause_sleeps_and_stops_on_cancel() {
        let cancel = CancellationToken::new();
        let start = tokio::time::Instant::now();
        pause(Duration::from_secs(70), &cancel, "op", "test")
            .await
            .unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(70));
        let stopper = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            stopper.cancel();
        });
        let start = tokio::time::Instant::now();
        let got = pause(Duration::from_secs(60), &cancel, "op", "test").await;
        assert_eq!(got, Err(Cancelled));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        // Already cancelled: not even a zero wait goes through.
        assert_eq!(
            pause(Duration::ZERO, &cancel, "op", "test").await,
            Err(Cancelled)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn watch_returns_the_work_or_stops_on_cancel() {
        let cancel = CancellationToken::new();
        let got = watch(
            async {
                tokio::time::sleep(Duration::from_secs(100)).await;
                7
            },
            &cancel,
            "op",
            "test",
        )
        .await;
        assert_eq!(got, Ok(7));
        let stopper = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            stopper.cancel();
        });
        let start = tokio::time::Instant::now();
        let got = watch(futures::future::pending::<()>(), &cancel, "op", "test").await;
        assert_eq!(got, Err(Cancelled));
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

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
