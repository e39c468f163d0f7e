//! The application state: owned by the UI task alone, changed only by `update`.

use chrono::{DateTime, Utc};
use ratatui_textarea::TextArea;
use std::collections::{BTreeSet, HashMap};

use super::effect::Approval;
use super::view::{
    AccountCheck, ApprovalRefusal, AuditEntryView, BatchHistoryView, BatchKey, BatchView,
    MappingDraft, MappingRuleView, ProposalChange, RowGroup, SettlementDetail,
    SettlementSummaryView, SyncProgressView,
};
use crate::ledger::state::BatchState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Settlements,
    Review,
    Batches,
    Mapping,
    Audit,
}

impl Screen {
    pub const ALL: [Screen; 5] = [
        Screen::Settlements,
        Screen::Review,
        Screen::Batches,
        Screen::Mapping,
        Screen::Audit,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Settlements => "Settlements",
            Screen::Review => "Review",
            Screen::Batches => "EBS import",
            Screen::Mapping => "Mapping",
            Screen::Audit => "Audit",
        }
    }
}

/// A selection in a list and the first visible item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub selected: usize,
    pub offset: usize,
}

impl Cursor {
    pub fn move_by(&mut self, delta: isize, len: usize) {
        if len == 0 {
            self.selected = 0;
            return;
        }
        let next = self.selected as isize + delta;
        self.selected = next.clamp(0, len as isize - 1) as usize;
    }

    pub fn set(&mut self, i: usize, len: usize) {
        self.selected = i.min(len.saturating_sub(1));
    }

    /// Keeps the selection inside a window of `height` rows.
    pub fn fit(&mut self, height: usize, len: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }

    /// The visible index range of a list of `len` items in `height` rows.
    pub fn window(&self, height: usize, len: usize) -> std::ops::Range<usize> {
        let start = self.offset.min(len);
        start..(start + height).min(len)
    }
}

/// Which settlements the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    All,
    /// Needs a person: proposed, needs mapping, inconsistent, rejected, vanished.
    NeedsAction,
    /// In EBS's hands: approved, staged, submitted.
    InFlight,
    /// Imported into GL but not posted there yet.
    Imported,
    /// Posted in GL, reversed or archived.
    Posted,
}

impl StatusFilter {
    pub fn next(self) -> StatusFilter {
        match self {
            StatusFilter::All => StatusFilter::NeedsAction,
            StatusFilter::NeedsAction => StatusFilter::InFlight,
            StatusFilter::InFlight => StatusFilter::Imported,
            StatusFilter::Imported => StatusFilter::Posted,
            StatusFilter::Posted => StatusFilter::All,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::NeedsAction => "needs action",
            StatusFilter::InFlight => "in flight",
            StatusFilter::Imported => "imported (unposted)",
            StatusFilter::Posted => "posted",
        }
    }

