//! The workstation without a terminal: snapshots of every screen and dialog at
//! 80x24 and 160x48 (TestBackend), and accountant workflows driven key by key
//! through `update` with the messages the sync layer would send.

mod common;

use common::fixtures::{self, FixtureWorld};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ml_connector::app::state::{ConfirmAction, Dialog, Drill, Screen};
use ml_connector::app::view::{
    ApprovalRefusal, AuditEntryView, BatchHistoryView, BatchKey, BatchView, ReversalPlanView,
    RevisionView, SettlementDetail,
};
use ml_connector::app::{AppState, Effect, Msg, update};
use ml_connector::cli::bench_tui::data as bench_data;
use ml_connector::ledger::state::BatchState;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// The app, the fixture world, and every effect the app asked for.
struct Harness {
    world: FixtureWorld,
    state: AppState,
    effects: Vec<Effect>,
    /// Maker-checker refusals sync would answer (everyone else may approve).
    refusals: std::collections::HashMap<BatchKey, ApprovalRefusal>,
}

impl Harness {
    fn new(size: (u16, u16)) -> Harness {
        let world = FixtureWorld::new();
        let mut h = Harness {
            state: AppState::new("alice", size),
            effects: Vec::new(),
            world,
            refusals: Default::default(),
        };
        for m in h.world.initial_messages() {
            h.send(m);
        }
        h
    }

    fn send(&mut self, msg: Msg) {
        let fx = update(&mut self.state, msg);
        self.effects.extend(fx);
    }

    fn key(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn ctrl(&mut self, c: char) {
        self.send(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )));
    }

    /// Types every character of `keys` (as plain key presses).
    fn keys(&mut self, keys: &str) {
        for c in keys.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Answers the data requests among the pending effects as sync would (from
    /// the fixture world); returns the commands (approve, post, …) left over.
    fn serve(&mut self) -> Vec<Effect> {
        let mut commands = Vec::new();
        loop {
            let fx = self.take_effects();
            if fx.is_empty() {
                return commands;
            }
            for e in fx {
                let replies = match &e {
                    Effect::LoadSettlements => vec![Msg::SettlementsLoaded(self.world.summaries())],
                    Effect::LoadBatches => vec![Msg::BatchesLoaded(self.world.all_batches())],
                    Effect::LoadMapping => vec![Msg::MappingLoaded(self.world.mapping_draft())],
                    Effect::LoadDetail(id) => match self.world.detail(id) {
                        Some(d) => vec![Msg::DetailLoaded(Box::new(d))],
                        None => vec![Msg::Error(format!("settlement {id} has no rows stored"))],
                    },
                    Effect::LoadAudit(id) => vec![Msg::AuditLoaded {
                        settlement_id: id.clone(),
                        entries: self.world.audit(id.as_deref()),
                    }],
                    Effect::ValidateAccount(a) => vec![Msg::MappingValidated {
                        account: a.clone(),
                        result: fixtures::account_check(a),
                    }],
                    Effect::PreviewMapping(d) => vec![self.world.preview(d)],
                    Effect::MayApprove { key, .. } => vec![Msg::MayApprove {
                        key: key.clone(),
                        result: match self.refusals.get(key) {
                            Some(r) => Err(r.clone()),
                            None => Ok(()),
                        },
                    }],
                    Effect::LoadHistory(key) => {
                        let revised = self.state.batches.all.iter().any(|b| {
                            &b.key == key && b.revision > 1 && b.state != BatchState::Vanished
                        });
                        vec![Msg::BatchHistory(if revised {
                            revised_history(key)
                        } else {
                            vanished_history(key)
                        })]
                    }
                    Effect::LoadOrder(id) => vec![Msg::OrderLoaded {
                        order_id: id.clone(),
                        order: fixture_order(id),
                    }],
                    Effect::SaveMapping { draft, .. } => {
                        let mut out = self.world.save_mapping(draft);
                        if let Some(d) = &self.state.detail {
                            let id = d.summary.settlement_id.clone();
                            if let Some(d) = self.world.detail(&id) {
                                out.push(Msg::DetailLoaded(Box::new(d)));
                            }
                        }
                        out
                    }
                    _ => {
                        commands.push(e.clone());
                        vec![]
                    }
                };
                for m in replies {
                    self.send(m);
                }
            }
        }
    }

    fn screen(&mut self) -> String {
        render(&self.state)
    }

    /// Opens the review of one settlement via search in the list.
    fn open(&mut self, id: &str) {
        self.key(KeyCode::Char('1'));
        self.key(KeyCode::Char('/'));
        self.keys(id);
        self.key(KeyCode::Enter);
        self.key(KeyCode::Enter);
        self.serve();
        assert_eq!(self.state.screen, Screen::Review);
        assert_eq!(
            self.state.detail.as_ref().unwrap().summary.settlement_id,
            id
        );
    }
}

fn render(s: &AppState) -> String {
    let mut t = Terminal::new(TestBackend::new(s.size.0, s.size.1)).unwrap();
    t.draw(|f| ml_connector::ui::render(f, s)).unwrap();
    t.backend().to_string()
}

/// Snapshots the state built by `build` at both sizes.
fn snap(name: &str, build: impl Fn(&mut Harness)) {
    for size in SIZES {
        let mut h = Harness::new(size);
        build(&mut h);
        let screen = h.screen();
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), screen);
        });
    }
}

const US: &str = "19870040121";
const DE: &str = "30481150921";
const CA: &str = "24713380021";

fn batch(h: &Harness, id: &str, period: &str) -> BatchView {
    h.state
        .batches
        .all
        .iter()
        .find(|b| b.key == BatchKey::new(id, period))
        .cloned()
        .unwrap_or_else(|| panic!("batch {id}/{period}"))
}

fn status_of(h: &Harness, id: &str) -> BatchState {
    h.state
        .settlements
        .iter()
        .find(|s| s.settlement_id == id)
        .unwrap()
        .status
}

// ------------------------------------------------------------------ snapshots

#[test]
fn snapshot_settlements() {
    snap("settlements", |_| {});
    snap("settlements_syncing", |h| {
        h.send(Msg::SyncProgress {
            what: "pulling settlement reports".into(),
            done: 3,
            total: Some(10),
            waiting_on_rate_limit: Some("getReports".into()),
        });
    });
    snap("settlements_search_filter", |h| {
        h.key(KeyCode::Char('f'));
        h.key(KeyCode::Char('/'));
        h.keys("amazon.de");
    });
}

#[test]
fn snapshot_review() {
    snap("review_loading", |h| {
        h.key(KeyCode::Enter);
    });
    snap("review_us", |h| h.open(US));
    snap("review_ca_unmapped", |h| h.open(CA));
    snap("review_rows", |h| {
        h.open(US);
        h.keys("jjj");
        h.key(KeyCode::Enter);
        h.keys("jj");
    });
    snap("review_order", |h| {
        h.open(US);
        h.keys("jjj");
        h.key(KeyCode::Enter);
        h.keys("jj");
        h.key(KeyCode::Enter);
        h.serve();
    });
    snap("review_ar_lines", |h| {
        h.open(US);
        let mut d = h.world.detail(US).unwrap();
        d.ar_lines = Some(vec![ml_connector::app::view::ArLineView {
            period: "2025-09".into(),
            customer: "AMAZON-US".into(),
            description: "Receipt for settlement 19870040121".into(),
            amount: "4502.59".parse().unwrap(),
        }]);
        h.send(Msg::DetailLoaded(Box::new(d)));
        h.key(KeyCode::Tab);
        h.key(KeyCode::Char('G'));
    });
    snap("review_line_rows", |h| {
        h.open(US);
        h.key(KeyCode::Tab);
        h.keys("jjj");
        h.key(KeyCode::Enter);
    });
    snap("review_rejected_period", |h| {
        h.open(DE);
        h.key(KeyCode::Char('l'));
    });
    snap("review_foreign_currency", |h| {
        h.open(DE);
        let d = fixtures::foreign_currency(h.world.detail(DE).unwrap());
        h.send(Msg::DetailLoaded(Box::new(d)));
        h.key(KeyCode::Tab);
    });
    snap("review_journal_october", |h| {
        h.open(US);
        h.key(KeyCode::Tab);
        h.key(KeyCode::Char('l'));
        h.key(KeyCode::Char(' '));
        h.keys("jj");
    });
}

#[test]
fn snapshot_dialogs() {
    snap("confirm_approve", |h| {
        h.open(US);
        h.key(KeyCode::Char(' '));
        h.key(KeyCode::Char('l'));
        h.key(KeyCode::Char(' '));
        h.key(KeyCode::Char('a'));
    });
    snap("confirm_post", |h| {
        h.open(US);
        approve_all(h, US);
        h.key(KeyCode::Char('p'));
    });
    snap("help", |h| h.key(KeyCode::Char('?')));
    snap("help_end", |h| {
        h.key(KeyCode::Char('?'));
        h.key(KeyCode::Char('G'));
    });
    snap("help_scrolled", |h| {
        h.key(KeyCode::Char('?'));
        h.keys("jjjjjjjjjjjjjjjjjjjj");
    });
}

