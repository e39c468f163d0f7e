//! The mapping files the configuration names: read and parsed once, their accounts
//! listed with where each is used (the EBS account checks read them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Report;
use crate::config::Config;
use crate::ledger::mapping::Mapping;

/// A parsed mapping file and its text (to point at lines).
pub(super) struct MappingFile {
    pub(super) path: PathBuf,
    pub(super) text: String,
    pub(super) mapping: Mapping,
}

pub(super) fn load_mappings(
    config: &Config,
    report: &mut Report,
) -> BTreeMap<PathBuf, MappingFile> {
    let mut out = BTreeMap::new();
    for path in config.mapping_paths() {
        let area = format!("mapping {}", display_name(config, &path));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                report.fail(
                    area,
                    format!(
                        "cannot read {}: {e}: create it (see assets/mapping.toml) or fix the path in the configuration",
                        path.display()
                    ),
                );
                continue;
            }
        };
        match Mapping::parse(&text) {
            Ok(mapping) => {
                report.ok(
                    area,
                    format!(
                        "{} rule(s), {} distinct account(s)",
                        mapping.rules.len(),
                        mapping_accounts(&mapping, &text).len()
                    ),
                );
                out.insert(
                    path.clone(),
                    MappingFile {
                        path,
                        text,
                        mapping,
                    },
                );
            }
            Err(e) => {
                for p in &e.problems {
                    report.fail(area.clone(), format!("{p}: correct the file"));
                }
            }
        }
    }
    out
}

/// The path as the user wrote it relative to the configuration, when it is below it.
pub(super) fn display_name(config: &Config, path: &Path) -> String {
    path.strip_prefix(config.base_dir())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every account a mapping uses, with where (first use wins).
pub(super) fn mapping_accounts(mapping: &Mapping, text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let line_of = |account: &str| {
        text.lines()
            .position(|l| l.contains(account))
            .map(|i| format!(" line {}", i + 1))
            .unwrap_or_default()
    };
    out.insert(
        mapping.clearing.clone(),
        format!("accounts.clearing{}", line_of(&mapping.clearing)),
    );
    if let Some(s) = &mapping.suspense {
        out.entry(s.clone())
            .or_insert_with(|| format!("accounts.suspense{}", line_of(s)));
    }
    if let Some(d) = &mapping.difference {
        out.entry(d.clone())
            .or_insert_with(|| format!("accounts.difference{}", line_of(d)));
    }
    for rule in &mapping.rules {
        out.entry(rule.account.clone())
            .or_insert_with(|| format!("rule \"{}\" line {}", rule.label, rule.line));
    }
    out
}
