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

/// Loading `text` fails with `what` at the line where `marker` stands.
fn assert_error_at(text: &str, marker: &str, what: &str) {
    let msg = err_of(text);
    assert!(
        msg.contains(&format!("line {}: {what}", line_of(text, marker))),
        "{msg}"
    );
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
    assert_error_at(&text, "respons =", "unknown key `respons` in [ebs.gl]");

    let text = example_with("ledger_id = 2", "ledger_id = 2\nledger = 2");
    assert_error_at(
        &text,
        "ledger = 2",
        "unknown key `ledger` in [[routing]] #2",
    );

    let text = format!("colour = \"blue\"\n{EXAMPLE}");
    let msg = err_of(&text);
    assert!(
        msg.contains("line 1: unknown key `colour` in the top level"),
        "{msg}"
    );

    let text = example_with("[items]", "[item]");
    assert_error_at(&text, "[item]", "unknown key `item` in the top level");
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

// ---------------------------------------------------------------- store

use chrono::{DateTime, TimeZone, Utc};
use ml_connector::ledger::model::{SettlementFormat, SettlementSummary};
use ml_connector::ledger::money::Currency;
use ml_connector::ledger::state::BatchState;
use ml_connector::store::audit::{self, AuditFormat};
use ml_connector::store::chain::{self, ChainLink, Unpulled};
use ml_connector::store::*;

fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 7, day, hour, 0, 0).unwrap()
}

fn summary(id: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> SettlementSummary {
    SettlementSummary {
        settlement_id: id.into(),
        format: SettlementFormat::V2,
        start,
        end,
        deposit_date: Some(end),
        total_amount: "1234.56".parse().unwrap(),
        currency: Currency::new("USD"),
    }
}

/// A store holding one of everything, written the way sync will write it.
fn populate(store: &Store) {
    let raw: Vec<u8> =
        b"settlement-id\tsettlement-start-date\n111\t2025-07-01\n\xff\xfe non-UTF-8 tail".to_vec();
    let mut meta = RawFileMeta::describe("111", "windows-1252", &raw, t(3, 9));
    meta.report_id = Some("R-111".into());
    meta.marketplace_id = Some("ATVPDKIKX0DER".into());
    let pull = NewAuditEntry::new(t(3, 9), "headless", AuditAction::Pull)
        .settlement("111")
        .sha256(meta.sha256.clone());
    assert_eq!(
        store.put_raw_settlement(&meta, &raw, Some(pull)).unwrap(),
        RawPut::New
    );
    assert_eq!(
        store.put_raw_settlement(&meta, &raw, None).unwrap(),
        RawPut::Unchanged
    );
    store
        .put_event_group(&EventGroupRecord {
            group_id: "FEG-1".into(),
            seller: "acme-na".into(),
            settlement_id: Some("111".into()),
            fetched_at: t(3, 9),
            data: serde_json::json!({"OriginalTotal": {"CurrencyCode": "USD", "CurrencyAmount": 1234.56}, "Note": "ünïcode, \"quoted\""}),
        })
        .unwrap();
    store
        .put_settlement(
            &SettlementRecord {
                summary: summary("111", t(1, 0), t(15, 0)),
                seller: "acme-na".into(),
                marketplace_id: "ATVPDKIKX0DER".into(),
                raw_sha256: Some(meta.sha256.clone()),
                event_group_id: Some("FEG-1".into()),
                pulled_at: t(3, 9),
            },
            None,
        )
        .unwrap();
    store
        .put_orders(&[OrderRecord {
            order_id: "111-0000001-0000001".into(),
            seller: "acme-na".into(),
            marketplace_id: Some("ATVPDKIKX0DER".into()),
            fetched_at: t(3, 9),
            data: serde_json::json!({"OrderStatus": "Shipped"}),
        }])
        .unwrap();
    store
        .put_report(&ReportRecord {
            report_id: "R-111".into(),
            seller: "acme-na".into(),
            marketplace_id: Some("ATVPDKIKX0DER".into()),
            settlement_id: Some("111".into()),
            created: t(2, 0),
            pulled_at: Some(t(3, 9)),
        })
        .unwrap();
    let (v1, created) = store
        .import_mapping(
            "mapping.toml",
            "[fees]\nFBA = \"6100\"\n",
            "/etc/mlc/mapping.toml",
            "jdoe",
            t(3, 10),
        )
        .unwrap();
    assert!(created);
    let key = BatchKey::new("111", "JUL-25");
    store
        .put_proposal(
            &Proposal {
                batch: key.clone(),
                mapping: MappingRef {
                    name: v1.name.clone(),
                    version: v1.version,
                },
                proposal_hash: "ab".repeat(32),
                hash_version: 1,
                legacy_hash: None,
                created_at: t(3, 10),
                outcome: BatchState::Proposed,
                reason: None,
                lines: ml_connector::ledger::journal::Journal {
                    period: "JUL-25".into(),
                    accounting_date: t(15, 0).date_naive(),
                    lines: vec![],
                    zero_net: vec![],
                    total_debit: Default::default(),
                    total_credit: Default::default(),
                },
            },
            Some(
                NewAuditEntry::new(t(3, 10), "headless", AuditAction::Proposal)
                    .settlement("111")
                    .period("JUL-25")
                    .sha256("ab".repeat(32)),
            ),
        )
        .unwrap();
    let proposed = BatchRecord::new(&key, BatchState::Proposed, t(3, 10));
    store.create_batch(&proposed, None).unwrap();
    let mut approved = proposed.clone();
    approved.state = BatchState::Approved;
    approved.approval = Some(Approval {
        who: "jdoe".into(),
        when: t(4, 8),
        proposal_hash: "ab".repeat(32),
        hash_version: 1,
    });
    store
        .transition(
            &proposed,
            &approved,
            Some(
                NewAuditEntry::new(t(4, 8), "jdoe", AuditAction::Approval)
                    .settlement("111")
                    .period("JUL-25"),
            ),
        )
        .unwrap();
    store
        .record_intent(&PostingIntent {
            batch: key.clone(),
            revision: 1,
            action: IntentAction::Stage,
            group_id: Some("MLC-111-JUL-25-1".into()),
            source_key: "MLC:111:JUL-25:1".into(),
            written_at: t(4, 9),
            details: IntentDetails::default(),
        })
        .unwrap();
    store
        .set_cursor(
            "acme-na/settlements",
            serde_json::json!({"created_since": "2025-07-01T00:00:00Z"}),
            t(4, 9),
        )
        .unwrap();
}

#[test]
fn store_keeps_everything_and_verifies_clean() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), "test").unwrap();
    populate(&store);
    let (meta, bytes) = store.raw_settlement("111").unwrap().unwrap();
    assert_eq!(meta.charset, "windows-1252");
    assert!(bytes.ends_with(b"\xff\xfe non-UTF-8 tail"));
    // Amazon replacing a file keeps the old bytes too.
    let newer = b"settlement-id\n111\tcorrected".to_vec();
    let newer_meta = RawFileMeta::describe("111", "UTF-8", &newer, t(6, 0));
    assert_eq!(
        store.put_raw_settlement(&newer_meta, &newer, None).unwrap(),
        RawPut::Changed {
            previous_sha256: meta.sha256.clone()
        }
    );
    let old = store.superseded_raw("111").unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].meta, meta);
    store.put_raw_settlement(&meta, &bytes, None).unwrap();
    assert_eq!(store.superseded_raw("111").unwrap().len(), 2);
    let key = BatchKey::new("111", "JUL-25");
    assert!(store.intent(&key).unwrap().is_some());
    assert_eq!(
        store.in_flight().unwrap().len(),
        1,
        "an outstanding intent counts as in flight"
    );

    // A transition answers the intent and clears it.
    let approved = store.batch(&key).unwrap().unwrap();
    let mut staged = approved.clone();
    staged.state = BatchState::Staged;
    staged.group_id = Some("MLC-111-JUL-25-1".into());
    staged.line_count = Some(2);
    let entry = store
        .transition(
            &approved,
            &staged,
            Some(NewAuditEntry::new(t(4, 9), "jdoe", AuditAction::Staging).settlement("111")),
        )
        .unwrap()
        .unwrap();
    assert!(store.intent(&key).unwrap().is_none());
    assert_eq!(entry.seq, 5, "pull, mapping, proposal, approval, staging");

    // Skipping a step is refused; so is writing over a record that changed meanwhile.
    let mut posted = staged.clone();
    posted.state = BatchState::Posted;
    let err = store.transition(&staged, &posted, None).unwrap_err();
    assert!(matches!(err, StoreError::IllegalTransition { .. }), "{err}");
    let mut submitted = approved.clone();
    submitted.state = BatchState::Staged;
    submitted.reason = Some("stale".into());
    let err = store.transition(&approved, &submitted, None).unwrap_err();
    assert!(
        err.to_string().contains("changed since it was read"),
        "{err}"
    );
    assert_eq!(store.batch(&key).unwrap().unwrap(), staged);

    let report = store.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    let seqs: Vec<u64> = store
        .audit_entries(None)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(store.audit_entries(Some("111")).unwrap().len(), 4);
}

