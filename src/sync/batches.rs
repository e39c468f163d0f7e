//! One stored settlement → its proposal (the ledger's period journals) and its GL batches,
//! in the ledger's currency. The only place this is done: the propose step of every sync
//! run (headless and the workstation's rounds), the workstation's review and mapping
//! preview, and (from the stored journals) the posting engine.
//!
//! Everything that decides the outcome comes from EBS, read once per run through a
//! [`LedgerBook`]: the ledger (GL_LEDGERS: name and currency), its open periods, and for a
//! settlement in another currency the rate (GL_DAILY_RATES of the configured conversion type
//! on the settlement's accounting date, or Amazon's own rate from the financial event group).
//! Every date is a day in the ledger's time zone (`[[routing]] timezone`). EBS configured but
//! unreachable is an error (never a guessed calendar); only a configuration without any EBS
//! connection proposes against calendar months, without GL batches.
//!
//! A missing rate is not an error: [`Gl::NeedsRate`] says which (type, currency pair, date),
//! and the batch waits as `needs_rate` until a later run finds it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use chrono::{Months, NaiveDate};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::config::RoutingConfig;
use crate::ebs::checks::OpenPeriod;
use crate::ebs::{EbsClient, EbsError, GlBatch, LedgerInfo, OperatingUnitInfo};
use crate::ledger::fx::{self, EventGroupTotals, FxError};
use crate::ledger::journal::{Engine, Journal, Proposal, propose_file};
use crate::ledger::mapping::Mapping;
use crate::ledger::model::{SettlementRow, SettlementSummary};
use crate::ledger::parse::{SettlementFile, decode};
use crate::ledger::periods::{Calendar, local_day};
use crate::store::{SettlementRecord, Store};

use super::context::SyncContext;
use super::convert::{self, ConvertError, FxInputs, LedgerRoute};
use super::messages::SyncError;
use super::propose::calendar_from_open;

type RateKey = (String, String, String, NaiveDate);

#[derive(Debug, Default)]
struct Book {
    /// Every ledger as last read (kept across runs for screens and reports).
    ledgers: BTreeMap<String, LedgerInfo>,
    /// Ledgers read in this run.
    fresh: BTreeSet<String>,
    /// Every operating unit as last read (kept across runs, like ledgers).
    units: BTreeMap<String, OperatingUnitInfo>,
    /// Operating units read in this run.
    fresh_units: BTreeSet<String>,
    periods: BTreeMap<String, Vec<OpenPeriod>>,
    rates: BTreeMap<RateKey, Option<Decimal>>,
}

/// What EBS said about ledgers in this run: each ledger, its open periods, the daily rates
/// asked for. [`LedgerBook::begin_run`] forgets them, so a rate loaded between two runs is
/// seen by the next one. Shared by a run's propose step, its posting engine and the
/// workstation (cheap behind an `Arc`).
#[derive(Debug, Default)]
pub struct LedgerBook {
    book: Mutex<Book>,
}

impl LedgerBook {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Book) -> T) -> T {
        let mut g = self.book.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// A new run reads everything again (ledgers stay known for display until re-read).
    pub fn begin_run(&self) {
        self.with(|b| {
            b.fresh.clear();
            b.fresh_units.clear();
            b.periods.clear();
            b.rates.clear();
        });
    }

    /// The ledger as last read (this run or an earlier one), without asking EBS.
    pub fn known(&self, ledger_id: &str) -> Option<LedgerInfo> {
        self.with(|b| b.ledgers.get(ledger_id).cloned())
    }

    /// Every ledger read so far, by id.
    pub fn known_ledgers(&self) -> Vec<LedgerInfo> {
        self.with(|b| b.ledgers.values().cloned().collect())
    }

