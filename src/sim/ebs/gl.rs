//! Journal Import (GLLEZL): validates GL_INTERFACE groups like EBS and turns clean groups
//! into unposted journals; rejected rows keep their error code in STATUS.

use super::table::RowId;
use super::world::{JeHeader, JeLine, Request, Row, World, col, col_date, col_dec, col_i64};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn describe(code: &str) -> &'static str {
    match code {
        "EM03" => "Invalid ledger id (or not in the data access set)",
        "EM01" => "Invalid journal entry category",
        "EM04" => "The value in ACTUAL_FLAG must be A (actuals), B (budgets) or E (encumbrances)",
        "EP01" => "This date is not in any open or future enterable period",
        "EP02" => "This ledger does not have any open or future enterable periods",
        "EC08" => "Invalid currency code",
        "EF05" => "There is no account with this code combination id",
        "EF04" => {
            "This is an invalid account. Check your cross-validation rules and segment values"
        }
        "EF03" => "Disabled account",
        "EF01" => "This account is disabled for this accounting date",
        "EF02" => "Detail posting not allowed for this account",
        "EC11" => "Invalid conversion type",
        "EC03" => "A conversion type must be entered or accounted amounts supplied",
        "EC01" => "A conversion rate must be entered when using the User conversion rate type",
        "EC02" => "A conversion date must be entered",
        "EC06" => {
            "There is no conversion rate for this currency, conversion type and conversion date"
        }
        "EC12" => "Entered and accounted amounts must be equal for ledger currency lines",
        "EC13" => "Amount too large",
        "EU02" => "This journal entry is unbalanced and suspense posting is not allowed",
        "WU01" => "Warning: journal unbalanced; a suspense line was added",
        "WF02" => "Warning: suspense account used instead of the original account",
        "P" => "Not imported: another row of this group has an error",
        _ => "Error",
    }
}

struct Prepared {
    idx: RowId,
    ledger_id: i64,
    period: String,
    ccid: i64,
    account: String,
    entered_dr: Option<Decimal>,
    entered_cr: Option<Decimal>,
    acc_dr: Option<Decimal>,
    acc_cr: Option<Decimal>,
    code: Option<&'static str>,
    warning: Option<&'static str>,
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// Outcome of a GLLEZL run: status code and completion text.
pub fn run_gllezl(w: &mut World, req: &Request, warn_on_rejects: bool) -> (char, String) {
    let Some(run_id) = req.arg(1).and_then(|s| s.trim().parse::<i64>().ok()) else {
        return (
            'E',
            "Journal Import: interface run id (argument 1) missing".into(),
        );
    };
    let controls: Vec<_> = w.controls.get(&run_id).cloned().into_iter().collect();
    if controls.is_empty() {
        return (
            'E',
            format!("Journal Import: no GL_INTERFACE_CONTROL row for interface run id {run_id}"),
        );
    }
    let access = req
        .arg(2)
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|id| {
            w.seed
                .access_sets
                .iter()
                .find(|a| a.access_set_id == id)
                .cloned()
        });
    let Some(access) = access else {
        return (
            'E',
            format!(
                "Journal Import: invalid data access set id {:?}",
                req.arg(2)
            ),
        );
    };
    w.controls.remove(&run_id);
    let suspense = req.arg(3) == Some("Y");
    let from = req.arg(4).and_then(super::wire::parse_date);
    let to = req.arg(5).and_then(super::wire::parse_date);
    let mut created = 0usize;
    let mut rejected = 0usize;
    for c in controls {
        // The group's rows through the GROUP_ID index; the test below decides.
        let pool: Vec<RowId> = match c
            .group_id
            .and_then(|g| w.gl_interface.candidates("GROUP_ID", &g.to_string()))
        {
            Some(ids) => ids,
            None => w.gl_interface.iter().map(|(id, _)| id).collect(),
        };
        let idxs: Vec<RowId> = pool
            .into_iter()
            .filter(|&id| {
                let Some(r) = w.gl_interface.get(id) else {
                    return false;
                };
                col(r, "STATUS") == Some("NEW")
                    && col(r, "USER_JE_SOURCE_NAME") == Some(c.source_user.as_str())
                    && col_i64(r, "GROUP_ID") == c.group_id
                    && c.ledger_id
                        .is_none_or(|l| col_i64(r, "LEDGER_ID") == Some(l))
                    && col_date(r, "ACCOUNTING_DATE")
                        .is_some_and(|d| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t))
            })
            .collect();
        if idxs.is_empty() {
            continue;
        }
        match import_group(w, req, &access.ledger_ids, suspense, &idxs, &c) {
            Ok(n) => created += n,
            Err(n) => rejected += n,
        }
    }
    let text = format!(
        "Journal Import completed: {created} journal(s) created, {rejected} row(s) rejected"
    );
    if rejected > 0 && warn_on_rejects {
        ('G', text)
    } else {
        ('C', text)
    }
}

