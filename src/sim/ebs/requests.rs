//! Concurrent requests (FND_CONCURRENT_REQUESTS): submission, the phase/status life cycle on
//! a timed or step scheduler, RAXMTR children, and scripted world events.

use super::world::{Control, Request, World};
use super::{ap, ar, gl};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// One phase/status move, reported by `/_sim/step`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Transition {
    pub request_id: String,
    pub program: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Step,
    Timed {
        now: DateTime<Utc>,
        t1: chrono::Duration,
        t2: chrono::Duration,
    },
}

pub const FORCED_ERROR_TEXT: &str =
    "ORA-01653: unable to extend table APPS.GL_JE_LINES by 128 in tablespace APPS_TS_TX_DATA";

pub struct Submit {
    pub program: &'static str,
    pub application: &'static str,
    pub args: Vec<Option<String>>,
    pub extra: BTreeMap<String, String>,
    pub user_id: i64,
    pub responsibility: String,
    pub standby: bool,
    pub forced_error: bool,
}

pub fn submit(w: &mut World, s: Submit, parent: Option<i64>, at: DateTime<Utc>) -> i64 {
    let id = w.nextval("FND_CONCURRENT_REQUESTS_S");
    w.requests.insert(
        id,
        Request {
            request_id: id,
            parent,
            program: s.program.to_string(),
            application: s.application.to_string(),
            args: s.args,
            extra: s.extra,
            phase: 'P',
            status: if s.standby { 'Q' } else { 'I' },
            requested_by: s.user_id,
            responsibility: s.responsibility,
            request_date: at,
            actual_start: None,
            actual_completion: None,
            completion_text: String::new(),
            forced_error: s.forced_error,
        },
    );
    w.unfinished.insert(id);
    if let Some(p) = parent {
        let kids = w.children.entry(p).or_default();
        let at = kids.partition_point(|&k| k < id);
        kids.insert(at, id);
    }
    id
}

/// Applies one transition to every movable request (step mode).
pub fn step(w: &mut World, warn_on_rejects: bool) -> Vec<Transition> {
    fire_time_events(w);
    // Completed requests never move again.
    let ids: Vec<i64> = w.unfinished.iter().copied().collect();
    ids.into_iter()
        .filter_map(|id| try_move(w, id, Mode::Step, warn_on_rejects))
        .collect()
}

/// Steps until nothing moves (Standby requests stay).
pub fn run_until_idle(w: &mut World, warn_on_rejects: bool) -> Vec<Transition> {
    let mut all = Vec::new();
    for _ in 0..10_000 {
        let t = step(w, warn_on_rejects);
        if t.is_empty() {
            break;
        }
        all.extend(t);
    }
    all
}

/// Timed scheduler: applies every transition that is due on the simulated clock.
pub fn tick(
    w: &mut World,
    t1: chrono::Duration,
    t2: chrono::Duration,
    warn: bool,
) -> Vec<Transition> {
    fire_time_events(w);
    let mut all = Vec::new();
    loop {
        let now = w.now();
        let ids: Vec<i64> = w.unfinished.iter().copied().collect();
        let moved: Vec<Transition> = ids
            .into_iter()
            .filter_map(|id| try_move(w, id, Mode::Timed { now, t1, t2 }, warn))
            .collect();
        if moved.is_empty() {
            break;
        }
        all.extend(moved);
    }
    all
}

fn ps(p: char, s: char) -> String {
    format!("{p}/{s}")
}

