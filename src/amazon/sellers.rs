//! Sellers v1: the marketplaces a seller participates in (a good first call).

use super::Error;
use super::client::SpApiClient;
use super::limiter::Operation;
use super::models::sellers::MarketplaceParticipation;

impl SpApiClient {
    pub async fn marketplace_participations(&self) -> Result<Vec<MarketplaceParticipation>, Error> {
        self.get_payload(
            Operation::GetMarketplaceParticipations,
            "/sellers/v1/marketplaceParticipations",
            &[],
        )
        .await
    }
}
