//! Imported GL journals (GL_JE_HEADERS / GL_JE_LINES) in creation order, with indexes on
//! what the services look journals up by (header id, GROUP_ID, REFERENCE21..25), so a
//! look-up costs the journals it finds rather than every journal ever imported.

use super::world::JeHeader;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};

/// Line references the reference index covers (REFERENCE21..25, `P_REFERENCE_1..5`).
pub const INDEXED_REFERENCES: usize = 5;

/// Positions under one key. Most reference keys (line keys) name a single journal, and
/// that case needs no allocation.
#[derive(Debug, Clone)]
enum Positions {
    One(usize),
    Many(Vec<usize>),
}

impl Positions {
    fn as_slice(&self) -> &[usize] {
        match self {
            Positions::One(p) => std::slice::from_ref(p),
            Positions::Many(v) => v,
        }
    }

    /// Appends `pos` (positions only grow, so the list stays sorted); no duplicates.
    fn push(&mut self, pos: usize) {
        match self {
            Positions::One(p) if *p == pos => {}
            Positions::One(p) => *self = Positions::Many(vec![*p, pos]),
            Positions::Many(v) => {
                if v.last() != Some(&pos) {
                    v.push(pos);
                }
            }
        }
    }

    /// Removes `pos`; true when nothing is left.
    fn remove(&mut self, pos: usize) -> bool {
        match self {
            Positions::One(p) => *p == pos,
            Positions::Many(v) => {
                if let Ok(i) = v.binary_search(&pos) {
                    v.remove(i);
                }
                v.is_empty()
            }
        }
    }
}

fn add<K: Hash + Eq>(m: &mut HashMap<K, Positions>, k: K, pos: usize) {
    m.entry(k)
        .and_modify(|p| p.push(pos))
        .or_insert(Positions::One(pos));
}

fn drop_pos<K: Hash + Eq>(m: &mut HashMap<K, Positions>, k: K, pos: usize) {
    if let Some(p) = m.get_mut(&k)
        && p.remove(pos)
    {
        m.remove(&k);
    }
}

/// The journals store. Deleted journals leave an empty slot so positions stay stable.
#[derive(Debug, Default)]
pub struct Journals {
    slots: Vec<Option<JeHeader>>,
    live: usize,
    by_header: HashMap<i64, usize>,
    by_group: HashMap<i64, Positions>,
    /// Keyed by a hash of (reference number, value) rather than the value itself: one entry
    /// per distinct line key would otherwise copy every line key. A collision only adds a
    /// candidate, which the caller's own test discards.
    by_reference: HashMap<u64, Positions>,
    hasher: RandomState,
}

impl Journals {
    fn ref_key(&self, i: usize, v: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        i.hash(&mut h);
        v.hash(&mut h);
        h.finish()
    }