#[test]
fn snapshot_batches_audit_mapping() {
    snap("batches_rejected", |h| {
        h.key(KeyCode::Char('3'));
        h.key(KeyCode::Char('/'));
        h.keys("rejected");
        h.key(KeyCode::Enter);
    });
    snap("batches_all", |h| h.key(KeyCode::Char('3')));
    snap("audit", |h| {
        h.open(DE);
        h.key(KeyCode::Char('5'));
        h.serve();
    });
    snap("audit_global_entry", |h| {
        h.open(DE);
        h.key(KeyCode::Char('5'));
        h.serve();
        h.key(KeyCode::Char('t'));
        h.serve();
        h.keys("jj");
        h.key(KeyCode::Enter);
    });
    snap("mapping", |h| h.key(KeyCode::Char('4')));
    snap("mapping_replace_account", |h| {
        h.key(KeyCode::Char('4'));
        h.serve();
        h.key(KeyCode::Char('A'));
        h.serve();
    });
    snap("rule_editor", |h| {
        h.open(CA);
        h.key(KeyCode::Char('4'));
        h.key(KeyCode::Char('n'));
        for _ in 0..4 {
            h.key(KeyCode::Tab);
        }
        h.keys("01-000-6130-0000-000");
        h.serve();
    });
    snap("rule_editor_bad_account", |h| {
        h.key(KeyCode::Char('4'));
        h.key(KeyCode::Char('n'));
        for _ in 0..4 {
            h.key(KeyCode::Tab);
        }
        h.keys("01-000-61");
    });
    snap("mapping_diff", |h| {
        h.open(CA);
        add_storage_rule(h);
    });
    snap("confirm_save_mapping", |h| {
        h.open(CA);
        add_storage_rule(h);
        h.key(KeyCode::Char('w'));
    });
}

// ------------------------------------------------------------------ workflows

/// Selects every period of the open settlement and approves them.
fn approve_all(h: &mut Harness, id: &str) {
    let periods: Vec<String> = h
        .state
        .detail
        .as_ref()
        .unwrap()
        .proposal
        .journals
        .iter()
        .map(|j| j.period.clone())
        .collect();
    h.key(KeyCode::Char('g'));
    for (i, _) in periods.iter().enumerate() {
        if i > 0 {
            h.key(KeyCode::Char('l'));
        }
        h.key(KeyCode::Char(' '));
    }
    h.key(KeyCode::Char('a'));
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    let Some(Effect::Approve { batches, actor }) = cmds.first() else {
        panic!("expected an approval, got {cmds:?}");
    };
    assert_eq!(actor, "alice");
    assert_eq!(batches.len(), periods.len());
    for a in batches.clone() {
        let mut b = batch(h, id, &a.key.period);
        assert_eq!(
            a.proposal_hash, b.proposal_hash,
            "approval names the proposal shown"
        );
        b.state = BatchState::Approved;
        b.approved_by = Some("alice".into());
        h.send(Msg::BatchUpdated(b));
    }
}

fn add_storage_rule(h: &mut Harness) {
    h.key(KeyCode::Char('4'));
    h.key(KeyCode::Char('n'));
    for _ in 0..3 {
        h.key(KeyCode::Tab);
    }
    // scoped to Amazon.ca: without it the rule would outrank the US and DE ones
    h.keys("Amazon.ca");
    h.key(KeyCode::Tab);
    h.keys("01-000-6130-0000-000");
    h.key(KeyCode::Tab);
    h.keys("FBA storage fees (CA)");
    h.ctrl('p');
    h.key(KeyCode::Enter);
    h.serve();
}

