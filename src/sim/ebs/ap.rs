//! Payables Open Interface Import (APXIIMPT): validates AP_INVOICES_INTERFACE headers and
//! lines like EBS; PROCESSED headers become invoices, REJECTED ones get rejection rows.

use super::world::{ApInvoice, Request, Row, World, col, col_date, col_dec, col_i64, set};
use rust_decimal::Decimal;

fn reject(w: &mut World, table: &str, parent: i64, invoice_id: i64, code: &str) {
    let mut r = Row::new();
    set(&mut r, "PARENT_TABLE", table);
    set(&mut r, "PARENT_ID", parent);
    set(&mut r, "REJECT_LOOKUP_CODE", code);
    set(&mut r, "INVOICE_ID", invoice_id);
    w.ap_rejections.push(r);
}

/// Runs APXIIMPT; returns its status code and completion text.
pub fn run_apxiimpt(w: &mut World, req: &Request) -> (char, String) {
    let org = req.arg(1).and_then(|s| s.parse::<i64>().ok());
    let Some(source) = req.arg(2).map(str::to_string) else {
        return (
            'E',
            "Payables Open Interface Import: source (argument 2) is required".into(),
        );
    };
    if !w.seed.ap.sources.contains(&source) {
        return (
            'E',
            format!("Payables Open Interface Import: invalid source {source}"),
        );
    }
    let group = req.arg(3).map(str::to_string);
    let arg_gl_date = req.arg(7).and_then(super::wire::parse_date);
    let purge = req.arg(8) == Some("Y");
    let today = w.now().date_naive();
    let picked: Vec<usize> = w
        .ap_headers
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            col(h, "SOURCE") == Some(source.as_str())
                && group
                    .as_deref()
                    .is_none_or(|g| col(h, "GROUP_ID") == Some(g))
                && org.is_none_or(|o| col_i64(h, "ORG_ID") == Some(o))
                && matches!(col(h, "STATUS"), None | Some("REJECTED"))
        })
        .map(|(i, _)| i)
        .collect();
    let (mut ok, mut bad) = (0usize, 0usize);
    let mut batch_nums: Vec<(i64, String)> = Vec::new();
    for i in picked {
        let h = w.ap_headers[i].clone();
        let invoice_id = col_i64(&h, "INVOICE_ID").unwrap_or(0);
        let line_ids: Vec<i64> = w
            .ap_lines
            .iter()
            .filter(|l| col_i64(l, "INVOICE_ID") == Some(invoice_id))
            .filter_map(|l| col_i64(l, "INVOICE_LINE_ID"))
            .collect();
        w.ap_rejections.retain(|r| {
            let pid = col_i64(r, "PARENT_ID");
            !(col(r, "PARENT_TABLE") == Some("AP_INVOICES_INTERFACE") && pid == Some(invoice_id)
                || col(r, "PARENT_TABLE") == Some("AP_INVOICE_LINES_INTERFACE")
                    && pid.is_some_and(|p| line_ids.contains(&p)))
        });
        let h_org = col_i64(&h, "ORG_ID").unwrap_or(0);
        let mut codes: Vec<&str> = Vec::new();
        // Supplier and site.
        let supplier = if let Some(id) = col_i64(&h, "VENDOR_ID") {
            Some(w.seed.ap.suppliers.iter().find(|s| s.vendor_id == id))
        } else if let Some(n) = col(&h, "VENDOR_NUM") {
            Some(w.seed.ap.suppliers.iter().find(|s| s.vendor_num == n))
        } else {
            col(&h, "VENDOR_NAME").map(|n| w.seed.ap.suppliers.iter().find(|s| s.vendor_name == n))
        };
        let supplier = match supplier {
            None => {
                codes.push("NO SUPPLIER");
                None
            }
            Some(None) => {
                codes.push("INVALID SUPPLIER");
                None
            }
            Some(Some(s)) => Some(s.clone()),
        };
        let mut site_id = 0;
        if let Some(s) = &supplier {
            let site = s.sites.iter().find(|x| {
                x.org_id == h_org
                    && (col_i64(&h, "VENDOR_SITE_ID") == Some(x.vendor_site_id)
                        || col(&h, "VENDOR_SITE_CODE") == Some(x.vendor_site_code.as_str()))
            });
            match site {
                Some(x) => site_id = x.vendor_site_id,
                None => codes.push("INVALID SUPPLIER SITE"),
            }
        }
        let num = col(&h, "INVOICE_NUM").unwrap_or("").to_string();
        if let Some(s) = &supplier
            && (w
                .invoices
                .iter()
                .any(|x| x.vendor_id == s.vendor_id && x.invoice_num == num)
                || batch_nums.contains(&(s.vendor_id, num.clone())))
        {
            codes.push("DUPLICATE INVOICE NUMBER");
        }
        let ledger = w.ou(h_org).and_then(|o| w.ledger(o.ledger_id)).cloned();
        let currency = col(&h, "INVOICE_CURRENCY_CODE")
            .map(str::to_string)
            .or(ledger.as_ref().map(|l| l.currency.clone()))
            .unwrap_or_default();
        if !w.currency_enabled(&currency) {
            codes.push("INVALID CURRENCY CODE");
        }
        let gl_date = col_date(&h, "GL_DATE")
            .or(arg_gl_date)
            .or(col_date(&h, "INVOICE_DATE"))
            .unwrap_or(today);
        let ledger_id = ledger.as_ref().map(|l| l.ledger_id).unwrap_or(0);
        if w.open_period(ledger_id, gl_date).is_none() {
            codes.push("ACCT DATE NOT IN OPEN PD");
        }
        let amount = col_dec(&h, "INVOICE_AMOUNT").unwrap_or_default();
        if amount.scale() > 2 && amount.normalize().scale() > 2 {
            codes.push("AMOUNT EXCEEDS PRECISION");
        }
        let lines: Vec<Row> = w
            .ap_lines
            .iter()
            .filter(|l| col_i64(l, "INVOICE_ID") == Some(invoice_id))
            .cloned()
            .collect();
        if lines.is_empty() {
            codes.push("NO INVOICE LINES");
        } else {
            let total: Decimal = lines.iter().filter_map(|l| col_dec(l, "AMOUNT")).sum();
            if total != amount {
                codes.push("INVALID INVOICE AMOUNT");
            }
        }
        let mut line_codes: Vec<(i64, &str)> = Vec::new();
        let mut seen_nums = Vec::new();
        for l in &lines {
            let lid = col_i64(l, "INVOICE_LINE_ID").unwrap_or(0);
            if let Some(n) = col_i64(l, "LINE_NUMBER") {
                if seen_nums.contains(&n) {
                    line_codes.push((lid, "DUPLICATE LINE NUMBER"));
                }
                seen_nums.push(n);
            }
            let date = col_date(l, "ACCOUNTING_DATE").unwrap_or(gl_date);
            let acct = if let Some(ccid) = col_i64(l, "DIST_CODE_COMBINATION_ID") {
                Some(w.account_by_ccid(ccid).cloned())
            } else {
                col(l, "DIST_CODE_CONCATENATED").map(|c| w.account_by_concat(c).cloned())
            };
            match acct {
                None => line_codes.push((lid, "ACCOUNT REQUIRED")),
                Some(None) => line_codes.push((lid, "INVALID DISTRIBUTION ACCT")),
                Some(Some(a)) if w.account_usable(&a, date).is_err() => {
                    line_codes.push((lid, "INVALID DISTRIBUTION ACCT"))
                }
                _ => {}
            }
            if col_date(l, "ACCOUNTING_DATE").is_some() && w.open_period(ledger_id, date).is_none()
            {
                line_codes.push((lid, "ACCT DATE NOT IN OPEN PD"));
            }
            if col_dec(l, "AMOUNT").is_some_and(|a| a.normalize().scale() > 2) {
                line_codes.push((lid, "LINE AMOUNT EXCEEDS PRECISION"));
            }
        }
        set(&mut w.ap_headers[i], "REQUEST_ID", req.request_id);
        if codes.is_empty() && line_codes.is_empty() {
            let s = supplier.as_ref().map(|s| s.vendor_id).unwrap_or(0);
            batch_nums.push((s, num.clone()));
            let id = w.nextval("AP_INVOICES_S");
            w.invoices.push(ApInvoice {
                invoice_id: id,
                invoice_num: num,
                vendor_id: s,
                vendor_site_id: site_id,
                amount,
                currency,
                org_id: h_org,
                gl_date,
                source: source.clone(),
                request_id: req.request_id,
                line_count: lines.len(),
            });
            set(&mut w.ap_headers[i], "STATUS", "PROCESSED");
            ok += 1;
        } else {
            for c in codes {
                reject(w, "AP_INVOICES_INTERFACE", invoice_id, invoice_id, c);
            }
            for (lid, c) in line_codes {
                reject(w, "AP_INVOICE_LINES_INTERFACE", lid, invoice_id, c);
            }
            set(&mut w.ap_headers[i], "STATUS", "REJECTED");
            bad += 1;
        }
    }
    if purge {
        let done: Vec<i64> = w
            .ap_headers
            .iter()
            .filter(|h| col(h, "STATUS") == Some("PROCESSED"))
            .filter_map(|h| col_i64(h, "INVOICE_ID"))
            .collect();
        w.ap_headers
            .retain(|h| col(h, "STATUS") != Some("PROCESSED"));
        w.ap_lines
            .retain(|l| !col_i64(l, "INVOICE_ID").is_some_and(|id| done.contains(&id)));
    }
    (
        'C',
        format!("Payables Open Interface Import: {ok} invoice(s) processed, {bad} rejected"),
    )
}
