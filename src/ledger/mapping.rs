//! Mapping rules: which GL account and label each settlement row goes to.
//!
//! The accountant owns a TOML file (see `assets/mapping.toml` and
//! `docs/mapping.md`). This module parses and validates it, and compiles it
//! into a [`Matcher`] that maps a million rows at the cost of one hash lookup each:
//! the best rule is chosen once per distinct (transaction type, amount type,
//! description, marketplace) combination and cached.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use toml::Spanned;

use super::parse::{half_word, same_text};

/// The default mapping shipped with the tool (`assets/mapping.toml`).
pub const DEFAULT_MAPPING: &str = include_str!("../../assets/mapping.toml");

/// The shape of a valid GL account string: digit segments of fixed lengths
/// separated by `-` (EBS accounting flexfield segments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFormat {
    pub segment_lengths: Vec<usize>,
}

impl Default for AccountFormat {
    /// Five segments, `01-000-4010-0000-000`.
    fn default() -> Self {
        AccountFormat {
            segment_lengths: vec![2, 3, 4, 4, 3],
        }
    }
}

impl AccountFormat {
    /// An example account of this shape, for error messages.
    pub fn example(&self) -> String {
        self.segment_lengths
            .iter()
            .map(|n| "0".repeat(*n))
            .collect::<Vec<_>>()
            .join("-")
    }

    /// Checks one account string; the error says what is wrong.
    pub fn validate(&self, account: &str) -> Result<(), String> {
        let segments: Vec<&str> = account.split('-').collect();
        if segments.len() != self.segment_lengths.len() {
            return Err(format!(
                "account `{account}` has {} segment(s), expected {} like `{}`",
                segments.len(),
                self.segment_lengths.len(),
                self.example()
            ));
        }
        for (i, (segment, len)) in segments.iter().zip(&self.segment_lengths).enumerate() {
            if segment.len() != *len || !segment.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "account `{account}`: segment {} `{segment}` must be {len} digit(s), like `{}`",
                    i + 1,
                    self.example()
                ));
            }
        }
        Ok(())
    }
}

/// One problem found in a mapping file, located by line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingProblem {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for MappingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Every problem found in a mapping file (TOML syntax and unknown fields stop at
/// the first; account problems are all collected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct MappingError {
    pub problems: Vec<MappingProblem>,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// One mapping rule. Match fields are stored as written; `None` means "any"
/// (absent in the file or `"*"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub transaction_type: Option<String>,
    pub amount_type: Option<String>,
    pub amount_description: Option<String>,
    pub marketplace: Option<String>,
    pub account: String,
    pub label: String,
    /// An Amazon fee paid through Payables (used by the AP flow).
    pub ap: bool,
    /// 1-based line of the `[[rules]]` header in the mapping file.
    pub line: usize,
}

impl Rule {
    /// How specific the rule is: the number of match fields set.
    pub fn specificity(&self) -> usize {
        [
            &self.transaction_type,
            &self.amount_type,
            &self.amount_description,
            &self.marketplace,
        ]
        .iter()
        .filter(|f| f.is_some())
        .count()
    }

    fn matches(&self, key: &ComboRef<'_>) -> bool {
        fn field(rule: &Option<String>, value: &str) -> bool {
            rule.as_deref().is_none_or(|r| eq_ci(r, value))
        }
        field(&self.transaction_type, key.transaction_type)
            && field(&self.amount_type, key.amount_type)
            && field(&self.amount_description, key.amount_description)
            && field(&self.marketplace, key.marketplace)
    }
}

/// A parsed, validated mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Takes the net of each journal (deposit in transit).
    pub clearing: String,
    /// Unmapped rows land here when set.
    pub suspense: Option<String>,
    /// The unexplained rest of an inconsistent file goes here when set.
    pub difference: Option<String>,
    pub rules: Vec<Rule>,
    /// `[[sku]]`: the EBS inventory item of each seller SKU (AR invoices).
    pub skus: Vec<SkuItem>,
    /// `[ar]`: the memo line for principal lines whose SKU has no item.
    pub ar_memo_line: Option<String>,
    hash: String,
}