#[test]
fn review_approve_post_imported() {
    let mut h = Harness::new((160, 48));
    h.open(US);
    let detail: SettlementDetail = (**h.state.detail.as_ref().unwrap()).clone();
    assert_eq!(
        detail.proposal.journals.len(),
        2,
        "US settlement spans month-end"
    );

    // approve both periods: the confirmation says exactly what
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Char('l'));
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Char('a'));
    let Some(Dialog::Confirm(c)) = &h.state.dialog else {
        panic!("approve asks first")
    };
    let fact = |name: &str| {
        c.facts
            .iter()
            .find(|(l, _)| l == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(fact("Ledger"), "US Primary Ledger");
    assert_eq!(fact("Operating unit"), "Vision Operations (204)");
    assert_eq!(fact("Periods"), "2025-09, 2025-10");
    let lines: usize = detail.proposal.journals.iter().map(|j| j.lines.len()).sum();
    assert_eq!(fact("Journals"), format!("2 ({lines} line(s))"));
    let debit: rust_decimal::Decimal = detail.proposal.journals.iter().map(|j| j.total_debit).sum();
    assert_eq!(fact("Debit"), format!("{} USD", debit));
    assert_eq!(fact("Credit"), format!("{} USD", debit));
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    assert!(matches!(&cmds[..], [Effect::Approve { batches, .. }] if batches.len() == 2));
    for p in ["2025-09", "2025-10"] {
        let mut b = batch(&h, US, p);
        b.state = BatchState::Approved;
        h.send(Msg::BatchUpdated(b));
    }
    assert_eq!(status_of(&h, US), BatchState::Approved);

    // post: the approved set is the post's default (a plain p after a posts both periods);
    // enter does not confirm an irreversible action, y does
    h.key(KeyCode::Char('p'));
    let Some(Dialog::Confirm(c)) = &h.state.dialog else {
        panic!("post asks first")
    };
    assert!(c.title.starts_with("Post 2 journal(s)"), "{}", c.title);
    assert!(h.screen().contains("cannot be undone"));
    h.key(KeyCode::Enter);
    assert!(matches!(h.state.dialog, Some(Dialog::Confirm(_))));
    assert!(h.serve().is_empty(), "enter must not post");
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    let [Effect::Post { batches, actor, .. }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(actor, "alice");
    assert_eq!(
        batches,
        &vec![BatchKey::new(US, "2025-09"), BatchKey::new(US, "2025-10")]
    );

    // EBS reports progress: staged → submitted → imported
    for (i, p) in ["2025-09", "2025-10"].into_iter().enumerate() {
        let mut b = batch(&h, US, p);
        b.state = BatchState::Staged;
        b.group_id = Some(format!("90010{i}"));
        h.send(Msg::BatchUpdated(b.clone()));
        if i == 0 {
            // the other period is still only approved: the settlement shows its worst batch
            assert_eq!(status_of(&h, US), BatchState::Approved);
        }
        b.state = BatchState::Submitted;
        b.request_id = Some(format!("88120{i}"));
        b.phase = Some("Running".into());
        b.status = Some("Normal".into());
        h.send(Msg::BatchUpdated(b.clone()));
        b.state = BatchState::Imported;
        b.phase = Some("Completed".into());
        h.send(Msg::BatchUpdated(b));
    }
    assert_eq!(status_of(&h, US), BatchState::Imported);
    assert_eq!(
        h.state.detail.as_ref().unwrap().summary.status,
        BatchState::Imported
    );
    let review = h.screen();
    assert!(review.contains("imported"), "{review}");
    h.key(KeyCode::Char('3'));
    h.key(KeyCode::Char('/'));
    h.keys(US);
    h.key(KeyCode::Enter);
    let screen = h.screen();
    for want in [
        "900100",
        "900101",
        "881200",
        "881201",
        "Completed/Normal",
        "imported",
    ] {
        assert!(screen.contains(want), "{want} missing:\n{screen}");
    }
}

#[test]
fn unmapped_blocks_approval_until_mapping_edited_then_approve() {
    let mut h = Harness::new((80, 24));
    h.open(CA);
    assert_eq!(status_of(&h, CA), BatchState::NeedsMapping);
    let screen = h.screen();
    assert!(screen.contains("UNMAPPED"), "{screen}");
    h.key(KeyCode::Char('a'));
    assert!(h.state.dialog.is_none(), "needs_mapping cannot be approved");
    let (_, msg) = h.state.status.message.clone().unwrap();
    assert!(
        msg.contains("needs_mapping") && msg.contains("mapping"),
        "{msg}"
    );

    // the rule editor is prefilled from the unmapped group; the account is checked as typed
    h.key(KeyCode::Char('4'));
    h.key(KeyCode::Char('n'));
    let Some(Dialog::RuleEditor(ed)) = &h.state.dialog else {
        panic!()
    };
    assert_eq!(ed.text(2), "Storage Fee");
    for _ in 0..3 {
        h.key(KeyCode::Tab);
    }
    h.keys("Amazon.ca");
    h.key(KeyCode::Tab);
    h.keys("01-000-6160-0000-000");
    let fx = h.take_effects();
    assert!(fx.contains(&Effect::ValidateAccount("01-000-6160-0000-000".into())));
    h.send(Msg::MappingValidated {
        account: "01-000-6160-0000-000".into(),
        result: fixtures::account_check("01-000-6160-0000-000"),
    });
    assert!(h.screen().contains("account disabled"));
    for _ in 0..13 {
        h.key(KeyCode::Backspace);
    }
    h.keys("6130-0000-000");
    h.serve();
    assert!(h.screen().contains("valid in EBS: FBA storage fees"));
    h.key(KeyCode::Enter);
    h.serve();
    assert!(h.state.dialog.is_none());

    // the proposals that change, by how much
    let m = &h.state.mapping;
    assert!(m.dirty());
    assert_eq!(m.newly_mapped, vec![CA.to_string()]);
    let storage = m
        .diff
        .iter()
        .find(|c| c.account == "01-000-6130-0000-000")
        .expect("storage fee line appears");
    assert_eq!(storage.settlement_id, CA);
    assert!(
        storage.before.is_zero() && !storage.after.is_zero(),
        "{:?}",
        m.diff
    );
    assert!(
        m.diff.iter().all(|c| c.settlement_id == CA),
        "only CA changes"
    );

    // save as a new version: CA is proposed again, then approvable
    h.key(KeyCode::Char('w'));
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(h.state.mapping.saved.as_ref().unwrap().version, Some(4));
    assert!(!h.state.mapping.dirty());
    assert_eq!(status_of(&h, CA), BatchState::Proposed);
    h.key(KeyCode::Char('2'));
    assert!(!h.screen().contains("UNMAPPED"));
    h.key(KeyCode::Char('a'));
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    assert!(matches!(&cmds[..], [Effect::Approve { batches, .. }] if batches.len() == 1));
}

#[test]
fn rejected_batch_codes_fix_and_repost() {
    let mut h = Harness::new((160, 48));
    // the import status shows EBS's codes and the Amazon ids
    h.key(KeyCode::Char('3'));
    h.key(KeyCode::Char('/'));
    h.keys("rejected");
    h.key(KeyCode::Enter);
    let screen = h.screen();
    for want in [
        "EF04",
        "EF03",
        "01-000-6160-0000-000",
        "305-1182734-9912201",
        "880042",
    ] {
        assert!(screen.contains(want), "{want} missing:\n{screen}");
    }
    // posting it as is is refused
    h.key(KeyCode::Char('p'));
    assert!(h.state.dialog.is_none());

    // fix: every rule on the disabled account moves to 6110
    h.key(KeyCode::Char('4'));
    let rules: Vec<usize> = h
        .state
        .mapping
        .draft
        .as_ref()
        .unwrap()
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.account == "01-000-6160-0000-000")
        .map(|(i, _)| i)
        .collect();
    assert!(!rules.is_empty());
    for i in rules {
        h.key(KeyCode::Char('g'));
        for _ in 0..i {
            h.key(KeyCode::Char('j'));
        }
        h.key(KeyCode::Char('e'));
        for _ in 0..4 {
            h.key(KeyCode::Tab);
        }
        for _ in 0..13 {
            h.key(KeyCode::Backspace);
        }
        h.keys("6110-0000-000");
        h.key(KeyCode::Enter);
        h.serve();
    }
    assert!(
        h.state
            .mapping
            .diff
            .iter()
            .any(|c| c.settlement_id == DE && c.account == "01-000-6110-0000-000"),
        "{:?}",
        h.state.mapping.diff
    );
    h.key(KeyCode::Char('w'));
    h.key(KeyCode::Char('y'));
    h.serve();
    let b = batch(&h, DE, "2025-10");
    assert_eq!(b.state, BatchState::Proposed);
    assert_eq!(b.revision, 2, "re-posted as the next revision");
    assert!(b.line_errors.is_empty());

    // approve and post again from the import status screen
    h.key(KeyCode::Char('3'));
    h.key(KeyCode::Char('/'));
    h.keys(DE);
    h.key(KeyCode::Enter);
    while h.state.selected_batch().unwrap().key.period != "2025-10" {
        h.key(KeyCode::Char('j'));
    }
    h.key(KeyCode::Char('a'));
    h.key(KeyCode::Enter);
    let cmds = h.serve();
    assert!(
        matches!(&cmds[..], [Effect::Approve { batches, .. }] if batches[0].key == BatchKey::new(DE, "2025-10"))
    );
    let mut b = batch(&h, DE, "2025-10");
    b.state = BatchState::Approved;
    h.send(Msg::BatchUpdated(b));
    h.key(KeyCode::Char('p'));
    let Some(Dialog::Confirm(c)) = &h.state.dialog else {
        panic!()
    };
    assert!(
        c.facts
            .iter()
            .any(|(l, v)| l == "Revision" && v == "2025-10 rev 2")
    );
    assert!(
        matches!(&c.action, ConfirmAction::Post(k) if k == &vec![BatchKey::new(DE, "2025-10")])
    );
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    assert!(matches!(&cmds[..], [Effect::Post { .. }]));
}

// ------------------------------------------------------------------ details

#[test]
fn drill_down_and_back() {
    let mut h = Harness::new((80, 24));
    h.open(US);
    h.key(KeyCode::Enter);
    assert!(matches!(h.state.review.drill, Drill::Rows { group: 0 }));
    h.key(KeyCode::Enter);
    assert!(matches!(h.state.review.drill, Drill::Order { .. }));
    if let Drill::Order { order_id, rows, .. } = &h.state.review.drill {
        let d = h.state.detail.as_ref().unwrap();
        assert!(
            rows.iter()
                .all(|i| &d.rows[*i as usize].order_id == order_id)
        );
        assert!(rows.len() > 1);
    }
    h.key(KeyCode::Esc);
    h.key(KeyCode::Esc);
    assert_eq!(h.state.review.drill, Drill::Groups);
    h.key(KeyCode::Esc);
    assert_eq!(h.state.screen, Screen::Settlements);
}

#[test]
fn groups_cover_every_row_once() {
    let d = FixtureWorld::new().detail(US).unwrap();
    let mut seen = vec![false; d.rows.len()];
    let mut total = rust_decimal::Decimal::ZERO;
    for (g, group) in d.groups.iter().enumerate() {
        let rows = d.group_rows(g);
        assert_eq!(rows.len() as u64, group.rows);
        let sum: rust_decimal::Decimal = rows.iter().map(|i| d.rows[*i as usize].amount).sum();
        assert_eq!(sum, group.total);
        for i in rows {
            let r = &d.rows[*i as usize];
            assert_eq!(
                (&r.transaction_type, &r.amount_type, &r.amount_description),
                (
                    &group.transaction_type,
                    &group.amount_type,
                    &group.amount_description
                )
            );
            assert!(!seen[*i as usize]);
            seen[*i as usize] = true;
        }
        total += group.total;
    }
    assert!(seen.iter().all(|s| *s));
    assert_eq!(total, d.proposal.rows_total);
}

#[test]
fn mouse_click_and_scroll_select_rows() {
    let mut h = Harness::new((80, 24));
    // main area starts at row 1; the table body at row 3
    h.send(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row: 5,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(h.state.list.selected, 2);
    h.send(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 10,
        row: 5,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(h.state.list.selected, 5);
    // a click on a tab switches screens
    h.send(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 45,
        row: 0,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(h.state.screen, Screen::Mapping);
}

#[test]
fn help_lists_every_binding() {
    let mut h = Harness::new((160, 48));
    h.key(KeyCode::Char('?'));
    let text: String = ml_connector::ui::help::lines(&ml_connector::ui::theme::Theme::new(true))
        .iter()
        .map(|l| l.to_string() + "\n")
        .collect();
    for b in ml_connector::app::keymap::BINDINGS {
        assert!(text.contains(b.help), "{} missing from help", b.help);
    }
    h.key(KeyCode::Esc);
    assert!(h.state.dialog.is_none());
}

#[test]
fn no_color_renders_without_colors() {
    let mut h = Harness::new((160, 48));
    h.state.no_color = true;
    h.open(CA);
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    t.draw(|f| ml_connector::ui::render(f, &h.state)).unwrap();
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, Color::Reset, "{cell:?}");
    }
    // and with colours on, unmapped rows do carry colour
    h.state.no_color = false;
    t.draw(|f| ml_connector::ui::render(f, &h.state)).unwrap();
    assert!(
        t.backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.bg == Color::Yellow)
    );
}

#[test]
fn quit_and_sync_now() {
    let mut h = Harness::new((80, 24));
    h.key(KeyCode::Char('r'));
    assert_eq!(h.take_effects(), vec![Effect::SyncNow]);
    assert!(h.screen().contains("sync requested"));
    // info messages fade; errors stay
    h.send(Msg::Tick(fixtures::now() + chrono::Duration::seconds(5)));
    assert!(h.screen().contains("sync requested"));
    h.send(Msg::Tick(fixtures::now() + chrono::Duration::seconds(20)));
    assert!(!h.screen().contains("sync requested"));
    h.send(Msg::Error("EBS unreachable: HTTP 503".into()));
    h.send(Msg::Tick(fixtures::now() + chrono::Duration::seconds(60)));
    assert!(h.screen().contains("EBS unreachable: HTTP 503"));
    h.key(KeyCode::Char('q'));
    assert!(h.state.quit);
    assert_eq!(h.take_effects(), vec![Effect::Quit]);
}

#[test]
fn a_million_rows_render_the_last_window() {
    let text = bench_data::generated_settlement_text(200_000);
    let d = bench_data::generated_detail(&text);
    assert_eq!(d.rows.len(), 200_000);
    assert!(d.proposal.consistent);
    let mut s = AppState::new("bench", (160, 48));
    s.loading_detail = Some(d.summary.settlement_id.clone());
    update(&mut s, Msg::DetailLoaded(Box::new(d)));
    s.screen = Screen::Review;
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('G'), KeyModifiers::NONE)),
    );
    let screen = render(&s);
    let last = s.review.rows.selected;
    assert_eq!(last, 49_999, "the group holds a quarter of the rows");
    assert!(screen.contains("50000 rows"), "{screen}");
}

