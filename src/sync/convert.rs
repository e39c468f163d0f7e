//! Ledger journals into EBS GL batches: routing, names, stable line keys, revision, FX.
//!
//! A stored proposal's `lines` hold the ledger's [`Journal`] of one period (typed, read by the
//! store). Converting is pure and deterministic: the same proposal, route, revision and FX
//! inputs always give the same [`GlBatch`] (same line keys, same amounts), so a restart
//! rebuilds exactly the batch it staged before and EBS can be asked about it by its keys.
//!
//! - Line key (REFERENCE23): `line_key(settlement, period, account, label)`, the label
//!   suffixed with ` [from P]` for lines rolled out of closed period `P`, since the ledger
//!   keeps such lines apart from the same account and label of the period itself.
//! - REFERENCE25 (batch level in EBS): the closed period(s) the batch's rolled lines came from,
//!   comma-separated; each rolled line also says `from P` in its description (REFERENCE10).
//! - Names: batch `AMZ <settlement>`, journal `AMZ <settlement> <period> r<revision>`.
//! - Foreign currency (settlement currency ≠ ledger currency): the conversion is chosen with
//!   [`fx::choose_conversion`] and applied to all period journals of the settlement at once with
//!   [`apply_fx`], so convert a settlement's journals together, then pick the batch. Its date is
//!   the settlement's accounting date ([`fx_date`], a day in the ledger's time zone). With
//!   Amazon's own rate (`event_group`) the clearing lines carry exactly the converted deposit;
//!   with a GL conversion type they are converted like every other line.
//!
//! The rate itself is read by [`super::batches`], which is the one caller.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::config::schema::{EbsConfig as EbsSection, FxRateType, RoutingConfig};
use crate::ebs::gl::{GlBatch, GlLine, line_key};
use crate::ledger::fx::{self, Conversion, EventGroupTotals, FxPolicy};
use crate::ledger::journal::{Journal, LineKind};
use crate::ledger::model::SettlementSummary;
use crate::ledger::money::currency_scale;

/// Where one marketplace's journals land in EBS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRoute {
    pub marketplace_id: String,
    pub ledger_id: String,
    /// The ledger's currency; `None` means the settlement's own (no conversion).
    pub ledger_currency: Option<String>,
    pub je_source: String,
    pub je_category: String,
    pub fx: FxPolicy,
}

impl LedgerRoute {
    /// From `[[routing]]` and `[ebs]` (FX rate type and rounding account). The configuration
    /// does not say the ledger currency: pass it when known (EBS ledger setup), else `None`.
    pub fn from_config(
        routing: &RoutingConfig,
        ebs: Option<&EbsSection>,
        ledger_currency: Option<&str>,
    ) -> LedgerRoute {
        let mut policy = FxPolicy::default();
        if let Some(e) = ebs {
            match &e.fx_rate_type {
                FxRateType::EventGroup => policy.prefer_event_group_rate = true,
                FxRateType::Named(n) => {
                    policy.prefer_event_group_rate = false;
                    policy.corporate_type = n.clone();
                }
            }
            if let Some(r) = &e.fx_rounding {
                policy.rounding_account = r.as_str().to_string();
            }
        }
        LedgerRoute {
            marketplace_id: routing.marketplace.as_str().to_string(),
            ledger_id: routing.ledger_id.to_string(),
            ledger_currency: ledger_currency.map(str::to_ascii_uppercase),
            je_source: routing.je_source.clone(),
            je_category: routing.je_category.clone(),
            fx: policy,
        }
    }
}

/// What is known about the money transfer and rates (foreign currency only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FxInputs {
    pub event_group: Option<EventGroupTotals>,
    /// EBS daily rate of the route's corporate type at the settlement end, when read.
    pub corporate_rate: Option<Decimal>,
}

