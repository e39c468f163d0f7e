//! Human durations in the configuration: `90s`, `15m`, `2h`, `3d`, `1w`, or sums like `1h30m`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// A duration written the way people write it in a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub const fn from_secs(secs: u64) -> Self {
        HumanDuration(Duration::from_secs(secs))
    }

    pub fn as_duration(self) -> Duration {
        self.0
    }

    pub fn as_chrono(self) -> chrono::Duration {
        chrono::Duration::seconds(i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX))
    }
}

const UNITS: [(char, u64); 5] = [
    ('w', 7 * 86_400),
    ('d', 86_400),
    ('h', 3_600),
    ('m', 60),
    ('s', 1),
];

impl std::str::FromStr for HumanDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "`{text}` is not a duration: write a number and a unit (s, m, h, d, w), e.g. \"15m\", \"3d\", \"1h30m\""
            )
        };
        let text_trim = text.trim();
        if text_trim.is_empty() {
            return Err(bad());
        }
        let mut total: u64 = 0;
        let mut number = String::new();
        for ch in text_trim.chars() {
            if ch.is_ascii_digit() {
                number.push(ch);
                continue;
            }
            let (_, unit_secs) = UNITS.iter().find(|(u, _)| *u == ch).ok_or_else(bad)?;
            if number.is_empty() {
                return Err(bad());
            }
            let value: u64 = number.parse().map_err(|_| bad())?;
            total = value
                .checked_mul(*unit_secs)
                .and_then(|s| total.checked_add(s))
                .ok_or_else(bad)?;
            number.clear();
        }
        if !number.is_empty() {
            return Err(bad());
        }
        Ok(HumanDuration(Duration::from_secs(total)))
    }
}

impl TryFrom<String> for HumanDuration {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<HumanDuration> for String {
    fn from(value: HumanDuration) -> Self {
        value.to_string()
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut secs = self.0.as_secs();
        if secs == 0 {
            return f.write_str("0s");
        }
        for (unit, unit_secs) in UNITS {
            if secs >= unit_secs {
                write!(f, "{}{unit}", secs / unit_secs)?;
                secs %= unit_secs;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let cases = [
            ("15m", 900),
            ("3d", 259_200),
            ("90s", 90),
            ("1h30m", 5_400),
            ("1w", 604_800),
        ];
        for (text, secs) in cases {
            let d: HumanDuration = text.parse().unwrap();
            assert_eq!(d.0.as_secs(), secs, "{text}");
            assert_eq!(d.to_string().parse::<HumanDuration>().unwrap(), d);
        }
        assert_eq!(HumanDuration::from_secs(5_400).to_string(), "1h30m");
    }

    #[test]
    fn rejects_nonsense() {
        for text in ["", "15", "m", "15x", "1.5h", "-3d", "99999999999999999999w"] {
            let err = text.parse::<HumanDuration>().unwrap_err();
            assert!(err.contains("not a duration"), "{text}: {err}");
        }
    }
}
