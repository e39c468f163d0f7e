//! Keys while a dialog is open: help, confirmations and the rule editor.

use crossterm::event::KeyEvent;

use super::confirm::{run_confirmed, toggle_override};
use super::mapping::preview;
use super::{context, set_message};
use crate::app::effect::Effect;
use crate::app::keymap::{Action, Key, lookup};
use crate::app::state::{ACCOUNT_FIELD, AppState, Dialog, MessageLevel};
use crate::ledger::mapping::AccountFormat;

pub(super) fn on_dialog_key(s: &mut AppState, key: Key, ev: KeyEvent, fx: &mut Vec<Effect>) {
    let ctx = context(s);
    let action = lookup(ctx, key);
    match s.dialog.take() {
        Some(Dialog::Help { scroll }) => match action {
            Some(Action::Cancel) => {}
            Some(Action::Down) => s.dialog = Some(Dialog::Help { scroll: scroll + 1 }),
            Some(Action::Up) => {
                s.dialog = Some(Dialog::Help {
                    scroll: scroll.saturating_sub(1),
                })
            }
            _ => s.dialog = Some(Dialog::Help { scroll }),
        },
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
