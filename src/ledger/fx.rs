//! Foreign currency: which conversion a settlement's journals carry and their accounted amounts.
//!
//! A EUR settlement going into a USD ledger is converted by us, not by Journal Import, so the
//! bank clearing lines can carry exactly the dollars that arrived: the converted deposit is
//! spread over the settlement's period journals, every other line is converted at the rate,
//! and whatever rounding is left in a journal goes to a configured FX rounding account. Every
//! journal then balances in the entered and in the ledger currency.
//!
//! Pure code: no IO, no clock. Rates are passed in.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// How the rate of a settlement is chosen (configured per customer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FxPolicy {
    /// EBS user conversion type used when no implied rate applies (e.g. `Corporate`).
    pub corporate_type: String,
    /// Use the rate implied by the financial event group (converted / original total) as a
    /// `User` rate when the disbursement currency is the ledger's.
    pub prefer_event_group_rate: bool,
    /// Account (segments joined by '-') receiving each journal's accounted rounding remainder.
    pub rounding_account: String,
    /// Decimal places kept in a derived rate.
    pub rate_scale: u32,
}

impl Default for FxPolicy {
    fn default() -> Self {
        FxPolicy {
            corporate_type: "Corporate".to_string(),
            prefer_event_group_rate: true,
            rounding_account: String::new(),
            rate_scale: 10,
        }
    }
}

/// What Amazon reports about the money transfer of a financial event group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventGroupTotals {
    /// Total in the settlement (marketplace) currency.
    pub original_total: Decimal,
    pub original_currency: String,
    /// Total as transferred, in the disbursement currency; `None` when not transferred yet.
    pub converted_total: Option<Decimal>,
    pub converted_currency: Option<String>,
}

/// The conversion attributes a foreign-currency journal carries (GL_INTERFACE
/// `USER_CURRENCY_CONVERSION_TYPE`, `CURRENCY_CONVERSION_DATE`, `CURRENCY_CONVERSION_RATE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    /// `User` for an implied rate, else the configured corporate type.
    pub conversion_type: String,
    pub date: NaiveDate,
    /// Entered → ledger currency multiplier used for the accounted amounts.
    pub rate: Decimal,
    /// Whether the rate must be sent to EBS (`User` type, EC01) or is EBS's own daily rate.
    pub user_rate: bool,
}

/// Why conversion could not be decided or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FxError {
    #[error(
        "no {conversion_type} rate for {from}→{to} on {date}: load the daily rate in EBS (GL_DAILY_RATES) or configure the rate"
    )]
    MissingRate {
        conversion_type: String,
        from: String,
        to: String,
        date: NaiveDate,
    },
    #[error("rate {0} is not positive")]
    BadRate(Decimal),
    #[error(
        "journal {journal} does not balance in the entered currency (debits {dr}, credits {cr})"
    )]
    EnteredUnbalanced {
        journal: usize,
        dr: Decimal,
        cr: Decimal,
    },
    #[error(
        "converted deposit {deposit} cannot be spread: the settlement's clearing lines total zero in the entered currency"
    )]
    NoClearingToSpread { deposit: Decimal },
    #[error(
        "{what} overflows a decimal (more than {} in absolute value): amounts this large are no \
         real settlement; check the settlement file and the rate",
        Decimal::MAX
    )]
    Overflow { what: String },
}

/// The overflow error for `what`.
fn overflow(what: impl Into<String>) -> FxError {
    FxError::Overflow { what: what.into() }
}

/// The sum of `amounts`, or the overflow error for `what()`.
fn checked_sum(
    amounts: impl IntoIterator<Item = Decimal>,
    what: impl FnOnce() -> String,
) -> Result<Decimal, FxError> {
    amounts
        .into_iter()
        .try_fold(Decimal::ZERO, Decimal::checked_add)
        .ok_or_else(|| overflow(what()))
}

