// A service's body outside `main`: its `#[resource] let`s register with the `Shutdown` it
// takes; its other parameters are its own.
use graceful::{BoxError, Close, Shutdown};

struct Db;
impl Close for Db {}

#[graceful::service]
async fn service(label: &'static str, shutdown: Shutdown) -> Result<(), BoxError> {
    #![allow(clippy::let_unit_value)]
    #[resource(order = 1)]
    let db = Db;
    #[resource(order = 2, name = "cache", timeout = "1s")]
    let cache: Db = Db;
    let _ = (&*db, &*cache, label);
    shutdown.trigger("done");
    Ok(())
}

/// Without resources the handle is not needed.
#[graceful::service]
async fn helper(count: u32) -> u32 {
    count + 1
}

#[graceful::main]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    assert_eq!(helper(1).await, 2);
    service("label", shutdown).await
}

mod other {
    /// A type of the user's own that happens to be called `Shutdown`.
    pub struct Shutdown;
}

/// The handle by reference, a parameter shadowed before the resources, and a `Shutdown` of
/// the user's own next to graceful's: the resources register with graceful's handle.
#[graceful::service]
async fn awkward(_stop: other::Shutdown, shutdown: &graceful::Shutdown) {
    let shutdown = shutdown.readiness();
    #[resource]
    let db = Db;
    let _ = (&*db, shutdown.is_ready());
}

#[allow(dead_code)]
async fn uses_awkward(shutdown: Shutdown) {
    awkward(other::Shutdown, &shutdown).await;
}
