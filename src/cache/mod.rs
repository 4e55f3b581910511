//! Bounded caches (moka): validation results keyed by a hash of the token, and the token
//! fingerprint used in logs.

use crate::validate::VerifiedToken;
use std::sync::Arc;

/// The first 8 bytes of SHA-256 of `bytes`, as 16 hex characters. The only form in which a
/// token may appear in logs.
pub fn fingerprint(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-256 of a token: the key of the validation cache.
pub type TokenHash = [u8; 32];

/// Hashes a token for cache lookups.
pub fn token_hash(token: &[u8]) -> TokenHash {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Verified tokens by token hash, each kept until its `exp` and bounded in entries and bytes.
#[derive(Clone)]
pub struct ValidationCache {
    inner: moka::sync::Cache<TokenHash, Arc<VerifiedToken>, foldhash::fast::RandomState>,
}

impl std::fmt::Debug for ValidationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidationCache")
            .field("entries", &self.inner.entry_count())
            .finish()
    }
}

struct ExpireAtExp;

impl moka::Expiry<TokenHash, Arc<VerifiedToken>> for ExpireAtExp {
    fn expire_after_create(
        &self,
        _key: &TokenHash,
        value: &Arc<VerifiedToken>,
        _created_at: std::time::Instant,
    ) -> Option<std::time::Duration> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Some(std::time::Duration::from_secs(
            value.expires_at.saturating_sub(now),
        ))
    }
}

impl ValidationCache {
    /// A cache bounded by `max_entries` and approximately `max_bytes`: each entry weighs its
    /// estimated size (twice the token's length plus 512 bytes), and at least
    /// `max_bytes / max_entries`, so both bounds hold.
    pub fn new(max_entries: u64, max_bytes: u64) -> Self {
        let per_entry_budget = (max_bytes / max_entries.max(1)).max(1);
        let inner = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(move |_k: &TokenHash, v: &Arc<VerifiedToken>| -> u32 {
                // At least the per-entry budget, so that the entry bound holds too.
                u64::from(v.weight_bytes)
                    .max(per_entry_budget)
                    .min(u64::from(u32::MAX)) as u32
            })
            .expire_after(ExpireAtExp)
            .build_with_hasher(foldhash::fast::RandomState::default());
        Self { inner }
    }

    /// The cached verification for `hash`, if present and not expired.
    pub fn get(&self, hash: &TokenHash) -> Option<Arc<VerifiedToken>> {
        self.inner.get(hash)
    }

    /// Stores a verification until its `exp`.
    pub fn insert(&self, hash: TokenHash, value: Arc<VerifiedToken>) {
        self.inner.insert(hash, value);
    }

    /// Approximate number of entries.
    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Principal;
    use crate::validate::ValidationMethod;

    fn verified(weight_bytes: u32) -> Arc<VerifiedToken> {
        Arc::new(VerifiedToken {
            issuer: "kc".into(),
            iss: "https://idp.example/realms/r".into(),
            subject: "s".into(),
            principal: Principal::new("alice", Vec::new()),
            expires_at: 4_000_000_000,
            kid: None,
            alg: None,
            claims: Arc::new(serde_json::Map::new()),
            roles: Vec::new(),
            method: ValidationMethod::Jwt,
            audiences: Vec::new(),
            valid_until: 4_000_000_000,
            weight_bytes,
        })
    }

    #[test]
    fn large_results_are_bounded_by_bytes_not_only_by_entries() {
        let cache = ValidationCache::new(100_000, 1024 * 1024);
        for i in 0u32..200 {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_be_bytes());
            cache.insert(key, verified(64 * 1024));
        }
        cache.inner.run_pending_tasks();
        assert!(
            cache.entry_count() <= 16,
            "{} entries of 64 KiB in a 1 MiB cache",
            cache.entry_count()
        );
    }

    #[test]
    fn fingerprints_are_the_first_eight_bytes_of_sha256() {
        assert_eq!(fingerprint(b"abc"), "ba7816bf8f01cfea");
    }
}
