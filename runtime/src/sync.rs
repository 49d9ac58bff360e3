//! Locks that recover from poisoning. graceful's own code never panics while it holds one, and
//! a shutdown must go on regardless: a poisoned lock is taken as it is, not turned into a
//! cascade of panics on the way out.

use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
