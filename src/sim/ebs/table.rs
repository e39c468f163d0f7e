//! An open interface table (GL_INTERFACE) as rows in insertion order under stable ids, with
//! equality indexes on the columns callers filter by (GROUP_ID, REFERENCE21), so reading or
//! importing one group costs that group's rows, not the whole table's.

use super::world::{Row, col};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

/// The row with this id; panics when there is none (like indexing a `Vec`).
impl std::ops::Index<RowId> for Table {
    type Output = Row;
    fn index(&self, id: RowId) -> &Row {
        &self.rows[&id]
    }
}

/// A row's id: its insertion number, so id order is table order.
pub type RowId = u64;

/// How a value is indexed: numbers by value (`5001`, `5001.0` and ` 5001` are one key),
/// anything else by its text. Every pair of values [`matches`] or `col_i64` treat as equal
/// gets one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Num(Decimal),
    Text(String),
}

fn key(v: &str) -> Key {
    match Decimal::from_str(v.trim()) {
        Ok(d) => Key::Num(d.normalize()),
        Err(_) => Key::Text(v.to_string()),
    }
}

/// Whether a row passes every `(COLUMN, value)` filter of a GET/DELETE: numbers compare by
/// value, text exactly, an empty filter value matches an empty column.
pub fn matches(r: &Row, f: &[(String, String)]) -> bool {
    f.iter().all(|(k, v)| {
        let rv = col(r, k);
        match (rv, v.parse::<Decimal>()) {
            (Some(x), Ok(n)) => x.parse::<Decimal>().map(|y| y == n).unwrap_or(x == v),
            (Some(x), Err(_)) => x == v,
            (None, _) => v.is_empty(),
        }
    })
}

#[derive(Debug)]
pub struct Table {
    rows: BTreeMap<RowId, Row>,
    next: RowId,
    indexed: &'static [&'static str],
    index: Vec<HashMap<Key, BTreeSet<RowId>>>,
}

