//! `ml-connector audit`: print the audit trail.

use std::path::Path;

use clap::Args;

use crate::store::audit::{self, AuditFormat};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only entries about this settlement.
    #[arg(long, value_name = "ID")]
    pub settlement: Option<String>,
    /// table, csv or json.
    #[arg(long, default_value = "table", value_parser = parse_format)]
    pub format: AuditFormat,
}

fn parse_format(s: &str) -> Result<AuditFormat, String> {
    s.parse()
}

pub fn run(args: AuditArgs, config: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<i32> {
    let store = super::store::open(config, data_dir)?;
    let entries = store.audit_entries(args.settlement.as_deref())?;
    Ok(super::output::emit(
        "output",
        &audit::render(&entries, args.format),
        0,
    ))
}
