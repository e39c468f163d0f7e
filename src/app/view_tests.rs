//! Unit tests of the view models (kept apart: `view.rs` stays under 1,000 lines).

use super::*;

#[test]
fn draft_round_trips_to_the_same_mapping() {
    let m = Mapping::default_mapping();
    let back = MappingDraft::from_mapping(&m, Some(1))
        .to_mapping()
        .unwrap();
    assert_eq!(back.content_hash(), m.content_hash());
    assert_eq!(back.rules, {
        // lines differ (the draft is written afresh); everything else matches
        let mut r = m.rules.clone();
        for (a, b) in r.iter_mut().zip(&back.rules) {
            a.line = b.line;
        }
        r
    });
}

#[test]
fn draft_quotes_awkward_text() {
    let mut d = MappingDraft::from_mapping(&Mapping::default_mapping(), None);
    d.rules[0].label = "Sales \"EU\" \\ net".into();
    let m = d.to_mapping().unwrap();
    assert_eq!(m.rules[0].label, "Sales \"EU\" \\ net");
}

#[test]
fn draft_keeps_sku_and_ar_sections_on_save() {
    let mut text = crate::ledger::mapping::DEFAULT_MAPPING.to_string();
    text += "\n[ar]\nmemo_line = \"AMAZON MISC\"\n\n[[sku]]\nsku = \"SKU-1\"\nitem = \"ITEM-1\"\n\n[[sku]]\nsku = \"SKU-2\"\nitem = \"ITEM-2\"\nmarketplace = \"A2EUQ1WTGCTBG2\"\n";
    let m = Mapping::parse(&text).unwrap();
    assert_eq!(m.skus.len(), 2);
    let mut d = MappingDraft::from_mapping(&m, Some(1));
    let from = d.rules[0].account.clone();
    assert!(d.replace_account(&from, "01-000-4999-0000-000") >= 1);
    let back = d.to_mapping().unwrap();
    assert_eq!(back.ar_memo_line.as_deref(), Some("AMAZON MISC"));
    let skus: Vec<_> = back
        .skus
        .iter()
        .map(|k| (&k.sku, &k.item, &k.marketplace))
        .collect();
    let want: Vec<_> = m
        .skus
        .iter()
        .map(|k| (&k.sku, &k.item, &k.marketplace))
        .collect();
    assert_eq!(skus, want);
    assert!(back.rules.iter().all(|r| r.account != from));
}

#[test]
fn rule_changes_list_added_removed_and_changed_rules() {
    let before = Mapping::default_mapping();
    let mut d = MappingDraft::from_mapping(&before, None);
    let removed = d.rules.remove(1);
    let from = d.rules[0].account.clone();
    d.rules[0].account = "01-000-4999-0000-000".into();
    d.rules.push(MappingRuleView {
        transaction_type: Some("Order".into()),
        amount_description: Some("NewFee".into()),
        account: "01-000-6999-0000-000".into(),
        label: "New fee".into(),
        ..Default::default()
    });
    let after = d.to_mapping().unwrap();
    let c = rule_changes(Some(&before), &after);
    assert_eq!(c.len(), 3, "{c:?}");
    assert!(
        c.contains(&format!(
            "~ rule {}: account {from} → 01-000-4999-0000-000",
            d.rules[0].matches()
        )),
        "{c:?}"
    );
    assert!(
        c.contains(&format!(
            "- rule {} → {} ({})",
            removed.matches(),
            removed.account,
            removed.label
        )),
        "{c:?}"
    );
    assert!(
        c.contains(&"+ rule Order / * / NewFee / * → 01-000-6999-0000-000 (New fee)".to_string()),
        "{c:?}"
    );
    assert!(
        rule_changes(None, &before)
            .iter()
            .all(|l| l.starts_with("+ rule"))
    );
}

fn summary(id: &str, mp: &str, start: (u32, u32), end: (u32, u32)) -> SettlementSummaryView {
    SettlementSummaryView {
        settlement_id: id.into(),
        seller: "s".into(),
        marketplace: mp.into(),
        start: NaiveDate::from_ymd_opt(2025, start.0, start.1).unwrap(),
        end: NaiveDate::from_ymd_opt(2025, end.0, end.1).unwrap(),
        deposit_date: None,
        total: Decimal::ZERO,
        currency: Currency::new("USD"),
        status: BatchState::Proposed,
        gap_before: true,
        batches: 1,
        rows: 0,
        carried: Decimal::ZERO,
        reserve: Decimal::ZERO,
    }
}

#[test]
fn balances_sum_carried_and_reserve_rows() {
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let rows = [
        (
            "other-transaction",
            "Previous Reserve Amount Balance",
            d("812.40"),
        ),
        ("other-transaction", "Current Reserve Amount", d("-905.11")),
        ("Payable to Amazon", "", d("-412.55")),
        ("Order", "Principal", d("54.00")),
    ];
    let (carried, reserve) = SettlementSummaryView::balances(rows);
    assert_eq!((carried, reserve), (d("399.85"), d("-905.11")));
    let mut s = summary("1", "Amazon.com", (9, 1), (9, 15));
    s.total = d("-160.85");
    assert_eq!(s.deposited(), Decimal::ZERO);
}

#[test]
fn gaps_are_per_marketplace_chain() {
    let mut list = vec![
        summary("3", "Amazon.com", (9, 24), (10, 8)),
        summary("2", "Amazon.com", (9, 10), (9, 24)),
        summary("1", "Amazon.com", (8, 13), (8, 27)),
        summary("9", "Amazon.de", (9, 1), (9, 15)),
    ];
    SettlementSummaryView::mark_gaps(&mut list);
    let gaps: Vec<bool> = list.iter().map(|s| s.gap_before).collect();
    assert_eq!(gaps, vec![false, true, false, false]);
}