fn try_move(w: &mut World, id: i64, mode: Mode, warn: bool) -> Option<Transition> {
    if !w
        .requests
        .get(&id)
        .is_some_and(|r| matches!((r.phase, r.status), ('P', 'I') | ('R', 'R')))
    {
        return None;
    }
    let r = w.requests.get(&id)?.clone();
    let from = ps(r.phase, r.status);
    match (r.phase, r.status) {
        ('P', 'I') => {
            let at = match mode {
                Mode::Step => w.now(),
                Mode::Timed { now, t1, .. } => {
                    let due = r.request_date + t1;
                    if due > now {
                        return None;
                    }
                    due
                }
            };
            start(w, id, at);
        }
        ('R', 'R') => {
            if r.program == "RAXMTR" {
                let children: Vec<Request> = w
                    .children
                    .get(&id)
                    .into_iter()
                    .flatten()
                    .filter_map(|c| w.requests.get(c))
                    .filter(|c| c.parent == Some(id))
                    .cloned()
                    .collect();
                if children.iter().any(|c| c.phase != 'C') {
                    return None;
                }
                let at = match mode {
                    Mode::Step => w.now(),
                    Mode::Timed { .. } => children
                        .iter()
                        .filter_map(|c| c.actual_completion)
                        .max()
                        .unwrap_or_else(|| w.now()),
                };
                let (status, text) = if r.forced_error || children.iter().any(|c| c.status == 'E') {
                    (
                        'E',
                        "AutoInvoice Master: a child request ended in error".to_string(),
                    )
                } else {
                    (
                        'C',
                        format!(
                            "AutoInvoice Master: {} child request(s) completed",
                            children.len()
                        ),
                    )
                };
                complete(w, id, status, text, at);
            } else {
                let at = match mode {
                    Mode::Step => w.now(),
                    Mode::Timed { now, t1, t2 } => {
                        let due = r.actual_start.unwrap_or(r.request_date) + (t2 - t1);
                        if due > now {
                            return None;
                        }
                        due
                    }
                };
                let (status, text) = if r.forced_error {
                    ('E', FORCED_ERROR_TEXT.to_string())
                } else {
                    match r.program.as_str() {
                        "GLLEZL" => gl::run_gllezl(w, &r, warn),
                        "RAXTRX" => ar::run_raxtrx(w, &r),
                        "APXIIMPT" => ap::run_apxiimpt(w, &r),
                        other => ('E', format!("Unknown program {other}")),
                    }
                };
                complete(w, id, status, text, at);
            }
        }
        _ => return None,
    }
    let r = w.requests.get(&id)?;
    Some(Transition {
        request_id: id.to_string(),
        program: r.program.clone(),
        from,
        to: ps(r.phase, r.status),
    })
}

fn complete(w: &mut World, id: i64, status: char, text: String, at: DateTime<Utc>) {
    if let Some(r) = w.requests.get_mut(&id) {
        r.phase = 'C';
        r.status = status;
        r.completion_text = text;
        r.actual_completion = Some(at);
    }
    w.unfinished.remove(&id);
}

fn start(w: &mut World, id: i64, at: DateTime<Utc>) {
    let Some(r) = w.requests.get_mut(&id) else {
        return;
    };
    r.phase = 'R';
    r.status = 'R';
    r.actual_start = Some(at);
    let r = r.clone();
    match r.program.as_str() {
        "GLLEZL" => {
            let run_id = r.arg(1).and_then(|s| s.parse::<i64>().ok());
            let sources: Vec<String> = run_id
                .and_then(|r| w.controls.get(&r))
                .filter(|c| Some(c.run_id) == run_id)
                .map(|c| c.source_user.clone())
                .into_iter()
                .collect();
            let events: Vec<(usize, super::seed::WorldEvent)> = w
                .seed
                .world_events
                .iter()
                .cloned()
                .enumerate()
                .filter(|(_, e)| {
                    e.on == "journal_import_start"
                        && e.source.as_ref().is_some_and(|s| sources.contains(s))
                })
                .collect();
            for (i, e) in events {
                if !w.fired_events[i] {
                    w.fired_events[i] = true;
                    apply_event(w, &e);
                }
            }
        }
        "RAXMTR" => {
            let org = r.arg(2).and_then(|s| s.parse::<i64>().ok());
            let src_name = r.arg(4).map(str::to_string);
            let src_id = r.arg(3).and_then(|s| s.parse::<i64>().ok());
            let source = w.seed.ar.batch_sources.iter().find(|b| {
                Some(b.org_id) == org
                    && (src_name.as_deref() == Some(b.name.as_str())
                        || src_id == Some(b.batch_source_id))
            });
            let Some(source) = source.cloned() else {
                complete(
                    w,
                    id,
                    'E',
                    format!(
                        "AutoInvoice Master: invalid batch source {:?}/{:?} for organization {:?}",
                        r.arg(3),
                        r.arg(4),
                        r.arg(2)
                    ),
                    at,
                );
                return;
            };
            // RAXTRX: MAIN, T, source id, source name, default date, flexfield, type,
            // ranges 8..25 as the master's, call-from-master, due date flags, org.
            let mut args: Vec<Option<String>> = vec![
                Some("MAIN".into()),
                Some("T".into()),
                Some(source.batch_source_id.to_string()),
                Some(source.name.clone()),
                r.arg(5).map(str::to_string),
                r.arg(6).map(str::to_string),
                r.arg(7).map(str::to_string),
            ];
            for n in 8..=25 {
                args.push(r.arg(n).map(str::to_string));
            }
            args.push(Some("Y".into()));
            args.push(r.arg(26).map(str::to_string));
            args.push(r.arg(27).map(str::to_string));
            args.push(org.map(|o| o.to_string()));
            submit(
                w,
                Submit {
                    program: "RAXTRX",
                    application: "AR",
                    args,
                    extra: BTreeMap::new(),
                    user_id: r.requested_by,
                    responsibility: r.responsibility.clone(),
                    standby: false,
                    forced_error: r.forced_error,
                },
                Some(id),
                at,
            );
        }
        _ => {}
    }
}