    /// The ledger (`get_ledger`), read once per run.
    pub async fn ledger(
        &self,
        client: &EbsClient,
        ledger_id: &str,
    ) -> Result<LedgerInfo, EbsError> {
        let cached = self.with(|b| {
            b.fresh
                .contains(ledger_id)
                .then(|| b.ledgers.get(ledger_id).cloned())
                .flatten()
        });
        if let Some(l) = cached {
            return Ok(l);
        }
        let l = client.ledger(ledger_id).await?;
        self.with(|b| {
            b.fresh.insert(ledger_id.to_string());
            b.ledgers.insert(ledger_id.to_string(), l.clone());
        });
        Ok(l)
    }

    /// The operating unit as last read (this run or an earlier one), without asking EBS.
    pub fn known_operating_unit(&self, org_id: &str) -> Option<OperatingUnitInfo> {
        self.with(|b| b.units.get(org_id).cloned())
    }

    /// The operating unit (`get_operating_unit`), read once per run.
    pub async fn operating_unit(
        &self,
        client: &EbsClient,
        org_id: &str,
    ) -> Result<OperatingUnitInfo, EbsError> {
        let cached = self.with(|b| {
            b.fresh_units
                .contains(org_id)
                .then(|| b.units.get(org_id).cloned())
                .flatten()
        });
        if let Some(o) = cached {
            return Ok(o);
        }
        let o = client.operating_unit(org_id).await?;
        self.with(|b| {
            b.fresh_units.insert(org_id.to_string());
            b.units.insert(org_id.to_string(), o.clone());
        });
        Ok(o)
    }

    /// The ledger's open and future-enterable GL periods, read once per run.
    pub async fn open_periods(
        &self,
        client: &EbsClient,
        ledger_id: &str,
    ) -> Result<Vec<OpenPeriod>, EbsError> {
        if let Some(p) = self.with(|b| b.periods.get(ledger_id).cloned()) {
            return Ok(p);
        }
        let p = client.open_periods(ledger_id).await?;
        self.with(|b| b.periods.insert(ledger_id.to_string(), p.clone()));
        Ok(p)
    }

    /// A daily rate (`None`: GL_DAILY_RATES has none), read once per run.
    pub async fn daily_rate(
        &self,
        client: &EbsClient,
        from: &str,
        to: &str,
        conversion_type: &str,
        date: NaiveDate,
    ) -> Result<Option<Decimal>, EbsError> {
        let key = (
            from.to_string(),
            to.to_string(),
            conversion_type.to_ascii_lowercase(),
            date,
        );
        if let Some(r) = self.with(|b| b.rates.get(&key).copied()) {
            return Ok(r);
        }
        let r = client.daily_rate(from, to, conversion_type, date).await?;
        self.with(|b| b.rates.insert(key, r));
        Ok(r)
    }
}

/// The rate a foreign-currency settlement waits for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RateWanted {
    /// The GL conversion type, or `event_group` (Amazon's rate).
    pub conversion_type: String,
    pub from: String,
    pub to: String,
    /// The settlement's accounting date (a day in the ledger's time zone).
    pub date: NaiveDate,
    /// `event_group`: the group whose converted total is missing (none linked yet: `None`).
    pub event_group: Option<String>,
}

impl std::fmt::Display for RateWanted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (t, from, to, date) = (&self.conversion_type, &self.from, &self.to, self.date);
        if t == EVENT_GROUP {
            match &self.event_group {
                Some(g) => write!(
                    f,
                    "waiting for data: no {t} rate {from}→{to} for {date}: Amazon's event group {g} \
                     has no converted total in {to} yet (it comes with the fund transfer)"
                ),
                None => write!(
                    f,
                    "waiting for data: no {t} rate {from}→{to} for {date}: the settlement is not \
                     linked to its financial event group yet"
                ),
            }
        } else {
            write!(
                f,
                "waiting for data: no {t} rate {from}→{to} on {date} in EBS (GL_DAILY_RATES): \
                 load it there; the next run converts the batch"
            )
        }
    }
}

