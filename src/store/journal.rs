//! The history journal: an append-only, hash-chained record of every change the store
//! commits, kept outside sled's files (`DIR/history/journal.jsonl`), so a damaged sled
//! database costs time, never history (issue 14; sled 0.34 does not promise to detect
//! damage).
//!
//! One line per commit: `{"seq","at","kind","key","ops","prev","hash"}` where `ops`
//! are the writes exactly as sled receives them (`{"tree","key" (hex),"value"}`,
//! `"del":true`, or `"raw":SHA256` for settlement bytes, which are kept verbatim once in
//! `DIR/history/raw/<settlement>-<sha256>.bin`), and
//! `hash = sha256(prev || the line as written, without its hash field)`. The first line
//! (`kind` `genesis`) has `prev` = 64 zeros.
//!
//! Lines are appended and fsynced *before* sled commits the same writes, so the journal
//! is never behind the store; see the crash windows in [`super::open`].

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{StoreError, sha256_hex};

pub(super) const HISTORY_DIR: &str = "history";
pub(super) const JOURNAL_FILE: &str = "journal.jsonl";
const RAW_DIR: &str = "raw";
const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// `,"hash":"` + 64 hex digits + `"}`.
const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;

/// Where a journal ends: its last line's sequence number and hash (`seq` 0: empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub seq: u64,
    pub hash: String,
}

/// One write of a commit, as journaled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct JOp {
    pub tree: String,
    /// The sled key, hex.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Box<RawValue>>,
    /// SHA-256 of raw settlement bytes kept in `history/raw/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub del: bool,
}

/// A journal line without its hash (what the hash covers).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Line {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// What kind of record the commit is about (`batch`, `intent`, `audit`, …).
    pub kind: String,
    /// That record's key in plain words (`2079…/NOV-26`).
    pub key: String,
    pub ops: Vec<JOp>,
    pub prev: String,
}

/// A line read back, with the hash it carried.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub line: Line,
    pub hash: String,
}

impl Entry {
    pub fn position(&self) -> Position {
        Position {
            seq: self.line.seq,
            hash: self.hash.clone(),
        }
    }
}

/// Renders a line (without newline) and its hash.
fn encode(line: &Line) -> (String, String) {
    let body = serde_json::to_string(line).expect("journal lines serialize");
    let mut hashed = Vec::with_capacity(line.prev.len() + body.len());
    hashed.extend_from_slice(line.prev.as_bytes());
    hashed.extend_from_slice(body.as_bytes());
    let hash = sha256_hex(&hashed);
    let mut text = body;
    text.pop(); // the closing brace
    text.push_str(",\"hash\":\"");
    text.push_str(&hash);
    text.push_str("\"}");
    (text, hash)
}

/// Parses one line and checks it against its own hash.
fn decode(text: &[u8]) -> Result<Entry, String> {
    let n = text.len();
    if n < HASH_SUFFIX_LEN + 2 || !text[n - HASH_SUFFIX_LEN..].starts_with(b",\"hash\":\"") {
        return Err("the line has no hash".into());
    }
    let hash = std::str::from_utf8(&text[n - 66..n - 2])
        .map_err(|_| "the hash is not text".to_string())?
        .to_string();
    let mut body = text[..n - HASH_SUFFIX_LEN].to_vec();
    body.push(b'}');
    let line: Line = serde_json::from_slice(&body).map_err(|e| format!("unreadable: {e}"))?;
    let mut hashed = line.prev.as_bytes().to_vec();
    hashed.extend_from_slice(&body);
    if sha256_hex(&hashed) != hash {
        return Err("its content does not match its hash".into());
    }
    Ok(Entry { line, hash })
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn history_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(HISTORY_DIR)
}

pub(super) fn journal_path(data_dir: &Path) -> PathBuf {
    history_dir(data_dir).join(JOURNAL_FILE)
}

