//! A service run under a scoped `tracing` subscriber (`set_default`, not a global one), which
//! writes each event to stdout as an `event log …` line for the test to read.

use std::io::Write;

use graceful::{Config, Shutdown};
use graceful_lifecycle_tests::event;

struct EventLines;

impl Write for EventLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf);
        println!("event log {}", line.trim_end());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    let subscriber = tracing_subscriber::fmt()
        .with_writer(|| EventLines)
        .with_ansi(false)
        .finish();
    let _scope = tracing::subscriber::set_default(subscriber);
    Config::new()
        .timeout(std::time::Duration::from_secs(5))
        .run(|shutdown: Shutdown| async move {
            let task = shutdown.clone();
            shutdown.spawn("idle", async move { task.cancelled().await });
            event("ready");
        })
        .exit()
}