/// Why journals could not be turned into GL batches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error(
        "settlement {settlement_id} period {period}: line {line} ({account}) has both debit and credit, or neither"
    )]
    BadLine {
        settlement_id: String,
        period: String,
        line: usize,
        account: String,
    },
    #[error(
        "settlement {settlement_id}: {currency} into a {ledger_currency} ledger needs an FX rounding account: set [ebs] fx_rounding"
    )]
    NoRoundingAccount {
        settlement_id: String,
        currency: String,
        ledger_currency: String,
    },
    #[error("settlement {settlement_id}: {source}")]
    Fx {
        settlement_id: String,
        #[source]
        source: fx::FxError,
    },
    #[error("settlement {settlement_id}: {detail}")]
    Apply {
        settlement_id: String,
        detail: String,
    },
}

/// Reads `OriginalTotal` / `ConvertedTotal` of a `FinancialEventGroup` body: as SP-API sends
/// it (`CurrencyAmount`) or as the store keeps the client's model of it (`Amount`).
pub fn event_group_totals(data: &Value) -> Option<EventGroupTotals> {
    let money = |k: &str| -> Option<(Decimal, String)> {
        let m = data.get(k)?;
        let amount = match m.get("CurrencyAmount").or_else(|| m.get("Amount"))? {
            Value::String(s) => s.parse().ok()?,
            Value::Number(n) => n.to_string().parse().ok()?,
            _ => return None,
        };
        Some((amount, m.get("CurrencyCode")?.as_str()?.to_string()))
    };
    let (original_total, original_currency) = money("OriginalTotal")?;
    let converted = money("ConvertedTotal");
    Some(EventGroupTotals {
        original_total,
        original_currency,
        converted_total: converted.as_ref().map(|c| c.0),
        converted_currency: converted.map(|c| c.1),
    })
}

/// The label a line's key and description use.
fn keyed_label(label: &str, original_period: Option<&str>) -> String {
    match original_period {
        Some(p) => format!("{label} [from {p}]"),
        None => label.to_string(),
    }
}

/// One period journal into a GL batch in the entered currency (no conversion yet).
pub fn gl_batch(
    summary: &SettlementSummary,
    journal: &Journal,
    route: &LedgerRoute,
    revision: u32,
) -> Result<GlBatch, ConvertError> {
    let sid = &summary.settlement_id;
    let period = &journal.period;
    let mut originals: Vec<&str> = Vec::new();
    let mut lines = Vec::with_capacity(journal.lines.len());
    for (i, l) in journal.lines.iter().enumerate() {
        let (dr, cr) = match (l.debit.is_zero(), l.credit.is_zero()) {
            (false, true) => (Some(l.debit), None),
            (true, false) => (None, Some(l.credit)),
            _ => {
                return Err(ConvertError::BadLine {
                    settlement_id: sid.clone(),
                    period: period.clone(),
                    line: i + 1,
                    account: l.account.clone(),
                });
            }
        };
        let orig = l.original_period.as_deref();
        if let Some(p) = orig
            && !originals.contains(&p)
        {
            originals.push(p);
        }
        let label = keyed_label(&l.label, orig);
        lines.push(GlLine {
            account: l.account.clone(),
            entered_dr: dr,
            entered_cr: cr,
            accounted_dr: None,
            accounted_cr: None,
            line_key: line_key(sid, period, &l.account, &label),
            description: label,
        });
    }
    originals.sort_unstable();
    Ok(GlBatch {
        settlement_id: sid.clone(),
        ledger_id: route.ledger_id.clone(),
        period_name: period.clone(),
        original_period: (!originals.is_empty()).then(|| originals.join(",")),
        accounting_date: journal.accounting_date,
        currency: summary.currency.code().to_string(),
        je_source: route.je_source.clone(),
        je_category: route.je_category.clone(),
        batch_name: format!("AMZ {sid}"),
        batch_description: format!(
            "Amazon settlement {sid} {} to {}",
            summary.start.date_naive(),
            summary.end.date_naive()
        ),
        journal_name: format!("AMZ {sid} {period} r{revision}"),
        journal_description: format!(
            "Amazon settlement {sid}, period {period}, revision {revision}"
        ),
        revision,
        reversed_revisions: Vec::new(),
        reference_period: None,
        conversion: None,
        lines,
    })
}

