//! Orders v0 models (`getOrders`, `getOrder`, `getOrderItems`).

use serde::{Deserialize, Serialize};

use super::{AmazonTime, Money, lenient_opt_bool, lenient_opt_i64, open_enum};

open_enum! {
    /// `OrderStatus`.
    OrderStatus {
        Pending => "Pending",
        Unshipped => "Unshipped",
        PartiallyShipped => "PartiallyShipped",
        Shipped => "Shipped",
        Canceled => "Canceled",
        Unfulfillable => "Unfulfillable",
        InvoiceUnconfirmed => "InvoiceUnconfirmed",
        PendingAvailability => "PendingAvailability",
    }
}

open_enum! {
    /// `FulfillmentChannel`: `AFN` is fulfilled by Amazon, `MFN` by the seller.
    FulfillmentChannel {
        Afn => "AFN",
        Mfn => "MFN",
    }
}

open_enum! {
    /// `OrderType`.
    OrderType {
        StandardOrder => "StandardOrder",
        LongLeadTimeOrder => "LongLeadTimeOrder",
        Preorder => "Preorder",
        BackOrder => "BackOrder",
        SourcingOnDemandOrder => "SourcingOnDemandOrder",
    }
}

/// One order (unrestricted fields only: no buyer data or address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    #[serde(rename = "AmazonOrderId")]
    pub amazon_order_id: String,
    #[serde(rename = "SellerOrderId", default)]
    pub seller_order_id: Option<String>,
    #[serde(rename = "PurchaseDate")]
    pub purchase_date: AmazonTime,
    #[serde(rename = "LastUpdateDate")]
    pub last_update_date: AmazonTime,
    #[serde(rename = "OrderStatus")]
    pub order_status: OrderStatus,
    #[serde(rename = "FulfillmentChannel", default)]
    pub fulfillment_channel: Option<FulfillmentChannel>,
    #[serde(rename = "SalesChannel", default)]
    pub sales_channel: Option<String>,
    #[serde(rename = "OrderChannel", default)]
    pub order_channel: Option<String>,
    #[serde(rename = "ShipServiceLevel", default)]
    pub ship_service_level: Option<String>,
    #[serde(rename = "OrderTotal", default)]
    pub order_total: Option<Money>,
    #[serde(
        rename = "NumberOfItemsShipped",
        default,
        deserialize_with = "lenient_opt_i64"
    )]
    pub number_of_items_shipped: Option<i64>,
    #[serde(
        rename = "NumberOfItemsUnshipped",
        default,
        deserialize_with = "lenient_opt_i64"
    )]
    pub number_of_items_unshipped: Option<i64>,
    #[serde(rename = "PaymentMethod", default)]
    pub payment_method: Option<String>,
    #[serde(rename = "PaymentMethodDetails", default)]
    pub payment_method_details: Vec<String>,
    #[serde(rename = "MarketplaceId", default)]
    pub marketplace_id: Option<String>,
    #[serde(rename = "OrderType", default)]
    pub order_type: Option<OrderType>,
    #[serde(rename = "EarliestShipDate", default)]
    pub earliest_ship_date: Option<AmazonTime>,
    #[serde(rename = "LatestShipDate", default)]
    pub latest_ship_date: Option<AmazonTime>,
    #[serde(
        rename = "IsBusinessOrder",
        default,
        deserialize_with = "lenient_opt_bool"
    )]
    pub is_business_order: Option<bool>,
    #[serde(rename = "IsPrime", default, deserialize_with = "lenient_opt_bool")]
    pub is_prime: Option<bool>,
    #[serde(
        rename = "IsReplacementOrder",
        default,
        deserialize_with = "lenient_opt_bool"
    )]
    pub is_replacement_order: Option<bool>,
    #[serde(rename = "ReplacedOrderId", default)]
    pub replaced_order_id: Option<String>,
    #[serde(rename = "IsISPU", default, deserialize_with = "lenient_opt_bool")]
    pub is_ispu: Option<bool>,
    #[serde(rename = "IsIBA", default, deserialize_with = "lenient_opt_bool")]
    pub is_iba: Option<bool>,
}

/// `getOrders` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersList {
    #[serde(rename = "Orders", default)]
    pub orders: Vec<Order>,
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
    /// The sandbox sends epoch seconds here (`1.569521782042E9`); kept as read.
    #[serde(rename = "CreatedBefore", default)]
    pub created_before: Option<AmazonTime>,
    #[serde(rename = "LastUpdatedBefore", default)]
    pub last_updated_before: Option<AmazonTime>,
}

/// One order line. `ItemPrice` is price × quantity. Prices are absent while `Pending`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    #[serde(rename = "ASIN")]
    pub asin: String,
    #[serde(rename = "OrderItemId")]
    pub order_item_id: String,
    #[serde(rename = "SellerSKU", default)]
    pub seller_sku: Option<String>,
    #[serde(rename = "Title", default)]
    pub title: Option<String>,
    #[serde(
        rename = "QuantityOrdered",
        default,
        deserialize_with = "lenient_opt_i64"
    )]
    pub quantity_ordered: Option<i64>,
    #[serde(
        rename = "QuantityShipped",
        default,
        deserialize_with = "lenient_opt_i64"
    )]
    pub quantity_shipped: Option<i64>,
    #[serde(rename = "ItemPrice", default)]
    pub item_price: Option<Money>,
    #[serde(rename = "ShippingPrice", default)]
    pub shipping_price: Option<Money>,
    #[serde(rename = "ItemTax", default)]
    pub item_tax: Option<Money>,
    #[serde(rename = "ShippingTax", default)]
    pub shipping_tax: Option<Money>,
    #[serde(rename = "ShippingDiscount", default)]
    pub shipping_discount: Option<Money>,
    #[serde(rename = "ShippingDiscountTax", default)]
    pub shipping_discount_tax: Option<Money>,
    #[serde(rename = "PromotionDiscount", default)]
    pub promotion_discount: Option<Money>,
    #[serde(rename = "PromotionDiscountTax", default)]
    pub promotion_discount_tax: Option<Money>,
    #[serde(rename = "PromotionIds", default)]
    pub promotion_ids: Vec<String>,
    #[serde(rename = "CODFee", default)]
    pub cod_fee: Option<Money>,
    #[serde(rename = "CODFeeDiscount", default)]
    pub cod_fee_discount: Option<Money>,
    /// Sent as the string `"true"`/`"false"`.
    #[serde(rename = "IsGift", default, deserialize_with = "lenient_opt_bool")]
    pub is_gift: Option<bool>,
    #[serde(rename = "ConditionId", default)]
    pub condition_id: Option<String>,
}

/// `getOrderItems` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItemsList {
    #[serde(rename = "AmazonOrderId", default)]
    pub amazon_order_id: String,
    #[serde(rename = "OrderItems", default)]
    pub order_items: Vec<OrderItem>,
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
}
