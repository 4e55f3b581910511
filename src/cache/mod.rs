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
    /// A cache bounded by `max_entries` and approximately `max_bytes` (claims size estimate).
    pub fn new(max_entries: u64, max_bytes: u64) -> Self {
        let per_entry_budget = (max_bytes / max_entries.max(1)).max(1);
        let inner = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(move |_k: &TokenHash, v: &Arc<VerifiedToken>| -> u32 {
                let approx = 512 + v.claims.len() as u64 * 64;
                approx.max(per_entry_budget).min(u32::MAX as u64) as u32
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

    /// Drops every entry (after a reload or a key rotation that removed a key).
    pub fn clear(&self) {
        self.inner.invalidate_all();
    }

    /// Approximate number of entries.
    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }
}
