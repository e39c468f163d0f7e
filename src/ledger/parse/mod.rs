//! Settlement flat files: bytes in, model out.
//!
//! [`decode`] turns the download into text (charset from the download, else
//! sniffed); [`SettlementFile::parse`] reads the header and summary row and
//! decides the file's locale once (one pre-scan pass); [`SettlementFile::rows`]
//! then streams [`RowRef`]s borrowed from the text, without a per-row allocation,
//! and [`SettlementFile::split_rows`] cuts the body into line-aligned chunks for
//! parallel mapping. [`SettlementFile::parse_split`] reads a text held as two
//! parts (validated on two threads) as if it were one; a file parsed from its
//! first lines reads the rest of its body from further texts with
//! [`SettlementFile::rows_of`] when [`SettlementFile::locale_final`].
//! [`Rows::next_core`] yields only what the journal engine reads ([`RowCore`]).
//! V1 lines are normalised into V2 rows (see [`v1`]).
//!
//! Every failure is a [`ParseError`] naming the line (and column when there is
//! one); nothing here panics on bad input.

mod charset;
mod dates;
mod layout;
mod locale;
mod prescan;
mod rows;
pub mod v1;

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};

use super::model::{DayOrder, FileLocale, SettlementRow, SettlementSummary};
use super::money::{AmountError, Currency, DecimalMark, parse_amount};
use layout::{Cells, Col, Layout, NCOLS, Split, split_line};
use prescan::{census, prescan};
pub use rows::{RowCore, Rows};

/// Decoded file text and the character set it was read with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    pub charset: &'static str,
}

/// Decodes a settlement download.
///
/// `charset`: from the download's Content-Type when known (e.g. `"ISO-8859-1"`,
/// `"Shift_JIS"`, `"UTF-8"`, or the whole header value). Else UTF-8 (BOM
/// stripped) if valid, else Shift_JIS when the summary row's currency is JPY,
/// else windows-1252. Valid UTF-8 is borrowed, not copied.
pub fn decode<'b>(bytes: &'b [u8], charset: Option<&str>) -> Result<Decoded<'b>, ParseError> {
    charset::decode(bytes, charset)
}

/// [`decode`] of bytes the caller hands over: the same text, charset and
/// errors, but the bytes and a full copy of the text are never both held
/// (UTF-8 and single-byte charsets such as windows-1252 reuse the buffer).
pub fn decode_owned(bytes: Vec<u8>, charset: Option<&str>) -> Result<Decoded<'static>, ParseError> {
    charset::decode_owned(bytes, charset)
}

/// What a report should say about the charset a file was decoded with:
/// nothing for UTF-8; else that it was the charset given (`given`: the
/// download's or the user's label, see [`decode`]) or that the bytes are not
/// valid UTF-8 (sniffed).
pub fn charset_note(used: &str, given: Option<&str>) -> Option<String> {
    if used == encoding_rs::UTF_8.name() {
        return None;
    }
    let why = match given.and_then(charset::encoding_for) {
        Some(enc) if enc.name() == used => "the charset given",
        _ => "not valid UTF-8",
    };
    Some(format!("decoded as {used}: {why}"))
}

/// Whether a download's charset (see [`decode`]) reads the bytes as UTF-8:
/// none given (sniffed), or a UTF-8 label.
pub fn reads_as_utf8(charset: Option<&str>) -> bool {
    charset.is_none_or(|c| charset::encoding_for(c) == Some(encoding_rs::UTF_8))
}

/// A part of a download (cut at a line break) as text when [`decode`] would
/// borrow it unchanged: valid UTF-8 without NUL bytes. `None`: decode the
/// whole download instead, which locates the problem.
pub fn utf8_part(bytes: &[u8]) -> Option<&str> {
    if memchr::memchr(0, bytes).is_some() {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// A bad file, located: `line 12, column `amount`: `abc` is not a number`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ParseError {
    /// 1-based physical line in the file.
    pub line: Option<u32>,
    /// Header name of the offending column.
    pub column: Option<String>,
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.line, &self.column) {
            (Some(line), Some(col)) => write!(f, "line {line}, column `{col}`: {}", self.kind),
            (Some(line), None) => write!(f, "line {line}: {}", self.kind),
            (None, Some(col)) => write!(f, "column `{col}`: {}", self.kind),
            (None, None) => write!(f, "{}", self.kind),
        }
    }
}