impl Table {
    /// An empty table indexing the given columns.
    pub fn new(indexed: &'static [&'static str]) -> Table {
        Table {
            rows: BTreeMap::new(),
            next: 0,
            indexed,
            index: indexed.iter().map(|_| HashMap::new()).collect(),
        }
    }

    fn link(&mut self, id: RowId, r: &Row) {
        for (c, m) in self.indexed.iter().zip(self.index.iter_mut()) {
            if let Some(v) = col(r, c) {
                m.entry(key(v)).or_default().insert(id);
            }
        }
    }

    fn unlink(&mut self, id: RowId, r: &Row) {
        for (c, m) in self.indexed.iter().zip(self.index.iter_mut()) {
            if let Some(v) = col(r, c) {
                let k = key(v);
                if let Some(ids) = m.get_mut(&k) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        m.remove(&k);
                    }
                }
            }
        }
    }

    /// Appends a row; returns its id.
    pub fn insert(&mut self, r: Row) -> RowId {
        let id = self.next;
        self.next += 1;
        self.link(id, &r);
        self.rows.insert(id, r);
        id
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn get(&self, id: RowId) -> Option<&Row> {
        self.rows.get(&id)
    }

    /// Every row, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (RowId, &Row)> {
        self.rows.iter().map(|(id, r)| (*id, r))
    }

    /// Writes one column of a row (keeping the indexes right if the column is indexed).
    pub fn set(&mut self, id: RowId, name: &str, v: impl ToString) {
        let Some(mut r) = self.rows.remove(&id) else {
            return;
        };
        let reindex = self.indexed.contains(&name);
        if reindex {
            self.unlink(id, &r);
        }
        r.insert(name.to_string(), Value::String(v.to_string()));
        if reindex {
            self.link(id, &r);
        }
        self.rows.insert(id, r);
    }

    pub fn remove(&mut self, id: RowId) -> Option<Row> {
        let r = self.rows.remove(&id)?;
        self.unlink(id, &r);
        Some(r)
    }

    /// Ids, in table order, of the rows whose `column` holds `value` by [`matches`] (or as
    /// `col_i64` reads it), possibly with a few more; `None` when `column` is not indexed
    /// or `value` is empty (an empty filter matches rows without the column).
    pub fn candidates(&self, column: &str, value: &str) -> Option<Vec<RowId>> {
        let i = self.indexed.iter().position(|c| *c == column)?;
        if value.is_empty() {
            return None;
        }
        Some(
            self.index[i]
                .get(&key(value))
                .map(|ids| ids.iter().copied().collect())
                .unwrap_or_default(),
        )
    }

    /// Ids, in table order, of the rows passing every filter (see [`matches`]).
    pub fn select(&self, f: &[(String, String)]) -> Vec<RowId> {
        let narrowed = f.iter().find_map(|(k, v)| self.candidates(k, v));
        match narrowed {
            Some(ids) => ids
                .into_iter()
                .filter(|id| self.rows.get(id).is_some_and(|r| matches(r, f)))
                .collect(),
            None => self
                .rows
                .iter()
                .filter(|(_, r)| matches(r, f))
                .map(|(id, _)| *id)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ebs::world::{col_i64, set};

    fn row(group: &str, settlement: &str, status: &str) -> Row {
        let mut r = Row::new();
        set(&mut r, "GROUP_ID", group);
        set(&mut r, "REFERENCE21", settlement);
        set(&mut r, "STATUS", status);
        r
    }

    fn scan(t: &Table, f: &[(String, String)]) -> Vec<RowId> {
        t.iter()
            .filter(|(_, r)| matches(r, f))
            .map(|(id, _)| id)
            .collect()
    }

    fn table() -> Table {
        let mut t = Table::new(&["GROUP_ID", "REFERENCE21"]);
        t.insert(row("5001", "100", "NEW"));
        t.insert(row("5001.0", "100", "NEW"));
        t.insert(row(" 5001", "0100", "EU02"));
        t.insert(row("5002", "abc", "NEW"));
        t.insert(row("5002", "100.00", "NEW"));
        let mut r = row("5003", "", "NEW");
        r.remove("REFERENCE21");
        t.insert(r);
        t
    }

    fn filters() -> Vec<Vec<(String, String)>> {
        let f = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        vec![
            f(&[("GROUP_ID", "5001")]),
            f(&[("GROUP_ID", "5001.00")]),
            f(&[("GROUP_ID", " 5001")]),
            f(&[("GROUP_ID", "+5001")]),
            f(&[("GROUP_ID", "abc")]),
            f(&[("GROUP_ID", "5002"), ("REFERENCE21", "100")]),
            f(&[("REFERENCE21", "100")]),
            f(&[("REFERENCE21", "abc")]),
            f(&[("REFERENCE21", "")]),
            f(&[("STATUS", "NEW")]),
            f(&[("STATUS", "NEW"), ("GROUP_ID", "5001")]),
            f(&[]),
        ]
    }

    #[test]
    fn indexed_selects_agree_with_a_scan() {
        let t = table();
        for f in filters() {
            assert_eq!(t.select(&f), scan(&t, &f), "{f:?}");
        }
        let ids = t.select(&[("GROUP_ID".into(), "5001".into())]);
        assert_eq!(ids, vec![0, 1], "' 5001' is not 5001 to a GET filter");
    }

    #[test]
    fn group_candidates_cover_what_journal_import_reads() {
        // Journal Import compares col_i64(GROUP_ID), which trims.
        let t = table();
        let ids = t.candidates("GROUP_ID", "5001").expect("indexed");
        let wanted: Vec<RowId> = t
            .iter()
            .filter(|(_, r)| col_i64(r, "GROUP_ID") == Some(5001))
            .map(|(id, _)| id)
            .collect();
        assert!(
            wanted.iter().all(|id| ids.contains(id)),
            "{ids:?} {wanted:?}"
        );
        assert_eq!(wanted, vec![0, 2]);
        assert_eq!(t.candidates("STATUS", "NEW"), None, "not indexed");
        assert_eq!(
            t.candidates("GROUP_ID", ""),
            None,
            "empty matches absent columns"
        );
    }

    #[test]
    fn updates_and_deletes_keep_the_indexes() {
        let mut t = table();
        t.set(0, "GROUP_ID", "5009");
        t.set(1, "STATUS", "PROCESSED");
        assert!(t.remove(4).is_some());
        assert!(t.remove(4).is_none());
        t.set(4, "GROUP_ID", "5001");
        assert_eq!(t.len(), 5);
        assert_eq!(t.insert(row("5001", "100", "NEW")), 6);
        for f in filters() {
            assert_eq!(t.select(&f), scan(&t, &f), "{f:?}");
        }
        assert_eq!(t.select(&[("GROUP_ID".into(), "5009".into())]), vec![0]);
        assert_eq!(t.select(&[("GROUP_ID".into(), "5001".into())]), vec![1, 6]);
    }
}
