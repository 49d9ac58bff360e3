//! A run that ends by itself, then a moment before its report's `exit`: what a service in
//! `fn main` does with `Config::run(..).exit()`, and what `#[graceful::main]` does, slowed.
//! A SIGTERM in that moment is a first signal: the exit keeps its code.

use std::time::Duration;

use graceful_lifecycle_tests::event;

fn main() {
    let report = graceful::Config::new().run(|shutdown| async move {
        shutdown.trigger("done");
    });
    event("returned");
    // The moment between the run's end and `exit`, long enough for the test's signal.
    std::thread::sleep(Duration::from_millis(500));
    report.exit()
}
