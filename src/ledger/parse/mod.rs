//! Settlement flat files: bytes in, model out.
//!
//! [`decode`] turns the download into text (charset from the download, else
//! sniffed); [`SettlementFile::parse`] reads the header and summary row and
//! decides the file's locale once (one pre-scan pass); [`SettlementFile::rows`]
//! then streams [`RowRef`]s borrowed from the text, without a per-row allocation,
//! and [`SettlementFile::split_rows`] cuts the body into line-aligned chunks for
//! parallel mapping. [`SettlementFile::parse_split`] reads a text held as two
//! parts (validated on two threads) as if it were one. V1 lines are normalised into V2 rows (see [`v1`]).
//!
//! Every failure is a [`ParseError`] naming the line (and column when there is
//! one); nothing here panics on bad input.

mod charset;
mod dates;
mod layout;
mod locale;
pub mod v1;

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;

use super::model::{
    DayOrder, FileLocale, PostedAt, RowRef, SettlementFormat, SettlementRow, SettlementSummary,
};
use super::money::{AmountError, Currency, DecimalMark, parse_amount};
use layout::{Cells, Col, Layout, NCOLS, Scanner, Split, split_line};

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
            .0
            .unwrap_or_else(|| locale::conventional_mark(&currency));
        let total_amount = parse_amount(total_cell, mark)
            .map_err(|e| ParseError::amount(summary_line, Col::Total, e))?;
        let day_order = scan.1;
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
            ctx: Arc::new(Ctx {
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

/// Bodies larger than this are scanned in two halves on two threads.
const PARALLEL_PRESCAN_BYTES: usize = 8 << 20;

/// Runs `scan` over the body, in two line-aligned halves on two threads when
/// it is large; parts in file order.
fn scan_halves<'a>(
    body: &'a str,
    scan: impl Fn(&'a str) -> PartScan<'a> + Sync,
) -> Vec<PartScan<'a>> {
    if body.len() <= PARALLEL_PRESCAN_BYTES {
        return vec![scan(body)];
    }
    let half = body.len() / 2;
    let cut = memchr::memchr(b'\n', &body.as_bytes()[half..]).map_or(body.len(), |i| half + i + 1);
    let (first, second) = body.split_at(cut);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| scan(second));
        let mine = scan(first);
        match other.join() {
            Ok(theirs) => vec![mine, theirs],
            // scan_part does not panic; if it ever did, scan on this thread
            Err(_) => vec![mine, scan(second)],
        }
    })
}