/// The conversion type name of Amazon's own rate.
pub const EVENT_GROUP: &str = "event_group";

impl RateWanted {
    fn from_fx(e: &FxError, event_group: Option<&str>) -> Option<RateWanted> {
        match e {
            FxError::MissingRate {
                conversion_type,
                from,
                to,
                date,
            } => Some(RateWanted {
                conversion_type: conversion_type.clone(),
                from: from.clone(),
                to: to.clone(),
                date: *date,
                event_group: (conversion_type == EVENT_GROUP)
                    .then(|| event_group.map(str::to_string))
                    .flatten(),
            }),
            _ => None,
        }
    }
}

/// Why GL batches could not be built from journals.
#[derive(Debug, thiserror::Error)]
pub enum BatchesError {
    /// EBS could not be asked (unreachable, not deployed, unknown ledger): nothing guessed.
    #[error(transparent)]
    Ebs(#[from] EbsError),
    /// The journals do not convert (a missing rate is `ConvertError::Fx` with
    /// `FxError::MissingRate`: see [`BatchesError::rate_wanted`]).
    #[error(transparent)]
    Convert(#[from] ConvertError),
}

impl BatchesError {
    /// The rate this waits for, when that is all that is missing.
    pub fn rate_wanted(&self, event_group: Option<&str>) -> Option<RateWanted> {
        match self {
            BatchesError::Convert(ConvertError::Fx { source, .. }) => {
                RateWanted::from_fx(source, event_group)
            }
            _ => None,
        }
    }
}

/// The GL batches of a settlement's period journals (each with its revision) in the ledger's
/// currency. `route.ledger_currency` `None` reads the ledger from EBS; a foreign settlement
/// reads its rate (a GL conversion type's daily rate on [`convert::fx_date`], or Amazon's rate
/// from `event_group`). The posting engine's half of [`settlement_batches`].
pub async fn gl_batches(
    book: &LedgerBook,
    client: Option<&EbsClient>,
    route: &LedgerRoute,
    summary: &SettlementSummary,
    event_group: Option<EventGroupTotals>,
    journals: &[(Journal, u32)],
) -> Result<Vec<GlBatch>, BatchesError> {
    let no_client = || {
        EbsError::Config(format!(
            "no EBS connection for ledger {}: the ledger's currency and rates cannot be read",
            route.ledger_id
        ))
    };
    let mut route = route.clone();
    if route.ledger_currency.is_none() {
        let client = client.ok_or_else(no_client)?;
        route.ledger_currency = Some(book.ledger(client, &route.ledger_id).await?.currency);
    }
    let currency = summary.currency.code();
    let ledger_currency = route.ledger_currency.clone().unwrap_or_default();
    let mut fx_inputs = FxInputs {
        event_group,
        corporate_rate: None,
    };
    let foreign = !ledger_currency.eq_ignore_ascii_case(currency);
    if foreign && let Some(date) = convert::fx_date(journals) {
        let missing = |conversion_type: &str| {
            BatchesError::Convert(ConvertError::Fx {
                settlement_id: summary.settlement_id.clone(),
                source: FxError::MissingRate {
                    conversion_type: conversion_type.to_string(),
                    from: currency.to_string(),
                    to: ledger_currency.clone(),
                    date,
                },
            })
        };
        if route.fx.prefer_event_group_rate {
            // Amazon's rate or nothing: never another rate in its place.
            let implied = fx_inputs
                .event_group
                .as_ref()
                .and_then(|g| fx::implied_rate(g, &ledger_currency, route.fx.rate_scale));
            if implied.is_none() {
                return Err(missing(EVENT_GROUP));
            }
        } else {
            let client = client.ok_or_else(no_client)?;
            let rate = book
                .daily_rate(
                    client,
                    currency,
                    &ledger_currency,
                    &route.fx.corporate_type,
                    date,
                )
                .await?;
            match rate {
                Some(r) => fx_inputs.corporate_rate = Some(r),
                None => return Err(missing(&route.fx.corporate_type)),
            }
        }
    }
    Ok(convert::gl_batches(summary, journals, &route, &fx_inputs)?)
}

/// What the GL side of a settlement came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Gl {
    /// The batches as they would be staged (ledger currency, conversion applied).
    Batches(Vec<GlBatch>),
    /// Foreign currency without its rate yet: the batches wait as `needs_rate`.
    NeedsRate(RateWanted),
    /// The journals are not postable as they are (unmapped rows, inconsistent, unbalanced):
    /// no GL batches until the proposal is.
    NotPostable,
    /// They do not convert for a reason a person must fix (e.g. no `[ebs] fx_rounding`).
    Invalid(String),
    /// No EBS connection is configured for the ledger: its currency is unknown.
    NoEbs,
}

/// A settlement turned into its proposal and GL batches.
#[derive(Debug, Clone)]
pub struct SettlementBatches {
    /// The ledger as EBS holds it (`None` without an EBS connection for it).
    pub ledger: Option<LedgerInfo>,
    pub timezone: Tz,
    /// The calendar the settlement was proposed against (EBS's open and closed periods).
    pub calendar: Calendar,
    pub proposal: Proposal,
    /// The parsed rows (only when asked for: the workstation's review shows them).
    pub rows: Vec<SettlementRow>,
    pub gl: Gl,
}

/// The routing of a settlement's marketplace, or why there is none.
pub fn routing_of<'c>(
    ctx: &'c SyncContext,
    rec: &SettlementRecord,
) -> Result<&'c RoutingConfig, SyncError> {
    ctx.config.routing_for(&rec.marketplace_id).ok_or_else(|| {
        SyncError::ledger(
            &rec.summary.settlement_id,
            format!(
                "marketplace `{}` has no [[routing]] entry: add one to say which ledger it lands in",
                rec.marketplace_id
            ),
        )
    })
}

