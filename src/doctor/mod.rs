//! `doctor`: does this configuration fit the systems it names?
//!
//! Runs the production clients (never the simulators' code) against every configured
//! seller and the EBS instance and turns each answer into one plain line: `ok`, `warn`
//! or `FAIL` plus what to do. Nothing is written anywhere: Amazon gets a token exchange
//! and `getMarketplaceParticipations`; EBS gets a login, reads that match no rows,
//! `get_open_periods`, `get_account` and `?WADL`. Secrets are handed to the clients and
//! never formatted.

mod report;

pub use report::{Check, Report, Status};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use secrecy::ExposeSecret;

use crate::amazon::{self, Operation, RateLimiter, SpApiClient};
use crate::config::{
    Config, Credentials, EbsContext, EbsModule, EbsSecrets, PostingProfile, RoutingConfig,
    SellerConfig,
};
use crate::ebs::checks::{AccountInfo, AccountProblem};
use crate::ebs::{self, Contexts, EbsClient, EbsError, GlContext, Module, OuContext, RestHeader};
use crate::ledger::mapping::Mapping;
use crate::sync::context::{ebs_config, sp_api_builder};

/// How a doctor run behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The date accounts and periods are judged at (default: today, UTC).
    pub as_of: NaiveDate,
    /// Per-request timeout against either system.
    pub http_timeout: Duration,
}

impl Options {
    pub fn new(as_of: NaiveDate) -> Self {
        Options {
            as_of,
            http_timeout: Duration::from_secs(30),
        }
    }
}

/// Everything: opens the credentials without asking (identity file or
/// `ML_CONNECTOR_PASSPHRASE`), reads the mappings, then checks Amazon and EBS.
pub async fn run(config: &Config, opts: &Options) -> Report {
    let mut report = Report::default();
    let credentials = match config
        .unlock_without_prompt()
        .and_then(|unlock| config.load_credentials(&unlock))
    {
        Ok(c) => {
            report.ok(
                "credentials",
                format!(
                    "{} decrypted ({} seller(s){})",
                    config.credentials_path().display(),
                    c.sellers.len(),
                    if c.ebs.is_some() { ", EBS login" } else { "" }
                ),
            );
            c
        }
        Err(e) => {
            report.fail(
                "credentials",
                format!("{e} (nothing else can be checked without them)"),
            );
            return report;
        }
    };
    check_with(config, &credentials, opts, &mut report).await;
    report
}

/// Checks with credentials already in hand (the TUI has them unlocked).
pub async fn check_with(
    config: &Config,
    credentials: &Credentials,
    opts: &Options,
    report: &mut Report,
) {
    let mappings = load_mappings(config, report);
    for seller in &config.sellers {
        check_seller(seller, credentials, opts, report).await;
    }
    if config.ebs.is_some() {
        check_ebs(config, credentials, &mappings, opts, report).await;
    } else if !config.routing.is_empty() {
        report.warn(
            "ebs",
            "no [ebs] section: nothing can be posted; add base_url and [ebs.gl]",
        );
    }
}

// ---------------------------------------------------------------- mappings

/// A parsed mapping file and its text (to point at lines).
struct MappingFile {
    path: PathBuf,
    text: String,
    mapping: Mapping,
}

fn load_mappings(config: &Config, report: &mut Report) -> BTreeMap<PathBuf, MappingFile> {
    let mut out = BTreeMap::new();
    for path in config.mapping_paths() {
        let area = format!("mapping {}", display_name(config, &path));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                report.fail(
                    area,
                    format!(
                        "cannot read {}: {e}: create it (see assets/mapping.toml) or fix the path in the configuration",
                        path.display()
                    ),
                );
                continue;
            }
        };
        match Mapping::parse(&text) {
            Ok(mapping) => {
                report.ok(
                    area,
                    format!(
                        "{} rule(s), {} distinct account(s)",
                        mapping.rules.len(),
                        mapping_accounts(&mapping, &text).len()
                    ),
                );
                out.insert(
                    path.clone(),
                    MappingFile {
                        path,
                        text,
                        mapping,
                    },
                );
            }
            Err(e) => {
                for p in &e.problems {
                    report.fail(area.clone(), format!("{p}: correct the file"));
                }
            }
        }
    }
    out
}

