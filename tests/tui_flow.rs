//! The workstation end to end: key sequences through the app's update loop with
//! the REAL sync bridge against the in-process demo world (both simulators over
//! HTTP on 127.0.0.1), and the real binary's `demo` driven under tmux.

#[path = "common/require.rs"]
mod require;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ml_connector::app::state::{Dialog, Screen};
use ml_connector::app::{AppState, Effect, Msg, update};
use ml_connector::config::{Config, Unlock};
use ml_connector::ledger::state::BatchState;
use ml_connector::sim::world::{self, DemoOptions, DemoWorld};
use ml_connector::store::Store;
use ml_connector::sync::context::{SyncContext, SyncOptions};
use ml_connector::sync::posting::PostingEngine;
use ml_connector::workstation::{self, BridgeOptions};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const SCALE: f64 = 60.0;
const WAIT: Duration = Duration::from_secs(90);

/// The app state, driven like the UI task drives it, with the real bridge behind it.
struct Flow {
    state: AppState,
    fx: mpsc::Sender<Effect>,
    rx: mpsc::Receiver<Msg>,
    store: Arc<Store>,
    cancel: CancellationToken,
    bridge: Option<tokio::task::JoinHandle<()>>,
    world: Option<DemoWorld>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Flow {
    async fn start() -> Flow {
        let world_dir = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let mut o = DemoOptions::new(world_dir.path());
        o.time_scale = SCALE;
        o.work_factor = Some(2);
        o.passphrase = Some("tui-flow-passphrase".into());
        o.auto_post = false;
        let world = DemoWorld::start(o).await.unwrap();
        let config = Config::load(&world.config_path).unwrap();
        let creds = config
            .load_credentials(&Unlock::Passphrase(world.passphrase().clone()))
            .unwrap();
        let store = Arc::new(Store::open(data.path(), "tui_flow").unwrap());
        let ctx = SyncContext::new(
            Arc::new(config),
            &creds,
            store.clone(),
            SyncOptions {
                amazon_time_scale: SCALE,
                headless: false,
            },
        )
        .unwrap();
        let engine = PostingEngine::from_context(&ctx);
        let (msg_tx, rx) = mpsc::channel(1024);
        let (fx, fx_rx) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        let bridge = workstation::spawn(
            ctx,
            engine,
            msg_tx,
            fx_rx,
            BridgeOptions {
                every: None,
                sync_at_start: true,
                cancel: cancel.clone(),
            },
        );
        let mut flow = Flow {
            state: AppState::new("alice", (160, 48)),
            fx,
            rx,
            store,
            cancel,
            bridge: Some(bridge),
            world: Some(world),
            _dirs: (world_dir, data),
        };
        for e in AppState::initial_effects() {
            flow.fx.send(e).await.unwrap();
        }
        flow.until("the first sync round", |s| s.status.last_success.is_some())
            .await;
        flow
    }

    async fn send(&mut self, msg: Msg) {
        for e in update(&mut self.state, msg) {
            self.fx.send(e).await.expect("the bridge runs");
        }
    }

    async fn key(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
            .await;
    }

    async fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c)).await;
        }
    }

    /// Applies the bridge's messages until `cond` holds (bounded).
    async fn until(&mut self, what: &str, cond: impl Fn(&AppState) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !cond(&self.state) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(m)) => self.send(m).await,
                Ok(None) => panic!("the bridge stopped while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; status: {:?}\n{}",
                    self.state.status.message,
                    self.screen()
                ),
            }
        }
    }

    fn screen(&self) -> String {
        let s = &self.state;
        let mut t = Terminal::new(TestBackend::new(s.size.0, s.size.1)).unwrap();
        t.draw(|f| ml_connector::ui::render(f, s)).unwrap();
        t.backend().to_string()
    }

    fn batch_states(&self, id: &str) -> Vec<BatchState> {
        self.state
            .batches
            .all
            .iter()
            .filter(|b| b.key.settlement_id == id)
            .map(|b| b.state)
            .collect()
    }

    /// The latest settlement of a marketplace (from the store the bridge writes).
    fn latest(&self, marketplace: &str) -> String {
        let mut list: Vec<_> = self
            .store
            .settlements()
            .unwrap()
            .into_iter()
            .filter(|s| s.marketplace_id == marketplace)
            .collect();
        list.sort_by_key(|s| s.summary.end);
        list.last().unwrap().summary.settlement_id.clone()
    }

    /// Opens a settlement's review from the list via `/` search.
    async fn open(&mut self, id: &str) {
        self.key(KeyCode::Char('1')).await;
        self.key(KeyCode::Char('/')).await;
        self.keys(id).await;
        self.key(KeyCode::Enter).await;
        self.key(KeyCode::Enter).await;
        let want = id.to_string();
        self.until(&format!("the review of {id}"), |s| {
            s.screen == Screen::Review
                && s.detail
                    .as_ref()
                    .is_some_and(|d| d.summary.settlement_id == want)
        })
        .await;
    }

    /// `p` on what is picked (after `a`: the approved set), `o` to override the settlement
    /// order when asked, then `y`.
    async fn post_overriding(&mut self) {
        self.key(KeyCode::Char('p')).await;
        let Some(Dialog::Confirm(c)) = &self.state.dialog else {
            panic!("`p` asks first; status: {:?}", self.state.status.message)
        };
        if !c.waiting.is_empty() {
            self.key(KeyCode::Char('o')).await;
        }
        self.key(KeyCode::Char('y')).await;
    }

    /// Selects every period of the open review and presses `action`, then confirms with `y`.
    async fn on_all_periods(&mut self, action: char) {
        self.state.review.selected.clear();
        let n = self.state.detail.as_ref().unwrap().proposal.journals.len();
        self.key(KeyCode::Char('h')).await;
        for _ in 0..n {
            self.key(KeyCode::Char('h')).await;
        }
        for i in 0..n {
            if i > 0 {
                self.key(KeyCode::Char('l')).await;
            }
            self.key(KeyCode::Char(' ')).await;
        }
        self.key(KeyCode::Char(action)).await;
        assert!(
            matches!(self.state.dialog, Some(Dialog::Confirm(_))),
            "`{action}` asks first; status: {:?}",
            self.state.status.message
        );
        self.key(KeyCode::Char('y')).await;
    }

    /// Picks every period of the open review (nothing else pressed).
    async fn on_all_periods_keys(&mut self) {
        self.state.review.selected.clear();
        let n = self.state.detail.as_ref().unwrap().proposal.journals.len();
        for _ in 0..=n {
            self.key(KeyCode::Char('h')).await;
        }
        for i in 0..n {
            if i > 0 {
                self.key(KeyCode::Char('l')).await;
            }
            self.key(KeyCode::Char(' ')).await;
        }
    }

    async fn all_reach(&mut self, id: &str, what: &str, ok: impl Fn(BatchState) -> bool) {
        let want = id.to_string();
        self.until(&format!("{id} {what}"), |s| {
            let states: Vec<BatchState> = s
                .batches
                .all
                .iter()
                .filter(|b| b.key.settlement_id == want)
                .map(|b| b.state)
                .collect();
            !states.is_empty() && states.iter().all(|st| ok(*st))
        })
        .await;
    }

    /// Quits the workstation (`q`) and starts a new one on the same store and world, as the
    /// next start of the program would.
    async fn restart(&mut self) {
        self.key(KeyCode::Char('q')).await;
        self.cancel.cancel();
        if let Some(b) = self.bridge.take() {
            tokio::time::timeout(WAIT, b).await.unwrap().unwrap();
        }
        let world = self.world.as_ref().unwrap();
        let config = Config::load(&world.config_path).unwrap();
        let creds = config
            .load_credentials(&Unlock::Passphrase(world.passphrase().clone()))
            .unwrap();
        let ctx = SyncContext::new(
            Arc::new(config),
            &creds,
            self.store.clone(),
            SyncOptions {
                amazon_time_scale: SCALE,
                headless: false,
            },
        )
        .unwrap();
        let engine = PostingEngine::from_context(&ctx);
        let (msg_tx, rx) = mpsc::channel(1024);
        let (fx, fx_rx) = mpsc::channel(64);
        self.cancel = CancellationToken::new();
        self.bridge = Some(workstation::spawn(
            ctx,
            engine,
            msg_tx,
            fx_rx,
            BridgeOptions {
                every: None,
                sync_at_start: false,
                cancel: self.cancel.clone(),
            },
        ));
        self.fx = fx;
        self.rx = rx;
        self.state = AppState::new("alice", (160, 48));
        for e in AppState::initial_effects() {
            self.fx.send(e).await.unwrap();
        }
    }

    async fn stop(mut self) {
        self.key(KeyCode::Char('q')).await;
        self.cancel.cancel();
        if let Some(b) = self.bridge.take() {
            tokio::time::timeout(WAIT, b).await.unwrap().unwrap();
        }
        assert!(self.store.verify().unwrap().is_clean());
        if let Some(w) = self.world.take() {
            w.stop().await;
        }
    }
}