/// Fires `on = "time"` events whose instant has passed on the simulated clock.
pub fn fire_time_events(w: &mut World) {
    let now = w.now();
    let due: Vec<(usize, super::seed::WorldEvent)> = w
        .seed
        .world_events
        .iter()
        .enumerate()
        .filter(|(i, e)| e.on == "time" && !w.fired_events[*i] && e.at.is_some_and(|a| a <= now))
        .map(|(i, e)| (i, e.clone()))
        .collect();
    for (i, e) in due {
        w.fired_events[i] = true;
        apply_event(w, &e);
    }
}

pub fn apply_event(w: &mut World, e: &super::seed::WorldEvent) {
    let account = e.account.clone().unwrap_or_default();
    match e.action.as_str() {
        "end_date_account" => {
            if let Some(a) = w.accounts.iter_mut().find(|a| a.concatenated == account) {
                a.end_date = e.end_date.or(Some(chrono::NaiveDate::MIN));
            }
        }
        "disable_account" => {
            if let Some(a) = w.accounts.iter_mut().find(|a| a.concatenated == account) {
                a.enabled = false;
            }
        }
        "close_period" | "open_period" => {
            let status = if e.action == "close_period" { "C" } else { "O" };
            if let (Some(l), Some(p)) = (e.ledger_id, e.period.as_deref()) {
                w.set_period_status(l, p, status);
            }
        }
        _ => {}
    }
}

/// The GL_INTERFACE_CONTROL hand-off (GL_JOURNAL_IMPORT_PKG.POPULATE_INTERFACE_CONTROL).
pub fn populate_control(
    w: &mut World,
    user_source: &str,
    ledger_id: Option<i64>,
    group_id: Option<i64>,
    save_data: bool,
) -> Result<(i64, i64), String> {
    if !w.seed.je_sources.iter().any(|s| s.user_name == user_source) {
        return Err(format!("Invalid journal source {user_source}"));
    }
    if let Some(l) = ledger_id
        && w.ledger(l).is_none()
    {
        return Err(format!("Invalid ledger id {l}"));
    }
    let group_id = match group_id {
        Some(g) => g,
        None => w.nextval("GL_INTERFACE_CONTROL_S"),
    };
    let run_id = w.nextval("GL_JOURNAL_IMPORT_S");
    w.controls.insert(
        run_id,
        Control {
            run_id,
            group_id: Some(group_id),
            source_user: user_source.to_string(),
            ledger_id,
            save_data,
        },
    );
    Ok((group_id, run_id))
}

pub fn phase_name(p: char) -> &'static str {
    match p {
        'P' => "Pending",
        'R' => "Running",
        'C' => "Completed",
        'I' => "Inactive",
        _ => "",
    }
}

pub fn dev_phase(p: char) -> &'static str {
    match p {
        'P' => "PENDING",
        'R' => "RUNNING",
        'C' => "COMPLETE",
        'I' => "INACTIVE",
        _ => "",
    }
}

pub fn status_name(s: char) -> &'static str {
    match s {
        'C' | 'I' | 'R' => "Normal",
        'E' => "Error",
        'G' => "Warning",
        'D' => "Cancelled",
        'Q' => "Standby",
        'X' => "Terminated",
        _ => "",
    }
}

pub fn dev_status(s: char) -> &'static str {
    match s {
        'C' | 'I' | 'R' => "NORMAL",
        'E' => "ERROR",
        'G' => "WARNING",
        'D' => "CANCELLED",
        'Q' => "STANDBY",
        'X' => "TERMINATED",
        _ => "",
    }
}

pub fn request_json(r: &Request, prefix: &str) -> serde_json::Map<String, serde_json::Value> {
    use super::wire::{fmt_dt, opt, s};
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        m.insert(format!("{prefix}{k}"), v);
    };
    put("REQUEST_ID", s(r.request_id));
    put("PROGRAM", s(&r.program));
    put("PHASE_CODE", s(r.phase));
    put("STATUS_CODE", s(r.status));
    put("PHASE", s(phase_name(r.phase)));
    put("STATUS", s(status_name(r.status)));
    put("DEV_PHASE", s(dev_phase(r.phase)));
    put("DEV_STATUS", s(dev_status(r.status)));
    put(
        if prefix.is_empty() {
            "COMPLETION_TEXT"
        } else {
            "MESSAGE"
        },
        s(&r.completion_text),
    );
    put("PARENT_REQUEST_ID", opt(r.parent));
    put("REQUEST_DATE", s(fmt_dt(r.request_date)));
    put("ACTUAL_START_DATE", opt(r.actual_start.map(fmt_dt)));
    put(
        "ACTUAL_COMPLETION_DATE",
        opt(r.actual_completion.map(fmt_dt)),
    );
    m
}