/// The path as the user wrote it relative to the configuration, when it is below it.
fn display_name(config: &Config, path: &Path) -> String {
    path.strip_prefix(config.base_dir())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every account a mapping uses, with where (first use wins).
fn mapping_accounts(mapping: &Mapping, text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let line_of = |account: &str| {
        text.lines()
            .position(|l| l.contains(account))
            .map(|i| format!(" line {}", i + 1))
            .unwrap_or_default()
    };
    out.insert(
        mapping.clearing.clone(),
        format!("accounts.clearing{}", line_of(&mapping.clearing)),
    );
    if let Some(s) = &mapping.suspense {
        out.entry(s.clone())
            .or_insert_with(|| format!("accounts.suspense{}", line_of(s)));
    }
    if let Some(d) = &mapping.difference {
        out.entry(d.clone())
            .or_insert_with(|| format!("accounts.difference{}", line_of(d)));
    }
    for rule in &mapping.rules {
        out.entry(rule.account.clone())
            .or_insert_with(|| format!("rule \"{}\" line {}", rule.label, rule.line));
    }
    out
}

// ---------------------------------------------------------------- Amazon

/// The SP-API client for a configured seller (its own limiter: a doctor run is its own process).
pub fn sp_api_client(
    seller: &SellerConfig,
    credentials: &Credentials,
    http_timeout: Duration,
) -> Result<SpApiClient, String> {
    sp_api_builder(seller, credentials)
        .map_err(|e| e.to_string())?
        .limiter(Arc::new(RateLimiter::new()))
        .retry(amazon::Backoff {
            max_attempts: 3,
            ..amazon::DEFAULT_RETRY
        })
        .request_timeout(http_timeout)
        .build()
        .map_err(|e| e.to_string())
}

async fn check_seller(
    seller: &SellerConfig,
    credentials: &Credentials,
    opts: &Options,
    report: &mut Report,
) {
    let area = format!("seller {}", seller.name);
    let client = match sp_api_client(seller, credentials, opts.http_timeout) {
        Ok(c) => c,
        Err(e) => {
            report.fail(area, e);
            return;
        }
    };
    match client.authenticate().await {
        Ok(()) => report.ok(
            area.clone(),
            format!(
                "Login with Amazon token exchange at {} ({} region)",
                seller.token_endpoint().url().host_str().unwrap_or("?"),
                seller.region
            ),
        ),
        Err(e) => {
            let what = match &e {
                amazon::Error::ReauthoriseSeller { .. } => {
                    " — re-authorise the app in Seller Central (Apps and Services > Manage Your Apps), then store the new refresh token with `ml-connector credentials set`"
                }
                amazon::Error::Lwa { .. } => {
                    " — correct the client id and secret with `ml-connector credentials set`"
                }
                _ => " — check lwa_endpoint and the network",
            };
            report.fail(area, format!("token exchange failed: {e}{what}"));
            return;
        }
    }
    let participations = match client.marketplace_participations().await {
        Ok(p) => p,
        Err(e) => {
            report.fail(
                area,
                format!(
                    "getMarketplaceParticipations at {} failed: {e} — check endpoint and the app's roles",
                    seller.api_endpoint()
                ),
            );
            return;
        }
    };
    for id in &seller.marketplaces {
        let area = format!("seller {} marketplace {id}", seller.name);
        match participations
            .iter()
            .find(|p| p.marketplace.id == id.as_str())
        {
            None => report.fail(
                area,
                format!(
                    "not among the seller's marketplaces ({}): remove it from [[seller]] marketplaces or authorise the app for it",
                    participations
                        .iter()
                        .map(|p| p.marketplace.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some(p) if p.participation.is_participating != Some(true) => report.fail(
                area,
                format!(
                    "{} is listed but the seller does not participate in it: remove it from the configuration or activate it in Seller Central",
                    p.marketplace.name
                ),
            ),
            Some(p) => {
                let label = format!(
                    "participating ({}, {}, {})",
                    p.marketplace.name, p.marketplace.country_code, p.marketplace.default_currency_code
                );
                if p.participation.has_suspended_listings == Some(true) {
                    report.warn(area, format!("{label}, but with suspended listings"));
                } else {
                    report.ok(area, label);
                }
            }
        }
    }
    let unconfigured: Vec<&str> = participations
        .iter()
        .filter(|p| p.participation.is_participating == Some(true))
        .map(|p| p.marketplace.id.as_str())
        .filter(|id| !seller.marketplaces.iter().any(|m| m.as_str() == *id))
        .collect();
    if !unconfigured.is_empty() {
        report.warn(
            area.clone(),
            format!(
                "also participates in {} (not configured: its money will not be pulled)",
                unconfigured.join(", ")
            ),
        );
    }
    let op = Operation::GetMarketplaceParticipations;
    let plan = client.limiter().plan(op);
    let documented = op.default_plan();
    let headroom = client.limiter().available(op).max(0.0).floor();
    let line = format!(
        "rate limit {op}: {} request(s)/s{}, burst {}, {headroom} call(s) of headroom now",
        plan.rate,
        if plan.rate == documented.rate {
            " (as documented)".to_string()
        } else {
            format!(" (Amazon says; documented {})", documented.rate)
        },
        plan.burst
    );
    if plan.rate < documented.rate {
        report.warn(
            area,
            format!("{line} — lower than documented: syncs will be slower"),
        );
    } else {
        report.ok(area, line);
    }
}

// ---------------------------------------------------------------- EBS

fn header(ctx: &EbsContext, org: Option<i64>) -> RestHeader {
    RestHeader {
        responsibility: ctx.responsibility.clone(),
        resp_application: ctx.application.clone(),
        security_group: ctx.security_group.clone(),
        nls_language: ctx.nls_language.clone(),
        org_id: org.map(|o| o.to_string()),
    }
}

/// The EBS client for the configured instance; `route` adds its operating unit to
/// the AR and AP contexts (and its access set to GL).
pub fn ebs_client(
    config: &Config,
    credentials: &Credentials,
    route: Option<&RoutingConfig>,
    http_timeout: Duration,
) -> Result<EbsClient, String> {
    let ebs_cfg = config.require_ebs().map_err(|e| e.to_string())?;
    let secrets = credentials.ebs().map_err(|e| e.to_string())?;
    let gl = config
        .ebs_context(EbsModule::Gl, route)
        .ok_or("no [ebs.gl] context")?;
    let ou = |m: EbsModule| {
        config.ebs_context(m, route).map(|c| OuContext {
            header: header(&c, route.map(|r| r.org_id)),
        })
    };
    let contexts = Contexts {
        gl: GlContext {
            header: header(&gl, None),
            access_set_id: gl.access_set_id.map(|a| a.to_string()).unwrap_or_default(),
            ledger_id: route.map(|r| r.ledger_id.to_string()).unwrap_or_default(),
        },
        ar: ou(EbsModule::Ar),
        ap: ou(EbsModule::Ap),
    };
    let mut cfg = ebs_config(ebs_cfg, secrets, contexts);
    cfg.http_timeout = http_timeout;
    cfg.retry = ebs::Backoff {
        max_attempts: 2,
        ..ebs::DEFAULT_RETRY
    };
    EbsClient::new(cfg).map_err(|e| e.to_string())
}

/// What to do about an EBS answer, by its code.
fn ebs_hint(e: &EbsError, key: &str) -> String {
    let what = match e.code().unwrap_or("") {
        "ISG_SERVICE_AUTH_FAILURE" => format!(
            "check `responsibility` in [{key}]: it must exist, be assigned to the EBS user and be granted this service"
        ),
        "ISG_INVALID_RESPAPPLICATION" => {
            format!("set `application` in [{key}] to the responsibility's application short name")
        }
        "ISG_INVALID_SECURITYGROUP" => "check [ebs] security_group".into(),
        "ISG_INVALID_NLSLANGUAGE" => "check [ebs] nls_language".into(),
        "ISG_INVALID_ORG_ID" => format!(
            "check the routing's org_id and the operating units the [{key}] responsibility may use"
        ),
        "ISG_INVALID_ALIAS" | "ISG_INVALID_FUNCTION" => {
            "deploy the service in the Integration Repository or correct [ebs.aliases]".into()
        }
        _ => match e {
            EbsError::Network { .. } => "check [ebs] base_url and the network".into(),
            _ => String::new(),
        },
    };
    if what.is_empty() {
        e.to_string()
    } else {
        format!("{e} — {what}")
    }
}

/// Login-level failures stop every other EBS check.
fn is_login_failure(e: &EbsError) -> bool {
    matches!(
        e,
        EbsError::BadCredentials { .. } | EbsError::Network { .. } | EbsError::Config(_)
    )
}

/// A GET that can match no row: proves the alias, the method and the context answer.
async fn probe(client: &EbsClient, module: Module, table: &str, key: &str) -> Result<(), EbsError> {
    client
        .read_rows(module, table, &[(key, "-1".to_string())])
        .await
        .map(|_| ())
}

async fn check_ebs(
    config: &Config,
    credentials: &Credentials,
    mappings: &BTreeMap<PathBuf, MappingFile>,
    opts: &Options,
    report: &mut Report,
) {
    let Some(ebs_cfg) = config.ebs.as_ref() else {
        return;
    };
    let user = match credentials.ebs() {
        Ok(s) => s.username.clone(),
        Err(e) => {
            report.fail("ebs login", e.to_string());
            return;
        }
    };
    let client = match ebs_client(config, credentials, None, opts.http_timeout) {
        Ok(c) => c,
        Err(e) => {
            report.fail("ebs login", e);
            return;
        }
    };

    // The first call logs in; its failure is a login failure or a GL context failure.
    let gl = &ebs_cfg.gl;
    let gl_ctx = format!("{}/{}", gl.responsibility, gl.application);
    let first = probe(&client, Module::Gl, "GL_INTERFACE", "GROUP_ID").await;
    match &first {
        Err(e) if is_login_failure(e) => {
            let what = match e {
                EbsError::BadCredentials { .. } => {
                    " — correct the EBS user name or password with `ml-connector credentials set`"
                }
                _ => " — check [ebs] base_url and the network",
            };
            report.fail(
                "ebs login",
                format!(
                    "as {user} at {}: {e}{what} (every other EBS check skipped)",
                    ebs_cfg.base_url
                ),
            );
            return;
        }
        _ => report.ok("ebs login", format!("as {user} at {}", ebs_cfg.base_url)),
    }
    let gl_ok = match first {
        Ok(()) => {
            report.ok(
                "ebs gl context",
                format!(
                    "{gl_ctx} accepted on {}/GL_INTERFACE{}",
                    ebs_cfg.aliases.gl,
                    gl.access_set_id
                        .map(|a| format!(
                            "; data access set {a} is only checked by Journal Import at the first posting"
                        ))
                        .unwrap_or_default()
                ),
            );
            true
        }
        Err(e) => {
            report.fail(
                "ebs gl context",
                format!(
                    "{gl_ctx}: {} (ledger, period and account checks skipped)",
                    ebs_hint(&e, "ebs.gl")
                ),
            );
            false
        }
    };

    let missing_aliases = check_wadl(config, credentials.ebs().ok(), opts, report).await;
    // Without the custom package nothing below can answer: its WADL line says so once.
    let custom_ok = !missing_aliases.contains("custom");
    let gl_ok = gl_ok && custom_ok;
    if gl_ok {
        check_custom_methods(
            &client,
            &ebs_cfg.aliases.custom,
            &gl_ctx,
            config.routing.first().map(|r| r.ledger_id),
            report,
        )
        .await;
    }

    let uses_ar = ebs_cfg.ar.is_some();
    let uses_ap = ebs_cfg.ap.is_some();
    for route in &config.routing {
        let area = format!("routing {}", route.marketplace);
        if gl_ok {
            check_ledger(&client, route, opts, &area, report).await;
        }
        if uses_ar || uses_ap {
            check_operating_unit(config, credentials, route, custom_ok, opts, &area, report).await;
        }
    }
    if gl_ok {
        check_accounts(config, &client, mappings, opts, report).await;
    }
    let _ = client.logout().await;
}

/// Whether a call reached the PL/SQL (a business "not found" answer counts).
fn answered(r: &Result<(), EbsError>) -> bool {
    matches!(r, Ok(()) | Err(EbsError::Business { .. }))
}

/// The read-only custom methods, each called with keys that match nothing;
/// `populate_interface_control` writes, so only its deployment (WADL) is checked.
async fn check_custom_methods(
    client: &EbsClient,
    alias: &str,
    gl_ctx: &str,
    ledger: Option<i64>,
    report: &mut Report,
) {
    let ledger = ledger.unwrap_or(0).to_string();
    let none = "ML-CONNECTOR-DOCTOR";
    let calls = [
        (
            "get_journals_by_group",
            client.journals_by_group("-1", &ledger).await.map(|_| ()),
        ),
        (
            "get_journals_by_reference",
            client
                .journals_by_reference("Amazon", &ledger, none, none, None)
                .await
                .map(|_| ()),
        ),
        (
            "get_request_status",
            client.request_status(Module::Gl, "-1").await.map(|_| ()),
        ),
        (
            "get_child_requests",
            client.child_requests(Module::Gl, "-1").await.map(|_| ()),
        ),
    ];
    let failed: Vec<&(&str, Result<(), EbsError>)> =
        calls.iter().filter(|(_, r)| !answered(r)).collect();
    let area = format!("ebs service {alias} methods");
    match failed.first() {
        None => report.ok(
            area,
            format!(
                "{} and get_open_periods, get_account answer under {gl_ctx}",
                calls.iter().map(|(m, _)| *m).collect::<Vec<_>>().join(", ")
            ),
        ),
        Some((_, Err(e))) => report.fail(
            area,
            format!(
                "{} do(es) not answer under {gl_ctx}: {}",
                failed
                    .iter()
                    .map(|(m, _)| *m)
                    .collect::<Vec<_>>()
                    .join(", "),
                ebs_hint(e, "ebs.gl")
            ),
        ),
        Some(_) => {}
    }
}

async fn check_ledger(
    client: &EbsClient,
    route: &RoutingConfig,
    opts: &Options,
    area: &str,
    report: &mut Report,
) {
    let ledger = route.ledger_id.to_string();
    match client.open_periods(&ledger).await {
        Err(e @ EbsError::Business { .. }) => report.fail(
            format!("{area} ledger {ledger}"),
            format!("{e} — check ledger_id of this [[routing]]"),
        ),
        Err(e) => report.fail(format!("{area} ledger {ledger}"), ebs_hint(&e, "ebs.gl")),
        Ok(periods) if periods.is_empty() => report.fail(
            format!("{area} ledger {ledger}"),
            "no open or future-enterable GL period: open one in EBS (Open and Close Periods)",
        ),
        Ok(periods) => {
            let open: Vec<&str> = periods
                .iter()
                .filter(|p| p.status == "O")
                .map(|p| p.name.as_str())
                .collect();
            let future: Vec<&str> = periods
                .iter()
                .filter(|p| p.status == "F")
                .map(|p| p.name.as_str())
                .collect();
            let text = format!(
                "open periods {}{}",
                span(&open),
                if future.is_empty() {
                    String::new()
                } else {
                    format!(", future-enterable {}", span(&future))
                }
            );
            let current = periods
                .iter()
                .find(|p| p.start <= opts.as_of && opts.as_of <= p.end);
            match current {
                Some(p) => report.ok(
                    format!("{area} ledger {ledger}"),
                    format!("{text}; {} is in {}", opts.as_of, p.name),
                ),
                None => report.warn(
                    format!("{area} ledger {ledger}"),
                    format!(
                        "{text}; {} is in no open period: settlements ending now cannot post until it is opened",
                        opts.as_of
                    ),
                ),
            }
        }
    }
}

/// `JAN-26 … DEC-26 (12)` or the single name.
fn span(names: &[&str]) -> String {
    match names {
        [] => "none".into(),
        [one] => (*one).to_string(),
        [first, .., last] => format!("{first} … {last} ({})", names.len()),
    }
}

async fn check_operating_unit(
    config: &Config,
    credentials: &Credentials,
    route: &RoutingConfig,
    custom_ok: bool,
    opts: &Options,
    area: &str,
    report: &mut Report,
) {
    let Some(ebs_cfg) = config.ebs.as_ref() else {
        return;
    };
    let client = match ebs_client(config, credentials, Some(route), opts.http_timeout) {
        Ok(c) => c,
        Err(e) => {
            report.fail(format!("{area} operating unit {}", route.org_id), e);
            return;
        }
    };
    let checks = [
        (
            ebs_cfg.ar.as_ref(),
            Module::Ar,
            "ebs.ar",
            &ebs_cfg.aliases.ar,
            "RA_INTERFACE_LINES_ALL",
            "INTERFACE_LINE_ID",
        ),
        (
            ebs_cfg.ap.as_ref(),
            Module::Ap,
            "ebs.ap",
            &ebs_cfg.aliases.ap,
            "AP_INVOICES_INTERFACE",
            "INVOICE_ID",
        ),
    ];
    for (ctx, module, key, alias, table, column) in checks {
        let Some(ctx) = ctx else { continue };
        let module_name = if module == Module::Ar { "AR" } else { "AP" };
        let what = format!(
            "{area} {module_name} context, operating unit {}",
            route.org_id
        );
        match probe(&client, module, table, column).await {
            Ok(()) if module == Module::Ar && custom_ok => {
                let trx = client.ar_transactions("-1").await.map(|_| ());
                if answered(&trx) {
                    report.ok(
                        what,
                        format!(
                            "{}/{} accepted on {alias}/{table}; get_transactions_by_request answers",
                            ctx.responsibility, ctx.application
                        ),
                    );
                } else if let Err(e) = trx {
                    report.fail(
                        what,
                        format!(
                            "{}/{}: get_transactions_by_request does not answer: {}",
                            ctx.responsibility,
                            ctx.application,
                            ebs_hint(&e, key)
                        ),
                    );
                }
            }
            Ok(()) => report.ok(
                what,
                format!(
                    "{}/{} accepted on {alias}/{table}",
                    ctx.responsibility, ctx.application
                ),
            ),
            Err(e) => report.fail(
                what,
                format!(
                    "{}/{}: {}",
                    ctx.responsibility,
                    ctx.application,
                    ebs_hint(&e, key)
                ),
            ),
        }
    }
    let _ = client.logout().await;
}

/// The accounts each ledger must accept: its mapping's, plus `fx_rounding`.
fn accounts_by_ledger(
    config: &Config,
    mappings: &BTreeMap<PathBuf, MappingFile>,
) -> BTreeMap<i64, BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<i64, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let fx = config.ebs.as_ref().and_then(|e| e.fx_rounding.as_ref());
    for route in &config.routing {
        let entry = out.entry(route.ledger_id).or_default();
        let path = config.mapping_path_for(route.marketplace.as_str());
        if let Some(file) = mappings.get(&path) {
            let name = display_name(config, &file.path);
            for (account, place) in mapping_accounts(&file.mapping, &file.text) {
                let uses = entry.entry(account).or_default();
                let place = format!("{name} {place}");
                if !uses.contains(&place) {
                    uses.push(place);
                }
            }
        }
        if let Some(fx) = fx {
            let uses = entry.entry(fx.as_str().to_string()).or_default();
            let place = "[ebs] fx_rounding".to_string();
            if !uses.contains(&place) {
                uses.push(place);
            }
        }
    }
    out
}

async fn check_accounts(
    config: &Config,
    client: &EbsClient,
    mappings: &BTreeMap<PathBuf, MappingFile>,
    opts: &Options,
    report: &mut Report,
) {
    for (ledger, accounts) in accounts_by_ledger(config, mappings) {
        let ledger_text = ledger.to_string();
        let reads =
            futures::future::join_all(accounts.keys().map(|a| client.account(&ledger_text, a)))
                .await;
        let mut good = 0usize;
        let mut unread: Vec<(&str, EbsError)> = Vec::new();
        for ((account, uses), read) in accounts.iter().zip(reads) {
            let area = format!("ledger {ledger} account {account}");
            let used = format!("used by {}", uses.join(", "));
            match read {
                Err(e) => unread.push((account, e)),
                Ok(info) => match judge_account(&info, opts.as_of) {
                    Verdict::Good => good += 1,
                    Verdict::Warn(text) => report.warn(area, format!("{used}: {text}")),
                    Verdict::Fail(text) => report.fail(area, format!("{used}: {text}")),
                },
            }
        }
        // One cause (a missing service, a lost connection) makes one line, not one per account.
        if let Some((first, e)) = unread.first() {
            report.fail(
                format!("ledger {ledger} accounts"),
                format!(
                    "{} account(s) could not be read (first {first}): {}",
                    unread.len(),
                    ebs_hint(e, "ebs.gl")
                ),
            );
        }
        if good > 0 {
            let rest = accounts.len() - good;
            report.ok(
                format!("ledger {ledger} accounts"),
                format!(
                    "{good} of {} account(s) exist, are enabled, allow detail posting and are not end-dated{}",
                    accounts.len(),
                    if rest > 0 {
                        format!(" ({rest} listed above)")
                    } else {
                        String::new()
                    }
                ),
            );
        }
    }
}

enum Verdict {
    Good,
    Warn(String),
    Fail(String),
}

fn judge_account(info: &AccountInfo, as_of: NaiveDate) -> Verdict {
    let detail = info
        .message
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| format!(" (EBS: {m})"))
        .unwrap_or_default();
    match info.problem_at(as_of) {
        None => match info.end {
            Some(end) => Verdict::Warn(format!(
                "will be end-dated on {end}: lines dated later will be rejected [EF01]; choose a replacement before then"
            )),
            None => Verdict::Good,
        },
        Some(p @ AccountProblem::NotYetActive(_)) => {
            Verdict::Warn(format!("{p} [EF01]: lines dated earlier will be rejected"))
        }
        Some(p) => {
            let what = match p {
                AccountProblem::NotFound => "create the combination in EBS or correct the mapping",
                AccountProblem::Disabled => "enable it in EBS or map the rule to another account",
                AccountProblem::NotDetailPostable => "map the rule to a child (detail) account",
                _ => "map the rule to an active account",
            };
            Verdict::Fail(format!("{p} [{}]{detail}: {what}", p.ebs_code()))
        }
    }
}

// ---------------------------------------------------------------- services

/// The service methods the client calls, per alias key.
pub fn required_methods(key: &str) -> &'static [(&'static str, &'static [&'static str])] {
    match key {
        "gl" => &[
            ("GL_INTERFACE", &["GET", "POST", "DELETE"]),
            ("SUBMIT_CP_GLLEZL", &["POST"]),
        ],
        "ar" => &[
            ("RA_INTERFACE_LINES_ALL", &["GET", "POST", "DELETE"]),
            ("RA_INTERFACE_DISTRIBUTIONS_ALL", &["POST"]),
            ("RA_INTERFACE_ERRORS_ALL", &["GET"]),
            ("SUBMIT_CP_RAXMTR", &["POST"]),
        ],
        "ap" => &[
            ("AP_INVOICES_INTERFACE", &["GET", "POST", "DELETE"]),
            ("AP_INVOICE_LINES_INTERFACE", &["POST"]),
            ("AP_INTERFACE_REJECTIONS", &["GET"]),
            ("SUBMIT_CP_APXIIMPT", &["POST"]),
        ],
        "custom" => &[
            ("populate_interface_control", &["POST"]),
            ("get_journals_by_group", &["POST"]),
            ("get_journals_by_reference", &["POST"]),
            ("get_transactions_by_request", &["POST"]),
            ("get_request_status", &["POST"]),
            ("get_child_requests", &["POST"]),
            ("get_account", &["POST"]),
            ("get_open_periods", &["POST"]),
        ],
        _ => &[],
    }
}