/// Where the bytes of one raw settlement file are kept.
pub(super) fn raw_path(data_dir: &Path, settlement_id: &str, sha256: &str) -> PathBuf {
    let safe = if settlement_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !settlement_id.starts_with('.')
    {
        settlement_id.to_string()
    } else {
        format!("x{}", hex::encode(settlement_id))
    };
    history_dir(data_dir)
        .join(RAW_DIR)
        .join(format!("{safe}-{sha256}.bin"))
}

/// Makes a directory entry durable (a new or renamed file survives a power cut).
pub(super) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

pub(super) fn create_dir_private(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io_err(dir))
}

/// Keeps raw settlement bytes verbatim (once; fsynced) so a rebuild does not need sled.
pub(super) fn archive_raw(
    data_dir: &Path,
    settlement_id: &str,
    sha256: &str,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let path = raw_path(data_dir, settlement_id, sha256);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
        return Ok(());
    }
    let dir = path.parent().expect("raw files live in a directory");
    create_dir_private(dir)?;
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
    file.write_all(bytes).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
    sync_dir(dir);
    Ok(())
}

/// Reads kept raw bytes back, checked against their hash.
pub(super) fn read_raw(
    data_dir: &Path,
    settlement_id: &str,
    sha256: &str,
) -> Result<Vec<u8>, String> {
    let path = raw_path(data_dir, settlement_id, sha256);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if sha256_hex(&bytes) != sha256 {
        return Err(format!(
            "{}: the bytes do not match their sha256",
            path.display()
        ));
    }
    Ok(bytes)
}

/// The appending end of the journal (one per open store, behind the commit lock).
#[derive(Debug)]
pub(super) struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
    pos: Position,
}

impl Journal {
    /// Opens an existing journal that ends at `pos` (checked by the caller).
    pub fn open_append(data_dir: &Path, pos: Position) -> Result<Journal, StoreError> {
        let path = journal_path(data_dir);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let len = file.metadata().map_err(io_err(&path))?.len();
        Ok(Journal {
            path,
            file,
            len,
            pos,
        })
    }

    /// Writes a new journal (its genesis line, then whatever `fill` appends) next to
    /// the old one and renames it into place: a journal is created whole or not at all.
    pub fn create(
        data_dir: &Path,
        at: DateTime<Utc>,
        genesis: (String, Vec<JOp>),
        fill: impl FnOnce(&mut Journal) -> Result<(), StoreError>,
    ) -> Result<Journal, StoreError> {
        let dir = history_dir(data_dir);
        create_dir_private(&dir)?;
        let path = journal_path(data_dir);
        let tmp = dir.join("journal.jsonl.new");
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let mut journal = Journal {
            path: tmp.clone(),
            file,
            len: 0,
            pos: Position::default(),
        };
        journal.write_lines([("genesis".to_string(), genesis.0, genesis.1)], at)?;
        fill(&mut journal)?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        sync_dir(&dir);
        journal.path = path;
        Ok(journal)
    }

    pub fn position(&self) -> &Position {
        &self.pos
    }

    /// Appends one line and fsyncs it.
    pub fn append(
        &mut self,
        kind: String,
        key: String,
        ops: Vec<JOp>,
        at: DateTime<Utc>,
    ) -> Result<Position, StoreError> {
        self.write_lines([(kind, key, ops)], at)?;
        Ok(self.pos.clone())
    }

