//! The static table of supported marketplaces and their SP-API host regions.

/// A host region of SP-API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Na,
    Eu,
}

impl Region {
    pub fn code(self) -> &'static str {
        match self {
            Region::Na => "na",
            Region::Eu => "eu",
        }
    }
}

/// A supported marketplace and how its files are written.
#[derive(Debug)]
pub struct MarketplaceInfo {
    pub code: &'static str,
    pub id: &'static str,
    pub name: &'static str,
    pub currency: &'static str,
    pub region: Region,
    pub domain: &'static str,
    pub language: &'static str,
    /// Comma decimals and `dd.mm.yyyy` dates in settlement files.
    pub eu_locale: bool,
    /// Marketplace-facilitator sales tax (basis points) or `None` (VAT-inclusive prices).
    pub tax_bp: Option<i64>,
    pub order_prefixes: &'static [&'static str],
}

pub const MARKETPLACES: &[MarketplaceInfo] = &[
    MarketplaceInfo {
        code: "US",
        id: "ATVPDKIKX0DER",
        name: "Amazon.com",
        currency: "USD",
        region: Region::Na,
        domain: "www.amazon.com",
        language: "en_US",
        eu_locale: false,
        tax_bp: Some(825),
        order_prefixes: &["111", "112", "113", "114"],
    },
    MarketplaceInfo {
        code: "CA",
        id: "A2EUQ1WTGCTBG2",
        name: "Amazon.ca",
        currency: "CAD",
        region: Region::Na,
        domain: "www.amazon.ca",
        language: "en_CA",
        eu_locale: false,
        tax_bp: Some(1300),
        order_prefixes: &["701", "702"],
    },
    MarketplaceInfo {
        code: "DE",
        id: "A1PA6795UKMFR9",
        name: "Amazon.de",
        currency: "EUR",
        region: Region::Eu,
        domain: "www.amazon.de",
        language: "de_DE",
        eu_locale: true,
        tax_bp: None,
        order_prefixes: &["302", "303", "304", "306"],
    },
    MarketplaceInfo {
        code: "UK",
        id: "A1F83G8C2ARO7P",
        name: "Amazon.co.uk",
        currency: "GBP",
        region: Region::Eu,
        domain: "www.amazon.co.uk",
        language: "en_GB",
        eu_locale: false,
        tax_bp: None,
        order_prefixes: &["202", "203", "204", "205", "206"],
    },
];

pub fn marketplace_by_code(code: &str) -> Option<&'static MarketplaceInfo> {
    MARKETPLACES
        .iter()
        .find(|m| m.code.eq_ignore_ascii_case(code.trim()))
}