#[test]
fn tiny_terminals_do_not_panic() {
    for size in [(1, 1), (20, 5), (40, 10), (60, 12)] {
        let mut h = Harness::new(size);
        let _ = h.screen();
        h.open(CA);
        let _ = h.screen();
        h.key(KeyCode::Enter);
        h.key(KeyCode::Enter);
        let _ = h.screen();
        h.key(KeyCode::Char('a'));
        let _ = h.screen();
        h.key(KeyCode::Char('3'));
        let _ = h.screen();
        h.key(KeyCode::Char('4'));
        h.key(KeyCode::Char('n'));
        let _ = h.screen();
        h.key(KeyCode::Esc);
        h.key(KeyCode::Char('d'));
        let _ = h.screen();
        h.key(KeyCode::Esc);
        h.key(KeyCode::Char('?'));
        let _ = h.screen();
        h.key(KeyCode::Esc);
        h.key(KeyCode::Char('5'));
        h.serve();
        let _ = h.screen();
    }
}

#[test]
fn opening_another_settlement_shows_it_loading_not_the_old_one() {
    let mut h = Harness::new((80, 24));
    h.open(US);
    h.key(KeyCode::Char('1'));
    h.key(KeyCode::Char('/'));
    h.keys(CA);
    h.key(KeyCode::Enter);
    h.key(KeyCode::Char('2'));
    assert_eq!(h.take_effects(), vec![Effect::LoadDetail(CA.into())]);
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Loading settlement {CA}")),
        "{screen}"
    );
    assert!(!screen.contains(US), "{screen}");
    h.send(Msg::DetailLoaded(Box::new(h.world.detail(CA).unwrap())));
    assert!(h.screen().contains(&format!("Settlement {CA}")));
    // from another screen, 2 returns to the open review
    h.key(KeyCode::Char('3'));
    h.key(KeyCode::Char('2'));
    assert!(h.take_effects().is_empty());
    assert_eq!(h.state.screen, Screen::Review);
}

#[tokio::test]
async fn event_loop_forwards_effects_and_quits() {
    let (msg_tx, msg_rx) = tokio::sync::mpsc::channel(16);
    // a one-slot effect channel: the loop must queue, not block, while sync is slow
    let (fx_tx, mut fx_rx) = tokio::sync::mpsc::channel(1);
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let ui = tokio::spawn(async move {
        let state = AppState::new("alice", (80, 24));
        let end = ml_connector::ui::run_app(&mut term, state, msg_rx, fx_tx)
            .await
            .unwrap();
        (end, term.backend().to_string())
    });
    let mut initial = Vec::new();
    for _ in 0..3 {
        initial.push(fx_rx.recv().await.unwrap());
    }
    assert_eq!(initial, AppState::initial_effects());
    let world = FixtureWorld::new();
    msg_tx
        .send(Msg::SettlementsLoaded(world.summaries()))
        .await
        .unwrap();
    msg_tx
        .send(Msg::Key(KeyEvent::new(
            KeyCode::Char('r'),
            KeyModifiers::NONE,
        )))
        .await
        .unwrap();
    assert_eq!(fx_rx.recv().await.unwrap(), Effect::SyncNow);
    msg_tx
        .send(Msg::Key(KeyEvent::new(
            KeyCode::Char('q'),
            KeyModifiers::NONE,
        )))
        .await
        .unwrap();
    let (end, screen) = ui.await.unwrap();
    assert!(end.quit);
    assert_eq!(end.settlements.len(), world.summaries().len());
    assert!(
        screen.contains(US),
        "the last frame drawn shows the list:\n{screen}"
    );
    assert_eq!(fx_rx.recv().await, Some(Effect::Quit));
}

// ------------------------------------------------------------------ corrections and controls

fn at(d: u32, h: u32, m: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc.with_ymd_and_hms(2025, 10, d, h, m, 0).unwrap()
}

/// The history sync reads from the audit trail for a vanished batch.
fn vanished_history(key: &BatchKey) -> BatchHistoryView {
    let e = |at, actor: &str, action: &str, detail: &str| AuditEntryView {
        changes: Vec::new(),
        settlement_id: Some(key.settlement_id.clone()),
        at,
        actor: actor.into(),
        action: action.into(),
        period: Some(key.period.clone()),
        detail: detail.into(),
    };
    BatchHistoryView {
        key: key.clone(),
        imported_at: Some(at(11, 7, 12)),
        journal_ids: vec!["51234".into()],
        missing_since: Some(at(12, 9, 28)),
        entries: vec![
            e(at(11, 6, 1), "sync", "proposal", "mapping=v3 lines=10"),
            e(at(11, 7, 2), "m.schmidt", "approval", "revision=1"),
            e(at(11, 7, 5), "sync", "staging", "group_id=880041 lines=10"),
            e(at(11, 7, 6), "sync", "submission", "request_id=7712904"),
            e(
                at(11, 7, 12),
                "sync",
                "outcome",
                "status=imported journals=[51234]",
            ),
            e(
                at(12, 9, 28),
                "sync",
                "outcome",
                "status=vanished journals=[51234]",
            ),
        ],
        revisions: Vec::new(),
    }
}

/// The history of a batch posted, then reversed: one line per revision.
fn revised_history(key: &BatchKey) -> BatchHistoryView {
    let rev = |revision, what: &str, id: &str, name: &str| RevisionView {
        revision,
        what: what.into(),
        journal_ids: vec![id.into()],
        journal_name: name.into(),
        debit: rust_decimal::Decimal::new(123456, 2),
        credit: rust_decimal::Decimal::new(123456, 2),
        currency: "EUR".into(),
    };
    BatchHistoryView {
        key: key.clone(),
        imported_at: Some(at(11, 7, 12)),
        journal_ids: vec!["51234".into()],
        missing_since: None,
        entries: Vec::new(),
        revisions: vec![
            rev(1, "imported", "51234", "AMZ 2025-09 r1"),
            rev(2, "reversal of r1", "51301", "AMZ 2025-09 r2 reversal"),
        ],
    }
}

/// Makes DE's September batch (posted in the fixtures) vanished, as a refresh would.
fn vanish_de_september(h: &mut Harness) {
    let mut b = batch(h, DE, "2025-09");
    b.state = BatchState::Vanished;
    b.reason = Some(
        "journal(s) [51234] were deleted in EBS after import; approve again to re-post as revision 2, or archive"
            .into(),
    );
    h.send(Msg::BatchUpdated(b));
}

/// Selects one batch on the import status screen.
fn select_batch(h: &mut Harness, id: &str, period: &str) {
    h.key(KeyCode::Char('3'));
    h.key(KeyCode::Char('g'));
    while h
        .state
        .selected_batch()
        .is_some_and(|b| b.key != BatchKey::new(id, period))
    {
        let before = h.state.batches.cursor.selected;
        h.key(KeyCode::Char('j'));
        assert_ne!(
            before, h.state.batches.cursor.selected,
            "{id}/{period} listed"
        );
    }
}

/// What sync plans for reversing DE's posted September batch.
fn de_plan(h: &Harness) -> ReversalPlanView {
    let b = batch(h, DE, "2025-09");
    ReversalPlanView {
        key: b.key.clone(),
        state: b.state,
        original_revision: 1,
        original_journal_ids: vec!["51234".into()],
        journal_name: format!("AMZ {DE} 2025-09 r2 reverses r1"),
        period: "2025-10".into(),
        accounting_date: chrono::NaiveDate::from_ymd_opt(2025, 10, 1).unwrap(),
        reversal_revision: 2,
        next_revision: 3,
        line_count: b.line_count,
        currency: b.currency.clone(),
        total_debit: b.total_credit,
        total_credit: b.total_debit,
    }
}

fn open_reversal(h: &mut Harness) {
    select_batch(h, DE, "2025-09");
    h.serve();
    h.key(KeyCode::Char('R'));
    let cmds = h.serve();
    assert_eq!(
        cmds,
        vec![Effect::PlanReversal {
            key: BatchKey::new(DE, "2025-09"),
            into: None
        }]
    );
    let plan = de_plan(h);
    h.send(Msg::ReversalPlan(plan));
}

fn maker_refusal() -> ApprovalRefusal {
    ApprovalRefusal {
        maker: Some("alice".into()),
        mapping_version: Some(3),
        why: "alice last changed mapping default (version 3, 2025-10-11 06:00 UTC) that its proposal was made with; with [controls] distinct_approver = true someone else must approve".into(),
    }
}

#[test]
fn snapshot_corrections() {
    snap("confirm_reversal", open_reversal);
    snap("maker_checker_refusal", |h| {
        for p in ["2025-09", "2025-10"] {
            h.refusals.insert(BatchKey::new(US, p), maker_refusal());
        }
        h.open(US);
        h.key(KeyCode::Char('a'));
        h.serve();
    });
    snap("batches_maker_checker", |h| {
        h.refusals
            .insert(BatchKey::new(US, "2025-09"), maker_refusal());
        select_batch(h, US, "2025-09");
        h.serve();
    });
    snap("batches_vanished", |h| {
        vanish_de_september(h);
        select_batch(h, DE, "2025-09");
        h.serve();
    });
    snap("confirm_archive", |h| {
        vanish_de_september(h);
        select_batch(h, DE, "2025-09");
        h.serve();
        h.key(KeyCode::Char('A'));
    });
}