impl ParseError {
    pub(crate) fn at(line: u32, kind: ParseErrorKind) -> Self {
        ParseError {
            line: Some(line),
            column: None,
            kind,
        }
    }

    fn in_column(line: u32, column: &str, kind: ParseErrorKind) -> Self {
        ParseError {
            line: Some(line),
            column: Some(column.to_string()),
            kind,
        }
    }

    fn amount(line: u32, col: Col, e: AmountError) -> Self {
        let kind = match e {
            AmountError::Empty => ParseErrorKind::EmptyAmount,
            AmountError::NotANumber(s) => ParseErrorKind::NotANumber(s),
            AmountError::Overflow(s) => ParseErrorKind::AmountOverflow(s),
        };
        ParseError::in_column(line, col.name(), kind)
    }
}

/// What is wrong (see [`ParseError`] for where).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("the file is empty")]
    Empty,
    #[error("binary data (a NUL byte): not a settlement flat file")]
    Binary,
    #[error("gzip-compressed data: decompress the download first")]
    Compressed,
    #[error("bytes that are not valid {0}")]
    BadEncoding(&'static str),
    #[error(
        "the header lacks the column(s) {}: not a settlement flat file (V1 or V2)",
        .0.join(", ")
    )]
    MissingColumns(Vec<String>),
    #[error("no summary row after the header")]
    NoSummaryRow,
    #[error("is empty on the summary row")]
    MissingValue,
    #[error("`{0}` is not a number")]
    NotANumber(String),
    #[error("`{0}` has more digits than a decimal can hold")]
    AmountOverflow(String),
    #[error("the amount is empty")]
    EmptyAmount,
    #[error("`{0}` is not a date (expected e.g. `2025-10-03 08:00:00 UTC` or `10/03/25`)")]
    BadDate(String),
    #[error("`{0}` is not a whole quantity")]
    BadQuantity(String),
    #[error(
        "{found} of the header's {expected} columns: the file looks truncated, download it again"
    )]
    Truncated { found: usize, expected: usize },
    #[error("{found} columns but the header has {expected}: a stray tab in a value?")]
    TooManyColumns { found: usize, expected: usize },
    #[error(
        "`{found}` is another settlement than the summary row's `{expected}`: the file mixes settlements; download it again"
    )]
    OtherSettlement { found: String, expected: String },
    #[error(
        "`{found}` is another currency than the settlement's `{expected}` (summary row): a settlement has one currency; download it again"
    )]
    OtherCurrency { found: String, expected: String },
    #[error(
        "the settlement starts {start}, after it ends {end}: the summary row's dates are swapped or wrong; download the file again"
    )]
    StartAfterEnd {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

/// What every row iterator of one file shares.
#[derive(Debug)]
struct Ctx {
    layout: Layout,
    /// The layout's slots keeping only the fields a [`RowCore`] needs (V2).
    core_slots: Vec<u8>,
    mark: DecimalMark,
    /// The file's day order, or each separator's convention when it needed none.
    orders: dates::Orders,
    /// The summary row's settlement id and currency: a body row naming
    /// another is an error.
    settlement_id: String,
    currency: Currency,
}

/// A parsed settlement file borrowing its text: summary and locale up front, rows on demand.
#[derive(Clone)]
pub struct SettlementFile<'a> {
    pub summary: SettlementSummary,
    pub locale: FileLocale,
    /// The body: everything after the summary row.
    body: &'a str,
    /// Line number of the body's first line.
    body_line: u32,
    /// A continuation of the body held in another buffer (see [`Self::parse_split`]).
    tail: &'a str,
    /// Line number of the tail's first line.
    tail_line: u32,
    /// The pre-scan decided the locale before the end of the body (see [`Self::locale_final`]).
    locale_final: bool,
    /// Body lines and the dominant marketplace: a full pass, made only when asked.
    census: OnceLock<(usize, Option<&'a str>)>,
    ctx: Arc<Ctx>,
}

/// Not the body text: it can be hundreds of megabytes.
impl fmt::Debug for SettlementFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SettlementFile")
            .field("summary", &self.summary)
            .field("locale", &self.locale)
            .field("body_bytes", &self.body.len())
            .field("census", &self.census.get())
            .finish_non_exhaustive()
    }
}

