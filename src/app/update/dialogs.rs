//! Keys while a dialog is open: help, confirmations and the rule editor.

use crossterm::event::KeyEvent;

use super::confirm::{run_confirmed, toggle_override};
use super::mapping::preview;
use super::{context, set_message};
use crate::app::effect::Effect;
use crate::app::keymap::{Action, Key, help_len, lookup};
use crate::app::state::{ACCOUNT_FIELD, AppState, Dialog, MessageLevel};
use crate::ledger::mapping::AccountFormat;

pub(super) fn on_dialog_key(s: &mut AppState, key: Key, ev: KeyEvent, fx: &mut Vec<Effect>) {
    let ctx = context(s);
    let action = lookup(ctx, key);
    match s.dialog.take() {
        Some(Dialog::Help { scroll }) => {
            let page = help_page(s) as isize;
            let delta = match action {
                Some(Action::Cancel) => return,
                Some(Action::Down) => 1,
                Some(Action::Up) => -1,
                Some(Action::PageDown) => page,
                Some(Action::PageUp) => -page,
                Some(Action::Top) => isize::MIN / 2,
                Some(Action::Bottom) => isize::MAX / 2,
                _ => 0,
            };
            s.dialog = Some(Dialog::Help {
                scroll: scroll_help(s, scroll, delta),
            });
        }
        Some(Dialog::Confirm(c)) => match action {
            Some(Action::Cancel) => set_message(s, MessageLevel::Info, "cancelled".into()),
            _ if c.blocked.is_some() => {
                if key == Key::Char('y') || key == Key::Enter {
                    let why = c.blocked.clone().unwrap_or_default();
                    set_message(s, MessageLevel::Error, why);
                }
                s.dialog = Some(Dialog::Confirm(c));
            }
            Some(Action::Confirm) => run_confirmed(s, c, fx),
            Some(Action::OverrideOrder) => {
                let mut c = c;
                toggle_override(&mut c);
                s.dialog = Some(Dialog::Confirm(c));
            }
            // Enter confirms only what can be undone; posting needs `y`
            _ if key == Key::Enter && !c.irreversible => run_confirmed(s, c, fx),
            _ => s.dialog = Some(Dialog::Confirm(c)),
        },
        Some(Dialog::RuleEditor(mut ed)) => match action {
            Some(Action::Cancel) => {}
            // replacing an account: the account is the only field
            Some(Action::NextField | Action::PrevField | Action::ToggleAp)
                if ed.replace.is_some() =>
            {
                s.dialog = Some(Dialog::RuleEditor(ed));
            }
            Some(Action::NextField) => {
                ed.focus = (ed.focus + 1) % ed.fields.len();
                ed.refocus();
                s.dialog = Some(Dialog::RuleEditor(ed));
            }
            Some(Action::PrevField) => {
                ed.focus = (ed.focus + ed.fields.len() - 1) % ed.fields.len();
                ed.refocus();
                s.dialog = Some(Dialog::RuleEditor(ed));
            }
            Some(Action::ToggleAp) => {
                ed.ap = !ed.ap;
                s.dialog = Some(Dialog::RuleEditor(ed));
            }
            Some(Action::SaveRule) => {
                let rule = ed.rule();
                if let Err(e) = AccountFormat::default().validate(&rule.account) {
                    ed.error = Some(e);
                    ed.focus = ACCOUNT_FIELD;
                    ed.refocus();
                    s.dialog = Some(Dialog::RuleEditor(ed));
                    return;
                }
                if let Some(from) = &ed.replace {
                    let n = s
                        .mapping
                        .draft
                        .as_mut()
                        .map_or(0, |d| d.replace_account(from, &rule.account));
                    let msg = format!("{from} → {}: {n} rule(s) changed", rule.account);
                    set_message(s, MessageLevel::Info, msg);
                    preview(s, fx);
                    return;
                }
                if let Some(d) = &mut s.mapping.draft {
                    match ed.index {
                        Some(i) if i < d.rules.len() => d.rules[i] = rule,
                        _ => {
                            d.rules.push(rule);
                            s.mapping.cursor.selected = d.rules.len() - 1;
                        }
                    }
                }
                preview(s, fx);
            }
            _ => {
                let before = ed.account();
                ed.fields[ed.focus].input(ev);
                ed.error = None;
                let account = ed.account();
                if ed.focus == ACCOUNT_FIELD
                    && account != before
                    && AccountFormat::default().validate(&account).is_ok()
                    && !s.account_checks.contains_key(&account)
                {
                    fx.push(Effect::ValidateAccount(account));
                }
                s.dialog = Some(Dialog::RuleEditor(ed));
            }
        },
        None => {}
    }
}

/// Rows of help text the help dialog shows at the current terminal size.
fn help_page(s: &AppState) -> usize {
    // the dialog is two rows shorter than the terminal, and has a border
    (s.size.1.saturating_sub(2) as usize)
        .saturating_sub(2)
        .max(1)
}

/// The help scroll moved by `delta`, kept where the last line stays in view.
pub(super) fn scroll_help(s: &AppState, scroll: u16, delta: isize) -> u16 {
    let max = help_len().saturating_sub(help_page(s)) as isize;
    (scroll as isize).saturating_add(delta).clamp(0, max) as u16
}
