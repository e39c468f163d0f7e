//! The mapping editor: rule add / edit / delete, the preview request and saving.

use std::collections::BTreeSet;

use super::set_message;
use crate::app::effect::Effect;
use crate::app::state::{
    AppState, Confirm, ConfirmAction, Dialog, Drill, MessageLevel, RuleEditor,
};
use crate::app::view::MappingRuleView;
use crate::ledger::mapping::AccountFormat;

/// Asks for the proposal diff of the current draft (or lists its problems).
pub(super) fn preview(s: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(draft) = s.mapping.draft.clone() else {
        return;
    };
    match draft.to_mapping() {
        Ok(m) => {
            s.mapping.problems.clear();
            s.mapping.pending_hash = Some(m.content_hash().to_string());
            if s.mapping.draft == s.mapping.saved {
                s.mapping.diff.clear();
                s.mapping.newly_mapped.clear();
                s.mapping.newly_unmapped.clear();
                s.mapping.diff_hash = s.mapping.pending_hash.clone();
            } else {
                fx.push(Effect::PreviewMapping(draft));
            }
        }
        Err(e) => {
            s.mapping.problems = e.problems.iter().map(|p| p.to_string()).collect();
        }
    }
}

pub(super) fn add_rule(s: &mut AppState) {
    if s.mapping.draft.is_none() {
        set_message(s, MessageLevel::Info, "mapping not loaded yet".into());
        return;
    }
    // prefill from an unmapped group of the settlement under review
    let mut rule = MappingRuleView::default();
    if let Some(d) = &s.detail {
        let picked = match s.review.drill {
            Drill::Groups => s.selected_group().filter(|g| g.unmapped),
            _ => None,
        }
        .or_else(|| d.groups.iter().find(|g| g.unmapped));
        if let Some(g) = picked {
            rule.transaction_type = Some(g.transaction_type.clone());
            rule.amount_type = Some(g.amount_type.clone());
            rule.amount_description = Some(g.amount_description.clone());
        }
    }
    s.dialog = Some(Dialog::RuleEditor(Box::new(RuleEditor::new(None, &rule))));
}

pub(super) fn edit_rule(s: &mut AppState, fx: &mut Vec<Effect>) {
    let i = s.mapping.cursor.selected;
    if let Some(rule) = s.mapping.draft.as_ref().and_then(|d| d.rules.get(i)) {
        let editor = RuleEditor::new(Some(i), rule);
        s.dialog = Some(Dialog::RuleEditor(Box::new(editor)));
        // an existing rule's account is asked about at once (not only when typed)
        ask_account(s, fx);
    }
}

/// Asks EBS about the account in the open rule editor, unless an answer is kept.
pub(super) fn ask_account(s: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(Dialog::RuleEditor(ed)) = &s.dialog else {
        return;
    };
    let account = ed.account();
    if AccountFormat::default().validate(&account).is_ok()
        && !s.account_checks.contains_key(&account)
        && !fx.contains(&Effect::ValidateAccount(account.clone()))
    {
        fx.push(Effect::ValidateAccount(account));
    }
}

/// Forgets EBS's account answers (`accounts`: only these; `None`: all) and asks again
/// about the one in an open rule editor.
pub(crate) fn forget_account_checks(
    s: &mut AppState,
    accounts: Option<&[String]>,
    fx: &mut Vec<Effect>,
) {
    match accounts {
        None => {
            s.account_checks.clear();
            s.account_checked_at.clear();
        }
        Some(list) => {
            for a in list {
                s.account_checks.remove(a);
                s.account_checked_at.remove(a);
            }
        }
    }
    ask_account(s, fx);
}

/// Opens the dialog replacing the selected rule's account in every rule of the draft.
pub(super) fn replace_account(s: &mut AppState, fx: &mut Vec<Effect>) {
    let i = s.mapping.cursor.selected;
    if let Some(rule) = s.mapping.draft.as_ref().and_then(|d| d.rules.get(i)) {
        let editor = RuleEditor::replacing(&rule.account);
        s.dialog = Some(Dialog::RuleEditor(Box::new(editor)));
        ask_account(s, fx);
    }
}

pub(super) fn delete_rule(s: &mut AppState) {
    let i = s.mapping.cursor.selected;
    let Some(rule) = s.mapping.draft.as_ref().and_then(|d| d.rules.get(i)) else {
        return;
    };
    let any = |f: &Option<String>| f.clone().unwrap_or_else(|| "*".into());
    let facts = vec![
        (
            "Matches".into(),
            format!(
                "{} / {} / {} / {}",
                any(&rule.transaction_type),
                any(&rule.amount_type),
                any(&rule.amount_description),
                any(&rule.marketplace)
            ),
        ),
        ("Account".into(), format!("{} {}", rule.account, rule.label)),
        (
            "Effect".into(),
            "removed from the draft; nothing is stored until you save (w)".into(),
        ),
    ];
    s.dialog = Some(Dialog::Confirm(Confirm {
        title: format!("Delete rule {}?", i + 1),
        action: ConfirmAction::DeleteRule(i),
        facts,
        irreversible: false,
        blocked: None,
        waiting: Vec::new(),
        override_order: false,
    }));
}

pub(super) fn save_mapping(s: &mut AppState) {
    if !s.mapping.dirty() {
        set_message(
            s,
            MessageLevel::Info,
            "the mapping has no unsaved changes".into(),
        );
        return;
    }
    if !s.mapping.problems.is_empty() {
        set_message(
            s,
            MessageLevel::Error,
            format!("fix the draft first: {}", s.mapping.problems.join("; ")),
        );
        return;
    }
    let m = &s.mapping;
    let from = m
        .saved
        .as_ref()
        .and_then(|d| d.version)
        .map_or("none".to_string(), |v| v.to_string());
    let settlements: BTreeSet<&str> = m.diff.iter().map(|c| c.settlement_id.as_str()).collect();
    let mut facts = vec![
        ("Version".into(), format!("{from} → new version")),
        (
            "Rules".into(),
            m.draft.as_ref().map_or(0, |d| d.rules.len()).to_string(),
        ),
        (
            "Changes".into(),
            if m.diff_hash == m.pending_hash && m.diff_hash.is_some() {
                format!(
                    "{} journal line(s) in {} settlement(s)",
                    m.diff.len(),
                    settlements.len()
                )
            } else {
                "preview pending".into()
            },
        ),
        (
            "Effect".into(),
            "batches not yet staged (and rejected or reversed ones) are proposed again; their approvals lapse"
                .into(),
        ),
    ];
    if !m.newly_mapped.is_empty() {
        facts.push(("Fully mapped".into(), m.newly_mapped.join(", ")));
    }
    if !m.newly_unmapped.is_empty() {
        facts.push(("Newly unmapped".into(), m.newly_unmapped.join(", ")));
    }
    s.dialog = Some(Dialog::Confirm(Confirm {
        title: "Save the mapping as a new version?".into(),
        action: ConfirmAction::SaveMapping,
        facts,
        irreversible: false,
        blocked: None,
        waiting: Vec::new(),
        override_order: false,
    }));
}
