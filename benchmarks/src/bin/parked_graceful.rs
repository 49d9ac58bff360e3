//! N tasks parked until shutdown and 10 resources, on graceful. `parked_graceful N`.

use graceful::{BoxError, Shutdown};
use graceful_benches::Conn;

#[graceful::main(timeout = "60s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    #[resource(order = 1)]
    let r1 = Conn(1);
    #[resource(order = 2)]
    let r2 = Conn(2);
    #[resource(order = 3)]
    let r3 = Conn(3);
    #[resource(order = 4)]
    let r4 = Conn(4);
    #[resource(order = 5)]
    let r5 = Conn(5);
    #[resource(order = 6)]
    let r6 = Conn(6);
    #[resource(order = 7)]
    let r7 = Conn(7);
    #[resource(order = 8)]
    let r8 = Conn(8);
    #[resource(order = 9)]
    let r9 = Conn(9);
    #[resource(order = 10)]
    let r10 = Conn(10);
    let _held = [r1, r2, r3, r4, r5, r6, r7, r8, r9, r10];

    let tasks = graceful_benches::tasks_from_args();
    let spawning = std::time::Instant::now();
    for _ in 0..tasks {
        let cancelled = shutdown.cancelled();
        shutdown.spawn("parked", cancelled);
    }
    graceful_benches::ready(format_args!("{tasks} {}", spawning.elapsed().as_micros()));
    Ok(())
}
