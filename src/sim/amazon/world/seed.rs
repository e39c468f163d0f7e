//! Seeded randomness (one independent RNG per purpose, derived by hashing the seed)
//! and small money/identifier helpers used by the generator.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::{Decimal, RoundingStrategy};
use sha2::{Digest, Sha256};

pub(super) fn hash_seed(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

pub(super) fn rng_for(seed: u64, what: &str, a: u64, b: u64) -> StdRng {
    let h = hash_seed(&[
        &seed.to_le_bytes(),
        what.as_bytes(),
        &a.to_le_bytes(),
        &b.to_le_bytes(),
    ]);
    StdRng::from_seed(h)
}

pub fn money(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

pub(super) fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

pub(super) fn pct_bp(amount: Decimal, bp: i64) -> Decimal {
    round2(amount * Decimal::new(bp, 4))
}

pub(super) const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub(super) const UPPER_NUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

pub(super) fn rand_str(rng: &mut StdRng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

pub(super) fn digits(rng: &mut StdRng, len: usize) -> String {
    let mut s = String::with_capacity(len);
    s.push(char::from(b'1' + rng.random_range(0..9u8)));
    for _ in 1..len {
        s.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    s
}

pub(super) fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
