//! Locking a std mutex whose data outlives a panic.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a std mutex; a poisoned one only means a panic elsewhere, the data is still usable.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
