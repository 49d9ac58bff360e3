//! Resources: what a service opens and its teardown closes, in reverse order.
//!
//! - [`Resource<T>`] is the value of a `#[resource]` binding, shared by the tasks and the
//!   teardown; [`Close`] is how a type closes (`close`).
//! - [`ResourceSpec`] is how the attribute names and orders it; `registry` keeps each one
//!   registered with its close, and `teardown` closes them, group by group, off the runtime's
//!   workers, the first group on a thread made before it is needed (`standby`).
//! - `provided` holds the resources declared on functions by type, for the parameters of
//!   later resources and of `main` (opened by `crate::items`).

mod close;
mod provided;
mod registry;
mod standby;
mod teardown;

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

pub use close::Close;
pub(crate) use close::close_shared;
pub(crate) use provided::Provided;
pub(crate) use registry::Resources;
pub(crate) use teardown::Closer;

/// When a resource was created relative to the others: item resources (declared with
/// `#[graceful::resource]` on a function) open before those declared in `main`'s body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Opened before `main`'s body.
    Item = 0,
    /// Opened by a `let` in `main`'s body.
    Body = 1,
}

/// How a resource is named and ordered, as written in its attribute.
#[derive(Clone, Debug)]
pub struct ResourceSpec {
    /// The name in logs and the report (the binding's name unless `name = "..."`).
    pub name: &'static str,
    /// `order = N`; `None` means "in creation order".
    pub order: Option<i64>,
    /// `timeout = "..."`: the longest its close may take.
    pub timeout: Option<Duration>,
    /// Where it was declared.
    pub stage: Stage,
    /// `telemetry`: it carries the logs or traces, so it closes last, after the report is
    /// logged, and is flushed ([`Close::flush_now`]) if the process must end at once.
    pub telemetry: bool,
}

/// A resource declared with `#[resource]`: the value, shared.
///
/// It dereferences to the value, so its methods are reachable as before, and `clone()` is a
/// cheap reference-count increment: clone it into tasks. The tasks and the teardown act on the
/// same instance, so what a task buffers is what `close` flushes.
///
/// ```
/// use graceful::Resource;
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
    ///
    /// ```
    /// let pool = graceful::Resource::new(String::from("pool"));
    /// assert_eq!(pool.len(), 4);
    /// ```
    pub fn new(value: T) -> Self {
        Resource {
            value: Arc::new(value),
        }
    }
}

impl<T: ?Sized> Resource<T> {
    /// The shared value as an `Arc`, for APIs that want one.
    ///
    /// ```
    /// use graceful::Resource;
    ///
    /// let pool = Resource::new(7);
    /// let shared: std::sync::Arc<i32> = Resource::to_arc(&pool);
    /// assert_eq!(*shared, 7);
    /// ```
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
