//! A batch-style `main`: it feeds its workers through a channel and returns. Its sender drops
//! with it (only `_`-named bindings are kept for the end), so the workers see the channel
//! close, finish, and the service exits 0 by itself. With `SCENARIO=kept_panics`, a kept
//! binding panics when dropped at the end: the report says so and the exit code is 1; with
//! `kept_blocks`, its `Drop` blocks: the deadline ends the process and names it.

use graceful::{BoxError, Shutdown};
use graceful_lifecycle_tests::{event, scenario};

struct Noisy;

impl Drop for Noisy {
    fn drop(&mut self) {
        event("kept binding dropped");
        match scenario().as_str() {
            "kept_panics" => panic!("the exporter is gone"),
            "kept_blocks" => std::thread::sleep(std::time::Duration::from_secs(60)),
            _ => {}
        }
    }
}

#[graceful::main(timeout = "2s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let _noisy = Noisy;
    let (jobs, mut queue) = tokio::sync::mpsc::channel::<u32>(8);
    shutdown.spawn("worker", async move {
        let mut done = 0;
        while let Some(_job) = queue.recv().await {
            done += 1;
        }
        event(format!("worker done after {done} jobs"));
    });
    for job in 0..3 {
        jobs.send(job).await?;
    }
    event("fed");
    Ok(())
}