    /// Appends lines with one fsync at the end; on failure the file is cut back to
    /// where it was, so no half line stays behind.
    pub fn write_lines(
        &mut self,
        lines: impl IntoIterator<Item = (String, String, Vec<JOp>)>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let start = (self.len, self.pos.clone());
        let mut out = std::io::BufWriter::new(&self.file);
        let mut written = 0u64;
        let mut pos = self.pos.clone();
        let mut result = Ok(());
        for (kind, key, ops) in lines {
            let line = Line {
                seq: pos.seq + 1,
                at,
                kind,
                key,
                ops,
                prev: if pos.seq == 0 {
                    GENESIS_PREV.to_string()
                } else {
                    pos.hash.clone()
                },
            };
            let (mut text, hash) = encode(&line);
            text.push('\n');
            if let Err(e) = out.write_all(text.as_bytes()) {
                result = Err(e);
                break;
            }
            written += text.len() as u64;
            pos = Position {
                seq: line.seq,
                hash,
            };
        }
        let result = result
            .and_then(|()| out.flush())
            .and_then(|()| self.file.sync_data());
        drop(out);
        match result {
            Ok(()) => {
                self.len += written;
                self.pos = pos;
                Ok(())
            }
            Err(source) => {
                let _ = self.file.set_len(start.0);
                let _ = self.file.sync_data();
                self.len = start.0;
                self.pos = start.1;
                Err(StoreError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }
}

/// The end of a journal, read cheaply (the last line only).
#[derive(Debug, Default)]
pub(super) struct Tail {
    /// The last complete line's position (`None`: no complete line).
    pub last: Option<Position>,
    /// Byte offset of an incomplete last line (an append cut short by a crash).
    pub torn_at: Option<u64>,
    /// The last complete line does not check against its hash.
    pub broken: Option<String>,
}

/// Finds the last `\n` before byte `end`, reading backwards in chunks.
fn last_newline_before(file: &mut File, end: u64) -> std::io::Result<Option<u64>> {
    const CHUNK: u64 = 64 * 1024;
    let mut hi = end;
    let mut buf = vec![0u8; CHUNK as usize];
    while hi > 0 {
        let lo = hi.saturating_sub(CHUNK);
        let n = (hi - lo) as usize;
        file.seek(SeekFrom::Start(lo))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            return Ok(Some(lo + i as u64));
        }
        hi = lo;
    }
    Ok(None)
}

/// Reads the last line of the journal and checks it against its own hash.
pub(super) fn read_tail(data_dir: &Path) -> Result<Tail, StoreError> {
    let path = journal_path(data_dir);
    let io = io_err(&path);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tail::default()),
        Err(e) => return Err(io(e)),
    };
    let len = file.metadata().map_err(&io)?.len();
    let mut tail = Tail::default();
    if len == 0 {
        return Ok(tail);
    }
    let mut end = len;
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1)).map_err(&io)?;
    file.read_exact(&mut last).map_err(&io)?;
    if last[0] != b'\n' {
        let cut = last_newline_before(&mut file, len).map_err(&io)?;
        let at = cut.map_or(0, |p| p + 1);
        tail.torn_at = Some(at);
        end = at;
    }
    if end == 0 {
        return Ok(tail);
    }
    // `end - 1` is the newline closing the last complete line.
    let start = last_newline_before(&mut file, end - 1)
        .map_err(&io)?
        .map_or(0, |p| p + 1);
    let mut text = vec![0u8; (end - 1 - start) as usize];
    file.seek(SeekFrom::Start(start)).map_err(&io)?;
    file.read_exact(&mut text).map_err(&io)?;
    match decode(&text) {
        Ok(entry) => tail.last = Some(entry.position()),
        Err(why) => tail.broken = Some(format!("its last line {why}")),
    }
    Ok(tail)
}

/// Removes an incomplete last line (its commit never reached sled, which commits only
/// after the append was fsynced), keeping its bytes in `history/torn-<time>.bin`.
pub(super) fn cut_torn_tail(data_dir: &Path, at: u64) -> Result<(), StoreError> {
    let path = journal_path(data_dir);
    let io = io_err(&path);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(&io)?;
    let mut torn = Vec::new();
    file.seek(SeekFrom::Start(at)).map_err(&io)?;
    file.read_to_end(&mut torn).map_err(&io)?;
    let keep = history_dir(data_dir).join(format!(
        "torn-{}.bin",
        Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    ));
    std::fs::write(&keep, &torn).map_err(io_err(&keep))?;
    file.set_len(at).map_err(&io)?;
    file.sync_all().map_err(&io)?;
    tracing::warn!(
        journal = %path.display(),
        kept = %keep.display(),
        "removed an incomplete last journal line (an append cut short by a crash)"
    );
    Ok(())
}

