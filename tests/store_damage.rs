//! Issue 14, "the store never loses history silently": a damaged `store/db` (cut to
//! half, to nothing, one byte changed) is reported with what is missing, never panics,
//! is never started over or used, is left as it was found, and `store restore` brings
//! back exactly what was there. Also: the crash window, a damaged journal, migration
//! of a pre-journal store, backups, and the CLI's refusals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, Duration, TimeZone, Utc};
use ml_connector::ledger::model::{SettlementFormat, SettlementSummary};
use ml_connector::ledger::money::Currency;
use ml_connector::ledger::state::BatchState;
use ml_connector::store::*;

fn t(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap() + Duration::hours(n)
}

fn audit(n: i64, action: AuditAction, id: &str, period: &str) -> NewAuditEntry {
    NewAuditEntry::new(t(n), "headless", action)
        .settlement(id)
        .period(period)
}

/// Moves a batch along `states`, each step audited.
fn walk(store: &Store, key: &BatchKey, states: &[BatchState], n: i64) {
    let mut current = store.batch(key).unwrap().unwrap();
    for (i, state) in states.iter().enumerate() {
        let mut next = current.clone();
        next.state = *state;
        next.updated_at = t(n + i as i64);
        if *state == BatchState::Approved {
            next.approval = Some(Approval {
                who: "jdoe".into(),
                when: t(n),
                proposal_hash: "ab".repeat(32),
                hash_version: 1,
            });
        }
        if *state == BatchState::Staged {
            store
                .record_intent(&PostingIntent {
                    batch: key.clone(),
                    revision: next.revision,
                    action: IntentAction::Stage,
                    group_id: Some(format!("MLC-{key}")),
                    source_key: format!("MLC:{key}"),
                    written_at: t(n),
                    details: serde_json::from_value(serde_json::json!({})).unwrap(),
                })
                .unwrap();
            next.group_id = Some(format!("MLC-{key}"));
        }
        if *state == BatchState::Imported {
            next.journal_ids = vec![9000 + n];
        }
        let action = match state {
            BatchState::Approved => AuditAction::Approval,
            BatchState::Staged => AuditAction::Staging,
            BatchState::Submitted => AuditAction::Submission,
            _ => AuditAction::Outcome,
        };
        let mut entry = audit(n, action, &key.settlement_id, &key.period);
        if *state == BatchState::Staged {
            // What posting writes: the batch exactly as staged.
            entry = entry.details(serde_json::json!({
                "revision": next.revision,
                "group_id": format!("MLC-{key}"),
                "lines": 2,
                "batch": {
                    "settlement_id": key.settlement_id, "ledger_id": "1",
                    "period_name": key.period, "original_period": null,
                    "accounting_date": "2026-10-31", "currency": "USD",
                    "je_source": "Amazon", "je_category": "Settlement",
                    "batch_name": format!("AMZ {}", key.settlement_id), "batch_description": "",
                    "journal_name": format!("AMZ {} {} r1", key.settlement_id, key.period),
                    "journal_description": "", "revision": next.revision,
                    "reversed_revisions": [], "conversion": null,
                    "lines": [
                        {"account": "01-000-6100", "entered_dr": "1.00", "entered_cr": null,
                         "accounted_dr": null, "accounted_cr": null, "description": "fees",
                         "line_key": "k1"},
                        {"account": "01-000-1100", "entered_dr": null, "entered_cr": "1.00",
                         "accounted_dr": null, "accounted_cr": null, "description": "clearing",
                         "line_key": "k2"}
                    ]
                }
            }));
        }
        store.transition(&current, &next, Some(entry)).unwrap();
        current = next;
    }
}