/// All period journals of one settlement (with each batch's revision) into GL batches,
/// converted into the ledger currency when it differs from the settlement's.
pub fn gl_batches(
    summary: &SettlementSummary,
    journals: &[(Journal, u32)],
    route: &LedgerRoute,
    fx_inputs: &FxInputs,
) -> Result<Vec<GlBatch>, ConvertError> {
    let mut batches = journals
        .iter()
        .map(|(j, rev)| gl_batch(summary, j, route, *rev))
        .collect::<Result<Vec<_>, _>>()?;
    let currency = summary.currency.code();
    let Some(ledger_currency) = route
        .ledger_currency
        .as_deref()
        .filter(|l| !l.eq_ignore_ascii_case(currency))
    else {
        return Ok(batches);
    };
    let sid = &summary.settlement_id;
    if route.fx.rounding_account.is_empty() {
        return Err(ConvertError::NoRoundingAccount {
            settlement_id: sid.clone(),
            currency: currency.to_string(),
            ledger_currency: ledger_currency.to_string(),
        });
    }
    let group = fx_inputs
        .event_group
        .clone()
        .unwrap_or_else(|| EventGroupTotals {
            original_total: summary.total_amount,
            original_currency: currency.to_string(),
            converted_total: None,
            converted_currency: None,
        });
    let date = fx_date(journals).unwrap_or_else(|| summary.end.date_naive());
    let conversion = fx::choose_conversion(
        &route.fx,
        &group,
        ledger_currency,
        date,
        fx_inputs.corporate_rate,
    )
    .map_err(|source| ConvertError::Fx {
        settlement_id: sid.clone(),
        source,
    })?;
    // Amazon's rate: the clearing lines carry the deposit as it went out (only known in the
    // ledger currency when it went out in it). A GL rate converts them like any line.
    let deposit = group.converted_total.filter(|_| {
        conversion.user_rate
            && group
                .converted_currency
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(ledger_currency))
    });
    let clearing: std::collections::HashSet<String> = journals
        .iter()
        .zip(&batches)
        .flat_map(|((j, _), b)| {
            j.lines
                .iter()
                .zip(&b.lines)
                .filter(|(l, _)| l.kind == LineKind::Clearing)
                .map(|(_, g)| g.line_key.clone())
        })
        .collect();
    apply_fx(
        &mut batches,
        &conversion,
        ledger_currency,
        deposit,
        &route.fx.rounding_account,
        |l| clearing.contains(&l.line_key),
    )
    .map_err(|e| ConvertError::Apply {
        settlement_id: sid.clone(),
        detail: format!("foreign currency: {e}"),
    })?;
    Ok(batches)
}

/// The date a settlement is converted at: its accounting date, i.e. the latest accounting
/// date of its period journals (the day its end falls on in the ledger's time zone, or the
/// end of the open period its last rows were rolled into). `None` without journals.
pub fn fx_date(journals: &[(Journal, u32)]) -> Option<NaiveDate> {
    journals.iter().map(|(j, _)| j.accounting_date).max()
}

