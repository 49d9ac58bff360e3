//! Parameters resolved by type, of `main` and of the resource constructors: the `Shutdown`
//! handle, or an item resource.

use crate::Shutdown;

/// A parameter resolved by type: the `Shutdown` handle, or an item resource as `T` (a clone)
/// or as `Resource<T>` (the shared instance).
///
/// # Panics
///
/// If no item resource provides `P`. The startup check rules that out before `main` or any
/// constructor runs.
pub fn inject<P: Injectable>(shutdown: &Shutdown) -> P {
    if let Some(shutdown) = (shutdown as &dyn std::any::Any).downcast_ref::<P>() {
        return shutdown.clone();
    }
    shutdown.state().provided().get::<P>().unwrap_or_else(|| {
        panic!(
            "no resource provides `{}` (the startup check should have said so)",
            std::any::type_name::<P>()
        )
    })
}

/// A parameter type: a clone of what is stored (the handle, `T` or `Resource<T>`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter: parameters are clones of a resource, and `{Self}` is not `Clone + Send + Sync + 'static`",
    label = "not `Clone + Send + Sync + 'static`",
    note = "take `graceful::Resource<{Self}>` to share the one instance that the teardown closes, or implement `Clone` if its clones share their state (as a pool's do)"
)]
pub trait Injectable: Clone + Send + Sync + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Clone + Send + Sync + 'static> Injectable for T {}
