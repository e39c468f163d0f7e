//! Turns parse and validation problems into "FILE line N: … `key` in [section]".
//!
//! `serde_path_to_error` says which key a deserialization error belongs to; toml's
//! error carries the byte span that gives its line. The spanned document (`DeTable`)
//! names sections (`[[routing]] #2`) and finds the line of a validation issue's key.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::ConfigError;
use super::validate::{Issue, Seg};

/// Deserializes configuration text; an error names its line, key and section.
pub(super) fn parse<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, ConfigError> {
    let de = toml::Deserializer::parse(text).map_err(|err| describe(text, path, &err, &[]))?;
    serde_path_to_error::deserialize(de).map_err(|err| {
        let at: Vec<Seg> = err
            .path()
            .iter()
            .filter_map(|seg| match seg {
                Segment::Map { key } => Some(Seg::Key(key.clone())),
                Segment::Seq { index } => Some(Seg::Index(*index)),
                Segment::Enum { .. } | Segment::Unknown => None,
            })
            .collect();
        describe(text, path, err.inner(), &at)
    })
}

/// Converts a toml/serde error at key path `located` into a [`ConfigError`].
fn describe(text: &str, path: &Path, err: &toml::de::Error, located: &[Seg]) -> ConfigError {
    let message = err.message().trim().to_string();
    let Some(span) = err.span() else {
        return ConfigError::InvalidFile {
            path: path.to_path_buf(),
            message,
        };
    };
    let line = line_of(text, span.start);
    let doc = DeTable::parse(text).ok();

    let message = if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        // The path of an unknown field ends in the key itself.
        let section = section_name(doc.as_ref().map(|d| d.get_ref()), parent_of_key(located));
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
        let section = section_name(doc.as_ref().map(|d| d.get_ref()), located);
        format!("missing key `{key}` in {section}")
    } else {
        match last_key(located) {
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