#[test]
fn mapping_versions_change_only_with_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), "test").unwrap();
    let (v1, new) = store
        .import_mapping("mapping.toml", "a = 1\n", "file", "jdoe", t(1, 0))
        .unwrap();
    assert!(new && v1.version == 1);
    let (same, new) = store
        .import_mapping("mapping.toml", "a = 1\n", "file", "ann", t(2, 0))
        .unwrap();
    assert!(!new && same.version == 1 && same.who == "jdoe");
    let (v2, new) = store
        .import_mapping("mapping.toml", "a = 2\n", "tui", "ann", t(3, 0))
        .unwrap();
    assert!(new && v2.version == 2 && v2.who == "ann" && v2.when == t(3, 0));
    let (other, _) = store
        .import_mapping("mapping-ca.toml", "a = 1\n", "file", "ann", t(3, 0))
        .unwrap();
    assert_eq!(other.version, 1);
    assert_eq!(
        store
            .latest_mapping("mapping.toml")
            .unwrap()
            .unwrap()
            .version,
        2
    );
    assert_eq!(store.mapping_versions("mapping.toml").unwrap().len(), 2);
    let changes = store.audit_entries(None).unwrap();
    assert_eq!(changes.len(), 3);
    assert!(
        changes
            .iter()
            .all(|e| e.action == AuditAction::MappingChange)
    );
    assert_eq!(changes[1].details["previous_version"], 1);
    assert_eq!(changes[1].actor, "ann");
    assert_eq!(changes[1].sha256.as_deref(), Some(v2.sha256.as_str()));
}

#[test]
fn export_import_round_trip_is_byte_identical() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = {
        let store = Store::open(a.path(), "test").unwrap();
        populate(&store);
        let mut out = Vec::new();
        store.export(&mut out).unwrap();
        out
    };
    let second = {
        let store = Store::open(b.path(), "test").unwrap();
        let summary = store.import(&mut first.as_slice()).unwrap();
        assert!(!summary.migrated);
        assert!(summary.entries > 10);
        assert!(store.verify().unwrap().is_clean());
        let (_, bytes) = store.raw_settlement("111").unwrap().unwrap();
        assert!(bytes.ends_with(b"\xff\xfe non-UTF-8 tail"));
        // Importing twice is refused rather than merged.
        let err = store.import(&mut first.as_slice()).unwrap_err();
        assert!(matches!(err, StoreError::ImportNotEmpty { .. }), "{err}");
        let mut out = Vec::new();
        store.export(&mut out).unwrap();
        out
    };
    assert_eq!(
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&second)
    );
    assert_eq!(first, second);
    // The audit counter travels too: the next entry continues the sequence.
    let store = Store::open(b.path(), "test").unwrap();
    let next = store
        .append_audit(NewAuditEntry::new(t(5, 0), "jdoe", AuditAction::Replay))
        .unwrap();
    assert_eq!(next.seq, 5);
}