/// `(resource, verb)` pairs a WADL document declares.
pub fn wadl_methods(xml: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut resource: Option<String> = None;
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start + 1..start + end];
        rest = &rest[start + end + 1..];
        let name = tag.split_whitespace().next().unwrap_or("");
        let local = name.rsplit(':').next().unwrap_or(name);
        let attr = |key: &str| {
            let pat = format!("{key}=\"");
            tag.find(&pat).and_then(|i| {
                let v = &tag[i + pat.len()..];
                v.find('"').map(|j| v[..j].to_string())
            })
        };
        match local {
            "resource" => {
                resource = attr("path").map(|p| p.trim_matches('/').to_string());
            }
            "/resource" => resource = None,
            "method" => {
                if let (Some(r), Some(verb)) = (&resource, attr("name")) {
                    out.insert((r.to_ascii_lowercase(), verb.to_ascii_uppercase()));
                }
            }
            _ => {}
        }
    }
    out
}

/// Reads `?WADL`; some instances want a login for it, so a 401 is asked again with Basic auth.
async fn fetch_wadl(
    http: &reqwest::Client,
    url: &url::Url,
    login: Option<&EbsSecrets>,
) -> Result<(u16, String), reqwest::Error> {
    let resp = http.get(url.clone()).send().await?;
    let mut status = resp.status().as_u16();
    let mut text = resp.text().await?;
    if status == 401
        && let Some(login) = login
    {
        let resp = http
            .get(url.clone())
            .basic_auth(&login.username, Some(login.password.expose_secret()))
            .send()
            .await?;
        status = resp.status().as_u16();
        text = resp.text().await?;
    }
    Ok((status, text))
}

