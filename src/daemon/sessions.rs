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
    /// Open sessions: incremented on insert, decremented by the eviction listener (removal,
    /// idle expiry). moka's own `entry_count` lags behind inserts.
    open: Arc<std::sync::atomic::AtomicU64>,
    max: u64,
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
    /// When full, new sessions are refused ([`Sessions::insert`] returns `None`): evicting open
    /// sessions would let any peer on the socket break other clients' exchanges. The cache's
    /// own capacity, a little higher, is only a backstop.
    pub(crate) fn new(max_sessions: u64, idle_secs: u64) -> Self {
        let open = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = open.clone();
        let inner = Cache::builder()
            .max_capacity(
                max_sessions
                    .saturating_add(max_sessions / 10)
                    .saturating_add(16),
            )
            .eviction_listener(move |_id, _entry, _cause| {
                counter.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            })
            .time_to_idle(Duration::from_secs(idle_secs.max(1)))
            .eviction_policy(EvictionPolicy::lru())
            .build_with_hasher(foldhash::fast::RandomState::default());
        Self {
            inner,
            open,
            max: max_sessions,
        }
    }

    /// Stores `entry` under a fresh random id and returns the id, or `None` when
    /// `daemon.max_sessions` sessions are open.
    pub(crate) async fn insert(&self, entry: SessionEntry) -> Option<String> {
        use std::sync::atomic::Ordering;
        if self.open.load(Ordering::Acquire) >= self.max {
            // Removals and expirations reach the counter when moka runs its pending tasks.
            self.inner.run_pending_tasks().await;
            if self.open.load(Ordering::Acquire) >= self.max {
                return None;
            }
        }
        self.open.fetch_add(1, Ordering::AcqRel);
        let id = format!("{:032x}", rand::random::<u128>());
        self.inner.insert(id.clone(), Arc::new(entry)).await;
        Some(id)
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
