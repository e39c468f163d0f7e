//! EBS services: each alias's `?WADL` must declare the methods the connector calls.

use std::collections::BTreeSet;

use secrecy::ExposeSecret;

use super::{Options, Report};
use crate::config::{Config, EbsSecrets, PostingProfile};
use crate::ebs;

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
            ("get_ledger", &["POST"]),
            ("get_operating_unit", &["POST"]),
            ("get_daily_rate", &["POST"]),
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

/// Whether a failed `?WADL` answer says the alias is not there: HTTP 404 or ISG's
/// not-deployed faults (whatever status the instance gives them). A 5xx such as
/// `ISG_DB_CONNECTION_ERROR` says nothing about the alias.
fn means_absent(status: u16, code: Option<&str>) -> bool {
    status == 404 || matches!(code, Some("ISG_INVALID_ALIAS" | "ISG_INVALID_FUNCTION"))
}

/// Whether an EBS error answer is EBS being unable to answer right now (database
/// connection, overload) rather than an answer about the configuration.
pub(super) fn is_transient(status: u16, code: Option<&str>) -> bool {
    match code {
        Some(c) => matches!(c, "ISG_DB_CONNECTION_ERROR" | "ISG_SERVICE_UNAVAILABLE"),
        None => status >= 500,
    }
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

pub(super) async fn check_wadl(
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
            let fault = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v.pointer("/ISGServiceFault/Code")
                        .and_then(|c| c.as_str())
                        .map(str::to_string)
                });
            if !means_absent(status, fault.as_deref()) {
                // Not an answer about the alias: EBS could not say (DB down, overloaded…).
                let code = fault.as_ref().map(|c| format!(" {c}")).unwrap_or_default();
                let what = if is_transient(status, fault.as_deref()) {
                    "(transient): try again; if it persists, check the EBS database and ISG"
                } else {
                    "(not an answer about the alias): check ISG and its logs"
                };
                report.fail(
                    area,
                    format!(
                        "?WADL: EBS answered HTTP {status}{code} {what}; its methods were not verified"
                    ),
                );
                continue;
            }
            let code = fault.unwrap_or_else(|| format!("HTTP {status}"));
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

    /// A 500 `ISG_DB_CONNECTION_ERROR` on `?WADL` is EBS failing for a moment, not an
    /// alias that is missing; a 404 `ISG_INVALID_ALIAS` is.
    #[tokio::test]
    async fn a_transient_500_is_not_an_undeployed_alias() {
        use crate::sim::ebs::{EbsSimConfig, Faults, spawn};
        let sim = spawn(EbsSimConfig::step()).await.expect("ebs simulator");
        let config = |custom: &str| {
            let text = format!(
                "[ebs]\nbase_url = \"{}\"\n[ebs.gl]\nresponsibility = \"GENERAL_LEDGER_SUPER_USER\"\napplication = \"SQLGL\"\n[ebs.aliases]\ncustom = \"{custom}\"\n",
                sim.base_url()
            );
            Config::from_toml(&text, std::path::Path::new("config.toml")).expect("config")
        };
        let opts = Options::new(chrono::NaiveDate::from_ymd_opt(2026, 6, 15).unwrap());

        // The first call (the gl alias's WADL) meets a database fault.
        sim.inject(&Faults {
            db_error_next: 1,
            ..Faults::default()
        });
        let mut report = Report::default();
        let missing = check_wadl(&config("xxmlc"), None, &opts, &mut report).await;
        assert!(missing.is_empty(), "{missing:?} {report}");
        let gl = &report.checks[0];
        assert_eq!(gl.status, super::super::Status::Fail, "{report}");
        assert!(
            gl.message
                .contains("EBS answered HTTP 500 ISG_DB_CONNECTION_ERROR (transient): try again"),
            "{}",
            gl.message
        );
        assert!(!gl.message.contains("not deployed"), "{}", gl.message);
        assert!(
            report.checks[1].message.starts_with("deployed with"),
            "{report}"
        );

        // An alias that is not there is still named as such.
        let mut report = Report::default();
        let missing = check_wadl(&config("xxnotdeployed"), None, &opts, &mut report).await;
        assert!(missing.contains("custom"), "{report}");
        assert!(
            report.checks[1]
                .message
                .contains("?WADL answered HTTP 404 (ISG_INVALID_ALIAS): the alias is not deployed"),
            "{report}"
        );
        sim.shutdown().await;
    }
}
