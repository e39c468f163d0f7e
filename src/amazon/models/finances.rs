//! Finances v0 models: event groups and financial events.
//!
//! Money here arrives as JSON numbers (`CurrencyAmount: 25.37`) and is read exactly.
//! Event lists this client knows are typed; any other list, or a known list whose shape
//! surprised us, is kept verbatim in [`FinancialEvents::other`] with the reason.

use chrono::{DateTime, Utc};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use std::fmt;

use super::{AmazonTime, Money, lenient_opt_i64, open_enum};

open_enum! {
    /// `ProcessingStatus` of a group: documented `Open`/`Closed`; the sandbox sends `PROCESSED`.
    GroupProcessingStatus {
        Open => "Open",
        Closed => "Closed",
    }
}

/// A financial event group: one settlement period's money for one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinancialEventGroup {
    #[serde(rename = "FinancialEventGroupId", default)]
    pub id: String,
    #[serde(rename = "ProcessingStatus", default)]
    pub processing_status: Option<GroupProcessingStatus>,
    /// Free text (`Succeeded`, sandbox `TRANSFERED`, …).
    #[serde(rename = "FundTransferStatus", default)]
    pub fund_transfer_status: Option<String>,
    /// In the marketplace currency; the running balance while the group is open.
    #[serde(rename = "OriginalTotal", default)]
    pub original_total: Option<Money>,
    /// In the disbursement currency.
    #[serde(rename = "ConvertedTotal", default)]
    pub converted_total: Option<Money>,
    #[serde(rename = "FundTransferDate", default)]
    pub fund_transfer_date: Option<AmazonTime>,
    #[serde(rename = "TraceId", default)]
    pub trace_id: Option<String>,
    #[serde(rename = "AccountTail", default)]
    pub account_tail: Option<String>,
    #[serde(rename = "BeginningBalance", default)]
    pub beginning_balance: Option<Money>,
    #[serde(rename = "FinancialEventGroupStart", default)]
    pub start: Option<AmazonTime>,
    #[serde(rename = "FinancialEventGroupEnd", default)]
    pub end: Option<AmazonTime>,
}

/// `listFinancialEventGroups` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinancialEventGroupsPayload {
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
    #[serde(rename = "FinancialEventGroupList", default)]
    pub groups: Vec<FinancialEventGroup>,
}