#[test]
fn reverse_a_posted_batch_with_confirmation() {
    let mut h = Harness::new((160, 48));
    // only imported or posted batches are reversed
    select_batch(&mut h, US, "2025-09");
    h.key(KeyCode::Char('R'));
    assert!(h.state.dialog.is_none());
    let (_, msg) = h.state.status.message.clone().unwrap();
    assert!(msg.contains("only an imported or posted batch"), "{msg}");
    assert!(
        !h.serve()
            .iter()
            .any(|e| matches!(e, Effect::PlanReversal { .. }))
    );

    open_reversal(&mut h);
    let Some(Dialog::Confirm(c)) = &h.state.dialog else {
        panic!("the plan opens the confirmation")
    };
    let fact = |name: &str| {
        c.facts
            .iter()
            .find(|(l, _)| l == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} in {:?}", c.facts))
    };
    let b = batch(&h, DE, "2025-09");
    assert_eq!(fact("Batch"), format!("{DE}/2025-09 (posted, revision 1)"));
    assert_eq!(fact("Reverses"), "EBS journal(s) 51234");
    assert_eq!(fact("Dated"), "2025-10-01 in period 2025-10");
    assert!(fact("Lines").starts_with(&b.line_count.to_string()));
    assert_eq!(fact("Debit"), format!("{} EUR", b.total_credit));
    assert!(fact("Revision").contains("r2") && fact("Revision").contains("r3"));
    assert!(c.irreversible);
    let screen = h.screen();
    assert!(screen.contains("reversing journal"), "{screen}");
    // enter does not confirm an irreversible action; n cancels
    h.key(KeyCode::Enter);
    assert!(h.serve().is_empty(), "enter must not reverse");
    h.key(KeyCode::Char('n'));
    assert!(h.state.dialog.is_none());
    assert!(h.serve().is_empty());

    // again, and y
    h.key(KeyCode::Char('R'));
    h.serve();
    h.send(Msg::ReversalPlan(de_plan(&h)));
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    assert_eq!(
        cmds,
        vec![Effect::Reverse {
            key: BatchKey::new(DE, "2025-09"),
            into: Some("2025-10".into()),
            actor: "alice".into()
        }]
    );
    // EBS imports the reversal: the batch is reversed, then approvable as revision 3
    let mut b = batch(&h, DE, "2025-09");
    b.state = BatchState::Reversed;
    b.revision = 2;
    b.reason = Some(
        "revision 1 reversed by journal(s) [51301] in 2025-10; approve the corrected proposal to post revision 3"
            .into(),
    );
    h.send(Msg::BatchUpdated(b));
    assert_eq!(batch(&h, DE, "2025-09").state, BatchState::Reversed);
    let (_, msg) = h.state.status.message.clone().unwrap();
    assert!(
        msg.contains("reversed") && msg.contains("revision 3"),
        "{msg}"
    );
    assert!(h.screen().contains("reversed"));
    h.key(KeyCode::Char('a'));
    h.serve();
    let Some(Dialog::Confirm(c)) = &h.state.dialog else {
        panic!("a reversed batch can be approved again")
    };
    assert!(c.blocked.is_none());
    assert!(
        c.facts
            .iter()
            .any(|(l, v)| l == "Approver" && v == "alice: you may approve"),
        "{:?}",
        c.facts
    );
    // an error while planning is shown, and a late plan opens nothing
    h.key(KeyCode::Esc);
    select_batch(&mut h, DE, "2025-10");
    let mut b = batch(&h, DE, "2025-10");
    b.state = BatchState::Imported;
    h.send(Msg::BatchUpdated(b));
    h.key(KeyCode::Char('R'));
    h.serve();
    h.send(Msg::Error(format!(
        "batch {DE}/2025-10: no open period at or after 2025-10-08 in ledger 1"
    )));
    let mut late = de_plan(&h);
    late.key = BatchKey::new(DE, "2025-10");
    h.send(Msg::ReversalPlan(late));
    assert!(h.state.dialog.is_none());
    assert!(h.screen().contains("no open period"));
}

#[test]
fn maker_checker_refuses_in_the_ui() {
    let mut h = Harness::new((160, 48));
    for p in ["2025-09", "2025-10"] {
        h.refusals.insert(BatchKey::new(US, p), maker_refusal());
    }
    // the batch view says who may approve
    select_batch(&mut h, US, "2025-09");
    let fx = h.take_effects();
    assert!(
        fx.contains(&Effect::MayApprove {
            key: BatchKey::new(US, "2025-09"),
            actor: "alice".into()
        }),
        "{fx:?}"
    );
    h.effects = fx;
    h.serve();
    let screen = h.screen();
    assert!(
        screen.contains("alice changed the mapping (version 3); someone else must approve"),
        "{screen}"
    );
    // the approve confirmation is blocked, y does not approve
    h.key(KeyCode::Char('a'));
    h.serve();
    let Some(Dialog::Confirm(c)) = &h.state.dialog else {
        panic!()
    };
    assert!(
        c.blocked
            .as_deref()
            .unwrap()
            .contains("someone else must approve")
    );
    h.key(KeyCode::Char('y'));
    assert!(h.serve().is_empty(), "a refused approval is not sent");
    assert!(matches!(h.state.dialog, Some(Dialog::Confirm(_))));
    let (_, msg) = h.state.status.message.clone().unwrap();
    assert!(msg.contains("may not approve"), "{msg}");
    h.key(KeyCode::Esc);
    assert!(h.state.dialog.is_none());

    // bob may
    let mut h = Harness::new((160, 48));
    h.state.actor = "bob".into();
    select_batch(&mut h, US, "2025-09");
    h.serve();
    assert!(h.screen().contains("you may approve"));
    h.key(KeyCode::Char('a'));
    h.serve();
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    assert!(
        matches!(&cmds[..], [Effect::Approve { actor, .. }] if actor == "bob"),
        "{cmds:?}"
    );
}

#[test]
fn vanished_batch_shows_history_and_archives_after_confirmation() {
    let mut h = Harness::new((160, 48));
    vanish_de_september(&mut h);
    select_batch(&mut h, DE, "2025-09");
    let fx = h.take_effects();
    assert!(fx.contains(&Effect::LoadHistory(BatchKey::new(DE, "2025-09"))));
    h.effects = fx;
    h.serve();
    let screen = h.screen();
    for want in [
        "2025-10-11 07:12 UTC as revision 1: EBS journal(s) 51234",
        "2025-10-12 09:28 UTC: deleted in EBS after import",
        "re-post as revision 2",
        "archive",
    ] {
        assert!(screen.contains(want), "{want} missing:\n{screen}");
    }
    // A: archive, after a confirmation that y alone accepts
    h.key(KeyCode::Char('A'));
    let Some(Dialog::Confirm(c)) = &h.state.dialog else {
        panic!("archive asks first")
    };
    assert!(c.irreversible);
    assert!(
        c.facts
            .iter()
            .any(|(l, v)| l == "Journals" && v.contains("51234"))
    );
    h.key(KeyCode::Enter);
    assert!(h.serve().is_empty());
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    assert_eq!(
        cmds,
        vec![Effect::ArchiveVanished {
            key: BatchKey::new(DE, "2025-09"),
            actor: "alice".into()
        }]
    );
    // or p: re-post as a new revision starts with approving it
    h.key(KeyCode::Char('p'));
    let Some(Dialog::Confirm(c)) = &h.state.dialog else {
        panic!("p on a vanished batch offers the re-post")
    };
    assert!(
        matches!(&c.action, ConfirmAction::Approve(a) if a[0].key == BatchKey::new(DE, "2025-09"))
    );
    assert!(
        c.facts
            .iter()
            .any(|(l, v)| l == "Then" && v.contains("rev 2"))
    );
    // archiving anything else is refused
    h.key(KeyCode::Esc);
    select_batch(&mut h, US, "2025-09");
    h.key(KeyCode::Char('A'));
    assert!(h.state.dialog.is_none());
}

