//! The fast path of `settlement preview` for a large UTF-8 V2 file: the file
//! is cut into line-aligned ranges, one per thread, and each thread reads its
//! range through one small buffer it reuses, validating and mapping each
//! chunk while it is in cache. The file is never held whole (memory: the
//! buffers) and no page is faulted in twice.
//!
//! It only answers when nothing is unusual: the header, summary row and
//! locale decided from the first lines (see
//! [`SettlementFile::locale_final`]), every byte plain UTF-8, every row
//! good. Anything else gives `None`, and the caller takes the in-memory path,
//! which reads the file as one text and locates any error exactly.

use anyhow::{Context, Result};
use chrono_tz::Tz;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{SPLIT_BYTES, file_engine, read_error};
use crate::ledger::journal::{Accumulator, Proposal};
use crate::ledger::mapping::Mapping;
use crate::ledger::model::{FileLocale, SettlementFormat, SettlementSummary};
use crate::ledger::parse::{SettlementFile, utf8_part};

/// The start of the file read first: header, summary row and the lines the
/// locale is decided from.
const HEAD_BYTES: usize = 1 << 20;

/// Each thread's read buffer (grown for a longer line): small enough to stay
/// in cache between the read and the mapping.
const CHUNK_BYTES: usize = 256 << 10;

/// A file's summary, locale and proposal.
#[derive(Debug)]
pub struct FileProposal {
    pub summary: SettlementSummary,
    pub locale: FileLocale,
    pub proposal: Proposal,
}