/// Edits one line of an export, imports it, and returns what verify says.
fn verify_after_edit(edit: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let export = {
        let store = Store::open(a.path(), "test").unwrap();
        populate(&store);
        let mut out = Vec::new();
        store.export(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let edited: String = export
        .lines()
        .filter_map(|l| match edit(l) {
            Some(replacement) if replacement.is_empty() => None,
            Some(replacement) => Some(replacement),
            None => Some(l.to_string()),
        })
        .map(|l| l + "\n")
        .collect();
    assert_ne!(edited, export, "the edit changed nothing");
    let store = Store::open(b.path(), "test").unwrap();
    store.import(&mut edited.as_bytes()).unwrap();
    store.verify().unwrap().problems
}

#[test]
fn verify_catches_broken_cross_references_and_tampering() {
    // The batch's settlement disappears.
    let problems = verify_after_edit(|l| l.contains("\"tree\":\"settlements\"").then(String::new));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("batch 111/JUL-25: settlement 111 does not exist")),
        "{problems:?}"
    );
    // The proposal's mapping version disappears.
    let problems = verify_after_edit(|l| l.contains("\"tree\":\"mappings\"").then(String::new));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("mapping mapping.toml version 1 does not exist")),
        "{problems:?}"
    );
    // An audit entry is removed from the middle.
    let problems = verify_after_edit(|l| {
        (l.contains("\"tree\":\"audit\"") && l.contains("\"seq\":2")).then(String::new)
    });
    assert!(
        problems
            .iter()
            .any(|p| p.contains("audit sequence jumps from 1 to 3")),
        "{problems:?}"
    );
    // The archived file is altered: since issue 14 the import itself refuses it,
    // naming the settlement, and writes nothing.
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let export = {
        let store = Store::open(a.path(), "test").unwrap();
        populate(&store);
        let mut out = Vec::new();
        store.export(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let tampered: String = export
        .lines()
        .map(|l| {
            if l.contains("\"tree\":\"raw_bytes\"") {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                serde_json::json!({"tree": "raw_bytes", "key": v["key"], "bytes": "dGFtcGVyZWQ="})
                    .to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    let store = Store::open(b.path(), "test").unwrap();
    let err = store.import(&mut tampered.as_bytes()).unwrap_err();
    assert!(
        matches!(&err, StoreError::ImportTampered { settlement_id, .. } if settlement_id == "111"),
        "{err}"
    );
    assert!(err.to_string().contains("settlement 111"), "{err}");
    assert!(store.settlements().unwrap().is_empty(), "nothing imported");
}

#[test]
fn a_second_handle_is_told_who_holds_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _held = Store::open(dir.path(), "ml-connector --headless").unwrap();
    let err = Store::open(dir.path(), "other").unwrap_err();
    let msg = err.to_string();
    let expected = format!(
        "data directory {} is in use by pid {} (ml-connector --headless)",
        dir.path().display(),
        std::process::id()
    );
    assert!(msg.starts_with(&expected), "{msg}");
    assert!(msg.contains(" since 20"), "{msg}");
    drop(_held);
    Store::open(dir.path(), "other").unwrap();
}

#[test]
fn a_store_that_will_not_open_says_how_to_restore() {
    let dir = tempfile::tempdir().unwrap();
    // The sled directory is a plain file: sled cannot open it.
    std::fs::write(dir.path().join("store"), b"not a database").unwrap();
    let msg = Store::open(dir.path(), "test").unwrap_err().to_string();
    assert!(msg.contains("cannot open the store"), "{msg}");
    assert!(msg.contains("store import"), "{msg}");
    assert_eq!(
        std::fs::read(dir.path().join("store")).unwrap(),
        b"not a database",
        "left as it was"
    );
}

// ---------------------------------------------------------------- chain

#[test]
fn gaps_and_overlaps_per_marketplace() {
    let link = |id: &str, m: &str, s: DateTime<Utc>, e: DateTime<Utc>| ChainLink {
        settlement_id: id.into(),
        marketplace_id: m.into(),
        start: s,
        end: e,
    };
    let links = vec![
        link("3", "US", t(15, 0), t(29, 0)),
        link("1", "US", t(1, 0), t(15, 0)),
        // One second short still chains: files differ on the last second of a day.
        link("C2", "CA", t(8, 0), t(22, 0)),
        link("C1", "CA", t(1, 0), t(8, 0) - chrono::Duration::seconds(1)),
        link("4", "US", t(30, 0), t(31, 0)),
        link("E1", "DE", t(1, 0), t(10, 0)),
        link("E2", "DE", t(9, 0), t(20, 0)),
    ];
    let issues = chain::check_chain(&links);
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert_eq!(
        issues[1],
        ChainIssue::Gap {
            marketplace_id: "US".into(),
            previous: "3".into(),
            next: "4".into(),
            from: t(29, 0),
            to: t(30, 0),
        }
    );
    assert!(
        matches!(&issues[0], ChainIssue::Overlap { previous, next, .. } if previous == "E1" && next == "E2")
    );
    assert!(issues[1].to_string().contains("no settlement covers"));
}

#[test]
fn reports_near_amazons_90_days_are_flagged() {
    let report = |id: &str, created: DateTime<Utc>| Unpulled {
        report_id: id.into(),
        settlement_id: Some(format!("S{id}")),
        marketplace_id: Some("US".into()),
        created,
    };
    let now = t(1, 0) + chrono::Duration::days(80);
    let issues = chain::check_retention(
        &[
            report("fresh", t(1, 0) + chrono::Duration::days(30)),
            report("close", t(1, 0)),
            report("gone", t(1, 0) - chrono::Duration::days(20)),
        ],
        now,
    );
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert!(
        matches!(&issues[0], ChainIssue::Retention { report_id, days_left, .. } if report_id == "gone" && *days_left < 0)
    );
    assert!(
        matches!(&issues[1], ChainIssue::Retention { report_id, days_left: 10, .. } if report_id == "close")
    );
    assert!(
        issues[1].to_string().contains("10 days left"),
        "{}",
        issues[1]
    );
    assert!(
        issues[0].to_string().contains("never pulled"),
        "{}",
        issues[0]
    );

    // Through the store: an unpulled listed report, and a pulled one that is not flagged.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), "test").unwrap();
    populate(&store);
    store
        .put_report(&ReportRecord {
            report_id: "R-222".into(),
            seller: "acme-na".into(),
            marketplace_id: Some("ATVPDKIKX0DER".into()),
            settlement_id: Some("222".into()),
            created: t(2, 0),
            pulled_at: None,
        })
        .unwrap();
    let issues = store
        .chain_issues(t(2, 0) + chrono::Duration::days(85))
        .unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        matches!(&issues[0], ChainIssue::Retention { report_id, days_left: 5, .. } if report_id == "R-222")
    );
    assert!(
        store
            .chain_issues(t(2, 0) + chrono::Duration::days(10))
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------- audit output

fn sample_entries() -> Vec<AuditEntry> {
    vec![
        AuditEntry::from_new(
            1,
            NewAuditEntry::new(t(3, 9), "headless", AuditAction::Pull)
                .settlement("111")
                .sha256("0123456789abcdef".repeat(4)),
        ),
        AuditEntry::from_new(
            2,
            NewAuditEntry::new(t(4, 8), "jdoe", AuditAction::Approval)
                .settlement("111")
                .period("JUL-25")
                .details(serde_json::json!({"note": "checked, \"ok\""})),
        ),
    ]
}

#[test]
fn audit_renders_as_table_csv_and_json() {
    let entries = sample_entries();
    let table = audit::render(&entries, AuditFormat::Table);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("seq  time"), "{table}");
    assert!(
        lines[1].contains("headless")
            && lines[1].contains("pull")
            && lines[1].ends_with("0123456789ab"),
        "{table}"
    );
    assert!(
        !lines[1].contains("0123456789abc"),
        "table shortens hashes: {table}"
    );
    assert!(
        lines[2].contains("2025-07-04T08:00:00Z") && lines[2].contains("JUL-25"),
        "{table}"
    );
    // Columns line up.
    assert_eq!(lines[0].find("actor"), lines[1].find("headless"));

    let csv = audit::render(&entries, AuditFormat::Csv);
    let rows: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        rows[0],
        "seq,time,actor,action,settlement,period,sha256,details"
    );
    assert_eq!(
        rows[1],
        format!(
            "1,2025-07-03T09:00:00Z,headless,pull,111,,{},",
            "0123456789abcdef".repeat(4)
        )
    );
    assert_eq!(
        rows[2],
        r#"2,2025-07-04T08:00:00Z,jdoe,approval,111,JUL-25,,"{""note"":""checked, \""ok\""""}""#
    );

    let json: serde_json::Value =
        serde_json::from_str(&audit::render(&entries, AuditFormat::Json)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[1]["action"], "approval");
    assert_eq!(json[1]["details"]["note"], "checked, \"ok\"");
    let back: Vec<AuditEntry> = serde_json::from_value(json).unwrap();
    assert_eq!(back, entries);
}

// ---------------------------------------------------------------- CLI

use std::process::{Command, Output};

const SECRETS: [&str; 5] = [
    "amzn1.application-oa2-client.CLIENTID77",
    "CLIENT-SECRET-do-not-leak-4242",
    "Atzr|REFRESH-TOKEN-do-not-leak-9191",
    "ebs-PASSWORD-do-not-leak-3131",
    "passphrase-do-not-leak-5151",
];

fn credentials_json() -> String {
    format!(
        r#"{{"sellers": {{"acme-na": {{"client_id": "{}", "client_secret": "{}", "refresh_token": "{}"}}}}, "ebs": {{"username": "MLC_USER", "password": "{}"}}}}"#,
        SECRETS[0], SECRETS[1], SECRETS[2], SECRETS[3]
    )
}

const CLI_CONFIG: &str = r#"
user = "jdoe"
[[seller]]
name = "acme-na"
region = "na"
marketplaces = ["ATVPDKIKX0DER"]
endpoint = "http://127.0.0.1:9"
[ebs]
base_url = "http://127.0.0.1:9"
[ebs.gl]
responsibility = "GENERAL_LEDGER_SUPER_USER"
application = "SQLGL"
access_set_id = 1000
[[routing]]
marketplace = "ATVPDKIKX0DER"
ledger_id = 1
org_id = 204
timezone = "America/New_York"
"#;

struct World {
    _root: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
    input: tempfile::TempDir,
}

impl World {
    fn new(extra_config: &str) -> World {
        let root = tempfile::tempdir().unwrap();
        let config = root.path().join("conf").join("config.toml");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(&config, format!("{extra_config}{CLI_CONFIG}")).unwrap();
        let data = root.path().join("data");
        World {
            _root: root,
            config,
            data,
            input: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str], passphrase: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ml-connector"));
        // Global options accepted after the subcommand, too.
        cmd.args(args)
            .arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data)
            .env_remove("ML_CONNECTOR_PASSPHRASE")
            .stdin(std::process::Stdio::null());
        if let Some(p) = passphrase {
            cmd.env("ML_CONNECTOR_PASSPHRASE", p);
        }
        cmd.output().unwrap()
    }

    fn json_file(&self) -> PathBuf {
        let path = self.input.path().join("creds.json");
        std::fs::write(&path, credentials_json()).unwrap();
        path
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

fn assert_no_secret(label: &str, haystack: &[u8]) {
    for secret in SECRETS {
        assert!(
            !haystack
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "{label} contains secret {secret}"
        );
    }
}

#[test]
fn cli_credentials_with_an_identity_file() {
    let world = World::new("identity = \"identity.txt\"\n");
    let json = world.json_file();
    let out = world.run(
        &["credentials", "set", "--from-json", json.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("created identity") && said.contains("mode 0600"),
        "{said}"
    );
    let creds = world.config.parent().unwrap().join("credentials.age");
    assert!(ml_connector::config::credentials::is_private(&creds).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let out = world.run(&["credentials", "check"], None);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("seller acme-na: client_id, client_secret, refresh_token present"),
        "{said}"
    );
    assert!(
        said.contains("ebs: user MLC_USER with a password"),
        "{said}"
    );
    assert_no_secret("credentials check output", said.as_bytes());

    // The library reads what the CLI wrote.
    let cfg = Config::load(&world.config).unwrap();
    let unlock = ml_connector::config::Unlock::Identity(cfg.identity_path().unwrap());
    let back = ml_connector::config::credentials::load(&cfg.credentials_path(), &unlock).unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(
        back.seller("acme-na")
            .unwrap()
            .client_secret
            .expose_secret(),
        SECRETS[1]
    );
}

#[test]
fn cli_credentials_with_a_passphrase_and_a_wrong_one() {
    let world = World::new("");
    let json = world.json_file();
    let out = world.run(
        &["credentials", "set", "--from-json", json.to_str().unwrap()],
        Some(SECRETS[4]),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("encrypted to a passphrase"));

    let out = world.run(&["credentials", "check"], Some(SECRETS[4]));
    assert!(out.status.success(), "{}", text(&out));

    let out = world.run(&["credentials", "check"], Some("not-the-passphrase"));
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("wrong passphrase"), "{said}");
    assert!(!said.contains("not-the-passphrase"), "{said}");
    assert_no_secret("wrong passphrase error", said.as_bytes());

    // Piped on stdin, as a script would.
    let mut child = Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .args(["credentials", "check", "--config"])
        .arg(&world.config)
        .env_remove("ML_CONNECTOR_PASSPHRASE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{}", SECRETS[4]).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_no_secret("piped check", text(&out).as_bytes());

    // Unattended, with no passphrase anywhere: a clear instruction, not a hang.
    let out = world.run(&["credentials", "check"], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("set ML_CONNECTOR_PASSPHRASE"),
        "{}",
        text(&out)
    );
}

/// Exit code of `--strict` refusals and other configuration problems.
const CONFIGURATION: i32 = 2;

#[cfg(unix)]
#[test]
fn cli_credentials_readable_by_others_warn_everywhere_and_strict_refuses() {
    use std::os::unix::fs::PermissionsExt;
    let world = World::new("");
    let json = world.json_file();
    let out = world.run(
        &["credentials", "set", "--from-json", json.to_str().unwrap()],
        Some(SECRETS[4]),
    );
    assert!(out.status.success(), "{}", text(&out));
    let creds = world.config.parent().unwrap().join("credentials.age");
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o644)).unwrap();
    let fix = format!("chmod 600 {}", creds.display());

    // Warned, and the command goes on.
    let out = world.run(&["credentials", "check"], Some(SECRETS[4]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains(&fix), "{}", text(&out));
    let out = world.run(&["doctor", "--timeout", "1"], Some(SECRETS[4]));
    let said = text(&out);
    assert!(said.contains(&fix), "{said}");
    assert!(
        said.contains("credentials: ok") || said.contains("decrypted"),
        "{said}"
    );
    // A data directory that cannot open ends headless and the workstation right after
    // the credentials are loaded (no network, no terminal needed).
    std::fs::write(&world.data, "not a directory").unwrap();
    let out = world.run(&["--headless", "--once"], Some(SECRETS[4]));
    assert_ne!(out.status.code(), Some(CONFIGURATION), "{}", text(&out));
    assert!(text(&out).contains(&fix), "{}", text(&out));
    let out = world.run(&[], Some(SECRETS[4]));
    assert!(!out.status.success());
    assert!(text(&out).contains(&fix), "{}", text(&out));

    // --strict refuses before anything else, with exit code 2.
    for args in [
        &["credentials", "check", "--strict"][..],
        &["doctor", "--strict", "--timeout", "1"],
        &["--headless", "--once", "--strict"],
        &["--strict"],
    ] {
        let out = world.run(args, Some(SECRETS[4]));
        let said = text(&out);
        assert_eq!(out.status.code(), Some(CONFIGURATION), "{args:?}: {said}");
        assert!(said.contains(&fix), "{args:?}: {said}");
        assert_no_secret("strict refusal", said.as_bytes());
    }

    // Fixed: no warning, and --strict is content.
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = world.run(&["credentials", "check", "--strict"], Some(SECRETS[4]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("chmod"), "{}", text(&out));
    let out = world.run(&["doctor", "--strict", "--timeout", "1"], Some(SECRETS[4]));
    assert!(!text(&out).contains("chmod"), "{}", text(&out));
}

#[test]
fn cli_set_refuses_json_without_the_configured_sellers_or_ebs() {
    let world = World::new("");
    let json = world.json_file();
    let out = world.run(
        &["credentials", "set", "--from-json", json.to_str().unwrap()],
        Some(SECRETS[4]),
    );
    assert!(out.status.success(), "{}", text(&out));
    let creds = world.config.parent().unwrap().join("credentials.age");
    let before = std::fs::read(&creds).unwrap();

    let other_seller = world.input.path().join("other.json");
    std::fs::write(
        &other_seller,
        r#"{"sellers": {"beta-eu": {"client_id": "a", "client_secret": "b", "refresh_token": "c"}}}"#,
    )
    .unwrap();
    let out = world.run(
        &[
            "credentials",
            "set",
            "--from-json",
            other_seller.to_str().unwrap(),
        ],
        Some(SECRETS[4]),
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(CONFIGURATION), "{said}");
    assert!(said.contains("acme-na") && said.contains("[ebs]"), "{said}");
    assert!(
        said.contains("--force") && said.contains("nothing was written"),
        "{said}"
    );
    assert_eq!(std::fs::read(&creds).unwrap(), before, "file unchanged");

    let no_ebs = world.input.path().join("no-ebs.json");
    std::fs::write(
        &no_ebs,
        format!(
            r#"{{"sellers": {{"acme-na": {{"client_id": "{}", "client_secret": "{}", "refresh_token": "{}"}}}}}}"#,
            SECRETS[0], SECRETS[1], SECRETS[2]
        ),
    )
    .unwrap();
    let out = world.run(
        &[
            "credentials",
            "set",
            "--from-json",
            no_ebs.to_str().unwrap(),
        ],
        Some(SECRETS[4]),
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(CONFIGURATION), "{said}");
    assert!(
        said.contains("[ebs]") && !said.contains("acme-na"),
        "{said}"
    );
    assert_eq!(std::fs::read(&creds).unwrap(), before, "file unchanged");
    let out = world.run(&["credentials", "check"], Some(SECRETS[4]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // On purpose: written, with the warnings.
    let out = world.run(
        &[
            "credentials",
            "set",
            "--force",
            "--from-json",
            no_ebs.to_str().unwrap(),
        ],
        Some(SECRETS[4]),
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("warning") && said.contains("[ebs]"), "{said}");
    assert_ne!(std::fs::read(&creds).unwrap(), before);
    let out = world.run(&["credentials", "check"], Some(SECRETS[4]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn cli_config_errors_name_the_line() {
    let world = World::new("");
    let cfg = std::fs::read_to_string(&world.config).unwrap().replace(
        "application = \"SQLGL\"",
        "application = \"SQLGL\"\nfoo = 1",
    );
    std::fs::write(&world.config, &cfg).unwrap();
    let out = world.run(&["credentials", "check"], Some("x"));
    assert!(!out.status.success());
    let line = line_of(&cfg, "foo = 1");
    let said = text(&out);
    assert!(
        said.contains(&format!(
            "config.toml line {line}: unknown key `foo` in [ebs.gl]"
        )),
        "{said}"
    );
}

#[test]
fn cli_store_and_audit_and_the_lock_from_another_process() {
    let world = World::new("");
    {
        let store = Store::open(&world.data, "test").unwrap();
        populate(&store);
        // Held: another process is told who has it.
        let out = world.run(&["store", "verify"], None);
        assert!(!out.status.success());
        let said = text(&out);
        assert!(
            said.contains(&format!(
                "data directory {} is in use by pid {} (test)",
                world.data.display(),
                std::process::id()
            )),
            "{said}"
        );
    }
    let out = world.run(&["store", "verify"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("is consistent"), "{}", text(&out));

    let out = world.run(&["audit", "--settlement", "111", "--format", "csv"], None);
    assert!(out.status.success(), "{}", text(&out));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("1,2025-07-03T09:00:00Z,headless,pull,111,"),
        "{csv}"
    );
    let out = world.run(&["audit", "--format", "json"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 4);
    let out = world.run(&["audit"], None);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("seq  time"));

    // Export, then import into a fresh directory: identical data.
    let backup = world.input.path().join("backup.jsonl");
    let out = world.run(
        &["store", "export", "--output", backup.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let fresh = world.input.path().join("fresh");
    let out = Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .args([
            "--data-dir",
            fresh.to_str().unwrap(),
            "store",
            "import",
            backup.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .args(["--data-dir", fresh.to_str().unwrap(), "store", "export"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, std::fs::read(&backup).unwrap());
}

#[test]
fn no_secret_reaches_the_data_directory_or_any_message() {
    let world = World::new("identity = \"identity.txt\"\n");
    let json = world.json_file();
    let mut said = Vec::new();
    let out = world.run(
        &["credentials", "set", "--from-json", json.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    said.push(text(&out));
    std::fs::remove_file(&json).unwrap();
    said.push(text(&world.run(&["credentials", "check"], None)));
    {
        let store = Store::open(&world.data, "test").unwrap();
        populate(&store);
    }
    said.push(text(&world.run(&["store", "verify"], None)));
    said.push(text(&world.run(&["audit", "--format", "json"], None)));
    let backup = world.data.join("backup.jsonl");
    said.push(text(&world.run(
        &["store", "export", "--output", backup.to_str().unwrap()],
        None,
    )));
    // A broken credentials JSON must not echo what it was given.
    let bad = world.input.path().join("bad.json");
    std::fs::write(
        &bad,
        format!(
            r#"{{"sellers": {{"x": {{"client_id": 1, "client_secret": "{}"}}}}}}"#,
            SECRETS[1]
        ),
    )
    .unwrap();
    let out = world.run(
        &["credentials", "set", "--from-json", bad.to_str().unwrap()],
        None,
    );
    assert!(!out.status.success());
    said.push(text(&out));
    // A mangled credentials file: the error names the file, not its content.
    let creds_path = world.config.parent().unwrap().join("credentials.age");
    let mut mangled = std::fs::read(&creds_path).unwrap();
    let n = mangled.len();
    mangled[n - 5] ^= 0xff;
    std::fs::write(&creds_path, &mangled).unwrap();
    let out = world.run(&["credentials", "check"], None);
    assert!(!out.status.success());
    said.push(text(&out));

    for (i, s) in said.iter().enumerate() {
        assert_no_secret(&format!("output of step {i}"), s.as_bytes());
    }
    let files = files_under(&world.data);
    assert!(files.len() >= 3, "the data directory holds the store");
    for (path, bytes) in files_under(world.config.parent().unwrap())
        .into_iter()
        .chain(files)
    {
        assert_no_secret(&path.display().to_string(), &bytes);
    }
}

/// The first ```toml block after `heading` in a markdown text.
fn toml_block_after<'a>(text: &'a str, heading: &str) -> &'a str {
    text.split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("section {heading} exists"))
        .split("```toml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap()
}

#[test]
fn the_documented_example_is_a_valid_configuration() {
    let docs = include_str!("../docs/configuration.md");
    let block = toml_block_after(docs, "# Configuration");
    let cfg = load_str(block).unwrap();
    assert_eq!(cfg.settings(), load_str(EXAMPLE).unwrap().settings());
}

#[test]
fn the_readme_first_configuration_is_valid() {
    let readme = include_str!("../README.md");
    let block = toml_block_after(readme, "## A first real configuration");
    let cfg = load_str(block).unwrap();
    assert_eq!(cfg.settings().user.as_deref(), Some("jdoe"));
}

#[test]
fn a_v1_export_is_migrated_on_import() {
    let v1 = concat!(
        r#"{"format":"ml-connector-store","schema_version":1}"#,
        "\n",
        r#"{"tree":"meta","key":"736368656d615f76657273696f6e","value":1}"#,
        "\n",
        // "posting" / "999/JUL-25"
        r#"{"tree":"posting","key":"3939392f4a554c2d3235","value":{"state":"approved","approval":{"who":"jdoe","when":"2025-07-04T08:00:00Z","proposal_hash":"ab"},"updated_at":"2025-07-04T08:00:00Z"}}"#,
        "\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), "test").unwrap();
    let summary = store.import(&mut v1.as_bytes()).unwrap();
    assert!(summary.migrated && summary.schema_version == 1 && summary.entries == 2);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let batch = store
        .batch(&BatchKey::new("999", "JUL-25"))
        .unwrap()
        .unwrap();
    assert_eq!(batch.state, BatchState::Approved);
    assert_eq!(batch.revision, 1);
    assert_eq!(batch.approval.unwrap().who, "jdoe");
    // Its settlement was never in the export: verify says so rather than guessing.
    let problems = store.verify().unwrap().problems;
    assert_eq!(
        problems,
        vec!["batch 999/JUL-25: settlement 999 does not exist".to_string()]
    );
}

#[test]
fn syntax_errors_name_line_and_key() {
    let err = load_str("user = \"a\"\n\nuser = \"b\"\n").unwrap_err();
    assert_eq!(err.line(), Some(3));
    assert!(
        err.to_string().contains("duplicate key (at `user`)"),
        "{err}"
    );
    let err = load_str("[schedule]\nevery = 15m\n").unwrap_err();
    assert_eq!(err.line(), Some(2), "{err}");
}

#[test]
fn store_is_shareable_and_links_event_groups() {
    fn send_sync<S: Send + Sync>() {}
    send_sync::<Store>();

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), "test").unwrap();
    populate(&store);
    store
        .put_event_group(&EventGroupRecord {
            group_id: "FEG-2".into(),
            seller: "acme-na".into(),
            settlement_id: None,
            fetched_at: t(3, 9),
            data: serde_json::json!({}),
        })
        .unwrap();
    store.link_event_group("111", "FEG-2", None).unwrap();
    assert_eq!(
        store
            .settlement("111")
            .unwrap()
            .unwrap()
            .event_group_id
            .as_deref(),
        Some("FEG-2")
    );
    assert_eq!(
        store
            .event_group("FEG-2")
            .unwrap()
            .unwrap()
            .settlement_id
            .as_deref(),
        Some("111")
    );
    assert!(store.link_event_group("nope", "FEG-2", None).is_err());

    // Status is the worst batch.
    assert_eq!(
        store.settlement_status("111").unwrap(),
        Some(BatchState::Approved)
    );
    let rejected = BatchRecord {
        reason: Some("EU02: period closed".into()),
        ..BatchRecord::new(
            &BatchKey::new("111", "AUG-25"),
            BatchState::Rejected,
            t(5, 0),
        )
    };
    store.create_batch(&rejected, None).unwrap();
    assert!(
        store.create_batch(&rejected, None).is_err(),
        "a batch is created once"
    );
    assert_eq!(
        store.settlement_status("111").unwrap(),
        Some(BatchState::Rejected)
    );
    assert_eq!(store.settlement_status("222").unwrap(), None);
    let proposal = store
        .proposal(&BatchKey::new("111", "JUL-25"))
        .unwrap()
        .unwrap();
    let approved = store
        .batch(&BatchKey::new("111", "JUL-25"))
        .unwrap()
        .unwrap();
    assert!(approved.approval_holds_for(&proposal));
    let changed = Proposal {
        proposal_hash: "cd".repeat(32),
        ..proposal
    };
    assert!(!approved.approval_holds_for(&changed));
}

#[test]
fn keys_that_would_collide_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), "test").unwrap();
    let bad = BatchRecord::new(
        &BatchKey::new("1\u{0}2", "JUL-25"),
        BatchState::Proposed,
        t(1, 0),
    );
    let err = store.create_batch(&bad, None).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidKey {
                what: "settlement id",
                ..
            }
        ),
        "{err}"
    );
    let empty = BatchRecord::new(&BatchKey::new("1", ""), BatchState::Proposed, t(1, 0));
    assert!(store.create_batch(&empty, None).is_err());
    assert!(
        store
            .import_mapping("a\u{0}b", "x", "file", "jdoe", t(1, 0))
            .is_err()
    );
    assert!(store.verify().unwrap().is_clean());
}

/// Issue 14: a store written by main at 0bbf9f5 (schema 2; `store export` of a demo run) is
/// imported, migrated and exported again: every entry comes back identical but for the
/// migration's documented changes, spelled out here, and every proposal, intent and
/// audit entry reads through the typed records recovery uses.
#[test]
fn a_store_written_by_main_0bbf9f5_migrates_and_reads_back_identically() {
    use ml_connector::ledger::proposal_hash::{PROPOSAL_HASH_VERSION, proposal_hash};
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    fn entries(text: &str) -> (Value, BTreeMap<(String, String), Value>) {
        let mut lines = text.lines();
        let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        let mut out = BTreeMap::new();
        for l in lines.filter(|l| !l.trim().is_empty()) {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let tree = v["tree"].as_str().unwrap().to_string();
            let key = v["key"].as_str().unwrap().to_string();
            let body = v
                .as_object_mut()
                .unwrap()
                .remove("value")
                .unwrap_or_else(|| v["bytes"].clone());
            assert!(out.insert((tree, key), body).is_none(), "duplicate entry");
        }
        (header, out)
    }

    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store/demo-0bbf9f5.jsonl");
    let original = std::fs::read_to_string(&fixture).unwrap();
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), "test").unwrap();
        let summary = store.import(&mut original.as_bytes()).unwrap();
        assert!(
            summary.migrated && summary.schema_version == 2,
            "{summary:?}"
        );
    }
    // Reopened, as the next run would (migrations already done: nothing changes).
    let store = Store::open(dir.path(), "test").unwrap();
    let mut out = Vec::new();
    store.export(&mut out).unwrap();
    let (old_header, old) = entries(&original);
    let (new_header, mut new) = entries(&String::from_utf8(out).unwrap());
    assert_eq!(old_header["schema_version"], 2);
    assert_eq!(new_header["schema_version"], SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 3);

    // What the 2 → 3 migration changes, and nothing else.
    let legacy = |p: &Value| {
        sha256_hex(
            json!({"journal": p["lines"], "state": p["outcome"]})
                .to_string()
                .as_bytes(),
        )
    };
    let mut expected = old.clone();
    expected.insert(
        ("meta".into(), hex::encode("schema_version")),
        json!(SCHEMA_VERSION),
    );
    let mut rehashed = BTreeMap::new();
    for ((tree, key), p) in &old {
        if tree != "proposals" {
            continue;
        }
        let old_hash = p["proposal_hash"].as_str().unwrap().to_string();
        // Every proposal main wrote still matches its hash, so every one is re-hashed.
        assert_eq!(legacy(p), old_hash, "proposal {key}");
        let sid = p["batch"]["settlement_id"].as_str().unwrap();
        let settlement = &old[&("settlements".to_string(), hex::encode(sid))];
        let new_hash = proposal_hash(
            sid,
            settlement["summary"]["currency"].as_str().unwrap(),
            serde_json::from_value(p["outcome"].clone()).unwrap(),
            &serde_json::from_value(p["lines"].clone()).unwrap(),
        );
        let mut want = p.clone();
        want["proposal_hash"] = json!(new_hash);
        want["hash_version"] = json!(PROPOSAL_HASH_VERSION);
        want["legacy_hash"] = json!(old_hash);
        expected.insert((tree.clone(), key.clone()), want);
        rehashed.insert(key.clone(), (old_hash, new_hash));
    }
    assert_eq!(rehashed.len(), 8);
    let mut upgraded = 0;
    for ((tree, key), b) in &old {
        if tree != "batches" || b["approval"].is_null() {
            continue;
        }
        // An approval of the very journal stored moves to its new hash.
        let (old_hash, new_hash) = &rehashed[key];
        assert_eq!(
            b["approval"]["proposal_hash"],
            json!(old_hash),
            "batch {key}"
        );
        let mut want = b.clone();
        want["approval"]["proposal_hash"] = json!(new_hash);
        want["approval"]["hash_version"] = json!(PROPOSAL_HASH_VERSION);
        expected.insert((tree.clone(), key.clone()), want);
        upgraded += 1;
    }
    assert_eq!(upgraded, 5);
    for (k, want) in &expected {
        let got = new.remove(k).unwrap_or_else(|| panic!("{k:?} is gone"));
        assert_eq!(&got, want, "{k:?}");
    }
    assert!(new.is_empty(), "new entries: {:?}", new.keys());

    // Everything recovery reads, typed.
    let proposals = store.proposals().unwrap();
    assert_eq!(proposals.len(), 8);
    assert!(proposals.iter().all(|p| p.hash_is_current()));
    for b in store.batches().unwrap() {
        if b.approval.is_some() {
            let p = store.proposal(&b.key()).unwrap().unwrap();
            assert!(b.approval_holds_for(&p), "{}", b.key());
        }
    }
    assert!(store.intents().unwrap().is_empty());
    let audit = store.audit_entries(None).unwrap();
    assert_eq!(audit.len(), 50);
    let mut staged = 0;
    for e in &audit {
        match e.action {
            AuditAction::Staging => {
                let d = StagingDetails::of(e).unwrap();
                assert_eq!(d.lines, d.batch.lines.len());
                staged += 1;
            }
            AuditAction::Reversal => {
                ReversalDetails::of(e).unwrap();
            }
            _ => {}
        }
    }
    assert_eq!(staged, 7);
    let v = store.verify().unwrap();
    assert!(v.is_clean(), "{v:?}");
}
