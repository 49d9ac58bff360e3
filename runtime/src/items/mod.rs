//! Resources declared on functions, `#[graceful::resource(order = N)] async fn`, anywhere in
//! the program: registered at link time with `inventory` (here), checked against each other
//! and `main`'s parameters (`plan`), opened before `main`'s body (`open`), and handed to the
//! parameters that name their type (`inject`).
//!
//! `inventory` yields them in an unspecified order, so they are always sorted by
//! `(order, path, location)`: the constructor's `module::path::name`, then its
//! `(file, line, column)`, which together are unique in a program.
//! Groups of equal `order` open concurrently (none may depend on another: dependencies must
//! have a lower order), and groups open one after the other in ascending order.

mod inject;
mod open;
mod plan;
mod select;

use std::any::TypeId;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::resources::{ResourceSpec, Stage, close_shared};
use crate::{BoxError, Close, Outcome, Resource, Shutdown};

pub use inject::{Injectable, inject};
pub(crate) use open::open_all;
pub(crate) use plan::check;
pub(crate) use select::select;

/// What a constructor's `open` returns: done once the resource is opened and registered.
pub type OpenFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>>>>;

/// One `#[graceful::resource]` item, as the attribute registers it.
#[derive(Debug)]
pub struct ItemResource {
    /// The name in logs and the report: the function's, unless `name = "..."`.
    pub name: &'static str,
    /// `module::path::function`: the stable tie-break between equal orders, and where to look.
    pub path: &'static str,
    /// Where it is declared, `(file, line, column)`: the last tie-break (two functions in the
    /// bodies of two functions of one module share a path).
    pub location: (&'static str, u32, u32),
    /// `order = N`: opens after every lower order, closes before them.
    pub order: i64,
    /// `timeout = "..."`: the longest its close may take.
    pub timeout: Option<Duration>,
    /// `telemetry`: closes last, after the report is logged (see `ResourceSpec::telemetry`).
    pub telemetry: bool,
    /// The type it provides to later resources and to `main`.
    pub provides: Provides,
    /// Its parameters, resolved by type.
    pub needs: &'static [Dependency],
    /// Calls the constructor with its dependencies, then registers the value.
    pub open: fn(Opening) -> OpenFuture,
}

inventory::collect!(ItemResource);

/// The type a resource provides.
#[derive(Clone, Copy)]
pub struct Provides {
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) shared_type_id: fn() -> TypeId,
    pub(crate) type_name: fn() -> &'static str,
}

impl Provides {
    /// A resource of type `T`, injectable as `T` and as `Resource<T>`.
    pub const fn of<T: Send + Sync + 'static>() -> Self {
        Provides {
            type_id: TypeId::of::<T>,
            shared_type_id: TypeId::of::<Resource<T>>,
            type_name: std::any::type_name::<T>,
        }
    }

    pub(crate) fn type_name(&self) -> &'static str {
        (self.type_name)()
    }
}

impl fmt::Debug for Provides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

/// A parameter, resolved by type: of a resource constructor, or of `main`.
#[derive(Clone, Copy)]
pub struct Dependency {
    pub(crate) type_id: fn() -> TypeId,
    /// The type as written in the source.
    pub(crate) written: &'static str,
    /// The parameter's pattern as written in the source.
    pub(crate) parameter: &'static str,
}

impl Dependency {
    /// A parameter `parameter: written`, of type `T`.
    pub const fn of<T: 'static>(written: &'static str, parameter: &'static str) -> Self {
        Dependency {
            type_id: TypeId::of::<T>,
            written,
            parameter,
        }
    }
}

impl fmt::Debug for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.parameter, self.written)
    }
}

/// Every linked `#[graceful::resource]` item, sorted by `(order, path, location)`.
pub(crate) fn registered() -> Vec<&'static ItemResource> {
    sorted(inventory::iter::<ItemResource>.into_iter().collect())
}