/// Decides the decimal mark and the day order. Each half stops reading once
/// both are settled for it, so the decisions equal those of a full pass.
fn prescan(
    body: [&str; 2],
    layout: &Layout,
    currency: &Currency,
    total_cell: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> (Option<DecimalMark>, Option<DayOrder>) {
    let zero_scale = currency.scale() == 0;
    let slack = TimeDelta::days(1);
    let vote = locale::DayOrderVote::new((start - slack).date_naive(), (end + slack).date_naive());
    let total_mark = locale::mark_evidence(total_cell, zero_scale);
    let parts = body.into_iter().flat_map(|b| {
        scan_halves(b, |part| {
            scan_part(part, layout, zero_scale, total_mark, vote.clone(), false)
        })
    });
    let parts: Vec<PartScan<'_>> = parts.collect();
    let mut merged_vote = vote;
    let mut mark = total_mark;
    for part in parts {
        mark = mark.or(part.mark);
        merged_vote.merge(&part.vote);
    }
    (mark, merged_vote.decide(currency))
}

/// Non-blank body lines and the most frequent non-empty marketplace-name
/// (ties: the first seen).
fn census<'a>(body: [&'a str; 2], layout: &Layout) -> (usize, Option<&'a str>) {
    let day = chrono::NaiveDate::MIN;
    let parts = body.into_iter().flat_map(|b| {
        scan_halves(b, |part| {
            scan_part(
                part,
                layout,
                false,
                Some(DecimalMark::Point),
                locale::DayOrderVote::new(day, day),
                true,
            )
        })
    });
    let mut markets: Vec<(&'a str, usize)> = Vec::new();
    let mut body_lines = 0;
    for part in parts {
        body_lines += part.body_lines;
        for (name, n) in part.markets {
            match markets.iter_mut().find(|m| m.0 == name) {
                Some(m) => m.1 += n,
                None => markets.push((name, n)),
            }
        }
    }
    // max_by_key keeps the last maximum; reverse so ties go to the first seen
    let dominant = markets.iter().rev().max_by_key(|m| m.1).map(|m| m.0);
    (body_lines, dominant)
}

/// Rightmost header position of the amount columns the pre-scan reads.
fn amount_cols_pos(layout: &Layout) -> usize {
    let cols: &[Col] = match layout.format {
        SettlementFormat::V2 => &[Col::Amount],
        SettlementFormat::V1 => layout::V1_AMOUNTS,
    };
    cols.iter()
        .filter_map(|&c| layout.position[c as usize])
        .max()
        .unwrap_or(0)
}

/// What one part of the body shows.
struct PartScan<'a> {
    body_lines: usize,
    mark: Option<DecimalMark>,
    vote: locale::DayOrderVote,
    /// Marketplace names with their row counts, in order of first appearance.
    markets: Vec<(&'a str, usize)>,
}

fn scan_part<'a>(
    body: &'a str,
    layout: &Layout,
    zero_scale: bool,
    mut mark: Option<DecimalMark>,
    mut vote: locale::DayOrderVote,
    census: bool,
) -> PartScan<'a> {
    let amount_cols: &[Col] = match layout.format {
        SettlementFormat::V2 => &[Col::Amount],
        SettlementFormat::V1 => layout::V1_AMOUNTS,
    };
    let amount_cols: Vec<usize> = amount_cols
        .iter()
        .filter(|&&c| layout.has(c))
        .map(|&c| c as usize)
        .collect();
    let pos = |c: Col| layout.position[c as usize].unwrap_or(0);
    let market_col = pos(Col::MarketplaceName);
    let amount_col = amount_cols_pos(layout);
    let date_col = pos(Col::PostedDate).max(pos(Col::PostedDateTime));
    // Amazon writes a file's dates with one formatter: when the first date is
    // unambiguous (ISO), no later one needs a vote.
    let mut vote_live = !census;
    let mut markets: Vec<(&'a str, usize)> = Vec::new();
    let mut last_market: usize = usize::MAX;
    let mut cells: Cells<'a> = [""; NCOLS];
    let mut body_lines = 0usize;
    let mut scanner = Scanner::new(body);
    while !scanner.is_empty() {
        if !census && mark.is_some() && !vote_live {
            break;
        }
        let mut last_col = if census { market_col } else { 0 };
        if mark.is_none() {
            last_col = last_col.max(amount_col);
        }
        if vote_live {
            last_col = last_col.max(date_col);
        }
        let line = scanner.split_next_until(&layout.slots, &mut cells, last_col);
        if is_blank(line) {
            continue;
        }
        body_lines += 1;
        if mark.is_none() {
            mark = amount_cols
                .iter()
                .find_map(|&c| locale::mark_evidence(cells[c], zero_scale));
        }
        if vote_live {
            let dt = trim(cells[Col::PostedDateTime as usize]);
            let cell = if dt.is_empty() {
                trim(cells[Col::PostedDate as usize])
            } else {
                dt
            };
            match dates::split_date(cell.as_bytes()) {
                Some(raw) if raw.ambiguous => vote.add(&raw),
                Some(_) if !vote.seen() => vote_live = false,
                _ => {}
            }
            if vote.settled() {
                vote_live = false;
            }
        }
        let market = trim(cells[Col::MarketplaceName as usize]);
        if census && !market.is_empty() {
            match markets.get_mut(last_market) {
                Some(entry) if entry.0 == market => entry.1 += 1,
                _ => match markets.iter().position(|m| m.0 == market) {
                    Some(i) => {
                        markets[i].1 += 1;
                        last_market = i;
                    }
                    None => {
                        markets.push((market, 1));
                        last_market = markets.len() - 1;
                    }
                },
            }
        }
    }
    PartScan {
        body_lines,
        mark,
        vote,
        markets,
    }
}