fn imported(s: BatchState) -> bool {
    matches!(s, BatchState::Imported | BatchState::Posted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_approve_post_imported() {
    let mut f = Flow::start().await;
    let us = f.latest(world::US);
    assert!(
        f.batch_states(&us)
            .iter()
            .all(|s| *s == BatchState::Proposed),
        "{:?}",
        f.batch_states(&us)
    );
    f.open(&us).await;
    let detail = f.state.detail.clone().unwrap();
    assert_eq!(
        detail.proposal.journals.len(),
        2,
        "the latest US settlement spans a month end"
    );
    assert!(f.screen().contains(&us));
    // the verdicts: event group linked with the same total, accounts and periods checked in EBS
    f.until("every verdict ok", |s| {
        s.detail.as_ref().is_some_and(|d| {
            d.verdicts
                .iter()
                .all(|v| v.level == ml_connector::app::view::VerdictLevel::Ok)
        })
    })
    .await;
    f.on_all_periods('a').await;
    f.all_reach(&us, "approved", |s| s == BatchState::Approved)
        .await;
    let audit = f.store.audit_entries(Some(&us)).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action.as_str() == "approval" && e.actor == "alice"),
        "the approval is audited under the accountant's name"
    );
    // a plain `p` after `a` posts the approved set (both periods), in calendar order
    f.key(KeyCode::Char('p')).await;
    let Some(Dialog::Confirm(c)) = f.state.dialog.clone() else {
        panic!("p asks first: {:?}", f.state.status.message)
    };
    assert!(c.title.starts_with("Post 2 journal(s)"), "{}", c.title);
    let periods: Vec<String> = detail
        .proposal
        .journals
        .iter()
        .map(|j| j.period.clone())
        .collect();
    let fact = |l: &str| c.facts.iter().find(|(x, _)| x == l).map(|(_, v)| v.clone());
    assert_eq!(fact("Periods"), Some(periods.join(", ")));
    // settlement order: the previous US settlement is not in EBS, so this one waits …
    let mut chain: Vec<_> = f
        .store
        .settlements()
        .unwrap()
        .into_iter()
        .filter(|s| s.marketplace_id == world::US)
        .collect();
    chain.sort_by_key(|s| s.summary.start);
    let previous = chain[chain.len() - 2].summary.settlement_id.clone();
    let order = fact("Order").expect("the confirmation says the settlement waits");
    assert!(order.contains(&previous), "{order}");
    f.key(KeyCode::Char('y')).await;
    let want = us.clone();
    f.until("waiting for the previous settlement", |s| {
        let mine: Vec<_> = s
            .batches
            .all
            .iter()
            .filter(|b| b.key.settlement_id == want)
            .collect();
        !mine.is_empty()
            && mine.iter().all(|b| {
                b.state == BatchState::Approved
                    && b.reason.as_deref().is_some_and(|r| {
                        r.starts_with("waiting_for_previous") && r.contains(&previous)
                    })
            })
    })
    .await;
    // … until the accountant overrides the order explicitly (audited)
    f.on_all_periods_keys().await;
    f.post_overriding().await;
    f.all_reach(&us, "imported", imported).await;
    let audit = f.store.audit_entries(Some(&us)).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.actor == "alice" && e.details.get("order_override").is_some()),
        "the override is audited under the accountant's name"
    );
    // the import status shows EBS's group and request ids
    f.key(KeyCode::Char('3')).await;
    let views: Vec<_> = f
        .state
        .batches
        .all
        .iter()
        .filter(|b| b.key.settlement_id == us)
        .cloned()
        .collect();
    for b in &views {
        assert!(b.group_id.is_some() && b.request_id.is_some(), "{b:?}");
    }
    let req = views[0].request_id.clone().unwrap();
    f.until("the request's phase from EBS", |s| {
        s.batches
            .all
            .iter()
            .any(|b| b.request_id.as_deref() == Some(req.as_str()) && b.phase.is_some())
    })
    .await;
    f.key(KeyCode::Char('/')).await;
    f.keys(&us).await;
    f.key(KeyCode::Enter).await;
    let screen = f.screen();
    assert!(screen.contains(&req), "{screen}");
    assert!(
        screen.contains("imported") || screen.contains("posted"),
        "{screen}"
    );
    // exactly once in EBS: one journal per period
    let journals = f.world.as_ref().unwrap().ebs.gl_journals();
    let n = journals
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| {
            j["lines"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["reference_1"].as_str() == Some(us.as_str()))
        })
        .count();
    assert_eq!(n, 2);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_then_reverse_through_the_tui() {
    let mut f = Flow::start().await;
    let us = f.latest(world::US);
    f.open(&us).await;
    let period = f.state.detail.as_ref().unwrap().proposal.journals[0]
        .period
        .clone();
    let key = ml_connector::app::view::BatchKey::new(us.clone(), period.clone());
    let state_of = |s: &AppState| {
        s.batches
            .all
            .iter()
            .find(|b| b.key == key)
            .map(|b| (b.state, b.revision))
    };
    // approve and post the first period only
    f.key(KeyCode::Char('a')).await;
    assert!(matches!(f.state.dialog, Some(Dialog::Confirm(_))));
    f.key(KeyCode::Char('y')).await;
    f.until("approved", |s| {
        state_of(s).is_some_and(|(st, _)| st == BatchState::Approved)
    })
    .await;
    f.post_overriding().await;
    f.until("imported", |s| {
        state_of(s).is_some_and(|(st, _)| imported(st))
    })
    .await;
    // R: the bridge plans the reversal, the confirmation shows it
    f.key(KeyCode::Char('R')).await;
    f.until(
        "the reversal confirmation",
        |s| matches!(&s.dialog, Some(Dialog::Confirm(c)) if c.title.starts_with("Reverse")),
    )
    .await;
    let Some(Dialog::Confirm(c)) = f.state.dialog.clone() else {
        unreachable!()
    };
    let fact = |name: &str| {
        c.facts
            .iter()
            .find(|(l, _)| l == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} in {:?}", c.facts))
    };
    assert!(
        fact("Reverses").starts_with("EBS journal(s) "),
        "{:?}",
        c.facts
    );
    assert!(fact("Revision").contains("reversal r2"), "{:?}", c.facts);
    let b = f
        .state
        .batches
        .all
        .iter()
        .find(|b| b.key == key)
        .cloned()
        .unwrap();
    let code = b.currency.code().to_string();
    assert!(fact("Debit").ends_with(&code));
    // the reversal mirrors the original: its debit is the original's credit
    assert_eq!(
        fact("Debit"),
        format!(
            "{} {code}",
            ml_connector::ledger::money::format_amount(b.total_credit, b.currency.scale())
        )
    );
    assert!(f.screen().contains("reversing journal"));
    f.key(KeyCode::Char('y')).await;
    f.until("reversed", |s| {
        state_of(s) == Some((BatchState::Reversed, 2))
    })
    .await;
    let rec = f
        .store
        .batch(&ml_connector::store::BatchKey::new(
            us.clone(),
            period.clone(),
        ))
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, BatchState::Reversed);
    // EBS holds the original and its reversal, nothing else, netting to zero
    let journals = f.world.as_ref().unwrap().ebs.gl_journals();
    let ours: Vec<&serde_json::Value> = journals
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| {
            j["lines"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["reference_1"].as_str() == Some(us.as_str()))
        })
        .collect();
    assert_eq!(ours.len(), 2, "{ours:#?}");
    let audit = f.store.audit_entries(Some(&us)).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action.as_str() == "reversal" && e.actor == "alice"),
        "the reversal is audited under the accountant's name"
    );

    // the correction: a mapping change; its preview includes the reversed batch
    let journal_accounts: Vec<String> = f.state.detail.as_ref().unwrap().proposal.journals[0]
        .lines
        .iter()
        .map(|l| l.account.clone())
        .collect();
    f.key(KeyCode::Char('4')).await;
    f.until("the mapping", |s| s.mapping.draft.is_some()).await;
    let rule = f
        .state
        .mapping
        .draft
        .as_ref()
        .unwrap()
        .rules
        .iter()
        .position(|r| journal_accounts.contains(&r.account) && r.account != "01-000-6110-0000-000")
        .expect("a rule behind the reversed journal");
    let moved = f.state.mapping.draft.as_ref().unwrap().rules[rule]
        .account
        .clone();
    f.key(KeyCode::Char('g')).await;
    for _ in 0..rule {
        f.key(KeyCode::Char('j')).await;
    }
    f.key(KeyCode::Char('e')).await;
    for _ in 0..4 {
        f.key(KeyCode::Tab).await;
    }
    for _ in 0..13 {
        f.key(KeyCode::Backspace).await;
    }
    f.keys("6110-0000-000").await;
    f.key(KeyCode::Enter).await;
    f.until("the proposal diff", |s| {
        s.mapping.diff_hash.is_some() && s.mapping.diff_hash == s.mapping.pending_hash
    })
    .await;
    assert!(
        f.state
            .mapping
            .diff
            .iter()
            .any(|c| c.settlement_id == us && c.period == period && c.account == moved),
        "the preview names the reversed batch: {:?}",
        f.state.mapping.diff
    );
    f.key(KeyCode::Char('w')).await;
    f.key(KeyCode::Char('y')).await;
    f.until("the reversed batch proposed again", |s| {
        s.mapping.saved.as_ref().and_then(|d| d.version)
            == s.mapping.draft.as_ref().and_then(|d| d.version)
            && s.status
                .message
                .as_ref()
                .is_some_and(|(_, m)| m.contains("proposed again"))
    })
    .await;
    f.key(KeyCode::Char('2')).await;
    // the approval shows what changed since the posted revision, and who may approve
    f.key(KeyCode::Char('a')).await;
    f.until("the approver check and the difference from r1", |s| {
        matches!(&s.dialog, Some(Dialog::Confirm(c))
            if c.facts.iter().any(|(l, v)| l == "Approver" && v == "alice: you may approve")
            && c.facts.iter().any(|(l, v)| l == "Since posted"
                && v.contains("posted r1") && v.contains(&moved)))
    })
    .await;
    f.key(KeyCode::Char('y')).await;
    f.until("approved as revision 3", |s| {
        state_of(s) == Some((BatchState::Approved, 3))
    })
    .await;
    f.post_overriding().await;
    f.until("revision 3 imported", |s| {
        state_of(s).is_some_and(|(st, r)| imported(st) && r == 3)
    })
    .await;

    let n = f
        .world
        .as_ref()
        .unwrap()
        .ebs
        .gl_journals()
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| {
            j["lines"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["reference_1"].as_str() == Some(us.as_str()))
        })
        .count();
    assert_eq!(n, 3, "original, reversal, correction");

    // the other period: posted, then deleted in EBS → vanished, its history shown, archived
    let other = f.state.detail.as_ref().unwrap().proposal.journals[1]
        .period
        .clone();
    let okey = ml_connector::app::view::BatchKey::new(us.clone(), other.clone());
    let ostate = |s: &AppState| {
        s.batches
            .all
            .iter()
            .find(|b| b.key == okey)
            .map(|b| b.state)
    };
    f.key(KeyCode::Char('l')).await;
    f.key(KeyCode::Char('a')).await;
    f.key(KeyCode::Char('y')).await;
    f.until("other approved", |s| {
        ostate(s) == Some(BatchState::Approved)
    })
    .await;
    f.post_overriding().await;
    f.until("other imported", |s| ostate(s).is_some_and(imported))
        .await;
    let group: i64 = f
        .state
        .batches
        .all
        .iter()
        .find(|b| b.key == okey)
        .and_then(|b| b.group_id.clone())
        .unwrap()
        .parse()
        .unwrap();
    assert!(f.world.as_ref().unwrap().ebs.delete_journals(group) > 0);
    f.key(KeyCode::Char('r')).await;
    f.until("vanished", |s| ostate(s) == Some(BatchState::Vanished))
        .await;
    f.key(KeyCode::Char('3')).await;
    f.key(KeyCode::Char('g')).await;
    while f.state.selected_batch().is_some_and(|b| b.key != okey) {
        f.key(KeyCode::Char('j')).await;
    }
    f.until("its history", |s| s.histories.contains_key(&okey))
        .await;
    let h = f.state.histories[&okey].clone();
    assert!(
        h.imported_at.is_some() && h.missing_since.is_some(),
        "{h:?}"
    );
    assert!(!h.journal_ids.is_empty(), "{h:?}");
    let screen = f.screen();
    assert!(screen.contains("Seen missing"), "{screen}");
    f.key(KeyCode::Char('A')).await;
    assert!(matches!(f.state.dialog, Some(Dialog::Confirm(_))));
    f.key(KeyCode::Char('y')).await;
    f.until("archived", |s| ostate(s) == Some(BatchState::Archived))
        .await;
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_mapping_proposals_change_then_approve() {
    let mut f = Flow::start().await;
    let de = f.latest(world::DE);
    assert!(
        f.batch_states(&de)
            .iter()
            .all(|s| *s == BatchState::NeedsMapping)
    );
    f.open(&de).await;
    assert!(f.screen().contains("UNMAPPED"), "{}", f.screen());
    // approving is refused while rows are unmapped
    f.key(KeyCode::Char('a')).await;
    assert!(f.state.dialog.is_none());

    // a rule for the unmapped fee (prefilled from the group), account checked by EBS
    f.key(KeyCode::Char('4')).await;
    f.until("the mapping", |s| s.mapping.draft.is_some()).await;
    let version = f.state.mapping.saved.as_ref().unwrap().version;
    f.key(KeyCode::Char('n')).await;
    let Some(Dialog::RuleEditor(ed)) = &f.state.dialog else {
        panic!("n opens the rule editor")
    };
    assert_eq!(ed.text(2), world::UNMAPPED_FEE);
    for _ in 0..4 {
        f.key(KeyCode::Tab).await;
    }
    let account = "01-000-6110-0000-000";
    f.keys(account).await;
    f.until("EBS's answer about the account", |s| {
        s.account_checks.contains_key(account)
    })
    .await;
    assert!(
        matches!(
            f.state.account_checks[account],
            ml_connector::app::view::AccountCheck::Valid { .. }
        ),
        "{:?}",
        f.state.account_checks[account]
    );
    f.key(KeyCode::Enter).await;
    f.until("the proposal diff", |s| {
        s.mapping.diff_hash.is_some() && s.mapping.diff_hash == s.mapping.pending_hash
    })
    .await;
    let m = &f.state.mapping;
    assert_eq!(m.newly_mapped, vec![de.clone()], "{:?}", m.diff);
    let change = m
        .diff
        .iter()
        .find(|c| c.settlement_id == de && c.account == account)
        .expect("the fee's line changes");
    assert_eq!(change.delta().abs(), rust_decimal::Decimal::new(123, 2));

    // saved as a new version: DE is proposed again, then approvable
    f.key(KeyCode::Char('w')).await;
    f.key(KeyCode::Char('y')).await;
    f.all_reach(&de, "proposed", |s| s == BatchState::Proposed)
        .await;
    let saved = f.state.mapping.saved.as_ref().unwrap().version;
    assert!(saved > version, "{saved:?} after {version:?}");
    let stored = f.store.latest_mapping("mapping.toml").unwrap().unwrap();
    assert_eq!(Some(stored.version), saved);
    assert_eq!(stored.who, "alice");
    f.key(KeyCode::Char('2')).await;
    let want = de.clone();
    f.until("the re-proposed review", |s| {
        s.detail
            .as_ref()
            .is_some_and(|d| d.summary.settlement_id == want && d.proposal.unmapped.is_empty())
    })
    .await;
    f.on_all_periods('a').await;
    f.all_reach(&de, "approved", |s| s == BatchState::Approved)
        .await;
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_batch_codes_fix_and_repost() {
    let mut f = Flow::start().await;
    let ca = f.latest(world::CA);
    f.open(&ca).await;
    f.on_all_periods('a').await;
    f.all_reach(&ca, "approved", |s| s == BatchState::Approved)
        .await;
    // before the post EBS says the fee account is valid (opening the rule asks at once)
    f.key(KeyCode::Char('4')).await;
    f.until("CA's mapping", |s| {
        s.mapping
            .draft
            .as_ref()
            .is_some_and(|d| d.rules.iter().any(|r| r.account == world::CA_FEE_ACCOUNT))
    })
    .await;
    let at = f
        .state
        .mapping
        .draft
        .as_ref()
        .unwrap()
        .rules
        .iter()
        .position(|r| r.account == world::CA_FEE_ACCOUNT)
        .unwrap();
    f.key(KeyCode::Char('g')).await;
    for _ in 0..at {
        f.key(KeyCode::Char('j')).await;
    }
    f.key(KeyCode::Char('e')).await;
    f.until("EBS's answer about the existing rule's account", |s| {
        matches!(
            s.account_checks.get(world::CA_FEE_ACCOUNT),
            Some(ml_connector::app::view::AccountCheck::Valid { .. })
        )
    })
    .await;
    f.key(KeyCode::Esc).await;
    f.key(KeyCode::Char('2')).await;
    f.post_overriding().await;
    // EBS end-dates CA's fee account as the import starts: rejected with codes; a period
    // checked after that is blocked before staging (EBS's fresh answer), not rejected
    let want = ca.clone();
    let settled = |s: &AppState| {
        let mine: Vec<_> = s
            .batches
            .all
            .iter()
            .filter(|b| b.key.settlement_id == want)
            .collect();
        !mine.is_empty()
            && mine.iter().any(|b| b.state == BatchState::Rejected)
            && mine.iter().all(|b| {
                b.state == BatchState::Rejected
                    || (b.state == BatchState::Approved
                        && b.reason.as_deref().is_some_and(|r| {
                            r.contains("blocked before staging")
                                && r.contains(world::CA_FEE_ACCOUNT)
                        }))
            })
    };
    f.until("rejected (or blocked before staging)", settled)
        .await;
    // the stale answers are gone: the rule editor's and the review's
    assert!(
        !matches!(
            f.state.account_checks.get(world::CA_FEE_ACCOUNT),
            Some(ml_connector::app::view::AccountCheck::Valid { .. })
        ),
        "{:?}",
        f.state.account_checks.get(world::CA_FEE_ACCOUNT)
    );
    f.until("the review says the account is invalid in EBS", |s| {
        s.detail.as_ref().is_some_and(|d| {
            d.checks
                .invalid_accounts
                .as_ref()
                .is_some_and(|a| a.iter().any(|x| x.contains(world::CA_FEE_ACCOUNT)))
        })
    })
    .await;
    let rejected: Vec<_> = f
        .state
        .batches
        .all
        .iter()
        .filter(|b| b.key.settlement_id == ca)
        .cloned()
        .collect();
    let errors: Vec<_> = rejected.iter().flat_map(|b| &b.line_errors).collect();
    assert!(
        errors
            .iter()
            .any(|e| e.account == world::CA_FEE_ACCOUNT && e.ebs_code.starts_with("EF")),
        "{errors:?}"
    );
    f.key(KeyCode::Char('3')).await;
    f.key(KeyCode::Char('/')).await;
    f.keys("rejected").await;
    f.key(KeyCode::Enter).await;
    let screen = f.screen();
    let code = errors
        .iter()
        .find(|e| e.account == world::CA_FEE_ACCOUNT)
        .unwrap()
        .ebs_code
        .clone();
    assert!(screen.contains(&code), "{code} missing:\n{screen}");
    assert!(screen.contains(world::CA_FEE_ACCOUNT), "{screen}");

    // fix: CA's mapping (the editor follows the settlement under review) moves the fee
    f.open(&ca).await;
    f.key(KeyCode::Char('4')).await;
    f.until("CA's mapping", |s| {
        s.mapping
            .draft
            .as_ref()
            .is_some_and(|d| d.rules.iter().any(|r| r.account == world::CA_FEE_ACCOUNT))
    })
    .await;
    let fee_rule = |f: &Flow| {
        f.state
            .mapping
            .draft
            .as_ref()
            .unwrap()
            .rules
            .iter()
            .position(|r| r.account == world::CA_FEE_ACCOUNT)
    };
    while let Some(i) = fee_rule(&f) {
        f.key(KeyCode::Char('g')).await;
        for _ in 0..i {
            f.key(KeyCode::Char('j')).await;
        }
        f.key(KeyCode::Char('e')).await;
        for _ in 0..4 {
            f.key(KeyCode::Tab).await;
        }
        for _ in 0..13 {
            f.key(KeyCode::Backspace).await;
        }
        f.keys("6110-0000-000").await;
        f.key(KeyCode::Enter).await;
        assert!(f.state.dialog.is_none(), "{:?}", f.state.status.message);
    }
    f.until("the proposal diff", |s| {
        s.mapping.diff_hash.is_some() && s.mapping.diff_hash == s.mapping.pending_hash
    })
    .await;
    assert!(
        f.state
            .mapping
            .diff
            .iter()
            .any(|c| c.settlement_id == ca && c.account == "01-000-6110-0000-000"),
        "{:?}",
        f.state.mapping.diff
    );
    let before: Vec<_> = rejected.iter().map(|b| b.proposal_hash.clone()).collect();
    f.key(KeyCode::Char('w')).await;
    f.key(KeyCode::Char('y')).await;
    let want = ca.clone();
    f.until("CA re-proposed under the fixed mapping", |s| {
        s.batches
            .all
            .iter()
            .filter(|b| b.key.settlement_id == want)
            .all(|b| !before.contains(&b.proposal_hash))
    })
    .await;
    let stored = f.store.latest_mapping("mapping-ca.toml").unwrap().unwrap();
    assert!(!stored.text.contains(world::CA_FEE_ACCOUNT));

    // approve again (the next revision) and post
    f.key(KeyCode::Char('2')).await;
    f.until("the re-proposed review", |s| {
        s.detail.as_ref().is_some_and(|d| {
            d.proposal
                .journals
                .iter()
                .all(|j| j.lines.iter().all(|l| l.account != world::CA_FEE_ACCOUNT))
        })
    })
    .await;
    f.on_all_periods('a').await;
    f.all_reach(&ca, "approved", |s| s == BatchState::Approved)
        .await;
    // the rejected periods post as revision 2 (a blocked one never reached EBS)
    for b in f
        .state
        .batches
        .all
        .iter()
        .filter(|b| b.key.settlement_id == ca)
    {
        let was = rejected.iter().find(|r| r.key == b.key).unwrap();
        let want = if was.state == BatchState::Rejected {
            2
        } else {
            1
        };
        assert_eq!(b.revision, want, "{b:?}");
    }
    f.post_overriding().await;
    f.all_reach(&ca, "imported", imported).await;
    f.stop().await;
}

/// Issue 16: quitting with a post half done (one period imported, one approved) is said at
/// exit (the store says so) and on the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_done_post_is_said_at_exit_and_on_the_next_start() {
    let mut f = Flow::start().await;
    let us = f.latest(world::US);
    f.open(&us).await;
    f.on_all_periods('a').await;
    f.all_reach(&us, "approved", |s| s == BatchState::Approved)
        .await;
    // post only the first period
    f.state.review.selected.clear();
    f.key(KeyCode::Char('h')).await;
    f.key(KeyCode::Char('h')).await;
    f.post_overriding().await;
    let want = us.clone();
    f.until("one period imported", |s| {
        s.batches
            .all
            .iter()
            .any(|b| b.key.settlement_id == want && imported(b.state))
    })
    .await;
    let half = workstation::unfinished_posts(&f.store).unwrap();
    assert!(
        half.iter()
            .any(|l| l.contains(&us) && l.contains("approved")),
        "{half:?}"
    );
    f.restart().await;
    f.until("the warning at start", |s| {
        s.status
            .message
            .as_ref()
            .is_some_and(|(_, m)| m.contains("unfinished post") && m.contains(&want))
    })
    .await;
    f.stop().await;
}