/// Decides the conversion of a settlement into the ledger currency.
///
/// `corporate_rate` is EBS's daily rate of the corporate type at `date` (read by the caller);
/// it is only needed when no implied rate applies.
pub fn choose_conversion(
    policy: &FxPolicy,
    group: &EventGroupTotals,
    ledger_currency: &str,
    date: NaiveDate,
    corporate_rate: Option<Decimal>,
) -> Result<Conversion, FxError> {
    if policy.prefer_event_group_rate
        && let Some(rate) = implied_rate(group, ledger_currency, policy.rate_scale)
    {
        return Ok(Conversion {
            conversion_type: "User".to_string(),
            date,
            rate,
            user_rate: true,
        });
    }
    let rate = corporate_rate.ok_or_else(|| FxError::MissingRate {
        conversion_type: policy.corporate_type.clone(),
        from: group.original_currency.clone(),
        to: ledger_currency.to_string(),
        date,
    })?;
    if rate <= Decimal::ZERO {
        return Err(FxError::BadRate(rate));
    }
    Ok(Conversion {
        conversion_type: policy.corporate_type.clone(),
        date,
        rate,
        user_rate: false,
    })
}

/// converted / original, when the money went out in the ledger currency and both totals are
/// non-zero; `None` means "fall back to the corporate type".
pub fn implied_rate(
    group: &EventGroupTotals,
    ledger_currency: &str,
    scale: u32,
) -> Option<Decimal> {
    let converted = group.converted_total?;
    let currency = group.converted_currency.as_deref()?;
    if !currency.eq_ignore_ascii_case(ledger_currency)
        || converted.is_zero()
        || group.original_total.is_zero()
    {
        return None;
    }
    // a quotient beyond a decimal implies no rate
    let rate = converted
        .checked_div(group.original_total)?
        .round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    (rate > Decimal::ZERO).then_some(rate)
}

/// One entered line of a journal to convert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxLine {
    pub entered_dr: Decimal,
    pub entered_cr: Decimal,
    /// Bank clearing line: its accounted amount comes from the converted deposit.
    pub clearing: bool,
}

/// Accounted amounts of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Accounted {
    pub dr: Decimal,
    pub cr: Decimal,
}

/// A journal's accounted amounts plus, when needed, its rounding line (entered zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertedJournal {
    pub lines: Vec<Accounted>,
    pub rounding: Option<Accounted>,
}

