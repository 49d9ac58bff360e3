//! N tasks parked until shutdown and 10 resources, written by hand on tokio + tokio-util:
//! the baseline for `parked_graceful`. `parked_baseline N`.

use std::time::Duration;

use graceful_benches::Conn;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let resources: Vec<Conn> = (1..=10).map(Conn).collect();
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();

    let tasks = graceful_benches::tasks_from_args();
    let spawning = std::time::Instant::now();
    for _ in 0..tasks {
        tracker.spawn(token.clone().cancelled_owned());
    }
    graceful_benches::ready(format_args!("{tasks} {}", spawning.elapsed().as_micros()));

    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    token.cancel();
    tracker.close();
    if tokio::time::timeout(Duration::from_secs(60), tracker.wait())
        .await
        .is_err()
    {
        std::process::exit(1);
    }
    for resource in resources.iter().rev() {
        resource.close().await;
    }
    Ok(())
}
