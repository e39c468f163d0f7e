//! Turns parse and validation problems into "FILE line N: … `key` in [section]".
//!
//! toml's errors carry byte spans; the spanned document (`DeTable`) tells which
//! key and section a span belongs to.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::ConfigError;
use super::validate::{Issue, Seg};

/// Converts a toml/serde error into a [`ConfigError`] naming line, key and section.
pub(super) fn describe(text: &str, path: &Path, err: &toml::de::Error) -> ConfigError {
    let message = err.message().trim().to_string();
    let Some(span) = err.span() else {
        return ConfigError::InvalidFile {
            path: path.to_path_buf(),
            message,
        };
    };
    let line = line_of(text, span.start);
    let doc = DeTable::parse(text).ok();
    let located = doc
        .as_ref()
        .map(|doc| deepest_at(doc.get_ref(), span.start))
        .unwrap_or_default();

    let message = if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        // The span of an unknown field is the key itself, so `located` ends in it.
        let section = section_name(doc.as_ref().map(|d| d.get_ref()), parent_of_key(&located));
        let expected = expected
            .trim_start_matches(',')
            .trim()
            .replace('`', "")
            .replace("expected one of", "known keys:")
            .replace("expected", "known key:")
            .replace("there are no fields", "this section takes no keys");
        format!("unknown key `{key}` in {section} ({expected})")
    } else if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        let section = section_name(doc.as_ref().map(|d| d.get_ref()), &located);
        format!("missing key `{key}` in {section}")
    } else {
        match last_key(&located) {
            Some((index, key)) => {
                let section = section_name(doc.as_ref().map(|d| d.get_ref()), &located[..index]);
                format!("invalid `{key}` in {section}: {message}")
            }
            None => {
                // A syntax error: quote what is at the span so the key is named.
                let snippet = text.get(span.clone()).unwrap_or("").trim();
                if snippet.is_empty() || snippet.contains('\n') || snippet.len() > 60 {
                    message.replace('\n', "; ")
                } else {
                    format!("{} (at `{snippet}`)", message.replace('\n', "; "))
                }
            }
        }
    };
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// Converts a validation issue into a [`ConfigError`] at the line of its key.
pub(super) fn locate(text: &str, path: &Path, issue: Issue) -> ConfigError {
    let doc = DeTable::parse(text).ok();
    let span = doc
        .as_ref()
        .and_then(|doc| span_of(doc.get_ref(), &issue.at));
    let message = match last_key(&issue.at) {
        Some((index, key)) if !issue.whole_section => {
            let section = section_name(doc.as_ref().map(|d| d.get_ref()), &issue.at[..index]);
            format!("`{key}` in {section}: {}", issue.message)
        }
        _ => {
            let section = section_name(doc.as_ref().map(|d| d.get_ref()), &issue.at);
            format!("{section}: {}", issue.message)
        }
    };
    match span {
        Some(span) => ConfigError::Invalid {
            path: path.to_path_buf(),
            line: line_of(text, span.start),
            message,
        },
        None => ConfigError::InvalidFile {
            path: path.to_path_buf(),
            message,
        },
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

/// The path of the innermost key or element whose span contains `offset`.
fn deepest_at(table: &DeTable<'_>, offset: usize) -> Vec<Seg> {
    let mut path = Vec::new();
    walk_table(table, offset, &mut path);
    path
}

fn walk_table(table: &DeTable<'_>, offset: usize, path: &mut Vec<Seg>) -> bool {
    for (key, value) in table.iter() {
        if contains(&key.span(), offset) {
            path.push(Seg::Key(key.get_ref().to_string()));
            return true;
        }
        if contains(&value.span(), offset) || table_contains(value, offset) {
            path.push(Seg::Key(key.get_ref().to_string()));
            walk_value(value, offset, path);
            return true;
        }
    }
    false
}

/// Tables' own spans may cover only their header; look inside too.
fn table_contains(value: &Spanned<DeValue<'_>>, offset: usize) -> bool {
    match value.get_ref() {
        DeValue::Table(t) => t.iter().any(|(k, v)| {
            contains(&k.span(), offset) || contains(&v.span(), offset) || table_contains(v, offset)
        }),
        DeValue::Array(a) => a
            .iter()
            .any(|v| contains(&v.span(), offset) || table_contains(v, offset)),
        _ => false,
    }
}

fn walk_value(value: &Spanned<DeValue<'_>>, offset: usize, path: &mut Vec<Seg>) {
    match value.get_ref() {
        DeValue::Table(t) => {
            walk_table(t, offset, path);
        }
        DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                if contains(&v.span(), offset) || table_contains(v, offset) {
                    path.push(Seg::Index(i));
                    walk_value(v, offset, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

/// The span of the key at `path` (or of the element, for an index).
fn span_of(table: &DeTable<'_>, path: &[Seg]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let Seg::Key(name) = first else { return None };
    let (key, value) = table.iter().find(|(k, _)| k.get_ref() == name)?;
    if rest.is_empty() {
        return Some(key.span());
    }
    span_in_value(value, rest).or(Some(key.span()))
}

fn span_in_value(value: &Spanned<DeValue<'_>>, path: &[Seg]) -> Option<Range<usize>> {
    match (value.get_ref(), path.split_first()) {
        (_, None) => Some(value.span()),
        (DeValue::Table(t), Some(_)) => span_of(t, path),
        (DeValue::Array(a), Some((Seg::Index(i), rest))) => {
            let element = a.get(*i)?;
            if rest.is_empty() {
                // An array-of-tables entry: point at its first key (its header's line is above).
                if let DeValue::Table(t) = element.get_ref()
                    && let Some((k, _)) = t.iter().min_by_key(|(k, _)| k.span().start)
                {
                    return Some(k.span());
                }
                return Some(element.span());
            }
            span_in_value(element, rest)
        }
        _ => None,
    }
}

fn last_key(path: &[Seg]) -> Option<(usize, &str)> {
    path.iter()
        .enumerate()
        .rev()
        .find_map(|(i, seg)| match seg {
            Seg::Key(k) => Some((i, k.as_str())),
            Seg::Index(_) => None,
        })
}

fn parent_of_key(path: &[Seg]) -> &[Seg] {
    match last_key(path) {
        Some((i, _)) => &path[..i],
        None => path,
    }
}

/// `[ebs.gl]`, `[[seller]]`, `[[routing]] #2`, or `the top level`.
fn section_name(doc: Option<&DeTable<'_>>, path: &[Seg]) -> String {
    if path.is_empty() {
        return "the top level".into();
    }
    let mut names: Vec<String> = Vec::new();
    let mut array_of_tables = false;
    let mut entry: Option<(usize, usize)> = None;
    let mut current: Option<&DeValue<'_>> = None;
    for seg in path {
        match seg {
            Seg::Key(k) => {
                names.push(k.clone());
                array_of_tables = false;
                current = match current {
                    None => doc
                        .and_then(|d| d.iter().find(|(key, _)| key.get_ref() == k))
                        .map(|(_, v)| v.get_ref()),
                    Some(DeValue::Table(t)) => t
                        .iter()
                        .find(|(key, _)| key.get_ref() == k)
                        .map(|(_, v)| v.get_ref()),
                    _ => None,
                };
            }
            Seg::Index(i) => {
                array_of_tables = true;
                let len = match current {
                    Some(DeValue::Array(a)) => a.len(),
                    _ => 0,
                };
                entry = Some((*i, len));
                current = match current {
                    Some(DeValue::Array(a)) => a.get(*i).map(|v| v.get_ref()),
                    _ => None,
                };
            }
        }
    }
    let joined = names.join(".");
    if array_of_tables {
        match entry {
            Some((i, len)) if len > 1 => format!("[[{joined}]] #{}", i + 1),
            _ => format!("[[{joined}]]"),
        }
    } else {
        format!("[{joined}]")
    }
}