/// A demo-like store: settlements with raw files, batches in every state, proposals,
/// mapping versions, orders, cursors and a long audit trail. Returns its export
/// (taken before it closes, so the files are as one session left them).
fn demo_store(dir: &Path) -> String {
    let store = Store::open(dir, "test").unwrap();
    let mut mapping = store
        .import_mapping(
            "mapping.toml",
            "[fees]\nFBA = \"6100\"\n",
            "file",
            "jdoe",
            t(0),
        )
        .unwrap()
        .0;
    for i in 0..40i64 {
        let id = format!("2079{:06}", 100 + i);
        let raw = format!("settlement-id\tsettlement-start-date\n{id}\t2026-09-01\n")
            .repeat(20 + i as usize)
            .into_bytes();
        let meta = RawFileMeta::describe(&id, "UTF-8", &raw, t(i));
        store
            .put_raw_settlement(
                &meta,
                &raw,
                Some(
                    NewAuditEntry::new(t(i), "headless", AuditAction::Pull)
                        .settlement(&id)
                        .sha256(meta.sha256.clone()),
                ),
            )
            .unwrap();
        store
            .put_settlement(
                &SettlementRecord {
                    summary: SettlementSummary {
                        settlement_id: id.clone(),
                        format: SettlementFormat::V2,
                        start: t(i * 24),
                        end: t(i * 24 + 24),
                        deposit_date: Some(t(i * 24 + 24)),
                        total_amount: "1234.56".parse().unwrap(),
                        currency: Currency::new("USD"),
                    },
                    seller: "acme-na".into(),
                    marketplace_id: "ATVPDKIKX0DER".into(),
                    raw_sha256: Some(meta.sha256.clone()),
                    event_group_id: None,
                    pulled_at: t(i),
                },
                None,
            )
            .unwrap();
        store
            .put_orders(&[OrderRecord {
                order_id: format!("111-{id}"),
                seller: "acme-na".into(),
                marketplace_id: Some("ATVPDKIKX0DER".into()),
                fetched_at: t(i),
                data: serde_json::json!({"OrderStatus": "Shipped", "n": i}),
            }])
            .unwrap();
        if i % 10 == 9 {
            mapping = store
                .import_mapping(
                    "mapping.toml",
                    &format!("[fees]\nFBA = \"61{i:02}\"\n"),
                    "tui",
                    "jdoe",
                    t(i),
                )
                .unwrap()
                .0;
        }
        for period in ["OCT-26", "NOV-26"] {
            let key = BatchKey::new(&id, period);
            store
                .put_proposal(
                    &Proposal {
                        batch: key.clone(),
                        mapping: MappingRef {
                            name: mapping.name.clone(),
                            version: mapping.version,
                        },
                        proposal_hash: "ab".repeat(32),
                        created_at: t(i),
                        outcome: BatchState::Proposed,
                        reason: None,
                        hash_version: 1,
                        legacy_hash: None,
                        lines: serde_json::from_value(serde_json::json!({
                            "period": period,
                            "accounting_date": "2026-10-31",
                            "lines": [{"account": "01-000-6100", "label": "fees",
                                       "debit": format!("{i}.00"), "credit": "0", "rows": 1,
                                       "original_period": null, "kind": "mapped",
                                       "rules": [], "ap": false}],
                            "zero_net": [],
                            "total_debit": format!("{i}.00"),
                            "total_credit": "0"
                        }))
                        .unwrap(),
                    },
                    Some(audit(i, AuditAction::Proposal, &id, period)),
                )
                .unwrap();
            store
                .create_batch(&BatchRecord::new(&key, BatchState::Proposed, t(i)), None)
                .unwrap();
            use BatchState::*;
            let path: &[BatchState] = match i % 4 {
                0 => &[],
                1 => &[Approved],
                2 => &[Approved, Staged, Submitted],
                _ => &[Approved, Staged, Submitted, Imported],
            };
            walk(&store, &key, path, i);
        }
        store
            .set_cursor(
                "acme-na/settlements",
                serde_json::json!({"created_since": t(i)}),
                t(i),
            )
            .unwrap();
    }
    let mut out = Vec::new();
    store.export(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn export_of(dir: &Path) -> String {
    let store = Store::open(dir, "test").unwrap();
    let mut out = Vec::new();
    store.export(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn db_file(dir: &Path) -> PathBuf {
    dir.join("store").join("db")
}

/// Builds the demo store, damages `store/db` with `damage`, and checks the whole
/// story: reported (not a panic, not a new store), left as found, listed by verify,
/// restored to exactly the export taken before.
fn damaged_then_restored(damage: impl Fn(&mut Vec<u8>)) -> Damage {
    let dir = tempfile::tempdir().unwrap();
    let before = demo_store(dir.path());
    let mut bytes = std::fs::read(db_file(dir.path())).unwrap();
    damage(&mut bytes);
    std::fs::write(db_file(dir.path()), &bytes).unwrap();
    assert!(
        plain_sled_loses_silently(dir.path(), &before),
        "the damage is one plain sled (the previous version) does not notice"
    );

    let err = Store::open(dir.path(), "test").expect_err("a damaged store must not open");
    let damage = err
        .damage()
        .unwrap_or_else(|| panic!("not a damage: {err}"));
    let msg = err.to_string();
    assert!(msg.contains("store restore"), "{msg}");
    assert!(msg.contains("left as they were"), "{msg}");
    assert_eq!(
        std::fs::read(db_file(dir.path())).unwrap(),
        bytes,
        "a failed open leaves the damaged bytes as they were"
    );
    // Every other command refuses the same way; a second try says the same.
    let again = Store::open(dir.path(), "test").unwrap_err();
    assert_eq!(again.damage().map(|d| &d.reason), Some(&damage.reason));

    // verify (inspect) lists what is missing and changes nothing either.
    let inspected = Store::inspect(dir.path(), "test").unwrap();
    let found = inspected.damage.clone().expect("inspect sees the damage");
    assert_eq!(found.kind, DamageKind::Store);
    if let Some(store) = &inspected.store {
        assert!(store.refused().is_some());
        let err = store
            .append_audit(NewAuditEntry::new(t(0), "x", AuditAction::Replay))
            .unwrap_err();
        assert!(
            err.damage().is_some(),
            "a damaged store takes no writes: {err}"
        );
    }
    drop(inspected);
    assert_eq!(std::fs::read(db_file(dir.path())).unwrap(), bytes);

    let report = Store::restore(dir.path(), "test").unwrap();
    assert_eq!(report.action, RestoreAction::StoreFromHistory);
    assert!(report.verify.is_clean(), "{:?}", report.verify.problems);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    assert_eq!(report.moved_aside.len(), 1);
    assert_eq!(
        std::fs::read(report.moved_aside[0].join("db")).unwrap(),
        bytes,
        "the damaged store is kept, not deleted"
    );
    assert_eq!(report.counts["batches"], 80);
    let after = export_of(dir.path());
    assert!(before == after, "the restored store exports what was there");
    let store = Store::open(dir.path(), "test").unwrap();
    assert!(store.verify().unwrap().is_clean());
    found
}

/// Opens a copy of the damaged files with sled alone, as the previous version did:
/// it opens, and holds fewer entries than the export says it should.
fn plain_sled_loses_silently(dir: &Path, export: &str) -> bool {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&dir.join("store"), copy.path());
    let expected = export.lines().count() - 1;
    let seen = std::panic::catch_unwind(|| {
        let db = sled::open(copy.path()).ok()?;
        let mut n = 0;
        for name in db.tree_names() {
            for item in db.open_tree(name).ok()?.iter() {
                let (k, _) = item.ok()?;
                n += usize::from(k.as_ref() != b"journal");
            }
        }
        Some(n)
    });
    matches!(seen, Ok(Some(n)) if n < expected)
}

#[test]
fn truncating_the_db_to_half_is_reported_with_what_is_missing_and_restored() {
    let damage = damaged_then_restored(|b| b.truncate(b.len() / 2));
    let all = damage.details.join("\n");
    assert!(all.contains("audit entries missing (seq "), "{all}");
    assert!(
        damage
            .details
            .iter()
            .any(|d| d.starts_with("batch 2079") && d.ends_with(" missing")),
        "batches are named: {all}"
    );
}

#[test]
fn truncating_the_db_to_nothing_is_never_a_new_store() {
    let damage = damaged_then_restored(Vec::clear);
    assert!(damage.reason.contains("lost everything"), "{damage:?}");
    assert!(
        damage
            .details
            .iter()
            .any(|d| d.starts_with("80 batch records")),
        "{damage:?}"
    );
}

#[test]
fn one_changed_byte_in_the_middle_is_not_a_silent_loss() {
    damaged_then_restored(|b| {
        let n = b.len() / 2;
        b[n] ^= 0x55;
    });
}

#[test]
fn a_changed_first_byte_is_reported_not_a_panic() {
    damaged_then_restored(|b| b[0] ^= 0x55);
    damaged_then_restored(|b| b[0] = 0);
}

#[test]
fn a_store_one_commit_behind_is_completed_and_one_further_behind_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path());
    let copies = tempfile::tempdir().unwrap();
    let keep = |name: &str| {
        let to = copies.path().join(name);
        copy_dir(&dir.path().join("store"), &to);
        to
    };
    let two_behind = keep("two");
    {
        let store = Store::open(dir.path(), "test").unwrap();
        assert!(
            store.open_info().clean_close,
            "a clean close makes a cheap open"
        );
        store
            .append_audit(NewAuditEntry::new(t(90), "jdoe", AuditAction::Archive))
            .unwrap();
    }
    let one_behind = keep("one");
    let key = BatchKey::new("2079000100", "OCT-26");
    let last_seq = {
        let store = Store::open(dir.path(), "test").unwrap();
        walk(&store, &key, &[BatchState::Approved], 91);
        store.journal_position().unwrap().seq
    };
    let after = export_of(dir.path());
    let put = |from: &Path| {
        std::fs::remove_dir_all(dir.path().join("store")).unwrap();
        copy_dir(from, &dir.path().join("store"));
        let _ = std::fs::remove_file(dir.path().join("store.clean"));
    };

    // sled lost exactly the last commit (killed between the journal and sled's flush):
    // the next open completes it from the journal.
    put(&one_behind);
    {
        let store = Store::open(dir.path(), "test").unwrap();
        assert_eq!(store.open_info().completed, Some(last_seq));
        assert_eq!(
            store.batch(&key).unwrap().unwrap().state,
            BatchState::Approved
        );
    }
    assert!(export_of(dir.path()) == after);

    // Further behind: the store went back in time. Damaged, with what is missing.
    put(&two_behind);
    let err = Store::open(dir.path(), "test").unwrap_err();
    let damage = err.damage().unwrap().clone();
    assert!(damage.reason.contains("went back"), "{}", damage.reason);
    let all = damage.details.join("\n");
    assert!(
        all.contains("batch 2079000100/OCT-26 state approved r1: the store has state proposed r1"),
        "{all}"
    );
    assert!(all.contains("2 audit entries missing (seq "), "{all}");
    let report = Store::restore(dir.path(), "test").unwrap();
    assert_eq!(report.action, RestoreAction::StoreFromHistory);
    assert!(export_of(dir.path()) == after);
}

#[test]
fn a_store_written_before_the_journal_is_migrated_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let before = demo_store(dir.path());
    // As the previous version left it: no history, no journal position, no marker.
    std::fs::remove_dir_all(dir.path().join("history")).unwrap();
    std::fs::remove_file(dir.path().join("store.clean")).unwrap();
    {
        let db = sled::open(dir.path().join("store")).unwrap();
        db.open_tree("meta").unwrap().remove("journal").unwrap();
        db.flush().unwrap();
    }
    {
        let store = Store::open(dir.path(), "test").unwrap();
        assert!(store.open_info().journal_started);
        assert!(store.verify().unwrap().is_clean());
    }
    assert!(export_of(dir.path()) == before);
    // From now on it is protected like any other store.
    let db = db_file(dir.path());
    let bytes = std::fs::read(&db).unwrap();
    std::fs::write(&db, &bytes[..bytes.len() / 2]).unwrap();
    assert!(
        Store::open(dir.path(), "test")
            .unwrap_err()
            .damage()
            .is_some()
    );
    Store::restore(dir.path(), "test").unwrap();
    assert!(export_of(dir.path()) == before);
}

