//! The filtered settlement and batch lists: refiltering and merging batch updates.

use crate::app::state::{AppState, Screen};
use crate::app::view::{BatchKey, BatchView};
use crate::ledger::periods::period_order_key;
use crate::ledger::state::BatchState;

pub(super) fn refilter(s: &mut AppState, keep: Option<String>) {
    let q = s.search.query.to_lowercase();
    s.visible = s
        .settlements
        .iter()
        .enumerate()
        .filter(|(_, x)| s.filter.admits(x.status) && x.matches(&q))
        .map(|(i, _)| i)
        .collect();
    if let Some(id) = keep
        && let Some(pos) = s
            .visible
            .iter()
            .position(|i| s.settlements[*i].settlement_id == id)
    {
        s.list.selected = pos;
    }
    s.list.set(s.list.selected, s.visible.len());
}

/// The audit entries shown: the action filter and (on the audit screen) the search.
pub(super) fn refilter_audit(s: &mut AppState) {
    let q = if s.screen == Screen::Audit {
        s.search.query.to_lowercase()
    } else {
        String::new()
    };
    let a = &mut s.audit;
    a.visible = (0..a.entries.len())
        .filter(|i| {
            let e = &a.entries[*i];
            a.action.as_ref().is_none_or(|x| &e.action == x)
                && (q.is_empty()
                    || format!(
                        "{} {} {} {} {}",
                        e.settlement_id.as_deref().unwrap_or(""),
                        e.actor,
                        e.action,
                        e.period.as_deref().unwrap_or(""),
                        e.detail
                    )
                    .to_lowercase()
                    .contains(&q))
        })
        .collect();
    a.cursor.set(a.cursor.selected, a.visible.len());
}

pub(super) fn refilter_batches(s: &mut AppState) {
    let keep = s.selected_batch().map(|b| b.key.clone());
    let q = if s.screen == Screen::Batches {
        s.search.query.to_lowercase()
    } else {
        String::new()
    };
    let b = &mut s.batches;
    b.visible = (0..b.all.len()).filter(|i| b.all[*i].matches(&q)).collect();
    if let Some(k) = keep
        && let Some(pos) = b.visible.iter().position(|i| b.all[*i].key == k)
    {
        b.cursor.selected = pos;
    }
    b.cursor.set(b.cursor.selected, b.visible.len());
}

/// Batches by settlement, then their periods in calendar order (`NOV-26`, `DEC-26`, `JAN-27`).
pub(super) fn batch_order(k: &BatchKey) -> (String, (bool, i32, u32, String)) {
    (k.settlement_id.clone(), period_order_key(&k.period))
}

pub(super) fn upsert_batch(s: &mut AppState, b: BatchView, into_detail: bool) {
    if into_detail
        && let Some(d) = &mut s.detail
        && d.summary.settlement_id == b.key.settlement_id
    {
        match d.batches.iter_mut().find(|x| x.key == b.key) {
            Some(x) => *x = b.clone(),
            None => d.batches.push(b.clone()),
        }
    }
    match s
        .batches
        .all
        .binary_search_by_key(&batch_order(&b.key), |x| batch_order(&x.key))
    {
        Ok(i) => s.batches.all[i] = b,
        Err(i) => s.batches.all.insert(i, b),
    }
    refilter_batches(s);
}

/// A settlement's status is its worst known batch.
pub(super) fn refresh_statuses(s: &mut AppState, settlement_id: &str) {
    let worst = BatchState::worst(
        s.batches
            .all
            .iter()
            .filter(|b| b.key.settlement_id == settlement_id)
            .map(|b| b.state),
    );
    let Some(worst) = worst else { return };
    if let Some(d) = &mut s.detail
        && d.summary.settlement_id == settlement_id
    {
        d.summary.status = worst;
    }
    let mut changed = false;
    for x in &mut s.settlements {
        if x.settlement_id == settlement_id && x.status != worst {
            x.status = worst;
            changed = true;
        }
    }
    if changed {
        let keep = s.selected_settlement().map(|x| x.settlement_id.clone());
        refilter(s, keep);
    }
}