/// One `[[sku]]` entry: a seller SKU's EBS item, optionally per marketplace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuItem {
    pub sku: String,
    pub item: String,
    pub marketplace: Option<String>,
    /// 1-based line of the `[[sku]]` header.
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    accounts: Spanned<RawAccounts>,
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
    #[serde(default)]
    sku: Vec<Spanned<RawSku>>,
    ar: Option<RawAr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSku {
    sku: Spanned<String>,
    item: Spanned<String>,
    marketplace: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAr {
    memo_line: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccounts {
    clearing: Spanned<String>,
    suspense: Option<Spanned<String>>,
    difference: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    transaction_type: Option<String>,
    amount_type: Option<String>,
    amount_description: Option<String>,
    marketplace: Option<String>,
    account: Spanned<String>,
    label: Option<String>,
    #[serde(default)]
    ap: bool,
}

/// 1-based (line, column) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

fn wildcard(field: Option<String>) -> Option<String> {
    field.filter(|f| f.trim() != "*")
}

impl Mapping {
    /// Parses with the default account shape.
    pub fn parse(text: &str) -> Result<Mapping, MappingError> {
        Mapping::parse_with(text, &AccountFormat::default())
    }

    /// Parses a mapping file: unknown fields and malformed accounts are errors
    /// naming the line and column.
    pub fn parse_with(text: &str, format: &AccountFormat) -> Result<Mapping, MappingError> {
        let raw: RawMapping = toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = line_col(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            MappingError {
                problems: vec![MappingProblem {
                    line,
                    column,
                    message: e.message().trim().to_string(),
                }],
            }
        })?;
        let mut problems = Vec::new();
        let mut check = |account: &Spanned<String>, what: &str| {
            if let Err(message) = format.validate(account.get_ref()) {
                let (line, column) = line_col(text, account.span().start);
                problems.push(MappingProblem {
                    line: Some(line),
                    column: Some(column),
                    message: format!("{what}: {message}"),
                });
            }
        };
        let accounts = raw.accounts.into_inner();
        check(&accounts.clearing, "accounts.clearing");
        if let Some(s) = &accounts.suspense {
            check(s, "accounts.suspense");
        }
        if let Some(d) = &accounts.difference {
            check(d, "accounts.difference");
        }
        let mut rules = Vec::with_capacity(raw.rules.len());
        for (i, spanned) in raw.rules.into_iter().enumerate() {
            let (line, _) = line_col(text, spanned.span().start);
            let rule = spanned.into_inner();
            check(&rule.account, &format!("rule {} account", i + 1));
            let account = rule.account.into_inner();
            rules.push(Rule {
                transaction_type: wildcard(rule.transaction_type),
                amount_type: wildcard(rule.amount_type),
                amount_description: wildcard(rule.amount_description),
                marketplace: wildcard(rule.marketplace),
                label: rule.label.unwrap_or_else(|| account.clone()),
                account,
                ap: rule.ap,
                line,
            });
        }
        problems.extend(conflicting_rules(&rules));
        let skus = sku_items(text, raw.sku, &mut problems);
        let ar_memo_line = raw.ar.and_then(|a| a.memo_line).map(|m| {
            if m.get_ref().trim().is_empty() {
                let (line, column) = line_col(text, m.span().start);
                problems.push(MappingProblem {
                    line: Some(line),
                    column: Some(column),
                    message: "ar.memo_line: must not be empty".into(),
                });
            }
            m.into_inner().trim().to_string()
        });
        if !problems.is_empty() {
            return Err(MappingError { problems });
        }
        let mut mapping = Mapping {
            clearing: accounts.clearing.into_inner(),
            suspense: accounts.suspense.map(Spanned::into_inner),
            difference: accounts.difference.map(Spanned::into_inner),
            rules,
            skus,
            ar_memo_line,
            hash: String::new(),
        };
        mapping.hash = mapping.compute_hash();
        Ok(mapping)
    }

    /// The shipped default mapping.
    pub fn default_mapping() -> Mapping {
        Mapping::parse(DEFAULT_MAPPING).expect("the bundled assets/mapping.toml is valid")
    }

    /// Stable SHA-256 (hex) of what the mapping means, not how it is written:
    /// comments, whitespace and key order do not change it; any account, label,
    /// match field or rule order change does.
    pub fn content_hash(&self) -> &str {
        &self.hash
    }

    fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let mut put = |s: Option<&str>| match s {
            // length-prefixed so field boundaries cannot shift
            Some(s) => {
                h.update([1u8]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            None => h.update([0u8]),
        };
        put(Some("ml-connector mapping v1"));
        put(Some(&self.clearing));
        put(self.suspense.as_deref());
        put(self.difference.as_deref());
        for r in &self.rules {
            put(r.transaction_type.as_deref());
            put(r.amount_type.as_deref());
            put(r.amount_description.as_deref());
            put(r.marketplace.as_deref());
            put(Some(&r.account));
            put(Some(&r.label));
            put(Some(if r.ap { "ap" } else { "" }));
        }
        // only when present, so mappings without them keep their hash
        if !self.skus.is_empty() || self.ar_memo_line.is_some() {
            put(Some("ar v1"));
            put(self.ar_memo_line.as_deref());
            for s in &self.skus {
                put(Some(&s.sku));
                put(Some(&s.item));
                put(s.marketplace.as_deref());
            }
        }
        hex::encode(h.finalize())
    }

    /// The index of the best rule for a combination: the matching rule with the
    /// most fields set, ties to the first in the file.
    pub fn best_rule(
        &self,
        transaction_type: &str,
        amount_type: &str,
        amount_description: &str,
        marketplace: &str,
    ) -> Option<usize> {
        let key = ComboRef {
            transaction_type,
            amount_type,
            amount_description,
            marketplace,
        };
        let mut best: Option<(usize, usize)> = None;
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.matches(&key) {
                let s = rule.specificity();
                if best.is_none_or(|(_, bs)| s > bs) {
                    best = Some((i, s));
                }
            }
        }
        best.map(|(i, _)| i)
    }

    /// A fresh matcher (with an empty cache) over this mapping.
    pub fn matcher(&self) -> Matcher<'_> {
        Matcher::new(self)
    }
}

