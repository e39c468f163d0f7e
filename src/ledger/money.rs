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
///
/// Hot path of settlement parsing: digits accumulate straight into the 96-bit
/// mantissa, no intermediate string and no allocation unless the cell is bad.
pub fn parse_amount(cell: &str, mark: DecimalMark) -> Result<Decimal, AmountError> {
    let trimmed = trim_ascii(cell);
    if trimmed.is_empty() {
        return Err(AmountError::Empty);
    }
    let bad = || AmountError::NotANumber(trimmed.to_string());
    let overflow = || AmountError::Overflow(trimmed.to_string());
    let (negative_paren, body) = match trimmed.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        Some(inner) => (true, trim_ascii(inner)),
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
    const MAX_MANTISSA: u128 = (1u128 << 96) - 1;
    let mut mantissa: u128 = 0;
    let mut scale: u32 = 0;
    let mut any_digit = false;
    let mut seen_decimal = false;
    let mut digits_since_group: Option<usize> = None;
    let mut integer_digits = 0usize;
    for &b in digits.as_bytes() {
        if b.is_ascii_digit() {
            any_digit = true;
            mantissa = mantissa * 10 + u128::from(b - b'0');
            if mantissa > MAX_MANTISSA {
                return Err(overflow());
            }
            if seen_decimal {
                scale += 1;
                if scale > Decimal::MAX_SCALE {
                    return Err(overflow());
                }
            } else {
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
    if digits_since_group.is_some_and(|n| n != 3) || !any_digit {
        return Err(bad());
    }
    // mantissa <= 2^96 - 1 was checked digit by digit, so the casts keep every bit.
    let lo = (mantissa & 0xFFFF_FFFF) as u32;
    let mid = ((mantissa >> 32) & 0xFFFF_FFFF) as u32;
    let hi = (mantissa >> 64) as u32;
    Ok(Decimal::from_parts(
        lo,
        mid,
        hi,
        negative_paren || negative_sign,
        scale,
    ))
}

/// Trims ASCII whitespace (spaces, tabs, CR) without Unicode tables.
fn trim_ascii(s: &str) -> &str {
    let b = s.as_bytes();
    let mut start = 0;
    let mut end = b.len();
    while start < end && b[start].is_ascii_whitespace() {
        start += 1;
    }
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    // Only ASCII bytes were skipped, so both ends are char boundaries.
    &s[start..end]
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
        assert_eq!(parse_amount(".5", p).unwrap(), dec!("0.5"));
        assert_eq!(parse_amount("-0.00", p).unwrap(), dec!("0.00"));
        assert_eq!(parse_amount("1.005", p).unwrap().scale(), 3);
        assert!(parse_amount(".", p).is_err());
        assert!(parse_amount("-", p).is_err());
        assert!(parse_amount("()", p).is_err());
        assert!(parse_amount("-(1.00)", p).is_err());
        assert_eq!(
            parse_amount("79228162514264337593543950335", p).unwrap(),
            Decimal::MAX
        );
        assert!(matches!(
            parse_amount("79228162514264337593543950336", p),
            Err(AmountError::Overflow(_))
        ));
        assert!(matches!(
            parse_amount("0.00000000000000000000000000001", p),
            Err(AmountError::Overflow(_))
        ));
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