/// Proposes the journals of a settlement file read in `parts` ranges on as
/// many threads (see the module docs); `None` when the file is small or not
/// plain, or anything (a bad row included) needs the in-memory path.
pub fn propose_streamed(
    path: &Path,
    mapping: &Mapping,
    tz: Tz,
    parts: usize,
) -> Result<Option<FileProposal>> {
    let file = File::open(path).with_context(|| read_error(path))?;
    let len = file.metadata().with_context(|| read_error(path))?.len();
    if len < SPLIT_BYTES || parts < 2 {
        return Ok(None);
    }
    let Ok(len) = usize::try_from(len) else {
        return Ok(None);
    };
    // range starts: the first line start at or past each k/parts of the file
    let mut starts = vec![0usize];
    for k in 1..parts {
        let from = (len / parts * k).max(starts[starts.len() - 1]);
        match line_start_after(&file, from, len, path)? {
            Some(at) if at > starts[starts.len() - 1] => starts.push(at),
            _ => {}
        }
    }
    if starts.len() < 2 {
        return Ok(None);
    }
    let ends: Vec<usize> = starts[1..].iter().copied().chain([len]).collect();

    let mut head = vec![0u8; HEAD_BYTES.min(ends[0])];
    file.read_exact_at(&mut head, 0)
        .with_context(|| read_error(path))?;
    let head_end = if head.len() == ends[0] {
        head.len()
    } else {
        match memchr::memrchr(b'\n', &head) {
            Some(i) => i + 1,
            None => return Ok(None),
        }
    };
    let Some(head_text) = utf8_part(&head[..head_end]) else {
        return Ok(None);
    };
    let Ok(parsed) = SettlementFile::parse(head_text, "UTF-8") else {
        return Ok(None);
    };
    if parsed.summary.format != SettlementFormat::V2 || !parsed.locale_final() {
        return Ok(None);
    }
    let engine = file_engine(mapping, tz, &parsed);

    let stop = AtomicBool::new(false);
    let results: Vec<Result<Option<(Accumulator<'_>, u32)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..starts.len())
            .map(|k| {
                let (file, parsed, engine, stop) = (&file, &parsed, &engine, &stop);
                let (start, end) = (starts[k], ends[k]);
                s.spawn(move || -> Result<Option<(Accumulator<'_>, u32)>> {
                    let mut acc = engine.accumulator();
                    let mut line = 1;
                    let mut from = start;
                    if k == 0 {
                        let mut rows = parsed.rows();
                        if acc.add_rows(&mut rows).is_err() {
                            stop.store(true, Ordering::Relaxed);
                            return Ok(None);
                        }
                        line = rows.next_line();
                        from = head_end;
                    }
                    let range = Range {
                        file,
                        from,
                        end,
                        line,
                    };
                    let next = range.stream(parsed, &mut acc, stop);
                    if !matches!(next, Ok(Some(_))) {
                        stop.store(true, Ordering::Relaxed);
                    }
                    Ok(next.with_context(|| read_error(path))?.map(|l| (acc, l)))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });

    // every range after the first was numbered from 1: move it behind the
    // lines in front of it
    let mut merged: Option<Accumulator<'_>> = None;
    let mut first_line = 1u32;
    for result in results {
        let Some((mut acc, next_line)) = result? else {
            return Ok(None);
        };
        match merged.as_mut() {
            None => {
                first_line = next_line;
                merged = Some(acc);
            }
            Some(m) => {
                acc.offset_lines(first_line - 1);
                first_line = first_line.saturating_add(next_line - 1);
                m.merge(acc);
            }
        }
    }
    let Some(acc) = merged else {
        return Ok(None);
    };
    let Ok(proposal) = acc.finish() else {
        return Ok(None);
    };
    Ok(Some(FileProposal {
        summary: parsed.summary.clone(),
        locale: parsed.locale,
        proposal,
    }))
}

/// The start of the first line at or after byte `at` (just past a line
/// break), if any before the end.
fn line_start_after(file: &File, at: usize, len: usize, path: &Path) -> Result<Option<usize>> {
    let mut probe = vec![0u8; 64 << 10];
    let mut at = at;
    while at < len {
        let n = (len - at).min(probe.len());
        file.read_exact_at(&mut probe[..n], at as u64)
            .with_context(|| read_error(path))?;
        if let Some(i) = memchr::memchr(b'\n', &probe[..n]) {
            let start = at + i + 1;
            return Ok((start < len).then_some(start));
        }
        at += n;
    }
    Ok(None)
}

/// Bytes `from..end` of a file (whole lines), the first being line `line`.
struct Range<'f> {
    file: &'f File,
    from: usize,
    end: usize,
    line: u32,
}

impl Range<'_> {
    /// Reads the range chunk by chunk into one buffer and adds its rows to
    /// `acc`; the number of the line after it. `None` (and nothing more read)
    /// at a byte that is not plain UTF-8, a bad row, or when `stop` is set.
    fn stream(
        &self,
        parsed: &SettlementFile<'_>,
        acc: &mut Accumulator<'_>,
        stop: &AtomicBool,
    ) -> std::io::Result<Option<u32>> {
        let mut buf = vec![0u8; CHUNK_BYTES];
        let mut line = self.line;
        let mut pos = self.from;
        // bytes of an unfinished line kept at the front of `buf`
        let mut kept = 0usize;
        while pos < self.end || kept > 0 {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let n = (buf.len() - kept).min(self.end - pos);
            self.file
                .read_exact_at(&mut buf[kept..kept + n], pos as u64)?;
            pos += n;
            let filled = kept + n;
            let upto = if pos == self.end {
                filled
            } else {
                match memchr::memrchr(b'\n', &buf[..filled]) {
                    Some(i) => i + 1,
                    None => {
                        // a line longer than the buffer
                        kept = filled;
                        buf.resize(buf.len() * 2, 0);
                        continue;
                    }
                }
            };
            let Some(text) = utf8_part(&buf[..upto]) else {
                return Ok(None);
            };
            let mut rows = parsed.rows_of(text, line);
            if acc.add_rows(&mut rows).is_err() {
                return Ok(None);
            }
            line = rows.next_line();
            buf.copy_within(upto..filled, 0);
            kept = filled - upto;
        }
        Ok(Some(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::bench::settlement_file::write_file;

    /// The in-memory path's result for the same file.
    fn whole(path: &Path, mapping: &Mapping, parts: usize) -> Result<FileProposal> {
        super::super::with_settlement_file(path, None, |file| {
            let engine = file_engine(mapping, chrono_tz::UTC, file);
            let proposal = crate::ledger::journal::propose_file(file, &engine, parts)?;
            Ok(FileProposal {
                summary: file.summary.clone(),
                locale: file.locale.clone(),
                proposal,
            })
        })
    }

    #[test]
    fn streamed_proposal_equals_the_whole_text_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.txt");
        write_file(&path, 30_000).unwrap();
        // a line longer than the read buffer
        let text = std::fs::read_to_string(&path).unwrap();
        let long = "X".repeat(CHUNK_BYTES + 1000);
        let text = text.replacen("\tCAST-IRON-", &format!("\t{long}-"), 1);
        std::fs::write(&path, &text).unwrap();
        assert!(text.len() as u64 > SPLIT_BYTES + HEAD_BYTES as u64);
        let m = Mapping::default_mapping();
        let expected = whole(&path, &m, 1).unwrap();
        assert!(expected.proposal.consistent && expected.proposal.rows == 30_000);
        for parts in [2, 3, 4] {
            let got = propose_streamed(&path, &m, chrono_tz::UTC, parts)
                .unwrap()
                .expect("streamed");
            assert_eq!(got.proposal, expected.proposal, "{parts} parts");
            assert_eq!(got.summary, expected.summary);
            assert_eq!(got.locale, expected.locale);
        }
    }

    #[test]
    fn anything_unusual_takes_the_whole_text_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.txt");
        write_file(&path, 30_000).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let m = Mapping::default_mapping();
        let streamed = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            propose_streamed(&path, &m, chrono_tz::UTC, 2).unwrap()
        };
        assert!(streamed(text.as_bytes()).is_some());
        // a bad amount late in the file: the whole-text path names its line
        let at = text.rfind("\tItemPrice\tPrincipal\t").unwrap();
        let bad = format!(
            "{}\tItemPrice\tPrincipal\tabc{}",
            &text[..at],
            &text[at + 21..]
        );
        assert!(streamed(bad.as_bytes()).is_none());
        let line = bad[..at].matches('\n').count() + 1;
        let err = whole(&path, &m, 2).unwrap_err().to_string();
        assert!(
            err.contains(&format!("line {line}, column `amount`")),
            "{err}"
        );
        // a byte that is not UTF-8 late in the file
        let mut latin = text.clone().into_bytes();
        let at = text.rfind("CAST-IRON-").unwrap();
        latin[at] = 0xC9;
        assert!(streamed(&latin).is_none());
        // a file too small to split
        assert!(streamed(&text.as_bytes()[..1 << 20]).is_none());
    }
}