    pub fn admits(self, s: BatchState) -> bool {
        use BatchState::*;
        match self {
            StatusFilter::All => true,
            StatusFilter::NeedsAction => matches!(
                s,
                Proposed | NeedsMapping | NeedsRate | Inconsistent | Rejected | Vanished
            ),
            StatusFilter::InFlight => matches!(s, Approved | Staged | Submitted),
            StatusFilter::Imported => s == Imported,
            StatusFilter::Posted => matches!(s, Posted | Reversed | Archived),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Typing into the search line.
    pub editing: bool,
    pub query: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReviewPane {
    #[default]
    Rows,
    Journal,
}

/// How deep the left pane of the review is drilled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Drill {
    #[default]
    Groups,
    /// The rows of one group.
    Rows { group: usize },
    /// Every row of one order (reached from a row).
    Order {
        group: usize,
        order_id: String,
        rows: Vec<u32>,
    },
    /// The rows behind one journal line (reached from the journal pane; its
    /// cursor is `order`'s).
    Line { line: usize, rows: Vec<u32> },
}

#[derive(Debug, Clone, Default)]
pub struct ReviewState {
    pub pane: ReviewPane,
    pub drill: Drill,
    pub groups: Cursor,
    pub rows: Cursor,
    pub order: Cursor,
    /// Index into the proposal's journals.
    pub period: usize,
    pub lines: Cursor,
    /// Periods picked with space for approve / post.
    pub selected: BTreeSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchPane {
    #[default]
    List,
    Errors,
}

#[derive(Debug, Clone, Default)]
pub struct BatchesState {
    pub all: Vec<BatchView>,
    /// Indexes of `all` passing the search.
    pub visible: Vec<usize>,
    pub cursor: Cursor,
    pub pane: BatchPane,
    pub errors: Cursor,
    pub selected: BTreeSet<BatchKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MappingPane {
    #[default]
    Rules,
    Diff,
}

#[derive(Debug, Clone, Default)]
pub struct MappingState {
    /// The stored version (as loaded).
    pub saved: Option<MappingDraft>,
    /// What is being edited; equal to `saved` when nothing changed.
    pub draft: Option<MappingDraft>,
    pub cursor: Cursor,
    pub pane: MappingPane,
    pub diff: Vec<ProposalChange>,
    pub diff_cursor: Cursor,
    pub newly_mapped: Vec<String>,
    pub newly_unmapped: Vec<String>,
    /// The draft hash the shown diff belongs to.
    pub diff_hash: Option<String>,
    /// The draft hash a preview was asked for (a diff for another is stale).
    pub pending_hash: Option<String>,
    /// Problems of the draft as a mapping file.
    pub problems: Vec<String>,
}

impl MappingState {
    pub fn dirty(&self) -> bool {
        self.draft.is_some() && self.draft != self.saved
    }
}

#[derive(Debug, Clone, Default)]
pub struct AuditState {
    pub settlement_id: Option<String>,
    pub entries: Vec<AuditEntryView>,
    /// Indexes of `entries` passing the action filter and the search.
    pub visible: Vec<usize>,
    pub cursor: Cursor,
    /// Only entries of this action (`f` cycles through those present).
    pub action: Option<String>,
    /// The entry under the cursor is shown whole (`enter`).
    pub open: bool,
    /// The settlement `t` returns to from the whole trail.
    pub last_settlement: Option<String>,
}

impl AuditState {
    pub fn selected(&self) -> Option<&AuditEntryView> {
        self.visible
            .get(self.cursor.selected)
            .and_then(|i| self.entries.get(*i))
    }
}

/// What a confirmation dialog will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmAction {
    Approve(Vec<Approval>),
    Unapprove(Vec<BatchKey>),
    Post(Vec<BatchKey>),
    DeleteRule(usize),
    SaveMapping,
    /// Send the reversing journal dated in `into` (the period shown).
    Reverse {
        key: BatchKey,
        into: Option<String>,
    },
    /// Archive a vanished batch instead of re-posting it.
    Archive(BatchKey),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    pub action: ConfirmAction,
    /// (label, value) lines: exactly what will happen.
    pub facts: Vec<(String, String)>,
    /// Cannot be undone from here (shown as a warning).
    pub irreversible: bool,
    /// Why it cannot be confirmed (maker-checker): shown, and `y` is refused.
    pub blocked: Option<String>,
    /// Post only: settlements that wait for their previous settlement (settlement order).
    pub waiting: Vec<String>,
    /// Post only: `o` pressed: post them anyway (audited as the accountant's override).
    pub override_order: bool,
}

/// The rule editor's text fields, in tab order.
pub const RULE_FIELDS: [&str; 6] = [
    "transaction type",
    "amount type",
    "description",
    "marketplace",
    "account",
    "label",
];
pub const ACCOUNT_FIELD: usize = 4;

#[derive(Debug, Clone)]
pub struct RuleEditor {
    /// The rule being edited; `None` adds one.
    pub index: Option<usize>,
    pub fields: Vec<TextArea<'static>>,
    pub focus: usize,
    pub ap: bool,
    pub error: Option<String>,
    /// Set: the dialog replaces this account in every rule (only the account is typed).
    pub replace: Option<String>,
}

fn field(value: Option<&str>, placeholder: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![value.unwrap_or("").to_string()]);
    t.set_placeholder_text(placeholder);
    t.set_cursor_line_style(ratatui::style::Style::default());
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t
}

impl RuleEditor {
    pub fn new(index: Option<usize>, rule: &MappingRuleView) -> RuleEditor {
        let mut editor = RuleEditor {
            index,
            fields: vec![
                field(rule.transaction_type.as_deref(), "* (any)"),
                field(rule.amount_type.as_deref(), "* (any)"),
                field(rule.amount_description.as_deref(), "* (any)"),
                field(rule.marketplace.as_deref(), "* (any)"),
                field(Some(&rule.account), "01-000-0000-0000-000"),
                field(Some(&rule.label), "label (default: the account)"),
            ],
            focus: 0,
            ap: rule.ap,
            error: None,
            replace: None,
        };
        editor.refocus();
        editor
    }

    /// The dialog replacing `account` in every rule: only the account field is used.
    pub fn replacing(account: &str) -> RuleEditor {
        let rule = MappingRuleView {
            account: account.to_string(),
            ..Default::default()
        };
        let mut editor = RuleEditor::new(None, &rule);
        editor.focus = ACCOUNT_FIELD;
        editor.replace = Some(account.to_string());
        editor.refocus();
        editor
    }

    /// Shows the cursor only in the focused field.
    pub fn refocus(&mut self) {
        use ratatui::style::{Modifier, Style};
        for (i, f) in self.fields.iter_mut().enumerate() {
            f.set_cursor_style(if i == self.focus {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default()
            });
        }
    }

    pub fn text(&self, i: usize) -> String {
        self.fields[i].lines().join("").trim().to_string()
    }

    pub fn account(&self) -> String {
        self.text(ACCOUNT_FIELD)
    }

    /// The rule as typed (`*` or empty = any).
    pub fn rule(&self) -> MappingRuleView {
        let opt = |i: usize| {
            let t = self.text(i);
            (!t.is_empty() && t != "*").then_some(t)
        };
        let account = self.account();
        let label = opt(5).unwrap_or_else(|| account.clone());
        MappingRuleView {
            transaction_type: opt(0),
            amount_type: opt(1),
            amount_description: opt(2),
            marketplace: opt(3),
            account,
            label,
            ap: self.ap,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Dialog {
    Help { scroll: u16 },
    Confirm(Confirm),
    RuleEditor(Box<RuleEditor>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageLevel {
    Info,
    Error,
}

#[derive(Debug, Clone, Default)]
pub struct StatusBar {
    pub progress: Option<SyncProgressView>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub message: Option<(MessageLevel, String)>,
    /// When the message was set (info messages fade after a while).
    pub message_at: Option<DateTime<Utc>>,
}

/// How long an info message stays in the status bar.
pub const INFO_SECONDS: i64 = 15;

#[derive(Debug, Clone)]
pub struct AppState {
    /// Who approves and posts (recorded with every approval).
    pub actor: String,
    pub size: (u16, u16),
    pub no_color: bool,
    pub screen: Screen,
    pub settlements: Vec<SettlementSummaryView>,
    /// Indexes of `settlements` passing filter and search, in display order.
    pub visible: Vec<usize>,
    pub list: Cursor,
    pub filter: StatusFilter,
    pub search: Search,
    pub loading_detail: Option<String>,
    pub detail: Option<Box<SettlementDetail>>,
    pub review: ReviewState,
    pub batches: BatchesState,
    pub mapping: MappingState,
    pub account_checks: HashMap<String, AccountCheck>,
    /// When each account answer arrived (shown as its age; forgotten on `r`, a mapping save,
    /// or a rejection naming the account).
    pub account_checked_at: HashMap<String, DateTime<Utc>>,
    /// Settlements marked with space in the settlements list (approve / post act on all).
    pub marked: BTreeSet<String>,
    pub audit: AuditState,
    /// Whether the actor may approve a batch, as the sync layer answered.
    pub approvers: HashMap<BatchKey, Result<(), ApprovalRefusal>>,
    /// Batches whose approver check was asked and not yet answered.
    pub asked_approver: BTreeSet<BatchKey>,
    /// Reversed batches: the posted revision and how the current proposal differs from it.
    pub posted_diffs: HashMap<BatchKey, (u32, Vec<ProposalChange>)>,
    pub asked_posted_diff: BTreeSet<BatchKey>,
    /// Histories of batches (vanished ones), as loaded.
    pub histories: HashMap<BatchKey, BatchHistoryView>,
    pub asked_history: BTreeSet<BatchKey>,
    /// The batch whose reversal plan was asked for (its answer opens the confirmation).
    pub reversal_pending: Option<BatchKey>,
    /// Orders' data as loaded (`None`: not pulled from Amazon).
    pub orders: HashMap<String, Option<super::view::OrderView>>,
    pub dialog: Option<Dialog>,
    pub status: StatusBar,
    pub now: Option<DateTime<Utc>>,
    pub quit: bool,
}

impl AppState {
    /// An empty workstation for `actor` on a terminal of `size` (columns, rows).
    pub fn new(actor: impl Into<String>, size: (u16, u16)) -> AppState {
        AppState {
            actor: actor.into(),
            size,
            no_color: false,
            screen: Screen::Settlements,
            settlements: Vec::new(),
            visible: Vec::new(),
            list: Cursor::default(),
            filter: StatusFilter::All,
            search: Search::default(),
            loading_detail: None,
            detail: None,
            review: ReviewState::default(),
            batches: BatchesState::default(),
            mapping: MappingState::default(),
            account_checks: HashMap::new(),
            account_checked_at: HashMap::new(),
            marked: BTreeSet::new(),
            audit: AuditState::default(),
            approvers: HashMap::new(),
            asked_approver: BTreeSet::new(),
            posted_diffs: HashMap::new(),
            asked_posted_diff: BTreeSet::new(),
            histories: HashMap::new(),
            asked_history: BTreeSet::new(),
            reversal_pending: None,
            orders: HashMap::new(),
            dialog: None,
            status: StatusBar::default(),
            now: None,
            quit: false,
        }
    }

    /// Honours the `NO_COLOR` convention (any non-empty value).
    pub fn with_no_color(mut self, no_color: bool) -> AppState {
        self.no_color = no_color;
        self
    }

    /// `NO_COLOR` as set in the environment.
    pub fn no_color_from_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    /// The effects to run at start-up.
    pub fn initial_effects() -> Vec<super::effect::Effect> {
        use super::effect::Effect;
        vec![
            Effect::LoadSettlements,
            Effect::LoadBatches,
            Effect::LoadMapping,
        ]
    }

    /// The settlement under the list cursor.
    pub fn selected_settlement(&self) -> Option<&SettlementSummaryView> {
        self.visible
            .get(self.list.selected)
            .and_then(|i| self.settlements.get(*i))
    }

    /// The group under the review's group cursor (of the selected period).
    pub fn selected_group(&self) -> Option<&RowGroup> {
        let d = self.detail.as_ref()?;
        let shown = d.shown_groups(self.review.period);
        let pg = shown.get(self.review.groups.selected)?;
        d.groups.get(pg.group)
    }

    pub fn selected_batch(&self) -> Option<&BatchView> {
        self.batches
            .visible
            .get(self.batches.cursor.selected)
            .and_then(|i| self.batches.all.get(*i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_keeps_the_selection_in_view() {
        let mut c = Cursor::default();
        c.move_by(25, 100);
        c.fit(10, 100);
        assert_eq!((c.selected, c.offset), (25, 16));
        assert_eq!(c.window(10, 100), 16..26);
        c.move_by(-20, 100);
        c.fit(10, 100);
        assert_eq!((c.selected, c.offset), (5, 5));
        c.move_by(isize::MAX / 2, 100);
        c.fit(10, 100);
        assert_eq!((c.selected, c.offset), (99, 90));
        // the list shrinks under the cursor
        c.fit(10, 3);
        assert_eq!((c.selected, c.offset), (2, 0));
        c.move_by(1, 0);
        assert_eq!(c.selected, 0);
    }
}
