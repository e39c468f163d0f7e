//! `ml-connector mapping check`: validates a mapping file, optionally against a settlement.

use super::output::outln;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::ledger::journal::JournalError;
use crate::ledger::mapping::Mapping;
use crate::ledger::money::format_amount;
use crate::ledger::parse::{SettlementFile, decode_owned};

#[derive(Debug, Args)]
pub struct MappingArgs {
    #[command(subcommand)]
    pub command: MappingCommand,
}

#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// Report unknown fields, malformed accounts and (with --settlement) the
    /// row combinations no rule covers. Exit code 1 when there is any problem.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The mapping file (TOML).
    pub mapping: PathBuf,
    /// A settlement file whose rows must all be covered by a rule.
    #[arg(long, value_name = "FILE")]
    pub settlement: Option<PathBuf>,
}

pub fn run(args: MappingArgs) -> Result<i32> {
    match args.command {
        MappingCommand::Check(a) => check(&a),
    }
}

fn check(args: &CheckArgs) -> Result<i32> {
    let path = &args.mapping;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read mapping file {}", path.display()))?;
    let mapping = match Mapping::parse(&text) {
        Ok(m) => m,
        Err(e) => {
            for p in &e.problems {
                outln!("{}: {p}", path.display())?;
            }
            outln!("{}: {} problem(s)", path.display(), e.problems.len())?;
            return Ok(1);
        }
    };
    outln!(
        "{}: ok: {} rule(s), clearing {}, suspense {}, difference {}, hash {}",
        path.display(),
        mapping.rules.len(),
        mapping.clearing,
        mapping.suspense.as_deref().unwrap_or("-"),
        mapping.difference.as_deref().unwrap_or("-"),
        &mapping.content_hash()[..12]
    )?;
    let Some(settlement) = &args.settlement else {
        return Ok(0);
    };
    let bytes = std::fs::read(settlement)
        .with_context(|| format!("cannot read settlement file {}", settlement.display()))?;
    let decoded =
        decode_owned(bytes, None).map_err(|e| anyhow::anyhow!("{}: {e}", settlement.display()))?;
    let file = SettlementFile::parse(&decoded.text, decoded.charset)
        .map_err(|e| anyhow::anyhow!("{}: {e}", settlement.display()))?;
    let fallback = file.dominant_marketplace().unwrap_or("");
    let mut matcher = mapping.matcher();
    let mut seen: BTreeMap<u32, (Decimal, u64, u32)> = BTreeMap::new();
    let mut rows = 0u64;
    for row in file.rows() {
        let row = row.map_err(|e| anyhow::anyhow!("{}: {e}", settlement.display()))?;
        let marketplace = if row.marketplace_name.is_empty() {
            fallback
        } else {
            row.marketplace_name
        };
        let id = matcher.combo_id(
            row.transaction_type,
            row.amount_type,
            row.amount_description,
            marketplace,
        );
        let e = seen.entry(id).or_insert((Decimal::ZERO, 0, row.line));
        e.0 = e.0.checked_add(row.amount).ok_or_else(|| {
            let what = format!(
                "the amount {} added to the {} earlier row(s) of {} / {} / {}",
                row.amount, e.1, row.transaction_type, row.amount_type, row.amount_description
            );
            let err = JournalError::overflow(&file.summary.settlement_id, Some(row.line), what);
            anyhow::anyhow!("{}: {err}", settlement.display())
        })?;
        e.1 += 1;
        rows += 1;
    }
    let scale = file.summary.currency.scale();
    let uncovered: Vec<_> = seen
        .iter()
        .filter(|(id, _)| matcher.rule_of(**id).is_none())
        .collect();
    outln!(
        "{}: settlement {}, {rows} row(s) in {} combination(s)",
        settlement.display(),
        file.summary.settlement_id,
        seen.len()
    )?;
    for (id, (amount, n, first_line)) in &uncovered {
        let c = matcher.combo(**id);
        outln!(
            "{}: line {first_line}: no rule covers transaction_type `{}`, amount_type `{}`, amount_description `{}`, marketplace `{}` ({n} row(s), {} {})",
            settlement.display(),
            c.transaction_type,
            c.amount_type,
            c.amount_description,
            c.marketplace,
            format_amount(*amount, scale),
            file.summary.currency
        )?;
    }
    if uncovered.is_empty() {
        outln!("{}: every row is covered by a rule", settlement.display())?;
        Ok(0)
    } else {
        outln!(
            "{}: {} combination(s) not covered",
            settlement.display(),
            uncovered.len()
        )?;
        Ok(1)
    }
}