fn import_group(
    w: &mut World,
    req: &Request,
    access_ledgers: &[i64],
    suspense: bool,
    idxs: &[RowId],
    control: &super::world::Control,
) -> Result<usize, usize> {
    let mut prepared: Vec<Prepared> = Vec::new();
    for &i in idxs {
        let row = w.gl_interface[i].clone();
        prepared.push(validate_row(w, &row, i, access_ledgers, suspense));
    }
    // Journals: one per (ledger, period, category, currency, conversion, REFERENCE4/5/6).
    let mut journals: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
    for (k, p) in prepared.iter().enumerate() {
        let r = &w.gl_interface[p.idx];
        let key: Vec<String> = [p.ledger_id.to_string(), p.period.clone()]
            .into_iter()
            .chain(
                [
                    "USER_JE_CATEGORY_NAME",
                    "CURRENCY_CODE",
                    "USER_CURRENCY_CONVERSION_TYPE",
                    "CURRENCY_CONVERSION_DATE",
                    "CURRENCY_CONVERSION_RATE",
                    "REFERENCE4",
                    "REFERENCE5",
                    "REFERENCE6",
                ]
                .iter()
                .map(|c| col(r, c).unwrap_or("").to_string()),
            )
            .collect();
        journals.entry(key).or_default().push(k);
    }
    // Balance per journal (entered and accounted); a group already rejected by row errors
    // is not checked further.
    let mut suspense_lines: Vec<(Vec<String>, Decimal, Decimal)> = Vec::new();
    let row_errors = prepared.iter().any(|p| p.code.is_some());
    for (key, members) in journals.iter().filter(|_| !row_errors) {
        let sum = |f: fn(&Prepared) -> Option<Decimal>| -> Decimal {
            members.iter().filter_map(|&m| f(&prepared[m])).sum()
        };
        let ent = sum(|p| p.entered_dr) - sum(|p| p.entered_cr);
        let acc = sum(|p| p.acc_dr) - sum(|p| p.acc_cr);
        if ent.is_zero() && acc.is_zero() {
            continue;
        }
        let ledger_ok = prepared
            .get(members[0])
            .and_then(|p| w.ledger(p.ledger_id))
            .is_some_and(|l| l.suspense_allowed && l.suspense_account.is_some());
        if suspense && ledger_ok {
            for &m in members {
                prepared[m].warning.get_or_insert("WU01");
            }
            suspense_lines.push((key.clone(), ent, acc));
        } else {
            for &m in members {
                prepared[m].code.get_or_insert("EU02");
            }
        }
    }
    let now = w.now();
    if prepared.iter().any(|p| p.code.is_some()) {
        let n = prepared.len();
        for p in &prepared {
            let t = &mut w.gl_interface;
            let code = p.code.unwrap_or("P");
            t.set(p.idx, "STATUS", code);
            t.set(
                p.idx,
                "STATUS_DESCRIPTION",
                format!("{code} - {}", describe(code)),
            );
            t.set(p.idx, "REQUEST_ID", req.request_id);
        }
        return Err(n);
    }
    // Clean group: batches per (ledger, period), journals as grouped.
    let mut batch_ids: BTreeMap<(i64, String), (i64, String)> = BTreeMap::new();
    let mut names_in_batch: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut count = 0;
    for (key, members) in &journals {
        let first = &prepared[members[0]];
        let r0 = w.gl_interface[first.idx].clone();
        let source = control.source_user.clone();
        let bkey = (first.ledger_id, first.period.clone());
        let (batch_id, batch_name) = match batch_ids.get(&bkey) {
            Some(b) => b.clone(),
            None => {
                let id = w.nextval("GL_JE_BATCHES_S");
                let prefix: String = col(&r0, "REFERENCE1")
                    .map(|s| format!("{} ", s.chars().take(50).collect::<String>()))
                    .unwrap_or_default();
                let gid = control
                    .group_id
                    .map(|g| format!(" {g}"))
                    .unwrap_or_default();
                let name = format!("{prefix}{source} {}: A{gid}", req.request_id);
                batch_ids.insert(bkey, (id, name.clone()));
                (id, name)
            }
        };
        let category = col(&r0, "USER_JE_CATEGORY_NAME").unwrap_or("").to_string();
        let currency = col(&r0, "CURRENCY_CODE").unwrap_or("").to_string();
        let base = col(&r0, "REFERENCE4")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{category} {currency}"));
        let used = names_in_batch.entry(batch_id).or_default();
        let mut name = base.clone();
        let mut n = 2;
        while used.contains(&name) {
            name = format!("{base} {n}");
            n += 1;
        }
        used.push(name.clone());
        let mut lines = Vec::new();
        for (ln, &m) in members.iter().enumerate() {
            let p = &prepared[m];
            let r = &w.gl_interface[p.idx];
            lines.push(JeLine {
                line_num: (ln as i64 + 1) * 10,
                ccid: p.ccid,
                account: p.account.clone(),
                entered_dr: p.entered_dr,
                entered_cr: p.entered_cr,
                accounted_dr: p.acc_dr,
                accounted_cr: p.acc_cr,
                description: col(r, "REFERENCE10").map(str::to_string),
                references: (21..=30)
                    .map(|i| col(r, &format!("REFERENCE{i}")).map(str::to_string))
                    .collect(),
            });
        }
        if let Some((_, ent, acc)) = suspense_lines.iter().find(|(k, _, _)| k == key) {
            let susp = w
                .ledger(first.ledger_id)
                .and_then(|l| l.suspense_account.clone())
                .unwrap_or_default();
            let ccid = w.account_by_concat(&susp).map(|a| a.ccid).unwrap_or(0);
            let (dr, cr, adr, acr) = if ent.is_sign_negative() || acc.is_sign_negative() {
                (Some(-*ent), None, Some(-*acc), None)
            } else {
                (None, Some(*ent), None, Some(*acc))
            };
            lines.push(JeLine {
                line_num: (lines.len() as i64 + 1) * 10,
                ccid,
                account: susp,
                entered_dr: dr,
                entered_cr: cr,
                accounted_dr: adr,
                accounted_cr: acr,
                description: Some("Suspense".into()),
                references: vec![None; 10],
            });
        }
        let id = w.nextval("GL_JE_HEADERS_S");
        w.journals.push(JeHeader {
            je_header_id: id,
            je_batch_id: batch_id,
            batch_name,
            name,
            ledger_id: first.ledger_id,
            period_name: first.period.clone(),
            currency,
            source_user: source,
            category_user: category,
            status: "U".into(),
            group_id: control.group_id,
            request_id: req.request_id,
            external_reference: col(&r0, "REFERENCE6").map(str::to_string),
            lines,
        });
        count += 1;
    }
    let _ = now;
    let mut idx_sorted: Vec<RowId> = prepared.iter().map(|p| p.idx).collect();
    idx_sorted.sort_unstable();
    for i in idx_sorted {
        if control.save_data {
            w.gl_interface.set(i, "STATUS", "PROCESSED");
            w.gl_interface.set(i, "REQUEST_ID", req.request_id);
        } else {
            w.gl_interface.remove(i);
        }
    }
    Ok(count)
}