/// Body rows of a file (or of one chunk of it). `Iterator<Item = Result<RowRef, ParseError>>`.
///
/// A bad line yields one error and iteration goes on with the next line.
#[derive(Clone)]
pub struct Rows<'a> {
    scan: Scanner<'a>,
    /// Line number of the next line `scan` yields.
    line: u32,
    ctx: Arc<Ctx>,
    cells: Cells<'a>,
    /// Last date cell parsed and its value: rows of one order share it.
    date_cache: (&'a str, Option<PostedAt>),
    /// V1: the line being expanded and the next [`v1::TABLE`] entry to look at.
    v1_line: u32,
    v1_next: usize,
    v1_posted: Option<PostedAt>,
    v1_quantity: Option<i64>,
    /// The part of the body read after `scan` (its text and first line).
    tail: Option<(&'a str, u32)>,
}

impl fmt::Debug for Rows<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rows")
            .field("next_line", &self.line)
            .field("remaining_bytes", &self.scan.remaining())
            .finish_non_exhaustive()
    }
}

impl<'a> Rows<'a> {
    fn new(rest: &'a str, line: u32, ctx: Arc<Ctx>) -> Self {
        Rows {
            scan: Scanner::new(rest),
            line,
            ctx,
            cells: [""; NCOLS],
            date_cache: ("", None),
            v1_line: 0,
            v1_next: v1::TABLE.len(),
            v1_posted: None,
            v1_quantity: None,
            tail: None,
        }
    }

