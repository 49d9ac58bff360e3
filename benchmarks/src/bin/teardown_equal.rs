//! 10 resources of equal order, each taking 50 ms to close: they close together.
//! Prints `teardown_us N`, from the first close starting to the last one ending.

use graceful::{BoxError, Shutdown};
use graceful_benches::teardown::Slow;

#[graceful::main(timeout = "10s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    #[resource(order = 1)]
    let r1 = Slow;
    #[resource(order = 1)]
    let r2 = Slow;
    #[resource(order = 1)]
    let r3 = Slow;
    #[resource(order = 1)]
    let r4 = Slow;
    #[resource(order = 1)]
    let r5 = Slow;
    #[resource(order = 1)]
    let r6 = Slow;
    #[resource(order = 1)]
    let r7 = Slow;
    #[resource(order = 1)]
    let r8 = Slow;
    #[resource(order = 1)]
    let r9 = Slow;
    #[resource(order = 1)]
    let r10 = Slow;
    let _held = [r1, r2, r3, r4, r5, r6, r7, r8, r9, r10];
    shutdown.trigger("benchmark");
    Ok(())
}
