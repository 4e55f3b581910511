//! The open server SASL sessions: a bounded map with idle expiry (moka, least-recently-used
//! eviction), keyed by a random 128-bit id.
//!
//! Each entry holds its [`ServerSession`] (and through it the `Arc<Core>` it started with, so a
//! reload never changes the rules under a session in flight) behind an async mutex: concurrent
//! steps on one session run one after the other. A session is bound to the Unix uid that created
//! it; another peer's step is answered as if the id did not exist.
//!
//! A session idles out after `daemon.session_idle_secs` without a step, except one that has sent
//! the RFC 7628 §3.2.2 error challenge and only waits for the client's final `%x01`
//! ([`Sessions::awaiting_final_message`]): the outcome is already known, so it is kept at most
//! [`FINAL_MESSAGE_WAIT`]. A host that never disposes a refused exchange (stock ZooKeeper did
//! not, when its client hung up after the error) would otherwise let any remote peer hold a
//! session slot per refused login for the whole idle time and fill `daemon.max_sessions`.

use crate::sasl::ServerSession;
use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;
use moka::Expiry;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Set once the error challenge was sent: only the client's `%x01` is still expected.
    pub(crate) awaiting_final: AtomicBool,
}

/// How long a session that sent the error challenge waits for the client's `%x01` (at most the
/// idle time). Clients answer at once (RFC 7628 §3.2.3); this only bounds abandoned exchanges.
pub(crate) const FINAL_MESSAGE_WAIT: Duration = Duration::from_secs(5);

/// Per-entry expiry: the idle time after creation and after each step, [`FINAL_MESSAGE_WAIT`]
/// once the session awaits only the final message (reads then no longer extend it).
struct SessionExpiry {
    idle: Duration,
    final_wait: Duration,
}

impl Expiry<String, Arc<SessionEntry>> for SessionExpiry {
    fn expire_after_create(
        &self,
        _id: &String,
        _entry: &Arc<SessionEntry>,
        _now: std::time::Instant,
    ) -> Option<Duration> {
        Some(self.idle)
    }

    fn expire_after_read(
        &self,
        _id: &String,
        entry: &Arc<SessionEntry>,
        _now: std::time::Instant,
        remaining: Option<Duration>,
        _last_modified: std::time::Instant,
    ) -> Option<Duration> {
        if entry.awaiting_final.load(Ordering::Acquire) {
            remaining
        } else {
            Some(self.idle)
        }
    }

    fn expire_after_update(
        &self,
        _id: &String,
        entry: &Arc<SessionEntry>,
        _now: std::time::Instant,
        _remaining: Option<Duration>,
    ) -> Option<Duration> {
        if entry.awaiting_final.load(Ordering::Acquire) {
            Some(self.final_wait.min(self.idle))
        } else {
            Some(self.idle)
        }
    }
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
        let idle = Duration::from_secs(idle_secs.max(1));
        let open = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = open.clone();
        let inner = Cache::builder()
            .max_capacity(
                max_sessions
                    .saturating_add(max_sessions / 10)
                    .saturating_add(16),
            )
            .eviction_listener(move |_id, _entry, cause| {
                // A replaced entry (`awaiting_final_message` re-inserts the same session) is
                // still open.
                if cause != RemovalCause::Replaced {
                    counter.fetch_sub(1, Ordering::AcqRel);
                }
            })
            .expire_after(SessionExpiry {
                idle,
                final_wait: FINAL_MESSAGE_WAIT,
            })
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

    /// Marks the session `id` as waiting only for the client's final `%x01` (it sent the error
    /// challenge): from now on it expires after [`FINAL_MESSAGE_WAIT`] (or the idle time, if
    /// shorter) unless that message arrives. No-op when the session is already gone.
    pub(crate) async fn awaiting_final_message(&self, id: &str, entry: Arc<SessionEntry>) {
        if entry.awaiting_final.swap(true, Ordering::AcqRel) {
            return;
        }
        if self.inner.contains_key(id) {
            // An update applies `SessionExpiry::expire_after_update` to the entry.
            self.inner.insert(id.to_string(), entry).await;
        }
    }

    /// The number of open sessions, after expired and removed ones were counted out.
    pub(crate) async fn len(&self) -> u64 {
        self.inner.run_pending_tasks().await;
        self.open.load(Ordering::Acquire)
    }
}
