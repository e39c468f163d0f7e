//! EBS: login, the GL/AR/AP contexts, the custom methods, ledgers and periods, and
//! every account the mappings use.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;

use super::mappings::{MappingFile, display_name, mapping_accounts};
use super::services::check_wadl;
use super::{Options, Report};
use crate::config::{Config, Credentials, EbsContext, EbsModule, RoutingConfig};
use crate::ebs::checks::{AccountInfo, AccountProblem};
use crate::ebs::{self, Contexts, EbsClient, EbsError, GlContext, Module, OuContext, RestHeader};
use crate::sync::context::ebs_config;

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
            EbsError::Network { .. } | EbsError::Timeout { .. } => {
                "check [ebs] base_url and the network".into()
            }
            // A 5xx (ISG_DB_CONNECTION_ERROR, overloaded) says nothing about the configuration.
            _ if matches!(e, EbsError::Fault { .. } | EbsError::Http { .. })
                && super::services::is_transient(e.http_status().unwrap_or(0), e.code()) =>
            {
                "transient: EBS could not answer right now; try again (nothing is wrong with the configuration as far as this shows)".into()
            }
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
        EbsError::BadCredentials { .. }
            | EbsError::Network { .. }
            | EbsError::Timeout { .. }
            | EbsError::Config(_)
    )
}

/// A GET that can match no row: proves the alias, the method and the context answer.
async fn probe(client: &EbsClient, module: Module, table: &str, key: &str) -> Result<(), EbsError> {
    client
        .read_rows(module, table, &[(key, "-1".to_string())])
        .await
        .map(|_| ())
}

pub(super) async fn check_ebs(
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
        // The currency line needs a ledger EBS knows (its own failure is said once, above).
        if gl_ok && check_ledger(&client, route, opts, &area, report).await {
            super::fx::check_ledger_currency(config, &client, route, opts, &area, report).await;
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

/// Whether EBS knows the ledger (its periods answered).
async fn check_ledger(
    client: &EbsClient,
    route: &RoutingConfig,
    opts: &Options,
    area: &str,
    report: &mut Report,
) -> bool {
    let ledger = route.ledger_id.to_string();
    match client.open_periods(&ledger).await {
        Err(e @ EbsError::Business { .. }) => {
            report.fail(
                format!("{area} ledger {ledger}"),
                format!("{e} — check ledger_id of this [[routing]]"),
            );
            return false;
        }
        Err(e) => {
            report.fail(format!("{area} ledger {ledger}"), ebs_hint(&e, "ebs.gl"));
            return false;
        }
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
            // today in the ledger's time zone (or --as-of)
            let today = opts.date_for(route.timezone.0);
            let current = periods.iter().find(|p| p.start <= today && today <= p.end);
            match current {
                Some(p) => report.ok(
                    format!("{area} ledger {ledger}"),
                    format!("{text}; {today} is in {}", p.name),
                ),
                None => report.warn(
                    format!("{area} ledger {ledger}"),
                    format!(
                        "{text}; {today} is in no open period: settlements ending now cannot post until it is opened"
                    ),
                ),
            }
        }
    }
    true
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
        let as_of = config
            .routing
            .iter()
            .find(|r| r.ledger_id == ledger)
            .map_or(opts.as_of, |r| opts.date_for(r.timezone.0));
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
                Ok(info) => match judge_account(&info, as_of) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
