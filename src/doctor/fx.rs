//! Per routing: the ledger as EBS holds it (GL_LEDGERS name and currency), whether the
//! marketplace's settlements are in another currency, and if so whether a rate of the
//! configured type exists for today (in the ledger's time zone).

use super::{Options, Report};
use crate::config::{Config, FxRateType, RoutingConfig};
use crate::ebs::{EbsClient, EbsError};

/// The currency a marketplace settles in (Amazon's reference table).
fn settlement_currency(marketplace: &str) -> Option<&'static str> {
    crate::amazon::region::marketplace(marketplace).map(|m| m.currency)
}

pub(super) async fn check_ledger_currency(
    config: &Config,
    client: &EbsClient,
    route: &RoutingConfig,
    opts: &Options,
    area: &str,
    report: &mut Report,
) {
    let ledger_id = route.ledger_id.to_string();
    let what = format!("{area} ledger {ledger_id} currency");
    let ledger = match client.ledger(&ledger_id).await {
        Ok(l) => l,
        Err(e @ EbsError::Business { .. }) => {
            report.fail(what, format!("{e} — check ledger_id of this [[routing]]"));
            return;
        }
        Err(e) => {
            report.fail(
                what,
                format!("get_ledger does not answer: {e} — deploy it (assets/ebs/DEPLOY.md)"),
            );
            return;
        }
    };
    let head = format!("{} in {}", ledger.name, ledger.currency);
    let Some(currency) = settlement_currency(route.marketplace.as_str()) else {
        report.warn(
            what,
            format!("{head}; the marketplace's settlement currency is not known here"),
        );
        return;
    };
    if currency.eq_ignore_ascii_case(&ledger.currency) {
        report.ok(
            what,
            format!("{head}; settlements in {currency}, no conversion"),
        );
        return;
    }
    let ebs = config.ebs.as_ref();
    if ebs.and_then(|e| e.fx_rounding.as_ref()).is_none() {
        report.fail(
            what,
            format!(
                "{head}; settlements in {currency} are converted: set [ebs] fx_rounding (an account for the rounding of converted amounts)"
            ),
        );
        return;
    }
    let rate_type = ebs.map(|e| e.fx_rate_type.clone()).unwrap_or_default();
    let today = opts.date_for(route.timezone.0);
    match rate_type {
        FxRateType::EventGroup => report.ok(
            what,
            format!(
                "{head}; settlements in {currency} differ: converted at Amazon's rate (event_group: each financial event group's converted total), nothing to load in EBS"
            ),
        ),
        FxRateType::Named(t) => {
            match client
                .daily_rate(currency, &ledger.currency, &t, today)
                .await
            {
                Ok(Some(rate)) => report.ok(
                    what,
                    format!(
                        "{head}; settlements in {currency} differ: {t} rate {currency}→{} on {today} is {rate}",
                        ledger.currency
                    ),
                ),
                Ok(None) => report.warn(
                    what,
                    format!(
                        "{head}; settlements in {currency} differ, but GL_DAILY_RATES has no {t} rate {currency}→{} on {today}: load the daily rates, or settlements ending today wait as needs_rate",
                        ledger.currency
                    ),
                ),
                Err(e @ EbsError::Business { .. }) => report.fail(
                    what,
                    format!(
                        "{head}; settlements in {currency} differ: {e} — [ebs] fx_rate_type must be a GL conversion type (or \"event_group\")"
                    ),
                ),
                Err(e) => report.fail(
                    what,
                    format!(
                        "{head}; settlements in {currency} differ: get_daily_rate does not answer: {e} — deploy it (assets/ebs/DEPLOY.md)"
                    ),
                ),
            }
        }
    }
}