#[test]
fn a_damaged_journal_is_reported_and_restarted_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let before = demo_store(dir.path());
    let journal = dir.path().join("history").join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let changed = text.replacen("\"state\":\"staged\"", "\"state\":\"posted\"", 1);
    assert_ne!(changed, text);
    std::fs::write(&journal, &changed).unwrap();
    let err = Store::open(dir.path(), "test").unwrap_err();
    let damage = err.damage().unwrap();
    assert_eq!(damage.kind, DamageKind::History, "{err}");
    assert!(damage.reason.contains("does not match its hash"), "{err}");
    let report = Store::restore(dir.path(), "test").unwrap();
    assert_eq!(report.action, RestoreAction::HistoryFromStore);
    assert!(report.verify.is_clean(), "{:?}", report.verify.problems);
    assert!(
        report.moved_aside[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("journal.damaged-"),
        "{:?}",
        report.moved_aside
    );
    assert_eq!(
        std::fs::read_to_string(&report.moved_aside[0]).unwrap(),
        changed
    );
    assert!(export_of(dir.path()) == before);
}

#[test]
fn an_append_cut_short_by_a_crash_is_removed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), "test").unwrap();
        store
            .append_audit(NewAuditEntry::new(t(0), "jdoe", AuditAction::Archive))
            .unwrap();
    }
    let journal = dir.path().join("history").join("journal.jsonl");
    let good = std::fs::read(&journal).unwrap();
    let mut torn = good.clone();
    torn.extend_from_slice(br#"{"seq":9,"at":"2026-"#);
    std::fs::write(&journal, &torn).unwrap();
    let store = Store::open(dir.path(), "test").unwrap();
    assert!(store.verify().unwrap().is_clean());
    assert_eq!(std::fs::read(&journal).unwrap(), good);
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("history"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("torn-"))
        .collect();
    assert_eq!(kept.len(), 1);
}