/// `listFinancialEvents*` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinancialEventsPayload {
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
    #[serde(rename = "FinancialEvents", default)]
    pub events: FinancialEvents,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeComponent {
    #[serde(rename = "ChargeType", default)]
    pub charge_type: String,
    #[serde(rename = "ChargeAmount", default)]
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeComponent {
    #[serde(rename = "FeeType", default)]
    pub fee_type: String,
    #[serde(rename = "FeeAmount", default)]
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectPayment {
    #[serde(rename = "DirectPaymentType", default)]
    pub direct_payment_type: String,
    #[serde(rename = "DirectPaymentAmount", default)]
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxWithheldComponent {
    #[serde(rename = "TaxCollectionModel", default)]
    pub tax_collection_model: String,
    #[serde(rename = "TaxesWithheld", default)]
    pub taxes_withheld: Vec<ChargeComponent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    #[serde(rename = "PromotionType", default)]
    pub promotion_type: String,
    #[serde(rename = "PromotionId", default)]
    pub promotion_id: String,
    #[serde(rename = "PromotionAmount", default)]
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentItem {
    #[serde(rename = "SellerSKU", default)]
    pub seller_sku: Option<String>,
    #[serde(rename = "OrderItemId", default)]
    pub order_item_id: Option<String>,
    #[serde(rename = "OrderAdjustmentItemId", default)]
    pub order_adjustment_item_id: Option<String>,
    #[serde(
        rename = "QuantityShipped",
        default,
        deserialize_with = "lenient_opt_i64"
    )]
    pub quantity_shipped: Option<i64>,
    #[serde(rename = "ItemChargeList", default)]
    pub item_charges: Vec<ChargeComponent>,
    #[serde(rename = "ItemChargeAdjustmentList", default)]
    pub item_charge_adjustments: Vec<ChargeComponent>,
    #[serde(rename = "ItemFeeList", default)]
    pub item_fees: Vec<FeeComponent>,
    #[serde(rename = "ItemFeeAdjustmentList", default)]
    pub item_fee_adjustments: Vec<FeeComponent>,
    #[serde(rename = "ItemTaxWithheldList", default)]
    pub item_tax_withheld: Vec<TaxWithheldComponent>,
    #[serde(rename = "PromotionList", default)]
    pub promotions: Vec<Promotion>,
    #[serde(rename = "PromotionAdjustmentList", default)]
    pub promotion_adjustments: Vec<Promotion>,
    #[serde(rename = "CostOfPointsGranted", default)]
    pub cost_of_points_granted: Option<Money>,
    #[serde(rename = "CostOfPointsReturned", default)]
    pub cost_of_points_returned: Option<Money>,
}

/// Shared by shipment, shipment-settle, refund, guarantee-claim and chargeback events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentEvent {
    #[serde(rename = "AmazonOrderId", default)]
    pub amazon_order_id: Option<String>,
    #[serde(rename = "SellerOrderId", default)]
    pub seller_order_id: Option<String>,
    #[serde(rename = "MarketplaceName", default)]
    pub marketplace_name: Option<String>,
    #[serde(rename = "StoreName", default)]
    pub store_name: Option<String>,
    #[serde(rename = "OrderChargeList", default)]
    pub order_charges: Vec<ChargeComponent>,
    #[serde(rename = "OrderChargeAdjustmentList", default)]
    pub order_charge_adjustments: Vec<ChargeComponent>,
    #[serde(rename = "ShipmentFeeList", default)]
    pub shipment_fees: Vec<FeeComponent>,
    #[serde(rename = "ShipmentFeeAdjustmentList", default)]
    pub shipment_fee_adjustments: Vec<FeeComponent>,
    #[serde(rename = "OrderFeeList", default)]
    pub order_fees: Vec<FeeComponent>,
    #[serde(rename = "OrderFeeAdjustmentList", default)]
    pub order_fee_adjustments: Vec<FeeComponent>,
    #[serde(rename = "DirectPaymentList", default)]
    pub direct_payments: Vec<DirectPayment>,
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "ShipmentItemList", default)]
    pub items: Vec<ShipmentItem>,
    #[serde(rename = "ShipmentItemAdjustmentList", default)]
    pub item_adjustments: Vec<ShipmentItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceFeeEvent {
    #[serde(rename = "AmazonOrderId", default)]
    pub amazon_order_id: Option<String>,
    #[serde(rename = "FeeReason", default)]
    pub fee_reason: Option<String>,
    #[serde(rename = "FeeList", default)]
    pub fees: Vec<FeeComponent>,
    #[serde(rename = "SellerSKU", default)]
    pub seller_sku: Option<String>,
    #[serde(rename = "FnSKU", default)]
    pub fn_sku: Option<String>,
    #[serde(rename = "FeeDescription", default)]
    pub fee_description: Option<String>,
    #[serde(rename = "ASIN", default)]
    pub asin: Option<String>,
    #[serde(rename = "StoreName", default)]
    pub store_name: Option<String>,
    /// Not in the model, but sent by some marketplaces.
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentItem {
    #[serde(rename = "Quantity", default, deserialize_with = "lenient_opt_i64")]
    pub quantity: Option<i64>,
    #[serde(rename = "PerUnitAmount", default)]
    pub per_unit_amount: Option<Money>,
    #[serde(rename = "TotalAmount", default)]
    pub total_amount: Option<Money>,
    #[serde(rename = "SellerSKU", default)]
    pub seller_sku: Option<String>,
    #[serde(rename = "FnSKU", default)]
    pub fn_sku: Option<String>,
    #[serde(rename = "ProductDescription", default)]
    pub product_description: Option<String>,
    #[serde(rename = "ASIN", default)]
    pub asin: Option<String>,
    #[serde(rename = "TransactionNumber", default)]
    pub transaction_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentEvent {
    /// Open vocabulary (`FBAInventoryReimbursement`, `ReserveEvent`, …).
    #[serde(rename = "AdjustmentType", default)]
    pub adjustment_type: Option<String>,
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "StoreName", default)]
    pub store_name: Option<String>,
    #[serde(rename = "AdjustmentAmount", default)]
    pub amount: Option<Money>,
    #[serde(rename = "AdjustmentItemList", default)]
    pub items: Vec<AdjustmentItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrochargeEvent {
    #[serde(rename = "RetrochargeEventType", default)]
    pub event_type: Option<String>,
    #[serde(rename = "AmazonOrderId", default)]
    pub amazon_order_id: Option<String>,
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "BaseTax", default)]
    pub base_tax: Option<Money>,
    #[serde(rename = "ShippingTax", default)]
    pub shipping_tax: Option<Money>,
    #[serde(rename = "MarketplaceName", default)]
    pub marketplace_name: Option<String>,
    #[serde(rename = "RetrochargeTaxWithheldList", default)]
    pub tax_withheld: Vec<TaxWithheldComponent>,
}

