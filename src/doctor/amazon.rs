//! Amazon: each seller's token exchange, marketplace participations and rate limit.

use std::sync::Arc;
use std::time::Duration;

use super::{Options, Report};
use crate::amazon::{self, Operation, RateLimiter, SpApiClient};
use crate::config::{Credentials, SellerConfig};
use crate::sync::context::sp_api_builder;

/// The SP-API client for a configured seller (its own limiter: a doctor run is its own process).
pub fn sp_api_client(
    seller: &SellerConfig,
    credentials: &Credentials,
    http_timeout: Duration,
) -> Result<SpApiClient, String> {
    sp_api_builder(seller, credentials)
        .map_err(|e| e.to_string())?
        .limiter(Arc::new(RateLimiter::new()))
        .retry(amazon::Backoff {
            max_attempts: 3,
            ..amazon::DEFAULT_RETRY
        })
        .request_timeout(http_timeout)
        .build()
        .map_err(|e| e.to_string())
}

pub(super) async fn check_seller(
    seller: &SellerConfig,
    credentials: &Credentials,
    opts: &Options,
    report: &mut Report,
) {
    let area = format!("seller {}", seller.name);
    let client = match sp_api_client(seller, credentials, opts.http_timeout) {
        Ok(c) => c,
        Err(e) => {
            report.fail(area, e);
            return;
        }
    };
    match client.authenticate().await {
        Ok(()) => report.ok(
            area.clone(),
            format!(
                "Login with Amazon token exchange at {} ({} region)",
                seller.token_endpoint().url().host_str().unwrap_or("?"),
                seller.region
            ),
        ),
        Err(e) => {
            let what = match &e {
                amazon::Error::ReauthoriseSeller { .. } => {
                    " — re-authorise the app in Seller Central (Apps and Services > Manage Your Apps), then store the new refresh token with `ml-connector credentials set`"
                }
                amazon::Error::Lwa { .. } => {
                    " — correct the client id and secret with `ml-connector credentials set`"
                }
                _ => " — check lwa_endpoint and the network",
            };
            report.fail(area, format!("token exchange failed: {e}{what}"));
            return;
        }
    }
    let participations = match client.marketplace_participations().await {
        Ok(p) => p,
        Err(e) => {
            report.fail(
                area,
                format!(
                    "getMarketplaceParticipations at {} failed: {e} — check endpoint and the app's roles",
                    seller.api_endpoint()
                ),
            );
            return;
        }
    };
    for id in &seller.marketplaces {
        let area = format!("seller {} marketplace {id}", seller.name);
        match participations
            .iter()
            .find(|p| p.marketplace.id == id.as_str())
        {
            None => report.fail(
                area,
                format!(
                    "not among the seller's marketplaces ({}): remove it from [[seller]] marketplaces or authorise the app for it",
                    participations
                        .iter()
                        .map(|p| p.marketplace.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some(p) if p.participation.is_participating != Some(true) => report.fail(
                area,
                format!(
                    "{} is listed but the seller does not participate in it: remove it from the configuration or activate it in Seller Central",
                    p.marketplace.name
                ),
            ),
            Some(p) => {
                let label = format!(
                    "participating ({}, {}, {})",
                    p.marketplace.name, p.marketplace.country_code, p.marketplace.default_currency_code
                );
                if p.participation.has_suspended_listings == Some(true) {
                    report.warn(area, format!("{label}, but with suspended listings"));
                } else {
                    report.ok(area, label);
                }
            }
        }
    }
    let unconfigured: Vec<&str> = participations
        .iter()
        .filter(|p| p.participation.is_participating == Some(true))
        .map(|p| p.marketplace.id.as_str())
        .filter(|id| !seller.marketplaces.iter().any(|m| m.as_str() == *id))
        .collect();
    if !unconfigured.is_empty() {
        report.warn(
            area.clone(),
            format!(
                "also participates in {} (not configured: its money will not be pulled)",
                unconfigured.join(", ")
            ),
        );
    }
    let op = Operation::GetMarketplaceParticipations;
    let plan = client.limiter().plan(op);
    let documented = op.default_plan();
    let headroom = client.limiter().available(op).max(0.0).floor();
    let line = format!(
        "rate limit {op}: {} request(s)/s{}, burst {}, {headroom} call(s) of headroom now",
        plan.rate,
        if plan.rate == documented.rate {
            " (as documented)".to_string()
        } else {
            format!(" (Amazon says; documented {})", documented.rate)
        },
        plan.burst
    );
    if plan.rate < documented.rate {
        report.warn(
            area,
            format!("{line} — lower than documented: syncs will be slower"),
        );
    } else {
        report.ok(area, line);
    }
}
