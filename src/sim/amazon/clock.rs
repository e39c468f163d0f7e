//! The simulated clock: `start + scale × real elapsed + manual offset`.
//!
//! Everything the simulator decides (token expiry, buckets, report states, which
//! settlements exist) reads this clock, so tests move time with [`SimClock::advance`]
//! instead of sleeping.

use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug)]
pub struct SimClock {
    start: DateTime<Utc>,
    real_start: Instant,
    scale: f64,
    offset: Mutex<Duration>,
}

impl SimClock {
    pub fn new(start: DateTime<Utc>, scale: f64) -> Self {
        SimClock {
            start,
            real_start: Instant::now(),
            scale,
            offset: Mutex::new(Duration::zero()),
        }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    pub fn now(&self) -> DateTime<Utc> {
        let real = self.real_start.elapsed().as_secs_f64() * self.scale;
        let micros = (real * 1_000_000.0) as i64;
        let offset = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        self.start + Duration::microseconds(micros) + offset
    }

    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset += by;
    }

    /// A simulated lifetime expressed in real seconds (what clients see in
    /// `expires_in`, `X-Amz-Expires`). A frozen clock (scale 0) reports it unscaled.
    pub fn real_seconds(&self, simulated: i64) -> i64 {
        if self.scale <= 0.0 {
            return simulated;
        }
        ((simulated as f64) / self.scale).floor().max(1.0) as i64
    }
}