/// Note the camelCase field names: that is how the model spells this event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductAdsPaymentEvent {
    #[serde(rename = "postedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "transactionType", default)]
    pub transaction_type: Option<String>,
    #[serde(rename = "invoiceId", default)]
    pub invoice_id: Option<String>,
    #[serde(rename = "baseValue", default)]
    pub base_value: Option<Money>,
    #[serde(rename = "taxValue", default)]
    pub tax_value: Option<Money>,
    #[serde(rename = "transactionValue", default)]
    pub transaction_value: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerDealPaymentEvent {
    #[serde(rename = "postedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "dealId", default)]
    pub deal_id: Option<String>,
    #[serde(rename = "dealDescription", default)]
    pub deal_description: Option<String>,
    #[serde(rename = "eventType", default)]
    pub event_type: Option<String>,
    #[serde(rename = "feeType", default)]
    pub fee_type: Option<String>,
    #[serde(rename = "feeAmount", default)]
    pub fee_amount: Option<Money>,
    #[serde(rename = "taxAmount", default)]
    pub tax_amount: Option<Money>,
    #[serde(rename = "totalAmount", default)]
    pub total_amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponPaymentEvent {
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "CouponId", default)]
    pub coupon_id: Option<String>,
    #[serde(rename = "SellerCouponDescription", default)]
    pub description: Option<String>,
    #[serde(
        rename = "ClipOrRedemptionCount",
        default,
        deserialize_with = "lenient_opt_i64"
    )]
    pub clip_or_redemption_count: Option<i64>,
    #[serde(rename = "PaymentEventId", default)]
    pub payment_event_id: Option<String>,
    #[serde(rename = "FeeComponent", default)]
    pub fee: Option<FeeComponent>,
    #[serde(rename = "ChargeComponent", default)]
    pub charge: Option<ChargeComponent>,
    #[serde(rename = "TotalAmount", default)]
    pub total_amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetReimbursementItem {
    #[serde(rename = "itemChargeList", default)]
    pub item_charges: Vec<ChargeComponent>,
    #[serde(rename = "productDescription", default)]
    pub product_description: Option<String>,
    #[serde(rename = "quantity", default, deserialize_with = "lenient_opt_i64")]
    pub quantity: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetReimbursementEvent {
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "SAFETClaimId", default)]
    pub claim_id: Option<String>,
    #[serde(rename = "ReimbursedAmount", default)]
    pub reimbursed_amount: Option<Money>,
    #[serde(rename = "ReasonCode", default)]
    pub reason_code: Option<String>,
    #[serde(rename = "SAFETReimbursementItemList", default)]
    pub items: Vec<SafetReimbursementItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FbaLiquidationEvent {
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "OriginalRemovalOrderId", default)]
    pub original_removal_order_id: Option<String>,
    #[serde(rename = "LiquidationProceedsAmount", default)]
    pub proceeds: Option<Money>,
    #[serde(rename = "LiquidationFeeAmount", default)]
    pub fee: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalShipmentItem {
    #[serde(rename = "RemovalShipmentItemId", default)]
    pub removal_shipment_item_id: Option<String>,
    #[serde(rename = "TaxCollectionModel", default)]
    pub tax_collection_model: Option<String>,
    #[serde(rename = "FulfillmentNetworkSKU", default)]
    pub fulfillment_network_sku: Option<String>,
    #[serde(rename = "Quantity", default, deserialize_with = "lenient_opt_i64")]
    pub quantity: Option<i64>,
    #[serde(rename = "Revenue", default)]
    pub revenue: Option<Money>,
    #[serde(rename = "FeeAmount", default)]
    pub fee_amount: Option<Money>,
    #[serde(rename = "TaxAmount", default)]
    pub tax_amount: Option<Money>,
    #[serde(rename = "TaxWithheld", default)]
    pub tax_withheld: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalShipmentEvent {
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "MerchantOrderId", default)]
    pub merchant_order_id: Option<String>,
    #[serde(rename = "OrderId", default)]
    pub order_id: Option<String>,
    #[serde(rename = "TransactionType", default)]
    pub transaction_type: Option<String>,
    #[serde(rename = "StoreName", default)]
    pub store_name: Option<String>,
    #[serde(rename = "RemovalShipmentItemList", default)]
    pub items: Vec<RemovalShipmentItem>,
}

