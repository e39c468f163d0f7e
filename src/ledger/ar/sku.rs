//! The `[[sku]]` table of a mapping file: SKU → EBS inventory item.
//!
//! Kept here (not in `mapping.rs`) so the GL mapping stays one job; the
//! parser in `mapping.rs` only collects the entries with their lines.

use std::collections::HashMap;

use crate::ledger::mapping::{Mapping, MappingProblem, SkuItem, eq_ci};

/// A SKU listed twice for the same marketplace (or twice without one): which
/// item the accountant meant is unknown. One problem per later entry, naming both lines.
pub(crate) fn duplicate_skus(skus: &[SkuItem]) -> Vec<MappingProblem> {
    let mut first: HashMap<(&str, Option<String>), usize> = HashMap::new();
    let mut problems = Vec::new();
    for s in skus {
        let key = (
            s.sku.as_str(),
            s.marketplace.as_ref().map(|m| m.to_lowercase()),
        );
        match first.get(&key) {
            Some(&earlier) => problems.push(MappingProblem {
                line: Some(s.line),
                column: None,
                message: format!(
                    "sku `{}` is listed twice{} (lines {earlier} and {}): keep one",
                    s.sku,
                    s.marketplace
                        .as_deref()
                        .map_or(String::new(), |m| format!(" for marketplace `{m}`")),
                    s.line
                ),
            }),
            None => {
                first.insert(key, s.line);
            }
        }
    }
    problems
}

impl Mapping {
    /// The EBS item of a SKU: the entry for the marketplace (case-insensitive)
    /// wins over one without a marketplace. SKUs compare exactly, as Amazon's do.
    pub fn item_for_sku(&self, sku: &str, marketplace: &str) -> Option<&str> {
        let mut general = None;
        for s in self.skus.iter().filter(|s| s.sku == sku) {
            match &s.marketplace {
                Some(m) if eq_ci(m, marketplace) => return Some(&s.item),
                Some(_) => {}
                None => general = general.or(Some(s.item.as_str())),
            }
        }
        general
    }
}
