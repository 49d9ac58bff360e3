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
