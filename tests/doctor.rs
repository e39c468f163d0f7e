//! `ml-connector doctor` against both simulators, spawned in this process on 127.0.0.1:0;
//! the binary runs as a child process with a configuration and identity-encrypted
//! credentials in a temporary directory.

use chrono::{NaiveDate, TimeZone, Utc};
use ml_connector::config::Unlock;
use ml_connector::config::credentials::{self, Credentials};
use ml_connector::ledger::mapping::Mapping;
use ml_connector::sim::amazon::{
    self as amazon_sim, AmazonSimConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN, RunningAmazonSim,
};
use ml_connector::sim::ebs::{self as ebs_sim, EbsSimConfig, RunningEbsSim, Seed};
use std::path::{Path, PathBuf};

const AS_OF: &str = "2026-06-15";
const EBS_PASSWORD: &str = "welcome1";

struct Systems {
    amazon: RunningAmazonSim,
    ebs: RunningEbsSim,
}

async fn systems() -> Systems {
    let start = Utc.with_ymd_and_hms(2026, 6, 15, 12, 0, 0).unwrap();
    let amazon = amazon_sim::spawn(AmazonSimConfig {
        history_days: 14,
        start_time: start,
        ..AmazonSimConfig::default()
    })
    .await
    .expect("amazon simulator");
    let ebs = ebs_sim::spawn(EbsSimConfig {
        start_time: Some(start),
        ..EbsSimConfig::step()
    })
    .await
    .expect("ebs simulator");
    Systems { amazon, ebs }
}

/// What a test changes from the healthy setup.
#[derive(Default)]
struct Changes {
    refresh_token: Option<&'static str>,
    ebs_password: Option<&'static str>,
    gl_responsibility: Option<&'static str>,
    /// Extra rules appended to the CA ledger's own mapping file.
    ca_mapping_extra: Option<&'static str>,
    custom_alias: Option<&'static str>,
    ca_ledger: Option<i64>,
    /// Encrypt to this passphrase (low work factor) instead of an identity file.
    passphrase: Option<&'static str>,
    /// Leave this seller out of the credentials file.
    drop_seller: Option<&'static str>,
}

struct Setup {
    _dir: tempfile::TempDir,
    config: PathBuf,
    passphrase: Option<&'static str>,
}

fn write_setup(sys: &Systems, changes: &Changes) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let base_mapping =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mapping.toml"))
            .expect("assets/mapping.toml");
    std::fs::write(root.join("mapping.toml"), &base_mapping).unwrap();
    let mut ca = base_mapping.clone();
    if let Some(extra) = changes.ca_mapping_extra {
        ca.push_str(extra);
    }
    std::fs::write(root.join("mapping-ca.toml"), ca).unwrap();

    let na = sys.amazon.endpoint(amazon_sim::Region::Na);
    let eu = sys.amazon.endpoint(amazon_sim::Region::Eu);
    let token = sys.amazon.token_url();
    let ebs = sys.ebs.base_url();
    let gl_resp = changes
        .gl_responsibility
        .unwrap_or("GENERAL_LEDGER_SUPER_USER");
    let custom = changes.custom_alias.unwrap_or("xxmlc");
    let ca_ledger = changes.ca_ledger.unwrap_or(2);
    let identity_line = if changes.passphrase.is_some() {
        ""
    } else {
        "identity = \"identity.txt\""
    };
    let config = format!(
        r#"
user = "tester"
{identity_line}

[[seller]]
name = "acme-na"
region = "na"
marketplaces = ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]
endpoint = "{na}"
lwa_endpoint = "{token}"

[[seller]]
name = "acme-eu"
region = "eu"
marketplaces = ["A1PA6795UKMFR9"]
endpoint = "{eu}"
lwa_endpoint = "{token}"

[ebs]
base_url = "{ebs}"
fx_rounding = "01-000-7990-0000-000"
[ebs.gl]
responsibility = "{gl_resp}"
application = "SQLGL"
access_set_id = 1000
[ebs.ar]
responsibility = "RECEIVABLES_MANAGER"
application = "AR"
[ebs.ap]
responsibility = "PAYABLES_MANAGER"
application = "SQLAP"
[ebs.aliases]
custom = "{custom}"

