use super::classify::{Component, Doc, doc_of};
use super::*;

fn row(tt: &str, at: &str, d: &str) -> SettlementRow {
    SettlementRow {
        line: 3,
        transaction_type: tt.into(),
        amount_type: at.into(),
        amount_description: d.into(),
        amount: Decimal::ONE,
        order_id: "111-1".into(),
        merchant_order_id: String::new(),
        adjustment_id: String::new(),
        shipment_id: String::new(),
        marketplace_name: String::new(),
        fulfillment_id: String::new(),
        posted: None,
        order_item_code: String::new(),
        merchant_order_item_id: String::new(),
        merchant_adjustment_item_id: String::new(),
        sku: String::new(),
        quantity_purchased: None,
        promotion_id: String::new(),
    }
}

#[test]
fn classifies_documents_and_components() {
    assert_eq!(
        doc_of(&row("Order", "ItemPrice", "Principal")),
        Some(Doc::Invoice)
    );
    assert_eq!(
        doc_of(&row("Chargeback Refund", "ItemPrice", "Principal")),
        Some(Doc::Cm(CmKind::Chargeback))
    );
    assert_eq!(
        doc_of(&row("A-to-z Guarantee Claim", "ItemPrice", "Principal")),
        Some(Doc::Cm(CmKind::AtoZ))
    );
    assert_eq!(
        doc_of(&row(
            "other-transaction",
            "other-transaction",
            "SAFE-T Reimbursement"
        )),
        Some(Doc::Cm(CmKind::SafeT))
    );
    assert_eq!(
        doc_of(&row(
            "other-transaction",
            "other-transaction",
            "Storage Fee"
        )),
        None
    );
    let fee = row("Order", "ItemFees", "Commission");
    assert_eq!(Component::of(&fee, Doc::Invoice), None);
    let promo = row("Order", "Promotion", "Shipping");
    assert_eq!(
        Component::of(&promo, Doc::Invoice),
        Some(Component::Promotion { shipping: true })
    );
    assert_eq!(
        Component::Promotion { shipping: false }.label("P1"),
        "PROMOTION P1"
    );
}