/// The many single-amount events share this shape (transaction type, date, amount).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionAmountEvent {
    #[serde(rename = "TransactionType", default)]
    pub transaction_type: Option<String>,
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "TransactionId", default)]
    pub transaction_id: Option<String>,
    #[serde(rename = "Description", default)]
    pub description: Option<String>,
    #[serde(rename = "TransactionAmount", default)]
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeListEvent {
    #[serde(rename = "AmazonOrderId", default)]
    pub amazon_order_id: Option<String>,
    #[serde(rename = "ASIN", default)]
    pub asin: Option<String>,
    #[serde(rename = "SKU", default)]
    pub sku: Option<String>,
    #[serde(rename = "FinancialEventGroupId", default)]
    pub financial_event_group_id: Option<String>,
    #[serde(rename = "ImagingRequestBillingItemID", default)]
    pub imaging_request_billing_item_id: Option<String>,
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "FeeList", default)]
    pub fees: Vec<FeeComponent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxWithholdingPeriod {
    #[serde(rename = "StartDate", default)]
    pub start: Option<AmazonTime>,
    #[serde(rename = "EndDate", default)]
    pub end: Option<AmazonTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxWithholdingEvent {
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "BaseAmount", default)]
    pub base_amount: Option<Money>,
    #[serde(rename = "WithheldAmount", default)]
    pub withheld_amount: Option<Money>,
    #[serde(rename = "TaxWithholdingPeriod", default)]
    pub period: Option<TaxWithholdingPeriod>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtRecoveryItem {
    #[serde(rename = "RecoveryAmount", default)]
    pub recovery_amount: Option<Money>,
    #[serde(rename = "OriginalAmount", default)]
    pub original_amount: Option<Money>,
    #[serde(rename = "GroupBeginDate", default)]
    pub group_begin: Option<AmazonTime>,
    #[serde(rename = "GroupEndDate", default)]
    pub group_end: Option<AmazonTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeInstrument {
    #[serde(rename = "Description", default)]
    pub description: Option<String>,
    #[serde(rename = "Tail", default)]
    pub tail: Option<String>,
    #[serde(rename = "Amount", default)]
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtRecoveryEvent {
    #[serde(rename = "DebtRecoveryType", default)]
    pub debt_recovery_type: Option<String>,
    #[serde(rename = "RecoveryAmount", default)]
    pub recovery_amount: Option<Money>,
    #[serde(rename = "OverPaymentCredit", default)]
    pub over_payment_credit: Option<Money>,
    #[serde(rename = "DebtRecoveryItemList", default)]
    pub items: Vec<DebtRecoveryItem>,
    #[serde(rename = "ChargeInstrumentList", default)]
    pub charge_instruments: Vec<ChargeInstrument>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanServicingEvent {
    #[serde(rename = "LoanAmount", default)]
    pub loan_amount: Option<Money>,
    #[serde(rename = "SourceBusinessEventType", default)]
    pub source_business_event_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayWithAmazonEvent {
    #[serde(rename = "SellerOrderId", default)]
    pub seller_order_id: Option<String>,
    #[serde(rename = "TransactionPostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "BusinessObjectType", default)]
    pub business_object_type: Option<String>,
    #[serde(rename = "SalesChannel", default)]
    pub sales_channel: Option<String>,
    #[serde(rename = "Charge", default)]
    pub charge: Option<ChargeComponent>,
    #[serde(rename = "FeeList", default)]
    pub fees: Vec<FeeComponent>,
    #[serde(rename = "PaymentAmountType", default)]
    pub payment_amount_type: Option<String>,
    #[serde(rename = "AmountDescription", default)]
    pub amount_description: Option<String>,
    #[serde(rename = "FulfillmentChannel", default)]
    pub fulfillment_channel: Option<String>,
    #[serde(rename = "StoreName", default)]
    pub store_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceProviderCreditEvent {
    #[serde(rename = "ProviderTransactionType", default)]
    pub provider_transaction_type: Option<String>,
    #[serde(rename = "SellerOrderId", default)]
    pub seller_order_id: Option<String>,
    #[serde(rename = "MarketplaceId", default)]
    pub marketplace_id: Option<String>,
    #[serde(rename = "MarketplaceCountryCode", default)]
    pub marketplace_country_code: Option<String>,
    #[serde(rename = "SellerId", default)]
    pub seller_id: Option<String>,
    #[serde(rename = "SellerStoreName", default)]
    pub seller_store_name: Option<String>,
    #[serde(rename = "ProviderId", default)]
    pub provider_id: Option<String>,
    #[serde(rename = "ProviderStoreName", default)]
    pub provider_store_name: Option<String>,
    #[serde(rename = "TransactionAmount", default)]
    pub amount: Option<Money>,
    #[serde(rename = "TransactionCreationDate", default)]
    pub created: Option<AmazonTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RentalTransactionEvent {
    #[serde(rename = "AmazonOrderId", default)]
    pub amazon_order_id: Option<String>,
    #[serde(rename = "RentalEventType", default)]
    pub rental_event_type: Option<String>,
    #[serde(
        rename = "ExtensionLength",
        default,
        deserialize_with = "lenient_opt_i64"
    )]
    pub extension_length: Option<i64>,
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "RentalChargeList", default)]
    pub charges: Vec<ChargeComponent>,
    #[serde(rename = "RentalFeeList", default)]
    pub fees: Vec<FeeComponent>,
    #[serde(rename = "MarketplaceName", default)]
    pub marketplace_name: Option<String>,
    #[serde(rename = "RentalInitialValue", default)]
    pub initial_value: Option<Money>,
    #[serde(rename = "RentalReimbursement", default)]
    pub reimbursement: Option<Money>,
    #[serde(rename = "RentalTaxWithheldList", default)]
    pub tax_withheld: Vec<TaxWithheldComponent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkComminglingTransactionEvent {
    #[serde(rename = "TransactionType", default)]
    pub transaction_type: Option<String>,
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "NetCoTransactionID", default)]
    pub net_co_transaction_id: Option<String>,
    #[serde(rename = "SwapReason", default)]
    pub swap_reason: Option<String>,
    #[serde(rename = "ASIN", default)]
    pub asin: Option<String>,
    #[serde(rename = "MarketplaceId", default)]
    pub marketplace_id: Option<String>,
    #[serde(rename = "TaxExclusiveAmount", default)]
    pub tax_exclusive_amount: Option<Money>,
    #[serde(rename = "TaxAmount", default)]
    pub tax_amount: Option<Money>,
}

/// Used for both affordability expenses and their reversals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffordabilityExpenseEvent {
    #[serde(rename = "AmazonOrderId", default)]
    pub amazon_order_id: Option<String>,
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "MarketplaceId", default)]
    pub marketplace_id: Option<String>,
    #[serde(rename = "TransactionType", default)]
    pub transaction_type: Option<String>,
    #[serde(rename = "BaseExpense", default)]
    pub base_expense: Option<Money>,
    #[serde(rename = "TaxTypeCGST", default)]
    pub tax_cgst: Option<Money>,
    #[serde(rename = "TaxTypeSGST", default)]
    pub tax_sgst: Option<Money>,
    #[serde(rename = "TaxTypeIGST", default)]
    pub tax_igst: Option<Money>,
    #[serde(rename = "TotalExpense", default)]
    pub total_expense: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerReviewEnrollmentPaymentEvent {
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "EnrollmentId", default)]
    pub enrollment_id: Option<String>,
    #[serde(rename = "ParentASIN", default)]
    pub parent_asin: Option<String>,
    #[serde(rename = "FeeComponent", default)]
    pub fee: Option<FeeComponent>,
    #[serde(rename = "ChargeComponent", default)]
    pub charge: Option<ChargeComponent>,
    #[serde(rename = "TotalAmount", default)]
    pub total_amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EbtRefundReimbursementOnlyEvent {
    #[serde(rename = "OrderId", default)]
    pub order_id: Option<String>,
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "Amount", default)]
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeRefundTransaction {
    #[serde(rename = "ChargeAmount", default)]
    pub amount: Option<Money>,
    #[serde(rename = "ChargeType", default)]
    pub charge_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeRefundEvent {
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "ReasonCode", default)]
    pub reason_code: Option<String>,
    #[serde(rename = "ReasonCodeDescription", default)]
    pub reason_code_description: Option<String>,
    #[serde(rename = "ChargeRefundTransactions", default)]
    pub transactions: Vec<ChargeRefundTransaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalShipmentItemAdjustment {
    #[serde(rename = "RemovalShipmentItemId", default)]
    pub removal_shipment_item_id: Option<String>,
    #[serde(rename = "TaxCollectionModel", default)]
    pub tax_collection_model: Option<String>,
    #[serde(rename = "FulfillmentNetworkSKU", default)]
    pub fulfillment_network_sku: Option<String>,
    #[serde(
        rename = "AdjustedQuantity",
        default,
        deserialize_with = "lenient_opt_i64"
    )]
    pub adjusted_quantity: Option<i64>,
    #[serde(rename = "RevenueAdjustment", default)]
    pub revenue_adjustment: Option<Money>,
    #[serde(rename = "TaxAmountAdjustment", default)]
    pub tax_amount_adjustment: Option<Money>,
    #[serde(rename = "TaxWithheldAdjustment", default)]
    pub tax_withheld_adjustment: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalShipmentAdjustmentEvent {
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "AdjustmentEventId", default)]
    pub adjustment_event_id: Option<String>,
    #[serde(rename = "MerchantOrderId", default)]
    pub merchant_order_id: Option<String>,
    #[serde(rename = "OrderId", default)]
    pub order_id: Option<String>,
    #[serde(rename = "TransactionType", default)]
    pub transaction_type: Option<String>,
    #[serde(rename = "RemovalShipmentItemAdjustmentList", default)]
    pub items: Vec<RemovalShipmentItemAdjustment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TdsReimbursementEvent {
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
    #[serde(rename = "TDSOrderId", default)]
    pub tds_order_id: Option<String>,
    #[serde(rename = "ReimbursedAmount", default)]
    pub reimbursed_amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedAdhocDisbursementEvent {
    #[serde(rename = "FundsTransfersType", default)]
    pub funds_transfers_type: Option<String>,
    #[serde(rename = "TransferId", default)]
    pub transfer_id: Option<String>,
    #[serde(rename = "DisbursementId", default)]
    pub disbursement_id: Option<String>,
    #[serde(rename = "PaymentDisbursementType", default)]
    pub payment_disbursement_type: Option<String>,
    #[serde(rename = "Status", default)]
    pub status: Option<String>,
    #[serde(rename = "TransferAmount", default)]
    pub transfer_amount: Option<Money>,
    #[serde(rename = "PostedDate", default)]
    pub posted_date: Option<AmazonTime>,
}

/// A list kept verbatim: unknown to this client, or not in the shape we expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawEventList {
    /// The list's key, e.g. `CapacityReservationBillingEventList`.
    pub name: String,
    /// The list exactly as sent (amounts untouched).
    pub json: String,
    /// Why it was not typed (`None`: the list name is simply unknown).
    pub problem: Option<String>,
}

