//! The one table of key bindings: dispatch reads it, and so does the `?` help screen.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Where a binding applies. Screen contexts fall back to [`Context::Global`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Settlements,
    Review,
    Batches,
    Mapping,
    Audit,
    Confirm,
    RuleEditor,
    Search,
    Help,
}

impl Context {
    pub const ALL: [Context; 10] = [
        Context::Global,
        Context::Settlements,
        Context::Review,
        Context::Batches,
        Context::Mapping,
        Context::Audit,
        Context::Confirm,
        Context::RuleEditor,
        Context::Search,
        Context::Help,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Settlements => "Settlements",
            Context::Review => "Settlement review",
            Context::Batches => "EBS import status",
            Context::Mapping => "Mapping editor",
            Context::Audit => "Audit trail",
            Context::Confirm => "Confirmation",
            Context::RuleEditor => "Rule editor",
            Context::Search => "Search",
            Context::Help => "Help",
        }
    }

    /// Whether a context falls back to the global bindings.
    fn inherits_global(self) -> bool {
        matches!(
            self,
            Context::Settlements
                | Context::Review
                | Context::Batches
                | Context::Mapping
                | Context::Audit
        )
    }
}

/// A key as bindings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
}

impl Key {
    pub fn label(self) -> String {
        match self {
            Key::Char(' ') => "space".into(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("ctrl-{c}"),
            Key::Up => "↑".into(),
            Key::Down => "↓".into(),
            Key::Left => "←".into(),
            Key::Right => "→".into(),
            Key::PageUp => "pgup".into(),
            Key::PageDown => "pgdn".into(),
            Key::Home => "home".into(),
            Key::End => "end".into(),
            Key::Enter => "enter".into(),
            Key::Esc => "esc".into(),
            Key::Tab => "tab".into(),
            Key::BackTab => "shift-tab".into(),
            Key::Backspace => "backspace".into(),
            Key::Delete => "del".into(),
        }
    }

    /// The binding key of a terminal key event (releases ignored).
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        Some(match ev.code {
            KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
            KeyCode::Char(c) => Key::Char(c),
            KeyCode::Up => Key::Up,
            KeyCode::Down => Key::Down,
            KeyCode::Left => Key::Left,
            KeyCode::Right => Key::Right,
            KeyCode::PageUp => Key::PageUp,
            KeyCode::PageDown => Key::PageDown,
            KeyCode::Home => Key::Home,
            KeyCode::End => Key::End,
            KeyCode::Enter => Key::Enter,
            KeyCode::Esc => Key::Esc,
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => Key::BackTab,
            KeyCode::Tab => Key::Tab,
            KeyCode::BackTab => Key::BackTab,
            KeyCode::Backspace => Key::Backspace,
            KeyCode::Delete => Key::Delete,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    SyncNow,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    Enter,
    Back,
    Search,
    GoSettlements,
    GoReview,
    GoBatches,
    GoMapping,
    GoAudit,
    CycleFilter,
    PrevPeriod,
    NextPeriod,
    ToggleSelect,
    Approve,
    Unapprove,
    Post,
    Reverse,
    Archive,
    Export,
    ToggleScope,
    AddRule,
    EditRule,
    DeleteRule,
    ReplaceAccount,
    SaveMapping,
    DiscardDraft,
    Confirm,
    OverrideOrder,
    Cancel,
    NextField,
    PrevField,
    ToggleAp,
    SaveRule,
    AcceptSearch,
    CancelSearch,
}

pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    pub action: Action,
    pub help: &'static str,
}

const fn b(context: Context, keys: &'static [Key], action: Action, help: &'static str) -> Binding {
    Binding {
        context,
        keys,
        action,
        help,
    }
}

use Context as C;
use Key as K;

/// Every binding. Order is the help screen's order.
pub const BINDINGS: &[Binding] = &[
    b(
        C::Global,
        &[K::Char('q'), K::Ctrl('c')],
        Action::Quit,
        "quit",
    ),
    b(
        C::Global,
        &[K::Char('?')],
        Action::Help,
        "help: every binding",
    ),
    b(C::Global, &[K::Char('k'), K::Up], Action::Up, "move up"),
    b(
        C::Global,
        &[K::Char('j'), K::Down],
        Action::Down,
        "move down",
    ),
    b(
        C::Global,
        &[K::Ctrl('u'), K::PageUp],
        Action::PageUp,
        "page up",
    ),
    b(
        C::Global,
        &[K::Ctrl('d'), K::PageDown],
        Action::PageDown,
        "page down",
    ),
    b(C::Global, &[K::Char('g'), K::Home], Action::Top, "first"),
    b(C::Global, &[K::Char('G'), K::End], Action::Bottom, "last"),
    b(C::Global, &[K::Tab], Action::NextPane, "next pane"),
    b(C::Global, &[K::BackTab], Action::PrevPane, "previous pane"),
    b(C::Global, &[K::Enter], Action::Enter, "open / drill in"),
    b(C::Global, &[K::Esc], Action::Back, "back"),
    b(C::Global, &[K::Char('/')], Action::Search, "search"),
    b(
        C::Global,
        &[K::Char('1')],
        Action::GoSettlements,
        "settlements",
    ),
    b(
        C::Global,
        &[K::Char('2')],
        Action::GoReview,
        "review of the selected settlement",
    ),
    b(
        C::Global,
        &[K::Char('3')],
        Action::GoBatches,
        "EBS import status",
    ),
    b(
        C::Global,
        &[K::Char('4')],
        Action::GoMapping,
        "mapping editor",
    ),
    b(C::Global, &[K::Char('5')], Action::GoAudit, "audit trail"),
    b(
        C::Settlements,
        &[K::Char('f')],
        Action::CycleFilter,
        "filter by status",
    ),
    b(C::Settlements, &[K::Char('r')], Action::SyncNow, "sync now"),
    b(
        C::Settlements,
        &[K::Char(' ')],
        Action::ToggleSelect,
        "mark settlement",
    ),
    b(
        C::Settlements,
        &[K::Char('a')],
        Action::Approve,
        "approve marked (or current) settlements",
    ),
    b(
        C::Settlements,
        &[K::Char('p')],
        Action::Post,
        "post marked (or current) approved settlements",
    ),
    b(
        C::Review,
        &[K::Char('h'), K::Left, K::Char('[')],
        Action::PrevPeriod,
        "previous period",
    ),
    b(
        C::Review,
        &[K::Char('l'), K::Right, K::Char(']')],
        Action::NextPeriod,
        "next period",
    ),
    b(
        C::Review,
        &[K::Char(' ')],
        Action::ToggleSelect,
        "select period journal",
    ),
    b(
        C::Review,
        &[K::Char('a')],
        Action::Approve,
        "approve selected (or current) period",
    ),
    b(C::Review, &[K::Char('u')], Action::Unapprove, "unapprove"),
    b(C::Review, &[K::Char('r')], Action::SyncNow, "sync now"),
    b(
        C::Review,
        &[K::Char('x')],
        Action::Export,
        "export selected (or current) journal and its rows as CSV",
    ),
    b(
        C::Review,
        &[K::Char('p')],
        Action::Post,
        "post approved to EBS",
    ),
    b(
        C::Review,
        &[K::Char('R')],
        Action::Reverse,
        "reverse imported/posted period (confirm)",
    ),
    b(
        C::Batches,
        &[K::Char(' ')],
        Action::ToggleSelect,
        "select batch",
    ),
    b(
        C::Batches,
        &[K::Char('a')],
        Action::Approve,
        "approve (again, after a fix)",
    ),
    b(C::Batches, &[K::Char('u')], Action::Unapprove, "unapprove"),
    b(
        C::Batches,
        &[K::Char('p')],
        Action::Post,
        "post approved to EBS (vanished: re-post)",
    ),
    b(
        C::Batches,
        &[K::Char('R')],
        Action::Reverse,
        "reverse imported/posted batch (confirm)",
    ),
    b(
        C::Batches,
        &[K::Char('A')],
        Action::Archive,
        "archive vanished batch (confirm)",
    ),
    b(
        C::Batches,
        &[K::Char('r')],
        Action::SyncNow,
        "refresh (sync now)",
    ),
    b(
        C::Audit,
        &[K::Char('f')],
        Action::CycleFilter,
        "filter by action",
    ),
    b(
        C::Audit,
        &[K::Char('t')],
        Action::ToggleScope,
        "whole trail / the settlement's",
    ),
    b(C::Mapping, &[K::Char('n')], Action::AddRule, "add rule"),
    b(
        C::Mapping,
        &[K::Char('e')],
        Action::EditRule,
        "edit rule (also enter)",
    ),
    b(
        C::Mapping,
        &[K::Char('d'), K::Delete],
        Action::DeleteRule,
        "delete rule",
    ),
    b(
        C::Mapping,
        &[K::Char('A')],
        Action::ReplaceAccount,
        "replace the rule's account in every rule",
    ),
    b(
        C::Mapping,
        &[K::Char('w')],
        Action::SaveMapping,
        "save as new mapping version",
    ),
    b(
        C::Mapping,
        &[K::Char('x')],
        Action::DiscardDraft,
        "discard draft changes",
    ),
    b(C::Confirm, &[K::Char('y')], Action::Confirm, "confirm"),
    b(
        C::Confirm,
        &[K::Char('o')],
        Action::OverrideOrder,
        "post out of settlement order (audited)",
    ),
    b(
        C::Confirm,
        &[K::Char('n'), K::Esc],
        Action::Cancel,
        "cancel",
    ),
    b(
        C::RuleEditor,
        &[K::Tab, K::Down],
        Action::NextField,
        "next field",
    ),
    b(
        C::RuleEditor,
        &[K::BackTab, K::Up],
        Action::PrevField,
        "previous field",
    ),
    b(
        C::RuleEditor,
        &[K::Ctrl('p')],
        Action::ToggleAp,
        "toggle paid through Payables",
    ),
    b(
        C::RuleEditor,
        &[K::Enter, K::Ctrl('s')],
        Action::SaveRule,
        "keep rule in draft",
    ),
    b(C::RuleEditor, &[K::Esc], Action::Cancel, "cancel"),
    b(C::Search, &[K::Enter], Action::AcceptSearch, "keep filter"),
    b(C::Search, &[K::Esc], Action::CancelSearch, "clear filter"),
    b(
        C::Help,
        &[K::Char('?'), K::Esc, K::Char('q')],
        Action::Cancel,
        "close help",
    ),
    b(
        C::Help,
        &[K::Char('j'), K::Down],
        Action::Down,
        "scroll down",
    ),
    b(C::Help, &[K::Char('k'), K::Up], Action::Up, "scroll up"),
    b(
        C::Help,
        &[K::Ctrl('d'), K::PageDown],
        Action::PageDown,
        "scroll a page down",
    ),
    b(
        C::Help,
        &[K::Ctrl('u'), K::PageUp],
        Action::PageUp,
        "scroll a page up",
    ),
    b(
        C::Help,
        &[K::Char('g'), K::Home],
        Action::Top,
        "scroll to the top",
    ),
    b(
        C::Help,
        &[K::Char('G'), K::End],
        Action::Bottom,
        "scroll to the end",
    ),
];

/// What the mouse does (listed on the help screen after the keys).
pub const MOUSE: &[(&str, &str)] = &[
    ("click a tab", "go to that screen"),
    ("click a row", "select it and focus its pane"),
    ("click a pane", "focus it"),
    ("wheel", "move the selection of the pane under the pointer"),
    ("wheel in help", "scroll the help"),
];

/// How many lines the help screen has (it bounds scrolling): per context a
/// title and its bindings, blank lines between, then the mouse section.
pub fn help_len() -> usize {
    let mut n = 0;
    for ctx in Context::ALL {
        let k = BINDINGS.iter().filter(|b| b.context == ctx).count();
        if k > 0 {
            n += usize::from(n > 0) + 1 + k;
        }
    }
    n + 2 + MOUSE.len()
}

/// The action bound to `key` in `context` (screen contexts fall back to global).
pub fn lookup(context: Context, key: Key) -> Option<Action> {
    let find = |ctx: Context| {
        BINDINGS
            .iter()
            .find(|b| b.context == ctx && b.keys.contains(&key))
            .map(|b| b.action)
    };
    find(context).or_else(|| {
        if context.inherits_global() {
            find(Context::Global)
        } else {
            None
        }
    })
}

/// The keys of an action in a context, as the help and hint lines print them.
pub fn keys_for(context: Context, action: Action) -> Vec<String> {
    BINDINGS
        .iter()
        .filter(|b| b.context == context && b.action == action)
        .flat_map(|b| b.keys.iter().map(|k| k.label()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_bound_twice_in_one_context() {
        for ctx in Context::ALL {
            let keys: Vec<Key> = BINDINGS
                .iter()
                .filter(|b| b.context == ctx)
                .flat_map(|b| b.keys.iter().copied())
                .collect();
            for (i, k) in keys.iter().enumerate() {
                assert!(!keys[i + 1..].contains(k), "{k:?} twice in {ctx:?}");
            }
        }
    }

    #[test]
    fn screens_fall_back_to_global_but_dialogs_do_not() {
        assert_eq!(lookup(Context::Review, Key::Char('q')), Some(Action::Quit));
        assert_eq!(
            lookup(Context::Review, Key::Char('a')),
            Some(Action::Approve)
        );
        assert_eq!(lookup(Context::Confirm, Key::Char('q')), None);
        assert_eq!(
            lookup(Context::Confirm, Key::Char('y')),
            Some(Action::Confirm)
        );
    }

    #[test]
    fn letters_do_nothing_where_a_screen_does_not_use_them() {
        assert_eq!(lookup(Context::Audit, Key::Char('r')), None);
        assert_eq!(lookup(Context::Mapping, Key::Char('r')), None);
        assert_eq!(
            lookup(Context::Settlements, Key::Char('r')),
            Some(Action::SyncNow)
        );
        assert_eq!(lookup(Context::Help, Key::Char('G')), Some(Action::Bottom));
        // the help text has every line help_len counts: titles, bindings, mouse
        assert!(help_len() > BINDINGS.len() + MOUSE.len());
    }
}
