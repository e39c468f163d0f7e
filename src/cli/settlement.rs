//! `ml-connector settlement preview`: a settlement file as proposed GL journals.

use anyhow::{Context, Result};
use chrono_tz::Tz;
use clap::{Args, Subcommand, ValueEnum};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::ledger::journal::{Engine, propose_file};
use crate::ledger::mapping::{DEFAULT_MAPPING, Mapping};
use crate::ledger::model::SettlementFormat;
use crate::ledger::parse::{SettlementFile, decode};
use crate::ledger::preview::PreviewReport;

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
    let path = &args.file;
    with_settlement_text(path, args.charset.as_deref(), |text, charset| {
        let file = SettlementFile::parse(text, charset)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        preview_file(args, &mapping, tz, &file)
    })
}

/// Reads and decodes a settlement file, then hands its text to `f`. Keeps one
/// copy of the file in memory: valid UTF-8 is borrowed from the bytes read, and
/// the bytes are dropped when decoding had to make a new string.
pub fn with_settlement_text<R>(
    path: &Path,
    charset: Option<&str>,
    f: impl FnOnce(&str, &'static str) -> Result<R>,
) -> Result<R> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read settlement file {}", path.display()))?;
    let decoded =
        decode(&bytes, charset).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let charset = decoded.charset;
    match decoded.text {
        Cow::Borrowed(text) => f(text, charset),
        Cow::Owned(text) => {
            drop(bytes);
            f(&text, charset)
        }
    }
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

fn preview_file(
    args: &PreviewArgs,
    mapping: &Mapping,
    tz: Tz,
    file: &SettlementFile<'_>,
) -> Result<i32> {
    let path = &args.file;
    let engine = file_engine(mapping, tz, file);
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let proposal = propose_file(file, &engine, parts)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let report = PreviewReport::new(&file.summary, &proposal, tz.name());
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
