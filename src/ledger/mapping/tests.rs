//! Unit tests of mapping parsing, validation and matching.
use super::*;

const BASE: &str = "[accounts]\nclearing = \"01-000-1190-0000-000\"\n";

fn mapping(rules: &str) -> Mapping {
    Mapping::parse(&format!("{BASE}{rules}")).unwrap()
}

#[test]
fn no_rules_is_valid() {
    let m = mapping("");
    assert!(m.rules.is_empty());
    assert_eq!(m.suspense, None);
    assert_eq!(m.best_rule("Order", "ItemPrice", "Principal", ""), None);
}

#[test]
fn most_fields_wins_and_ties_go_to_first() {
    let m = mapping(
        r#"
[[rules]]
transaction_type = "Order"
account = "01-000-4000-0000-000"
label = "any order"
[[rules]]
transaction_type = "Order"
amount_type = "ItemPrice"
account = "01-000-4001-0000-000"
label = "order item price A"
[[rules]]
amount_type = "ItemPrice"
transaction_type = "order"
account = "01-000-4001-0000-000"
label = "order item price B (tie, later; another account would be a conflict)"
[[rules]]
transaction_type = "Order"
amount_type = "*"
amount_description = "Principal"
marketplace = "*"
account = "01-000-4003-0000-000"
"#,
    );
    assert_eq!(m.rules[3].specificity(), 2);
    assert_eq!(m.rules[3].label, "01-000-4003-0000-000");
    // two fields each: rule 1 and 3 match; rule 1 is first
    assert_eq!(m.best_rule("Order", "ItemPrice", "Principal", ""), Some(1));
    assert_eq!(m.best_rule("ORDER", "itemprice", "Tax", ""), Some(1));
    assert_eq!(m.best_rule("Order", "ItemFees", "Principal", ""), Some(3));
    assert_eq!(m.best_rule("Order", "ItemFees", "Commission", ""), Some(0));
    assert_eq!(m.best_rule("Refund", "ItemPrice", "Principal", ""), None);
    // exact per field, not prefix
    assert_eq!(m.best_rule("Orders", "ItemPrice", "Principal", ""), None);
}

#[test]
fn marketplace_field() {
    let m = mapping(
        r#"
[[rules]]
amount_description = "Principal"
account = "01-000-4010-0000-000"
[[rules]]
amount_description = "Principal"
marketplace = "Amazon.fr"
account = "01-000-4012-0000-000"
"#,
    );
    assert_eq!(
        m.best_rule("Order", "ItemPrice", "Principal", "amazon.FR"),
        Some(1)
    );
    assert_eq!(
        m.best_rule("Order", "ItemPrice", "Principal", "Amazon.de"),
        Some(0)
    );
    assert_eq!(m.best_rule("Order", "ItemPrice", "Principal", ""), Some(0));
}

#[test]
fn unknown_field_names_field_and_line() {
    let text = format!(
        "{BASE}\n[[rules]]\ntransaction_type = \"Order\"\nacount = \"01-000-4010-0000-000\"\n"
    );
    let err = Mapping::parse(&text).unwrap_err();
    let p = &err.problems[0];
    assert!(p.message.contains("acount"), "{p}");
    assert_eq!(p.line, Some(6), "{p}");
    let err = Mapping::parse(&format!("{BASE}suspence = \"x\"\n")).unwrap_err();
    assert!(err.to_string().contains("suspence"), "{err}");
    assert_eq!(err.problems[0].line, Some(3));
}

#[test]
fn syntax_error_and_missing_clearing_are_located() {
    let err = Mapping::parse("[accounts]\nclearing = \n").unwrap_err();
    assert_eq!(err.problems[0].line, Some(2), "{err}");
    let err = Mapping::parse("[accounts]\nsuspense = \"01-000-9990-0000-000\"\n").unwrap_err();
    assert!(err.to_string().contains("clearing"), "{err}");
    let err = Mapping::parse("").unwrap_err();
    assert!(err.to_string().contains("accounts"), "{err}");
}

#[test]
fn malformed_accounts_all_reported_with_lines() {
    let text = "[accounts]\nclearing = \"01-000-1190-0000\"\nsuspense = \"01-000-9990-0000-000\"\n\n[[rules]]\naccount = \"01-000-40x0-0000-000\"\n";
    let err = Mapping::parse(text).unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
    assert_eq!(err.problems[0].line, Some(2));
    assert!(err.problems[0].message.contains("4 segment(s)"), "{err}");
    assert_eq!(err.problems[1].line, Some(6));
    assert!(err.problems[1].message.contains("segment 3"), "{err}");
    // the shape is a parameter
    let three = AccountFormat {
        segment_lengths: vec![2, 3, 4, 4],
    };
    Mapping::parse_with(
        "[accounts]\nclearing = \"01-000-1190-0000\"\n[[rules]]\naccount = \"01-000-4010-0000\"\n",
        &three,
    )
    .unwrap();
}