macro_rules! event_lists {
    ($($(#[$m:meta])* $field:ident : $ty:ty = $key:literal),* $(,)?) => {
        /// The financial events of one page. Each field is one of Amazon's `…EventList`s.
        ///
        /// Serializes back to Amazon's own shape, so a stored copy reads again.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct FinancialEvents {
            $($(#[$m])* pub $field: Vec<$ty>,)*
            /// Lists not typed here, kept verbatim (never dropped).
            pub other: Vec<RawEventList>,
        }

        impl FinancialEvents {
            /// The list keys this client types.
            pub const KNOWN_LISTS: &'static [&'static str] = &[$($key),*];

            /// Number of typed events plus the number of raw lists.
            pub fn len(&self) -> usize {
                0 $(+ self.$field.len())* + self.other.len()
            }

            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Appends another page's events.
            pub fn extend(&mut self, more: FinancialEvents) {
                $(self.$field.extend(more.$field);)*
                self.other.extend(more.other);
            }

            fn serialize_lists<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(None)?;
                $(if !self.$field.is_empty() {
                    map.serialize_entry($key, &self.$field)?;
                })*
                for raw in &self.other {
                    let value = RawValue::from_string(raw.json.clone()).map_err(serde::ser::Error::custom)?;
                    map.serialize_entry(&raw.name, &value)?;
                }
                map.end()
            }

            fn take_list(&mut self, key: String, raw: &RawValue) {
                match key.as_str() {
                    $($key => match serde_json::from_str::<Option<Vec<$ty>>>(raw.get()) {
                        Ok(list) => self.$field.extend(list.unwrap_or_default()),
                        Err(e) => self.other.push(RawEventList {
                            name: key,
                            json: raw.get().to_string(),
                            problem: Some(e.to_string()),
                        }),
                    },)*
                    _ => self.other.push(RawEventList { name: key, json: raw.get().to_string(), problem: None }),
                }
            }
        }
    };
}

event_lists! {
    shipment: ShipmentEvent = "ShipmentEventList",
    shipment_settle: ShipmentEvent = "ShipmentSettleEventList",
    refund: ShipmentEvent = "RefundEventList",
    guarantee_claim: ShipmentEvent = "GuaranteeClaimEventList",
    chargeback: ShipmentEvent = "ChargebackEventList",
    service_fee: ServiceFeeEvent = "ServiceFeeEventList",
    adjustment: AdjustmentEvent = "AdjustmentEventList",
    retrocharge: RetrochargeEvent = "RetrochargeEventList",
    product_ads_payment: ProductAdsPaymentEvent = "ProductAdsPaymentEventList",
    seller_deal_payment: SellerDealPaymentEvent = "SellerDealPaymentEventList",
    coupon_payment: CouponPaymentEvent = "CouponPaymentEventList",
    safet_reimbursement: SafetReimbursementEvent = "SAFETReimbursementEventList",
    fba_liquidation: FbaLiquidationEvent = "FBALiquidationEventList",
    removal_shipment: RemovalShipmentEvent = "RemovalShipmentEventList",
    tax_withholding: TaxWithholdingEvent = "TaxWithholdingEventList",
    debt_recovery: DebtRecoveryEvent = "DebtRecoveryEventList",
    loan_servicing: LoanServicingEvent = "LoanServicingEventList",
    adhoc_disbursement: TransactionAmountEvent = "AdhocDisbursementEventList",
    value_added_service_charge: TransactionAmountEvent = "ValueAddedServiceChargeEventList",
    capacity_reservation_billing: TransactionAmountEvent = "CapacityReservationBillingEventList",
    imaging_services_fee: FeeListEvent = "ImagingServicesFeeEventList",
    trial_shipment: FeeListEvent = "TrialShipmentEventList",
    pay_with_amazon: PayWithAmazonEvent = "PayWithAmazonEventList",
    service_provider_credit: ServiceProviderCreditEvent = "ServiceProviderCreditEventList",
    rental_transaction: RentalTransactionEvent = "RentalTransactionEventList",
    network_commingling_transaction: NetworkComminglingTransactionEvent = "NetworkComminglingTransactionEventList",
    affordability_expense: AffordabilityExpenseEvent = "AffordabilityExpenseEventList",
    affordability_expense_reversal: AffordabilityExpenseEvent = "AffordabilityExpenseReversalEventList",
    seller_review_enrollment_payment: SellerReviewEnrollmentPaymentEvent = "SellerReviewEnrollmentPaymentEventList",
    ebt_refund_reimbursement_only: EbtRefundReimbursementOnlyEvent = "EBTRefundReimbursementOnlyEventList",
    charge_refund: ChargeRefundEvent = "ChargeRefundEventList",
    removal_shipment_adjustment: RemovalShipmentAdjustmentEvent = "RemovalShipmentAdjustmentEventList",
    tds_reimbursement: TdsReimbursementEvent = "TDSReimbursementEventList",
    failed_adhoc_disbursement: FailedAdhocDisbursementEvent = "FailedAdhocDisbursementEventList",
}

impl FinancialEvents {
    /// The latest posted date among the typed events: a resume cursor for
    /// `listFinancialEvents` (`PostedAfter`) when a next token has expired.
    pub fn latest_posted_date(&self) -> Option<DateTime<Utc>> {
        fn dates<'a, T>(
            list: &'a [T],
            f: impl Fn(&'a T) -> Option<&'a AmazonTime> + 'a,
        ) -> impl Iterator<Item = DateTime<Utc>> + 'a {
            list.iter()
                .filter_map(move |e| f(e).and_then(AmazonTime::at))
        }
        // One `dates` per list: each list has its own event type.
        macro_rules! latest {
            ($events:ident: $($list:ident),* $(,)?) => {
                std::iter::empty()
                    $(.chain(dates(&$events.$list, |e| e.posted_date.as_ref())))*
                    .max()
            };
        }
        let events = self;
        latest!(events:
            shipment, shipment_settle, refund, guarantee_claim, chargeback, adjustment, service_fee,
            retrocharge, product_ads_payment, seller_deal_payment, coupon_payment,
            safet_reimbursement, fba_liquidation, removal_shipment, removal_shipment_adjustment,
            tax_withholding, adhoc_disbursement, failed_adhoc_disbursement,
            value_added_service_charge, capacity_reservation_billing, imaging_services_fee,
            trial_shipment, pay_with_amazon, rental_transaction, network_commingling_transaction,
            affordability_expense, affordability_expense_reversal, seller_review_enrollment_payment,
            ebt_refund_reimbursement_only, charge_refund, tds_reimbursement,
        )
    }
}

impl<'de> Deserialize<'de> for FinancialEvents {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EventsVisitor;
        impl<'de> Visitor<'de> for EventsVisitor {
            type Value = FinancialEvents;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a FinancialEvents object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut events = FinancialEvents::default();
                while let Some(key) = map.next_key::<String>()? {
                    let raw: Box<RawValue> = map.next_value()?;
                    events.take_list(key, &raw);
                }
                Ok(events)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(FinancialEvents::default())
            }
        }
        d.deserialize_any(EventsVisitor)
    }
}

impl Serialize for FinancialEvents {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize_lists(s)
    }
}
