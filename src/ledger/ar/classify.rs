//! Which settlement rows AR takes, and as what: the document (invoice or credit
//! memo kind) from the transaction type, the line component from the amount
//! type and description. Everything else stays in the GL journal.

use crate::ledger::mapping::eq_ci;
use crate::ledger::model::SettlementRow;

use super::{ArLineKind, CmKind};

/// The AR document a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Doc {
    Invoice,
    Cm(CmKind),
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

fn is_safe_t(row: &SettlementRow) -> bool {
    contains_ci(&row.transaction_type, "SAFE-T") || contains_ci(&row.amount_description, "SAFE-T")
}

/// The document of a row with an order id, by its transaction type.
pub(crate) fn doc_of(row: &SettlementRow) -> Option<Doc> {
    if row.order_id.trim().is_empty() {
        return None;
    }
    let t = row.transaction_type.trim();
    if eq_ci(t, "Order") {
        Some(Doc::Invoice)
    } else if eq_ci(t, "Refund") {
        Some(Doc::Cm(CmKind::Refund))
    } else if contains_ci(t, "Chargeback") {
        Some(Doc::Cm(CmKind::Chargeback))
    } else if contains_ci(t, "A-to-z") {
        Some(Doc::Cm(CmKind::AtoZ))
    } else if is_safe_t(row) {
        Some(Doc::Cm(CmKind::SafeT))
    } else {
        None
    }
}

/// A revenue component of an order item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Component {
    Principal,
    Shipping,
    GiftWrap,
    Tax,
    ShippingTax,
    GiftWrapTax,
    /// A promotion on the principal (`false`) or on shipping (`true`).
    Promotion {
        shipping: bool,
    },
    /// A SAFE-T reimbursement row (one amount, whatever its amount type).
    SafeT,
}

impl Component {
    pub(crate) fn of(row: &SettlementRow, doc: Doc) -> Option<Component> {
        if doc == Doc::Cm(CmKind::SafeT) {
            return Some(Component::SafeT);
        }
        let (at, d) = (row.amount_type.trim(), row.amount_description.trim());
        if eq_ci(at, "ItemPrice") {
            [
                ("Principal", Component::Principal),
                ("Shipping", Component::Shipping),
                ("GiftWrap", Component::GiftWrap),
                ("Tax", Component::Tax),
                ("ShippingTax", Component::ShippingTax),
                ("GiftWrapTax", Component::GiftWrapTax),
            ]
            .into_iter()
            .find(|(name, _)| eq_ci(name, d))
            .map(|(_, c)| c)
        } else if eq_ci(at, "Promotion") {
            Some(Component::Promotion {
                shipping: eq_ci(d, "Shipping"),
            })
        } else {
            None
        }
    }

    pub(crate) fn is_tax(self) -> bool {
        matches!(
            self,
            Component::Tax | Component::ShippingTax | Component::GiftWrapTax
        )
    }

    pub(crate) fn line_kind(self) -> ArLineKind {
        match self {
            Component::Shipping => ArLineKind::Freight,
            c if c.is_tax() => ArLineKind::Tax,
            _ => ArLineKind::Line,
        }
    }

    /// ATTRIBUTE5 (before any credit-memo prefix).
    pub(crate) fn label(self, promotion_id: &str) -> String {
        match self {
            Component::Principal => "PRINCIPAL".into(),
            Component::Shipping => "SHIPPING".into(),
            Component::GiftWrap => "GIFTWRAP".into(),
            Component::Tax => "TAX".into(),
            Component::ShippingTax => "SHIPPING_TAX".into(),
            Component::GiftWrapTax => "GIFTWRAP_TAX".into(),
            Component::Promotion { shipping: false } => {
                format!("PROMOTION {}", promotion_id.trim())
            }
            Component::Promotion { shipping: true } => {
                format!("PROMOTION_SHIPPING {}", promotion_id.trim())
            }
            Component::SafeT => "REIMBURSEMENT".into(),
        }
    }

    /// The label of the line this one is linked to (tax and promotions).
    pub(crate) fn links_to(self) -> Option<&'static str> {
        match self {
            Component::Tax | Component::Promotion { shipping: false } => Some("PRINCIPAL"),
            Component::ShippingTax | Component::Promotion { shipping: true } => Some("SHIPPING"),
            Component::GiftWrapTax => Some("GIFTWRAP"),
            _ => None,
        }
    }
}

/// Marketplace-facilitator withholding: Amazon collects and remits the tax.
pub(crate) fn is_withheld_tax(row: &SettlementRow) -> bool {
    eq_ci(row.amount_type.trim(), "ItemWithheldTax")
}

/// A multi-channel fulfilment order: Amazon ships an order sold elsewhere
/// (marketplace `Non-Amazon…`, or a transaction type naming MCF).
pub(crate) fn is_mcf(row: &SettlementRow) -> bool {
    let m = row.marketplace_name.trim().to_ascii_lowercase();
    m.starts_with("non-amazon")
        || contains_ci(&row.transaction_type, "multi-channel")
        || contains_ci(&row.transaction_type, "MCF")
}

/// The carried balance: what a previous settlement left (released reserve,
/// or a negative settlement payable to Amazon carried into this one).
pub(crate) fn is_carried(row: &SettlementRow) -> bool {
    crate::ledger::model::balance_row(&row.transaction_type, &row.amount_description)
        == Some(crate::ledger::model::BalanceRow::Carried)
}
