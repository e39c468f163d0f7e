//! `ml-connector settlement preview`: a settlement file as proposed GL journals;
//! `settlement show`: a stored settlement with its journals, their states and
//! (as CSV) the rows behind them.

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
    /// Print a stored settlement: its journals with their states (table or
    /// json), or the journal lines and the rows behind them (csv).
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Settlement id.
    pub id: String,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
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

pub fn run(args: SettlementArgs, config: Option<&Path>, data_dir: Option<&Path>) -> Result<i32> {
    match args.command {
        SettlementCommand::Preview(a) => preview(&a),
        SettlementCommand::Show(a) => show(&a, config, data_dir),
    }
}

/// `settlement show`: read from the store only (no Amazon, no EBS).
fn show(args: &ShowArgs, config: Option<&Path>, data_dir: Option<&Path>) -> Result<i32> {
    let store = super::store::open(config, data_dir)?;
    let config = crate::config::Paths::resolve(config, data_dir)
        .ok()
        .and_then(|p| crate::config::Config::load(&p.config_file).ok());
    // rows fall in periods in their marketplace's zone
    let tz = |marketplace: &str| {
        config
            .as_ref()
            .and_then(|c| c.routing_for(marketplace).map(|r| r.timezone.0))
            .unwrap_or(chrono_tz::UTC)
    };
    let text = show_text(&store, &args.id, args.format, tz)?;
    Ok(super::output::emit("output", &text, 0))
}