/// Issue 16: several settlements marked in the list (space) are approved and posted in one
/// confirmation, each batch still its own key; the approved set stays the post's default.
#[test]
fn several_settlements_approved_and_posted_in_one_confirmation() {
    let mut h = Harness::new((160, 48));
    h.serve();
    // two settlements with journals waiting for approval (DE's made so)
    let de: Vec<BatchView> = h
        .state
        .batches
        .all
        .iter()
        .filter(|b| b.key.settlement_id == DE)
        .cloned()
        .collect();
    for mut b in de {
        b.state = BatchState::Proposed;
        h.send(Msg::BatchUpdated(b));
    }
    let mut ids: Vec<String> = h
        .state
        .batches
        .all
        .iter()
        .filter(|b| b.state == BatchState::Proposed)
        .map(|b| b.key.settlement_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    assert!(ids.len() >= 2, "{ids:?}");
    let (one, two) = (ids[0].clone(), ids[1].clone());
    h.key(KeyCode::Char('1'));
    for id in [&one, &two] {
        h.key(KeyCode::Char('/'));
        h.keys(id);
        h.key(KeyCode::Enter);
        h.key(KeyCode::Char(' '));
        h.key(KeyCode::Esc);
    }
    assert_eq!(h.state.marked.len(), 2, "{:?}", h.state.marked);
    let keys_of = |h: &Harness| -> Vec<BatchKey> {
        let mut k: Vec<BatchKey> = h
            .state
            .batches
            .all
            .iter()
            .filter(|b| b.key.settlement_id == one || b.key.settlement_id == two)
            .filter(|b| b.state == BatchState::Proposed)
            .map(|b| b.key.clone())
            .collect();
        k.sort();
        k
    };
    let want = keys_of(&h);
    assert!(want.len() >= 3, "{want:?}");
    h.key(KeyCode::Char('a'));
    let Some(Dialog::Confirm(c)) = &h.state.dialog else {
        panic!("approve asks first: {:?}", h.state.status.message)
    };
    let settlements = &c.facts.iter().find(|(l, _)| l == "Settlement").unwrap().1;
    assert!(
        settlements.contains(&one) && settlements.contains(&two),
        "{settlements}"
    );
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    let [Effect::Approve { batches, .. }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    let mut approved: Vec<BatchKey> = batches.iter().map(|a| a.key.clone()).collect();
    approved.sort();
    assert_eq!(approved, want, "one approval per batch");
    for k in &approved {
        let mut b = batch(&h, &k.settlement_id, &k.period);
        b.state = BatchState::Approved;
        h.send(Msg::BatchUpdated(b));
    }
    // a plain p posts what was approved: both settlements
    h.key(KeyCode::Char('p'));
    let Some(Dialog::Confirm(c)) = &h.state.dialog else {
        panic!("post asks first: {:?}", h.state.status.message)
    };
    assert!(
        c.title
            .starts_with(&format!("Post {} journal(s)", want.len())),
        "{}",
        c.title
    );
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    let [Effect::Post { batches, .. }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    let mut posted = batches.clone();
    posted.sort();
    assert_eq!(posted, want);
    assert!(h.state.marked.is_empty(), "posting clears the marks");
}

/// Issue 16: a settlement whose previous one (same seller and marketplace) is not in EBS
/// waits; the post confirmation says so and `o` overrides it explicitly.
#[test]
fn post_confirmation_names_the_previous_settlement_and_o_overrides() {
    let mut h = Harness::new((160, 48));
    h.serve();
    // an earlier, still approved settlement of US's seller and marketplace
    let us = h
        .state
        .settlements
        .iter()
        .find(|s| s.settlement_id == US)
        .cloned()
        .unwrap();
    let mut list = h.state.settlements.clone();
    list.retain(|s| {
        !(s.seller == us.seller && s.marketplace == us.marketplace && s.start < us.start)
    });
    let mut prev = us.clone();
    prev.settlement_id = "11110000001".into();
    prev.start = us.start - chrono::Duration::days(14);
    prev.end = us.start;
    prev.status = BatchState::Approved;
    list.push(prev);
    h.send(Msg::SettlementsLoaded(list));
    h.open(US);
    h.serve();
    approve_all(&mut h, US);
    h.key(KeyCode::Char('p'));
    let Some(Dialog::Confirm(c)) = h.state.dialog.clone() else {
        panic!("post asks first: {:?}", h.state.status.message)
    };
    let order = &c.facts.iter().find(|(l, _)| l == "Order").unwrap().1;
    assert!(order.contains("11110000001"), "{order}");
    assert_eq!(c.waiting, vec![US.to_string()]);
    h.key(KeyCode::Char('o'));
    let Some(Dialog::Confirm(c)) = h.state.dialog.clone() else {
        panic!("o keeps the confirmation open")
    };
    assert!(c.override_order);
    h.key(KeyCode::Char('y'));
    let cmds = h.serve();
    assert!(
        matches!(&cmds[..], [Effect::Post { override_order: true, batches, .. }] if batches.len() == 2),
        "{cmds:?}"
    );
}

/// Issue 16: periods are listed in calendar order everywhere, not alphabetically.
#[test]
fn periods_are_listed_in_calendar_order() {
    let mut h = Harness::new((160, 48));
    h.serve();
    let base = batch(&h, US, "2025-09");
    let of = |p: &str| {
        let mut b = base.clone();
        b.key = BatchKey::new(US, p);
        b.state = BatchState::Proposed;
        b
    };
    h.send(Msg::BatchesLoaded(vec![
        of("JAN-27"),
        of("NOV-26"),
        of("DEC-26"),
    ]));
    h.send(Msg::BatchUpdated(of("OCT-26")));
    let periods: Vec<&str> = h
        .state
        .batches
        .all
        .iter()
        .map(|b| b.key.period.as_str())
        .collect();
    assert_eq!(periods, ["OCT-26", "NOV-26", "DEC-26", "JAN-27"]);
    // picked out of order in the import status, the confirmation lists them by date
    h.key(KeyCode::Char('3'));
    h.key(KeyCode::Char('G'));
    for _ in 0..4 {
        h.key(KeyCode::Char(' '));
        h.key(KeyCode::Char('k'));
    }
    h.key(KeyCode::Char('a'));
    let Some(Dialog::Confirm(c)) = &h.state.dialog else {
        panic!("approve asks first: {:?}", h.state.status.message)
    };
    let periods = &c.facts.iter().find(|(l, _)| l == "Periods").unwrap().1;
    assert_eq!(periods, "OCT-26, NOV-26, DEC-26, JAN-27");
}

// ------------------------------------------------------------------ issue 16: display

/// The row of the screen (as rendered) that holds `needle`.
fn line_with(screen: &str, needle: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not on screen:\n{screen}"))
        .trim_matches(|c| c == '"' || c == ' ')
        .to_string()
}

#[test]
fn keys_do_only_what_the_screen_uses() {
    let mut h = Harness::new((80, 24));
    // `r` on the audit screen is not a sync
    h.open(DE);
    h.key(KeyCode::Char('5'));
    h.serve();
    h.key(KeyCode::Char('r'));
    assert!(h.take_effects().is_empty());
    assert!(!h.screen().contains("sync requested"));
    // help scrolls to its end with G and back with g (and with the wheel)
    h.key(KeyCode::Char('?'));
    h.key(KeyCode::Char('G'));
    let Some(Dialog::Help { scroll: end }) = h.state.dialog else {
        panic!("help closed")
    };
    assert!(end > 0);
    assert!(h.screen().contains("Mouse"));
    h.key(KeyCode::Char('j'));
    assert!(matches!(h.state.dialog, Some(Dialog::Help { scroll }) if scroll == end));
    h.key(KeyCode::Char('g'));
    assert!(matches!(h.state.dialog, Some(Dialog::Help { scroll: 0 })));
    h.send(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 10,
        row: 10,
        modifiers: KeyModifiers::NONE,
    }));
    assert!(matches!(h.state.dialog, Some(Dialog::Help { scroll: 3 })));
    h.key(KeyCode::Esc);
    // esc from the journal returns to the rows, not to the list
    h.open(US);
    h.key(KeyCode::Tab);
    h.key(KeyCode::Esc);
    assert_eq!(h.state.screen, Screen::Review);
    assert_eq!(
        h.state.review.pane,
        ml_connector::app::state::ReviewPane::Rows
    );
    // the hint bar fits 80 columns: `? help` is whole
    let screen = h.screen();
    assert!(line_with(&screen, "enter drill").ends_with("? help"));
    // messages with control characters stay one clean line
    h.send(Msg::Error("EBS said:\nHTTP 503\tretry\u{1b}[0m".into()));
    let status = line_with(&h.screen(), "EBS said");
    assert!(status.contains("EBS said: HTTP 503 retry [0m"), "{status}");
    // too long a message is cut with an ellipsis, not mid-nothing
    h.send(Msg::Error("x".repeat(200)));
    assert!(line_with(&h.screen(), "xxxx").ends_with('…'));
}

#[test]
fn settlements_show_deposit_carried_reserve_and_split_done() {
    let mut h = Harness::new((160, 48));
    let screen = h.screen();
    let header = line_with(&screen, "settlement");
    for col in ["deposit", "deposited", "carried", "reserve"] {
        assert!(header.contains(col), "{col} missing: {header}");
    }
    // US: 812.40 carried in, 905.11 held back
    let us = line_with(&screen, US);
    assert!(us.contains("812.40") && us.contains("-905.11"), "{us}");
    // CA: a settlement that deposited nothing shows 0
    let ca = line_with(&screen, CA);
    assert!(ca.contains(" 0.00 "), "{ca}");
    // the `done` filter is split: imported (unposted in GL) apart from posted
    h.keys("fff");
    assert!(h.screen().contains("filter: imported (unposted)"));
    let imported: Vec<BatchState> = h
        .state
        .visible
        .iter()
        .map(|i| h.state.settlements[*i].status)
        .collect();
    assert!(!imported.is_empty());
    assert!(imported.iter().all(|s| *s == BatchState::Imported));
    h.key(KeyCode::Char('f'));
    assert!(h.screen().contains("filter: posted"));
    assert!(h.state.visible.iter().all(|i| matches!(
        h.state.settlements[*i].status,
        BatchState::Posted | BatchState::Reversed | BatchState::Archived
    )));
}

#[test]
fn review_descriptions_stay_apart_and_times_name_their_zone() {
    let mut h = Harness::new((160, 48));
    h.open(US);
    // the groups pane: both facilitator-tax groups, told apart even when cut
    let d = h.state.detail.as_ref().unwrap();
    let fac: Vec<usize> = (0..d.groups.len())
        .filter(|i| {
            d.groups[*i]
                .amount_description
                .starts_with("MarketplaceFacilitatorTax")
        })
        .collect();
    assert!(fac.len() >= 2);
    let screen = h.screen();
    // (type, amount type, description) as shown in the groups pane
    let shown: Vec<Vec<&str>> = screen
        .lines()
        .filter(|l| l.contains("ItemWithheldTax"))
        .map(|l| l.split('│').nth(1).unwrap())
        .map(|l| l.split_whitespace().take(3).collect())
        .collect();
    assert!(shown.len() >= 2, "{screen}");
    for (i, a) in shown.iter().enumerate() {
        assert!(!shown[i + 1..].contains(a), "{a:?} twice: {screen}");
    }
    // rows: posted instants carry their zone
    h.state.review.groups.selected = fac[0];
    h.key(KeyCode::Enter);
    let screen = h.screen();
    assert!(screen.contains(" UTC"), "{screen}");
}

#[test]
fn review_lists_the_rows_of_the_selected_period_with_a_grand_total() {
    let mut h = Harness::new((80, 24));
    h.open(US);
    let d = h.state.detail.clone().unwrap();
    // every row lands in exactly one period's groups
    let mut seen = vec![0u32; d.rows.len()];
    for p in 0..d.proposal.journals.len() {
        for pg in d.shown_groups(p) {
            for i in d.period_group_rows(&pg) {
                seen[*i as usize] += 1;
            }
        }
    }
    assert!(seen.iter().all(|n| *n == 1));
    let screen = h.screen();
    assert!(screen.contains("Rows of 2025-09 by type"), "{screen}");
    let sept: rust_decimal::Decimal = d.shown_groups(0).iter().map(|pg| pg.total).sum();
    let rows: u64 = d.shown_groups(0).iter().map(|pg| pg.rows).sum();
    assert!(
        screen.contains(&format!("{rows} rows · total {sept}")),
        "{screen}"
    );
    // the next period lists its own rows; drilling shows them only
    h.key(KeyCode::Char('l'));
    assert!(h.screen().contains("Rows of 2025-10 by type"));
    h.key(KeyCode::Enter);
    let Drill::Rows { group } = h.state.review.drill else {
        panic!("not drilled")
    };
    let pg = &d.shown_groups(1)[group];
    assert!(h.screen().contains(&format!("· {} rows ·", pg.rows)));
}

#[test]
fn x_exports_the_journal_and_the_rows_behind_it() {
    let mut h = Harness::new((80, 24));
    h.open(US);
    h.take_effects();
    h.key(KeyCode::Char('x'));
    let fx = h.take_effects();
    let [Effect::Export { file, contents }] = &fx[..] else {
        panic!("{fx:?}")
    };
    assert_eq!(file, "settlement-19870040121-2025-09.csv");
    assert!(
        h.screen()
            .contains("exporting settlement-19870040121-2025-09.csv")
    );
    let d = h.state.detail.clone().unwrap();
    let j = &d.proposal.journals[0];
    let rows: u64 = d.shown_groups(0).iter().map(|pg| pg.rows).sum();
    let lines: Vec<&str> = contents.lines().collect();
    assert_eq!(lines[0], ml_connector::app::export::HEADER);
    let journal = lines.iter().filter(|l| l.starts_with("journal,")).count();
    let row = lines.iter().filter(|l| l.starts_with("row,")).count();
    assert_eq!(journal, j.lines.len());
    assert_eq!(row as u64, rows);
    assert!(lines[1].starts_with("journal,19870040121,2025-09,proposed,1,"));
    // every record has the header's fields
    for l in lines.iter().filter(|l| !l.contains('"')) {
        assert_eq!(l.split(',').count(), 18, "{l}");
    }
    // both periods selected: both journals, in one file
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Char('l'));
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Char('x'));
    let fx = h.take_effects();
    let [Effect::Export { file, contents }] = &fx[..] else {
        panic!("{fx:?}")
    };
    assert_eq!(file, "settlement-19870040121-2025-09_2025-10.csv");
    let row = contents.lines().filter(|l| l.starts_with("row,")).count();
    assert_eq!(row, d.rows.len());
}