/// Rules that match exactly the same rows (the same fields, compared as
/// matching compares them: case-insensitively, `*` as absent) but post to
/// another account: only the first could ever apply, so which account the
/// accountant meant is unknown. One problem per later rule, naming both lines.
fn conflicting_rules(rules: &[Rule]) -> Vec<MappingProblem> {
    fn folded(field: &Option<String>) -> Option<String> {
        field
            .as_deref()
            .map(|f| f.chars().flat_map(char::to_lowercase).collect())
    }
    fn shown(field: &Option<String>) -> String {
        field
            .as_deref()
            .map_or_else(|| "any".to_string(), |f| format!("`{f}`"))
    }
    let mut first: HashMap<[Option<String>; 4], usize> = HashMap::new();
    let mut problems = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let key = [
            folded(&rule.transaction_type),
            folded(&rule.amount_type),
            folded(&rule.amount_description),
            folded(&rule.marketplace),
        ];
        let Some(&j) = first.get(&key) else {
            first.insert(key, i);
            continue;
        };
        let earlier = &rules[j];
        if earlier.account == rule.account {
            continue;
        }
        problems.push(MappingProblem {
            line: Some(rule.line),
            column: None,
            message: format!(
                "rule {} matches the same rows as rule {} on line {} (transaction_type {}, \
                 amount_type {}, amount_description {}, marketplace {}) but posts to `{}` \
                 instead of `{}`: only the first would ever apply; remove one, or make one \
                 more specific",
                i + 1,
                j + 1,
                earlier.line,
                shown(&rule.transaction_type),
                shown(&rule.amount_type),
                shown(&rule.amount_description),
                shown(&rule.marketplace),
                rule.account,
                earlier.account,
            ),
        });
    }
    problems
}

/// `[[sku]]` entries with their lines; empty fields are located problems
/// (duplicates are checked by `ar::sku`).
fn sku_items(
    text: &str,
    raw: Vec<Spanned<RawSku>>,
    problems: &mut Vec<MappingProblem>,
) -> Vec<SkuItem> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, spanned) in raw.into_iter().enumerate() {
        let (line, _) = line_col(text, spanned.span().start);
        let raw = spanned.into_inner();
        for (field, what) in [(&raw.sku, "sku"), (&raw.item, "item")] {
            if field.get_ref().trim().is_empty() {
                let (l, c) = line_col(text, field.span().start);
                let message = format!("sku {} {what}: must not be empty", i + 1);
                problems.push(MappingProblem {
                    line: Some(l),
                    column: Some(c),
                    message,
                });
            }
        }
        out.push(SkuItem {
            sku: raw.sku.into_inner().trim().to_string(),
            item: raw.item.into_inner().trim().to_string(),
            marketplace: wildcard(raw.marketplace).map(|m| m.trim().to_string()),
            line,
        });
    }
    problems.extend(super::ar::sku::duplicate_skus(&out));
    out
}

/// Case-insensitive equality without allocating (ASCII fast path).
pub fn eq_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

#[derive(Clone, Copy)]
struct ComboRef<'s> {
    transaction_type: &'s str,
    amount_type: &'s str,
    amount_description: &'s str,
    marketplace: &'s str,
}

/// A distinct (transaction type, amount type, description, marketplace)
/// combination seen by a [`Matcher`], as first written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Combo {
    pub transaction_type: String,
    pub amount_type: String,
    pub amount_description: String,
    /// The effective marketplace (the row's, else the settlement's).
    pub marketplace: String,
}

