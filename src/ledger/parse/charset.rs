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

/// Refuses what is no text at all: empty (or blank), gzip, NUL bytes.
/// Returns the BOM's encoding and length.
fn precheck(bytes: &[u8]) -> Result<(Option<&'static Encoding>, usize), ParseError> {
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
    let utf16 = bom_encoding.is_some_and(|e| e != UTF_8);
    if !utf16 && let Some(at) = memchr::memchr(0, &bytes[bom_len..]) {
        return Err(ParseError::at(
            line_at(bytes, bom_len + at),
            ParseErrorKind::Binary,
        ));
    }
    Ok((bom_encoding, bom_len))
}

/// The encoding when the bytes after the BOM are not valid UTF-8 and nothing
/// named one: Shift_JIS for a JPY summary row, else windows-1252.
fn sniff_legacy(body: &[u8]) -> &'static Encoding {
    if raw_summary_currency(body).is_some_and(|c| c.eq_ignore_ascii_case(b"JPY")) {
        SHIFT_JIS
    } else {
        WINDOWS_1252
    }
}

fn bad_encoding(bytes: &[u8], offset: usize, encoding: &'static Encoding) -> ParseError {
    ParseError::at(
        line_at(bytes, offset),
        ParseErrorKind::BadEncoding(encoding.name()),
    )
}

pub(crate) fn decode<'b>(
    bytes: &'b [u8],
    charset: Option<&str>,
) -> Result<Decoded<'b>, ParseError> {
    let (bom_encoding, bom_len) = precheck(bytes)?;
    let body = &bytes[bom_len..];
    // the sniffing validation is kept so a UTF-8 body is validated once, not twice
    let mut sniffed: Option<Result<&str, std::str::Utf8Error>> = None;
    let encoding = match (bom_encoding, charset.and_then(encoding_for)) {
        (Some(enc), _) => enc,
        (None, Some(enc)) => enc,
        (None, None) => {
            let utf8 = std::str::from_utf8(body);
            let ok = utf8.is_ok();
            sniffed = Some(utf8);
            if ok { UTF_8 } else { sniff_legacy(body) }
        }
    };
    let text = if encoding == UTF_8 {
        match sniffed.unwrap_or_else(|| std::str::from_utf8(body)) {
            Ok(s) => Cow::Borrowed(s),
            Err(e) => return Err(bad_encoding(bytes, bom_len + e.valid_up_to(), encoding)),
        }
    } else {
        Cow::Owned(
            decode_strict(encoding, body)
                .map_err(|offset| bad_encoding(bytes, bom_len + offset, encoding))?,
        )
    };
    let text = match text {
        // a BOM the caller's charset did not account for
        Cow::Borrowed(s) => Cow::Borrowed(s.strip_prefix('\u{feff}').unwrap_or(s)),
        Cow::Owned(mut s) => {
            strip_bom(&mut s);
            Cow::Owned(s)
        }
    };
    Ok(Decoded {
        text,
        charset: encoding.name(),
    })
}

/// Drops a leading U+FEFF in place (no second string).
fn strip_bom(s: &mut String) {
    if s.starts_with('\u{feff}') {
        s.drain(..'\u{feff}'.len_utf8());
    }
}

/// [`decode`] of bytes the caller gives up: the text reuses their buffer when
/// it can, so at no point are the bytes and a full copy of the text both held.
/// UTF-8 is taken as is (BOM dropped); a single-byte charset (windows-1252,
/// ISO-8859-x, …) is converted in place, growing the buffer by one or two
/// bytes per non-ASCII byte; other charsets (Shift_JIS, UTF-16) are decoded
/// into a new string and the bytes dropped. Same text, charset and errors as
/// [`decode`].
pub(crate) fn decode_owned(
    mut bytes: Vec<u8>,
    charset: Option<&str>,
) -> Result<Decoded<'static>, ParseError> {
    let (bom_encoding, bom_len) = precheck(&bytes)?;
    let encoding = match (bom_encoding, charset.and_then(encoding_for)) {
        (Some(enc), _) => enc,
        (None, Some(enc)) => enc,
        // valid UTF-8 becomes the text as is; else the bytes come back
        (None, None) => match String::from_utf8(bytes) {
            Ok(mut text) => {
                strip_bom(&mut text);
                return Ok(Decoded {
                    text: Cow::Owned(text),
                    charset: UTF_8.name(),
                });
            }
            Err(e) => {
                bytes = e.into_bytes();
                sniff_legacy(&bytes)
            }
        },
    };
    let mut text = if encoding == UTF_8 {
        // a BOM holds no line break: offsets after it give the same lines
        bytes.drain(..bom_len);
        String::from_utf8(bytes)
            .map_err(|e| bad_encoding(e.as_bytes(), e.utf8_error().valid_up_to(), encoding))?
    } else if encoding.is_single_byte() && bom_len == 0 {
        single_byte_in_place(encoding, bytes)?
    } else {
        let text = decode_strict(encoding, &bytes[bom_len..])
            .map_err(|offset| bad_encoding(&bytes, bom_len + offset, encoding))?;
        drop(bytes);
        text
    };
    strip_bom(&mut text);
    Ok(Decoded {
        text: Cow::Owned(text),
        charset: encoding.name(),
    })
}

