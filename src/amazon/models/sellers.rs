//! Sellers v1 models (`getMarketplaceParticipations`).

use serde::{Deserialize, Serialize};

use super::lenient_opt_bool;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Marketplace {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub country_code: String,
    #[serde(default)]
    pub default_currency_code: String,
    #[serde(default)]
    pub default_language_code: String,
    #[serde(default)]
    pub domain_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participation {
    #[serde(default, deserialize_with = "lenient_opt_bool")]
    pub is_participating: Option<bool>,
    #[serde(default, deserialize_with = "lenient_opt_bool")]
    pub has_suspended_listings: Option<bool>,
}

/// One marketplace the seller can sell in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketplaceParticipation {
    pub marketplace: Marketplace,
    pub participation: Participation,
    #[serde(default)]
    pub store_name: Option<String>,
}