async fn check_wadl(
    config: &Config,
    login: Option<&EbsSecrets>,
    opts: &Options,
    report: &mut Report,
) -> BTreeSet<&'static str> {
    let mut missing_aliases = BTreeSet::new();
    let Some(ebs_cfg) = config.ebs.as_ref() else {
        return missing_aliases;
    };
    let base = match ebs::transport::instance_base(ebs_cfg.base_url.as_str()) {
        Ok(b) => b,
        Err(e) => {
            report.fail("ebs services", e.to_string());
            return missing_aliases;
        }
    };
    let http = match reqwest::Client::builder()
        .timeout(opts.http_timeout)
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            report.fail("ebs services", format!("HTTP client: {e}"));
            return missing_aliases;
        }
    };
    let aliases = &ebs_cfg.aliases;
    let mut wanted = vec![("gl", &aliases.gl), ("custom", &aliases.custom)];
    let ar_used = ebs_cfg.ar.is_some() || config.posting.profile == PostingProfile::ArAndGl;
    if ar_used {
        wanted.insert(1, ("ar", &aliases.ar));
    }
    if ebs_cfg.ap.is_some() || config.posting.ap_fees {
        wanted.insert(if ar_used { 2 } else { 1 }, ("ap", &aliases.ap));
    }
    for (key, alias) in wanted {
        let area = format!("ebs service {alias} ([ebs.aliases] {key})");
        let url = match base.join(&format!("{alias}/")) {
            Ok(mut u) => {
                u.set_query(Some("WADL"));
                u
            }
            Err(e) => {
                report.fail(area, format!("alias is not a URL path: {e}"));
                continue;
            }
        };
        let (status, text) = match fetch_wadl(&http, &url, login).await {
            Ok(a) => a,
            Err(e) => {
                report.fail(
                    area,
                    format!(
                        "?WADL did not answer: {} — check [ebs] base_url and the network",
                        e.without_url()
                    ),
                );
                continue;
            }
        };
        if status == 401 || status == 403 {
            report.warn(
                area,
                format!(
                    "?WADL answered HTTP {status} even with the EBS login: its methods were not verified (the calls above still prove the alias answers)"
                ),
            );
            continue;
        }
        if !(200..300).contains(&status) {
            let code = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v.pointer("/ISGServiceFault/Code")
                        .and_then(|c| c.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| format!("HTTP {status}"));
            report.fail(
                area,
                format!(
                    "?WADL answered HTTP {status} ({code}): the alias is not deployed — deploy it in the Integration Repository or correct [ebs.aliases] {key}{}",
                    if key == "custom" {
                        " (custom method, ledger, period and account checks skipped)"
                    } else {
                        ""
                    }
                ),
            );
            missing_aliases.insert(key);
            continue;
        }
        let declared = wadl_methods(&text);
        let items: &[(&str, &[&str])] = if key == "custom" && config.items.enabled {
            &[("get_items", &["POST"])]
        } else {
            &[]
        };
        let required: Vec<(&str, &[&str])> =
            required_methods(key).iter().chain(items).copied().collect();
        let missing: Vec<String> = required
            .iter()
            .flat_map(|(op, verbs)| verbs.iter().map(move |v| (*op, *v)))
            .filter(|(op, v)| !declared.contains(&(op.to_ascii_lowercase(), v.to_string())))
            .map(|(op, v)| format!("{op} {v}"))
            .collect();
        if missing.is_empty() {
            report.ok(
                area,
                format!(
                    "deployed with the {} method(s) the connector calls",
                    required.iter().map(|(_, v)| v.len()).sum::<usize>()
                ),
            );
        } else {
            report.fail(
                area,
                format!(
                    "deployed without {}: deploy these methods (grant them to the responsibility)",
                    missing.join(", ")
                ),
            );
        }
    }
    missing_aliases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wadl_lists_resources_and_verbs() {
        let xml = r#"<?xml version="1.0"?>
<application xmlns="http://wadl.dev.java.net/2009/02">
  <resources base="/webservices/rest/gljournal/">
    <resource path="/GL_INTERFACE/">
      <method id="GL_INTERFACE" name="GET"><request/></method>
      <method id="GL_INTERFACE" name="POST"><request/></method>
    </resource>
    <resource path="/SUBMIT_CP_GLLEZL/">
      <method id="SUBMIT_CP_GLLEZL" name="POST"/>
    </resource>
  </resources>
</application>"#;
        let m = wadl_methods(xml);
        assert!(m.contains(&("gl_interface".into(), "GET".into())));
        assert!(m.contains(&("submit_cp_gllezl".into(), "POST".into())));
        assert!(!m.contains(&("gl_interface".into(), "DELETE".into())));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn account_verdicts() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("date");
        let good = AccountInfo {
            account: "01-000-1190-0000-000".into(),
            exists: true,
            ccid: Some("1".into()),
            enabled: true,
            detail_posting: true,
            start: None,
            end: None,
            message: None,
        };
        assert!(matches!(judge_account(&good, d(2026, 6, 1)), Verdict::Good));
        let ending = AccountInfo {
            end: Some(d(2026, 12, 31)),
            ..good.clone()
        };
        assert!(matches!(
            judge_account(&ending, d(2026, 6, 1)),
            Verdict::Warn(_)
        ));
        match judge_account(&ending, d(2027, 1, 1)) {
            Verdict::Fail(t) => assert!(t.contains("end-dated") && t.contains("EF01"), "{t}"),
            _ => panic!("end-dated account must fail"),
        }
        let missing = AccountInfo {
            exists: false,
            message: Some("Value 9999 for segment Account does not exist".into()),
            ..good
        };
        match judge_account(&missing, d(2026, 6, 1)) {
            Verdict::Fail(t) => assert!(t.contains("EF04") && t.contains("9999"), "{t}"),
            _ => panic!("missing account must fail"),
        }
    }

    #[test]
    fn spans_name_first_and_last() {
        assert_eq!(span(&[]), "none");
        assert_eq!(span(&["JAN-26"]), "JAN-26");
        assert_eq!(span(&["JAN-26", "FEB-26", "MAR-26"]), "JAN-26 … MAR-26 (3)");
    }
}