#[test]
fn hash_ignores_comments_but_not_meaning() {
    let a = mapping("[[rules]]\naccount = \"01-000-4010-0000-000\"\nlabel = \"x\"\n");
    let b = Mapping::parse(&format!(
        "# comment\n{BASE}\n\n[[rules]] # again\nlabel = \"x\"\naccount = \"01-000-4010-0000-000\"\n"
    ))
    .unwrap();
    let c = mapping("[[rules]]\naccount = \"01-000-4010-0000-000\"\nlabel = \"y\"\n");
    assert_eq!(a.content_hash(), b.content_hash());
    assert_ne!(a.content_hash(), c.content_hash());
    assert_eq!(a.content_hash().len(), 64);
}

#[test]
fn matcher_caches_case_insensitively() {
    let m = mapping(
        "[[rules]]\ntransaction_type = \"Order\"\naccount = \"01-000-4010-0000-000\"\nap = true\n",
    );
    assert!(m.rules[0].ap);
    let mut mt = m.matcher();
    let a = mt.combo_id("Order", "ItemPrice", "Principal", "Amazon.com");
    let b = mt.combo_id("ORDER", "itemprice", "principal", "amazon.com");
    let c = mt.combo_id("Refund", "ItemPrice", "Principal", "Amazon.com");
    let d = mt.combo_id("Ordér", "ItemPrice", "Principal", "Amazon.com");
    let e = mt.combo_id("ORDÉR", "ItemPrice", "Principal", "Amazon.com");
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(d, e);
    assert_eq!(mt.rule_of(a), Some(0));
    assert_eq!(mt.rule_of(c), None);
    assert_eq!(mt.combo(a).transaction_type, "Order");
    // fields do not bleed into each other
    let f = mt.combo_id("OrderItem", "Price", "Principal", "Amazon.com");
    assert_ne!(a, f);
    assert_eq!(mt.combos().count(), 4);
    // same length, head and tail: same hash, told apart by the collision chain
    let x = mt.combo_id("Order", "ItemFees", "FBAPerUnit-1-FulfillmentFee", "");
    let y = mt.combo_id("Order", "ItemFees", "FBAPerUnit-2-FulfillmentFee", "");
    let z = mt.combo_id("Order", "ItemFees", "FBAPerUnit-3-FulfillmentFee", "");
    assert!(x != y && y != z && x != z);
    assert_eq!(
        mt.combo_id("order", "ItemFees", "FBAPerUnit-2-FulfillmentFee", ""),
        y
    );
    assert_eq!(
        mt.combo_id("Order", "ItemFees", "FBAPerUnit-3-FulfillmentFee", ""),
        z
    );
    assert_eq!(
        mt.combo(z).amount_description,
        "FBAPerUnit-3-FulfillmentFee"
    );
}

#[test]
fn word_lowercase_matches_bytewise() {
    for b in 0u8..128 {
        let w = u64::from_le_bytes([b, b'A', b'z', b'@', b'[', b'Z', b'`', b'{']);
        let want = u64::from_le_bytes([
            b.to_ascii_lowercase(),
            b'a',
            b'z',
            b'@',
            b'[',
            b'z',
            b'`',
            b'{',
        ]);
        assert_eq!(lower_ascii_word(w), want, "byte {b}");
    }
    let k = |a, b, c, d| ComboRef {
        transaction_type: a,
        amount_type: b,
        amount_description: c,
        marketplace: d,
    };
    assert_eq!(
        combo_hash(&k(
            "Order",
            "ItemFees",
            "FBAPerUnitFulfillmentFee",
            "Amazon.com"
        )),
        combo_hash(&k(
            "ORDER",
            "itemfees",
            "fbaperunitfulfillmentfee",
            "AMAZON.COM"
        ))
    );
    assert_ne!(
        combo_hash(&k("ab", "c", "", "")),
        combo_hash(&k("a", "bc", "", ""))
    );
}

#[test]
fn default_mapping_parses() {
    let m = Mapping::default_mapping();
    assert_eq!(m.clearing, "01-000-1190-0000-000");
    assert_eq!(m.suspense.as_deref(), Some("01-000-9990-0000-000"));
    assert_eq!(m.difference.as_deref(), Some("01-000-9991-0000-000"));
}