impl Combo {
    fn as_ref(&self) -> ComboRef<'_> {
        ComboRef {
            transaction_type: &self.transaction_type,
            amount_type: &self.amount_type,
            amount_description: &self.amount_description,
            marketplace: &self.marketplace,
        }
    }

    /// Spelled exactly as `k`.
    #[inline]
    fn eq_exact(&self, k: &ComboRef<'_>) -> bool {
        same_text(&self.amount_description, k.amount_description)
            && same_text(&self.amount_type, k.amount_type)
            && same_text(&self.transaction_type, k.transaction_type)
            && same_text(&self.marketplace, k.marketplace)
    }

    fn eq_ref(&self, k: &ComboRef<'_>) -> bool {
        (self.transaction_type == k.transaction_type
            && self.amount_type == k.amount_type
            && self.amount_description == k.amount_description
            && self.marketplace == k.marketplace)
            || (eq_ci(&self.transaction_type, k.transaction_type)
                && eq_ci(&self.amount_type, k.amount_type)
                && eq_ci(&self.amount_description, k.amount_description)
                && eq_ci(&self.marketplace, k.marketplace))
    }
}

const HASH_K: u64 = 0xf135_7aea_2e62_a9c5;

#[inline]
fn mix(h: u64, word: u64) -> u64 {
    (h ^ word).wrapping_mul(HASH_K).rotate_left(23)
}

/// ASCII lowercase of eight bytes at once (every byte < 0x80).
#[inline]
fn lower_ascii_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // high bit of each byte: set when the byte is >= 'A' (b + 63) and not >= '[' (b + 37)
    let at_least_a = w.wrapping_add(ONES * 63);
    let past_z = w.wrapping_add(ONES * 37);
    let upper = at_least_a & !past_z & (ONES * 0x80);
    w | (upper >> 2)
}

/// A hash of the lowercased four fields: for ASCII their first and last eight
/// bytes and length (a million rows hash in a few milliseconds). Non-ASCII fields hash per
/// lowercased char, so a non-ASCII spelling that equals an ASCII one only
/// case-insensitively (the Kelvin sign) gets its own cache entry: the same
/// rule is found for both, only the combination is listed twice.
fn combo_hash(k: &ComboRef<'_>) -> u64 {
    let mut h: u64 = 0;
    for field in [
        k.transaction_type,
        k.amount_type,
        k.amount_description,
        k.marketplace,
    ] {
        let bytes = field.as_bytes();
        if field.is_ascii() {
            // the first and last eight bytes and the length: cheap, and distinct
            // enough for settlement vocabularies (collisions are resolved by
            // comparing the strings)
            let n = bytes.len();
            let mut head = [0u8; 8];
            let mut tail = [0u8; 8];
            let k = n.min(8);
            head[..k].copy_from_slice(&bytes[..k]);
            tail[..k].copy_from_slice(&bytes[n - k..]);
            h = mix(h, lower_ascii_word(u64::from_le_bytes(head)));
            h = mix(h, lower_ascii_word(u64::from_le_bytes(tail)));
        } else {
            for c in field.chars().flat_map(char::to_lowercase) {
                h = mix(h, u64::from(u32::from(c)) | (1 << 40));
            }
        }
        // the length separates fields ("ab","c" vs "a","bc")
        h = mix(h, bytes.len() as u64);
    }
    h
}

/// The hash is already mixed; the map uses it as is.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdentityMap<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

/// Slots of a [`Matcher`]'s exact-spelling cache (a power of two).
const FRONT_SLOTS: usize = 1024;
/// An empty slot of that cache.
const NO_COMBO: u32 = u32::MAX;

/// A hash of the four fields exactly as written: lengths and first and last
/// eight bytes, no lowercasing (see [`Matcher::combo_id`]).
#[inline]
fn exact_hash(k: &ComboRef<'_>) -> u64 {
    #[inline(always)]
    fn ends(b: &[u8]) -> (u64, u64) {
        let n = b.len();
        if n >= 8 {
            let mut head = [0u8; 8];
            let mut tail = [0u8; 8];
            head.copy_from_slice(&b[..8]);
            tail.copy_from_slice(&b[n - 8..]);
            (u64::from_le_bytes(head), u64::from_le_bytes(tail))
        } else if n >= 4 {
            let (head, tail) = (half_word(b, 0), half_word(b, n - 4));
            (u64::from(head) | u64::from(tail) << 32, 0)
        } else {
            let w = b.iter().rev().fold(0u64, |w, &c| (w << 8) | u64::from(c));
            (w, 0)
        }
    }
    let mut h = 0u64;
    for field in [
        k.transaction_type,
        k.amount_type,
        k.amount_description,
        k.marketplace,
    ] {
        let (head, tail) = ends(field.as_bytes());
        h = mix(h, head ^ (field.len() as u64).rotate_left(56));
        h = mix(h, tail);
    }
    h
}

