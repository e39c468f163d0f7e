//! Configuration, credentials, store and audit: library and CLI tests.

use std::path::{Path, PathBuf};

use ml_connector::config::{Config, ConfigError, HumanDuration, PostingProfile, Region};

const EXAMPLE: &str = include_str!("../src/config/example.toml");

fn load_str(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("/etc/mlc/config.toml"))
}

fn err_of(text: &str) -> String {
    load_str(text).unwrap_err().to_string()
}

/// Replaces the first occurrence of `from` in the example with `to`.
fn example_with(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "example lacks {from}");
    EXAMPLE.replacen(from, to, 1)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

// ---------------------------------------------------------------- configuration

#[test]
fn full_example_parses_with_every_section() {
    let cfg = load_str(EXAMPLE).unwrap();
    assert_eq!(cfg.user.as_deref(), Some("jdoe"));
    assert_eq!(cfg.sellers.len(), 2);
    assert_eq!(cfg.sellers[0].region, Region::Na);
    assert_eq!(
        cfg.sellers[0].api_endpoint().as_str(),
        "http://127.0.0.1:8080/"
    );
    assert_eq!(
        cfg.sellers[1].api_endpoint().as_str(),
        "https://sellingpartnerapi-eu.amazon.com/"
    );
    assert_eq!(cfg.routing.len(), 3);
    assert_eq!(cfg.schedule.every, HumanDuration::from_secs(900));
    assert_eq!(
        cfg.alerts.waiting_after,
        HumanDuration::from_secs(3 * 86_400)
    );
    assert_eq!(cfg.posting.profile, PostingProfile::GlSummary);
    assert_eq!(
        cfg.credentials_path(),
        PathBuf::from("/etc/mlc/credentials.age")
    );
    assert_eq!(
        cfg.identity_path(),
        Some(PathBuf::from("/etc/mlc/identity.txt"))
    );
    assert_eq!(
        cfg.mapping_path_for("A2EUQ1WTGCTBG2"),
        PathBuf::from("/etc/mlc/mapping-ca.toml")
    );
    assert_eq!(
        cfg.mapping_path_for("ATVPDKIKX0DER"),
        PathBuf::from("/etc/mlc/mapping.toml")
    );
    assert_eq!(cfg.mapping_paths().len(), 3);
    let ca = cfg.routing_for("A2EUQ1WTGCTBG2").unwrap();
    assert_eq!(cfg.access_set_id(ca), Some(1001));
    let us = cfg.routing_for("ATVPDKIKX0DER").unwrap();
    assert_eq!(cfg.access_set_id(us), Some(1000));
    let ctx = cfg
        .ebs_context(ml_connector::config::EbsModule::Gl, Some(ca))
        .unwrap();
    assert_eq!(ctx.org_id, Some(458));
    assert_eq!(ctx.responsibility, "GENERAL_LEDGER_SUPER_USER");
    assert_eq!(
        cfg.cutover.date,
        chrono::NaiveDate::from_ymd_opt(2025, 7, 1)
    );
    // The typed settings write back to TOML that loads to the same thing.
    let again = Config::from_toml(&cfg.to_toml(), cfg.path()).unwrap();
    assert_eq!(again.settings(), cfg.settings());
}

#[test]
fn defaults_fill_what_is_left_out() {
    let text = r#"
[[seller]]
name = "solo"
region = "eu"
marketplaces = ["A1F83G8C2ARO7P"]
"#;
    let cfg = load_str(text).unwrap();
    assert_eq!(cfg.user, None);
    assert_eq!(cfg.schedule.every.to_string(), "15m");
    assert_eq!(cfg.alerts.waiting_after.to_string(), "3d");
    assert_eq!(cfg.items.safety_stock, 2);
    assert!(!cfg.posting.ap_fees);
    assert_eq!(cfg.mapping_path(), PathBuf::from("/etc/mlc/mapping.toml"));
    assert_eq!(cfg.identity_path(), None);
    assert_eq!(
        cfg.sellers[0].token_endpoint().as_str(),
        "https://api.amazon.com/auth/o2/token"
    );
    assert_eq!(
        ml_connector::config::actor(None, false, Some("os-user".into())),
        "os-user"
    );
    assert_eq!(
        ml_connector::config::actor(Some("jdoe"), false, Some("x".into())),
        "jdoe"
    );
    assert_eq!(
        ml_connector::config::actor(Some("jdoe"), true, None),
        "headless"
    );
    // A bare TOML date is as good as a quoted one.
    let cfg = load_str(&format!("{text}\n[cutover]\ndate = 2025-07-01\n")).unwrap();
    assert_eq!(
        cfg.cutover.date,
        chrono::NaiveDate::from_ymd_opt(2025, 7, 1)
    );
}