#[test]
fn ebs_errors_in_words_rejected_first_and_not_imported_collapsed() {
    let mut h = Harness::new((160, 48));
    let mut b = batch(&h, DE, "2025-10");
    let waiting = |n: u32| ml_connector::app::view::LineErrorView {
        line_key: format!("{DE}-2025-10-r1-L0{n}"),
        account: "01-000-4010-0000-000".into(),
        ebs_code: "P".into(),
        message: "Not imported: another row of this group has an error".into(),
        amazon_ids: vec![DE.into(), format!("305-000000{n}-0000000")],
    };
    b.line_errors.insert(0, waiting(1));
    b.line_errors.push(waiting(2));
    h.send(Msg::BatchUpdated(b.clone()));
    assert_eq!(b.error_rows().len(), 3);
    h.key(KeyCode::Char('3'));
    h.key(KeyCode::Char('/'));
    h.keys("rejected");
    h.key(KeyCode::Enter);
    let screen = h.screen();
    let first = screen
        .lines()
        .position(|l| l.contains("account not found (EF04)"))
        .expect(&screen);
    let disabled = line_with(&screen, "account disabled (EF03)");
    let collapsed = screen
        .lines()
        .position(|l| l.contains("2 more line(s) not imported"))
        .expect(&screen);
    assert!(first < collapsed, "{screen}");
    // the line is its orders, not its key
    assert!(line_with(&screen, "(EF04)").contains("305-1182734-9912201"));
    assert!(!screen.contains("-r1-L07"), "{screen}");
    assert!(disabled.contains("(settlement-level)"));
    // the cursor walks the rows shown
    h.key(KeyCode::Tab);
    h.keys("jjjj");
    assert_eq!(h.state.batches.errors.selected, 2);
}

#[test]
fn audit_searches_filters_shows_whole_entries_and_the_whole_trail() {
    let mut h = Harness::new((80, 24));
    h.open(DE);
    h.key(KeyCode::Char('5'));
    h.serve();
    let all = h.state.audit.entries.len();
    assert_eq!(h.state.audit.visible.len(), all);
    // `/` searches
    h.key(KeyCode::Char('/'));
    h.keys("approved");
    h.key(KeyCode::Enter);
    let shown: Vec<String> = h
        .state
        .audit
        .visible
        .iter()
        .map(|i| h.state.audit.entries[*i].action.clone())
        .collect();
    assert_eq!(shown, vec!["approved", "approved"]);
    assert!(h.screen().contains("/approved"));
    h.key(KeyCode::Esc);
    assert_eq!(h.state.screen, Screen::Audit);
    assert_eq!(h.state.audit.visible.len(), all);
    // `f` filters by action, in order of appearance, then back to all
    h.key(KeyCode::Char('f'));
    assert_eq!(h.state.audit.action.as_deref(), Some("pulled"));
    assert_eq!(h.state.audit.visible.len(), 1);
    h.key(KeyCode::Char('f'));
    assert_eq!(h.state.audit.action.as_deref(), Some("proposed"));
    assert!(h.screen().contains("filter: proposed"));
    while h.state.audit.action.is_some() {
        h.key(KeyCode::Char('f'));
    }
    assert_eq!(h.state.audit.visible.len(), all);
    // enter shows the entry whole; esc closes it, not the screen
    h.keys("G");
    h.key(KeyCode::Enter);
    let screen = h.screen();
    assert!(screen.contains("Audit entry"), "{screen}");
    assert!(
        screen.contains("EF04 01-000-6160-0000-000, EF03"),
        "{screen}"
    );
    h.key(KeyCode::Esc);
    assert!(!h.state.audit.open);
    assert_eq!(h.state.screen, Screen::Audit);
    // `t`: the trail of every settlement, and back
    h.take_effects();
    h.key(KeyCode::Char('t'));
    assert_eq!(h.take_effects(), vec![Effect::LoadAudit(None)]);
    h.send(Msg::AuditLoaded {
        settlement_id: None,
        entries: h.world.audit(None),
    });
    let ids: std::collections::BTreeSet<_> = h
        .state
        .audit
        .entries
        .iter()
        .filter_map(|e| e.settlement_id.clone())
        .collect();
    assert!(ids.len() >= 3, "{ids:?}");
    assert!(h.screen().contains("every settlement"));
    h.key(KeyCode::Char('t'));
    assert_eq!(h.take_effects(), vec![Effect::LoadAudit(Some(DE.into()))]);
}

