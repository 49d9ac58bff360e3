//! A channel-fed worker, its sender a resource (as a handle resource is declared) and held by a
//! producer task that runs past the cancel: the channel stays open until the teardown, so the
//! worker cannot wait for it to close. It takes jobs until the cancel, then closes its receiver and runs what is buffered:
//! every job the producer's `send` accepted is run.

use std::time::Duration;

use graceful::{Close, Shutdown};
use graceful_lifecycle_tests::event;
use tokio::sync::mpsc;

#[derive(Clone)]
struct Jobs(mpsc::Sender<u64>);

impl Close for Jobs {}

#[graceful::main(timeout = "20s")]
async fn main(shutdown: Shutdown) {
    let (sender, mut jobs) = mpsc::channel(500);
    #[resource]
    let queue = Jobs(sender);

    let producer = shutdown.clone();
    let submit = queue.clone();
    shutdown.spawn("producer", async move {
        let mut accepted = 0u64;
        // Accepts until the queue is closed: past the cancel, as a request handler would.
        loop {
            match submit.0.try_send(accepted + 1) {
                Ok(()) => accepted += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tokio::time::sleep(Duration::from_millis(1)).await
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
            if accepted == 500 {
                event("ready");
            }
        }
        let _ = &producer;
        event(format!("accepted {accepted}"));
    });

    let worker = shutdown.clone();
    shutdown.spawn("worker", async move {
        let mut ran = 0u64;
        while let Some(Some(_job)) = worker.until_shutdown(jobs.recv()).await {
            tokio::time::sleep(Duration::from_micros(200)).await;
            ran += 1;
        }
        // The cancel: take no more, run what was accepted.
        jobs.close();
        let mut after_cancel = 0u64;
        while let Some(_job) = jobs.recv().await {
            tokio::time::sleep(Duration::from_micros(200)).await;
            ran += 1;
            after_cancel += 1;
        }
        event(format!(
            "ran {ran}, {after_cancel} of them after the cancel"
        ));
    });
}