#[test]
fn unknown_keys_name_key_section_file_and_line() {
    let text = example_with(
        "nls_language = \"AMERICAN\"",
        "nls_language = \"AMERICAN\"\nfoo = 1",
    );
    let err = load_str(&text).unwrap_err();
    let line = line_of(&text, "foo = 1");
    assert_eq!(err.line(), Some(line));
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "/etc/mlc/config.toml line {line}: unknown key `foo` in [ebs]"
        )),
        "{msg}"
    );

    let text = example_with(
        "application = \"SQLGL\"",
        "application = \"SQLGL\"\nrespons = \"X\"",
    );
    let msg = err_of(&text);
    assert!(
        msg.contains(&format!(
            "line {}: unknown key `respons` in [ebs.gl]",
            line_of(&text, "respons =")
        )),
        "{msg}"
    );

    let text = example_with("ledger_id = 2", "ledger_id = 2\nledger = 2");
    let msg = err_of(&text);
    assert!(
        msg.contains(&format!(
            "line {}: unknown key `ledger` in [[routing]] #2",
            line_of(&text, "ledger = 2")
        )),
        "{msg}"
    );

    let text = format!("colour = \"blue\"\n{EXAMPLE}");
    let msg = err_of(&text);
    assert!(
        msg.contains("line 1: unknown key `colour` in the top level"),
        "{msg}"
    );

    let text = example_with("[items]", "[item]");
    let msg = err_of(&text);
    assert!(
        msg.contains(&format!(
            "line {}: unknown key `item` in the top level",
            line_of(&text, "[item]")
        )),
        "{msg}"
    );
}

#[test]
fn bad_values_name_key_and_line() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "region = \"na\"",
            "region = \"us\"",
            "invalid `region` in [[seller]] #1",
            "unknown variant `us`",
        ),
        (
            "base_url = \"https://ebs.example.com:4443\"",
            "base_url = \"http://ebs.example.com:8000\"",
            "invalid `base_url` in [ebs]",
            "only to loopback",
        ),
        (
            "every = \"15m\"",
            "every = \"15 minutes\"",
            "invalid `every` in [schedule]",
            "not a duration",
        ),
        (
            "waiting_after = \"3d\"",
            "waiting_after = \"3\"",
            "invalid `waiting_after` in [alerts]",
            "not a duration",
        ),
        (
            "name = \"acme-na\"",
            "name = \"Acme NA\"",
            "invalid `name` in [[seller]] #1",
            "not a profile name",
        ),
        (
            "timezone = \"America/Toronto\"",
            "timezone = \"Canada/Nowhere\"",
            "invalid `timezone` in [[routing]] #2",
            "not a time zone",
        ),
        (
            "profile = \"gl_summary\"",
            "profile = \"gl\"",
            "invalid `profile` in [posting]",
            "unknown variant",
        ),
        (
            "auto_post = \"reconciled\"",
            "auto_post = \"always\"",
            "invalid `auto_post` in [headless]",
            "unknown variant",
        ),
        (
            "date = \"2025-07-01\"",
            "date = \"July 1st\"",
            "invalid `date` in [cutover]",
            "not a date",
        ),
        (
            "ledger_id = 2",
            "ledger_id = \"two\"",
            "invalid `ledger_id` in [[routing]] #2",
            "invalid type",
        ),
        (
            "fx_rounding = \"01-000-7990-0000-000\"",
            "fx_rounding = \"01--7990\"",
            "invalid `fx_rounding` in [ebs]",
            "not an account combination",
        ),
    ];
    for (from, to, what, why) in cases {
        let text = example_with(from, to);
        let err = load_str(&text).unwrap_err();
        let msg = err.to_string();
        let key = to.split(" =").next().unwrap();
        let expected_line = text
            .lines()
            .position(|l| {
                l.starts_with(&format!("{key} =")) && l.contains(to.split("= ").nth(1).unwrap())
            })
            .unwrap()
            + 1;
        assert_eq!(err.line(), Some(expected_line), "{msg}");
        assert!(msg.contains(what), "{to}: {msg}");
        assert!(msg.contains(why), "{to}: {msg}");
        assert!(msg.starts_with("/etc/mlc/config.toml line "), "{msg}");
    }
}

