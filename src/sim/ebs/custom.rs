//! The customer's custom PL/SQL services (package XXMLC_INTEGRATION_PKG): GL hand-off,
//! journals, AR transactions, request status, accounts, open periods, items (ledgers and
//! daily rates in `ledgers.rs`).

use super::requests;
use super::server::Ctx;
use super::wire::{Fault, fmt_date, output, output_error, parse_datetime, s, scalar, table};
use super::world::World;
use serde_json::{Map, Value};

fn param(p: &Map<String, Value>, k: &str) -> Option<String> {
    p.iter()
        .find(|(x, _)| x.eq_ignore_ascii_case(k))
        .and_then(|(_, v)| scalar(v))
}

fn param_i64(p: &Map<String, Value>, k: &str) -> Result<Option<i64>, Fault> {
    param(p, k)
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                Fault::exec(format!(
                    "ORA-06502: PL/SQL: numeric or value error: {k}={v:?}"
                ))
            })
        })
        .transpose()
}

/// The direct children of a concurrent request, as `get_request_status` and
/// `get_child_requests` both list them.
fn children_of(w: &World, id: i64) -> Vec<Value> {
    w.children
        .get(&id)
        .into_iter()
        .flatten()
        .filter_map(|c| w.requests.get(c))
        .filter(|c| c.parent == Some(id))
        .map(|c| Value::Object(requests::request_json(c, "")))
        .collect()
}