#[test]
fn audit_mapping_change_shows_version_who_when_and_rule_differences() {
    let mut h = Harness::new((80, 24));
    h.key(KeyCode::Char('5'));
    h.take_effects();
    h.key(KeyCode::Char('t'));
    h.take_effects();
    h.send(Msg::AuditLoaded {
        settlement_id: None,
        entries: vec![AuditEntryView {
            settlement_id: None,
            at: at(14, 8, 30),
            actor: "a.jones".into(),
            action: "mapping_change".into(),
            period: None,
            detail: "mapping=mapping.toml previous_version=3 source=tui version=4".into(),
            changes: vec![
                "+ rule Order / Other / Storage Fee / Amazon.ca → 01-000-6130-0000-000 (FBA storage)"
                    .into(),
                "~ rule Order / ItemPrice / Principal / *: account 01-000-4010-0000-000 → 01-000-4011-0000-000"
                    .into(),
            ],
        }],
    });
    h.key(KeyCode::Enter);
    let screen = h.screen();
    for want in [
        "a.jones",
        "2025-10-14 08:30",
        "version=4",
        "rule changes from the version before",
        "+ rule Order / Other / Storage Fee / Amazon.ca",
        "~ rule Order / ItemPrice / Principal / *: account",
    ] {
        assert!(screen.contains(want), "{want}: {screen}");
    }
}

#[test]
fn mapping_shows_debit_credit_whole_accounts_rejected_rules_and_where_used() {
    let mut h = Harness::new((80, 24));
    h.open(CA);
    add_storage_rule(&mut h);
    let screen = h.screen();
    // amounts as Dr / Cr, never signed; account strings whole
    let line = line_with(&screen, "01-000-9990-0000-000");
    assert!(
        line.contains("18.44 Dr") && line.contains("18.44 Cr"),
        "{line}"
    );
    assert!(!line.contains("-18.44"), "{line}");
    // the account EBS rejected for the DE batch is flagged on its rules
    assert!(
        screen.contains("rule(s) on accounts EBS rejects"),
        "{screen}"
    );
    // where the selected rule's account is used
    let sel = h.state.mapping.cursor.selected;
    let account = h.state.mapping.draft.as_ref().unwrap().rules[sel]
        .account
        .clone();
    assert!(
        screen.contains(&format!("{account} used by rule(s) #")),
        "{screen}"
    );
}

#[test]
fn mapping_names_its_file_and_ledgers_and_replaces_an_account_everywhere() {
    let mut h = Harness::new((160, 48));
    h.open(CA);
    h.key(KeyCode::Char('4'));
    h.serve();
    let screen = h.screen();
    assert!(
        screen.contains(" mapping.toml v3 · ") && screen.contains("ledger(s) 2021, 2022"),
        "{screen}"
    );
    let draft = h.state.mapping.draft.clone().unwrap();
    let from = draft.rules[0].account.clone();
    let using = draft.rules.iter().filter(|r| r.account == from).count();
    assert!(using >= 1);
    h.key(KeyCode::Char('A'));
    let Some(Dialog::RuleEditor(ed)) = &h.state.dialog else {
        panic!("{:?}", h.state.dialog)
    };
    assert_eq!(ed.replace.as_deref(), Some(from.as_str()));
    assert!(h.screen().contains("Replace an account in every rule"));
    // tab stays in the account field
    h.key(KeyCode::Tab);
    for _ in 0..from.len() {
        h.key(KeyCode::Backspace);
    }
    h.keys("01-000-4999-0000-000");
    h.key(KeyCode::Enter);
    let fx = h.take_effects();
    assert!(
        fx.iter().any(|e| matches!(e, Effect::PreviewMapping(_))),
        "{fx:?}"
    );
    assert!(h.state.dialog.is_none());
    let d = h.state.mapping.draft.as_ref().unwrap();
    assert!(d.rules.iter().all(|r| r.account != from));
    assert_eq!(
        d.rules
            .iter()
            .filter(|r| r.account == "01-000-4999-0000-000")
            .count(),
        using
    );
    assert!(h.state.mapping.dirty());
    let (_, msg) = h.state.status.message.clone().unwrap();
    assert!(msg.contains(&format!("{using} rule(s) changed")), "{msg}");
}

#[test]
fn from_a_journal_line_to_the_rows_behind_it() {
    let mut h = Harness::new((160, 48));
    h.open(US);
    let d = h.state.detail.clone().unwrap();
    // every mapped line leads to as many rows as it says it has
    for (p, j) in d.proposal.journals.iter().enumerate() {
        for (i, l) in j.lines.iter().enumerate() {
            if l.kind == ml_connector::ledger::journal::LineKind::Mapped {
                let rows = d.line_rows(p, i).unwrap();
                assert_eq!(rows.len() as u64, l.rows, "{} {}", j.period, l.account);
            }
        }
    }
    // in the workstation: tab to the journal, pick the sales line, enter
    let sales = d.proposal.journals[0]
        .lines
        .iter()
        .position(|l| l.account == "01-000-4010-0000-000")
        .unwrap();
    h.key(KeyCode::Tab);
    for _ in 0..sales {
        h.key(KeyCode::Char('j'));
    }
    h.key(KeyCode::Enter);
    let Drill::Line { line, rows } = h.state.review.drill.clone() else {
        panic!("{:?}", h.state.review.drill)
    };
    assert_eq!(line, sales);
    assert_eq!(
        h.state.review.pane,
        ml_connector::app::state::ReviewPane::Rows
    );
    let screen = h.screen();
    assert!(
        screen.contains(&format!(
            "Rows behind 01-000-4010-0000-000 Amazon product sales · {} rows · 6373.93",
            rows.len()
        )),
        "{screen}"
    );
    // esc goes back to the journal line
    h.key(KeyCode::Esc);
    assert_eq!(h.state.review.drill, Drill::Groups);
    assert_eq!(
        h.state.review.pane,
        ml_connector::app::state::ReviewPane::Journal
    );
    assert_eq!(h.state.review.lines.selected, sales);
}

/// The order data sync would load: one order pulled, the others not.
fn fixture_order(id: &str) -> Option<ml_connector::app::view::OrderView> {
    (id == "113-2698152-1517670").then(|| {
        ml_connector::app::view::OrderView::from_json(
            id,
            &serde_json::json!({
                "AmazonOrderId": id,
                "PurchaseDate": "2025-09-25T00:04:11Z",
                "OrderStatus": "Shipped",
                "NumberOfItemsShipped": 2,
                "NumberOfItemsUnshipped": 0,
                "OrderTotal": {"CurrencyCode": "USD", "Amount": "83.00"},
                "ShippingAddress": {"StateOrRegion": "WA", "CountryCode": "US"},
            }),
        )
    })
}

#[test]
fn from_an_order_to_its_order_data() {
    let mut h = Harness::new((80, 24));
    h.open(US);
    h.keys("jjj");
    h.key(KeyCode::Enter);
    h.take_effects();
    h.key(KeyCode::Enter);
    let Drill::Order { order_id, .. } = h.state.review.drill.clone() else {
        panic!("not on an order")
    };
    assert_eq!(order_id, "113-2698152-1517670");
    assert_eq!(h.effects, vec![Effect::LoadOrder(order_id.clone())]);
    assert!(h.screen().contains("loading the order"));
    h.serve();
    let screen = h.screen();
    assert!(
        screen.contains("ordered 2025-09-25 · Shipped · 2 item(s) · 83.00 USD · ship to WA, US"),
        "{screen}"
    );
    // asked once: back and in again needs no second load
    h.key(KeyCode::Esc);
    h.key(KeyCode::Enter);
    assert!(h.take_effects().is_empty());
}

/// Issue 16: a batch posted twice (original, then its reversal) lists both revisions
/// with journal id and name, debit, credit and currency.
#[test]
fn revised_batch_shows_its_revisions() {
    let build = |h: &mut Harness| {
        let mut b = batch(h, DE, "2025-09");
        b.state = BatchState::Reversed;
        b.revision = 2;
        h.send(Msg::BatchUpdated(b));
        h.serve();
        select_batch(h, DE, "2025-09");
        h.serve();
    };
    let mut h = Harness::new((160, 48));
    build(&mut h);
    let screen = h.screen();
    for want in [
        "Revisions in EBS",
        "r1  imported",
        "51234",
        "AMZ 2025-09 r1",
        "r2  reversal of r1",
        "51301",
        "1234.56",
        "EUR",
    ] {
        assert!(screen.contains(want), "{want} missing:\n{screen}");
    }
    snap("batches_revisions", build);
}

/// Issue 16: a settlement posted into a ledger of another currency shows the ledger by
/// name and currency, and (wide) the accounted amounts per journal line.
#[test]
fn foreign_currency_review_shows_ledger_and_accounted_amounts() {
    let mut h = Harness::new((160, 48));
    h.open(DE);
    let d = fixtures::foreign_currency(h.world.detail(DE).unwrap());
    let (dr, _) = d.accounted[0][0].unwrap();
    h.send(Msg::DetailLoaded(Box::new(d)));
    let screen = h.screen();
    for want in [
        "US Primary Ledger (ledger 1, Amazon)",
        "ledger currency USD",
        "acc. dr",
        "accounted (USD)",
    ] {
        assert!(screen.contains(want), "{want} missing:\n{screen}");
    }
    if !dr.is_zero() {
        assert!(screen.contains(&dr.to_string()), "{dr} missing:\n{screen}");
    }
}