    /// Every (reference number, value) a journal's lines carry, once each.
    fn ref_keys(&self, j: &JeHeader) -> Vec<u64> {
        let mut keys: Vec<u64> = j
            .lines
            .iter()
            .flat_map(|l| {
                l.references
                    .iter()
                    .take(INDEXED_REFERENCES)
                    .enumerate()
                    .filter_map(|(i, r)| r.as_deref().map(|v| self.ref_key(i, v)))
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Adds a journal after every other one.
    pub fn push(&mut self, j: JeHeader) {
        let pos = self.slots.len();
        self.by_header.insert(j.je_header_id, pos);
        if let Some(g) = j.group_id {
            add(&mut self.by_group, g, pos);
        }
        for k in self.ref_keys(&j) {
            add(&mut self.by_reference, k, pos);
        }
        self.slots.push(Some(j));
        self.live += 1;
    }

    /// Number of journals (deleted ones not counted).
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Every journal, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = &JeHeader> {
        self.slots.iter().flatten()
    }

    pub fn get(&self, pos: usize) -> Option<&JeHeader> {
        self.slots.get(pos).and_then(Option::as_ref)
    }

    /// Positions of the journals of a group, in creation order.
    pub fn in_group(&self, group_id: i64) -> &[usize] {
        self.by_group
            .get(&group_id)
            .map(Positions::as_slice)
            .unwrap_or(&[])
    }

    /// Position of a journal by its JE_HEADER_ID.
    pub fn by_header_id(&self, id: i64) -> Option<usize> {
        self.by_header.get(&id).copied()
    }

    /// Positions, in creation order, of every journal with a line carrying all of `refs`
    /// (reference number 0..5 = REFERENCE21..25, value), and possibly a few more: callers
    /// test each candidate. Without an indexed reference in `refs`, every journal.
    pub fn with_references(&self, refs: &[(usize, String)]) -> Vec<usize> {
        // A journal with such a line is listed under each of the references: the shortest
        // list will do.
        let best = refs
            .iter()
            .filter(|(i, _)| *i < INDEXED_REFERENCES)
            .map(|(i, v)| {
                self.by_reference
                    .get(&self.ref_key(*i, v))
                    .map(Positions::as_slice)
                    .unwrap_or(&[])
            })
            .min_by_key(|l| l.len());
        match best {
            Some(l) => l.to_vec(),
            None => (0..self.slots.len())
                .filter(|&p| self.slots[p].is_some())
                .collect(),
        }
    }

    /// Sets a journal's status (no index covers it); false when there is no such journal.
    pub fn set_status(&mut self, pos: usize, status: &str) -> bool {
        match self.slots.get_mut(pos).and_then(Option::as_mut) {
            Some(j) => {
                j.status = status.to_string();
                true
            }
            None => false,
        }
    }

    /// Deletes a journal and its index entries.
    pub fn remove(&mut self, pos: usize) -> Option<JeHeader> {
        let j = self.slots.get_mut(pos)?.take()?;
        self.live -= 1;
        if self.by_header.get(&j.je_header_id) == Some(&pos) {
            self.by_header.remove(&j.je_header_id);
        }
        if let Some(g) = j.group_id {
            drop_pos(&mut self.by_group, g, pos);
        }
        for k in self.ref_keys(&j) {
            drop_pos(&mut self.by_reference, k, pos);
        }
        Some(j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ebs::world::JeLine;

    fn line(refs: &[Option<&str>]) -> JeLine {
        JeLine {
            line_num: 10,
            ccid: 1,
            account: "01-000-1110-0000-000".into(),
            entered_dr: None,
            entered_cr: None,
            accounted_dr: None,
            accounted_cr: None,
            description: None,
            references: (0..10)
                .map(|i| refs.get(i).copied().flatten().map(str::to_string))
                .collect(),
        }
    }

    fn journal(id: i64, group: Option<i64>, lines: Vec<JeLine>) -> JeHeader {
        JeHeader {
            je_header_id: id,
            je_batch_id: 1,
            batch_name: "B".into(),
            name: format!("J{id}"),
            ledger_id: 1,
            period_name: "JAN-26".into(),
            currency: "USD".into(),
            source_user: "Amazon".into(),
            category_user: "Amazon Settlement".into(),
            status: "U".into(),
            group_id: group,
            request_id: 7,
            external_reference: None,
            lines,
        }
    }

    /// What `get_journals_by_reference` tests on each journal.
    fn carries(j: &JeHeader, refs: &[(usize, String)]) -> bool {
        j.lines.iter().any(|l| {
            refs.iter()
                .all(|(i, v)| l.references.get(*i).and_then(Option::as_deref) == Some(v.as_str()))
        })
    }

    fn by_index(js: &Journals, refs: &[(usize, String)]) -> Vec<i64> {
        js.with_references(refs)
            .into_iter()
            .filter_map(|p| js.get(p))
            .filter(|j| carries(j, refs))
            .map(|j| j.je_header_id)
            .collect()
    }

    fn by_scan(js: &Journals, refs: &[(usize, String)]) -> Vec<i64> {
        js.iter()
            .filter(|j| carries(j, refs))
            .map(|j| j.je_header_id)
            .collect()
    }

    fn store() -> Journals {
        let mut js = Journals::default();
        // Settlement 100 has two journals (two periods); 101 one; line keys repeat across.
        js.push(journal(
            1,
            Some(5001),
            vec![
                line(&[Some("100"), Some("JAN-26"), Some("k1"), Some("1")]),
                line(&[Some("100"), Some("JAN-26"), Some("k2"), Some("1")]),
            ],
        ));
        js.push(journal(
            2,
            Some(5001),
            vec![line(&[Some("100"), Some("FEB-26"), Some("k1"), Some("1")])],
        ));
        js.push(journal(
            3,
            Some(5002),
            vec![
                // 101 and FEB-26 are on different lines: not a match for both at once.
                line(&[Some("101"), Some("JAN-26"), Some("k3"), Some("2")]),
                line(&[
                    Some("999"),
                    Some("FEB-26"),
                    Some("k4"),
                    Some("2"),
                    Some("DEC-25"),
                ]),
            ],
        ));
        js.push(journal(
            4,
            None,
            vec![line(&[Some("100"), None, Some("k1")])],
        ));
        js
    }

    fn queries() -> Vec<Vec<(usize, String)>> {
        let q = |v: &[(usize, &str)]| v.iter().map(|(i, s)| (*i, s.to_string())).collect();
        vec![
            q(&[(0, "100")]),
            q(&[(0, "100"), (1, "JAN-26")]),
            q(&[(0, "100"), (1, "FEB-26")]),
            q(&[(0, "101"), (1, "FEB-26")]),
            q(&[(0, "101"), (1, "JAN-26"), (3, "2")]),
            q(&[(2, "k1")]),
            q(&[(2, "k1"), (3, "1")]),
            q(&[(4, "DEC-25")]),
            q(&[(1, "FEB-26")]),
            q(&[(0, "nope")]),
            q(&[(0, "")]),
            q(&[(0, "100"), (1, "")]),
        ]
    }

    #[test]
    fn reference_lookups_agree_with_a_scan() {
        let js = store();
        for q in queries() {
            assert_eq!(by_index(&js, &q), by_scan(&js, &q), "{q:?}");
        }
        let q = vec![(0, "100".to_string())];
        assert_eq!(by_index(&js, &q), vec![1, 2, 4]);
        let q = vec![(0, "101".to_string()), (1, "FEB-26".to_string())];
        assert_eq!(by_index(&js, &q), Vec::<i64>::new());
    }

    #[test]
    fn deleted_journals_leave_every_index() {
        let mut js = store();
        let pos = js.by_header_id(2).expect("journal 2");
        assert_eq!(js.remove(pos).map(|j| j.je_header_id), Some(2));
        assert!(js.remove(pos).is_none(), "a second delete finds nothing");
        assert_eq!(js.len(), 3);
        assert_eq!(js.by_header_id(2), None);
        for q in queries() {
            assert_eq!(by_index(&js, &q), by_scan(&js, &q), "{q:?}");
        }
        let group: Vec<i64> = js
            .in_group(5001)
            .iter()
            .filter_map(|&p| js.get(p))
            .map(|j| j.je_header_id)
            .collect();
        assert_eq!(group, vec![1]);
        // The shared settlement still finds the journals left, in creation order.
        assert_eq!(by_index(&js, &[(0, "100".to_string())]), vec![1, 4]);
        // Deleting the last journal of a key drops the key.
        let pos = js.by_header_id(1).expect("journal 1");
        js.remove(pos);
        assert!(js.in_group(5001).is_empty());
        assert!(js.with_references(&[(2, "k2".to_string())]).is_empty());
        // A later journal is indexed as usual.
        js.push(journal(9, Some(5001), vec![line(&[Some("100")])]));
        assert_eq!(by_index(&js, &[(0, "100".to_string())]), vec![4, 9]);
        assert_eq!(
            js.iter().map(|j| j.je_header_id).collect::<Vec<_>>(),
            vec![3, 4, 9]
        );
    }

    #[test]
    fn status_changes_keep_the_indexes() {
        let mut js = store();
        let pos = js.by_header_id(3).expect("journal 3");
        assert!(js.set_status(pos, "P"));
        assert_eq!(js.get(pos).map(|j| j.status.as_str()), Some("P"));
        assert_eq!(js.in_group(5002), &[pos]);
        assert!(!js.set_status(99, "P"));
    }
}