pub fn call(w: &mut World, op: &str, ctx: &Ctx, p: &Map<String, Value>) -> Result<Value, Fault> {
    if let Some(answer) = super::ledgers::call(w, op, p) {
        return answer;
    }
    if let Some(answer) = super::receipts::call(w, op, ctx, p) {
        return answer;
    }
    let mut out = Map::new();
    match op {
        "populate_interface_control" => {
            let Some(src) = param(p, "P_USER_JE_SOURCE_NAME") else {
                return Ok(output_error("P_USER_JE_SOURCE_NAME is required"));
            };
            let save = param(p, "P_PROCESSED_DATA_ACTION").as_deref() == Some("SAVE_DATA");
            match requests::populate_control(
                w,
                &src,
                param_i64(p, "P_LEDGER_ID")?,
                param_i64(p, "P_GROUP_ID")?,
                save,
            ) {
                Ok((g, r)) => {
                    out.insert("X_GROUP_ID".into(), s(g));
                    out.insert("X_INTERFACE_RUN_ID".into(), s(r));
                }
                Err(e) => return Ok(output_error(&e)),
            }
        }
        "get_journals_by_group" => {
            let Some(g) = param_i64(p, "P_GROUP_ID")? else {
                return Ok(output_error("P_GROUP_ID is required"));
            };
            let ledger = param_i64(p, "P_LEDGER_ID")?;
            let items: Vec<Value> = w
                .journals
                .in_group(g)
                .iter()
                .filter_map(|&pos| w.journals.get(pos))
                .filter(|j| j.group_id == Some(g) && ledger.is_none_or(|l| j.ledger_id == l))
                .map(super::gl::journal_item)
                .collect();
            out.insert("X_JOURNALS".into(), table("X_JOURNALS", items));
        }
        "get_journals_by_reference" => {
            let refs: Vec<(usize, String)> = (1..=5)
                .filter_map(|i| param(p, &format!("P_REFERENCE_{i}")).map(|v| (i - 1, v)))
                .collect();
            if refs.is_empty() {
                return Ok(output_error(
                    "at least one of P_REFERENCE_1..P_REFERENCE_5 is required",
                ));
            }
            let src = param(p, "P_USER_JE_SOURCE_NAME");
            let ledger = param_i64(p, "P_LEDGER_ID")?;
            let items: Vec<Value> = w
                .journals
                .with_references(&refs)
                .into_iter()
                .filter_map(|pos| w.journals.get(pos))
                .filter(|j| {
                    src.as_ref().is_none_or(|s| &j.source_user == s)
                        && ledger.is_none_or(|l| j.ledger_id == l)
                        && j.lines.iter().any(|l| {
                            refs.iter().all(|(i, v)| {
                                l.references.get(*i).and_then(Option::as_deref) == Some(v.as_str())
                            })
                        })
                })
                .map(super::gl::journal_item)
                .collect();
            out.insert("X_JOURNALS".into(), table("X_JOURNALS", items));
        }
        "get_transactions_by_request" => {
            let Some(id) = param_i64(p, "P_REQUEST_ID")? else {
                return Ok(output_error("P_REQUEST_ID is required"));
            };
            let mut ids = vec![id];
            ids.extend(w.children.get(&id).into_iter().flatten().copied());
            // Creation order across the request and its children.
            let mut positions: Vec<usize> = ids
                .iter()
                .flat_map(|r| w.trxs_by_request.get(r).into_iter().flatten().copied())
                .collect();
            positions.sort_unstable();
            positions.dedup();
            let items: Vec<Value> = positions
                .into_iter()
                .filter_map(|p| w.trxs.get(p))
                .filter(|t| ids.contains(&t.request_id))
                .map(super::ar::trx_item)
                .collect();
            out.insert("X_TRANSACTIONS".into(), table("X_TRANSACTIONS", items));
        }
        "get_request_status" => {
            let Some(id) = param_i64(p, "P_REQUEST_ID")? else {
                return Ok(output_error("P_REQUEST_ID is required"));
            };
            let Some(r) = w.requests.get(&id) else {
                return Ok(output_error(&format!("Request {id} not found")));
            };
            out = requests::request_json(r, "X_");
            out.insert("X_CHILDREN".into(), table("X_CHILDREN", children_of(w, id)));
        }
        "get_child_requests" => {
            let Some(id) = param_i64(p, "P_REQUEST_ID")? else {
                return Ok(output_error("P_REQUEST_ID is required"));
            };
            if !w.requests.contains_key(&id) {
                return Ok(output_error(&format!("Request {id} not found")));
            }
            out.insert("X_REQUESTS".into(), table("X_REQUESTS", children_of(w, id)));
        }
        "get_account" => {
            let acct = if let Some(ccid) = param_i64(p, "P_CODE_COMBINATION_ID")? {
                w.account_by_ccid(ccid).cloned()
            } else if let Some(c) = param(p, "P_CONCATENATED_SEGMENTS") {
                let delim = w.seed.chart.delimiter.clone();
                let norm = c.split(delim.as_str()).collect::<Vec<_>>().join("-");
                w.account_by_concat(&norm).cloned()
            } else {
                return Ok(output_error(
                    "P_CONCATENATED_SEGMENTS or P_CODE_COMBINATION_ID is required",
                ));
            };
            let today = w.now().date_naive();
            match acct {
                None => {
                    out.insert("X_EXISTS".into(), s("N"));
                    out.insert("X_VALID".into(), s("N"));
                    let segs: Vec<String> = param(p, "P_CONCATENATED_SEGMENTS")
                        .unwrap_or_default()
                        .split(w.seed.chart.delimiter.as_str())
                        .map(str::to_string)
                        .collect();
                    let why = match w.segments_valid(&segs) {
                        Err(e) => e,
                        Ok(()) => "combination does not exist and dynamic insertion is off".into(),
                    };
                    out.insert("X_VALIDATION_MESSAGE".into(), s(why));
                }
                Some(a) => {
                    out.insert("X_EXISTS".into(), s("Y"));
                    out.insert("X_CODE_COMBINATION_ID".into(), s(a.ccid));
                    out.insert("X_CONCATENATED_SEGMENTS".into(), s(&a.concatenated));
                    out.insert(
                        "X_ENABLED_FLAG".into(),
                        s(if a.enabled { "Y" } else { "N" }),
                    );
                    out.insert(
                        "X_DETAIL_POSTING_ALLOWED_FLAG".into(),
                        s(if a.detail_posting { "Y" } else { "N" }),
                    );
                    out.insert(
                        "X_START_DATE_ACTIVE".into(),
                        super::wire::opt(a.start_date.map(fmt_date)),
                    );
                    out.insert(
                        "X_END_DATE_ACTIVE".into(),
                        super::wire::opt(a.end_date.map(fmt_date)),
                    );
                    let usable = w.account_usable(&a, today);
                    out.insert("X_VALID".into(), s(if usable.is_ok() { "Y" } else { "N" }));
                    out.insert(
                        "X_VALIDATION_MESSAGE".into(),
                        s(match usable {
                            Ok(()) => "",
                            Err("EF03") => "EF03 account disabled",
                            Err("EF01") => "EF01 account not active today",
                            Err(_) => "EF02 detail posting not allowed",
                        }),
                    );
                }
            }
        }
        "get_open_periods" => {
            let Some(l) = param_i64(p, "P_LEDGER_ID")? else {
                return Ok(output_error("P_LEDGER_ID is required"));
            };
            let Some(ps) = w.periods.get(&l) else {
                return Ok(output_error(&format!("Invalid ledger id {l}")));
            };
            let items: Vec<Value> = ps
                .iter()
                .filter(|p| p.status == "O" || p.status == "F")
                .map(|p| {
                    serde_json::json!({
                        "PERIOD_NAME": p.name,
                        "START_DATE": fmt_date(p.start),
                        "END_DATE": fmt_date(p.end),
                        "CLOSING_STATUS": p.status,
                        "PERIOD_YEAR": p.year.to_string(),
                        "PERIOD_NUM": p.num.to_string(),
                    })
                })
                .collect();
            out.insert("X_PERIODS".into(), table("X_PERIODS", items));
        }
        "get_items" => {
            let org = param_i64(p, "P_ORGANIZATION_ID")?;
            let pl = param(p, "P_PRICE_LIST").unwrap_or_else(|| "AMAZON US".into());
            let since = match param(p, "P_UPDATED_SINCE") {
                None => None,
                Some(v) => Some(parse_datetime(&v).ok_or_else(|| {
                    Fault::exec(format!("ORA-01841: invalid date P_UPDATED_SINCE={v:?}"))
                })?),
            };
            let offset = param_i64(p, "P_OFFSET")?.unwrap_or(0).max(0) as usize;
            let limit = param_i64(p, "P_LIMIT")?.unwrap_or(100).clamp(0, 1000) as usize;
            let all: Vec<&super::seed::Item> = w
                .seed
                .items
                .iter()
                .filter(|i| {
                    org.is_none_or(|o| i.organization_id == o)
                        && i.price_list == pl
                        && since.is_none_or(|s| i.last_update_date >= s)
                })
                .collect();
            let total = all.len();
            let page: Vec<Value> = all
                .iter()
                .skip(offset)
                .take(limit)
                .map(|i| {
                    serde_json::json!({
                        "INVENTORY_ITEM_ID": i.inventory_item_id.to_string(),
                        "ORGANIZATION_ID": i.organization_id.to_string(),
                        "SEGMENT1": i.segment1,
                        "DESCRIPTION": i.description,
                        "PRIMARY_UOM_CODE": i.primary_uom_code,
                        "INVENTORY_ITEM_STATUS_CODE": i.status,
                        "PRICE_LIST": i.price_list,
                        "LIST_PRICE": i.list_price.to_string(),
                        "CURRENCY_CODE": i.currency,
                        "AVAILABLE_QUANTITY": i.available_quantity.to_string(),
                        "LAST_UPDATE_DATE": i.last_update_date.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    })
                })
                .collect();
            let more = offset + page.len() < total;
            out.insert("X_ITEMS".into(), table("X_ITEMS", page));
            out.insert("X_TOTAL_COUNT".into(), s(total));
            out.insert("X_HAS_MORE".into(), s(if more { "Y" } else { "N" }));
        }
        other => return Err(Fault::exec(format!("{other} is not implemented"))),
    }
    Ok(output(out))
}
