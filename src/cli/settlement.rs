//! `ml-connector settlement preview`: a settlement file as proposed GL journals.

mod stream;

use anyhow::{Context, Result};
use chrono_tz::Tz;
use clap::{Args, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

use crate::ledger::journal::{Engine, propose_file};
use crate::ledger::mapping::{DEFAULT_MAPPING, Mapping};
use crate::ledger::model::SettlementFormat;
use crate::ledger::parse::{SettlementFile, decode_owned, reads_as_utf8, utf8_part};
use crate::ledger::preview::PreviewReport;
pub use stream::FileProposal;

/// Exit code of a preview that worked but is not postable (unmapped rows
/// without suspense, or an inconsistent file without a difference account).
pub const EXIT_NOT_POSTABLE: i32 = 2;

#[derive(Debug, Args)]
pub struct SettlementArgs {
    #[command(subcommand)]
    pub command: SettlementCommand,
}

#[derive(Debug, Subcommand)]
pub enum SettlementCommand {
    /// Show the GL journals a settlement file would become (nothing is posted).
    ///
    /// Exit code: 0 postable, 2 not postable (unmapped rows without a suspense
    /// account, or rows that do not sum to the total without a difference
    /// account), 1 bad input.
    Preview(PreviewArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned text for people, with totals and a verdict.
    Table,
    /// A stable contract for scripts (amounts as decimal strings).
    Json,
    /// One record per journal line, for spreadsheets.
    Csv,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// Settlement flat file (V1 or V2, as downloaded from Amazon).
    pub file: PathBuf,
    /// Mapping file (default: the bundled assets/mapping.toml).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// IANA time zone that decides each row's accounting period.
    #[arg(long, value_name = "TZ", default_value = "UTC")]
    pub timezone: String,
    /// Character set of the file when known (else detected).
    #[arg(long, value_name = "CHARSET")]
    pub charset: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

pub fn run(args: SettlementArgs) -> Result<i32> {
    match args.command {
        SettlementCommand::Preview(a) => preview(&a),
    }
}

/// Reads and validates a mapping file, or the bundled default.
pub fn load_mapping(path: Option<&Path>) -> Result<Mapping> {
    match path {
        None => Mapping::parse(DEFAULT_MAPPING).context("the bundled default mapping"),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read mapping file {}", p.display()))?;
            Mapping::parse(&text).map_err(|e| {
                let list: Vec<String> = e
                    .problems
                    .iter()
                    .map(|pr| format!("{}: {pr}", p.display()))
                    .collect();
                anyhow::anyhow!(
                    "{}\n(check it with `ml-connector mapping check {}`)",
                    list.join("\n"),
                    p.display()
                )
            })
        }
    }
}

/// Parses an IANA time zone name.
pub fn parse_timezone(name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        anyhow::anyhow!(
            "unknown time zone `{name}`: use an IANA name like UTC or America/Los_Angeles"
        )
    })
}

fn preview(args: &PreviewArgs) -> Result<i32> {
    let tz = parse_timezone(&args.timezone)?;
    let mapping = load_mapping(args.mapping.as_deref())?;
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let read = propose_settlement_file(&args.file, args.charset.as_deref(), &mapping, tz, parts)?;
    preview_report(args, tz, &read)
}

/// Reads a settlement file and proposes its journals (calendar months in
/// `tz`, see [`file_engine`]) on up to `parts` threads: a large UTF-8 V2
/// file streamed in ranges (see `stream`), anything else, or anything
/// unusual in it, read as one text by [`with_settlement_file`] (errors
/// located exactly).
pub fn propose_settlement_file(
    path: &Path,
    charset: Option<&str>,
    mapping: &Mapping,
    tz: Tz,
    parts: usize,
) -> Result<FileProposal> {
    if parts > 1
        && reads_as_utf8(charset)
        && let Some(streamed) = stream::propose_streamed(path, mapping, tz, parts)?
    {
        return Ok(streamed);
    }
    with_settlement_file(path, charset, |file| {
        let engine = file_engine(mapping, tz, file);
        let proposal = propose_file(file, &engine, parts)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(FileProposal {
            summary: file.summary.clone(),
            locale: file.locale.clone(),
            proposal,
        })
    })
}

/// Files at least this large are read, validated and parsed as two halves on
/// two threads (smaller ones are not worth a thread).
const SPLIT_BYTES: u64 = 4 << 20;

