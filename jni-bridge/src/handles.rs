//! Opaque, checked handles: the `long` ids Java holds for native objects.
//!
//! A handle is a `u64` made of three parts:
//!
//! ```text
//!  63      56 55                  32 31                         0
//! ┌──────────┬──────────────────────┬────────────────────────────┐
//! │ kind tag │ generation (24 bits) │ slot index (32 bits)       │
//! └──────────┴──────────────────────┴────────────────────────────┘
//! ```
//!
//! Each kind (cores, server sessions) has its own [`Registry`] with its own non-zero tag, so a
//! core id passed where a session id is expected is refused instead of misread. A slot's
//! generation changes every time its value is removed, so a disposed (stale) id no longer
//! matches even after the slot is reused. Generations run from 1 to 2^24−1 and then wrap to 1;
//! together with the tag this means 0 is never a valid handle. Looking up an unknown id is an
//! error ([`HandleError::Unknown`]), never undefined behaviour: the registry only hands out
//! clones of the `Arc` it holds.

use std::sync::{Arc, Mutex, MutexGuard};

/// Bits of the generation counter.
const GENERATION_BITS: u32 = 24;
/// The largest generation; the next one is 1.
const GENERATION_MAX: u32 = (1 << GENERATION_BITS) - 1;

/// Why a handle could not be used or created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HandleError {
    /// The id is 0, stale (already disposed), of another kind, or was never issued.
    #[error("saslgate: unknown or disposed {kind} handle")]
    Unknown {
        /// The kind of handle expected (`core`, `server session`).
        kind: &'static str,
    },
    /// All 2^32 slots of this kind are in use.
    #[error("saslgate: too many live {kind} handles")]
    Exhausted {
        /// The kind of handle.
        kind: &'static str,
    },
}

/// One slot: the generation of the id that may use it, and the value while it is live.
struct Slot<T> {
    generation: u32,
    value: Option<Arc<T>>,
}

/// The slots of one registry, with the free list of vacant slot indexes (reused LIFO).
struct Slots<T> {
    entries: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

/// A registry of live objects of one kind, addressed by handle ids.
pub(crate) struct Registry<T> {
    kind: &'static str,
    tag: u8,
    slots: Mutex<Slots<T>>,
}

impl<T> Registry<T> {
    /// An empty registry for `kind` (named in error messages) with the id tag `tag` (non-zero,
    /// below 0x80 so ids stay positive as Java `long`s).
    pub(crate) const fn new(kind: &'static str, tag: u8) -> Self {
        assert!(tag != 0 && tag < 0x80, "handle tags are 1..=0x7f");
        Self {
            kind,
            tag,
            slots: Mutex::new(Slots {
                entries: Vec::new(),
                free: Vec::new(),
                live: 0,
            }),
        }
    }

    /// The slots; a poisoned lock is taken over (every mutation below leaves the slots
    /// consistent at each step, so a panic elsewhere cannot corrupt them).
    fn slots(&self) -> MutexGuard<'_, Slots<T>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn encode(&self, index: u32, generation: u32) -> u64 {
        (u64::from(self.tag) << 56) | (u64::from(generation) << 32) | u64::from(index)
    }

    /// Splits `id` into (slot index, generation) if it carries this registry's tag.
    fn decode(&self, id: u64) -> Option<(usize, u32)> {
        if (id >> 56) as u8 != self.tag {
            return None;
        }
        let generation = ((id >> 32) as u32) & GENERATION_MAX;
        let index = (id & u64::from(u32::MAX)) as usize;
        Some((index, generation))
    }

    /// Stores `value` and returns its new id (never 0).
    ///
    /// # Errors
    /// [`HandleError::Exhausted`] when 2^32 handles of this kind are live.
    pub(crate) fn insert(&self, value: T) -> Result<u64, HandleError> {
        let value = Arc::new(value);
        let mut slots = self.slots();
        let index = match slots.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(slots.entries.len())
                    .map_err(|_| HandleError::Exhausted { kind: self.kind })?;
                slots.entries.push(Slot {
                    generation: 1,
                    value: None,
                });
                index
            }
        };
        let slot = &mut slots.entries[index as usize];
        slot.value = Some(value);
        let generation = slot.generation;
        slots.live += 1;
        Ok(self.encode(index, generation))
    }

    /// The object behind `id`.
    ///
    /// # Errors
    /// [`HandleError::Unknown`] when `id` is 0, stale, of another kind or never issued.
    pub(crate) fn get(&self, id: u64) -> Result<Arc<T>, HandleError> {
        let unknown = HandleError::Unknown { kind: self.kind };
        let (index, generation) = self.decode(id).ok_or_else(|| unknown.clone())?;
        let slots = self.slots();
        match slots.entries.get(index) {
            Some(Slot {
                generation: g,
                value: Some(value),
            }) if *g == generation => Ok(value.clone()),
            _ => Err(unknown),
        }
    }

    /// Removes the object behind `id` and returns it (the caller drops it outside the lock).
    /// Returns `None` for 0, a stale or a foreign id: removing twice is a no-op.
    pub(crate) fn remove(&self, id: u64) -> Option<Arc<T>> {
        let (index, generation) = self.decode(id)?;
        let mut slots = self.slots();
        let slot = slots.entries.get_mut(index)?;
        if slot.generation != generation || slot.value.is_none() {
            return None;
        }
        let value = slot.value.take();
        slot.generation = next_generation(slot.generation);
        slots.live -= 1;
        // `index` came from an id we issued, so it fits in u32.
        slots.free.push(index as u32);
        value
    }

    /// The number of live handles.
    pub(crate) fn live(&self) -> usize {
        self.slots().live
    }

    /// Sets the generation of slot `index` (for the wrap-around test).
    #[cfg(test)]
    fn set_generation(&self, index: usize, generation: u32) {
        if let Some(slot) = self.slots().entries.get_mut(index) {
            slot.generation = generation;
        }
    }
}

