//! Explicit orders, `close = path`, and equal orders closing concurrently:
//! d (order 3) first, then b and c (order 2) together, then a (order 1).

use std::time::Duration;

use graceful::{BoxError, Shutdown};
use graceful_lifecycle_tests::{Behaviour, Probe, event};

struct Plain(&'static str);

async fn close_plain(plain: &Plain) -> Result<(), std::io::Error> {
    event(format!("closing {}", plain.0));
    tokio::time::sleep(Duration::from_millis(300)).await;
    event(format!("closed {}", plain.0));
    Ok(())
}

#[graceful::main(timeout = "5s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    #[resource(order = 2, close = close_plain)]
    let b = Plain("b");
    #[resource(order = 1)]
    let a = Probe::open("a", Behaviour::Ok).await?;
    #[resource(order = 3, close = close_plain)]
    let d = Plain("d");
    #[resource(order = 2, name = "c")]
    let c_probe = Probe::open("c", Behaviour::Slow(Duration::from_millis(300))).await?;

    let task = shutdown.clone();
    shutdown.spawn("holder", async move {
        task.cancelled().await;
        let _ = (&a, &b, &c_probe, &d);
    });
    event("ready");
    Ok(())
}