/// Reads, decodes and parses a settlement file, then hands it to `f`. A large
/// UTF-8 file is read into one buffer as two line-aligned halves, each read and
/// validated on its own thread, and parsed with [`SettlementFile::parse_split`]
/// (rows, line numbers and errors as for the whole text). Anything else, or
/// anything that does not parse that way, takes [`with_settlement_text`], so
/// errors are located exactly as there.
pub fn with_settlement_file<R>(
    path: &Path,
    charset: Option<&str>,
    f: impl FnOnce(&SettlementFile<'_>) -> Result<R>,
) -> Result<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores > 1
        && reads_as_utf8(charset)
        && let Some((file, len, cut)) = find_cut(path)?
    {
        let mut bytes = vec![0u8; len];
        if let Some((head, tail)) = read_halves(&file, &mut bytes, cut, path)?
            && let Ok(parsed) = SettlementFile::parse_split(head, tail, "UTF-8")
        {
            return f(&parsed);
        }
    }
    with_settlement_text(path, charset, |text, charset| {
        let file = SettlementFile::parse(text, charset)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        f(&file)
    })
}

fn read_error(path: &Path) -> String {
    format!("cannot read settlement file {}", path.display())
}

/// Opens a file worth reading in halves: its length and the cut, just after
/// the first line break at or past the middle. `None` when the file is small
/// or has no line break past the middle.
fn find_cut(path: &Path) -> Result<Option<(std::fs::File, usize, usize)>> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path).with_context(|| read_error(path))?;
    let len = file.metadata().with_context(|| read_error(path))?.len();
    if len < SPLIT_BYTES {
        return Ok(None);
    }
    let Ok(len) = usize::try_from(len) else {
        return Ok(None);
    };
    let mut probe = vec![0u8; 64 << 10];
    let mut at = len / 2;
    while at < len {
        let n = (len - at).min(probe.len());
        file.read_exact_at(&mut probe[..n], at as u64)
            .with_context(|| read_error(path))?;
        if let Some(i) = memchr::memchr(b'\n', &probe[..n]) {
            let cut = at + i + 1;
            return Ok((cut < len).then_some((file, len, cut)));
        }
        at += n;
    }
    Ok(None)
}

/// Reads `bytes[..cut]` and `bytes[cut..]` from `file` on two threads, and
/// validates each half on the thread that read it. `None` when a half is not
/// plain UTF-8 (see [`utf8_part`]).
fn read_halves<'b>(
    file: &std::fs::File,
    bytes: &'b mut [u8],
    cut: usize,
    path: &Path,
) -> Result<Option<(&'b str, &'b str)>> {
    use std::os::unix::fs::FileExt;
    let (a, b) = bytes.split_at_mut(cut);
    let read = |part: &'b mut [u8], offset: usize| -> Result<Option<&'b str>> {
        file.read_exact_at(part, offset as u64)
            .with_context(|| read_error(path))?;
        let part: &'b [u8] = part;
        Ok(utf8_part(part))
    };
    let (head, tail) = std::thread::scope(|s| {
        let other = s.spawn(|| read(b, cut));
        let mine = read(a, 0);
        let theirs = other
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (mine, theirs)
    });
    Ok(head?.zip(tail?))
}

/// Reads and decodes a settlement file, then hands its text to `f`. Keeps one
/// copy of the file in memory: the bytes read become the text (UTF-8 as is,
/// single-byte charsets converted in place), see [`decode_owned`].
pub fn with_settlement_text<R>(
    path: &Path,
    charset: Option<&str>,
    f: impl FnOnce(&str, &'static str) -> Result<R>,
) -> Result<R> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read settlement file {}", path.display()))?;
    let decoded =
        decode_owned(bytes, charset).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    f(&decoded.text, decoded.charset)
}

/// The preview engine of a file (calendar months in `tz`). A V2 file's
/// marketplace is counted while its rows stream, saving a pass over the body.
pub fn file_engine<'m>(mapping: &'m Mapping, tz: Tz, file: &SettlementFile<'_>) -> Engine<'m> {
    let calendar = Engine::preview_calendar(&file.summary, tz);
    match file.summary.format {
        SettlementFormat::V2 => Engine::with_rows_marketplace(mapping, calendar, tz, &file.summary),
        SettlementFormat::V1 => Engine::new(
            mapping,
            calendar,
            tz,
            &file.summary,
            file.dominant_marketplace(),
        ),
    }
}

fn preview_report(args: &PreviewArgs, tz: Tz, read: &FileProposal) -> Result<i32> {
    let proposal = &read.proposal;
    let report = PreviewReport::new(&read.summary, proposal, tz.name())
        .with_charset(read.locale.charset, args.charset.as_deref());
    let text = match args.format {
        OutputFormat::Table => report.to_table(),
        OutputFormat::Json => report.to_json(),
        OutputFormat::Csv => report.to_csv(),
    };
    print!("{text}");
    Ok(if proposal.postable {
        0
    } else {
        EXIT_NOT_POSTABLE
    })
}