/// What `settlement show` prints for settlement `id` of `store`.
pub fn show_text(
    store: &crate::store::Store,
    id: &str,
    format: OutputFormat,
    tz_of: impl Fn(&str) -> Tz,
) -> Result<String> {
    use crate::app::export::{ExportJournal, csv};
    use crate::ledger::periods::PeriodIndex;

    let rec = store
        .settlement(id)?
        .with_context(|| format!("no settlement {id} in the store"))?;
    let mut journals: Vec<_> = store
        .proposals_for(id)?
        .into_iter()
        .map(|p| p.lines)
        .collect();
    journals.sort_by_key(|j| j.accounting_date);
    let batches = store.batches_for(id)?;
    let state_of = |period: &str| {
        batches
            .iter()
            .find(|b| b.period == period)
            .map_or(("proposed".to_string(), 1), |b| {
                (b.state.as_str().to_string(), b.revision)
            })
    };
    let scale = rec.summary.currency.scale();
    let money = |a| crate::ledger::money::format_amount(a, scale);
    let text = match format {
        OutputFormat::Csv => {
            // the rows, each in the journal of its period (the marketplace's zone)
            let tz = tz_of(&rec.marketplace_id);
            let (meta, bytes) = store
                .raw_settlement(id)?
                .with_context(|| format!("settlement {id}: its raw file is not stored"))?;
            let d = crate::ledger::parse::decode(&bytes, Some(&meta.charset))
                .with_context(|| format!("settlement {id}"))?;
            let file = SettlementFile::parse(&d.text, d.charset)
                .with_context(|| format!("settlement {id}"))?;
            let rows = file
                .rows()
                .map(|r| r.map(|r| r.to_owned_row()))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("settlement {id}"))?;
            let index = PeriodIndex::new(Engine::preview_calendar(&rec.summary, tz), tz);
            let of = crate::app::view::journal_of_row(&journals, &index, rec.summary.end);
            let periods: Vec<Option<usize>> = rows.iter().map(of).collect();
            let export: Vec<ExportJournal<'_>> = journals
                .iter()
                .enumerate()
                .map(|(i, j)| {
                    let (state, revision) = state_of(&j.period);
                    ExportJournal {
                        journal: j,
                        state,
                        revision,
                        rows: rows
                            .iter()
                            .zip(&periods)
                            .filter(|(_, p)| **p == Some(i))
                            .map(|(r, _)| r)
                            .collect(),
                    }
                })
                .collect();
            csv(id, scale, &export)
        }
        OutputFormat::Json => {
            let list: Vec<serde_json::Value> = journals
                .iter()
                .map(|j| {
                    let (state, revision) = state_of(&j.period);
                    serde_json::json!({
                        "period": j.period,
                        "accounting_date": j.accounting_date.to_string(),
                        "state": state,
                        "revision": revision,
                        "total_debit": money(j.total_debit),
                        "total_credit": money(j.total_credit),
                        "lines": j.lines.iter().map(|l| serde_json::json!({
                            "account": l.account,
                            "label": l.label,
                            "debit": money(l.debit),
                            "credit": money(l.credit),
                            "rows": l.rows,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let s = &rec.summary;
            let v = serde_json::json!({
                "settlement_id": s.settlement_id,
                "seller": rec.seller,
                "marketplace_id": rec.marketplace_id,
                "start": s.start.to_rfc3339(),
                "end": s.end.to_rfc3339(),
                "deposit_date": s.deposit_date.map(|d| d.to_rfc3339()),
                "total": money(s.total_amount),
                "currency": s.currency.code(),
                "journals": list,
            });
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        OutputFormat::Table => {
            let s = &rec.summary;
            let mut out = format!(
                "settlement {} · {} · {} · {} → {} · total {} {}\n",
                s.settlement_id,
                rec.seller,
                rec.marketplace_id,
                s.start.format("%Y-%m-%d %H:%M UTC"),
                s.end.format("%Y-%m-%d %H:%M UTC"),
                money(s.total_amount),
                s.currency.code()
            );
            if journals.is_empty() {
                out.push_str("no journals proposed yet\n");
            }
            for j in &journals {
                let (state, revision) = state_of(&j.period);
                out.push_str(&format!(
                    "\njournal {} dated {} · {state} · revision {revision} · Dr {} · Cr {}\n",
                    j.period,
                    j.accounting_date,
                    money(j.total_debit),
                    money(j.total_credit)
                ));
                out.push_str(&format!(
                    "  {:<24} {:<32} {:>14} {:>14} {:>6}\n",
                    "account", "label", "debit", "credit", "rows"
                ));
                for l in &j.lines {
                    let dc = |a: rust_decimal::Decimal| {
                        if a.is_zero() { String::new() } else { money(a) }
                    };
                    out.push_str(&format!(
                        "  {:<24} {:<32} {:>14} {:>14} {:>6}\n",
                        l.account,
                        l.label,
                        dc(l.debit),
                        dc(l.credit),
                        l.rows
                    ));
                }
            }
            out
        }
    };
    Ok(text)
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
    let code = if proposal.postable {
        0
    } else {
        EXIT_NOT_POSTABLE
    };
    Ok(super::output::emit("output", &text, code))
}

#[cfg(test)]
mod show_tests {
    use super::*;

    /// The demo store fixture (schema 2, migrated on import).
    fn demo_store() -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path(), "test").unwrap();
        let text = include_str!("../../tests/fixtures/store/demo-0bbf9f5.jsonl");
        store.import(&mut text.as_bytes()).unwrap();
        (dir, store)
    }

    #[test]
    fn show_prints_journals_states_and_rows_behind_them() {
        let (_dir, store) = demo_store();
        let id = "20798859282";
        let utc = |_: &str| chrono_tz::UTC;
        let journals = store.proposals_for(id).unwrap();
        assert!(!journals.is_empty());
        let table = show_text(&store, id, OutputFormat::Table, utc).unwrap();
        assert!(table.starts_with(&format!("settlement {id} ")), "{table}");
        assert_eq!(
            table.matches("\njournal ").count(),
            journals.len(),
            "{table}"
        );
        let json = show_text(&store, id, OutputFormat::Json, utc).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["journals"].as_array().unwrap().len(), journals.len());
        let csv = show_text(&store, id, OutputFormat::Csv, utc).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], crate::app::export::HEADER);
        let journal_lines: usize = journals.iter().map(|p| p.lines.lines.len()).sum();
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("journal,")).count(),
            journal_lines
        );
        // the rows of the stored periods follow their journal lines
        let rows = lines.iter().filter(|l| l.starts_with("row,")).count();
        assert!(rows > 0, "{csv}");
        assert!(lines[1].starts_with(&format!("journal,{id},")), "{csv}");
        assert!(show_text(&store, "nope", OutputFormat::Table, utc).is_err());
    }
}