/// Fills accounted amounts of a settlement's period journals (all in one foreign currency)
/// and appends each journal's rounding line: clearing lines carry exactly the converted
/// deposit, every journal balances in both currencies (see [`fx::convert_settlement`]).
pub fn apply_fx(
    batches: &mut [GlBatch],
    conversion: &Conversion,
    ledger_currency: &str,
    converted_deposit: Option<Decimal>,
    rounding_account: &str,
    is_clearing: impl Fn(&GlLine) -> bool,
) -> Result<(), fx::FxError> {
    let journals: Vec<Vec<fx::FxLine>> = batches
        .iter()
        .map(|b| {
            b.lines
                .iter()
                .map(|l| fx::FxLine {
                    entered_dr: l.entered_dr.unwrap_or_default(),
                    entered_cr: l.entered_cr.unwrap_or_default(),
                    clearing: is_clearing(l),
                })
                .collect()
        })
        .collect();
    let converted = fx::convert_settlement(
        &journals,
        conversion.rate,
        currency_scale(ledger_currency),
        converted_deposit,
    )?;
    for (b, c) in batches.iter_mut().zip(converted) {
        b.conversion = Some(conversion.clone());
        for (l, a) in b.lines.iter_mut().zip(&c.lines) {
            if l.entered_cr.is_some() && l.entered_dr.is_none() {
                l.accounted_cr = Some(a.cr);
                l.accounted_dr = None;
            } else {
                l.accounted_dr = Some(a.dr);
                l.accounted_cr = None;
            }
        }
        if let Some(r) = c.rounding {
            let (dr, cr) = if r.dr.is_zero() {
                (None, Some(Decimal::ZERO))
            } else {
                (Some(Decimal::ZERO), None)
            };
            b.lines.push(GlLine {
                account: rounding_account.to_string(),
                entered_dr: dr,
                entered_cr: cr,
                accounted_dr: dr.map(|_| r.dr),
                accounted_cr: cr.map(|_| r.cr),
                description: "FX rounding".to_string(),
                line_key: line_key(
                    &b.settlement_id,
                    &b.period_name,
                    rounding_account,
                    "FX rounding",
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebs::gl::tests::batch;
    use crate::ledger::journal::{CLEARING_LABEL, JournalLine};
    use crate::ledger::model::SettlementFormat;
    use crate::ledger::money::Currency;
    use chrono::{TimeZone, Utc};

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn summary(currency: &str) -> SettlementSummary {
        SettlementSummary {
            settlement_id: "S1".into(),
            format: SettlementFormat::V2,
            start: Utc.with_ymd_and_hms(2026, 9, 24, 8, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 10, 8, 8, 0, 0).unwrap(),
            deposit_date: None,
            total_amount: d("90"),
            currency: Currency::new(currency),
        }
    }

    fn line(account: &str, label: &str, dr: &str, cr: &str, kind: LineKind) -> JournalLine {
        JournalLine {
            account: account.into(),
            label: label.into(),
            debit: d(dr),
            credit: d(cr),
            rows: 1,
            original_period: None,
            kind,
            rules: vec![],
            ap: false,
        }
    }

    fn journal(period: &str) -> Journal {
        let mut rolled = line("01-000-4010-0000-000", "Sales", "0", "20", LineKind::Mapped);
        rolled.original_period = Some("SEP-25".into());
        let lines = vec![
            line("01-000-4010-0000-000", "Sales", "0", "80", LineKind::Mapped),
            rolled,
            line("01-000-6110-0000-000", "Fees", "10", "0", LineKind::Mapped),
            line(
                "01-000-1190-0000-000",
                CLEARING_LABEL,
                "90",
                "0",
                LineKind::Clearing,
            ),
        ];
        Journal {
            period: period.into(),
            accounting_date: NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(),
            lines,
            zero_net: vec![],
            total_debit: d("100"),
            total_credit: d("100"),
        }
    }

    fn route(ledger_currency: Option<&str>) -> LedgerRoute {
        LedgerRoute {
            marketplace_id: "ATVPDKIKX0DER".into(),
            ledger_id: "1".into(),
            ledger_currency: ledger_currency.map(str::to_string),
            je_source: "Amazon".into(),
            je_category: "Amazon Settlement".into(),
            fx: FxPolicy {
                rounding_account: "01-000-7990-0000-000".into(),
                ..FxPolicy::default()
            },
        }
    }

    #[test]
    fn rolled_lines_get_their_own_key_and_reference25() {
        let b = gl_batch(&summary("USD"), &journal("OCT-26"), &route(None), 2).unwrap();
        assert!(b.shape_failures().is_empty(), "{:?}", b.shape_failures());
        assert_eq!(b.original_period.as_deref(), Some("SEP-25"));
        assert_ne!(b.lines[0].line_key, b.lines[1].line_key);
        assert_eq!(b.lines[1].description, "Sales [from SEP-25]");
        assert_eq!(b.revision, 2);
        assert_eq!(b.journal_name, "AMZ S1 OCT-26 r2");
        assert_eq!(b.lines[2].entered_dr, Some(d("10")));
        assert_eq!(b.lines[2].entered_cr, None);
        // Deterministic: the same inputs give the same batch.
        assert_eq!(
            b,
            gl_batch(&summary("USD"), &journal("OCT-26"), &route(None), 2).unwrap()
        );
    }

    #[test]
    fn foreign_currency_clearing_carries_the_deposit() {
        let eg = EventGroupTotals {
            original_total: d("90"),
            original_currency: "EUR".into(),
            converted_total: Some(d("97.23")),
            converted_currency: Some("USD".into()),
        };
        let bs = gl_batches(
            &summary("EUR"),
            &[(journal("OCT-26"), 1)],
            &route(Some("USD")),
            &FxInputs {
                event_group: Some(eg),
                corporate_rate: None,
            },
        )
        .unwrap();
        let b = &bs[0];
        assert!(b.conversion.as_ref().is_some_and(|c| c.user_rate));
        assert!(b.shape_failures().is_empty(), "{:?}", b.shape_failures());
        let clearing = b
            .lines
            .iter()
            .find(|l| l.account == "01-000-1190-0000-000")
            .unwrap();
        assert_eq!(clearing.accounted_dr, Some(d("97.23")));
    }

    #[test]
    fn foreign_currency_without_a_rate_says_so() {
        let e = gl_batches(
            &summary("EUR"),
            &[(journal("OCT-26"), 1)],
            &route(Some("USD")),
            &FxInputs::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("GL_DAILY_RATES"), "{e}");
    }

    #[test]
    fn event_group_totals_are_read_from_the_sp_api_body() {
        let v = serde_json::json!({
            "OriginalTotal": {"CurrencyCode": "EUR", "CurrencyAmount": 90.5},
            "ConvertedTotal": {"CurrencyCode": "USD", "CurrencyAmount": "97.23"}
        });
        let t = event_group_totals(&v).unwrap();
        assert_eq!(t.original_total, d("90.5"));
        assert_eq!(t.converted_total, Some(d("97.23")));
        assert_eq!(t.converted_currency.as_deref(), Some("USD"));
        // The stored form: the client's model, amounts as text under `Amount`.
        let stored = serde_json::json!({
            "OriginalTotal": {"CurrencyCode": "GBP", "Amount": "-12.50"},
            "ConvertedTotal": {"CurrencyCode": "USD", "Amount": "-15.81"}
        });
        let t = event_group_totals(&stored).unwrap();
        assert_eq!(t.original_total, d("-12.50"));
        assert_eq!(t.converted_total, Some(d("-15.81")));
    }

    #[test]
    fn fx_batches_balance_in_both_currencies() {
        let mut a = batch();
        a.currency = "EUR".into();
        let mut b2 = batch();
        b2.currency = "EUR".into();
        b2.period_name = "NOV-26".into();
        let conv = Conversion {
            conversion_type: "User".into(),
            date: a.accounting_date,
            rate: d("1.0833"),
            user_rate: true,
        };
        let mut batches = vec![a, b2];
        apply_fx(
            &mut batches,
            &conv,
            "USD",
            Some(d("195.01")),
            "01-000-7990-0000-000",
            |l| l.account == "01-000-1190-0000-000",
        )
        .expect("fx");
        let mut clearing = Decimal::ZERO;
        for b in &batches {
            assert!(b.shape_failures().is_empty(), "{:?}", b.shape_failures());
            let (dr, cr) = b.accounted_totals();
            assert_eq!(dr, cr);
            clearing += b
                .lines
                .iter()
                .filter(|l| l.account == "01-000-1190-0000-000")
                .map(|l| l.accounted_dr.unwrap_or_default() - l.accounted_cr.unwrap_or_default())
                .sum::<Decimal>();
        }
        assert_eq!(clearing, d("195.01"));
        assert!(
            batches.iter().any(|b| b.lines.len() == 4),
            "a rounding line was added"
        );
    }
}
