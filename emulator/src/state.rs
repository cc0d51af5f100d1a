//! Everything the server shares between requests and with the `Emulator` handle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::calls::Call;
use crate::faults::{Faults, Injector};
use crate::fleet::Fleet;
use crate::store::Estate;

/// State behind one `std` mutex: every critical section is short and never awaits.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    requests: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) estate: Estate,
    pub(crate) injector: Injector,
    pub(crate) calls: Vec<Call>,
}

impl Shared {
    pub(crate) fn new(fleet: Fleet, faults: Faults) -> Self {
        let mut estate = Estate::default();
        estate.replace(fleet);
        Shared {
            state: Mutex::new(State { estate, injector: Injector::new(faults), calls: Vec::new() }),
            requests: AtomicU64::new(0),
        }
    }

    /// Locks the state; a panic elsewhere cannot leave it half-updated in a way
    /// that matters to a test double, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh, UUID-shaped request id.
    pub(crate) fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        format!("e0a1b2c3-0000-4000-8000-{n:012x}")
    }
}