[[routing]]
marketplace = "ATVPDKIKX0DER"
ledger_id = 1
org_id = 204
timezone = "America/New_York"

[[routing]]
marketplace = "A2EUQ1WTGCTBG2"
ledger_id = {ca_ledger}
org_id = 458
access_set_id = 1001
mapping = "mapping-ca.toml"
timezone = "America/Toronto"

[[routing]]
marketplace = "A1PA6795UKMFR9"
ledger_id = 3
org_id = 512
access_set_id = 1002
timezone = "Europe/Berlin"
"#
    );
    let config_path = root.join("config.toml");
    std::fs::write(&config_path, config).unwrap();

    let unlock = match changes.passphrase {
        Some(p) => Unlock::Passphrase(p.to_string().into()),
        None => {
            let identity = root.join("identity.txt");
            credentials::generate_identity(&identity).expect("identity");
            Unlock::Identity(identity)
        }
    };
    let refresh = changes.refresh_token.unwrap_or(DEFAULT_REFRESH_TOKEN);
    let json = serde_json::json!({
        "sellers": {
            "acme-na": {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, "refresh_token": refresh},
            "acme-eu": {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, "refresh_token": DEFAULT_REFRESH_TOKEN},
        },
        "ebs": {"username": "OPERATIONS", "password": changes.ebs_password.unwrap_or(EBS_PASSWORD)},
    });
    let mut json = json;
    if let Some(name) = changes.drop_seller {
        json["sellers"].as_object_mut().unwrap().remove(name);
    }
    let creds = Credentials::from_json(json.to_string().as_bytes()).expect("credentials json");
    credentials::save(&root.join("credentials.age"), &creds, &unlock, Some(2))
        .expect("save credentials");
    Setup {
        _dir: dir,
        config: config_path,
        passphrase: changes.passphrase,
    }
}

struct Outcome {
    code: i32,
    stdout: String,
}

impl Outcome {
    fn lines(&self, status: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(status))
            .collect()
    }
}

async fn doctor(setup: &Setup) -> Outcome {
    let config = setup.config.clone();
    let passphrase = setup.passphrase;
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ml-connector"));
        cmd.args(["doctor", "--as-of", AS_OF, "--timeout", "20", "--config"])
            .arg(&config)
            .env_remove("ML_CONNECTOR_PASSPHRASE");
        if let Some(p) = passphrase {
            cmd.env("ML_CONNECTOR_PASSPHRASE", p);
        }
        cmd.output().expect("run ml-connector")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    for secret in [
        EBS_PASSWORD,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_REFRESH_TOKEN,
        "AGE-SECRET-KEY",
    ] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "doctor printed a secret:\n{stdout}\n{stderr}"
        );
    }
    assert!(stderr.trim().is_empty(), "stderr: {stderr}");
    // Shown with --nocapture; the captured copy helps when an assertion fails.
    println!("{stdout}");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout,
    }
}