/// The route the GL batches of a routing use (currency from EBS when known).
pub fn ledger_route(
    ctx: &SyncContext,
    routing: &RoutingConfig,
    ledger: Option<&LedgerInfo>,
) -> LedgerRoute {
    LedgerRoute::from_config(
        routing,
        ctx.config.ebs.as_ref(),
        ledger.map(|l| l.currency.as_str()),
    )
}

/// The ledger's calendar for a settlement: the periods EBS reports open, every gap a closed
/// period (back to a month before the settlement starts).
async fn calendar(
    ctx: &SyncContext,
    client: &EbsClient,
    ledger_id: i64,
    rec: &SettlementRecord,
    tz: Tz,
) -> Result<Calendar, SyncError> {
    let open = ctx
        .ledgers
        .open_periods(client, &ledger_id.to_string())
        .await?;
    let from = local_day(tz, rec.summary.start)
        .checked_sub_months(Months::new(1))
        .unwrap_or(NaiveDate::MIN);
    calendar_from_open(&open, from).ok_or_else(|| {
        SyncError::ledger(
            &rec.summary.settlement_id,
            format!("ledger {ledger_id} has no open GL period in EBS: open one"),
        )
    })
}

/// Parses the stored raw file and proposes it (CPU work, off the async threads).
async fn propose(
    store: Arc<Store>,
    rec: SettlementRecord,
    mapping: Mapping,
    calendar: Calendar,
    tz: Tz,
    want_rows: bool,
) -> Result<(Proposal, Vec<SettlementRow>), SyncError> {
    let task = tokio::task::spawn_blocking(move || {
        let id = &rec.summary.settlement_id;
        let (meta, bytes) = store
            .raw_settlement(id)?
            .ok_or_else(|| SyncError::ledger(id, "its raw file is not in the store"))?;
        let decoded = decode(&bytes, Some(&meta.charset)).map_err(|e| SyncError::ledger(id, e))?;
        let file = SettlementFile::parse(&decoded.text, decoded.charset)
            .map_err(|e| SyncError::ledger(id, e))?;
        let mut rows = Vec::new();
        if want_rows {
            rows.reserve(file.body_lines());
            for r in file.rows() {
                rows.push(r.map_err(|e| SyncError::ledger(id, e))?.to_owned_row());
            }
        }
        let marketplace = (!rec.marketplace_id.is_empty()).then_some(rec.marketplace_id.as_str());
        let engine = Engine::new(&mapping, calendar, tz, &rec.summary, marketplace);
        let proposal = propose_file(&file, &engine, 1).map_err(|e| SyncError::ledger(id, e))?;
        Ok((proposal, rows))
    });
    task.await
        .map_err(|e| SyncError::Setup(format!("proposing worker failed: {e}")))?
}