fn validate_row(
    w: &mut World,
    r: &Row,
    idx: RowId,
    access_ledgers: &[i64],
    suspense: bool,
) -> Prepared {
    let mut p = Prepared {
        idx,
        ledger_id: col_i64(r, "LEDGER_ID")
            .or_else(|| col_i64(r, "SET_OF_BOOKS_ID"))
            .unwrap_or(0),
        period: String::new(),
        ccid: 0,
        account: String::new(),
        entered_dr: col_dec(r, "ENTERED_DR"),
        entered_cr: col_dec(r, "ENTERED_CR"),
        acc_dr: None,
        acc_cr: None,
        code: None,
        warning: None,
    };
    let Some(ledger) = w.ledger(p.ledger_id).cloned() else {
        p.code = Some("EM03");
        return p;
    };
    if !access_ledgers.contains(&p.ledger_id) {
        p.code = Some("EM03");
        return p;
    }
    if !matches!(col(r, "ACTUAL_FLAG"), Some("A" | "B" | "E")) {
        p.code = Some("EM04");
        return p;
    }
    let category = col(r, "USER_JE_CATEGORY_NAME").unwrap_or("");
    if !w.seed.gl.categories.iter().any(|c| c == category) {
        p.code = Some("EM01");
        return p;
    }
    let date = col_date(r, "ACCOUNTING_DATE").unwrap_or_default();
    match w.open_period(p.ledger_id, date) {
        Some(per) if col(r, "PERIOD_NAME").is_none_or(|n| n == per.name) => {
            p.period = per.name.clone();
        }
        _ => {
            let any_open = w
                .periods
                .get(&p.ledger_id)
                .is_some_and(|ps| ps.iter().any(|x| x.status == "O" || x.status == "F"));
            p.code = Some(if any_open { "EP01" } else { "EP02" });
            return p;
        }
    }
    let currency = col(r, "CURRENCY_CODE").unwrap_or("").to_string();
    if !w.currency_enabled(&currency) {
        p.code = Some("EC08");
        return p;
    }
    // Account.
    let account_result: Result<i64, &'static str> =
        if let Some(ccid) = col_i64(r, "CODE_COMBINATION_ID") {
            w.account_by_ccid(ccid).map(|a| a.ccid).ok_or("EF05")
        } else {
            let n = w.seed.chart.segments.len();
            let segs: Vec<String> = (1..=n)
                .map(|i| col(r, &format!("SEGMENT{i}")).unwrap_or("").to_string())
                .collect();
            if segs.iter().any(String::is_empty) {
                Err("EF04")
            } else {
                w.resolve_segments(&segs).map_err(|_| "EF04")
            }
        };
    let account_result = account_result.and_then(|ccid| {
        let a = w.account_by_ccid(ccid).cloned().ok_or("EF05")?;
        w.account_usable(&a, date).map(|_| a)
    });
    match account_result {
        Ok(a) => {
            p.ccid = a.ccid;
            p.account = a.concatenated;
        }
        Err(code) => {
            let susp = ledger
                .suspense_account
                .as_deref()
                .and_then(|s| w.account_by_concat(s))
                .cloned();
            match susp {
                Some(s) if suspense && ledger.suspense_allowed => {
                    p.ccid = s.ccid;
                    p.account = s.concatenated;
                    p.warning = Some("WF02");
                }
                _ => {
                    p.code = Some(code);
                    return p;
                }
            }
        }
    }
    // Currency conversion.
    let given_acc_dr = col_dec(r, "ACCOUNTED_DR");
    let given_acc_cr = col_dec(r, "ACCOUNTED_CR");
    if currency == ledger.currency {
        if (given_acc_dr.is_some() && given_acc_dr != p.entered_dr)
            || (given_acc_cr.is_some() && given_acc_cr != p.entered_cr)
        {
            p.code = Some("EC12");
            return p;
        }
        p.acc_dr = p.entered_dr;
        p.acc_cr = p.entered_cr;
        return p;
    }
    let ctype = col(r, "USER_CURRENCY_CONVERSION_TYPE");
    if let Some(t) = ctype
        && !w.conversion_type_known(t)
    {
        p.code = Some("EC11");
        return p;
    }
    let Some(ctype) = ctype else {
        if given_acc_dr.is_some() || given_acc_cr.is_some() {
            p.acc_dr = given_acc_dr;
            p.acc_cr = given_acc_cr;
        } else {
            p.code = Some("EC03");
        }
        return p;
    };
    let rate = if ctype.eq_ignore_ascii_case("User") {
        match col_dec(r, "CURRENCY_CONVERSION_RATE") {
            Some(rate) => rate,
            None => {
                p.code = Some("EC01");
                return p;
            }
        }
    } else {
        let Some(cdate) = col_date(r, "CURRENCY_CONVERSION_DATE") else {
            p.code = Some("EC02");
            return p;
        };
        match w.daily_rate(&currency, &ledger.currency, ctype, cdate) {
            Some(rate) => rate,
            None => {
                p.code = Some("EC06");
                return p;
            }
        }
    };
    let convert = |d: Option<Decimal>| -> Result<Option<Decimal>, ()> {
        d.map(|d| {
            d.checked_mul(rate)
                .map(round2)
                .filter(|a| a.abs() < Decimal::from(1_000_000_000_000_000i64))
                .ok_or(())
        })
        .transpose()
    };
    match (convert(p.entered_dr), convert(p.entered_cr)) {
        (Ok(dr), Ok(cr)) => {
            p.acc_dr = given_acc_dr.or(dr);
            p.acc_cr = given_acc_cr.or(cr);
        }
        _ => p.code = Some("EC13"),
    }

    p
}

