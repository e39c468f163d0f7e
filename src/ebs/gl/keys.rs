//! Line keys (REFERENCE23): how EBS rows and journal lines are found again by the batch
//! line they came from.

use sha2::Digest;

/// Stable REFERENCE23 value of a line: the same inputs always give the same 32 hex digits.
pub fn line_key(settlement_id: &str, period: &str, account: &str, label: &str) -> String {
    let mut h = sha2::Sha256::new();
    for part in [settlement_id, period, account, label] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..16])
}
