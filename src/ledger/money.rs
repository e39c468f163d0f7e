//! Money: `Decimal` amounts, currency scales and the locale forms Amazon ships.
//!
//! Amounts are never `f64`. Locale is decided once per file (see [`DecimalMark`]),
//! so a cell like `1.234` is never read one way on line 10 and another on line 11.

use rust_decimal::Decimal;
use std::fmt;

/// ISO 4217 code as it appears in the file (`USD`, `EUR`, `JPY`, …). Unknown codes are kept.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Currency(pub String);

impl Currency {
    pub fn new(code: &str) -> Self {
        Currency(code.trim().to_ascii_uppercase())
    }

    pub fn code(&self) -> &str {
        &self.0
    }

    /// Minor-unit digits used when showing amounts (ISO 4217 exponent).
    pub fn scale(&self) -> u32 {
        currency_scale(&self.0)
    }

    /// Currencies whose files use a comma as the decimal mark by convention
    /// (Amazon's EU marketplaces). Used only when the file itself is ambiguous.
    pub fn conventionally_uses_decimal_comma(&self) -> bool {
        matches!(
            self.0.as_str(),
            "EUR" | "PLN" | "SEK" | "TRY" | "BRL" | "DKK" | "NOK" | "CZK" | "HUF"
        )
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// ISO 4217 minor-unit exponent; 2 for anything unknown.
pub fn currency_scale(code: &str) -> u32 {
    match code {
        "JPY" | "KRW" | "CLP" | "ISK" | "VND" | "UGX" | "XAF" | "XOF" | "PYG" | "HUF0" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
        _ => 2,
    }
}

/// Formats an amount at the currency's scale without ever rounding: an amount
/// carrying more digits than the scale keeps them (`1.005` stays `1.005`).
pub fn format_amount(amount: Decimal, scale: u32) -> String {
    let mut value = amount.normalize();
    if value.scale() < scale {
        value.rescale(scale);
    }
    if value.is_zero() {
        // avoid "-0.00"
        value = Decimal::ZERO;
        value.rescale(scale);
    }
    value.to_string()
}

/// The decimal mark a file uses, decided once per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DecimalMark {
    /// `1,234.56` / `1234.56`
    Point,
    /// `1.234,56` / `95,00`
    Comma,
}

/// Why an amount cell could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("empty amount")]
    Empty,
    #[error("`{0}` is not a number")]
    NotANumber(String),
    #[error("`{0}` has more digits than a decimal can hold")]
    Overflow(String),
}

/// Parses one amount cell with the file's decimal mark.
///
/// Accepts surrounding spaces, a leading `-` or `+`, `(55.00)` accounting negatives,
/// and the other mark as a thousands separator (`1,234.56` / `1.234,56`). The
/// thousands separator must group by three so `1,5` in a point file is an error,
/// not 15.
pub fn parse_amount(cell: &str, mark: DecimalMark) -> Result<Decimal, AmountError> {
    let trimmed = cell.trim();
    if trimmed.is_empty() {
        return Err(AmountError::Empty);
    }
    let bad = || AmountError::NotANumber(trimmed.to_string());
    let (negative_paren, body) = match trimmed.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        Some(inner) => (true, inner.trim()),
        None => (false, trimmed),
    };
    let (negative_sign, digits) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    if negative_paren && negative_sign {
        return Err(bad());
    }
    let (decimal, thousands) = match mark {
        DecimalMark::Point => (b'.', b','),
        DecimalMark::Comma => (b',', b'.'),
    };
    // Fast path: the common case has no thousands separator at all.
    let mut buf = [0u8; 64];
    let mut len = 0usize;
    let mut seen_decimal = false;
    let mut digits_since_group: Option<usize> = None;
    let mut integer_digits = 0usize;
    for &b in digits.as_bytes() {
        if len >= buf.len() - 1 {
            return Err(AmountError::Overflow(trimmed.to_string()));
        }
        if b.is_ascii_digit() {
            buf[len] = b;
            len += 1;
            if !seen_decimal {
                integer_digits += 1;
                if let Some(n) = digits_since_group.as_mut() {
                    *n += 1;
                }
            }
        } else if b == decimal && !seen_decimal {
            if digits_since_group.is_some_and(|n| n != 3) {
                return Err(bad());
            }
            seen_decimal = true;
            buf[len] = b'.';
            len += 1;
        } else if b == thousands && !seen_decimal {
            if integer_digits == 0 || digits_since_group.is_some_and(|n| n != 3) {
                return Err(bad());
            }
            if digits_since_group.is_none() && integer_digits > 3 {
                return Err(bad());
            }
            digits_since_group = Some(0);
        } else {
            return Err(bad());
        }
    }
    if digits_since_group.is_some_and(|n| n != 3) {
        return Err(bad());
    }
    if len == 0 || buf[..len] == *b"." {
        return Err(bad());
    }
    // `buf` only holds ASCII digits and at most one '.'.
    let text = std::str::from_utf8(&buf[..len]).map_err(|_| bad())?;
    let mut value = Decimal::from_str_exact(text).map_err(|e| match e {
        rust_decimal::Error::ExceedsMaximumPossibleValue
        | rust_decimal::Error::LessThanMinimumPossibleValue
        | rust_decimal::Error::Underflow => AmountError::Overflow(trimmed.to_string()),
        _ => bad(),
    })?;
    if negative_paren || negative_sign {
        value.set_sign_negative(true);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_free::dec;

    mod rust_decimal_macros_free {
        macro_rules! dec {
            ($s:literal) => {
                rust_decimal::Decimal::from_str_exact($s).unwrap()
            };
        }
        pub(crate) use dec;
    }

    #[test]
    fn point_forms() {
        let p = DecimalMark::Point;
        assert_eq!(parse_amount("1234.56", p).unwrap(), dec!("1234.56"));
        assert_eq!(parse_amount("1,234.56", p).unwrap(), dec!("1234.56"));
        assert_eq!(parse_amount(" 32.09    ", p).unwrap(), dec!("32.09"));
        assert_eq!(parse_amount("-62.31", p).unwrap(), dec!("-62.31"));
        assert_eq!(parse_amount("(55.00)", p).unwrap(), dec!("-55.00"));
        assert_eq!(parse_amount("1500", p).unwrap(), dec!("1500"));
        assert!(parse_amount("1,5", p).is_err());
        assert!(parse_amount("12,34,567.00", p).is_err());
        assert!(parse_amount("abc", p).is_err());
        assert!(parse_amount("1.2.3", p).is_err());
        assert_eq!(parse_amount("", p), Err(AmountError::Empty));
    }

    #[test]
    fn comma_forms() {
        let c = DecimalMark::Comma;
        assert_eq!(parse_amount("95,00", c).unwrap(), dec!("95.00"));
        assert_eq!(parse_amount("1.234,56", c).unwrap(), dec!("1234.56"));
        assert_eq!(parse_amount("-1.234.567,5", c).unwrap(), dec!("-1234567.5"));
        assert!(parse_amount("1.23,4", c).is_err());
    }

    #[test]
    fn formatting_never_rounds() {
        assert_eq!(format_amount(dec!("1520"), 2), "1520.00");
        assert_eq!(format_amount(dec!("1.005"), 2), "1.005");
        assert_eq!(format_amount(dec!("-0.00"), 2), "0.00");
        assert_eq!(format_amount(dec!("1500"), 0), "1500");
        assert_eq!(format_amount(dec!("-3.10"), 2), "-3.10");
    }
}
