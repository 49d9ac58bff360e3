//! Work after the last close: the drops of main's body, of the resources, of tasks left on the
//! runtime. One that blocks cannot hold the process past the deadline; one that panics cannot
//! turn the exit code into 101 or lose the report.

use std::time::Duration;

use graceful::{BoxError, Close, Resource, Shutdown};
use graceful_lifecycle_tests::{Behaviour, Probe, event, scenario};

/// A resource declared on a function: its last handle is dropped by graceful after the close.
struct Sticky;

impl Close for Sticky {}

impl Drop for Sticky {
    fn drop(&mut self) {
        if scenario() == "resource_drop_blocks" {
            event("dropping sticky");
            std::thread::sleep(Duration::from_secs(20));
        }
    }
}

#[graceful::resource(order = 1)]
async fn sticky() -> Result<Sticky, BoxError> {
    Ok(Sticky)
}

struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        event("main's local dropped");
        panic!("local dropped in anger");
    }
}

struct BlocksOnDrop(&'static str);

impl Drop for BlocksOnDrop {
    fn drop(&mut self) {
        event(self.0);
        std::thread::sleep(Duration::from_secs(20));
    }
}

#[graceful::main(timeout = "2s", flavor = "current_thread")]
async fn main(shutdown: Shutdown, sticky: Resource<Sticky>) -> Result<(), BoxError> {
    #[resource(timeout = "500ms")]
    let db = Probe::open("db", Behaviour::Ok).await?;
    drop(sticky);
    match scenario().as_str() {
        "body_drop_panics" => {
            // The body never ends by itself: the deadline drops it, and with it this local.
            let _local = PanicsOnDrop;
            event("ready");
            std::future::pending::<()>().await;
        }
        "body_drop_blocks" => {
            let _local = BlocksOnDrop("main's local dropped");
            event("ready");
            std::future::pending::<()>().await;
        }
        "leftover_drop_blocks" => {
            // A task spawned around graceful: the runtime drops it when it shuts down.
            tokio::spawn(async {
                let _guard = BlocksOnDrop("leftover task dropped");
                std::future::pending::<()>().await
            });
            event("ready");
            shutdown.cancelled().await;
        }
        _ => {
            event("ready");
            shutdown.cancelled().await;
        }
    }
    let _ = &db;
    Ok(())
}