/// Maps rows to rules with a per-combination cache. One per thread; combination
/// ids are local to the matcher that issued them.
pub struct Matcher<'m> {
    mapping: &'m Mapping,
    /// combination hash → first combination id with that hash
    index: IdentityMap<u32>,
    combos: Vec<Combo>,
    rules: Vec<Option<usize>>,
    /// next combination id with the same hash (collision chain)
    next: Vec<Option<u32>>,
    /// Exact-spelling cache in front of `index`: by [`exact_hash`] slot, the
    /// hash and a combination whose own spelling it is. A row hits it unless
    /// its spelling differs from the first seen only in case, or another
    /// combination took the slot; a miss takes the case-insensitive path.
    front: Vec<(u64, u32)>,
}

impl<'m> Matcher<'m> {
    pub fn new(mapping: &'m Mapping) -> Self {
        Matcher {
            mapping,
            index: IdentityMap::default(),
            combos: Vec::new(),
            rules: Vec::new(),
            next: Vec::new(),
            front: vec![(0, NO_COMBO); FRONT_SLOTS],
        }
    }

    pub fn mapping(&self) -> &'m Mapping {
        self.mapping
    }

    /// The combination id of these fields (case-insensitive), creating it on
    /// first sight. Allocates only for a new combination.
    #[inline]
    pub fn combo_id(
        &mut self,
        transaction_type: &str,
        amount_type: &str,
        amount_description: &str,
        marketplace: &str,
    ) -> u32 {
        let key = ComboRef {
            transaction_type,
            amount_type,
            amount_description,
            marketplace,
        };
        let h = exact_hash(&key);
        let slot = (h.wrapping_mul(HASH_K) >> 54) as usize % FRONT_SLOTS;
        let (cached_hash, cached) = self.front[slot];
        if cached != NO_COMBO && cached_hash == h && self.combos[cached as usize].eq_exact(&key) {
            return cached;
        }
        let id = self.combo_id_slow(&key);
        if self.combos[id as usize].eq_exact(&key) {
            self.front[slot] = (h, id);
        }
        id
    }

    /// [`Self::combo_id`] through the case-insensitive index.
    fn combo_id_slow(&mut self, key: &ComboRef<'_>) -> u32 {
        let h = combo_hash(key);
        let mut cursor = self.index.get(&h).copied();
        let mut last = None;
        while let Some(id) = cursor {
            if self.combos[id as usize].eq_ref(key) {
                return id;
            }
            last = Some(id);
            cursor = self.next[id as usize];
        }
        let id = u32::try_from(self.combos.len()).expect("fewer than 4 billion combinations");
        let rule = self.mapping.best_rule(
            key.transaction_type,
            key.amount_type,
            key.amount_description,
            key.marketplace,
        );
        self.combos.push(Combo {
            transaction_type: key.transaction_type.to_string(),
            amount_type: key.amount_type.to_string(),
            amount_description: key.amount_description.to_string(),
            marketplace: key.marketplace.to_string(),
        });
        self.rules.push(rule);
        self.next.push(None);
        match last {
            Some(prev) => self.next[prev as usize] = Some(id),
            None => {
                self.index.insert(h, id);
            }
        }
        id
    }

    /// The rule chosen for these fields, if any.
    pub fn rule_for(
        &mut self,
        transaction_type: &str,
        amount_type: &str,
        amount_description: &str,
        marketplace: &str,
    ) -> Option<usize> {
        let id = self.combo_id(
            transaction_type,
            amount_type,
            amount_description,
            marketplace,
        );
        self.rules[id as usize]
    }

    /// The id of a combination issued by another matcher over the same mapping.
    pub fn combo_id_of(&mut self, combo: &Combo) -> u32 {
        let k = combo.as_ref();
        self.combo_id(
            k.transaction_type,
            k.amount_type,
            k.amount_description,
            k.marketplace,
        )
    }

    pub fn combo(&self, id: u32) -> &Combo {
        &self.combos[id as usize]
    }

    pub fn rule_of(&self, id: u32) -> Option<usize> {
        self.rules[id as usize]
    }

    /// Every combination seen so far with its rule, in first-seen order.
    pub fn combos(&self) -> impl Iterator<Item = (&Combo, Option<usize>)> {
        self.combos.iter().zip(self.rules.iter().copied())
    }
}

#[cfg(test)]
mod tests;
