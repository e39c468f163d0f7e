//! Query-string parsing and the helpers operations share: dates, NextToken
//! issue/check, and marketplace selection.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};

use super::response::{ApiError, invalid};
use super::{Inner, PageToken};
use crate::sim::amazon::world::{Region, World};

/// Lifetime (simulated) of paging tokens.
const NEXT_TOKEN_SECS: i64 = 3600;

pub(super) struct Query {
    pub(super) pairs: Vec<(String, String)>,
}

impl Query {
    pub(super) fn parse(q: &str) -> Query {
        Query {
            pairs: url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub(super) fn list(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .collect()
    }
    pub(super) fn fingerprint(&self, exclude: &str) -> String {
        let mut p: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != exclude)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        p.sort();
        p.join("&")
    }
    pub(super) fn date(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_date(v)
                .map(Some)
                .ok_or_else(|| invalid(format!("Invalid {name}: `{v}` is not an ISO 8601 date"))),
        }
    }
    pub(super) fn page_size(
        &self,
        name: &str,
        default: usize,
        max: usize,
    ) -> Result<usize, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(invalid(format!("{name} must be between 1 and {max}"))),
            },
        }
    }
}

pub(super) fn parse_date(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(v) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(v, f) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

pub(super) fn new_token(inner: &mut Inner, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..len)
        .map(|_| ALPHABET[inner.rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

pub(super) fn issue_page_token(
    inner: &mut Inner,
    op: &'static str,
    fingerprint: String,
    offset: usize,
    bound: DateTime<Utc>,
    now: DateTime<Utc>,
    query: Vec<(String, String)>,
) -> String {
    if inner.page_tokens.len() > 10_000 {
        inner.page_tokens.retain(|_, t| t.expires >= now);
    }
    let token = new_token(inner, 64);
    inner.page_tokens.insert(
        token.clone(),
        PageToken {
            op,
            fingerprint,
            offset,
            expires: now + Duration::seconds(NEXT_TOKEN_SECS),
            bound,
            query,
        },
    );
    token
}

/// Resolves a NextToken for `op` whose other parameters must repeat the original ones.
pub(super) fn take_page_token(
    inner: &Inner,
    op: &'static str,
    token: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<(usize, DateTime<Utc>), ApiError> {
    let t = inner
        .page_tokens
        .get(token)
        .filter(|t| t.op == op)
        .ok_or_else(|| invalid("Invalid NextToken"))?;
    if t.expires < now {
        return Err(invalid(
            "The NextToken has expired. Start again without a NextToken.",
        ));
    }
    if t.fingerprint != fingerprint {
        return Err(invalid(
            "NextToken must be sent with the same parameters as the request that returned it",
        ));
    }
    Ok((t.offset, t.bound))
}

pub(super) fn markets_in(world: &World, region: Option<Region>) -> Vec<usize> {
    world
        .markets
        .iter()
        .enumerate()
        .filter(|(_, m)| region.is_none_or(|r| m.info.region == r))
        .map(|(i, _)| i)
        .collect()
}

pub(super) fn market_ids(
    world: &World,
    region: Option<Region>,
    ids: &[String],
) -> Result<Vec<usize>, ApiError> {
    let allowed = markets_in(world, region);
    ids.iter()
        .map(|id| {
            allowed
                .iter()
                .copied()
                .find(|&m| world.markets[m].info.id == id)
                .ok_or_else(|| invalid(format!("Invalid MarketplaceId: {id}")))
        })
        .collect()
}

pub(super) fn seeded_empty_page(seed: u64, key: &str) -> bool {
    Sha256::digest(format!("{seed}-empty-{key}"))[0] % 3 == 0
}