/// Bytes of eight ASCII bytes at once: no high bit set.
#[inline]
fn ascii_word(chunk: &[u8]) -> bool {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_le_bytes(w) & 0x8080_8080_8080_8080 == 0
}

/// Converts a single-byte charset to UTF-8 in its own buffer: a first pass
/// finds the UTF-8 length (and any byte the charset does not map), the buffer
/// grows to it, and a second pass writes from the end backwards, so every byte
/// is read before its place is overwritten.
fn single_byte_in_place(
    encoding: &'static Encoding,
    mut bytes: Vec<u8>,
) -> Result<String, ParseError> {
    // UTF-8 of each byte 0x80..=0xFF and its length (0: unmapped)
    let mut table = [([0u8; 3], 0usize); 128];
    for (i, entry) in table.iter_mut().enumerate() {
        let byte = [0x80 + i as u8];
        if let Some(s) = encoding.decode_without_bom_handling_and_without_replacement(&byte) {
            let s = s.as_bytes();
            if (2..=3).contains(&s.len()) {
                entry.0[..s.len()].copy_from_slice(s);
                entry.1 = s.len();
            }
        }
    }
    let mut extra = 0usize;
    let mut at = 0usize;
    for chunk in bytes.chunks(8) {
        if chunk.len() == 8 && ascii_word(chunk) {
            at += 8;
            continue;
        }
        for &b in chunk {
            if b >= 0x80 {
                match table[usize::from(b - 0x80)].1 {
                    0 => return Err(bad_encoding(&bytes, at, encoding)),
                    n => extra += n - 1,
                }
            }
            at += 1;
        }
    }
    let mut read = bytes.len();
    let mut write = read + extra;
    bytes.reserve_exact(extra);
    bytes.resize(write, 0);
    // invariant: write - read = the growth still to come from bytes[..read]
    while write > read {
        let run_start = bytes[..read]
            .iter()
            .rposition(|&b| b >= 0x80)
            .map_or(0, |i| i + 1);
        let run = read - run_start;
        bytes.copy_within(run_start..read, write - run);
        write -= run;
        read = run_start;
        if read == 0 {
            break;
        }
        read -= 1;
        let (utf8, n) = table[usize::from(bytes[read] - 0x80)];
        write -= n;
        bytes[write..write + n].copy_from_slice(&utf8[..n]);
    }
    String::from_utf8(bytes)
        .map_err(|e| bad_encoding(e.as_bytes(), e.utf8_error().valid_up_to(), encoding))
}

/// Decodes without replacement characters; on malformed input returns the byte
/// offset where it starts. The string grows chunk by chunk, so it holds little
/// more than the text (a decoder's worst-case buffer for the whole input would
/// be three times the bytes, and gets written to).
fn decode_strict(encoding: &'static Encoding, bytes: &[u8]) -> Result<String, usize> {
    const CHUNK: usize = 1 << 20;
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = String::new();
    let mut done = 0usize;
    loop {
        let end = bytes.len().min(done.saturating_add(CHUNK));
        let last = end == bytes.len();
        let src = &bytes[done..end];
        let need = decoder
            .max_utf8_buffer_length_without_replacement(src.len())
            .unwrap_or(src.len().saturating_mul(3).saturating_add(16));
        out.reserve_exact(need);
        let (result, read) = decoder.decode_to_string_without_replacement(src, &mut out, last);
        match result {
            DecoderResult::Malformed(bad, after) => {
                return Err((done + read).saturating_sub(usize::from(bad) + usize::from(after)));
            }
            DecoderResult::InputEmpty => {
                done += read;
                if last {
                    break;
                }
            }
            DecoderResult::OutputFull => done += read,
        }
    }
    out.shrink_to_fit();
    Ok(out)
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