/// JSON for one journal in the custom-service (`X_JOURNALS_ITEM`) form.
pub fn journal_item(j: &JeHeader) -> serde_json::Value {
    use super::wire::{opt, s, table};
    let tot = |f: fn(&JeLine) -> Option<Decimal>| -> String {
        j.lines.iter().filter_map(f).sum::<Decimal>().to_string()
    };
    let lines: Vec<serde_json::Value> = j
        .lines
        .iter()
        .map(|l| {
            let mut m = serde_json::Map::new();
            m.insert("JE_LINE_NUM".into(), s(l.line_num));
            m.insert("CODE_COMBINATION_ID".into(), s(l.ccid));
            m.insert("ACCOUNT".into(), s(&l.account));
            m.insert("ENTERED_DR".into(), opt(l.entered_dr));
            m.insert("ENTERED_CR".into(), opt(l.entered_cr));
            m.insert("ACCOUNTED_DR".into(), opt(l.accounted_dr));
            m.insert("ACCOUNTED_CR".into(), opt(l.accounted_cr));
            m.insert("DESCRIPTION".into(), opt(l.description.as_ref()));
            for (i, r) in l.references.iter().enumerate() {
                m.insert(format!("REFERENCE_{}", i + 1), opt(r.as_ref()));
            }
            serde_json::Value::Object(m)
        })
        .collect();
    serde_json::json!({
        "JE_BATCH_ID": s(j.je_batch_id),
        "BATCH_NAME": s(&j.batch_name),
        "BATCH_STATUS": s(&j.status),
        "JE_HEADER_ID": s(j.je_header_id),
        "JOURNAL_NAME": s(&j.name),
        "LEDGER_ID": s(j.ledger_id),
        "PERIOD_NAME": s(&j.period_name),
        "CURRENCY_CODE": s(&j.currency),
        "USER_JE_SOURCE_NAME": s(&j.source_user),
        "USER_JE_CATEGORY_NAME": s(&j.category_user),
        "STATUS": s(&j.status),
        "GROUP_ID": opt(j.group_id),
        "REQUEST_ID": s(j.request_id),
        "EXTERNAL_REFERENCE": opt(j.external_reference.as_ref()),
        "RUNNING_TOTAL_DR": s(tot(|l| l.entered_dr)),
        "RUNNING_TOTAL_CR": s(tot(|l| l.entered_cr)),
        "RUNNING_TOTAL_ACCOUNTED_DR": s(tot(|l| l.accounted_dr)),
        "RUNNING_TOTAL_ACCOUNTED_CR": s(tot(|l| l.accounted_cr)),
        "LINES": table("LINES", lines),
    })
}

/// The stable `/_sim/gl/journals` form.
pub fn journal_contract(j: &JeHeader) -> serde_json::Value {
    let lines: Vec<serde_json::Value> = j
        .lines
        .iter()
        .map(|l| {
            let r = |i: usize| l.references.get(i).cloned().flatten();
            serde_json::json!({
                "account": l.account,
                "entered_dr": l.entered_dr.map(|d| d.to_string()),
                "entered_cr": l.entered_cr.map(|d| d.to_string()),
                "accounted_dr": l.accounted_dr.map(|d| d.to_string()),
                "accounted_cr": l.accounted_cr.map(|d| d.to_string()),
                "description": l.description,
                "reference_1": r(0),
                "reference_2": r(1),
                "reference_3": r(2),
                "reference_4": r(3),
                "reference_5": r(4),
            })
        })
        .collect();
    serde_json::json!({
        "group_id": j.group_id.map(|g| g.to_string()),
        "ledger_id": j.ledger_id.to_string(),
        "period_name": j.period_name,
        "currency": j.currency,
        "je_source": j.source_user,
        "je_category": j.category_user,
        "batch_name": j.batch_name,
        "journal_name": j.name,
        "status": j.status,
        "lines": lines,
    })
}