/// The next physical line of `rest` (without `\n` or a trailing `\r`) and what follows.
#[inline]
fn next_line(rest: &str) -> (&str, &str) {
    let (line, after) = match memchr::memchr(b'\n', rest.as_bytes()) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    (line.strip_suffix('\r').unwrap_or(line), after)
}

/// Blank lines (spaces and tabs only) carry nothing and are skipped anywhere.
#[inline]
fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

#[inline]
fn trim(s: &str) -> &str {
    s.trim_ascii()
}

/// `a == b` for the short texts of cells, compared a word at a time in line
/// rather than by a `memcmp` call (a million rows compare a few each).
#[inline]
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        u64::from_le_bytes(w)
    };
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        return word(a, n - 8) == word(b, n - 8);
    }
    if n >= 4 {
        return half_word(a, 0) == half_word(b, 0) && half_word(a, n - 4) == half_word(b, n - 4);
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// The four bytes of `s` at `i`, as a number.
#[inline(always)]
pub(crate) fn half_word(s: &[u8], i: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[i..i + 4]);
    u32::from_le_bytes(w)
}

fn check_width(split: Split, layout: &Layout, line: u32) -> Result<(), ParseError> {
    if split.count < layout.width {
        let mut e = ParseError::at(
            line,
            ParseErrorKind::Truncated {
                found: split.count,
                expected: layout.width,
            },
        );
        e.column = layout.column_name(split.count).map(str::to_string);
        return Err(e);
    }
    if split.extra {
        return Err(ParseError::at(
            line,
            ParseErrorKind::TooManyColumns {
                found: split.count,
                expected: layout.width,
            },
        ));
    }
    Ok(())
}

impl<'a> SettlementFile<'a> {
    /// Reads header + summary row and decides decimal mark and day order once
    /// for the whole file (a pre-scan that stops as soon as both are settled,
    /// usually on the first body line). Body lines and the most frequent
    /// marketplace-name are counted on first request. Body cells are checked
    /// by [`Self::rows`].
    pub fn parse(text: &'a str, charset: &'static str) -> Result<Self, ParseError> {
        Self::parse_split(text, "", charset)
    }

