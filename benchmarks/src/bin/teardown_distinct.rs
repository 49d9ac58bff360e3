//! 10 resources of distinct orders, each taking 50 ms to close: they close one after another.
//! Prints `teardown_us N`, from the first close starting to the last one ending.

use graceful::{BoxError, Shutdown};
use graceful_benches::teardown::Slow;

#[graceful::main(timeout = "10s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    #[resource(order = 1)]
    let r1 = Slow;
    #[resource(order = 2)]
    let r2 = Slow;
    #[resource(order = 3)]
    let r3 = Slow;
    #[resource(order = 4)]
    let r4 = Slow;
    #[resource(order = 5)]
    let r5 = Slow;
    #[resource(order = 6)]
    let r6 = Slow;
    #[resource(order = 7)]
    let r7 = Slow;
    #[resource(order = 8)]
    let r8 = Slow;
    #[resource(order = 9)]
    let r9 = Slow;
    #[resource(order = 10)]
    let r10 = Slow;
    let _held = [r1, r2, r3, r4, r5, r6, r7, r8, r9, r10];
    shutdown.trigger("benchmark");
    Ok(())
}