/// The generation after `g`: 1, 2, …, 2^24−1, then 1 again (0 is never used).
fn next_generation(g: u32) -> u32 {
    if g >= GENERATION_MAX {
        1
    } else {
        g + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry<String> {
        Registry::new("test", 0x11)
    }

    #[test]
    fn returns_the_value_for_a_live_id() {
        let r = registry();
        let id = r.insert("a".to_string()).expect("insert");
        assert_ne!(id, 0);
        assert_eq!(r.get(id).expect("live").as_str(), "a");
        assert_eq!(r.live(), 1);
    }

    #[test]
    fn rejects_zero() {
        let r = registry();
        r.insert("a".to_string()).expect("insert");
        assert_eq!(r.get(0), Err(HandleError::Unknown { kind: "test" }));
        assert!(r.remove(0).is_none());
    }

    #[test]
    fn rejects_a_stale_id_after_the_slot_is_reused() {
        let r = registry();
        let old = r.insert("old".to_string()).expect("insert");
        assert_eq!(r.remove(old).as_deref().map(String::as_str), Some("old"));
        let new = r.insert("new".to_string()).expect("insert");
        assert_ne!(old, new, "a reused slot gets a new generation");
        assert_eq!(old & 0xffff_ffff, new & 0xffff_ffff, "same slot reused");
        assert_eq!(r.get(old), Err(HandleError::Unknown { kind: "test" }));
        assert_eq!(r.get(new).expect("live").as_str(), "new");
    }

    #[test]
    fn a_second_dispose_is_a_no_op() {
        let r = registry();
        let id = r.insert("a".to_string()).expect("insert");
        assert!(r.remove(id).is_some());
        assert!(r.remove(id).is_none());
        assert_eq!(r.live(), 0);
        // and does not disturb the next occupant of the slot
        let next = r.insert("b".to_string()).expect("insert");
        assert!(r.remove(id).is_none());
        assert_eq!(r.get(next).expect("live").as_str(), "b");
        assert_eq!(r.live(), 1);
    }

    #[test]
    fn rejects_an_id_of_another_kind() {
        let cores: Registry<String> = Registry::new("core", 0x21);
        let sessions: Registry<String> = Registry::new("server session", 0x22);
        let core = cores.insert("core".to_string()).expect("insert");
        sessions.insert("session".to_string()).expect("insert");
        assert_eq!(
            sessions.get(core),
            Err(HandleError::Unknown {
                kind: "server session"
            })
        );
        assert!(sessions.remove(core).is_none());
        assert_eq!(sessions.live(), 1);
    }

    #[test]
    fn rejects_ids_never_issued() {
        let r = registry();
        let id = r.insert("a".to_string()).expect("insert");
        assert!(r.get(id + 1).is_err(), "slot index out of range");
        assert!(r.get(id + (1 << 32)).is_err(), "wrong generation");
        assert!(r.get(u64::MAX).is_err());
        assert!(r.get(i64::MIN as u64).is_err());
    }

    #[test]
    fn generation_wraps_from_the_maximum_to_one_never_zero() {
        assert_eq!(next_generation(GENERATION_MAX), 1);
        assert_eq!(next_generation(1), 2);

        let r = registry();
        let first = r.insert("a".to_string()).expect("insert");
        r.remove(first);
        r.set_generation(0, GENERATION_MAX);
        let at_max = r.insert("max".to_string()).expect("insert");
        assert_eq!((at_max >> 32) as u32 & GENERATION_MAX, GENERATION_MAX);
        r.remove(at_max);
        let wrapped = r.insert("wrapped".to_string()).expect("insert");
        assert_eq!((wrapped >> 32) as u32 & GENERATION_MAX, 1);
        assert_eq!(r.get(at_max), Err(HandleError::Unknown { kind: "test" }));
        assert_eq!(r.get(wrapped).expect("live").as_str(), "wrapped");
    }

    #[test]
    fn many_create_dispose_cycles_leave_nothing_live() {
        let r = registry();
        let keep = r.insert("keep".to_string()).expect("insert");
        for i in 0..10_000 {
            let id = r.insert(i.to_string()).expect("insert");
            assert!(r.remove(id).is_some());
        }
        assert_eq!(r.live(), 1);
        assert_eq!(r.get(keep).expect("live").as_str(), "keep");
    }

    #[test]
    fn ids_are_positive_java_longs() {
        let r: Registry<u8> = Registry::new("max tag", 0x7f);
        let id = r.insert(1).expect("insert");
        assert!(i64::try_from(id).is_ok());
    }
}