#[test]
fn missing_required_key_names_section() {
    let text = example_with("application = \"SQLGL\"\n", "");
    let msg = err_of(&text);
    assert!(
        msg.contains("missing key `application` in [ebs.gl]"),
        "{msg}"
    );
    assert!(msg.contains(" line "), "{msg}");
}

#[test]
fn cross_section_rules_point_at_their_line() {
    // A routed marketplace nobody sells in.
    let text = example_with(
        "marketplace = \"A1PA6795UKMFR9\"",
        "marketplace = \"A1VC38T7YXB528\"",
    );
    let err = load_str(&text).unwrap_err();
    assert_eq!(
        err.line(),
        Some(line_of(&text, "marketplace = \"A1VC38T7YXB528\""))
    );
    assert!(
        err.to_string().contains("not listed under any [[seller]]"),
        "{err}"
    );

    // A marketplace in the wrong region.
    let text = example_with(
        "marketplaces = [\"A1PA6795UKMFR9\"]",
        "marketplaces = [\"A1PA6795UKMFR9\", \"A1VC38T7YXB528\"]",
    );
    let err = load_str(&text).unwrap_err();
    assert_eq!(err.line(), Some(line_of(&text, "\"A1VC38T7YXB528\"]")));
    assert!(err.to_string().contains("is in region fe"), "{err}");

    // A sold marketplace without routing, once EBS is configured.
    let text = example_with(
        "marketplaces = [\"A1PA6795UKMFR9\"]",
        "marketplaces = [\"A1PA6795UKMFR9\", \"A13V1IB3VIYZZH\"]",
    );
    let msg = err_of(&text);
    assert!(
        msg.contains("A13V1IB3VIYZZH has no [[routing]] entry"),
        "{msg}"
    );
    assert!(msg.contains("`marketplaces` in [[seller]] #2"), "{msg}");

    // Profile ar_and_gl needs the AR fields on every route.
    let text = example_with("profile = \"gl_summary\"", "profile = \"ar_and_gl\"");
    let err = load_str(&text).unwrap_err();
    assert!(err.to_string().contains("[[routing]] #1: profile ar_and_gl needs customer_ref, trx_type, batch_source, terms, receipt_method for marketplace ATVPDKIKX0DER"), "{err}");
    assert_eq!(
        err.line(),
        Some(line_of(&text, "marketplace = \"ATVPDKIKX0DER\""))
    );

    // Duplicate seller names.
    let text = example_with("name = \"acme-eu\"", "name = \"acme-na\"");
    let err = load_str(&text).unwrap_err();
    assert!(
        err.to_string()
            .contains("seller `acme-na` is configured twice"),
        "{err}"
    );
    assert_eq!(
        err.line(),
        Some(
            text.lines()
                .collect::<Vec<_>>()
                .iter()
                .rposition(|l| l.contains("name = \"acme-na\""))
                .unwrap()
                + 1
        )
    );

    // Polling faster than a minute.
    let msg = err_of(&example_with("every = \"15m\"", "every = \"30s\""));
    assert!(
        msg.contains("`every` in [schedule]: must be at least 1m"),
        "{msg}"
    );
}

#[test]
fn missing_file_says_how_to_fix() {
    let err = Config::load(Path::new("/nonexistent/ml/config.toml")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("/nonexistent/ml/config.toml") && msg.contains("--config"),
        "{msg}"
    );
}