    /// [`Self::parse`] of a text held as two parts: `head` (header, summary
    /// row and the first body lines, ending with a line break) and `tail`, the
    /// rest of the body. Rows, line numbers, locale and errors are those of
    /// the joined text; the parts can be validated on separate threads.
    pub fn parse_split(
        text: &'a str,
        tail: &'a str,
        charset: &'static str,
    ) -> Result<Self, ParseError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut rest = text;
        let mut line_no = 1u32;
        let mut next_content = |rest: &mut &'a str| -> Option<(&'a str, u32)> {
            while !rest.is_empty() {
                let (line, after) = next_line(rest);
                *rest = after;
                let this = line_no;
                line_no = line_no.saturating_add(1);
                if !is_blank(line) {
                    return Some((line, this));
                }
            }
            None
        };
        let (header, header_line) =
            next_content(&mut rest).ok_or_else(|| ParseError::at(1, ParseErrorKind::Empty))?;
        let layout = Layout::from_header(header, header_line)?;
        let (summary_text, summary_line) = next_content(&mut rest).ok_or_else(|| {
            ParseError::at(header_line.saturating_add(1), ParseErrorKind::NoSummaryRow)
        })?;
        let body_line = line_no;
        let body = rest;

        let mut cells: Cells<'a> = [""; NCOLS];
        let split = split_line(summary_text, &layout.slots, &mut cells, usize::MAX);
        check_width(split, &layout, summary_line)?;
        let required = |col: Col| -> Result<&'a str, ParseError> {
            let v = trim(cells[col as usize]);
            if v.is_empty() {
                Err(ParseError::in_column(
                    summary_line,
                    col.name(),
                    ParseErrorKind::MissingValue,
                ))
            } else {
                Ok(v)
            }
        };
        let settlement_id = required(Col::SettlementId)?;
        let currency = Currency::new(required(Col::Currency)?);
        let total_cell = required(Col::Total)?;
        let (start, end, deposit) = summary_dates(
            [
                required(Col::Start)?,
                required(Col::End)?,
                trim(cells[Col::Deposit as usize]),
            ],
            &currency,
            summary_line,
        )?;

        let scan = prescan([body, tail], &layout, &currency, total_cell, start, end);
        let mark = scan
            .mark
            .unwrap_or_else(|| locale::conventional_mark(&currency));
        let total_amount = parse_amount(total_cell, mark)
            .map_err(|e| ParseError::amount(summary_line, Col::Total, e))?;
        let day_order = scan.day_order;
        let orders = match day_order {
            Some(order) => dates::Orders::same(order),
            None => dates::Orders {
                dot: locale::conventional_order(b'.', &currency),
                slash: locale::conventional_order(b'/', &currency),
            },
        };
        let ctx_currency = currency.clone();
        Ok(SettlementFile {
            summary: SettlementSummary {
                settlement_id: settlement_id.to_string(),
                format: layout.format,
                start,
                end,
                deposit_date: deposit,
                total_amount,
                currency,
            },
            locale: FileLocale {
                charset,
                decimal_mark: mark,
                day_order,
            },
            body,
            body_line,
            tail,
            tail_line: if tail.is_empty() {
                body_line
            } else {
                let newlines = memchr::memchr_iter(b'\n', body.as_bytes()).count();
                body_line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX))
            },
            census: OnceLock::new(),
            locale_final: scan.settled,
            ctx: Arc::new(Ctx {
                core_slots: core_slots(&layout),
                layout,
                mark,
                orders,
                settlement_id: settlement_id.to_string(),
                currency: ctx_currency,
            }),
        })
    }

    /// Every body row in file order. V1 lines expand to one row per amount.
    pub fn rows(&self) -> Rows<'a> {
        let mut rows = Rows::new(self.body, self.body_line, Arc::clone(&self.ctx));
        if !self.tail.is_empty() {
            rows.tail = Some((self.tail, self.tail_line));
        }
        rows
    }

    /// Whether the decimal mark and day order were decided before the end of
    /// the text parsed (a single-part body, usually on its first line), so
    /// that lines after it could not change them: then the rest of a file's
    /// body can be read in further texts with [`Self::rows_of`], as in the
    /// whole text (for a file written with one date form, as Amazon writes
    /// them).
    pub fn locale_final(&self) -> bool {
        self.locale_final
    }

    /// Rows of a further part of the body held elsewhere (whole lines; its
    /// first line is line `first_line`), read with this file's layout and
    /// locale. Meaningful when [`Self::locale_final`].
    pub fn rows_of<'t>(&self, text: &'t str, first_line: u32) -> Rows<'t> {
        Rows::new(text, first_line, Arc::clone(&self.ctx))
    }

    /// The body's parts with the line number of each one's first line.
    fn segments(&self) -> Vec<(&'a str, u32)> {
        let mut segs = vec![(self.body, self.body_line)];
        if !self.tail.is_empty() {
            segs.push((self.tail, self.tail_line));
        }
        segs
    }

    /// Line-aligned chunks covering all body rows, for parallel mapping. Returns
    /// at most `parts` chunks (fewer for small files), at least one; a file
    /// parsed from two parts is cut where they meet (at least two chunks).
    pub fn split_rows(&self, parts: usize) -> Vec<Rows<'a>> {
        let segs = self.segments();
        // a two-part file is cut where its parts meet, then each part further
        let n = segs.len();
        let mut chunks = Vec::with_capacity(parts.max(n));
        for (i, (text, first_line)) in segs.into_iter().enumerate() {
            let per = (parts / n + usize::from(i < parts % n)).max(1);
            let bytes = text.as_bytes();
            let mut start = 0usize;
            let mut line = first_line;
            for k in 1..=per {
                if start >= bytes.len() {
                    break;
                }
                let end = if k == per {
                    bytes.len()
                } else {
                    let target = (bytes.len() / per * k).max(start);
                    match memchr::memchr(b'\n', &bytes[target..]) {
                        Some(i) => target + i + 1,
                        None => bytes.len(),
                    }
                };
                chunks.push(Rows::new(&text[start..end], line, Arc::clone(&self.ctx)));
                if end < bytes.len() {
                    // the last chunk's lines need no count
                    let newlines = memchr::memchr_iter(b'\n', &bytes[start..end]).count();
                    line = line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
                }
                start = end;
            }
        }
        if chunks.is_empty() {
            chunks.push(self.rows());
        }
        chunks
    }

    /// The most frequent non-empty marketplace-name (ties: the first seen).
    /// The first call of this or [`Self::body_lines`] reads the whole body.
    pub fn dominant_marketplace(&self) -> Option<&'a str> {
        self.census().1
    }

    /// Non-blank lines after the summary row (for V1: lines, not normalised rows).
    pub fn body_lines(&self) -> usize {
        self.census().0
    }

    fn census(&self) -> (usize, Option<&'a str>) {
        *self
            .census
            .get_or_init(|| census([self.body, self.tail], &self.ctx.layout))
    }
}

