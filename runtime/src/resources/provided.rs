//! The resources declared on functions (`#[graceful::resource]` items): by type once open, what
//! their dependents' parameters and [`Shutdown::resource`](crate::Shutdown::resource) are
//! served from; by name while they open, for the deadline to name them.
//!
//! Each resource of type `T` is stored under two keys, `T` and `Resource<T>`, so that a
//! parameter of either type is one map lookup and one `Clone` of the stored value: `T`
//! clones the value (for handle types such as pools, whose clones share state), and
//! `Resource<T>` shares the one instance that the teardown closes.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Resource;
use crate::sync::lock;

type Shared = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
pub(crate) struct Provided {
    by_type: Mutex<HashMap<TypeId, Shared>>,
    /// The group being opened, until each of them is opened or has failed.
    opening: Mutex<Vec<&'static str>>,
}

impl Provided {
    pub(crate) fn insert<T: Send + Sync + 'static>(&self, resource: &Resource<T>) {
        let value: Shared = Resource::<T>::to_arc(resource);
        let shared: Shared = Arc::new(resource.clone());
        let mut by_type = self.lock();
        by_type.insert(TypeId::of::<T>(), value);
        by_type.insert(TypeId::of::<Resource<T>>(), shared);
    }

    /// A clone of the value stored under `P` (either a resource's `T` or its `Resource<T>`).
    pub(crate) fn get<P: Clone + 'static>(&self) -> Option<P> {
        let by_type = self.lock();
        let value = by_type.get(&TypeId::of::<P>())?;
        value.downcast_ref::<P>().cloned()
    }

    /// The shared instance of the resource of type `T`.
    pub(crate) fn resource<T: Send + Sync + 'static>(&self) -> Option<Resource<T>> {
        let value = self.lock().get(&TypeId::of::<T>())?.clone();
        value.downcast::<T>().ok().map(Resource::from)
    }

    /// Forgets every value: a resource holding a `Shutdown` would otherwise keep the state
    /// alive through this map.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// A group starts opening.
    pub(crate) fn set_opening(&self, names: Vec<&'static str>) {
        *lock(&self.opening) = names;
    }

    /// One of the resources being opened is done (opened or failed).
    pub(crate) fn opened(&self, name: &'static str) {
        let mut opening = lock(&self.opening);
        if let Some(at) = opening.iter().position(|opening| *opening == name) {
            opening.remove(at);
        }
    }

    /// The resources being opened now.
    pub(crate) fn opening(&self) -> Vec<&'static str> {
        lock(&self.opening).clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TypeId, Shared>> {
        lock(&self.by_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Pool(u32);

    #[test]
    fn a_resource_is_found_by_its_type_and_as_a_shared_resource() {
        let provided = Provided::default();
        let pool = Resource::new(Pool(7));
        provided.insert(&pool);

        assert_eq!(provided.get::<Pool>(), Some(Pool(7)));
        let shared = provided
            .get::<Resource<Pool>>()
            .expect("stored as Resource<Pool> too");
        assert!(Arc::ptr_eq(
            &Resource::to_arc(&shared),
            &Resource::to_arc(&pool)
        ));
        let fetched = provided.resource::<Pool>().expect("fetched by type");
        assert!(Arc::ptr_eq(
            &Resource::to_arc(&fetched),
            &Resource::to_arc(&pool)
        ));
        assert_eq!(provided.get::<u32>(), None);
    }
}