// ------------------------------------------------------------------ the real binary under tmux

struct Tmux {
    session: String,
}

impl Tmux {
    fn run(args: &[&str]) -> std::process::Output {
        std::process::Command::new("tmux")
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.session.as_str()];
        args.extend_from_slice(keys);
        let out = Self::run(&args);
        assert!(out.status.success(), "{out:?}");
    }

    fn capture(&self) -> String {
        let out = Self::run(&["capture-pane", "-p", "-t", self.session.as_str()]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `cond` holds (bounded; no fixed sleeps).
    fn until(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        let mut pause = Duration::from_millis(20);
        loop {
            let screen = self.capture();
            if cond(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Self::run(&["kill-session", "-t", self.session.as_str()]);
    }
}

#[test]
fn demo_under_tmux() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        require::missing("tmux (.ci/run installs it)");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let session = format!("mlc-demo-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_ml-connector");
    let command = format!(
        "env HOME={home} TMPDIR={home} USER=demo-user {bin} demo --time-scale 60",
        home = home.path().display()
    );
    let out = Tmux::run(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "160",
        "-y",
        "48",
        &command,
    ]);
    assert!(out.status.success(), "{out:?}");
    let t = Tmux { session };
    // settlements listed once the first sync has run
    let screen = t.until("settlements listed", |s| {
        s.contains("Settlements") && s.contains("needs_mapping") && s.contains("proposed")
    });
    assert!(screen.contains("Amazon US"), "{screen}");
    // open the newest proposed settlement: filter by status, then drill in
    t.send(&["/"]);
    t.send(&["-l", "Amazon US"]);
    t.send(&["Enter"]);
    t.send(&["Enter"]);
    t.until("the review", |s| {
        s.contains("rows vs total") && s.contains("journal balance")
    });
    // approve the current period
    t.send(&["a"]);
    t.until("the approval dialog", |s| s.contains("Approve 1 journal"));
    t.send(&["y"]);
    t.until("approved", |s| s.contains("approved 1 journal"));
    // post it: the confirmation says it cannot be undone
    t.send(&["p"]);
    t.until("the post dialog", |s| s.contains("cannot be undone"));
    t.send(&["o"]);
    t.send(&["y"]);
    t.until("imported visible", |s| {
        s.contains("posted: 1 imported") || s.contains("posted: 1 posted")
    });
    t.send(&["3"]);
    t.until("the import status lists it imported", |s| {
        s.contains("EBS import") && s.contains("imported")
    });
    t.send(&["q"]);
    t.until("the demo exits", |s| !s.contains("EBS import"));
}
