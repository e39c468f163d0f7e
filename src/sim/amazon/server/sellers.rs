//! Sellers API v1: getMarketplaceParticipations.

use serde_json::{Value, json};

use super::Inner;
use super::dispatch::OpCall;
use super::query::markets_in;
use super::response::{OpResult, ok_json};

impl OpCall<'_> {
    pub(super) fn participations(&self, inner: &mut Inner) -> OpResult {
        let world = &inner.world;
        let list: Vec<Value> = markets_in(world, self.region)
            .into_iter()
            .map(|m| {
                let info = world.markets[m].info;
                json!({
                    "marketplace": {
                        "id": info.id,
                        "name": info.name,
                        "countryCode": info.code,
                        "defaultCurrencyCode": info.currency,
                        "defaultLanguageCode": info.language,
                        "domainName": info.domain,
                    },
                    "participation": {"isParticipating": true, "hasSuspendedListings": false},
                    "storeName": "Sim Seller Store",
                })
            })
            .collect();
        ok_json(&json!({"payload": list}))
    }
}
