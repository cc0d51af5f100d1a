//! Everything the server shares between requests and with the `Emulator` handle.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use crate::calls::CallLog;
use crate::faults::{Faults, Injector};
use crate::fleet::Fleet;
use crate::store::Estate;

/// State behind one `std` mutex: every critical section is short and never awaits.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    requests: AtomicU64,
    /// Seconds added to the real time in service answers' `Date` header (see [`Shared::clock_offset`]).
    clock_offset: AtomicI64,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) estate: Estate,
    pub(crate) injector: Injector,
    pub(crate) calls: CallLog,
}

impl Shared {
    /// The state of a fresh emulator whose call log keeps at most `max_calls` calls.
    pub(crate) fn new(fleet: Fleet, faults: Faults, max_calls: usize) -> Self {
        let mut estate = Estate::default();
        estate.replace(fleet);
        Shared {
            state: Mutex::new(State { estate, injector: Injector::new(faults), calls: CallLog::new(max_calls) }),
            requests: AtomicU64::new(0),
            clock_offset: AtomicI64::new(0),
        }
    }

    /// Locks the state; a panic elsewhere cannot leave it half-updated in a way
    /// that matters to a test double, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How far (in seconds, either way) the emulator's clock is off: service answers' `Date` header says the real
    /// time plus this, so a client's clock-skew handling can be tested. Outside the mutex: every answer reads it.
    pub(crate) fn clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::Relaxed)
    }

    pub(crate) fn set_clock_offset(&self, seconds: i64) {
        self.clock_offset.store(seconds, Ordering::Relaxed);
    }

    /// The emulator's clock: the real time plus [`Shared::clock_offset`]. Service answers' `Date` header shows it, and
    /// what a call creates is stamped with it, as a server whose clock is off would stamp it.
    pub(crate) fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        let offset = self.clock_offset();
        let shift = Duration::from_secs(offset.unsigned_abs());
        let shifted = if offset >= 0 { now.checked_add(shift) } else { now.checked_sub(shift) };
        shifted.unwrap_or(now)
    }

    /// A fresh, UUID-shaped request id.
    pub(crate) fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        format!("e0a1b2c3-0000-4000-8000-{n:012x}")
    }
}
