//! The value of a `#[resource]` binding.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A resource declared with `#[resource]`: the value, shared.
///
/// It dereferences to the value, so its methods are reachable as before, and `clone()` is a
/// cheap reference-count increment: clone it into tasks. The tasks and the teardown act on the
/// same instance, so what a task buffers is what `close` flushes.
///
/// ```
/// use graceful_runtime::Resource;
///
/// let names = Resource::new(vec!["db", "cache"]);
/// let for_a_task = names.clone();
/// assert_eq!(for_a_task.len(), 2); // Vec's methods through Deref
/// ```
pub struct Resource<T: ?Sized> {
    value: Arc<T>,
}

impl<T> Resource<T> {
    /// Wraps a value. `#[resource]` does this for you; this is for tests and hand-written code.
    pub fn new(value: T) -> Self {
        Resource {
            value: Arc::new(value),
        }
    }
}

impl<T: ?Sized> Resource<T> {
    /// The shared value as an `Arc`, for APIs that want one.
    pub fn to_arc(this: &Self) -> Arc<T> {
        this.value.clone()
    }
}

impl<T: ?Sized> Clone for Resource<T> {
    fn clone(&self) -> Self {
        Resource {
            value: self.value.clone(),
        }
    }
}

impl<T: ?Sized> Deref for Resource<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized> AsRef<T> for Resource<T> {
    fn as_ref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Resource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Resource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T> From<Arc<T>> for Resource<T> {
    fn from(value: Arc<T>) -> Self {
        Resource { value }
    }
}