/// Converts all period journals of one settlement.
///
/// Non-clearing lines: entered × rate rounded to the ledger scale. Clearing lines: together
/// exactly `converted_deposit` (signed like the entered clearing net, debit positive), spread
/// in proportion to their entered amounts by cumulative rounding; when no deposit is known
/// they are converted like any line. Each journal's accounted difference becomes a rounding
/// line for `policy.rounding_account`.
pub fn convert_settlement(
    journals: &[Vec<FxLine>],
    rate: Decimal,
    ledger_scale: u32,
    converted_deposit: Option<Decimal>,
) -> Result<Vec<ConvertedJournal>, FxError> {
    if rate <= Decimal::ZERO {
        return Err(FxError::BadRate(rate));
    }
    // Every sum and product below is of amounts from the settlement: checked.
    let signed = |l: &FxLine| {
        l.entered_dr
            .checked_sub(l.entered_cr)
            .ok_or_else(|| overflow("a line's debit minus its credit"))
    };
    for (j, lines) in journals.iter().enumerate() {
        let dr = checked_sum(lines.iter().map(|l| l.entered_dr), || {
            format!("the entered debits of journal {j}")
        })?;
        let cr = checked_sum(lines.iter().map(|l| l.entered_cr), || {
            format!("the entered credits of journal {j}")
        })?;
        if dr != cr {
            return Err(FxError::EnteredUnbalanced { journal: j, dr, cr });
        }
    }
    let round =
        |d: Decimal| d.round_dp_with_strategy(ledger_scale, RoundingStrategy::MidpointAwayFromZero);
    let clearing_total =
        journals
            .iter()
            .flatten()
            .filter(|l| l.clearing)
            .try_fold(Decimal::ZERO, |sum, l| {
                sum.checked_add(signed(l)?)
                    .ok_or_else(|| overflow("the entered clearing lines of all journals"))
            })?;
    let target = match converted_deposit {
        Some(dep) => {
            if clearing_total.is_zero() && !dep.is_zero() {
                return Err(FxError::NoClearingToSpread { deposit: dep });
            }
            dep
        }
        None => round(
            clearing_total
                .checked_mul(rate)
                .ok_or_else(|| overflow("the clearing total times the rate"))?,
        ),
    };

    // Cumulative rounding over the clearing lines in order: the shares add up to `target`.
    let mut cum_entered = Decimal::ZERO;
    let mut cum_alloc = Decimal::ZERO;
    let mut out = Vec::with_capacity(journals.len());
    for lines in journals {
        let mut acc_lines = Vec::with_capacity(lines.len());
        let mut net = Decimal::ZERO;
        for line in lines {
            let signed_entered = signed(line)?;
            let signed_acc = if line.clearing {
                cum_entered = cum_entered
                    .checked_add(signed_entered)
                    .ok_or_else(|| overflow("the entered clearing lines"))?;
                let upto = if clearing_total.is_zero() {
                    Decimal::ZERO
                } else {
                    round(
                        target
                            .checked_mul(cum_entered)
                            .and_then(|x| x.checked_div(clearing_total))
                            .ok_or_else(|| overflow("the deposit's share of a clearing line"))?,
                    )
                };
                let share = upto
                    .checked_sub(cum_alloc)
                    .ok_or_else(|| overflow("the deposit's share of a clearing line"))?;
                cum_alloc = upto;
                share
            } else {
                round(
                    signed_entered
                        .checked_mul(rate)
                        .ok_or_else(|| overflow("a line's amount times the rate"))?,
                )
            };
            net = net
                .checked_add(signed_acc)
                .ok_or_else(|| overflow("the accounted amounts of a journal"))?;
            // Keep the accounted amount on the entered side.
            let acc = if line.entered_cr > line.entered_dr {
                Accounted {
                    dr: Decimal::ZERO,
                    cr: -signed_acc,
                }
            } else {
                Accounted {
                    dr: signed_acc,
                    cr: Decimal::ZERO,
                }
            };
            acc_lines.push(acc);
        }
        let rounding = if net.is_zero() {
            None
        } else if net > Decimal::ZERO {
            Some(Accounted {
                dr: Decimal::ZERO,
                cr: net,
            })
        } else {
            Some(Accounted {
                dr: -net,
                cr: Decimal::ZERO,
            })
        };
        out.push(ConvertedJournal {
            lines: acc_lines,
            rounding,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal literal")
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 31).expect("date")
    }

    fn group(orig: &str, conv: Option<&str>, cur: Option<&str>) -> EventGroupTotals {
        EventGroupTotals {
            original_total: d(orig),
            original_currency: "EUR".into(),
            converted_total: conv.map(d),
            converted_currency: cur.map(str::to_string),
        }
    }

    #[test]
    fn implied_user_rate_when_disbursed_in_ledger_currency() {
        let c = choose_conversion(
            &FxPolicy::default(),
            &group("1000.00", Some("1083.45"), Some("USD")),
            "USD",
            date(),
            None,
        )
        .expect("conversion");
        assert_eq!(c.conversion_type, "User");
        assert!(c.user_rate);
        assert_eq!(c.rate, d("1.08345"));
    }

    #[test]
    fn falls_back_to_corporate_when_zero_or_not_transferred_or_other_currency() {
        let p = FxPolicy::default();
        for g in [
            group("0", Some("10"), Some("USD")),
            group("1000", Some("0"), Some("USD")),
            group("1000", None, None),
            group("1000", Some("900"), Some("GBP")),
        ] {
            let c = choose_conversion(&p, &g, "USD", date(), Some(d("1.1"))).expect("corporate");
            assert_eq!(c.conversion_type, "Corporate");
            assert!(!c.user_rate);
            assert_eq!(c.rate, d("1.1"));
        }
        let err = choose_conversion(&p, &group("1000", None, None), "USD", date(), None)
            .expect_err("no rate");
        assert!(matches!(err, FxError::MissingRate { .. }), "{err}");
    }

    #[test]
    fn corporate_when_policy_says_so() {
        let p = FxPolicy {
            prefer_event_group_rate: false,
            ..FxPolicy::default()
        };
        let c = choose_conversion(
            &p,
            &group("1000", Some("1083.45"), Some("USD")),
            "USD",
            date(),
            Some(d("1.08")),
        )
        .expect("conversion");
        assert_eq!(c.conversion_type, "Corporate");
    }

    fn line(dr: &str, cr: &str, clearing: bool) -> FxLine {
        FxLine {
            entered_dr: d(dr),
            entered_cr: d(cr),
            clearing,
        }
    }

    fn check_balanced(journals: &[Vec<FxLine>], conv: &[ConvertedJournal]) {
        for (lines, c) in journals.iter().zip(conv) {
            let dr: Decimal = c.lines.iter().map(|a| a.dr).sum::<Decimal>()
                + c.rounding.map(|r| r.dr).unwrap_or_default();
            let cr: Decimal = c.lines.iter().map(|a| a.cr).sum::<Decimal>()
                + c.rounding.map(|r| r.cr).unwrap_or_default();
            assert_eq!(dr, cr, "accounted unbalanced");
            assert_eq!(lines.len(), c.lines.len());
        }
    }

    fn clearing_sum(journals: &[Vec<FxLine>], conv: &[ConvertedJournal]) -> Decimal {
        journals
            .iter()
            .zip(conv)
            .flat_map(|(ls, c)| ls.iter().zip(&c.lines))
            .filter(|(l, _)| l.clearing)
            .map(|(_, a)| a.dr - a.cr)
            .sum()
    }

    #[test]
    fn deposit_spread_over_two_period_journals_with_rounding_lines() {
        // March and April journals of one settlement; deposit 1000.00 EUR → 1083.47 USD.
        let journals = vec![
            vec![
                line("600.00", "0", true),
                line("0", "700.01", false),
                line("100.01", "0", false),
            ],
            vec![line("400.00", "0", true), line("0", "400.00", false)],
        ];
        let conv =
            convert_settlement(&journals, d("1.08345"), 2, Some(d("1083.47"))).expect("convert");
        check_balanced(&journals, &conv);
        assert_eq!(clearing_sum(&journals, &conv), d("1083.47"));
        // 600/1000 of 1083.47 = 650.082 → 650.08; the rest 433.39.
        assert_eq!(conv[0].lines[0].dr, d("650.08"));
        assert_eq!(conv[1].lines[0].dr, d("433.39"));
        assert_eq!(conv[0].lines[1].cr, d("758.43"));
        assert_eq!(conv[1].lines[1].cr, d("433.38"));
        assert_eq!(
            conv[1].rounding,
            Some(Accounted {
                dr: Decimal::ZERO,
                cr: d("0.01")
            })
        );
    }

    #[test]
    fn negative_deposit_is_a_credit_clearing() {
        let journals = vec![vec![line("0", "50.00", true), line("50.00", "0", false)]];
        let conv = convert_settlement(&journals, d("1.1"), 2, Some(d("-55.02"))).expect("ok");
        check_balanced(&journals, &conv);
        assert_eq!(conv[0].lines[0].cr, d("55.02"));
        assert_eq!(conv[0].rounding.expect("rounding").dr, d("0.02"));
    }

    #[test]
    fn refuses_unbalanced_entered_and_unspreadable_deposit() {
        let bad = vec![vec![line("1", "0", true), line("0", "2", false)]];
        assert!(matches!(
            convert_settlement(&bad, d("1.1"), 2, None),
            Err(FxError::EnteredUnbalanced { journal: 0, .. })
        ));
        let none = vec![vec![line("1", "0", false), line("0", "1", false)]];
        assert!(matches!(
            convert_settlement(&none, d("1.1"), 2, Some(d("5"))),
            Err(FxError::NoClearingToSpread { .. })
        ));
        assert!(matches!(
            convert_settlement(&none, d("0"), 2, None),
            Err(FxError::BadRate(_))
        ));
    }

    #[test]
    fn jpy_ledger_scale_zero() {
        let journals = vec![vec![line("10.00", "0", true), line("0", "10.00", false)]];
        let conv = convert_settlement(&journals, d("161.234"), 0, None).expect("ok");
        check_balanced(&journals, &conv);
        assert_eq!(conv[0].lines[0].dr, d("1612"));
    }

    /// Amounts near the decimal's limit: an error saying what overflowed, never a panic.
    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let huge = "79000000000000000000000000000";
        // the entered debits of one journal
        let j = vec![vec![
            line(huge, "0", false),
            line(huge, "0", false),
            line("0", huge, true),
        ]];
        let err = convert_settlement(&j, d("1"), 2, None).expect_err("overflow");
        assert!(err.to_string().contains("overflow"), "{err}");
        // the clearing lines of two journals
        let j = vec![
            vec![line(huge, "0", true), line("0", huge, false)],
            vec![line(huge, "0", true), line("0", huge, false)],
        ];
        let err = convert_settlement(&j, d("1"), 2, None).expect_err("overflow");
        assert!(err.to_string().contains("overflow"), "{err}");
        // one line times the rate, and the spread of a deposit
        let j = vec![vec![line(huge, "0", true), line("0", huge, false)]];
        let err = convert_settlement(&j, d("1.5"), 2, None).expect_err("overflow");
        assert!(err.to_string().contains("overflow"), "{err}");
        let err = convert_settlement(&j, d("1.5"), 2, Some(d(huge))).expect_err("overflow");
        assert!(err.to_string().contains("overflow"), "{err}");
        // an implied rate beyond a decimal: none implied
        let g = group("0.0000000001", Some(huge), Some("USD"));
        assert_eq!(implied_rate(&g, "USD", 10), None);
    }

    fn cents() -> impl Strategy<Value = Decimal> {
        (1i64..5_000_000).prop_map(|c| Decimal::new(c, 2))
    }

    proptest! {
        #[test]
        fn balanced_in_both_currencies_and_clearing_equals_deposit(
            journals in prop::collection::vec(
                (prop::collection::vec((cents(), any::<bool>()), 1..8), any::<bool>()),
                1..5,
            ),
            rate_milli in 1i64..500_000,
            drift in -500i64..500,
        ) {
            let rate = Decimal::new(rate_milli, 5);
            // Build balanced entered journals: non-clearing lines random sides, clearing line
            // closes each journal.
            let built: Vec<Vec<FxLine>> = journals.iter().map(|(ls, _)| {
                let mut lines: Vec<FxLine> = ls.iter().map(|(amt, is_dr)| FxLine {
                    entered_dr: if *is_dr { *amt } else { Decimal::ZERO },
                    entered_cr: if *is_dr { Decimal::ZERO } else { *amt },
                    clearing: false,
                }).collect();
                let net: Decimal = lines.iter().map(|l| l.entered_dr - l.entered_cr).sum();
                lines.push(FxLine {
                    entered_dr: if net < Decimal::ZERO { -net } else { Decimal::ZERO },
                    entered_cr: if net > Decimal::ZERO { net } else { Decimal::ZERO },
                    clearing: true,
                });
                lines
            }).collect();
            let clearing: Decimal = built.iter().flatten().filter(|l| l.clearing)
                .map(|l| l.entered_dr - l.entered_cr).sum();
            let deposit = if clearing.is_zero() {
                None
            } else {
                Some((clearing * rate).round_dp(2) + Decimal::new(drift, 2))
            };
            let conv = convert_settlement(&built, rate, 2, deposit).expect("convert");
            check_balanced(&built, &conv);
            if let Some(dep) = deposit {
                prop_assert_eq!(clearing_sum(&built, &conv), dep);
            }
            for c in &conv {
                for a in c.lines.iter().chain(c.rounding.iter()) {
                    prop_assert_eq!(a.dr.round_dp(2), a.dr);
                    prop_assert_eq!(a.cr.round_dp(2), a.cr);
                }
            }
        }
    }
}