async fn stop(sys: Systems) {
    sys.amazon.stop().await;
    sys.ebs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_green_against_both_simulators() {
    let sys = systems().await;
    let setup = write_setup(&sys, &Changes::default());
    let out = doctor(&setup).await;
    let text = &out.stdout;
    assert_eq!(out.code, 0, "{text}");
    assert!(out.lines("FAIL").is_empty(), "{text}");
    assert!(out.lines("warn").is_empty(), "{text}");
    for expected in [
        "ok    credentials:",
        "ok    seller acme-na: Login with Amazon token exchange",
        "ok    seller acme-na marketplace ATVPDKIKX0DER: participating",
        "ok    seller acme-na marketplace A2EUQ1WTGCTBG2: participating",
        "ok    seller acme-eu marketplace A1PA6795UKMFR9: participating",
        "ok    seller acme-na: rate limit getMarketplaceParticipations",
        "ok    ebs login: as OPERATIONS",
        "ok    ebs gl context: GENERAL_LEDGER_SUPER_USER/SQLGL accepted",
        "ok    ebs service gljournal ([ebs.aliases] gl): deployed",
        "ok    ebs service autoinvoice ([ebs.aliases] ar): deployed",
        "ok    ebs service apinvoice ([ebs.aliases] ap): deployed",
        "ok    ebs service xxmlc ([ebs.aliases] custom): deployed",
        "ok    ebs service xxmlc methods: get_journals_by_group, get_journals_by_reference, get_request_status, get_child_requests and get_open_periods, get_account answer under GENERAL_LEDGER_SUPER_USER/SQLGL",
        "ok    routing A2EUQ1WTGCTBG2 ledger 2: open periods JAN-26 … DEC-26 (12), future-enterable JAN-27 … MAR-27 (3); 2026-06-15 is in JUN-26",
        "ok    routing A1PA6795UKMFR9 AR context, operating unit 512: RECEIVABLES_MANAGER/AR accepted on autoinvoice/RA_INTERFACE_LINES_ALL; get_transactions_by_request answers",
        "ok    routing A1PA6795UKMFR9 AP context, operating unit 512: PAYABLES_MANAGER/SQLAP accepted",
        "ok    ledger 1 accounts:",
        "ok    ledger 2 accounts:",
        "ok    ledger 3 accounts:",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    // Every account of the mapping plus fx_rounding, in every ledger.
    let mapping = Mapping::default_mapping();
    let mut accounts: Vec<&str> = mapping.rules.iter().map(|r| r.account.as_str()).collect();
    accounts.push(&mapping.clearing);
    accounts.extend(mapping.suspense.as_deref());
    accounts.extend(mapping.difference.as_deref());
    accounts.push("01-000-7990-0000-000");
    accounts.sort();
    accounts.dedup();
    let n = accounts.len();
    assert!(
        text.contains(&format!("ok    ledger 1 accounts: {n} of {n} account(s)")),
        "{text}"
    );
    let last = text.lines().last().unwrap_or("");
    assert!(
        last.starts_with("doctor: ") && last.contains("0 warning(s), 0 failure(s)"),
        "{last}"
    );
    stop(sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_ebs_password_fails_the_login_and_skips_the_rest() {
    let sys = systems().await;
    let setup = write_setup(
        &sys,
        &Changes {
            ebs_password: Some("not-the-password"),
            ..Changes::default()
        },
    );
    let out = doctor(&setup).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    let fails = out.lines("FAIL");
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    assert!(
        fails[0].starts_with("FAIL  ebs login: as OPERATIONS")
            && fails[0].contains("refused the credentials")
            && fails[0].contains("credentials set"),
        "{}",
        fails[0]
    );
    assert!(!out.stdout.contains("not-the-password"));
    // Amazon is still checked.
    assert!(
        out.stdout
            .contains("ok    seller acme-na marketplace ATVPDKIKX0DER")
    );
    assert!(!out.stdout.contains("ledger 1 accounts"), "{}", out.stdout);
    stop(sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_responsibility_fails_the_gl_context() {
    let sys = systems().await;
    let setup = write_setup(
        &sys,
        &Changes {
            gl_responsibility: Some("GL_NOT_A_RESPONSIBILITY"),
            ..Changes::default()
        },
    );
    let out = doctor(&setup).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    let fails = out.lines("FAIL");
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    let line = fails[0];
    assert!(
        line.starts_with("FAIL  ebs gl context: GL_NOT_A_RESPONSIBILITY/SQLGL")
            && line.contains("ISG_SERVICE_AUTH_FAILURE")
            && line.contains("Responsibility GL_NOT_A_RESPONSIBILITY is not valid")
            && line.contains("[ebs.gl]"),
        "{line}"
    );
    assert!(out.stdout.contains("ok    ebs login: as OPERATIONS"));
    // AR and AP run under their own responsibilities and still pass.
    assert!(
        out.stdout
            .contains("ok    routing ATVPDKIKX0DER AR context, operating unit 204")
    );
    stop(sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_accounts_in_a_mapping_are_named_with_their_line() {
    let sys = systems().await;
    let extra = r#"
[[rules]]
transaction_type = "Order"
amount_type = "ItemFees"
amount_description = "DoctorDisabled"
account = "01-000-6199-0000-000"
label = "disabled fee account"

[[rules]]
transaction_type = "Order"
amount_type = "ItemFees"
amount_description = "DoctorMissing"
account = "01-000-5555-0000-000"
label = "missing fee account"

[[rules]]
transaction_type = "Order"
amount_type = "ItemFees"
amount_description = "DoctorParent"
account = "01-000-4000-0000-000"
label = "parent account"
"#;
    let setup = write_setup(
        &sys,
        &Changes {
            ca_mapping_extra: Some(extra),
            ..Changes::default()
        },
    );
    let out = doctor(&setup).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    let fails = out.lines("FAIL");
    assert_eq!(fails.len(), 3, "{}", out.stdout);
    let base_lines =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mapping.toml"))
            .unwrap()
            .lines()
            .count();
    let find = |account: &str| {
        fails
            .iter()
            .find(|l| l.contains(account))
            .copied()
            .unwrap_or_else(|| panic!("no FAIL line for {account}:\n{}", out.stdout))
    };
    let disabled = find("01-000-6199-0000-000");
    assert!(
        disabled.starts_with("FAIL  ledger 2 account 01-000-6199-0000-000")
            && disabled.contains("mapping-ca.toml rule \"disabled fee account\"")
            && disabled.contains(&format!("line {}", base_lines + 2))
            && disabled.contains("is disabled [EF03]"),
        "{disabled}"
    );
    let missing = find("01-000-5555-0000-000");
    assert!(
        missing.contains("does not exist") && missing.contains("[EF04]"),
        "{missing}"
    );
    let parent = find("01-000-4000-0000-000");
    assert!(
        parent.contains("detail posting") && parent.contains("[EF02]"),
        "{parent}"
    );
    // Only ledger 2 uses mapping-ca.toml; the other ledgers stay green.
    assert!(out.stdout.contains("ok    ledger 1 accounts:"));
    assert!(out.stdout.contains("ok    ledger 3 accounts:"));
    stop(sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_refresh_token_says_reauthorise() {
    let sys = systems().await;
    let setup = write_setup(
        &sys,
        &Changes {
            refresh_token: Some("Atzr|revoked-long-ago"),
            ..Changes::default()
        },
    );
    let out = doctor(&setup).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    let fails = out.lines("FAIL");
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    assert!(
        fails[0].starts_with("FAIL  seller acme-na: token exchange failed")
            && fails[0].contains("re-authorise")
            && fails[0].contains("credentials set"),
        "{}",
        fails[0]
    );
    assert!(!out.stdout.contains("revoked-long-ago"));
    // The other seller and EBS are still checked.
    assert!(
        out.stdout
            .contains("ok    seller acme-eu marketplace A1PA6795UKMFR9")
    );
    assert!(out.stdout.contains("ok    ledger 1 accounts:"));
    stop(sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_credentials_fail_first_and_stop() {
    let sys = systems().await;
    let setup = write_setup(&sys, &Changes::default());
    let identity = setup.config.parent().unwrap().join("identity.txt");
    std::fs::remove_file(&identity).unwrap();
    let out = doctor(&setup).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    let fails = out.lines("FAIL");
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    assert!(
        fails[0].starts_with("FAIL  credentials: identity file")
            && fails[0].contains("nothing else can be checked"),
        "{}",
        fails[0]
    );
    assert!(!out.stdout.contains("seller acme-na"), "{}", out.stdout);
    stop(sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_ebs_is_one_failure() {
    let sys = systems().await;
    let setup = write_setup(&sys, &Changes::default());
    let Systems { amazon, ebs } = sys;
    ebs.shutdown().await;
    let out = doctor(&setup).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    let fails = out.lines("FAIL");
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    assert!(
        fails[0].starts_with("FAIL  ebs login: as OPERATIONS")
            && fails[0].contains("cannot reach EBS")
            && fails[0].contains("base_url"),
        "{}",
        fails[0]
    );
    assert!(!out.stdout.contains("ebs service"), "{}", out.stdout);
    amazon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeployed_custom_alias_is_named() {
    let sys = systems().await;
    let setup = write_setup(
        &sys,
        &Changes {
            custom_alias: Some("xxnotdeployed"),
            ..Changes::default()
        },
    );
    let out = doctor(&setup).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    let fails = out.lines("FAIL");
    assert!(
        fails.iter().any(|l| l.starts_with(
            "FAIL  ebs service xxnotdeployed ([ebs.aliases] custom): ?WADL answered HTTP 404 (ISG_INVALID_ALIAS)"
        )),
        "{}",
        out.stdout
    );
    assert!(
        fails[0].contains("(custom method, ledger, period and account checks skipped)"),
        "{}",
        fails[0]
    );
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    // AR and AP contexts do not need the custom package.
    assert!(
        out.stdout
            .contains("ok    routing ATVPDKIKX0DER AR context, operating unit 204: RECEIVABLES_MANAGER/AR accepted on autoinvoice/RA_INTERFACE_LINES_ALL\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("ok    ebs service gljournal"));
    stop(sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ledger_is_named() {
    let sys = systems().await;
    let setup = write_setup(
        &sys,
        &Changes {
            ca_ledger: Some(77),
            ..Changes::default()
        },
    );
    let out = doctor(&setup).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    let fails = out.lines("FAIL");
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    assert!(
        fails[0].starts_with("FAIL  routing A2EUQ1WTGCTBG2 ledger 77:")
            && fails[0].contains("Invalid ledger id 77")
            && fails[0].contains("check ledger_id"),
        "{}",
        fails[0]
    );
    stop(sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrase_from_the_environment_and_a_seller_without_credentials() {
    let sys = systems().await;
    let setup = write_setup(
        &sys,
        &Changes {
            passphrase: Some("correct horse battery staple"),
            drop_seller: Some("acme-eu"),
            ..Changes::default()
        },
    );
    let out = doctor(&setup).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(!out.stdout.contains("correct horse"), "{}", out.stdout);
    assert!(
        out.stdout.contains("ok    credentials:")
            && out.stdout.contains("(1 seller(s), EBS login)"),
        "{}",
        out.stdout
    );
    let fails = out.lines("FAIL");
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    assert!(
        fails[0].starts_with("FAIL  seller acme-eu: no credentials for seller `acme-eu`")
            && fails[0].contains("credentials set"),
        "{}",
        fails[0]
    );
    assert!(out.stdout.contains("ok    ledger 3 accounts:"));
    stop(sys).await;
}

/// The shipped mapping must post cleanly into the simulator's default world.
#[test]
fn every_default_mapping_account_is_usable_in_the_default_seed() {
    let seed = Seed::default_seed();
    let mapping = Mapping::default_mapping();
    let as_of = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
    let mut used: Vec<(String, String)> = vec![
        ("accounts.clearing".into(), mapping.clearing.clone()),
        (
            "fx_rounding (README example)".into(),
            "01-000-7990-0000-000".into(),
        ),
    ];
    used.extend(
        mapping
            .suspense
            .iter()
            .map(|a| ("accounts.suspense".into(), a.clone())),
    );
    used.extend(
        mapping
            .difference
            .iter()
            .map(|a| ("accounts.difference".into(), a.clone())),
    );
    used.extend(
        mapping
            .rules
            .iter()
            .map(|r| (format!("rule line {}", r.line), r.account.clone())),
    );
    let mut problems = Vec::new();
    for (place, account) in &used {
        match seed.accounts.iter().find(|a| &a.combination == account) {
            None => problems.push(format!("{place}: {account} is not in the seed")),
            Some(a) if !a.enabled => problems.push(format!("{place}: {account} is disabled")),
            Some(a) if !a.detail_posting => {
                problems.push(format!("{place}: {account} is not detail-postable"))
            }
            Some(a) if a.end_date.is_some() || a.start_date.is_some_and(|s| s > as_of) => {
                problems.push(format!("{place}: {account} is date-limited"))
            }
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