/// Whether the proposal can become GL batches as it is.
fn postable(p: &Proposal) -> bool {
    p.consistent
        && p.unmapped.is_empty()
        && p.postable
        && p.journals.iter().all(Journal::is_balanced)
}

/// THE function: a stored settlement, proposed with `mapping` against its ledger's calendar
/// and turned into GL batches in the ledger's currency. `revision_of(period)` names each
/// batch's revision (1 for a new one). Reads EBS through `ctx.ledgers` (once per run).
pub async fn settlement_batches(
    ctx: &SyncContext,
    rec: &SettlementRecord,
    mapping: &Mapping,
    revision_of: impl Fn(&str) -> u32,
    want_rows: bool,
) -> Result<SettlementBatches, SyncError> {
    let routing = routing_of(ctx, rec)?;
    let tz = routing.timezone.0;
    let client = ctx.ebs.get(&routing.ledger_id).cloned();
    let (ledger, calendar) = match &client {
        Some(c) => {
            let ledger = ctx
                .ledgers
                .ledger(c, &routing.ledger_id.to_string())
                .await?;
            // Only for display (the review names the operating unit): never fails proposing.
            let org = routing.org_id.to_string();
            if let Err(e) = ctx.ledgers.operating_unit(c, &org).await {
                tracing::warn!("operating unit {org}: name not read from EBS: {e}");
            }
            (
                Some(ledger),
                calendar(ctx, c, routing.ledger_id, rec, tz).await?,
            )
        }
        // No EBS configured at all: calendar months, and no GL batches (said so).
        None => (None, Engine::preview_calendar(&rec.summary, tz)),
    };
    let (proposal, rows) = propose(
        ctx.store.clone(),
        rec.clone(),
        mapping.clone(),
        calendar.clone(),
        tz,
        want_rows,
    )
    .await?;
    let gl = if !postable(&proposal) {
        Gl::NotPostable
    } else if let (Some(ledger), Some(client)) = (&ledger, &client) {
        let route = ledger_route(ctx, routing, Some(ledger));
        let group = match &rec.event_group_id {
            Some(g) => ctx
                .store
                .event_group(g)?
                .and_then(|e| convert::event_group_totals(&e.data)),
            None => None,
        };
        let journals: Vec<(Journal, u32)> = proposal
            .journals
            .iter()
            .map(|j| (j.clone(), revision_of(&j.period)))
            .collect();
        match gl_batches(
            &ctx.ledgers,
            Some(client),
            &route,
            &rec.summary,
            group,
            &journals,
        )
        .await
        {
            Ok(b) => Gl::Batches(b),
            Err(BatchesError::Ebs(e)) => return Err(e.into()),
            Err(e) => match e.rate_wanted(rec.event_group_id.as_deref()) {
                Some(r) => Gl::NeedsRate(r),
                None => Gl::Invalid(e.to_string()),
            },
        }
    } else {
        Gl::NoEbs
    };
    Ok(SettlementBatches {
        ledger,
        timezone: tz,
        calendar,
        proposal,
        rows,
        gl,
    })
}
