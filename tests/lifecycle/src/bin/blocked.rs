//! Every runtime thread is blocked before any signal arrives: main's body blocks the thread
//! that drives the lifecycle, and (multi-thread) one task blocks each worker. SIGTERM must still
//! be heard and the deadline must still end the process. Built on `Config` so that the
//! scenario chooses the scheduler. `many_threads` asks for more workers than the test lets the
//! process start.

use std::time::Duration;

use graceful::{Config, Flavor};
use graceful_lifecycle_tests::{event, scenario};

fn main() {
    let workers = match scenario().as_str() {
        "multi_thread" => 2,
        // More than the test lets this user start: the runtime cannot be built.
        "many_threads" => 200,
        _ => 0,
    };
    let config = Config::new().timeout(Duration::from_secs(1));
    let config = match workers {
        0 => config.flavor(Flavor::CurrentThread),
        n => config.worker_threads(n),
    };
    config
        .run(|shutdown| async move {
            for _ in 0..workers {
                shutdown.spawn("blocker", async {
                    event("blocking a worker");
                    std::thread::sleep(Duration::from_secs(600));
                });
            }
            event("ready");
            std::thread::sleep(Duration::from_secs(600));
        })
        .exit()
}
