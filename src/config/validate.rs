//! Rules spanning several keys or sections, checked after parsing.
//!
//! Each problem names the key path it belongs to so the caller can point at its
//! line. These are the same facts `doctor` relies on: everything here can be
//! decided from the file alone; `doctor` then checks them against the systems.

use std::collections::{BTreeMap, BTreeSet};

use super::schema::{ConfigFile, PostingProfile, RoutingConfig};

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A validation problem at a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub at: Vec<Seg>,
    pub message: String,
    /// The problem concerns the whole section at `at`, not its last key.
    pub whole_section: bool,
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

fn at(path: &[Seg], message: impl Into<String>) -> Issue {
    Issue {
        at: path.to_vec(),
        message: message.into(),
        whole_section: false,
    }
}

fn section(path: &[Seg], message: impl Into<String>) -> Issue {
    Issue {
        at: path.to_vec(),
        message: message.into(),
        whole_section: true,
    }
}

fn alias_ok(alias: &str) -> bool {
    !alias.is_empty()
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Every problem found, in file order of sections.
pub fn check(cfg: &ConfigFile) -> Vec<Issue> {
    let mut issues = Vec::new();

    if let Some(user) = &cfg.user
        && (user.trim().is_empty() || user.chars().any(char::is_control) || user == "headless")
    {
        issues.push(at(
            &[key("user")],
            "must be a person's name (not empty, not `headless`, which marks unattended runs)",
        ));
    }

    let mut names = BTreeSet::new();
    for (i, seller) in cfg.sellers.iter().enumerate() {
        if !names.insert(seller.name.as_str()) {
            issues.push(at(
                &[key("seller"), Seg::Index(i), key("name")],
                format!("seller `{}` is configured twice", seller.name),
            ));
        }
        let path = [key("seller"), Seg::Index(i), key("marketplaces")];
        if seller.marketplaces.is_empty() {
            issues.push(at(&path, "list at least one marketplace id"));
        }
        let mut seen = BTreeSet::new();
        for m in &seller.marketplaces {
            if !seen.insert(m.as_str()) {
                issues.push(at(&path, format!("marketplace {m} is listed twice")));
            }
            if let Some(region) = m.known_region()
                && region != seller.region
            {
                issues.push(at(
                        &path,
                        format!(
                            "marketplace {m} ({}) is in region {region}, but this seller's region is {}",
                            m.country().unwrap_or("?"),
                            seller.region
                        ),
                    ));
            }
        }
    }

    let seller_markets: BTreeSet<&str> = cfg
        .sellers
        .iter()
        .flat_map(|s| s.marketplaces.iter().map(|m| m.as_str()))
        .collect();
    let mut routed: BTreeMap<&str, usize> = BTreeMap::new();
    // A ledger has one time zone: every date of its journals is taken there.
    let mut zones: BTreeMap<i64, &RoutingConfig> = BTreeMap::new();
    for (i, route) in cfg.routing.iter().enumerate() {
        let mk = |k: &str| [key("routing"), Seg::Index(i), key(k)];
        match zones.get(&route.ledger_id) {
            Some(first) if first.timezone != route.timezone => issues.push(at(
                &mk("timezone"),
                format!(
                    "ledger {} is already routed with time zone {} (marketplace {}): a ledger has \
                     one time zone, every accounting date of its journals is taken there",
                    route.ledger_id,
                    first.timezone.0.name(),
                    first.marketplace
                ),
            )),
            Some(_) => {}
            None => {
                zones.insert(route.ledger_id, route);
            }
        }
        if routed.insert(route.marketplace.as_str(), i).is_some() {
            issues.push(at(
                &mk("marketplace"),
                format!(
                    "marketplace {} is routed twice; one [[routing]] per marketplace",
                    route.marketplace
                ),
            ));
        }
        if !seller_markets.contains(route.marketplace.as_str()) {
            issues.push(at(
                &mk("marketplace"),
                format!(
                    "marketplace {} is not listed under any [[seller]]",
                    route.marketplace
                ),
            ));
        }
        if route.ledger_id <= 0 {
            issues.push(at(&mk("ledger_id"), "must be a positive EBS ledger id"));
        }
        if route.org_id <= 0 {
            issues.push(at(
                &mk("org_id"),
                "must be a positive EBS operating unit id",
            ));
        }
        if route.je_source.trim().is_empty() {
            issues.push(at(&mk("je_source"), "must not be empty"));
        }
        if route.je_category.trim().is_empty() {
            issues.push(at(&mk("je_category"), "must not be empty"));
        }
        if cfg.posting.profile == PostingProfile::ArAndGl {
            let missing = missing_ar(route);
            if !missing.is_empty() {
                issues.push(section(
                    &[key("routing"), Seg::Index(i)],
                    format!(
                        "profile ar_and_gl needs {} for marketplace {}",
                        missing.join(", "),
                        route.marketplace
                    ),
                ));
            }
        }
        if cfg.posting.ap_fees {
            let mut missing = Vec::new();
            if route.supplier.is_none() {
                missing.push("supplier");
            }
            if route.supplier_site.is_none() {
                missing.push("supplier_site");
            }
            if !missing.is_empty() {
                issues.push(section(
                    &[key("routing"), Seg::Index(i)],
                    format!(
                        "ap_fees = true needs {} for marketplace {}",
                        missing.join(", "),
                        route.marketplace
                    ),
                ));
            }
        }
        if let Some(ebs) = &cfg.ebs
            && route.access_set_id.or(ebs.gl.access_set_id).is_none()
        {
            issues.push(section(
                &[key("routing"), Seg::Index(i)],
                format!(
                    "no access_set_id for ledger {}: set it here or in [ebs.gl]",
                    route.ledger_id
                ),
            ));
        }
    }

    if let Some(ebs) = &cfg.ebs {
        for (i, seller) in cfg.sellers.iter().enumerate() {
            for m in &seller.marketplaces {
                if !routed.contains_key(m.as_str()) {
                    issues.push(at(
                        &[key("seller"), Seg::Index(i), key("marketplaces")],
                        format!(
                            "marketplace {m} has no [[routing]] entry saying which ledger its money lands in"
                        ),
                    ));
                }
            }
        }
        for (name, value) in [
            ("security_group", &ebs.security_group),
            ("nls_language", &ebs.nls_language),
        ] {
            if value.trim().is_empty() {
                issues.push(at(&[key("ebs"), key(name)], "must not be empty"));
            }
        }
        for (module, ctx) in [
            ("gl", Some(&ebs.gl)),
            ("ar", ebs.ar.as_ref()),
            ("ap", ebs.ap.as_ref()),
        ] {
            let Some(ctx) = ctx else { continue };
            if ctx.responsibility.trim().is_empty() {
                issues.push(at(
                    &[key("ebs"), key(module), key("responsibility")],
                    "must not be empty",
                ));
            }
            if ctx.application.trim().is_empty() {
                issues.push(at(
                    &[key("ebs"), key(module), key("application")],
                    "must not be empty",
                ));
            }
        }
        for (name, alias) in [
            ("gl", &ebs.aliases.gl),
            ("ar", &ebs.aliases.ar),
            ("ap", &ebs.aliases.ap),
            ("custom", &ebs.aliases.custom),
        ] {
            if !alias_ok(alias) {
                issues.push(at(
                    &[key("ebs"), key("aliases"), key(name)],
                    format!("`{alias}` is not a service alias (letters, digits, `_`, `-`)"),
                ));
            }
        }
        if cfg.posting.profile == PostingProfile::ArAndGl && ebs.ar.is_none() {
            issues.push(at(
                &[key("posting"), key("profile")],
                "profile ar_and_gl needs an [ebs.ar] section (responsibility, application)",
            ));
        }
        if cfg.posting.ap_fees && ebs.ap.is_none() {
            issues.push(at(
                &[key("posting"), key("ap_fees")],
                "ap_fees = true needs an [ebs.ap] section (responsibility, application)",
            ));
        }
    }

    if cfg.schedule.every.as_duration().as_secs() < 60 {
        issues.push(at(
            &[key("schedule"), key("every")],
            "must be at least 1m (Amazon's rate limits make faster polling pointless)",
        ));
    }
    if cfg.items.enabled && cfg.items.price_list.is_none() {
        issues.push(at(
            &[key("items"), key("enabled")],
            "items need a price_list to read prices from",
        ));
    }
    issues
}

fn missing_ar(route: &RoutingConfig) -> Vec<&'static str> {
    [
        ("customer_ref", &route.customer_ref),
        ("trx_type", &route.trx_type),
        ("batch_source", &route.batch_source),
        ("terms", &route.terms),
        ("receipt_method", &route.receipt_method),
    ]
    .into_iter()
    .filter(|(_, v)| v.as_deref().is_none_or(|v| v.trim().is_empty()))
    .map(|(name, _)| name)
    .collect()
}