/// How a full read of the journal ended.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// The last line that checked out.
    pub last: Position,
    /// Where and why the chain breaks (lines after it are not trusted).
    pub broken: Option<String>,
    /// An incomplete last line (see [`cut_torn_tail`]).
    pub torn: bool,
}

/// Reads every line in order, checking the chain, and hands each good line to `f`;
/// stops at the first line that does not check out.
pub(super) fn scan(
    data_dir: &Path,
    mut f: impl FnMut(Entry) -> Result<(), StoreError>,
) -> Result<Scan, StoreError> {
    let path = journal_path(data_dir);
    let io = io_err(&path);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Scan::default()),
        Err(e) => return Err(io(e)),
    };
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut out = Scan::default();
    let mut buf = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(&io)?;
        if n == 0 {
            break;
        }
        number += 1;
        if buf.last() != Some(&b'\n') {
            out.torn = true;
            break;
        }
        buf.pop();
        let entry = match decode(&buf) {
            Ok(entry) => entry,
            Err(why) => {
                out.broken = Some(format!("line {number} {why}"));
                break;
            }
        };
        let expected_prev = if out.last.seq == 0 {
            GENESIS_PREV
        } else {
            out.last.hash.as_str()
        };
        if entry.line.seq != out.last.seq + 1 || entry.line.prev != expected_prev {
            out.broken = Some(format!(
                "line {number} (seq {}) does not follow seq {}: a line is missing or out of place",
                entry.line.seq, out.last.seq
            ));
            break;
        }
        out.last = entry.position();
        f(entry)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-07-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn op(v: &str) -> JOp {
        JOp {
            tree: "batches".into(),
            key: "6869".into(),
            value: Some(RawValue::from_string(v.into()).unwrap()),
            raw: None,
            del: false,
        }
    }

    #[test]
    fn lines_chain_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut j =
            Journal::create(dir.path(), at(), ("new store".into(), vec![]), |_| Ok(())).unwrap();
        j.append(
            "batch".into(),
            "1/JUL-25".into(),
            vec![op(r#"{"a":1}"#)],
            at(),
        )
        .unwrap();
        let pos = j
            .append(
                "batch".into(),
                "1/JUL-25".into(),
                vec![op(r#"{"a":2}"#)],
                at(),
            )
            .unwrap();
        assert_eq!(pos.seq, 3);
        let tail = read_tail(dir.path()).unwrap();
        assert_eq!(tail.last, Some(pos.clone()));
        let mut seen = Vec::new();
        let scan = scan(dir.path(), |e| {
            seen.push(
                e.line
                    .ops
                    .first()
                    .and_then(|o| o.value.clone())
                    .map(|v| v.get().to_string()),
            );
            Ok(())
        })
        .unwrap();
        assert_eq!(scan.last, pos);
        assert!(scan.broken.is_none() && !scan.torn);
        assert_eq!(seen[2].as_deref(), Some(r#"{"a":2}"#));
    }

    #[test]
    fn a_changed_byte_or_a_torn_tail_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), at(), (String::new(), vec![]), |_| Ok(())).unwrap();
        j.append(
            "batch".into(),
            "k".into(),
            vec![op(r#"{"state":"posted"}"#)],
            at(),
        )
        .unwrap();
        let path = journal_path(dir.path());
        let good = std::fs::read(&path).unwrap();
        let text = String::from_utf8(good.clone())
            .unwrap()
            .replace("posted", "postee");
        std::fs::write(&path, &text).unwrap();
        assert!(read_tail(dir.path()).unwrap().broken.is_some());
        let scan_out = scan(dir.path(), |_| Ok(())).unwrap();
        assert!(scan_out.broken.unwrap().starts_with("line 2"));
        let mut torn = good.clone();
        torn.extend_from_slice(br#"{"seq":3,"at""#);
        std::fs::write(&path, &torn).unwrap();
        let tail = read_tail(dir.path()).unwrap();
        assert_eq!(tail.torn_at, Some(good.len() as u64));
        assert_eq!(tail.last.unwrap().seq, 2);
        cut_torn_tail(dir.path(), good.len() as u64).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), good);
    }
}