    fn cell(&self, col: Col) -> &'a str {
        trim(self.cells[col as usize])
    }

    /// Posted date: `posted-date-time` when filled, else `posted-date`.
    fn posted(&mut self, line: u32) -> Result<Option<PostedAt>, ParseError> {
        let dt = self.cell(Col::PostedDateTime);
        let (cell, col) = if dt.is_empty() {
            (self.cell(Col::PostedDate), Col::PostedDate)
        } else {
            (dt, Col::PostedDateTime)
        };
        if cell.is_empty() {
            return Ok(None);
        }
        if cell == self.date_cache.0 {
            return Ok(self.date_cache.1);
        }
        let value = dates::parse_date_cell(cell, self.ctx.orders).ok_or_else(|| {
            ParseError::in_column(line, col.name(), ParseErrorKind::BadDate(cell.to_string()))
        })?;
        self.date_cache = (cell, Some(value));
        Ok(Some(value))
    }

    /// A body row's settlement id and currency, when filled, must be the
    /// summary row's (Amazon leaves them empty or repeats them).
    fn same_settlement(&self, line: u32) -> Result<(), ParseError> {
        let id = self.cell(Col::SettlementId);
        if !id.is_empty() && id != self.ctx.settlement_id {
            return Err(ParseError::in_column(
                line,
                Col::SettlementId.name(),
                ParseErrorKind::OtherSettlement {
                    found: id.to_string(),
                    expected: self.ctx.settlement_id.clone(),
                },
            ));
        }
        let currency = self.cell(Col::Currency);
        if !currency.is_empty() && !currency.eq_ignore_ascii_case(self.ctx.currency.code()) {
            return Err(ParseError::in_column(
                line,
                Col::Currency.name(),
                ParseErrorKind::OtherCurrency {
                    found: currency.to_string(),
                    expected: self.ctx.currency.code().to_string(),
                },
            ));
        }
        Ok(())
    }

    fn quantity(&self, line: u32) -> Result<Option<i64>, ParseError> {
        let cell = self.cell(Col::QuantityPurchased);
        if cell.is_empty() {
            return Ok(None);
        }
        cell.parse::<i64>().map(Some).map_err(|_| {
            ParseError::in_column(
                line,
                Col::QuantityPurchased.name(),
                ParseErrorKind::BadQuantity(cell.to_string()),
            )
        })
    }

    fn row(
        &self,
        line: u32,
        names: (&'a str, &'a str, &'a str),
        amount: Decimal,
        posted: Option<PostedAt>,
        quantity: Option<i64>,
    ) -> RowRef<'a> {
        RowRef {
            line,
            transaction_type: names.0,
            amount_type: names.1,
            amount_description: names.2,
            amount,
            order_id: self.cell(Col::OrderId),
            merchant_order_id: self.cell(Col::MerchantOrderId),
            adjustment_id: self.cell(Col::AdjustmentId),
            shipment_id: self.cell(Col::ShipmentId),
            marketplace_name: self.cell(Col::MarketplaceName),
            fulfillment_id: self.cell(Col::FulfillmentId),
            posted,
            order_item_code: self.cell(Col::OrderItemCode),
            merchant_order_item_id: self.cell(Col::MerchantOrderItemId),
            merchant_adjustment_item_id: self.cell(Col::MerchantAdjustmentItemId),
            sku: self.cell(Col::Sku),
            quantity_purchased: quantity,
            promotion_id: self.cell(Col::PromotionId),
        }
    }

    fn v2_row(&mut self, line: u32) -> Result<RowRef<'a>, ParseError> {
        let amount = parse_amount(self.cells[Col::Amount as usize], self.ctx.mark)
            .map_err(|e| ParseError::amount(line, Col::Amount, e))?;
        let posted = self.posted(line)?;
        let quantity = self.quantity(line)?;
        let names = (
            self.cell(Col::TransactionType),
            self.cell(Col::AmountType),
            self.cell(Col::AmountDescription),
        );
        Ok(self.row(line, names, amount, posted, quantity))
    }

    /// The next row of the V1 line being expanded, if any amount cell is left.
    fn v1_pending(&mut self) -> Option<Result<RowRef<'a>, ParseError>> {
        while let Some(entry) = v1::TABLE.get(self.v1_next) {
            self.v1_next += 1;
            let cell = self.cells[entry.amount as usize];
            if trim(cell).is_empty() {
                continue;
            }
            let line = self.v1_line;
            return Some(match parse_amount(cell, self.ctx.mark) {
                Ok(amount) => {
                    let names = v1::normalise(entry, &self.cells);
                    Ok(self.row(line, names, amount, self.v1_posted, self.v1_quantity))
                }
                Err(e) => Err(ParseError::amount(line, entry.amount, e)),
            });
        }
        None
    }
}

impl<'a> Iterator for Rows<'a> {
    type Item = Result<RowRef<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(pending) = self.v1_pending() {
            return Some(pending);
        }
        loop {
            if self.scan.is_empty() {
                let (tail, line) = self.tail.take()?;
                self.scan = Scanner::new(tail);
                self.line = line;
                continue;
            }
            let (text, split) = self
                .scan
                .split_next(&self.ctx.layout.slots, &mut self.cells);
            let line = self.line;
            self.line = self.line.saturating_add(1);
            if is_blank(text) {
                continue;
            }
            if let Err(e) =
                check_width(split, &self.ctx.layout, line).and_then(|()| self.same_settlement(line))
            {
                return Some(Err(e));
            }
            match self.ctx.layout.format {
                SettlementFormat::V2 => return Some(self.v2_row(line)),
                SettlementFormat::V1 => {
                    let posted = match self.posted(line) {
                        Ok(p) => p,
                        Err(e) => return Some(Err(e)),
                    };
                    let quantity = match self.quantity(line) {
                        Ok(q) => q,
                        Err(e) => return Some(Err(e)),
                    };
                    self.v1_line = line;
                    self.v1_posted = posted;
                    self.v1_quantity = quantity;
                    self.v1_next = 0;
                    if let Some(row) = self.v1_pending() {
                        return Some(row);
                    }
                }
            }
        }
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
