//! Bytes to text: the character set from the download, else sniffed.
//!
//! Order: a byte-order mark; the charset the download's `Content-Type` named;
//! UTF-8 when the bytes are valid UTF-8; Shift_JIS when the summary row says JPY
//! (Amazon.co.jp files); windows-1252 otherwise (what ISO-8859-1 means on the web).

use std::borrow::Cow;

use encoding_rs::{DecoderResult, Encoding, SHIFT_JIS, UTF_8, WINDOWS_1252};

use super::{Decoded, ParseError, ParseErrorKind};

/// Accepts a bare label (`ISO-8859-1`) or a whole Content-Type value
/// (`text/plain; charset="ISO-8859-1"`).
pub(super) fn encoding_for(label: &str) -> Option<&'static Encoding> {
    let lower = label.to_ascii_lowercase();
    let value = match lower.find("charset=") {
        Some(at) => &label[at + "charset=".len()..],
        None if label.contains('/') => return None, // a media type without charset
        None => label,
    };
    let value = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"');
    Encoding::for_label(value.as_bytes())
}

/// 1-based line holding byte `offset`.
fn line_at(bytes: &[u8], offset: usize) -> u32 {
    let upto = &bytes[..offset.min(bytes.len())];
    u32::try_from(memchr::memchr_iter(b'\n', upto).count() + 1).unwrap_or(u32::MAX)
}

/// The summary row's currency read from raw bytes (header and summary are ASCII
/// in every charset Amazon uses), to choose between Shift_JIS and windows-1252.
fn raw_summary_currency(bytes: &[u8]) -> Option<&[u8]> {
    let mut lines = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace));
    let header = lines.next()?;
    let summary = lines.next()?;
    let col = header
        .split(|&b| b == b'\t')
        .position(|name| name.trim_ascii().eq_ignore_ascii_case(b"currency"))?;
    summary
        .split(|&b| b == b'\t')
        .nth(col)
        .map(<[u8]>::trim_ascii)
}

pub(crate) fn decode<'b>(
    bytes: &'b [u8],
    charset: Option<&str>,
) -> Result<Decoded<'b>, ParseError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::at(1, ParseErrorKind::Empty));
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(ParseError::at(1, ParseErrorKind::Compressed));
    }
    let (bom_encoding, bom_len) = match Encoding::for_bom(bytes) {
        Some((enc, len)) => (Some(enc), len),
        None => (None, 0),
    };
    let body = &bytes[bom_len..];
    let utf16 = bom_encoding.is_some_and(|e| e != UTF_8);
    if !utf16 && let Some(at) = memchr::memchr(0, body) {
        return Err(ParseError::at(
            line_at(bytes, bom_len + at),
            ParseErrorKind::Binary,
        ));
    }
    // the sniffing validation is kept so a UTF-8 body is validated once, not twice
    let mut sniffed: Option<Result<&str, std::str::Utf8Error>> = None;
    let encoding = match (bom_encoding, charset.and_then(encoding_for)) {
        (Some(enc), _) => enc,
        (None, Some(enc)) => enc,
        (None, None) => {
            let utf8 = std::str::from_utf8(body);
            let ok = utf8.is_ok();
            sniffed = Some(utf8);
            if ok {
                UTF_8
            } else if raw_summary_currency(body).is_some_and(|c| c.eq_ignore_ascii_case(b"JPY")) {
                SHIFT_JIS
            } else {
                WINDOWS_1252
            }
        }
    };
    let text = if encoding == UTF_8 {
        match sniffed.unwrap_or_else(|| std::str::from_utf8(body)) {
            Ok(s) => Cow::Borrowed(s),
            Err(e) => {
                return Err(ParseError::at(
                    line_at(bytes, bom_len + e.valid_up_to()),
                    ParseErrorKind::BadEncoding(encoding.name()),
                ));
            }
        }
    } else {
        decode_strict(encoding, body).map_err(|offset| {
            ParseError::at(
                line_at(bytes, bom_len + offset),
                ParseErrorKind::BadEncoding(encoding.name()),
            )
        })?
    };
    let text = match text {
        // a BOM the caller's charset did not account for
        Cow::Borrowed(s) => Cow::Borrowed(s.strip_prefix('\u{feff}').unwrap_or(s)),
        Cow::Owned(s) => match s.strip_prefix('\u{feff}') {
            Some(rest) => Cow::Owned(rest.to_string()),
            None => Cow::Owned(s),
        },
    };
    Ok(Decoded {
        text,
        charset: encoding.name(),
    })
}

/// Decodes without replacement characters; on malformed input returns the byte
/// offset where it starts.
fn decode_strict(encoding: &'static Encoding, bytes: &[u8]) -> Result<Cow<'static, str>, usize> {
    if let Some(text) = encoding.decode_without_bom_handling_and_without_replacement(bytes) {
        return Ok(Cow::Owned(text.into_owned()));
    }
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(
        decoder
            .max_utf8_buffer_length_without_replacement(bytes.len())
            .unwrap_or(bytes.len() * 3),
    );
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::Malformed(bad, after) => {
            Err(read.saturating_sub(usize::from(bad) + usize::from(after)))
        }
        _ => Ok(Cow::Owned(out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(encoding_for("ISO-8859-1"), Some(WINDOWS_1252));
        assert_eq!(
            encoding_for("text/plain; charset=\"Shift_JIS\""),
            Some(SHIFT_JIS)
        );
        assert_eq!(encoding_for("text/plain;charset=UTF-8"), Some(UTF_8));
        assert_eq!(encoding_for("text/plain"), None);
        assert_eq!(encoding_for("x-nonsense"), None);
    }

    #[test]
    fn sniffing() {
        let d = decode("\u{feff}a\tb\n".as_bytes(), None).unwrap();
        assert_eq!(d.charset, "UTF-8");
        assert_eq!(d.text, "a\tb\n");
        assert!(matches!(d.text, Cow::Borrowed(_)));
        let d = decode(b"caf\xe9\n", None).unwrap();
        assert_eq!(d.charset, "windows-1252");
        assert_eq!(d.text, "caf\u{e9}\n");
        let d = decode(b"caf\xe9\n", Some("ISO-8859-1")).unwrap();
        assert_eq!(d.text, "caf\u{e9}\n");
        // Shift_JIS for a JPY summary row
        let sjis = b"settlement-id\tcurrency\n1\tJPY\n2\t\x83\x65\x83\x58\x83\x67\n";
        let d = decode(sjis, None).unwrap();
        assert_eq!(d.charset, "Shift_JIS");
        assert!(d.text.contains("\u{30c6}\u{30b9}\u{30c8}"));
    }

    #[test]
    fn errors_carry_lines() {
        let e = decode(b"a\nb\n\0c", None).unwrap_err();
        assert_eq!((e.line, e.kind), (Some(3), ParseErrorKind::Binary));
        let e = decode(b"a\n\xff\xfe", Some("UTF-8")).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(
            decode(b" \n", None).unwrap_err().kind,
            ParseErrorKind::Empty
        );
        assert_eq!(
            decode(&[0x1f, 0x8b, 8, 0], None).unwrap_err().kind,
            ParseErrorKind::Compressed
        );
        let e = decode(b"h\tcurrency\n1\tJPY\n\x81\n", None).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.kind, ParseErrorKind::BadEncoding("Shift_JIS"));
    }
}
