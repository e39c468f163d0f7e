//! The mapping editor's draft: the rules as edited, written back as a mapping file
//! (kept apart from `view.rs`, which stays under 1,000 lines).

use std::collections::BTreeMap;

use crate::ledger::mapping::{Mapping, MappingError, SkuItem};

/// One rule of a mapping draft, as the editor shows it (`None` = any).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MappingRuleView {
    pub transaction_type: Option<String>,
    pub amount_type: Option<String>,
    pub amount_description: Option<String>,
    pub marketplace: Option<String>,
    pub account: String,
    pub label: String,
    pub ap: bool,
}

/// A mapping being edited: what `SaveMapping` stores as a new version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MappingDraft {
    /// The stored version this draft started from.
    pub version: Option<u32>,
    pub clearing: String,
    pub suspense: Option<String>,
    pub difference: Option<String>,
    pub rules: Vec<MappingRuleView>,
    /// `[[sku]]` and `[ar]`: not edited here, written back unchanged on save.
    pub skus: Vec<SkuItem>,
    pub ar_memo_line: Option<String>,
    /// The mapping file this draft edits (`mapping.toml`, `mapping-ca.toml` …).
    pub name: String,
    /// The ledgers whose routing uses this mapping.
    pub ledgers: Vec<i64>,
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

impl MappingDraft {
    pub fn from_mapping(m: &Mapping, version: Option<u32>) -> MappingDraft {
        MappingDraft {
            version,
            clearing: m.clearing.clone(),
            suspense: m.suspense.clone(),
            difference: m.difference.clone(),
            rules: m
                .rules
                .iter()
                .map(|r| MappingRuleView {
                    transaction_type: r.transaction_type.clone(),
                    amount_type: r.amount_type.clone(),
                    amount_description: r.amount_description.clone(),
                    marketplace: r.marketplace.clone(),
                    account: r.account.clone(),
                    label: r.label.clone(),
                    ap: r.ap,
                })
                .collect(),
            skus: m.skus.clone(),
            ar_memo_line: m.ar_memo_line.clone(),
            name: String::new(),
            ledgers: Vec::new(),
        }
    }

    /// Changes every rule booked on `from` to `to`; returns how many changed.
    pub fn replace_account(&mut self, from: &str, to: &str) -> usize {
        let mut n = 0;
        for r in self.rules.iter_mut().filter(|r| r.account == from) {
            r.account = to.to_string();
            n += 1;
        }
        n
    }

    /// The draft as a mapping file (the format of `assets/mapping.toml`).
    pub fn to_toml(&self) -> String {
        let mut out = String::from("[accounts]\n");
        out += &format!("clearing = {}\n", toml_str(&self.clearing));
        if let Some(s) = &self.suspense {
            out += &format!("suspense = {}\n", toml_str(s));
        }
        if let Some(d) = &self.difference {
            out += &format!("difference = {}\n", toml_str(d));
        }
        for r in &self.rules {
            out += "\n[[rules]]\n";
            for (name, value) in [
                ("transaction_type", &r.transaction_type),
                ("amount_type", &r.amount_type),
                ("amount_description", &r.amount_description),
                ("marketplace", &r.marketplace),
            ] {
                if let Some(v) = value {
                    out += &format!("{name} = {}\n", toml_str(v));
                }
            }
            out += &format!("account = {}\n", toml_str(&r.account));
            out += &format!("label = {}\n", toml_str(&r.label));
            if r.ap {
                out += "ap = true\n";
            }
        }
        if let Some(m) = &self.ar_memo_line {
            out += &format!("\n[ar]\nmemo_line = {}\n", toml_str(m));
        }
        for k in &self.skus {
            out += &format!(
                "\n[[sku]]\nsku = {}\nitem = {}\n",
                toml_str(&k.sku),
                toml_str(&k.item)
            );
            if let Some(mp) = &k.marketplace {
                out += &format!("marketplace = {}\n", toml_str(mp));
            }
        }
        out
    }

    /// Parses the draft as a mapping (validating every account's shape).
    pub fn to_mapping(&self) -> Result<Mapping, MappingError> {
        Mapping::parse(&self.to_toml())
    }
}

impl MappingRuleView {
    /// What the rule matches, `*` for any: `type / amount type / description / marketplace`.
    pub fn matches(&self) -> String {
        let any = |v: &Option<String>| v.clone().unwrap_or_else(|| "*".into());
        format!(
            "{} / {} / {} / {}",
            any(&self.transaction_type),
            any(&self.amount_type),
            any(&self.amount_description),
            any(&self.marketplace)
        )
    }
}

/// The rule differences from one mapping version to the next, one line each:
/// `+ rule …` added, `- rule …` removed, `~ rule …: account X → Y` changed
/// (a rule is known by what it matches). `before` is `None` for the first version.
pub fn rule_changes(before: Option<&Mapping>, after: &Mapping) -> Vec<String> {
    let rules = |m: Option<&Mapping>| -> BTreeMap<String, MappingRuleView> {
        m.map(|m| MappingDraft::from_mapping(m, None).rules)
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.matches(), r))
            .collect()
    };
    let (old, new) = (rules(before), rules(Some(after)));
    let mut out = Vec::new();
    for (k, r) in &old {
        match new.get(k) {
            None => out.push(format!("- rule {k} → {} ({})", r.account, r.label)),
            Some(n) if n != r => {
                let mut what = Vec::new();
                if n.account != r.account {
                    what.push(format!("account {} → {}", r.account, n.account));
                }
                if n.label != r.label {
                    what.push(format!("label {} → {}", r.label, n.label));
                }
                if n.ap != r.ap {
                    what.push(format!("ap {} → {}", r.ap, n.ap));
                }
                out.push(format!("~ rule {k}: {}", what.join(", ")));
            }
            Some(_) => {}
        }
    }
    for (k, r) in &new {
        if !old.contains_key(k) {
            out.push(format!("+ rule {k} → {} ({})", r.account, r.label));
        }
    }
    out
}