fn sorted(mut items: Vec<&'static ItemResource>) -> Vec<&'static ItemResource> {
    items.sort_by_key(|item| (item.order, item.path, item.location));
    items
}

/// What a constructor's `open` gets: its dependencies, and where to put its value.
pub struct Opening {
    shutdown: Shutdown,
    item: &'static ItemResource,
}

impl Opening {
    fn new(shutdown: Shutdown, item: &'static ItemResource) -> Self {
        Opening { shutdown, item }
    }

    /// A parameter of the constructor. The startup checks guarantee that it exists.
    pub fn inject<P: Injectable>(&self) -> P {
        inject(&self.shutdown)
    }

    /// Registers the opened value: for its dependents, for `Shutdown::resource`, and for the
    /// teardown, which calls `close(value)`.
    pub fn provide<T, C, Fut>(self, value: T, close: C)
    where
        T: Send + Sync + 'static,
        C: FnOnce(Arc<T>) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Outcome,
    {
        self.register(value, close, None);
    }

    /// [`provide`](Self::provide) for a type that implements [`Close`].
    pub fn provide_closeable<T: Close>(self, value: T) {
        self.register(value, close_shared::<T>, Some(T::flush_now));
    }

    fn register<T, C, Fut>(self, value: T, close: C, flush_now: Option<fn(&T)>)
    where
        T: Send + Sync + 'static,
        C: FnOnce(Arc<T>) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Outcome,
    {
        let spec = ResourceSpec {
            name: self.item.name,
            order: Some(self.item.order),
            timeout: self.item.timeout,
            stage: Stage::Item,
            telemetry: self.item.telemetry,
        };
        let state = self.shutdown.state();
        let resource = state.resources().register(spec, value, close, flush_now);
        state.provided().insert(&resource);
    }
}

impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opening")
            .field("resource", &self.item.name)
            .finish_non_exhaustive()
    }
}

/// Items for the tests of the check and the selection.
#[cfg(test)]
pub(super) mod test_items {
    use super::{Dependency, ItemResource, OpenFuture, Opening, Provides};

    fn never(_: Opening) -> OpenFuture {
        unreachable!("the check and the selection open nothing")
    }

    /// An item named `name` (its path too), of `order`, providing `provides`, taking `needs`.
    pub(in crate::items) fn item(
        name: &'static str,
        order: i64,
        provides: Provides,
        needs: &'static [Dependency],
    ) -> &'static ItemResource {
        Box::leak(Box::new(ItemResource {
            name,
            path: name,
            location: (name, 0, 0),
            order,
            timeout: None,
            telemetry: false,
            provides,
            needs,
            open: never,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never(_: Opening) -> OpenFuture {
        unreachable!("sorting opens nothing")
    }

    fn item(
        order: i64,
        path: &'static str,
        location: (&'static str, u32, u32),
    ) -> &'static ItemResource {
        Box::leak(Box::new(ItemResource {
            name: path,
            path,
            location,
            order,
            timeout: None,
            telemetry: false,
            provides: Provides::of::<()>(),
            needs: &[],
            open: never,
        }))
    }

    #[test]
    fn sorted_by_order_then_path_then_location_whatever_the_link_order() {
        let expected = [
            item(-5, "z::last_path", ("z.rs", 1, 1)),
            item(1, "a::db", ("a.rs", 9, 1)),
            item(1, "a::inner", ("a.rs", 3, 5)),
            item(1, "a::inner", ("a.rs", 20, 5)),
            item(1, "b::cache", ("b.rs", 1, 1)),
            item(2, "a::audit", ("a.rs", 1, 1)),
        ];
        let mut linked = expected.to_vec();
        linked.reverse();
        linked.swap(0, 3);
        let order: Vec<_> = sorted(linked)
            .iter()
            .map(|item| (item.path, item.location))
            .collect();
        let want: Vec<_> = expected
            .iter()
            .map(|item| (item.path, item.location))
            .collect();
        assert_eq!(order, want);
    }
}
