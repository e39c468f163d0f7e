//! Journals and the settlement rows behind them as one CSV: what `x` in the
//! review writes and `settlement show --format csv` prints. Pure text building;
//! writing the file is the sync layer's job.

use crate::ledger::journal::Journal;
use crate::ledger::model::{PostedAt, SettlementRow};
use crate::ledger::money::format_amount;

use super::view::SettlementDetail;

/// The CSV header: journal lines and rows share one shape, told apart by `record`.
pub const HEADER: &str = "record,settlement_id,period,state,revision,account,label,debit,credit,line_rows,\
row_line,posted,transaction_type,amount_type,amount_description,order_id,sku,amount";

/// One journal to export, with its state and the rows that land in it.
pub struct ExportJournal<'a> {
    pub journal: &'a Journal,
    pub state: String,
    pub revision: u32,
    pub rows: Vec<&'a SettlementRow>,
}

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn posted(p: Option<PostedAt>) -> String {
    match p {
        Some(PostedAt::Instant(i)) => i.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(PostedAt::Day(d)) => d.to_string(),
        None => String::new(),
    }
}

/// The CSV of `journals` of one settlement (amounts at the currency's `scale`).
pub fn csv(settlement_id: &str, scale: u32, journals: &[ExportJournal<'_>]) -> String {
    let money = |a| format_amount(a, scale);
    let mut out = String::from(HEADER);
    out.push('\n');
    for e in journals {
        let j = e.journal;
        let head = [
            settlement_id.to_string(),
            j.period.clone(),
            e.state.clone(),
            e.revision.to_string(),
        ];
        for l in &j.lines {
            let mut rec = vec!["journal".to_string()];
            rec.extend(head.iter().cloned());
            rec.extend([
                l.account.clone(),
                l.label.clone(),
                money(l.debit),
                money(l.credit),
                l.rows.to_string(),
            ]);
            rec.extend(std::iter::repeat_n(String::new(), 8));
            push(&mut out, &rec);
        }
        for r in &e.rows {
            let mut rec = vec!["row".to_string()];
            rec.extend(head.iter().cloned());
            rec.extend(std::iter::repeat_n(String::new(), 5));
            rec.extend([
                r.line.to_string(),
                posted(r.posted),
                r.transaction_type.clone(),
                r.amount_type.clone(),
                r.amount_description.clone(),
                r.order_id.clone(),
                r.sku.clone(),
                money(r.amount),
            ]);
            push(&mut out, &rec);
        }
    }
    out
}

fn push(out: &mut String, rec: &[String]) {
    let line: Vec<String> = rec.iter().map(|s| field(s)).collect();
    out.push_str(&line.join(","));
    out.push('\n');
}

/// The CSV of the journals `periods` (indexes into the proposal) of a reviewed
/// settlement, each with the rows behind it (all rows when the rows were not
/// assigned to periods).
pub fn detail_csv(d: &SettlementDetail, periods: &[usize]) -> String {
    let journals: Vec<ExportJournal<'_>> = periods
        .iter()
        .filter_map(|p| {
            let j = d.proposal.journals.get(*p)?;
            let batch = d.batch(&j.period);
            let mut rows: Vec<&SettlementRow> = d
                .shown_groups(*p)
                .iter()
                .flat_map(|pg| d.period_group_rows(pg))
                .map(|i| &d.rows[*i as usize])
                .collect();
            rows.sort_by_key(|r| r.line);
            Some(ExportJournal {
                journal: j,
                state: batch.map_or("proposed".into(), |b| b.state.as_str().to_string()),
                revision: batch.map_or(1, |b| b.revision),
                rows,
            })
        })
        .collect();
    csv(
        &d.summary.settlement_id,
        d.summary.currency.scale(),
        &journals,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_and_quotes_are_quoted() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("plain"), "plain");
        assert_eq!(HEADER.split(',').count(), 18);
    }
}
