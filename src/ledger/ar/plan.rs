//! `plan_ar`: settlement rows → invoices, credit memos, receipt and the GL rest.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::classify::{Component, Doc, doc_of, is_carried, is_mcf, is_withheld_tax};
use super::{
    ArClass, ArError, ArInvoice, ArItem, ArLine, ArOptions, ArPlan, ArProblem, InvoiceRef,
};
use crate::ledger::mapping::{Mapping, eq_ci};
use crate::ledger::model::{PostedAt, SettlementRow, SettlementSummary};
use crate::ledger::periods::local_day;

/// One document's rows: invoices by (order, shipment), credit memos by
/// (order, kind, adjustment id).
type Key<'r> = (&'r str, Doc, &'r str);
/// A shipment of an order: first posting, first line, shipment id, rows.
type Shipment<'g, 'r> = (Option<PostedAt>, u32, &'r str, &'g [&'r SettlementRow]);
/// An adjustment of an order: adjustment id, rows.
type Adjustment<'g, 'r> = (&'r str, &'g [&'r SettlementRow]);

struct Ctx<'a> {
    summary: &'a SettlementSummary,
    mapping: &'a Mapping,
    opts: &'a ArOptions<'a>,
    marketplace: &'a str,
    problems: Vec<ArProblem>,
}

fn add(
    a: Decimal,
    b: Decimal,
    sid: &str,
    line: Option<u32>,
    what: &str,
) -> Result<Decimal, ArError> {
    a.checked_add(b).ok_or_else(|| ArError::Overflow {
        settlement_id: sid.to_string(),
        line,
        what: what.to_string(),
    })
}

/// Plans AR for one settlement. `marketplace` is the settlement's (used for
/// rows with an empty `marketplace-name`). Rows AR does not take are returned
/// for the GL journal; nothing is dropped.
pub fn plan_ar(
    summary: &SettlementSummary,
    rows: &[SettlementRow],
    marketplace: &str,
    mapping: &Mapping,
    opts: &ArOptions<'_>,
) -> Result<ArPlan, ArError> {
    let sid = summary.settlement_id.as_str();
    let mcf: BTreeSet<&str> = rows
        .iter()
        .filter(|r| !r.order_id.trim().is_empty() && is_mcf(r))
        .map(|r| r.order_id.trim())
        .collect();
    // items whose tax Amazon withholds (marketplace facilitator): tax stays in GL
    let withheld: HashSet<(&str, &str, &str, &str)> = rows
        .iter()
        .filter(|r| is_withheld_tax(r))
        .map(|r| {
            (
                r.order_id.trim(),
                sub_id(r),
                r.transaction_type.trim(),
                r.order_item_code.trim(),
            )
        })
        .collect();
    let mut groups: BTreeMap<Key<'_>, Vec<&SettlementRow>> = BTreeMap::new();
    let mut gl_rows_remaining = Vec::new();
    let mut carried_balance = Decimal::ZERO;
    for r in rows {
        let order = r.order_id.trim();
        let taken = (!mcf.contains(order))
            .then(|| doc_of(r))
            .flatten()
            .and_then(|doc| Component::of(r, doc).map(|c| (doc, c)))
            .filter(|(_, c)| {
                !(c.is_tax()
                    && withheld.contains(&(
                        order,
                        sub_id(r),
                        r.transaction_type.trim(),
                        r.order_item_code.trim(),
                    )))
            });
        match taken {
            Some((doc, _)) => groups.entry((order, doc, sub_id(r))).or_default().push(r),
            None => {
                if is_carried(r) {
                    carried_balance = add(
                        carried_balance,
                        r.amount,
                        sid,
                        Some(r.line),
                        "the carried balance",
                    )?;
                }
                gl_rows_remaining.push(r.clone());
            }
        }
    }
    let mut cx = Ctx {
        summary,
        mapping,
        opts,
        marketplace,
        problems: Vec::new(),
    };

    // invoices: shipments of one order numbered by first posting, then shipment id
    let mut by_order: BTreeMap<&str, Vec<Shipment<'_, '_>>> = BTreeMap::new();
    let mut cms: BTreeMap<(&str, super::CmKind), Vec<Adjustment<'_, '_>>> = BTreeMap::new();
    for ((order, doc, sub), rs) in &groups {
        match doc {
            Doc::Invoice => by_order.entry(*order).or_default().push((
                first_posted(rs),
                rs[0].line,
                *sub,
                rs.as_slice(),
            )),
            Doc::Cm(k) => cms
                .entry((*order, *k))
                .or_default()
                .push((*sub, rs.as_slice())),
        }
    }
    let mut invoices = Vec::new();
    for (order, mut ships) in by_order {
        ships.sort_by(|a, b| {
            posted_key(a.0)
                .cmp(&posted_key(b.0))
                .then(a.2.cmp(b.2))
                .then(a.1.cmp(&b.1))
        });
        let split = ships.len() > 1;
        for (n, (_, _, sub, rs)) in ships.into_iter().enumerate() {
            let trx = if split {
                format!("{order}-{}", n + 1)
            } else {
                order.to_string()
            };
            invoices.push(cx.document(trx, ArClass::Inv, None, order, sub, rs)?);
        }
    }
    let mut credit_memos = Vec::new();
    for ((order, kind), adjs) in cms {
        // adjustments in id order (the BTreeMap key order): stable numbering
        for (n, (sub, rs)) in adjs.into_iter().enumerate() {
            let trx = format!("{order}-{}{}", kind.prefix().1, n + 1);
            let mut cm = cx.document(trx, ArClass::Cm, Some(kind), order, sub, rs)?;
            cx.apply(&mut cm, &invoices);
            credit_memos.push(cm);
        }
    }

    let mut net = Decimal::ZERO;
    for d in invoices.iter().chain(&credit_memos) {
        for l in &d.lines {
            net = add(net, l.amount, sid, None, "the AR total")?;
        }
    }
    Ok(ArPlan {
        settlement_id: summary.settlement_id.clone(),
        invoices,
        credit_memos,
        receipt_amount: net.max(Decimal::ZERO),
        refund_activity: net.min(Decimal::ZERO),
        carried_balance,
        gl_rows_remaining,
        excluded_mcf_orders: mcf.into_iter().map(str::to_string).collect(),
        problems: cx.problems,
    })
}

/// Shipment id for orders, adjustment id for the rest.
fn sub_id(r: &SettlementRow) -> &str {
    if eq_ci(r.transaction_type.trim(), "Order") {
        r.shipment_id.trim()
    } else {
        r.adjustment_id.trim()
    }
}

fn first_posted(rs: &[&SettlementRow]) -> Option<PostedAt> {
    rs.iter()
        .filter_map(|r| r.posted)
        .min_by_key(|p| posted_key(Some(*p)))
}

/// Orders instants and days together (a day counts from its UTC midnight).
fn posted_key(p: Option<PostedAt>) -> (u8, i64) {
    match p {
        Some(PostedAt::Instant(t)) => (0, t.timestamp()),
        Some(PostedAt::Day(d)) => (
            0,
            d.and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp()),
        ),
        None => (1, 0),
    }
}

impl Ctx<'_> {
    fn problem(&mut self, line: Option<u32>, message: String) {
        self.problems.push(ArProblem { line, message });
    }

    /// The GL date: the posted day in the ledger's time zone, rolled to the
    /// first open AR period when its own is closed.
    fn gl_date(
        &mut self,
        trx: &str,
        posted: Option<PostedAt>,
        line: u32,
    ) -> (NaiveDate, NaiveDate) {
        let tz = self.opts.tz;
        let day = match posted {
            Some(PostedAt::Instant(t)) => local_day(tz, t),
            Some(PostedAt::Day(d)) => d,
            None => local_day(tz, self.summary.end),
        };
        let periods = &self.opts.calendar.periods;
        let Some(i) = self.opts.calendar.find(day) else {
            self.problem(
                Some(line),
                format!("{trx}: GL date {day} lies outside the AR calendar"),
            );
            return (day, day);
        };
        match periods[i..].iter().find(|p| p.open) {
            Some(p) if p.name == periods[i].name => (day, day),
            Some(p) => (p.start, day),
            None => {
                let name = &periods[i].name;
                self.problem(
                    Some(line),
                    format!("{trx}: AR period `{name}` is closed and no open period follows it"),
                );
                (day, day)
            }
        }
    }

    fn document(
        &mut self,
        trx_number: String,
        class: ArClass,
        kind: Option<super::CmKind>,
        order: &str,
        sub: &str,
        rs: &[&SettlementRow],
    ) -> Result<ArInvoice, ArError> {
        let sid = self.summary.settlement_id.clone();
        let first = rs[0];
        let marketplace = match first.marketplace_name.trim() {
            "" => self.marketplace.to_string(),
            m => m.to_string(),
        };
        let org_id = self
            .opts
            .org_ids
            .iter()
            .find(|(m, _)| eq_ci(m, &marketplace))
            .map(|(_, o)| *o);
        if org_id.is_none() && !self.opts.org_ids.is_empty() {
            self.problem(
                Some(first.line),
                format!("{trx_number}: no operating unit for marketplace `{marketplace}`"),
            );
        }
        let (gl_date, original_gl_date) = self.gl_date(&trx_number, first_posted(rs), first.line);
        let prefix = kind.map(|k| k.prefix().0);
        let mut lines: Vec<ArLine> = Vec::new();
        let mut comps: Vec<Component> = Vec::new();
        let mut counts: Vec<Decimal> = Vec::new();
        for r in rs {
            let doc = if class == ArClass::Inv {
                Doc::Invoice
            } else {
                Doc::Cm(kind.expect("cm kind"))
            };
            let c = Component::of(r, doc).expect("grouped rows have a component");
            let base = c.label(&r.promotion_id);
            let label = prefix.map_or(base.clone(), |p| format!("{p} {base}"));
            let code = r.order_item_code.trim();
            let at = lines
                .iter()
                .position(|l| l.flexfield[3] == code && l.flexfield[4] == label);
            let i = match at {
                Some(i) => i,
                None => {
                    lines.push(ArLine {
                        kind: c.line_kind(),
                        item: ArItem::None,
                        sku: r.sku.trim().to_string(),
                        quantity: Decimal::ZERO,
                        unit_price: Decimal::ZERO,
                        amount: Decimal::ZERO,
                        link_to: None,
                        flexfield: [
                            order.to_string(),
                            sub.to_string(),
                            sid.clone(),
                            code.to_string(),
                            label,
                        ],
                        reference: None,
                        source_lines: Vec::new(),
                    });
                    comps.push(c);
                    counts.push(Decimal::ZERO);
                    lines.len() - 1
                }
            };
            let l = &mut lines[i];
            l.amount = add(l.amount, r.amount, &sid, Some(r.line), "a line amount")?;
            l.source_lines.push(r.line);
            if l.sku.is_empty() {
                l.sku = r.sku.trim().to_string();
            }
            if let Some(q) = r.quantity_purchased.filter(|q| *q > 0) {
                counts[i] = add(
                    counts[i],
                    Decimal::from(q),
                    &sid,
                    Some(r.line),
                    "a quantity",
                )?;
            }
        }
        for i in 0..lines.len() {
            let c = comps[i];
            let line0 = lines[i].source_lines[0];
            if matches!(
                c,
                Component::Principal | Component::GiftWrap | Component::SafeT
            ) || matches!(c, Component::Promotion { shipping: false })
            {
                lines[i].item = self.item(&lines[i].sku, &marketplace, line0, &trx_number);
            }
            if let Some(target) = c.links_to() {
                let want = prefix.map_or(target.to_string(), |p| format!("{p} {target}"));
                let code = lines[i].flexfield[3].clone();
                lines[i].link_to = lines
                    .iter()
                    .position(|l| l.flexfield[3] == code && l.flexfield[4] == want);
                if lines[i].link_to.is_none() && c.is_tax() {
                    // a tax line must hang on a line; promotions alone may stand
                    self.problem(
                        Some(line0),
                        format!(
                            "{trx_number}: {} of item `{code}` has no {target} line to link to",
                            lines[i].flexfield[4]
                        ),
                    );
                }
            }
            let count = if counts[i].is_zero() || c != Component::Principal {
                Decimal::ONE
            } else {
                counts[i]
            };
            let qty = if class == ArClass::Cm { -count } else { count };
            lines[i].quantity = qty;
            lines[i].unit_price =
                lines[i]
                    .amount
                    .checked_div(qty)
                    .ok_or_else(|| ArError::Overflow {
                        settlement_id: sid.clone(),
                        line: Some(line0),
                        what: "a unit price".into(),
                    })?;
        }
        Ok(ArInvoice {
            trx_number,
            class,
            cm_kind: kind,
            order_id: order.to_string(),
            marketplace,
            org_id,
            currency: self.summary.currency.clone(),
            context: self.opts.context.clone(),
            gl_date,
            original_gl_date,
            lines,
            applies_to: None,
            on_account_reason: None,
        })
    }

    fn item(&mut self, sku: &str, marketplace: &str, line: u32, trx: &str) -> ArItem {
        if let Some(item) = self.mapping.item_for_sku(sku, marketplace) {
            return ArItem::Item(item.to_string());
        }
        match &self.mapping.ar_memo_line {
            Some(m) => ArItem::Memo(m.clone()),
            None => {
                self.problem(
                    Some(line),
                    format!("{trx}: SKU `{sku}` has no [[sku]] item and the mapping names no [ar] memo_line"),
                );
                ArItem::None
            }
        }
    }

    /// A credit memo applies to this settlement's invoice of its order, else
    /// to the EBS one the caller found; on account when neither exists or the
    /// order was invoiced before the cut-over.
    fn apply(&mut self, cm: &mut ArInvoice, own: &[ArInvoice]) {
        let codes: Vec<&str> = cm.lines.iter().map(|l| l.flexfield[3].as_str()).collect();
        let mine: Vec<&ArInvoice> = own.iter().filter(|i| i.order_id == cm.order_id).collect();
        let found = mine
            .iter()
            .find(|i| {
                i.lines
                    .iter()
                    .any(|l| codes.contains(&l.flexfield[3].as_str()))
            })
            .or(mine.first())
            .map(|i| InvoiceRef {
                trx_number: i.trx_number.clone(),
                gl_date: i.gl_date,
                lines: i.lines.iter().map(|l| l.flexfield.clone()).collect(),
            })
            .or_else(|| (self.opts.invoice_lookup)(&cm.order_id));
        let Some(inv) = found else {
            cm.on_account_reason = Some("no invoice of the order exists".into());
            return;
        };
        if let Some(cut) = self.opts.cutover.filter(|c| inv.gl_date < *c) {
            cm.on_account_reason = Some(format!(
                "the order was invoiced ({}) before the cut-over ({cut})",
                inv.gl_date
            ));
            return;
        }
        let prefix = cm.cm_kind.map_or("", |k| k.prefix().0);
        for l in &mut cm.lines {
            let base = l.flexfield[4]
                .strip_prefix(prefix)
                .map_or("", str::trim_start);
            l.reference = inv
                .lines
                .iter()
                .find(|f| f[3] == l.flexfield[3] && f[4] == base)
                .cloned();
        }
        cm.applies_to = Some(inv);
    }
}
