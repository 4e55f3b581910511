//! The open server SASL sessions: a bounded map with idle expiry (moka, least-recently-used
//! eviction), keyed by a random 128-bit id.
//!
//! Each entry holds its [`ServerSession`] (and through it the `Arc<Core>` it started with, so a
//! reload never changes the rules under a session in flight) behind an async mutex: concurrent
//! steps on one session run one after the other. A session is bound to the Unix uid that created
//! it; another peer's step is answered as if the id did not exist.

use crate::sasl::ServerSession;
use moka::future::Cache;
use moka::policy::EvictionPolicy;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// One open session. Fields other than `session` are immutable, so reading them never waits
/// for a step in progress.
#[derive(Debug)]
pub(crate) struct SessionEntry {
    /// The SASL state machine and what the audit event needs; steps lock it.
    pub(crate) state: Mutex<SessionState>,
    /// The `[[services]] name` it authenticates for.
    pub(crate) service: String,
    /// The peer uid that created it (`None` over TCP).
    pub(crate) owner_uid: Option<u32>,
    /// When it was created.
    pub(crate) created: Instant,
}

/// The mutable part of a session.
#[derive(Debug)]
pub(crate) struct SessionState {
    /// The SASL state machine.
    pub(crate) session: ServerSession,
    /// Time spent inside steps so far.
    pub(crate) busy: Duration,
}

/// The bounded session map.
#[derive(Clone)]
pub(crate) struct Sessions {
    inner: Cache<String, Arc<SessionEntry>, foldhash::fast::RandomState>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("entries", &self.inner.entry_count())
            .finish()
    }
}

impl Sessions {
    /// A map of at most `max_sessions` entries, each dropped after `idle_secs` without a step.
    pub(crate) fn new(max_sessions: u64, idle_secs: u64) -> Self {
        let inner = Cache::builder()
            .max_capacity(max_sessions)
            .time_to_idle(Duration::from_secs(idle_secs.max(1)))
            .eviction_policy(EvictionPolicy::lru())
            .build_with_hasher(foldhash::fast::RandomState::default());
        Self { inner }
    }

    /// Stores `entry` under a fresh random id and returns the id.
    pub(crate) async fn insert(&self, entry: SessionEntry) -> String {
        let id = format!("{:032x}", rand::random::<u128>());
        self.inner.insert(id.clone(), Arc::new(entry)).await;
        id
    }

    /// The session `id`, if it exists and belongs to `peer_uid`.
    pub(crate) async fn get(&self, id: &str, peer_uid: Option<u32>) -> Option<Arc<SessionEntry>> {
        let entry = self.inner.get(id).await?;
        (entry.owner_uid == peer_uid).then_some(entry)
    }

    /// Removes the session `id` (no-op when absent).
    pub(crate) async fn remove(&self, id: &str) {
        self.inner.invalidate(id).await;
    }

    /// The number of open sessions (approximate: pending evictions may still be counted).
    pub(crate) fn len(&self) -> u64 {
        self.inner.entry_count()
    }
}