/// Unattended runs back up at most once per interval, however often they change the store.
#[test]
fn scheduled_backups_wait_for_their_interval() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), "test").unwrap();
    let day = std::time::Duration::from_secs(24 * 3600);
    store
        .append_audit(NewAuditEntry::new(t(0), "jdoe", AuditAction::Archive))
        .unwrap();
    assert!(
        store.backup_if_due(3, day).unwrap().is_some(),
        "the first one"
    );
    store
        .append_audit(NewAuditEntry::new(t(1), "jdoe", AuditAction::Archive))
        .unwrap();
    assert_eq!(store.backup_if_due(3, day).unwrap(), None, "within a day");
    assert!(
        store
            .backup_if_due(3, std::time::Duration::ZERO)
            .unwrap()
            .is_some(),
        "once the interval has passed, the change is backed up"
    );
}

#[test]
fn backups_follow_changes_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), "test").unwrap();
    assert_eq!(store.backup_if_changed(3).unwrap(), None, "nothing changed");
    let mut written = Vec::new();
    for i in 0..5 {
        store
            .append_audit(NewAuditEntry::new(t(i), "jdoe", AuditAction::Archive))
            .unwrap();
        let path = store
            .backup_if_changed(3)
            .unwrap()
            .expect("a change is backed up");
        assert_eq!(store.backup_if_changed(3).unwrap(), None, "once per change");
        written.push(path);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut left: Vec<PathBuf> = std::fs::read_dir(dir.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    left.sort();
    assert_eq!(left, written[2..].to_vec(), "the newest three are kept");
    let mut current = Vec::new();
    store.export(&mut current).unwrap();
    assert_eq!(std::fs::read(&written[4]).unwrap(), current);
    // A backup imports into an empty directory.
    let other = tempfile::tempdir().unwrap();
    let fresh = Store::open(other.path(), "test").unwrap();
    fresh
        .import(&mut std::io::BufReader::new(
            std::fs::File::open(&written[4]).unwrap(),
        ))
        .unwrap();
    assert!(fresh.verify().unwrap().is_clean());
}

#[test]
fn import_refuses_unknown_trees_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut export = demo_store(dir.path());
    export.push_str("{\"tree\":\"bogus\",\"key\":\"01\",\"value\":1}\n");
    export.push_str("{\"tree\":\"also_bogus\",\"key\":\"02\",\"value\":2}\n");
    let other = tempfile::tempdir().unwrap();
    let store = Store::open(other.path(), "test").unwrap();
    let err = store.import(&mut export.as_bytes()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`also_bogus`, `bogus`"), "{msg}");
    assert!(store.batches().unwrap().is_empty(), "nothing was imported");
}

// ---------------------------------------------------------------- the CLI

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("ML_CONNECTOR_PASSPHRASE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn cli_on_a_path_without_a_store_says_so_and_creates_nothing() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("nothing-here");
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for args in [
        &["store", "verify"][..],
        &["store", "export"][..],
        &["store", "restore"][..],
    ] {
        for dir in [&missing, &empty] {
            let out = cli(dir, args);
            assert!(!out.status.success(), "{args:?}: {}", said(&out));
            assert!(
                said(&out).contains(&format!("{} holds no ml-connector store", dir.display())),
                "{args:?}: {}",
                said(&out)
            );
        }
    }
    assert!(!missing.exists(), "nothing was created");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

#[test]
fn cli_a_damaged_store_is_refused_listed_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let before = demo_store(dir.path());
    let db = db_file(dir.path());
    let bytes = std::fs::read(&db).unwrap();
    std::fs::write(&db, &bytes[..bytes.len() / 2]).unwrap();
    let damaged = std::fs::read(&db).unwrap();

    let out = cli(dir.path(), &["audit"]);
    assert!(!out.status.success());
    assert!(said(&out).contains("is damaged"), "{}", said(&out));
    assert!(!said(&out).contains("panicked"), "{}", said(&out));

    let out = cli(dir.path(), &["store", "verify"]);
    assert!(!out.status.success(), "{}", said(&out));
    let text = said(&out);
    assert!(text.contains("damaged:"), "{text}");
    assert!(text.contains("missing or different: batch 2079"), "{text}");
    assert!(text.contains("store restore"), "{text}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        damaged,
        "verify changed nothing"
    );

    let out = cli(dir.path(), &["store", "restore"]);
    assert!(out.status.success(), "{}", said(&out));
    let text = said(&out);
    assert!(text.contains("rebuilt the store"), "{text}");
    assert!(text.contains("moved aside (kept)"), "{text}");
    assert!(text.contains("batches"), "{text}");

    let out = cli(dir.path(), &["store", "verify"]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("is consistent"), "{}", said(&out));
    let out = cli(dir.path(), &["store", "export"]);
    assert!(String::from_utf8(out.stdout).unwrap() == before);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}