/// The fields a [`RowCore`] is built from and checked by (V2).
const CORE_COLS: &[Col] = &[
    Col::SettlementId,
    Col::Currency,
    Col::TransactionType,
    Col::MarketplaceName,
    Col::AmountType,
    Col::AmountDescription,
    Col::Amount,
    Col::PostedDate,
    Col::PostedDateTime,
    Col::QuantityPurchased,
];

/// The layout's slots with every field but [`CORE_COLS`] unused.
fn core_slots(layout: &Layout) -> Vec<u8> {
    layout
        .slots
        .iter()
        .map(|&s| {
            let keep = CORE_COLS.iter().any(|&c| c as u8 == s);
            if keep { s } else { layout::UNUSED }
        })
        .collect()
}

/// Start, end and deposit date.
type SummaryDates = (DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>);

/// Start, end and deposit date of the summary row. Ambiguous forms take the
/// marketplace's convention unless only the other order yields start <= end.
fn summary_dates(
    cells: [&str; 3],
    currency: &Currency,
    line: u32,
) -> Result<SummaryDates, ParseError> {
    let cols = [Col::Start, Col::End, Col::Deposit];
    let sep = cells
        .iter()
        .filter_map(|c| dates::split_date(c.as_bytes()))
        .find(|r| r.ambiguous)
        .map(|r| r.sep);
    let convention = locale::conventional_order(sep.unwrap_or(b'.'), currency);
    let other = match convention {
        DayOrder::DayFirst => DayOrder::MonthFirst,
        DayOrder::MonthFirst => DayOrder::DayFirst,
    };
    let read = |order| -> Result<[Option<DateTime<Utc>>; 3], ParseError> {
        let mut out = [None; 3];
        for (i, cell) in cells.iter().enumerate() {
            if !cell.is_empty() {
                out[i] = Some(dates::parse_instant(cell, order).ok_or_else(|| {
                    ParseError::in_column(
                        line,
                        cols[i].name(),
                        ParseErrorKind::BadDate(cell.to_string()),
                    )
                })?);
            }
        }
        Ok(out)
    };
    let ordered = |d: &[Option<DateTime<Utc>>; 3]| d[0] <= d[1];
    let first = read(convention);
    let chosen = match first {
        Ok(d) if ordered(&d) || sep.is_none() => d,
        first => match read(other) {
            Ok(d) if ordered(&d) => d,
            _ => first?,
        },
    };
    match chosen {
        [Some(start), Some(end), _] if start > end => Err(ParseError::in_column(
            line,
            Col::Start.name(),
            ParseErrorKind::StartAfterEnd { start, end },
        )),
        [Some(start), Some(end), deposit] => Ok((start, end, deposit)),
        // `required` guaranteed start and end cells are non-empty, and read() fills them
        _ => Err(ParseError::at(line, ParseErrorKind::MissingValue)),
    }
}

/// A settlement with owned rows, for callers that keep them (store, review screens).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSettlement {
    pub summary: SettlementSummary,
    pub locale: FileLocale,
    pub rows: Vec<SettlementRow>,
    pub dominant_marketplace: Option<String>,
}

/// Decode + parse + collect owned rows; the first bad line is the error.
pub fn parse_settlement(
    bytes: &[u8],
    charset: Option<&str>,
) -> Result<ParsedSettlement, ParseError> {
    let decoded = decode(bytes, charset)?;
    let file = SettlementFile::parse(&decoded.text, decoded.charset)?;
    let rows = file
        .rows()
        .map(|r| r.map(|row| row.to_owned_row()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ParsedSettlement {
        dominant_marketplace: file.dominant_marketplace().map(str::to_string),
        summary: file.summary,
        locale: file.locale,
        rows,
    })
}
