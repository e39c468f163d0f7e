//! Regions, marketplaces and the hosts to call; the loopback-only rule for plain HTTP.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use url::Url;

use super::Error;

/// Login with Amazon token endpoint (one host for every region).
pub const LWA_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";

/// An SP-API region: each has its own host, and refresh tokens are per region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Region {
    #[serde(rename = "NA")]
    NorthAmerica,
    #[serde(rename = "EU")]
    Europe,
    #[serde(rename = "FE")]
    FarEast,
}

impl Region {
    pub const ALL: [Region; 3] = [Region::NorthAmerica, Region::Europe, Region::FarEast];

    pub fn code(self) -> &'static str {
        match self {
            Region::NorthAmerica => "NA",
            Region::Europe => "EU",
            Region::FarEast => "FE",
        }
    }

    pub fn production_url(self) -> &'static str {
        match self {
            Region::NorthAmerica => "https://sellingpartnerapi-na.amazon.com",
            Region::Europe => "https://sellingpartnerapi-eu.amazon.com",
            Region::FarEast => "https://sellingpartnerapi-fe.amazon.com",
        }
    }

    pub fn sandbox_url(self) -> &'static str {
        match self {
            Region::NorthAmerica => "https://sandbox.sellingpartnerapi-na.amazon.com",
            Region::Europe => "https://sandbox.sellingpartnerapi-eu.amazon.com",
            Region::FarEast => "https://sandbox.sellingpartnerapi-fe.amazon.com",
        }
    }

    /// Legacy AWS region (only mattered for SigV4, kept for display).
    pub fn aws_region(self) -> &'static str {
        match self {
            Region::NorthAmerica => "us-east-1",
            Region::Europe => "eu-west-1",
            Region::FarEast => "us-west-2",
        }
    }

    /// The region serving a marketplace id, `None` for an id this client does not know.
    pub fn for_marketplace(marketplace_id: &str) -> Option<Region> {
        marketplace(marketplace_id).map(|m| m.region)
    }

    pub fn parse(code: &str) -> Option<Region> {
        match code.trim().to_ascii_uppercase().as_str() {
            "NA" => Some(Region::NorthAmerica),
            "EU" => Some(Region::Europe),
            "FE" => Some(Region::FarEast),
            _ => None,
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A marketplace as Amazon documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketplaceInfo {
    pub id: &'static str,
    /// Country code as Amazon writes it (the UK is `GB`).
    pub country: &'static str,
    pub region: Region,
    /// The marketplace's settlement currency.
    pub currency: &'static str,
}

const fn mp(
    id: &'static str,
    country: &'static str,
    region: Region,
    currency: &'static str,
) -> MarketplaceInfo {
    MarketplaceInfo {
        id,
        country,
        region,
        currency,
    }
}

/// Every marketplace in the reference pack.
pub const MARKETPLACES: &[MarketplaceInfo] = &[
    mp("ATVPDKIKX0DER", "US", Region::NorthAmerica, "USD"),
    mp("A2EUQ1WTGCTBG2", "CA", Region::NorthAmerica, "CAD"),
    mp("A1AM78C64UM0Y8", "MX", Region::NorthAmerica, "MXN"),
    mp("A2Q3Y263D00KWC", "BR", Region::NorthAmerica, "BRL"),
    mp("A1F83G8C2ARO7P", "GB", Region::Europe, "GBP"),
    mp("A1PA6795UKMFR9", "DE", Region::Europe, "EUR"),
    mp("A13V1IB3VIYZZH", "FR", Region::Europe, "EUR"),
    mp("APJ6JRA9NG5V4", "IT", Region::Europe, "EUR"),
    mp("A1RKKUPIHCS9HS", "ES", Region::Europe, "EUR"),
    mp("A1805IZSGTT6HS", "NL", Region::Europe, "EUR"),
    mp("A2NODRKZP88ZB9", "SE", Region::Europe, "SEK"),
    mp("A1C3SOZRARQ6R3", "PL", Region::Europe, "PLN"),
    mp("AMEN7PMS3EDWL", "BE", Region::Europe, "EUR"),
    mp("A28R8C7NBKEWEA", "IE", Region::Europe, "EUR"),
    mp("A33AVAJ2PDY3EV", "TR", Region::Europe, "TRY"),
    mp("A2VIGQ35RCS4UG", "AE", Region::Europe, "AED"),
    mp("A17E79C6D8DWNP", "SA", Region::Europe, "SAR"),
    mp("ARBP9OOSHTCHU", "EG", Region::Europe, "EGP"),
    mp("AE08WJ6YKNBMC", "ZA", Region::Europe, "ZAR"),
    mp("A21TJRUUN4KGV", "IN", Region::Europe, "INR"),
    mp("A1VC38T7YXB528", "JP", Region::FarEast, "JPY"),
    mp("A39IBJ37TRP1C6", "AU", Region::FarEast, "AUD"),
    mp("A19VAU5U5O7RUS", "SG", Region::FarEast, "SGD"),
];

pub fn marketplace(id: &str) -> Option<&'static MarketplaceInfo> {
    MARKETPLACES.iter().find(|m| m.id == id.trim())
}

/// Accepts `https` anywhere and plain `http` only to a loopback host (the simulator):
/// an access token must never cross a network in clear text.
pub fn check_url_allowed(url: &Url) -> Result<(), Error> {
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err(Error::Config(format!(
                    "refusing plain http to {}: only https, or http to a loopback simulator, is allowed",
                    url.host_str().unwrap_or("?")
                )))
            }
        }
        other => Err(Error::Config(format!(
            "unsupported URL scheme {other:?}: use https"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_marketplaces() {
        assert_eq!(
            Region::for_marketplace("ATVPDKIKX0DER"),
            Some(Region::NorthAmerica)
        );
        assert_eq!(
            Region::for_marketplace("A1F83G8C2ARO7P"),
            Some(Region::Europe)
        );
        assert_eq!(
            Region::for_marketplace("A1VC38T7YXB528"),
            Some(Region::FarEast)
        );
        assert_eq!(Region::for_marketplace("NOPE"), None);
    }

    #[test]
    fn http_only_to_loopback() {
        let ok = |s: &str| check_url_allowed(&Url::parse(s).unwrap()).is_ok();
        assert!(ok("https://sellingpartnerapi-na.amazon.com"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(ok("http://127.8.0.1:8080"));
        assert!(ok("http://[::1]:9000"));
        assert!(ok("http://localhost:9000"));
        assert!(!ok("http://sellingpartnerapi-na.amazon.com"));
        assert!(!ok("http://10.0.0.1"));
        assert!(!ok("http://localhost.evil.com"));
        assert!(!ok("ftp://127.0.0.1"));
    }
}
