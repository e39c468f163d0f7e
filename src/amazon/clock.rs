//! The client's notion of "now": an injected clock corrected by the server's `Date` header.
//!
//! Amazon validates times against its own clock (`CreatedBefore` ≥ 2 min before now,
//! token expiry), so a skewed local clock or a time-scaled simulator must not matter.

use chrono::{DateTime, Duration, TimeDelta, Utc};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// A source of wall-clock time. Injected so tests and time-scaled simulators control it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock, optionally running `scale` times faster (for a time-scaled simulator).
#[derive(Debug)]
pub struct SystemClock {
    scale: f64,
    anchor_wall: DateTime<Utc>,
    anchor: std::time::Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        Self::scaled(1.0)
    }

    /// Runs `scale` times faster than real time from now on (`scale` ≤ 0 is taken as 1).
    pub fn scaled(scale: f64) -> Self {
        SystemClock {
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
            anchor_wall: Utc::now(),
            anchor: std::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        if self.scale == 1.0 {
            return Utc::now();
        }
        let elapsed = self.anchor.elapsed().as_secs_f64() * self.scale;
        self.anchor_wall + Duration::microseconds((elapsed * 1e6) as i64)
    }
}

/// A clock that moves only when told to (tests).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The injected clock plus an offset learned from server `Date` headers.
pub struct ServerClock {
    base: Arc<dyn Clock>,
    offset_ms: AtomicI64,
    /// Whether a server `Date` has been seen (before that, "now" is only the local clock).
    learned: AtomicBool,
}

impl std::fmt::Debug for ServerClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerClock")
            .field("offset_ms", &self.offset_ms.load(Ordering::Relaxed))
            .finish()
    }
}

impl ServerClock {
    pub fn new(base: Arc<dyn Clock>) -> Self {
        ServerClock {
            base,
            offset_ms: AtomicI64::new(0),
            learned: AtomicBool::new(false),
        }
    }

    /// True once a server `Date` has been observed: "now" is then the server's.
    pub fn is_learned(&self) -> bool {
        self.learned.load(Ordering::Relaxed)
    }

    /// Server time as best known.
    pub fn now(&self) -> DateTime<Utc> {
        self.base.now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Current correction applied to the injected clock.
    pub fn offset(&self) -> TimeDelta {
        Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Learns from a `Date` header. The header is truncated to the second and the
    /// response took a while, so the server's true time lies in about `[date, date + 1 s]`;
    /// corrections smaller than that band are ignored to avoid jitter.
    pub fn observe_server_date(&self, server: DateTime<Utc>) {
        self.learned.store(true, Ordering::Relaxed);
        let local = self.now();
        let low = server - Duration::seconds(1);
        let high = server + Duration::seconds(2);
        if local < low || local > high {
            let target = server + Duration::milliseconds(500);
            let new_offset = (target - self.base.now()).num_milliseconds();
            self.offset_ms.store(new_offset, Ordering::Relaxed);
        }
    }

    /// Parses and learns from an HTTP `Date` header value; ignores unreadable values.
    pub fn observe_header(&self, value: &str) {
        if let Ok(system) = httpdate::parse_http_date(value) {
            self.observe_server_date(DateTime::<Utc>::from(system));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn corrects_skew_and_ignores_jitter() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let base = Arc::new(ManualClock::new(t0));
        let clock = ServerClock::new(base.clone());
        assert!(!clock.is_learned());
        // Within the header's one-second resolution: no change.
        clock.observe_server_date(t0 - Duration::milliseconds(600));
        assert_eq!(clock.now(), t0);
        assert!(clock.is_learned());
        // Local clock one hour slow: corrected to the server's time (mid-second).
        clock.observe_server_date(t0 + Duration::hours(1));
        assert_eq!(
            clock.now(),
            t0 + Duration::hours(1) + Duration::milliseconds(500)
        );
        base.advance(Duration::seconds(10));
        assert_eq!(
            clock.now(),
            t0 + Duration::hours(1) + Duration::milliseconds(10_500)
        );
        clock.observe_header("Sun, 01 Mar 2026 11:00:00 GMT");
        assert_eq!(
            clock.now(),
            t0 - Duration::hours(1) + Duration::milliseconds(500)
        );
    }
}
